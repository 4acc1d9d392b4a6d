package agentdb

/*
#include "agent_db.h"
*/
import "C"

import (
	"context"
	"iter"
)

// Metric is how a collection compares vectors.
type Metric uint32

const (
	MetricL2     Metric = 0
	MetricCosine Metric = 1
	MetricDot    Metric = 2
)

var metricNames = []string{"l2", "cosine", "dot"}

// String is the SPEC.md name ("l2", "cosine", "dot").
func (m Metric) String() string { return enumName(metricNames, uint32(m), "metric") }

// ParseMetric reads a SPEC.md name; an unknown one is ErrInvalidArgument.
func ParseMetric(name string) (Metric, error) {
	i, err := parseEnum(metricNames, name, "metric")
	return Metric(i), err
}

// CollectionInfo describes a vector collection.
type CollectionInfo struct {
	Name      string
	Dimension uint32
	Metric    Metric
}

// VectorRecord is a vector with its id and metadata.
type VectorRecord struct {
	ID       string
	Vector   []float32
	Metadata map[string]string
}

// VectorHit is a vector found by a search.
type VectorHit struct {
	ID string
	// Distance is in the metric's units (cosine: 1 − cos, dot: 1 − dot).
	Distance float32
	Metadata map[string]string
	Vector   []float32
}

// SearchOptions are the search knobs; nil: exact results on unindexed rows.
type SearchOptions struct {
	// Metadata: every entry must equal the vector's metadata value.
	Metadata map[string]string
	// NProbes is the IVF partitions to probe (0: LanceDB's default).
	NProbes uint32
	// RefineFactor re-ranks RefineFactor × k candidates exactly (0: off).
	RefineFactor uint32
}

func (o *SearchOptions) toC(p *pins) (*C.AgentDbSearchOptions, error) {
	if o == nil {
		return nil, nil
	}
	meta, err := p.metadata(o.Metadata, "metadata")
	if err != nil {
		return nil, err
	}
	return &C.AgentDbSearchOptions{metadata_json: meta, nprobes: C.uint32_t(o.NProbes), refine_factor: C.uint32_t(o.RefineFactor)}, nil
}

// CreateCollection creates a collection of dimension-float vectors
// compared by metric. Names are 1–64 of [A-Za-z0-9_-].
func (db *DB) CreateCollection(ctx context.Context, name string, dimension int, metric Metric) error {
	cName, err := cString(name, "collection")
	if err != nil {
		return err
	}
	dim, err := u32(dimension, "dimension")
	if err != nil {
		return err
	}
	return db.call(ctx, func(h *C.AgentDb) C.AgentDbStatus {
		return C.agent_db_create_collection(h, cName, dim, C.AgentDbMetric(metric))
	})
}

// Collections yields every collection, by name.
func (db *DB) Collections(ctx context.Context) iter.Seq2[CollectionInfo, error] {
	return func(yield func(CollectionInfo, error) bool) {
		var list *C.AgentDbCollectionList
		if err := db.call(ctx, func(h *C.AgentDb) C.AgentDbStatus { return C.agent_db_list_collections(h, &list) }); err != nil {
			yield(CollectionInfo{}, err)
			return
		}
		src := items(list.items, list.len)
		out := make([]CollectionInfo, len(src))
		for i := range src {
			out[i] = CollectionInfo{Name: C.GoString(src[i].name), Dimension: uint32(src[i].dimension), Metric: Metric(src[i].metric)}
		}
		C.agent_db_collection_list_free(list)
		for _, c := range out {
			if !yield(c, nil) {
				return
			}
		}
	}
}

// InsertVector inserts or replaces (by id) one vector. metadata may be nil.
func (db *DB) InsertVector(ctx context.Context, collection, id string, vector []float32, metadata map[string]string) error {
	cColl, err := cString(collection, "collection")
	if err != nil {
		return err
	}
	cID, err := cString(id, "id")
	if err != nil {
		return err
	}
	meta, err := metadataJSON(metadata, "metadata")
	if err != nil {
		return err
	}
	v := floatsPtr(vector)
	return db.call(ctx, func(h *C.AgentDb) C.AgentDbStatus {
		return C.agent_db_insert_vector(h, cColl, cID, v, C.size_t(len(vector)), meta)
	})
}

// InsertVectors inserts or replaces records in one atomic write.
func (db *DB) InsertVectors(ctx context.Context, collection string, records []VectorRecord) error {
	var p pins
	defer p.done()
	cColl, err := cString(collection, "collection")
	if err != nil {
		return err
	}
	recs := make([]C.AgentDbVectorRecord, len(records))
	for i, r := range records {
		if recs[i].id, err = p.str(r.ID, "id"); err != nil {
			return err
		}
		if recs[i].metadata_json, err = p.metadata(r.Metadata, "metadata"); err != nil {
			return err
		}
		recs[i].vector = p.floats(r.Vector)
		recs[i].vector_len = C.size_t(len(r.Vector))
	}
	var first *C.AgentDbVectorRecord
	if len(recs) > 0 {
		first = &recs[0]
	}
	return db.call(ctx, func(h *C.AgentDb) C.AgentDbStatus {
		return C.agent_db_insert_vectors(h, cColl, first, C.size_t(len(recs)))
	})
}

// GetVector is one vector by id.
func (db *DB) GetVector(ctx context.Context, collection, id string) (*VectorRecord, error) {
	cColl, err := cString(collection, "collection")
	if err != nil {
		return nil, err
	}
	cID, err := cString(id, "id")
	if err != nil {
		return nil, err
	}
	var rec *C.AgentDbVectorRecord
	if err := db.call(ctx, func(h *C.AgentDb) C.AgentDbStatus { return C.agent_db_get_vector(h, cColl, cID, &rec) }); err != nil {
		return nil, err
	}
	defer C.agent_db_vector_record_free(rec)
	return &VectorRecord{ID: C.GoString(rec.id), Vector: goFloats(rec.vector, rec.vector_len), Metadata: parseMetadata(rec.metadata_json)}, nil
}

// DeleteVector removes a vector.
func (db *DB) DeleteVector(ctx context.Context, collection, id string) error {
	cColl, err := cString(collection, "collection")
	if err != nil {
		return err
	}
	cID, err := cString(id, "id")
	if err != nil {
		return err
	}
	return db.call(ctx, func(h *C.AgentDb) C.AgentDbStatus { return C.agent_db_delete_vector(h, cColl, cID) })
}

// CountVectors is the number of vectors in a collection.
func (db *DB) CountVectors(ctx context.Context, collection string) (uint64, error) {
	cColl, err := cString(collection, "collection")
	if err != nil {
		return 0, err
	}
	var n C.uint64_t
	err = db.call(ctx, func(h *C.AgentDb) C.AgentDbStatus { return C.agent_db_count_vectors(h, cColl, &n) })
	return uint64(n), err
}

// CreateVectorIndex builds (or rebuilds) the collection's ANN index now.
func (db *DB) CreateVectorIndex(ctx context.Context, collection string) error {
	cColl, err := cString(collection, "collection")
	if err != nil {
		return err
	}
	return db.call(ctx, func(h *C.AgentDb) C.AgentDbStatus { return C.agent_db_create_vector_index(h, cColl) })
}

func goVectorHits(list *C.AgentDbVectorHitList) []VectorHit {
	defer C.agent_db_vector_hit_list_free(list)
	src := items(list.items, list.len)
	out := make([]VectorHit, len(src))
	for i := range src {
		h := &src[i]
		out[i] = VectorHit{
			ID:       C.GoString(h.id),
			Distance: float32(h.distance),
			Metadata: parseMetadata(h.metadata_json),
			Vector:   goFloats(h.vector, h.vector_len),
		}
	}
	return out
}

// SearchKNN is the k nearest vectors, nearest first (ties by id). opts may
// be nil.
func (db *DB) SearchKNN(ctx context.Context, collection string, query []float32, k int, opts *SearchOptions) ([]VectorHit, error) {
	var p pins
	defer p.done()
	cColl, err := cString(collection, "collection")
	if err != nil {
		return nil, err
	}
	cK, err := u32(k, "k")
	if err != nil {
		return nil, err
	}
	cOpts, err := opts.toC(&p)
	if err != nil {
		return nil, err
	}
	q := floatsPtr(query)
	var list *C.AgentDbVectorHitList
	if err := db.callCancellable(ctx, func(h *C.AgentDb, t *C.AgentDbCancelToken) C.AgentDbStatus {
		return C.agent_db_search_knn_cancellable(h, cColl, q, C.size_t(len(query)), cK, cOpts, t, &list)
	}); err != nil {
		return nil, err
	}
	return goVectorHits(list), nil
}

// SearchRange is every vector within radius (the metric's units), nearest
// first, at most maxResults.
func (db *DB) SearchRange(ctx context.Context, collection string, query []float32, radius float32, maxResults int, opts *SearchOptions) ([]VectorHit, error) {
	var p pins
	defer p.done()
	cColl, err := cString(collection, "collection")
	if err != nil {
		return nil, err
	}
	cMax, err := u32(maxResults, "maxResults")
	if err != nil {
		return nil, err
	}
	cOpts, err := opts.toC(&p)
	if err != nil {
		return nil, err
	}
	q := floatsPtr(query)
	var list *C.AgentDbVectorHitList
	if err := db.callCancellable(ctx, func(h *C.AgentDb, t *C.AgentDbCancelToken) C.AgentDbStatus {
		return C.agent_db_search_range_cancellable(h, cColl, q, C.size_t(len(query)), C.float(radius), cMax, cOpts, t, &list)
	}); err != nil {
		return nil, err
	}
	return goVectorHits(list), nil
}
