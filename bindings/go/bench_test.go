package agentdb_test

// The hot operations through the Go package, each beside the same loop in C
// over the C ABI (internal/cbench: one cgo call for the whole loop), same
// process, same library build: the difference is what Go adds per call
// (cgo transition, handle lock, OS-thread lock for the error message,
// copying results into Go memory). docs/BENCHMARKS.md has the figures and
// the Rust API's for the same load loop (agentdb-bench --suites ffi).
//
//	go test -run '^$' -bench . -benchtime 2s

import (
	"fmt"
	"math/rand/v2"
	"testing"

	agentdb "github.com/agentdb-engine/agentdb-engine/bindings/go"
	"github.com/agentdb-engine/agentdb-engine/bindings/go/internal/cbench"
)

// benchOptions: as the ffi suite, no background maintenance.
func benchOptions() *agentdb.Options {
	return &agentdb.Options{MaintenanceInterval: -1}
}

// BenchmarkCgoCall is the floor: one cgo call that does nothing but return
// a static string (agent_db_version), converted to a Go string.
func BenchmarkCgoCall(b *testing.B) {
	for b.Loop() {
		if agentdb.Version() == "" {
			b.Fatal("empty")
		}
	}
}

// cLoop opens dir from C, runs setup, then times loop (b.N calls in C).
func cLoop(b *testing.B, dir string, setup func(*cbench.DB) error, loop func(*cbench.DB) (float64, error)) {
	cdb, err := cbench.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer cdb.Close()
	if setup != nil {
		if err := setup(cdb); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	if _, err := loop(cdb); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
}

func BenchmarkLoadStateHot(b *testing.B) {
	for _, payload := range []int{256, 64 << 10} {
		b.Run(fmt.Sprintf("%dB/Go", payload), func(b *testing.B) {
			db := must(agentdb.Open(b.TempDir(), benchOptions()))
			defer db.Close()
			must(db.SaveState(bg, 1, 1, agentdb.StateContext, make([]byte, payload), nil))
			must(db.LoadState(bg, 1, 1)) // warm the cache
			for b.Loop() {
				st, err := db.LoadState(bg, 1, 1)
				if err != nil || len(st.Data) != payload {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("%dB/C", payload), func(b *testing.B) {
			cLoop(b, b.TempDir(), func(c *cbench.DB) error { return c.SaveOne(payload) },
				func(c *cbench.DB) (float64, error) { return c.LoadState(b.N, payload) })
		})
	}
}

func BenchmarkSaveState(b *testing.B) {
	const payload = 256
	b.Run("256B/Go", func(b *testing.B) {
		db := must(agentdb.Open(b.TempDir(), benchOptions()))
		defer db.Close()
		data := make([]byte, payload)
		for b.Loop() {
			if _, err := db.SaveState(bg, 2, 1, agentdb.StateContext, data, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("256B/C", func(b *testing.B) {
		cLoop(b, b.TempDir(), nil, func(c *cbench.DB) (float64, error) { return c.SaveState(b.N, payload) })
	})
}

// memoriesDir holds 1000 memories of agent 3 (random 384-d vectors, so no
// two merge), flushed to Lance; made once, then opened by each side in turn.
func memoriesDir(b *testing.B) (string, []float32) {
	const n, dim = 1000, 384
	rng := rand.New(rand.NewPCG(1, 2))
	vec := func() []float32 {
		v := make([]float32, dim)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		return v
	}
	dir := b.TempDir()
	db := must(agentdb.Open(dir, benchOptions()))
	batch := make([]agentdb.NewMemory, n)
	for i := range batch {
		batch[i] = agentdb.NewMemory{AgentID: 3, Type: agentdb.MemorySemantic, Importance: 0.5, Content: fmt.Sprintf("memory %d", i), Embedding: vec()}
	}
	must(db.StoreMemories(bg, batch))
	ok(b, db.Flush(bg))
	ok(b, db.Close())
	return dir, vec()
}

func BenchmarkRetrieveSimilar(b *testing.B) {
	dir, query := memoriesDir(b)
	b.Run("1000x384/top10/Go", func(b *testing.B) {
		db := must(agentdb.Open(dir, benchOptions()))
		defer db.Close()
		opts := agentdb.DefaultRetrieveOptions()
		opts.RecordAccess = false
		for b.Loop() {
			hits, err := db.RetrieveSimilar(bg, 3, query, 10, &opts)
			if err != nil || len(hits) != 10 {
				b.Fatal(err)
			}
		}
	})
	b.Run("1000x384/top10/C", func(b *testing.B) {
		cLoop(b, dir, nil, func(c *cbench.DB) (float64, error) { return c.RetrieveSimilar(b.N, query, 10) })
	})
}
