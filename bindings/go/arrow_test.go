package agentdb_test

import (
	"testing"

	agentdb "github.com/agentdb-engine/agentdb-engine/bindings/go"
)

// The Arrow C stream exports: the row and column counts of each bulk
// result, read through the stream's own callbacks.
func TestArrowStreams(t *testing.T) {
	db, _ := openDB(t, nil)
	for i := 0; i < 3; i++ {
		must(db.SaveState(bg, 7, 1, agentdb.StateContext, []byte{byte('a' + i)}, nil))
	}
	check := func(name string, s *agentdb.ArrowStream, err error, rows int64, cols int) {
		t.Helper()
		ok(t, err)
		defer s.Release()
		if s.Pointer() == nil {
			t.Fatalf("%s: nil stream", name)
		}
		if c := must(s.Columns()); c != cols {
			t.Errorf("%s: %d columns, want %d", name, c, cols)
		}
		if r := must(s.Rows()); r != rows {
			t.Errorf("%s: %d rows, want %d", name, r, rows)
		}
	}
	s, err := db.HistoryArrow(bg, agentdb.NewHistoryQuery(7))
	check("history", s, err, 3, 9) // ..., checksum, key

	ok(t, db.CreateCollection(bg, "pts", 2, agentdb.MetricL2))
	ok(t, db.InsertVectors(bg, "pts", []agentdb.VectorRecord{{ID: "a", Vector: []float32{0, 0}}, {ID: "b", Vector: []float32{1, 1}}, {ID: "c", Vector: []float32{2, 2}}}))
	s, err = db.SearchKNNArrow(bg, "pts", []float32{0, 0}, 2, nil)
	check("knn", s, err, 2, 4)

	must(db.StoreMemories(bg, []agentdb.NewMemory{
		{AgentID: 7, Type: agentdb.MemorySemantic, Importance: 0.5, Content: "The user likes green tea"},
		{AgentID: 7, Type: agentdb.MemoryEpisodic, Importance: 0.5, Content: "The user dislikes coffee"},
	}))
	s, err = db.RetrieveArrow(bg, 7, "coffee", 2, nil)
	check("retrieve", s, err, 2, 14)

	must(db.IndexDocument(bg, agentdb.Document{ID: "tea", Text: "Oolong tea sits between green and black tea."}))
	s, err = db.HybridSearchArrow(bg, "oolong", nil, 3, agentdb.ReciprocalRank(), nil)
	check("hybrid", s, err, 1, 7)

	// Errors come back typed, with no stream to release.
	_, err = db.SearchKNNArrow(bg, "pts", []float32{0}, 2, nil)
	wantCode(t, err, agentdb.ErrDimensionMismatch)
	_, err = db.HistoryArrow(bg, agentdb.NewHistoryQuery(7).WithLimit(0))
	wantCode(t, err, agentdb.ErrInvalidArgument)

	// Released twice, or read after release: no crash.
	s = must(db.HistoryArrow(bg, agentdb.NewHistoryQuery(7)))
	s.Release()
	s.Release()
	_, err = s.Rows()
	wantCode(t, err, agentdb.ErrInvalidArgument)
}
