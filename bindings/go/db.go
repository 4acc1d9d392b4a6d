// Package agentdb is the Go package of AgentDB, an embedded state database
// for AI agents: agent state with versions, snapshots and rollback; typed
// memories retrieved by meaning; documents for RAG; vector collections.
//
// It is a thin layer over the C ABI (include/agent_db.h, libagentdb): it
// converts values and maps errors, and every rule lives in the engine
// (SPEC.md). Build the library first with scripts/build_go_lib.sh.
//
// A *DB is safe for concurrent use. Every method takes a context.Context,
// checked before the call; the long read-only calls (retrievals and
// searches) also stop when it is done while they run, through the C ABI's
// cancel token. Errors are *Error values; match them with errors.Is and the
// sentinels (ErrNotFound, ErrInvalidArgument, ErrLocked, ErrCancelled, ...).
package agentdb

/*
#include "agent_db.h"
*/
import "C"

import (
	"context"
	"runtime"
	"sync"
	"time"
)

// Fsync is when the write-ahead log is synced to disk.
type Fsync int

const (
	// FsyncDefault is the library's default (FsyncBatch, 10 ms).
	FsyncDefault Fsync = iota
	// FsyncAlways syncs before acknowledging each write (group commit).
	FsyncAlways
	// FsyncBatch syncs every Options.FsyncBatch in the background.
	FsyncBatch
	// FsyncNever leaves it to the OS; still safe against a process crash.
	FsyncNever
)

// MergePolicy is what happens to a stored memory's near-duplicates.
type MergePolicy uint32

const (
	MergeKeepNewest        MergePolicy = 0
	MergeKeepMostImportant MergePolicy = 1
	MergeKeepBoth          MergePolicy = 2
)

// Options for Open. The zero value of each field means the library's
// default; a negative interval turns that background task off.
type Options struct {
	// ReadOnly opens without the writer lock; writes fail with ErrReadOnly.
	ReadOnly   bool
	Fsync      Fsync
	FsyncBatch time.Duration
	// FlushInterval is how often the memtable is written to Lance.
	FlushInterval time.Duration
	// MaintenanceInterval is how often compaction, indexing and pruning run.
	MaintenanceInterval time.Duration
	MaxPayloadBytes     uint64
	// MemoryDimension of memory embeddings and document chunks (384 for the
	// built-in model).
	MemoryDimension uint32
	// ANNIndexThreshold is the rows in a collection before maintenance
	// builds an ANN index.
	ANNIndexThreshold uint64
	ChunkChars        uint32
	ChunkOverlap      uint32
	// ModelDir is the embedding model's directory; "" finds the installed
	// package (or $AGENTDB_MODEL_DIR).
	ModelDir string
	// StateRetentionKeepLast keeps the newest N versions of each (agent,
	// session) in background maintenance and GC() (0: no count bound).
	StateRetentionKeepLast uint64
	// StateRetentionKeepNewerThan keeps versions saved within it (0: no age
	// bound). Both 0: every version is kept.
	StateRetentionKeepNewerThan time.Duration
	// MemoryMergeThreshold is the cosine similarity at or above which a
	// stored memory is a near-duplicate (0: the library's 0.88).
	MemoryMergeThreshold float32
	MemoryMergePolicy    MergePolicy
	// MaxMemoriesPerAgentType evicts the lowest-scoring unpinned memories
	// beyond it (0: no limit).
	MaxMemoriesPerAgentType uint64
}

// interval is a background interval in the ABI's ms: 0 keeps the default,
// negative is 0 ("off"), a positive one at least 1 ms.
func interval(d time.Duration, def C.uint32_t, what string) (C.uint32_t, error) {
	switch {
	case d == 0:
		return def, nil
	case d < 0:
		return 0, nil
	}
	ms, _ := millis(d, what)
	if ms > C.uint64_t(^C.uint32_t(0)) {
		return 0, invalid("%s %v is out of range", what, d)
	}
	return C.uint32_t(ms), nil
}

func (o *Options) toC(p *pins, out *C.AgentDbOptions) error {
	if err := cCall(func() C.AgentDbStatus { return C.agent_db_options_default(out) }); err != nil {
		return err
	}
	out.read_only = C.bool(o.ReadOnly)
	switch o.Fsync {
	case FsyncDefault:
	case FsyncAlways:
		out.fsync = C.AGENT_DB_FSYNC_ALWAYS
	case FsyncBatch:
		out.fsync = C.AGENT_DB_FSYNC_BATCH
	case FsyncNever:
		out.fsync = C.AGENT_DB_FSYNC_NEVER
	default:
		return invalid("unknown fsync policy %d", o.Fsync)
	}
	var err error
	if o.FsyncBatch != 0 {
		if out.fsync_batch_ms, err = interval(o.FsyncBatch, out.fsync_batch_ms, "FsyncBatch"); err != nil {
			return err
		}
	}
	if out.flush_interval_ms, err = interval(o.FlushInterval, out.flush_interval_ms, "FlushInterval"); err != nil {
		return err
	}
	if out.maintenance_interval_ms, err = interval(o.MaintenanceInterval, out.maintenance_interval_ms, "MaintenanceInterval"); err != nil {
		return err
	}
	if o.MaxPayloadBytes != 0 {
		out.max_payload_bytes = C.uint64_t(o.MaxPayloadBytes)
	}
	if o.MemoryDimension != 0 {
		out.memory_dimension = C.uint32_t(o.MemoryDimension)
	}
	if o.ANNIndexThreshold != 0 {
		out.ann_index_threshold = C.uint64_t(o.ANNIndexThreshold)
	}
	if o.ChunkChars != 0 {
		out.chunk_chars = C.uint32_t(o.ChunkChars)
	}
	if o.ChunkOverlap != 0 {
		out.chunk_overlap = C.uint32_t(o.ChunkOverlap)
	}
	if out.model_dir, err = p.optStr(o.ModelDir, "ModelDir"); err != nil {
		return err
	}
	out.state_retention_keep_last = C.uint64_t(o.StateRetentionKeepLast)
	if out.state_retention_keep_newer_than_ms, err = millis(o.StateRetentionKeepNewerThan, "StateRetentionKeepNewerThan"); err != nil {
		return err
	}
	if o.MemoryMergeThreshold != 0 {
		out.memory_merge_threshold = C.float(o.MemoryMergeThreshold)
	}
	out.memory_merge_policy = C.AgentDbMergePolicy(o.MemoryMergePolicy)
	out.max_memories_per_agent_type = C.uint64_t(o.MaxMemoriesPerAgentType)
	return nil
}

// DB is an open database. Its methods are safe for concurrent use. Close
// waits for the calls in flight; calls after it fail with ErrClosed.
type DB struct {
	// mu is held shared by every call and exclusively by Close, so the
	// handle is never freed under a running call.
	mu      sync.RWMutex
	handle  *C.AgentDb
	cleanup runtime.Cleanup
}

// Open opens (creating on first use) the database in directory path. opts
// may be nil for the defaults. A second writable open of the same
// directory, from this process or another, fails with ErrLocked.
func Open(path string, opts *Options) (*DB, error) {
	if opts == nil {
		opts = &Options{}
	}
	var p pins
	defer p.done()
	cPath, err := cString(path, "path")
	if err != nil {
		return nil, err
	}
	var cOpts C.AgentDbOptions // holds model_dir, pinned by p
	if err := opts.toC(&p, &cOpts); err != nil {
		return nil, err
	}
	var handle *C.AgentDb
	if err := cCall(func() C.AgentDbStatus { return C.agent_db_open(cPath, &cOpts, &handle) }); err != nil {
		return nil, err
	}
	db := &DB{handle: handle}
	// A backstop for a DB dropped without Close: the handle is closed (the
	// final flush runs, the writer lock is released) once db is garbage.
	db.cleanup = runtime.AddCleanup(db, func(h *C.AgentDb) { C.agent_db_close(h) }, handle)
	return db, nil
}

// enter starts a call: the context is checked, and the handle is held open
// until leave.
func (db *DB) enter(ctx context.Context) (*C.AgentDb, error) {
	if err := ctx.Err(); err != nil {
		return nil, cancelledBy(err, nil)
	}
	db.mu.RLock()
	if db.handle == nil {
		db.mu.RUnlock()
		return nil, closedError()
	}
	return db.handle, nil
}

func (db *DB) leave() {
	db.mu.RUnlock()
}

// call runs one C call on the open handle.
func (db *DB) call(ctx context.Context, f func(h *C.AgentDb) C.AgentDbStatus) error {
	h, err := db.enter(ctx)
	if err != nil {
		return err
	}
	defer db.leave()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	return check(f(h))
}

// callCancellable runs one cancellable C call (a `*_cancellable` function)
// with a cancel token that ctx cancels: a search still running when ctx is
// done returns at once with an error matching both ErrCancelled and
// ctx.Err(). The token is C memory, made and freed here; the AfterFunc
// callback is waited for before the free, so it never cancels a freed token.
func (db *DB) callCancellable(ctx context.Context, f func(h *C.AgentDb, token *C.AgentDbCancelToken) C.AgentDbStatus) error {
	if ctx.Done() == nil {
		// Never cancelled (context.Background): no token to make.
		return db.call(ctx, func(h *C.AgentDb) C.AgentDbStatus { return f(h, nil) })
	}
	var token *C.AgentDbCancelToken
	if err := cCall(func() C.AgentDbStatus { return C.agent_db_cancel_token_new(&token) }); err != nil {
		return err
	}
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		C.agent_db_cancel_token_cancel(token)
		close(fired)
	})
	defer func() {
		if !stop() {
			<-fired // the callback started: let it finish with the token
		}
		C.agent_db_cancel_token_free(token)
	}()
	err := db.call(ctx, func(h *C.AgentDb) C.AgentDbStatus { return f(h, token) })
	if e, ok := err.(*Error); ok && e.Code == CodeCancelled && ctx.Err() != nil {
		return cancelledBy(ctx.Err(), e)
	}
	return err
}

// Close flushes, syncs, releases the writer lock and frees the handle,
// after the calls in flight have finished. The handle is freed even when
// the final flush fails (the error says so; the write-ahead log still holds
// every acknowledged write). Closing a closed DB does nothing.
func (db *DB) Close() error {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.handle == nil {
		return nil
	}
	h := db.handle
	db.handle = nil
	db.cleanup.Stop()
	return cCall(func() C.AgentDbStatus { return C.agent_db_close(h) })
}

// Flush writes pending records to Lance now (normally done in the background).
func (db *DB) Flush(ctx context.Context) error {
	return db.call(ctx, func(h *C.AgentDb) C.AgentDbStatus { return C.agent_db_flush(h) })
}

// Compact flushes, compacts, refreshes indexes and prunes old versions now.
func (db *DB) Compact(ctx context.Context) error {
	return db.call(ctx, func(h *C.AgentDb) C.AgentDbStatus { return C.agent_db_compact(h) })
}

// Retention is a bound for GC: KeepLast and/or KeepNewerThan.
type Retention func(*retention) error

type retention struct {
	keepLast, keepNewerThanMs C.uint64_t
}

// KeepLast keeps the newest n versions of each (agent, session); n ≥ 1.
func KeepLast(n uint64) Retention {
	return func(r *retention) error {
		if n == 0 {
			return invalid("keep_last must be >= 1")
		}
		r.keepLast = C.uint64_t(n)
		return nil
	}
}

// KeepNewerThan keeps the versions saved within d; d ≥ 1 ms.
func KeepNewerThan(d time.Duration) Retention {
	return func(r *retention) error {
		ms, err := millis(d, "keep_newer_than")
		if err != nil {
			return err
		}
		if ms == 0 {
			return invalid("keep_newer_than must be >= 1 ms")
		}
		r.keepNewerThanMs = ms
		return nil
	}
}

// GC deletes old state versions, then compacts and prunes, and returns how
// many versions it removed. A version stays if it is the latest of its
// (agent, session), a snapshot names it, or a bound given keeps it; with no
// bounds, the retention configured at Open applies (by default every
// version is kept).
func (db *DB) GC(ctx context.Context, bounds ...Retention) (uint64, error) {
	var r retention
	for _, b := range bounds {
		if err := b(&r); err != nil {
			return 0, err
		}
	}
	var removed C.uint64_t
	err := db.call(ctx, func(h *C.AgentDb) C.AgentDbStatus {
		return C.agent_db_gc(h, r.keepLast, r.keepNewerThanMs, &removed)
	})
	return uint64(removed), err
}

// StatsJSON is the database's statistics as a JSON object (per-table rows,
// fragments, versions, bytes, WAL and cache figures, last maintenance).
func (db *DB) StatsJSON(ctx context.Context) ([]byte, error) {
	var out *C.char
	if err := db.call(ctx, func(h *C.AgentDb) C.AgentDbStatus { return C.agent_db_stats_json(h, &out) }); err != nil {
		return nil, err
	}
	defer C.agent_db_string_free(out)
	return []byte(C.GoString(out)), nil
}

// Embed embeds each text with the database's model: one vector per text.
func (db *DB) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	var p pins
	defer p.done()
	arr, err := p.strArray(texts, "text")
	if err != nil {
		return nil, err
	}
	var flat *C.float
	var dim C.size_t
	err = db.call(ctx, func(h *C.AgentDb) C.AgentDbStatus {
		return C.agent_db_embed(h, arr, C.size_t(len(texts)), &flat, &dim)
	})
	if err != nil {
		return nil, err
	}
	n := C.size_t(len(texts)) * dim
	defer C.agent_db_floats_free(flat, n)
	all := goFloats(flat, n)
	out := make([][]float32, len(texts))
	for i := range out {
		out[i] = all[i*int(dim) : (i+1)*int(dim) : (i+1)*int(dim)]
	}
	return out, nil
}
