package agentdb_test

import (
	"fmt"
	"slices"
	"testing"

	agentdb "github.com/agentdb-engine/agentdb-engine/bindings/go"
)

func TestVectorCollections(t *testing.T) {
	db, _ := openDB(t, nil)
	const dim, n = 8, 300
	ok(t, db.CreateCollection(bg, "items", dim, agentdb.MetricL2))
	wantCode(t, db.CreateCollection(bg, "items", dim, agentdb.MetricL2), agentdb.ErrAlreadyExists)
	wantCode(t, db.CreateCollection(bg, "x", dim, agentdb.Metric(42)), agentdb.ErrInvalidArgument)
	ok(t, db.CreateCollection(bg, "unit", 3, agentdb.MetricCosine))
	cols := collect(t, db.Collections(bg))
	if len(cols) != 2 || cols[0] != (agentdb.CollectionInfo{Name: "items", Dimension: dim, Metric: agentdb.MetricL2}) ||
		cols[1].Metric.String() != "cosine" {
		t.Fatalf("collections %+v", cols)
	}

	data := make([][]float32, n)
	recs := make([]agentdb.VectorRecord, n)
	for i := range data {
		data[i] = make([]float32, dim)
		for j := range data[i] {
			data[i][j] = float32(i*dim + j)
		}
		parity := map[bool]string{true: "odd", false: "even"}[i%2 == 1]
		recs[i] = agentdb.VectorRecord{ID: fmt.Sprintf("v%d", i), Vector: data[i], Metadata: map[string]string{"parity": parity}}
	}
	ok(t, db.InsertVectors(bg, "items", recs))
	ok(t, db.InsertVector(bg, "items", "origin", make([]float32, dim), nil))
	wantCode(t, db.InsertVector(bg, "items", "short", []float32{1, 2, 3}, nil), agentdb.ErrDimensionMismatch)
	wantCode(t, db.InsertVector(bg, "nope", "a", make([]float32, dim), nil), agentdb.ErrNotFound)
	// An empty batch is refused by the engine (an empty memory batch is not).
	wantCode(t, db.InsertVectors(bg, "items", nil), agentdb.ErrInvalidArgument)
	if c := must(db.CountVectors(bg, "items")); c != n+1 {
		t.Fatalf("count %d", c)
	}

	rec := must(db.GetVector(bg, "items", "v3"))
	if !slices.Equal(rec.Vector, data[3]) || rec.Metadata["parity"] != "odd" || rec.ID != "v3" {
		t.Fatalf("get_vector %+v", rec)
	}
	hits := must(db.SearchKNN(bg, "items", data[10], 3, nil))
	if len(hits) != 3 || hits[0].ID != "v10" || hits[0].Distance != 0 || !slices.Equal(hits[0].Vector, data[10]) {
		t.Fatalf("knn %+v", hits)
	}
	hits = must(db.SearchKNN(bg, "items", data[10], 2, &agentdb.SearchOptions{Metadata: map[string]string{"parity": "odd"}}))
	if len(hits) != 2 || (hits[0].ID != "v9" && hits[0].ID != "v11") {
		t.Fatalf("knn filtered %+v", hits)
	}
	// Neighbours differ by dim in every component: distance sqrt(dim^3) = 22.6.
	if hits = must(db.SearchRange(bg, "items", data[10], 30, 100, nil)); len(hits) != 3 {
		t.Fatalf("range %+v", hits)
	}
	_, err := db.SearchKNN(bg, "items", data[0], 0, nil)
	wantCode(t, err, agentdb.ErrInvalidArgument)
	_, err = db.SearchKNN(bg, "items", data[0][:3], 5, nil)
	wantCode(t, err, agentdb.ErrDimensionMismatch)

	ok(t, db.CreateVectorIndex(bg, "items"))
	if hits = must(db.SearchKNN(bg, "items", data[42], 1, &agentdb.SearchOptions{NProbes: 4, RefineFactor: 2})); len(hits) != 1 || hits[0].ID != "v42" {
		t.Fatalf("knn with index %+v", hits)
	}
	ok(t, db.DeleteVector(bg, "items", "origin"))
	_, err = db.GetVector(bg, "items", "origin")
	wantCode(t, err, agentdb.ErrNotFound)
	wantCode(t, db.CreateVectorIndex(bg, "nope"), agentdb.ErrNotFound)
}
