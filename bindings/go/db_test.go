package agentdb_test

import (
	"context"
	"encoding/json"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	agentdb "github.com/agentdb-engine/agentdb-engine/bindings/go"
)

func TestVersionAndCodeNames(t *testing.T) {
	if agentdb.Version() == "" {
		t.Fatal("empty version")
	}
	for code, name := range map[agentdb.Code]string{
		agentdb.CodeInvalidArgument:   "invalid_argument",
		agentdb.CodeNotFound:          "not_found",
		agentdb.CodeLocked:            "locked",
		agentdb.CodeDimensionMismatch: "dimension_mismatch",
		agentdb.CodePanic:             "panic",
		agentdb.Code(999):             "code_999",
	} {
		if code.String() != name {
			t.Errorf("%d: %q, want %q", int(code), code.String(), name)
		}
	}
	err := &agentdb.Error{Code: agentdb.CodeNotFound, Message: "no state"}
	if !errors.Is(err, agentdb.ErrNotFound) || errors.Is(err, agentdb.ErrLocked) {
		t.Fatal("errors.Is by code")
	}
	if errors.Is(err, &agentdb.Error{Code: agentdb.CodeNotFound, Message: "other"}) {
		t.Fatal("a target with a message must match it")
	}
	if err.Error() != "agentdb: not_found: no state" {
		t.Fatalf("message %q", err.Error())
	}
}

func TestOpenLockedReadOnlyAndReopen(t *testing.T) {
	dir := t.TempDir()
	db := must(agentdb.Open(dir, testOptions()))
	must(db.SaveState(bg, 1, 1, agentdb.StateContext, []byte("kept"), nil))

	_, err := agentdb.Open(dir, nil)
	wantCode(t, err, agentdb.ErrLocked)

	ro := must(agentdb.Open(dir, &agentdb.Options{ReadOnly: true, MaintenanceInterval: -1}))
	if st := must(ro.LoadState(bg, 1, 1)); string(st.Data) != "kept" {
		t.Fatalf("read-only open sees %q", st.Data)
	}
	_, err = ro.SaveState(bg, 1, 1, agentdb.StateContext, nil, nil)
	wantCode(t, err, agentdb.ErrReadOnly)
	ok(t, ro.Close())

	ok(t, db.Close())
	ok(t, db.Close()) // idempotent
	_, err = db.LoadState(bg, 1, 1)
	wantCode(t, err, agentdb.ErrClosed)
	for _, err := range db.History(bg, agentdb.NewHistoryQuery(1)) {
		wantCode(t, err, agentdb.ErrClosed)
	}

	db = must(agentdb.Open(dir, &agentdb.Options{Fsync: agentdb.FsyncAlways, MaintenanceInterval: -1}))
	defer db.Close()
	if st := must(db.LoadState(bg, 1, 1)); string(st.Data) != "kept" || st.Version != 1 {
		t.Fatalf("after reopen: %+v", st)
	}

	_, err = agentdb.Open(t.TempDir()+"/missing", &agentdb.Options{ReadOnly: true})
	wantCode(t, err, agentdb.ErrNotFound)
	_, err = agentdb.Open(dir, &agentdb.Options{Fsync: agentdb.Fsync(42)})
	wantCode(t, err, agentdb.ErrInvalidArgument)
	_, err = agentdb.Open(dir, &agentdb.Options{MemoryMergePolicy: 7})
	wantCode(t, err, agentdb.ErrInvalidArgument)
}

func TestContextIsCheckedBeforeEachCall(t *testing.T) {
	db, _ := openDB(t, nil)
	ctx, cancel := context.WithCancel(bg)
	cancel()
	_, err := db.SaveState(ctx, 1, 1, agentdb.StateContext, []byte("x"), nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
	_, err = db.LoadState(bg, 1, 1)
	wantCode(t, err, agentdb.ErrNotFound) // the canceled save did nothing
	ctx, cancel = context.WithDeadline(bg, time.Now().Add(-time.Second))
	defer cancel()
	for _, err := range db.Collections(ctx) {
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("want DeadlineExceeded, got %v", err)
		}
	}
}

func TestMaintenanceCalls(t *testing.T) {
	db, _ := openDB(t, nil)
	for v := 1; v <= 4; v++ {
		must(db.SaveState(bg, 5, 1, agentdb.StateContext, []byte{byte('0' + v)}, nil))
	}
	must(db.CreateSnapshot(bg, 5, 1, "first-four"))
	must(db.SaveState(bg, 5, 1, agentdb.StateContext, []byte("5"), nil))
	ok(t, db.Flush(bg))
	ok(t, db.Compact(bg))

	_, err := db.GC(bg, agentdb.KeepLast(0))
	wantCode(t, err, agentdb.ErrInvalidArgument)
	_, err = db.GC(bg, agentdb.KeepNewerThan(0))
	wantCode(t, err, agentdb.ErrInvalidArgument)
	if n := must(db.GC(bg)); n != 0 {
		t.Fatalf("gc with the default retention removed %d", n)
	}
	if n := must(db.GC(bg, agentdb.KeepLast(1))); n != 3 { // v1..v3 go; v4 (snapshot) and v5 (latest) stay
		t.Fatalf("gc removed %d", n)
	}
	_, err = db.LoadStateVersion(bg, 5, 1, 2)
	wantCode(t, err, agentdb.ErrNotFound)
	must(db.LoadStateVersion(bg, 5, 1, 4))

	var stats map[string]any
	ok(t, json.Unmarshal(must(db.StatsJSON(bg)), &stats))
	if _, found := stats["tables"]; !found {
		t.Fatalf("stats without tables: %v", stats)
	}
}

// Close waits for the calls in flight; calls that start after it get
// ErrClosed; nothing crashes or races (run under -race).
func TestCloseWithConcurrentCalls(t *testing.T) {
	dir := t.TempDir()
	db := must(agentdb.Open(dir, testOptions()))
	ok(t, db.CreateCollection(bg, "pts", 4, agentdb.MetricL2))
	var recs []agentdb.VectorRecord
	for i := 0; i < 200; i++ {
		recs = append(recs, agentdb.VectorRecord{ID: string(rune('a'+i%26)) + string(rune('0'+i/26)), Vector: []float32{float32(i), 1, 2, 3}})
	}
	ok(t, db.InsertVectors(bg, "pts", recs))

	var succeeded, closed atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for g := 0; g < 6; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for i := 0; ; i++ {
				var err error
				if g%2 == 0 {
					_, err = db.SearchKNN(bg, "pts", []float32{float32(i % 200), 1, 2, 3}, 5, nil)
				} else {
					_, err = db.SaveState(bg, uint64(g), 1, agentdb.StateContext, []byte("x"), nil)
				}
				switch {
				case err == nil:
					succeeded.Add(1)
				case errors.Is(err, agentdb.ErrClosed):
					closed.Add(1)
					return
				default:
					t.Errorf("goroutine %d: %v", g, err)
					return
				}
			}
		}()
	}
	close(start)
	// Let some calls run, then close while they are in flight.
	for deadline := time.Now().Add(time.Minute); succeeded.Load() < 20; runtime.Gosched() {
		if time.Now().After(deadline) {
			t.Fatal("no calls succeeded") // the goroutines reported why
		}
	}
	ok(t, db.Close())
	wg.Wait()
	if closed.Load() != 6 {
		t.Fatalf("%d goroutines saw ErrClosed", closed.Load())
	}
	// Every acknowledged save is there.
	db = must(agentdb.Open(dir, testOptions()))
	defer db.Close()
	var saved uint64
	for g := uint64(1); g < 6; g += 2 {
		if st, err := db.LoadState(bg, g, 1); err == nil {
			saved += st.Version
		}
	}
	if saved == 0 {
		t.Fatal("no save survived")
	}
}

// A search running in one goroutine while another closes: the search
// finishes with its results, then the handle is freed.
func TestCloseDuringSearch(t *testing.T) {
	db, _ := openDB(t, nil)
	ok(t, db.CreateCollection(bg, "big", 64, agentdb.MetricCosine))
	recs := make([]agentdb.VectorRecord, 3000)
	for i := range recs {
		v := make([]float32, 64)
		for j := range v {
			v[j] = float32((i*31+j*17)%97) + 1
		}
		recs[i] = agentdb.VectorRecord{ID: "v" + string(rune('A'+i%50)) + string(rune('A'+i/50)), Vector: v}
	}
	ok(t, db.InsertVectors(bg, "big", recs))
	results := make(chan error, 1)
	started := make(chan struct{})
	go func() {
		close(started)
		hits, err := db.SearchKNN(bg, "big", recs[7].Vector, 100, nil)
		// i and i+97 hold the same vector: check the distance, not the id.
		if err == nil && (len(hits) != 100 || hits[0].Distance > 1e-6) {
			err = errors.New("wrong search results")
		}
		results <- err
	}()
	<-started
	ok(t, db.Close())
	if err := <-results; err != nil && !errors.Is(err, agentdb.ErrClosed) {
		t.Fatalf("search during close: %v", err)
	}
	_, err := db.SearchKNN(bg, "big", recs[7].Vector, 10, nil)
	wantCode(t, err, agentdb.ErrClosed)
}

// A DB dropped without Close is closed by its cleanup: the writer lock is
// released, so the directory can be opened again.
func TestCleanupClosesAnUnreachableDB(t *testing.T) {
	dir := t.TempDir()
	func() {
		db := must(agentdb.Open(dir, testOptions()))
		must(db.SaveState(bg, 1, 1, agentdb.StateContext, []byte("dropped"), nil))
	}()
	var db *agentdb.DB
	var err error
	// The cleanup runs on the runtime's cleanup goroutine some time after a
	// GC; its close flushes first. Wait for it, bounded.
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		runtime.GC()
		if db, err = agentdb.Open(dir, testOptions()); err == nil {
			break
		}
		wantCode(t, err, agentdb.ErrLocked)
	}
	ok(t, err)
	defer db.Close()
	if st := must(db.LoadState(bg, 1, 1)); string(st.Data) != "dropped" {
		t.Fatalf("after cleanup: %q", st.Data)
	}
}

// Options set from Go reach the engine: retention, the per-type memory
// limit, the merge threshold and policy, chunking, fsync.
func TestOptionsReachTheEngine(t *testing.T) {
	opts := testOptions()
	opts.StateRetentionKeepLast = 1
	opts.MemoryDimension = 2
	opts.MaxMemoriesPerAgentType = 1
	opts.MemoryMergeThreshold = 0.999
	opts.MemoryMergePolicy = agentdb.MergeKeepMostImportant
	opts.Fsync = agentdb.FsyncBatch
	opts.FsyncBatch = 5 * time.Millisecond
	opts.MaxPayloadBytes = 8
	db, _ := openDB(t, opts)

	for i := 0; i < 3; i++ {
		must(db.SaveState(bg, 1, 1, agentdb.StateContext, []byte("x"), nil))
	}
	_, err := db.SaveState(bg, 1, 1, agentdb.StateContext, []byte("123456789"), nil)
	wantCode(t, err, agentdb.ErrPayloadTooLarge)
	if n := must(db.GC(bg)); n != 2 { // the configured retention: keep the newest 1
		t.Fatalf("gc with keep_last 1 at open removed %d", n)
	}

	must(db.StoreMemory(bg, agentdb.NewMemory{AgentID: 1, Type: agentdb.MemorySemantic, Importance: 0.2, Content: "first", Embedding: []float32{1, 0}}))
	out := must(db.StoreMemoryOutcome(bg, agentdb.NewMemory{AgentID: 1, Type: agentdb.MemorySemantic, Importance: 0.9, Content: "second", Embedding: []float32{0, 1}}))
	if out.Kind != agentdb.StoreStored || len(out.Evicted) != 1 {
		t.Fatalf("a limit of 1 per type: %+v", out)
	}
	// 0.995 cosine merges at the default threshold (0.88), not at 0.999:
	// the second store is new (and evicts the first, by the limit).
	must(db.StoreMemory(bg, agentdb.NewMemory{AgentID: 2, Type: agentdb.MemorySemantic, Importance: 0.2, Content: "a", Embedding: []float32{1, 0}}))
	out = must(db.StoreMemoryOutcome(bg, agentdb.NewMemory{AgentID: 2, Type: agentdb.MemorySemantic, Importance: 0.2, Content: "b", Embedding: []float32{1, 0.1}}))
	if out.Kind != agentdb.StoreStored || len(out.Evicted) != 1 {
		t.Fatalf("near-duplicate below the threshold: %+v", out)
	}

	_, err = agentdb.Open(t.TempDir(), &agentdb.Options{ChunkChars: 10, ChunkOverlap: 20})
	wantCode(t, err, agentdb.ErrInvalidArgument)
	_, err = agentdb.Open(t.TempDir(), &agentdb.Options{FlushInterval: 1 << 62})
	wantCode(t, err, agentdb.ErrInvalidArgument)
}

// An iterator holds no lock while its loop body runs: the body may call
// the DB, even Close it, without a deadlock.
func TestIteratorBodyMayCallTheDB(t *testing.T) {
	db, _ := openDB(t, nil)
	for i := 0; i < 3; i++ {
		must(db.SaveState(bg, 1, 1, agentdb.StateContext, []byte("x"), nil))
	}
	seen := 0
	for s, err := range db.History(bg, agentdb.NewHistoryQuery(1)) {
		ok(t, err)
		seen++
		if _, err := db.LoadStateVersion(bg, 1, 1, s.Version); err != nil && !errors.Is(err, agentdb.ErrClosed) {
			t.Fatal(err)
		}
		ok(t, db.Close())
	}
	if seen != 3 {
		t.Fatalf("saw %d versions", seen)
	}
}
