package agentdb_test

import (
	"testing"

	agentdb "github.com/agentdb-engine/agentdb-engine/bindings/go"
)

func TestDocumentsAndSearch(t *testing.T) {
	db, _ := openDB(t, nil)
	info := must(db.IndexDocument(bg, agentdb.Document{
		ID: "tea", Title: "Tea", Text: "Green tea is steamed. Black tea is fully oxidised. Oolong sits between them.",
		Metadata: map[string]string{"lang": "en"},
	}))
	if info.ID != "tea" || info.Title != "Tea" || info.ChunkCount < 1 || info.CharCount == 0 || info.Metadata["lang"] != "en" {
		t.Fatalf("index_document: %+v", info)
	}
	must(db.IndexDocument(bg, agentdb.Document{ID: "zh", Text: "龙井茶是一种绿茶，产于杭州。神经网络是一种机器学习模型。", Metadata: map[string]string{"lang": "zh"}}))
	if got := must(db.GetDocument(bg, "zh")); got.Title != "" || got.Metadata["lang"] != "zh" || got.IndexedAt.IsZero() {
		t.Fatalf("get_document: %+v", got)
	}

	hits := must(db.FullTextSearch(bg, "oxidised", 5, nil))
	if len(hits) != 1 || hits[0].DocID != "tea" || hits[0].ChunkID != "tea#0" || hits[0].EndChar <= hits[0].StartChar {
		t.Fatalf("full_text_search: %+v", hits)
	}
	if hits = must(db.FullTextSearch(bg, "龙井茶", 5, nil)); len(hits) != 1 || hits[0].DocID != "zh" {
		t.Fatalf("full_text_search zh: %+v", hits)
	}
	if hits = must(db.SemanticSearch(bg, "how is black tea made", 2, nil)); len(hits) != 2 || hits[0].DocID != "tea" {
		t.Fatalf("semantic_search: %+v", hits)
	}

	vecs := must(db.Embed(bg, []string{"oolong tea", "neural networks"}))
	if len(vecs) != 2 || len(vecs[0]) != modelDim || len(vecs[1]) != modelDim {
		t.Fatalf("embed: %d vectors", len(vecs))
	}
	hits = must(db.SemanticSearchVector(bg, vecs[0], 5, &agentdb.DocFilter{DocIDs: []string{"tea"}}))
	if len(hits) < 1 {
		t.Fatal("semantic_search_vector found nothing")
	}
	for _, h := range hits {
		if h.DocID != "tea" {
			t.Fatalf("doc filter let %s through", h.DocID)
		}
	}
	if hits = must(db.HybridSearch(bg, "oolong", vecs[0], 3, agentdb.Weighted(0.5), nil)); len(hits) < 1 || hits[0].DocID != "tea" {
		t.Fatalf("hybrid weighted: %+v", hits)
	}
	hits = must(db.HybridSearch(bg, "神经网络", nil, 3, agentdb.ReciprocalRank(), &agentdb.DocFilter{Metadata: map[string]string{"lang": "zh"}}))
	if len(hits) != 1 || hits[0].DocID != "zh" {
		t.Fatalf("hybrid rrf with metadata filter: %+v", hits)
	}
	_, err := db.HybridSearch(bg, "tea", vecs[0], 3, agentdb.Weighted(2), nil)
	wantCode(t, err, agentdb.ErrInvalidArgument)
	_, err = db.SemanticSearchVector(bg, vecs[0][:10], 3, nil)
	wantCode(t, err, agentdb.ErrDimensionMismatch)
	if empty := must(db.Embed(bg, nil)); len(empty) != 0 {
		t.Fatalf("embed of nothing: %v", empty)
	}

	ok(t, db.DeleteDocument(bg, "zh"))
	_, err = db.GetDocument(bg, "zh")
	wantCode(t, err, agentdb.ErrNotFound)
	wantCode(t, db.DeleteDocument(bg, "zh"), agentdb.ErrNotFound)
	_, err = db.IndexDocument(bg, agentdb.Document{ID: "a#b", Text: "x"})
	wantCode(t, err, agentdb.ErrInvalidArgument)
}
