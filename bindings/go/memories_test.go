package agentdb_test

import (
	"slices"
	"testing"
	"time"

	agentdb "github.com/agentdb-engine/agentdb-engine/bindings/go"
)

const modelDim = 384

func TestMemoriesWithCallerVectors(t *testing.T) {
	opts := testOptions()
	opts.MemoryDimension = 3
	db, _ := openDB(t, opts)
	tea := must(db.StoreMemory(bg, agentdb.NewMemory{
		AgentID: 1, Type: agentdb.MemorySemantic, Importance: 0.9, Content: "The user prefers green tea",
		Embedding: []float32{1, 0, 0}, Metadata: map[string]string{"source": "chat"},
	}))
	ids := must(db.StoreMemories(bg, []agentdb.NewMemory{
		{AgentID: 1, Type: agentdb.MemoryEpisodic, Importance: 0.3, Content: "Deployed billing on Tuesday", Embedding: []float32{0, 1, 0}},
		{AgentID: 1, Type: agentdb.MemoryEpisodic, Importance: 0.3, Content: "The user dislikes coffee", Embedding: []float32{0, 0, 1}, TTL: time.Hour},
	}))
	if len(ids) != 2 || ids[0] <= tea || ids[1] <= ids[0] {
		t.Fatalf("ids %d %v", tea, ids)
	}
	if got := must(db.StoreMemories(bg, nil)); len(got) != 0 {
		t.Fatalf("empty batch gave %v", got)
	}

	m := must(db.GetMemory(bg, ids[1]))
	if m.Content != "The user dislikes coffee" || m.Type != agentdb.MemoryEpisodic || m.ExpiresAt.IsZero() ||
		!slices.Equal(m.Embedding, []float32{0, 0, 1}) || m.AgentID != 1 || m.ID != ids[1] {
		t.Fatalf("get_memory: %+v", m)
	}
	if d := m.ExpiresAt.Sub(m.CreatedAt); d < 59*time.Minute || d > 61*time.Minute {
		t.Fatalf("TTL of an hour gave expiry after %v", d)
	}
	if must(db.GetMemory(bg, tea)).Metadata["source"] != "chat" {
		t.Fatal("metadata lost")
	}

	ok(t, db.UpdateMemoryImportance(bg, ids[0], 0.6))
	wantCode(t, db.UpdateMemoryImportance(bg, ids[0], 1.5), agentdb.ErrInvalidArgument)

	hits := must(db.RetrieveSimilar(bg, 1, []float32{1, 0.1, 0}, 1, nil))
	if len(hits) != 1 || hits[0].ID != tea || hits[0].Relevance < 0.9 || hits[0].Score <= 0 {
		t.Fatalf("retrieve_similar: %+v", hits)
	}
	ro := agentdb.DefaultRetrieveOptions()
	if ro.RelevanceWeight != 1 || ro.CandidateFactor == 0 || !ro.RecordAccess || ro.RecencyHalfLife != 7*24*time.Hour {
		t.Fatalf("default retrieve options %+v", ro)
	}
	ro.Types = []agentdb.MemoryType{agentdb.MemoryEpisodic}
	ro.RecordAccess = false
	hits = must(db.RetrieveSimilar(bg, 1, []float32{1, 0.1, 0}, 5, &ro))
	if len(hits) != 2 || hits[0].Type != agentdb.MemoryEpisodic || hits[1].Type != agentdb.MemoryEpisodic {
		t.Fatalf("filtered by type: %+v", hits)
	}
	ro = agentdb.DefaultRetrieveOptions()
	ro.Metadata = map[string]string{"source": "chat"}
	if hits = must(db.RetrieveSimilar(bg, 1, []float32{0, 1, 0}, 5, &ro)); len(hits) != 1 || hits[0].ID != tea {
		t.Fatalf("filtered by metadata: %+v", hits)
	}
	ro = agentdb.DefaultRetrieveOptions()
	ro.CreatedAfter = time.Now().Add(time.Hour)
	if hits = must(db.RetrieveSimilar(bg, 1, []float32{0, 1, 0}, 5, &ro)); len(hits) != 0 {
		t.Fatalf("created in the future: %+v", hits)
	}
	ro.Types = []agentdb.MemoryType{99}
	_, err := db.RetrieveSimilar(bg, 1, []float32{0, 1, 0}, 5, &ro)
	wantCode(t, err, agentdb.ErrInvalidArgument)
	_, err = db.RetrieveSimilar(bg, 1, []float32{0, 1}, 5, nil)
	wantCode(t, err, agentdb.ErrDimensionMismatch)

	list := collect(t, db.Memories(bg, 1))
	if len(list) != 3 || list[0].ID != tea || list[0].AccessCount < 1 {
		t.Fatalf("list: %+v", list)
	}

	out := must(db.StoreMemoryOutcome(bg, agentdb.NewMemory{
		AgentID: 1, Type: agentdb.MemorySemantic, Importance: 0.5, Content: "  the user PREFERS green tea ", Embedding: []float32{0, 1, 0},
	}))
	if out.Kind != agentdb.StoreDuplicate || out.MemoryID != tea || len(out.Absorbed) != 0 || out.Kind.String() != "duplicate" {
		t.Fatalf("duplicate outcome %+v", out)
	}
	out = must(db.StoreMemoryOutcome(bg, agentdb.NewMemory{
		AgentID: 1, Type: agentdb.MemorySemantic, Importance: 0.4, Content: "Enjoys green tea", Embedding: []float32{0.99, 0.1, 0},
	}))
	if out.Kind != agentdb.StoreMerged || !slices.Equal(out.Absorbed, []uint64{tea}) {
		t.Fatalf("merged outcome %+v", out)
	}
	merged := out.MemoryID

	ok(t, db.PinMemory(bg, merged))
	wantCode(t, db.PinMemory(bg, 999999), agentdb.ErrNotFound)
	report := must(db.ConsolidateMemories(bg, 1))
	if report.AgentID != 1 || report.Examined != 3 || report.Remaining != 3 {
		t.Fatalf("consolidate: %+v", report)
	}
	n := must(db.Forget(bg, 1, agentdb.ForgetPolicy{MinImportance: 1, DecayHalfLife: time.Second}))
	if n != 2 {
		t.Fatalf("forgot %d (the pinned one stays)", n)
	}
	if !must(db.GetMemory(bg, merged)).Pinned {
		t.Fatal("not pinned")
	}
	ok(t, db.UnpinMemory(bg, merged))
	ok(t, db.DeleteMemory(bg, merged))
	wantCode(t, db.DeleteMemory(bg, merged), agentdb.ErrNotFound)
	_, err = db.GetMemory(bg, merged)
	wantCode(t, err, agentdb.ErrNotFound)
	_, err = db.Forget(bg, 1, agentdb.ForgetPolicy{OlderThan: -time.Second})
	wantCode(t, err, agentdb.ErrInvalidArgument)
}

func TestMemoriesConsolidateMerges(t *testing.T) {
	opts := testOptions()
	opts.MemoryDimension = 3
	opts.MemoryMergePolicy = agentdb.MergeKeepBoth
	db, _ := openDB(t, opts)
	a := must(db.StoreMemory(bg, agentdb.NewMemory{AgentID: 2, Type: agentdb.MemorySemantic, Importance: 0.5, Content: "Lives in Berlin", Embedding: []float32{1, 0, 0}}))
	b := must(db.StoreMemory(bg, agentdb.NewMemory{AgentID: 2, Type: agentdb.MemorySemantic, Importance: 0.5, Content: "Resides in Berlin", Embedding: []float32{1, 0.01, 0}}))
	if a == b {
		t.Fatal("keep_both merged on store")
	}
	report := must(db.ConsolidateMemories(bg, 2))
	// keep_both only collapses exact duplicates.
	if report.Examined != 2 || report.Remaining != 2 || len(report.Groups) != 0 {
		t.Fatalf("consolidate: %+v", report)
	}
}

// The built-in model: text in, vectors made by the library.
func TestMemoriesWithTheModel(t *testing.T) {
	db, _ := openDB(t, nil)
	must(db.StoreMemories(bg, []agentdb.NewMemory{
		{AgentID: 7, Type: agentdb.MemorySemantic, Importance: 0.8, Content: "The user drinks green tea every morning"},
		{AgentID: 7, Type: agentdb.MemoryEpisodic, Importance: 0.3, Content: "We deployed the billing service on Tuesday"},
	}))
	hits := must(db.Retrieve(bg, 7, "what does the user drink?", 2, nil))
	if len(hits) != 2 || hits[0].Content != "The user drinks green tea every morning" || len(hits[0].Embedding) != modelDim {
		t.Fatalf("retrieve: %+v", hits)
	}
	if hits[0].Score < hits[1].Score {
		t.Fatal("not best first")
	}
	_, err := db.Retrieve(bg, 7, "x", 0, nil)
	wantCode(t, err, agentdb.ErrInvalidArgument)
}
