package agentdb_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	agentdb "github.com/agentdb-engine/agentdb-engine/bindings/go"
)

// wantCancelled checks err is a call stopped by its context: it matches
// ErrCancelled and the context's own error alike.
func wantCancelled(t testing.TB, err error, ctxErr error) {
	t.Helper()
	if !errors.Is(err, agentdb.ErrCancelled) || !errors.Is(err, ctxErr) {
		t.Fatalf("want ErrCancelled and %v, got %v", ctxErr, err)
	}
	var e *agentdb.Error
	if !errors.As(err, &e) || e.Code != agentdb.CodeCancelled || e.Message == "" {
		t.Fatalf("want an *agentdb.Error with CodeCancelled and a message, got %#v", err)
	}
	if e.Code.String() != "cancelled" {
		t.Fatalf("CodeCancelled is named %q", e.Code.String())
	}
}

// cancellableCalls runs every cancellable method once with ctx.
func cancellableCalls(db *agentdb.DB) map[string]func(ctx context.Context) error {
	q := []float32{1, 0, 0}
	mq := make([]float32, 384)
	mq[0] = 1
	return map[string]func(ctx context.Context) error{
		"Retrieve":             func(ctx context.Context) error { _, err := db.Retrieve(ctx, 7, "tea", 3, nil); return err },
		"RetrieveSimilar":      func(ctx context.Context) error { _, err := db.RetrieveSimilar(ctx, 7, mq, 3, nil); return err },
		"SemanticSearch":       func(ctx context.Context) error { _, err := db.SemanticSearch(ctx, "tea", 3, nil); return err },
		"SemanticSearchVector": func(ctx context.Context) error { _, err := db.SemanticSearchVector(ctx, mq, 3, nil); return err },
		"FullTextSearch":       func(ctx context.Context) error { _, err := db.FullTextSearch(ctx, "tea", 3, nil); return err },
		"HybridSearch": func(ctx context.Context) error {
			_, err := db.HybridSearch(ctx, "tea", nil, 3, agentdb.ReciprocalRank(), nil)
			return err
		},
		"SearchKNN": func(ctx context.Context) error { _, err := db.SearchKNN(ctx, "c", q, 3, nil); return err },
		"RetrieveArrow": func(ctx context.Context) error {
			return releaseIfOK(db.RetrieveArrow(ctx, 7, "tea", 3, nil))
		},
		"HybridSearchArrow": func(ctx context.Context) error {
			return releaseIfOK(db.HybridSearchArrow(ctx, "tea", nil, 3, agentdb.ReciprocalRank(), nil))
		},
		"SearchKNNArrow": func(ctx context.Context) error { return releaseIfOK(db.SearchKNNArrow(ctx, "c", q, 3, nil)) },
		"SearchRange":    func(ctx context.Context) error { _, err := db.SearchRange(ctx, "c", q, 10, 3, nil); return err },
	}
}

func releaseIfOK(s *agentdb.ArrowStream, err error) error {
	if err == nil {
		s.Release()
	}
	return err
}

func TestADoneContextStopsEveryCallBeforeItStarts(t *testing.T) {
	db, _ := openDB(t, nil)
	ok(t, db.CreateCollection(bg, "c", 3, agentdb.MetricL2))
	ok(t, db.InsertVector(bg, "c", "a", []float32{1, 0, 0}, nil))
	canceled, cancel := context.WithCancel(bg)
	cancel()
	expired, cancel2 := context.WithDeadline(bg, time.Now().Add(-time.Second))
	defer cancel2()
	for name, call := range cancellableCalls(db) {
		t.Run(name, func(t *testing.T) {
			wantCancelled(t, call(canceled), context.Canceled)
			wantCancelled(t, call(expired), context.DeadlineExceeded)
		})
	}
	// Every method, writes included, is refused the same way, and the refused write did nothing.
	_, err := db.SaveState(canceled, 1, 1, agentdb.StateContext, []byte("x"), nil)
	wantCancelled(t, err, context.Canceled)
	_, err = db.LoadState(bg, 1, 1)
	wantCode(t, err, agentdb.ErrNotFound)
	// A live context changes nothing.
	hits, err := db.SearchKNN(context.WithoutCancel(canceled), "c", []float32{1, 0, 0}, 1, nil)
	ok(t, err)
	if len(hits) != 1 || hits[0].ID != "a" {
		t.Fatalf("hits %+v", hits)
	}
}

// Rows and dimension of the collection the long search scans: an exact
// filtered k-NN over it (a flat scan of every row) took 0.5 s in the debug
// build on 2 cores (1.06 s cold, in the Rust test), ten times
// longSearchTimeout; the cancelled k-NN and range searches returned 13 and
// 28 ms after their deadline (logged with -v, never asserted).
const (
	longRows          = 100_000
	longDim           = 128
	longSearchTimeout = 50 * time.Millisecond
)

func TestALongSearchStopsWhenItsContextTimesOut(t *testing.T) {
	db, _ := openDB(t, nil)
	ok(t, db.CreateCollection(bg, "big", longDim, agentdb.MetricL2))
	rng := rand.New(rand.NewPCG(1, 2))
	all := map[string]string{"all": "yes"}
	var probe []float32
	for start := 0; start < longRows; start += 10_000 {
		batch := make([]agentdb.VectorRecord, 10_000)
		for i := range batch {
			v := make([]float32, longDim)
			for j := range v {
				v[j] = rng.Float32()
			}
			batch[i] = agentdb.VectorRecord{ID: "v" + strconv.Itoa(start+i), Vector: v, Metadata: all}
		}
		if start == 0 {
			probe = batch[42].Vector
		}
		ok(t, db.InsertVectors(bg, "big", batch))
	}
	ok(t, db.Flush(bg))
	// A filter every row passes: exact, so a flat scan of all of them.
	opts := &agentdb.SearchOptions{Metadata: all}
	for _, name := range []string{"SearchKNN", "SearchRange"} {
		ctx, cancel := context.WithTimeout(bg, longSearchTimeout)
		began := time.Now()
		var err error
		if name == "SearchKNN" {
			_, err = db.SearchKNN(ctx, "big", probe, 10, opts)
		} else {
			_, err = db.SearchRange(ctx, "big", probe, 1e9, 10, opts)
		}
		cancel()
		t.Logf("%s: returned %v after its %v deadline", name, time.Since(began)-longSearchTimeout, longSearchTimeout)
		wantCancelled(t, err, context.DeadlineExceeded)
	}
	// The database is still usable, and exact.
	began := time.Now()
	hits, err := db.SearchKNN(bg, "big", probe, 10, opts)
	ok(t, err)
	t.Logf("the same search, uncancelled: %v", time.Since(began))
	if len(hits) != 10 || hits[0].ID != "v42" {
		t.Fatalf("after the cancelled searches: %d hits, first %q", len(hits), hits[0].ID)
	}
}

// Contexts cancelled at random moments around and during many concurrent
// searches: every call either succeeds or is cancelled, and the token's
// free never races its cancel (run under -race and cgocheck2).
func TestContextsCancelledAtRandomMomentsNeverBreakACall(t *testing.T) {
	db, _ := openDB(t, nil)
	ok(t, db.CreateCollection(bg, "c", 3, agentdb.MetricL2))
	for i := range 50 {
		ok(t, db.InsertVector(bg, "c", "v"+strconv.Itoa(i), []float32{float32(i), 1, 2}, nil))
	}
	var wg sync.WaitGroup
	var succeeded, cancelled atomic.Int64
	for g := range 4 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 7))
			for range 100 {
				ctx, cancel := context.WithCancel(bg)
				go func(d time.Duration) {
					time.Sleep(d)
					cancel()
				}(time.Duration(rng.IntN(2000)) * time.Microsecond)
				hits, err := db.SearchKNN(ctx, "c", []float32{3, 1, 2}, 2, nil)
				switch {
				case err == nil:
					succeeded.Add(1)
					if len(hits) != 2 || hits[0].ID != "v3" {
						t.Errorf("hits %+v", hits)
					}
				case errors.Is(err, agentdb.ErrCancelled) && errors.Is(err, context.Canceled):
					cancelled.Add(1)
				default:
					t.Errorf("want success or cancelled, got %v", err)
				}
				cancel()
			}
		})
	}
	wg.Wait()
	t.Logf("%d searches succeeded, %d were cancelled", succeeded.Load(), cancelled.Load())
}
