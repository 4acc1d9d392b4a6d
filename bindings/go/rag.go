package agentdb

/*
#include "agent_db.h"
*/
import "C"

import (
	"context"
	"time"
)

// Document is a text to index for retrieval-augmented generation.
type Document struct {
	// ID is 1–256 bytes, no '#'.
	ID       string
	Title    string
	Text     string
	Metadata map[string]string
}

// DocumentInfo describes an indexed document.
type DocumentInfo struct {
	ID         string
	Title      string
	Metadata   map[string]string
	ChunkCount uint32
	CharCount  uint64
	IndexedAt  time.Time
}

func goDocumentInfo(i *C.AgentDbDocumentInfo) *DocumentInfo {
	return &DocumentInfo{
		ID:         C.GoString(i.doc_id),
		Title:      C.GoString(i.title),
		Metadata:   parseMetadata(i.metadata_json),
		ChunkCount: uint32(i.chunk_count),
		CharCount:  uint64(i.char_count),
		IndexedAt:  goTime(i.indexed_at_ms),
	}
}

// IndexDocument chunks, embeds and stores a document, replacing one with the
// same id.
func (db *DB) IndexDocument(ctx context.Context, doc Document) (*DocumentInfo, error) {
	id, err := cString(doc.ID, "doc id")
	if err != nil {
		return nil, err
	}
	title, err := optCString(doc.Title, "title")
	if err != nil {
		return nil, err
	}
	text, err := cString(doc.Text, "text")
	if err != nil {
		return nil, err
	}
	meta, err := metadataJSON(doc.Metadata, "metadata")
	if err != nil {
		return nil, err
	}
	var info *C.AgentDbDocumentInfo
	if err := db.call(ctx, func(h *C.AgentDb) C.AgentDbStatus {
		return C.agent_db_index_document(h, id, title, text, meta, &info)
	}); err != nil {
		return nil, err
	}
	defer C.agent_db_document_info_free(info)
	return goDocumentInfo(info), nil
}

// GetDocument describes an indexed document.
func (db *DB) GetDocument(ctx context.Context, docID string) (*DocumentInfo, error) {
	id, err := cString(docID, "doc id")
	if err != nil {
		return nil, err
	}
	var info *C.AgentDbDocumentInfo
	if err := db.call(ctx, func(h *C.AgentDb) C.AgentDbStatus { return C.agent_db_get_document(h, id, &info) }); err != nil {
		return nil, err
	}
	defer C.agent_db_document_info_free(info)
	return goDocumentInfo(info), nil
}

// DeleteDocument removes a document and its chunks.
func (db *DB) DeleteDocument(ctx context.Context, docID string) error {
	id, err := cString(docID, "doc id")
	if err != nil {
		return err
	}
	return db.call(ctx, func(h *C.AgentDb) C.AgentDbStatus { return C.agent_db_delete_document(h, id) })
}

// DocFilter restricts a search to some documents and/or metadata values.
type DocFilter struct {
	// DocIDs: only these documents (empty: all).
	DocIDs []string
	// Metadata: every entry must equal the document's metadata value.
	Metadata map[string]string
}

func (f *DocFilter) toC(p *pins) (*C.AgentDbDocFilter, error) {
	if f == nil {
		return nil, nil
	}
	ids, err := p.strArray(f.DocIDs, "doc id")
	if err != nil {
		return nil, err
	}
	meta, err := p.metadata(f.Metadata, "metadata")
	if err != nil {
		return nil, err
	}
	return &C.AgentDbDocFilter{doc_ids: ids, doc_ids_len: C.size_t(len(f.DocIDs)), metadata_json: meta}, nil
}

// ChunkHit is a chunk found by a search.
type ChunkHit struct {
	ChunkID  string
	DocID    string
	Content  string
	Position uint32
	Score    float32
	// StartChar and EndChar are the chunk's [start, end) character offsets
	// in its document.
	StartChar uint64
	EndChar   uint64
}

func goChunkHits(list *C.AgentDbChunkHitList) []ChunkHit {
	defer C.agent_db_chunk_hit_list_free(list)
	src := items(list.items, list.len)
	out := make([]ChunkHit, len(src))
	for i := range src {
		h := &src[i]
		out[i] = ChunkHit{
			ChunkID:   C.GoString(h.chunk_id),
			DocID:     C.GoString(h.doc_id),
			Content:   C.GoString(h.content),
			Position:  uint32(h.position),
			Score:     float32(h.score),
			StartChar: uint64(h.start_char),
			EndChar:   uint64(h.end_char),
		}
	}
	return out
}

// chunkSearch runs one of the searches that return chunk hits.
func (db *DB) chunkSearch(ctx context.Context, limit int, filter *DocFilter, p *pins,
	f func(h *C.AgentDb, limit C.uint32_t, filter *C.AgentDbDocFilter, token *C.AgentDbCancelToken, out **C.AgentDbChunkHitList) C.AgentDbStatus,
) ([]ChunkHit, error) {
	cLimit, err := u32(limit, "limit")
	if err != nil {
		return nil, err
	}
	cFilter, err := filter.toC(p)
	if err != nil {
		return nil, err
	}
	var list *C.AgentDbChunkHitList
	if err := db.callCancellable(ctx, func(h *C.AgentDb, t *C.AgentDbCancelToken) C.AgentDbStatus {
		return f(h, cLimit, cFilter, t, &list)
	}); err != nil {
		return nil, err
	}
	return goChunkHits(list), nil
}

// SemanticSearch is the chunks nearest in meaning to query (embedded with
// the model), best first. filter may be nil.
func (db *DB) SemanticSearch(ctx context.Context, query string, limit int, filter *DocFilter) ([]ChunkHit, error) {
	var p pins
	defer p.done()
	q, err := cString(query, "query")
	if err != nil {
		return nil, err
	}
	return db.chunkSearch(ctx, limit, filter, &p, func(h *C.AgentDb, n C.uint32_t, f *C.AgentDbDocFilter, t *C.AgentDbCancelToken, out **C.AgentDbChunkHitList) C.AgentDbStatus {
		return C.agent_db_semantic_search_cancellable(h, q, n, f, t, out)
	})
}

// SemanticSearchVector is the chunks nearest to a query vector of the
// database's dimension.
func (db *DB) SemanticSearchVector(ctx context.Context, vector []float32, limit int, filter *DocFilter) ([]ChunkHit, error) {
	var p pins
	defer p.done()
	v := floatsPtr(vector)
	return db.chunkSearch(ctx, limit, filter, &p, func(h *C.AgentDb, n C.uint32_t, f *C.AgentDbDocFilter, t *C.AgentDbCancelToken, out **C.AgentDbChunkHitList) C.AgentDbStatus {
		return C.agent_db_semantic_search_vector_cancellable(h, v, C.size_t(len(vector)), n, f, t, out)
	})
}

// FullTextSearch is BM25 over chunk text (English stemming; Chinese,
// Japanese and Thai segmented by dictionary).
func (db *DB) FullTextSearch(ctx context.Context, query string, limit int, filter *DocFilter) ([]ChunkHit, error) {
	var p pins
	defer p.done()
	q, err := cString(query, "query")
	if err != nil {
		return nil, err
	}
	return db.chunkSearch(ctx, limit, filter, &p, func(h *C.AgentDb, n C.uint32_t, f *C.AgentDbDocFilter, t *C.AgentDbCancelToken, out **C.AgentDbChunkHitList) C.AgentDbStatus {
		return C.agent_db_full_text_search_cancellable(h, q, n, f, t, out)
	})
}

// Fusion is how HybridSearch combines its semantic and full-text results.
type Fusion struct {
	kind  C.AgentDbFusion
	alpha float32
}

// Weighted fuses alpha·semantic + (1 − alpha)·full_text, each min-max
// normalised; alpha is 0..=1.
func Weighted(alpha float32) Fusion {
	return Fusion{kind: C.AGENT_DB_FUSION_WEIGHTED, alpha: alpha}
}

// ReciprocalRank fuses by reciprocal rank (k = 60).
func ReciprocalRank() Fusion {
	return Fusion{kind: C.AGENT_DB_FUSION_RRF}
}

// HybridSearch runs a semantic and a full-text search and fuses them.
// vector may be nil (then query is embedded with the model).
func (db *DB) HybridSearch(ctx context.Context, query string, vector []float32, limit int, fusion Fusion, filter *DocFilter) ([]ChunkHit, error) {
	var p pins
	defer p.done()
	q, err := cString(query, "query")
	if err != nil {
		return nil, err
	}
	v := floatsPtr(vector)
	return db.chunkSearch(ctx, limit, filter, &p, func(h *C.AgentDb, n C.uint32_t, f *C.AgentDbDocFilter, t *C.AgentDbCancelToken, out **C.AgentDbChunkHitList) C.AgentDbStatus {
		return C.agent_db_hybrid_search_cancellable(h, q, v, C.size_t(len(vector)), n, fusion.kind, C.float(fusion.alpha), f, t, out)
	})
}
