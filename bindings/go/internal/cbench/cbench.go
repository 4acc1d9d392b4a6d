// Package cbench runs the benchmarks' operations as plain C loops over the
// C ABI (one cgo call for the whole loop), so `go test -bench` can put the
// per-call cost of the Go package beside C's in the same process and build.
package cbench

/*
#cgo CFLAGS: -I${SRCDIR}/../../lib
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "agent_db.h"

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

// The hot load loop of examples/c/bench_load_state.c: ns per call, or -1.
static double load_state_loop(AgentDb *db, long calls, size_t payload) {
  AgentDbState *st = NULL;
  unsigned long long sum = 0;
  double start = now_ns();
  for (long i = 0; i < calls; i++) {
    if (agent_db_load_state(db, 1, 1, &st) != AGENT_DB_OK) return -1;
    sum += st->data_len;
    agent_db_state_free(st);
  }
  double ns = (now_ns() - start) / (double)calls;
  return sum == (unsigned long long)calls * payload ? ns : -1;
}

static double save_state_loop(AgentDb *db, long calls, const uint8_t *data, size_t payload) {
  double start = now_ns();
  for (long i = 0; i < calls; i++) {
    if (agent_db_save_state(db, 2, 1, AGENT_DB_STATE_CONTEXT, data, payload, NULL, NULL) != AGENT_DB_OK) return -1;
  }
  return (now_ns() - start) / (double)calls;
}

static double retrieve_loop(AgentDb *db, long calls, const float *v, size_t dim, uint32_t limit) {
  AgentDbScoredMemoryList *hits = NULL;
  AgentDbRetrieveOptions opts;
  agent_db_retrieve_options_default(&opts);
  opts.record_access = false;
  double start = now_ns();
  for (long i = 0; i < calls; i++) {
    if (agent_db_retrieve_memories_by_vector(db, 3, v, dim, limit, &opts, &hits) != AGENT_DB_OK) return -1;
    if (hits->len != limit) return -1;
    agent_db_scored_memory_list_free(hits);
  }
  return (now_ns() - start) / (double)calls;
}
*/
import "C"

import (
	"errors"
	"unsafe"

	// The Go package's cgo flags link libagentdb into any binary using this one.
	_ "github.com/agentdb-engine/agentdb-engine/bindings/go"
)

// DB is a handle opened by C (not the Go package's), for the C loops.
type DB struct{ h *C.AgentDb }

// Open opens dir with background maintenance off (as the ffi suite).
func Open(dir string) (*DB, error) {
	cDir := C.CString(dir)
	defer C.free(unsafe.Pointer(cDir))
	var opts C.AgentDbOptions
	C.agent_db_options_default(&opts)
	opts.maintenance_interval_ms = 0
	var h *C.AgentDb
	if C.agent_db_open(cDir, &opts, &h) != C.AGENT_DB_OK {
		return nil, errors.New("cbench: open failed")
	}
	return &DB{h}, nil
}

func (db *DB) Close() { C.agent_db_close(db.h) }

var errLoop = errors.New("cbench: a call in the C loop failed")

// SaveOne saves one payload-byte state of agent 1 session 1 and loads it
// once (warming the cache), for LoadState.
func (db *DB) SaveOne(payload int) error {
	data := C.calloc(C.size_t(payload+1), 1)
	defer C.free(data)
	if C.agent_db_save_state(db.h, 1, 1, C.AGENT_DB_STATE_CONTEXT, (*C.uint8_t)(data), C.size_t(payload), nil, nil) != C.AGENT_DB_OK {
		return errLoop
	}
	if C.load_state_loop(db.h, 1, C.size_t(payload)) < 0 {
		return errLoop
	}
	return nil
}

// LoadState times calls hot loads of the state SaveOne saved, in C; ns per call.
func (db *DB) LoadState(calls int, payload int) (float64, error) {
	ns := float64(C.load_state_loop(db.h, C.long(calls), C.size_t(payload)))
	if ns < 0 {
		return 0, errLoop
	}
	return ns, nil
}

// SaveState times calls saves of payload bytes (agent 2) in C; ns per call.
func (db *DB) SaveState(calls int, payload int) (float64, error) {
	data := C.calloc(C.size_t(payload+1), 1)
	defer C.free(data)
	ns := float64(C.save_state_loop(db.h, C.long(calls), (*C.uint8_t)(data), C.size_t(payload)))
	if ns < 0 {
		return 0, errLoop
	}
	return ns, nil
}

// RetrieveSimilar times calls retrievals of limit memories of agent 3 (no
// access recorded) in C; ns per call.
func (db *DB) RetrieveSimilar(calls int, query []float32, limit int) (float64, error) {
	ns := float64(C.retrieve_loop(db.h, C.long(calls), (*C.float)(unsafe.Pointer(&query[0])), C.size_t(len(query)), C.uint32_t(limit)))
	if ns < 0 {
		return 0, errLoop
	}
	return ns, nil
}
