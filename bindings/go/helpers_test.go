package agentdb_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"testing"
	"time"

	agentdb "github.com/agentdb-engine/agentdb-engine/bindings/go"
)

// testOptions: no background flush or maintenance during a test (as the
// Rust and Zig runners), so every result depends only on the calls made.
func testOptions() *agentdb.Options {
	return &agentdb.Options{FlushInterval: time.Hour, MaintenanceInterval: -1}
}

// openDB opens a database in a fresh temporary directory, closed when the
// test ends.
func openDB(t testing.TB, opts *agentdb.Options) (*agentdb.DB, string) {
	t.Helper()
	if opts == nil {
		opts = testOptions()
	}
	dir := t.TempDir()
	db, err := agentdb.Open(dir, opts)
	if err != nil {
		t.Fatalf("open %s: %v", dir, err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return db, dir
}

// must returns v, or panics on err (which fails the test with the stack of
// the call). Go cannot pass t beside a multi-value call, hence the panic.
func must[T any](v T, err error) T {
	if err != nil {
		panic(fmt.Sprintf("unexpected error: %v", err))
	}
	return v
}

func ok(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

// wantCode checks err is an *agentdb.Error of the code, with a message.
func wantCode(t testing.TB, err error, want *agentdb.Error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("want %v, got %v", want, err)
	}
	var e *agentdb.Error
	if !errors.As(err, &e) || e.Message == "" {
		t.Fatalf("want an *agentdb.Error with a message, got %#v", err)
	}
}

// collect drains an iterator, failing on its error.
func collect[T any](t testing.TB, seq iter.Seq2[T, error]) []T {
	t.Helper()
	var out []T
	for v, err := range seq {
		if err != nil {
			t.Fatalf("iterating: %v", err)
		}
		out = append(out, v)
	}
	return out
}

var bg = context.Background()

// unit is a unit vector of dimension dim along axis i.
func unit(dim, i int) []float32 {
	v := make([]float32, dim)
	v[i%dim] = 1
	return v
}
