package agentdb_test

import (
	"math"
	"strings"
	"testing"
	"time"

	agentdb "github.com/agentdb-engine/agentdb-engine/bindings/go"
)

// Bad input of every kind that crosses the C boundary is refused with a
// typed error and changes nothing; nothing crashes.
func TestBadInputBattery(t *testing.T) {
	opts := testOptions()
	opts.MemoryDimension = 4
	opts.MaxPayloadBytes = 1 << 20
	db, dir := openDB(t, opts)
	must(db.SaveState(bg, 1, 1, agentdb.StateContext, []byte("good"), nil))
	must(db.CreateSnapshot(bg, 1, 1, "good"))
	ok(t, db.CreateCollection(bg, "pts", 4, agentdb.MetricL2))
	ok(t, db.InsertVector(bg, "pts", "a", []float32{1, 2, 3, 4}, nil))
	memID := must(db.StoreMemory(bg, agentdb.NewMemory{AgentID: 1, Type: agentdb.MemorySemantic, Importance: 0.5, Content: "fact", Embedding: []float32{1, 0, 0, 0}}))

	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	huge := strings.Repeat("x", 2<<20)
	vec := []float32{1, 0, 0, 0}
	cases := []struct {
		name string
		want *agentdb.Error
		call func() error
	}{
		// Empty strings.
		{"empty snapshot name", agentdb.ErrInvalidArgument, func() error { _, err := db.CreateSnapshot(bg, 1, 1, ""); return err }},
		{"empty collection name", agentdb.ErrInvalidArgument, func() error { return db.CreateCollection(bg, "", 4, agentdb.MetricL2) }},
		{"empty vector id", agentdb.ErrInvalidArgument, func() error { return db.InsertVector(bg, "pts", "", vec, nil) }},
		{"empty memory content", agentdb.ErrInvalidArgument, func() error {
			_, err := db.StoreMemory(bg, agentdb.NewMemory{AgentID: 1, Importance: 0.5, Embedding: vec})
			return err
		}},
		{"empty doc id", agentdb.ErrInvalidArgument, func() error { _, err := db.IndexDocument(bg, agentdb.Document{Text: "x"}); return err }},
		{"empty doc text", agentdb.ErrInvalidArgument, func() error { _, err := db.IndexDocument(bg, agentdb.Document{ID: "d"}); return err }},
		{"empty full-text query", agentdb.ErrInvalidArgument, func() error { _, err := db.FullTextSearch(bg, "", 5, nil); return err }},
		{"empty metadata key", agentdb.ErrInvalidArgument, func() error {
			_, err := db.SaveState(bg, 1, 1, agentdb.StateContext, nil, map[string]string{"": "v"})
			return err
		}},
		// Huge strings and payloads.
		{"huge state payload", agentdb.ErrPayloadTooLarge, func() error {
			_, err := db.SaveState(bg, 1, 1, agentdb.StateContext, []byte(huge), nil)
			return err
		}},
		{"huge metadata value", agentdb.ErrPayloadTooLarge, func() error {
			_, err := db.SaveState(bg, 1, 1, agentdb.StateContext, nil, map[string]string{"k": huge})
			return err
		}},
		{"huge metadata key", agentdb.ErrInvalidArgument, func() error {
			_, err := db.SaveState(bg, 1, 1, agentdb.StateContext, nil, map[string]string{strings.Repeat("k", 129): "v"})
			return err
		}},
		{"huge snapshot name", agentdb.ErrInvalidArgument, func() error { _, err := db.CreateSnapshot(bg, 1, 1, huge); return err }},
		{"huge collection name", agentdb.ErrInvalidArgument, func() error { return db.CreateCollection(bg, huge, 4, agentdb.MetricL2) }},
		{"huge vector id", agentdb.ErrInvalidArgument, func() error { return db.InsertVector(bg, "pts", strings.Repeat("i", 257), vec, nil) }},
		{"huge doc id", agentdb.ErrInvalidArgument, func() error {
			_, err := db.IndexDocument(bg, agentdb.Document{ID: strings.Repeat("d", 257), Text: "x"})
			return err
		}},
		{"huge memory content", agentdb.ErrPayloadTooLarge, func() error {
			_, err := db.StoreMemory(bg, agentdb.NewMemory{AgentID: 1, Importance: 0.5, Content: huge, Embedding: vec})
			return err
		}},
		// NUL bytes inside strings: refused before C would cut them short.
		{"NUL in path", agentdb.ErrInvalidArgument, func() error { _, err := agentdb.Open(dir+"\x00/other", nil); return err }},
		{"NUL in snapshot name", agentdb.ErrInvalidArgument, func() error { _, err := db.CreateSnapshot(bg, 1, 1, "ok\x00evil"); return err }},
		{"NUL in restore name", agentdb.ErrInvalidArgument, func() error { _, err := db.RestoreSnapshot(bg, 1, "good\x00"); return err }},
		{"NUL in memory content", agentdb.ErrInvalidArgument, func() error {
			_, err := db.StoreMemory(bg, agentdb.NewMemory{AgentID: 1, Importance: 0.5, Content: "a\x00b", Embedding: vec})
			return err
		}},
		{"NUL in collection", agentdb.ErrInvalidArgument, func() error { return db.InsertVector(bg, "pts\x00", "b", vec, nil) }},
		{"NUL in vector id", agentdb.ErrInvalidArgument, func() error { return db.InsertVector(bg, "pts", "b\x00", vec, nil) }},
		{"NUL in batch id", agentdb.ErrInvalidArgument, func() error {
			return db.InsertVectors(bg, "pts", []agentdb.VectorRecord{{ID: "c", Vector: vec}, {ID: "d\x00", Vector: vec}})
		}},
		{"NUL in doc text", agentdb.ErrInvalidArgument, func() error { _, err := db.IndexDocument(bg, agentdb.Document{ID: "d", Text: "a\x00"}); return err }},
		{"NUL in doc filter", agentdb.ErrInvalidArgument, func() error {
			_, err := db.SemanticSearchVector(bg, vec, 3, &agentdb.DocFilter{DocIDs: []string{"a\x00"}})
			return err
		}},
		{"NUL in query", agentdb.ErrInvalidArgument, func() error { _, err := db.FullTextSearch(bg, "q\x00", 3, nil); return err }},
		{"NUL in embed text", agentdb.ErrInvalidArgument, func() error { _, err := db.Embed(bg, []string{"ok", "\x00"}); return err }},
		{"NUL in model dir", agentdb.ErrInvalidArgument, func() error { _, err := agentdb.Open(t.TempDir(), &agentdb.Options{ModelDir: "m\x00"}); return err }},
		// Invalid UTF-8.
		{"invalid UTF-8 name", agentdb.ErrInvalidArgument, func() error { _, err := db.CreateSnapshot(bg, 1, 1, "\xff\xfe"); return err }},
		{"invalid UTF-8 metadata", agentdb.ErrInvalidArgument, func() error {
			return db.InsertVector(bg, "pts", "b", vec, map[string]string{"\xff": "v"})
		}},
		// NaN and infinities.
		{"NaN vector", agentdb.ErrInvalidArgument, func() error { return db.InsertVector(bg, "pts", "b", []float32{nan, 0, 0, 0}, nil) }},
		{"Inf vector in batch", agentdb.ErrInvalidArgument, func() error {
			return db.InsertVectors(bg, "pts", []agentdb.VectorRecord{{ID: "c", Vector: vec}, {ID: "d", Vector: []float32{0, inf, 0, 0}}})
		}},
		{"NaN embedding", agentdb.ErrInvalidArgument, func() error {
			_, err := db.StoreMemory(bg, agentdb.NewMemory{AgentID: 1, Importance: 0.5, Content: "x", Embedding: []float32{nan, 0, 0, 0}})
			return err
		}},
		{"NaN importance", agentdb.ErrInvalidArgument, func() error {
			_, err := db.StoreMemory(bg, agentdb.NewMemory{AgentID: 1, Importance: nan, Content: "x", Embedding: vec})
			return err
		}},
		{"NaN importance update", agentdb.ErrInvalidArgument, func() error { return db.UpdateMemoryImportance(bg, memID, nan) }},
		{"NaN radius", agentdb.ErrInvalidArgument, func() error { _, err := db.SearchRange(bg, "pts", vec, nan, 10, nil); return err }},
		{"Inf radius", agentdb.ErrInvalidArgument, func() error { _, err := db.SearchRange(bg, "pts", vec, inf, 10, nil); return err }},
		{"NaN alpha", agentdb.ErrInvalidArgument, func() error { _, err := db.HybridSearch(bg, "q", vec, 3, agentdb.Weighted(nan), nil); return err }},
		// Wrong dimensions.
		{"short vector", agentdb.ErrDimensionMismatch, func() error { return db.InsertVector(bg, "pts", "b", []float32{1}, nil) }},
		{"empty vector", agentdb.ErrDimensionMismatch, func() error { return db.InsertVector(bg, "pts", "b", nil, nil) }},
		{"long query", agentdb.ErrDimensionMismatch, func() error { _, err := db.SearchKNN(bg, "pts", make([]float32, 5), 1, nil); return err }},
		{"short embedding", agentdb.ErrDimensionMismatch, func() error {
			_, err := db.StoreMemory(bg, agentdb.NewMemory{AgentID: 1, Importance: 0.5, Content: "x", Embedding: []float32{1}})
			return err
		}},
		{"zero dimension", agentdb.ErrInvalidArgument, func() error { return db.CreateCollection(bg, "zero", 0, agentdb.MetricL2) }},
		{"huge dimension", agentdb.ErrInvalidArgument, func() error { return db.CreateCollection(bg, "big", 1<<20, agentdb.MetricL2) }},
		// Out-of-range numbers and enums.
		{"negative limit", agentdb.ErrInvalidArgument, func() error { _, err := db.SearchKNN(bg, "pts", vec, -1, nil); return err }},
		{"limit beyond uint32", agentdb.ErrInvalidArgument, func() error { _, err := db.SearchKNN(bg, "pts", vec, 1<<32, nil); return err }},
		{"k too large", agentdb.ErrInvalidArgument, func() error { _, err := db.SearchKNN(bg, "pts", vec, 10001, nil); return err }},
		{"unknown state type", agentdb.ErrInvalidArgument, func() error { _, err := db.SaveState(bg, 1, 1, agentdb.StateType(99), nil, nil); return err }},
		{"unknown memory type", agentdb.ErrInvalidArgument, func() error {
			_, err := db.StoreMemory(bg, agentdb.NewMemory{AgentID: 1, Type: 9, Importance: 0.5, Content: "x", Embedding: vec})
			return err
		}},
		{"negative TTL", agentdb.ErrInvalidArgument, func() error {
			_, err := db.StoreMemory(bg, agentdb.NewMemory{AgentID: 1, Importance: 0.5, Content: "x", Embedding: vec, TTL: -time.Second})
			return err
		}},
		{"unknown metric", agentdb.ErrInvalidArgument, func() error { return db.CreateCollection(bg, "m", 4, agentdb.Metric(3)) }},
		{"from after to", agentdb.ErrInvalidArgument, func() error {
			for _, err := range db.History(bg, agentdb.NewHistoryQuery(1).Between(time.UnixMilli(10), time.UnixMilli(5))) {
				return err
			}
			return nil
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantCode(t, c.call(), c.want) })
	}

	// Nothing changed.
	if st := must(db.LoadState(bg, 1, 1)); st.Version != 1 || string(st.Data) != "good" {
		t.Fatalf("state changed: %+v", st)
	}
	if n := must(db.CountVectors(bg, "pts")); n != 1 {
		t.Fatalf("%d vectors", n)
	}
	if cols := collect(t, db.Collections(bg)); len(cols) != 1 {
		t.Fatalf("collections %+v", cols)
	}
	if mems := collect(t, db.Memories(bg, 1)); len(mems) != 1 || mems[0].Importance != 0.5 {
		t.Fatalf("memories %+v", mems)
	}
	if snaps := collect(t, db.Snapshots(bg, 1)); len(snaps) != 1 {
		t.Fatalf("snapshots %+v", snaps)
	}

	// Metadata travels as JSON, where a NUL is just \u0000: it is kept.
	nulMeta := map[string]string{"k\x00": "v\x00w"}
	ok(t, db.InsertVector(bg, "pts", "nul-meta", vec, nulMeta))
	if got := must(db.GetVector(bg, "pts", "nul-meta")).Metadata; got["k\x00"] != "v\x00w" || len(got) != 1 {
		t.Fatalf("metadata with NUL read back as %q", got)
	}

	// Use after close.
	ok(t, db.Close())
	for name, call := range map[string]func() error{
		"save":    func() error { _, err := db.SaveState(bg, 1, 1, agentdb.StateContext, nil, nil); return err },
		"knn":     func() error { _, err := db.SearchKNN(bg, "pts", vec, 1, nil); return err },
		"flush":   func() error { return db.Flush(bg) },
		"memory":  func() error { _, err := db.GetMemory(bg, memID); return err },
		"embed":   func() error { _, err := db.Embed(bg, []string{"x"}); return err },
		"gc":      func() error { _, err := db.GC(bg); return err },
		"typed":   func() error { _, _, err := agentdb.LoadTyped[plan](bg, db, 1, 1); return err },
		"stats":   func() error { _, err := db.StatsJSON(bg); return err },
		"history": func() error { _, err := collectErr(db.Memories(bg, 1)); return err },
	} {
		if err := call(); err == nil {
			t.Errorf("%s after close succeeded", name)
		} else {
			wantCode(t, err, agentdb.ErrClosed)
		}
	}
}

func collectErr[T any](seq func(func(T, error) bool)) ([]T, error) {
	var out []T
	for v, err := range seq {
		if err != nil {
			return out, err
		}
		out = append(out, v)
	}
	return out, nil
}
