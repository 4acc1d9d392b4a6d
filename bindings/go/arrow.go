package agentdb

/*
#include <stdlib.h>
#include "agent_db.h"

// cgo cannot call through C function pointers: these do.
static int stream_get_schema(struct ArrowArrayStream *s, struct ArrowSchema *out) { return s->get_schema(s, out); }
static int stream_get_next(struct ArrowArrayStream *s, struct ArrowArray *out) { return s->get_next(s, out); }
static const char *stream_last_error(struct ArrowArrayStream *s) { return s->get_last_error(s); }
static void stream_release(struct ArrowArrayStream *s) { if (s->release) s->release(s); }
static void schema_release(struct ArrowSchema *s) { if (s->release) s->release(s); }
static void array_release(struct ArrowArray *a) { if (a->release) a->release(a); }
*/
import "C"

import (
	"context"
	"runtime"
	"strconv"
	"unsafe"
)

// ArrowStream is a bulk result as an Arrow C stream (the ABI-stable Arrow C
// stream interface, in C memory), for arrow-go's
// cdata.ImportCRecordReader((*cdata.CArrowArrayStream)(s.Pointer()), nil)
// or any other consumer of the interface, with no copy into Go values. A
// consumer that takes the stream over sets its release callback to NULL;
// call Release afterwards anyway, to free the struct itself. A stream that
// is never released is released when it becomes garbage.
type ArrowStream struct {
	s       *C.struct_ArrowArrayStream
	cleanup runtime.Cleanup
}

func newArrowStream() *ArrowStream {
	s := (*C.struct_ArrowArrayStream)(C.calloc(1, C.size_t(unsafe.Sizeof(C.struct_ArrowArrayStream{}))))
	a := &ArrowStream{s: s}
	a.cleanup = runtime.AddCleanup(a, func(s *C.struct_ArrowArrayStream) {
		C.stream_release(s)
		C.free(unsafe.Pointer(s))
	}, s)
	return a
}

// Pointer is the struct ArrowArrayStream* (valid until Release).
func (a *ArrowStream) Pointer() unsafe.Pointer {
	return unsafe.Pointer(a.s)
}

// Release releases the stream (unless a consumer took it over) and frees
// it. Releasing twice does nothing.
func (a *ArrowStream) Release() {
	if a.s == nil {
		return
	}
	a.cleanup.Stop()
	C.stream_release(a.s)
	C.free(unsafe.Pointer(a.s))
	a.s = nil
}

func (a *ArrowStream) streamError(what string, code C.int) error {
	msg := ""
	if p := C.stream_last_error(a.s); p != nil {
		msg = C.GoString(p)
	}
	return &Error{Code: CodeStorage, Message: "arrow stream " + what + " failed (errno " + strconv.Itoa(int(code)) + "): " + msg}
}

// Columns is the number of columns of the stream's schema.
func (a *ArrowStream) Columns() (int, error) {
	if a.s == nil || a.s.release == nil {
		return 0, invalid("the arrow stream was released")
	}
	var schema C.struct_ArrowSchema
	if code := C.stream_get_schema(a.s, &schema); code != 0 {
		return 0, a.streamError("get_schema", code)
	}
	defer C.schema_release(&schema)
	return int(schema.n_children), nil
}

// Rows reads the stream to its end, releasing each batch, and returns the
// number of rows it held.
func (a *ArrowStream) Rows() (int64, error) {
	if a.s == nil || a.s.release == nil {
		return 0, invalid("the arrow stream was released")
	}
	var rows int64
	for {
		var batch C.struct_ArrowArray
		if code := C.stream_get_next(a.s, &batch); code != 0 {
			return rows, a.streamError("get_next", code)
		}
		if batch.release == nil { // the end of the stream
			return rows, nil
		}
		rows += int64(batch.length)
		C.array_release(&batch)
	}
}

// arrowCall runs one of the *_arrow calls into a new stream.
func (db *DB) arrowCall(ctx context.Context, f func(h *C.AgentDb, out *C.struct_ArrowArrayStream) C.AgentDbStatus) (*ArrowStream, error) {
	a := newArrowStream()
	if err := db.call(ctx, func(h *C.AgentDb) C.AgentDbStatus { return f(h, a.s) }); err != nil {
		a.Release() // written only on success: release is still NULL
		return nil, err
	}
	return a, nil
}

// arrowCallCancellable is arrowCall for a cancellable C call: its token
// is cancelled when ctx is done (see callCancellable).
func (db *DB) arrowCallCancellable(ctx context.Context, f func(h *C.AgentDb, token *C.AgentDbCancelToken, out *C.struct_ArrowArrayStream) C.AgentDbStatus) (*ArrowStream, error) {
	a := newArrowStream()
	err := db.callCancellable(ctx, func(h *C.AgentDb, t *C.AgentDbCancelToken) C.AgentDbStatus { return f(h, t, a.s) })
	if err != nil {
		a.Release() // written only on success: release is still NULL
		return nil, err
	}
	return a, nil
}

// HistoryArrow is History as one Arrow stream (columns agent_id,
// session_id, version, timestamp_ms, state_type, data, metadata, checksum,
// key; key is null for an unkeyed version).
func (db *DB) HistoryArrow(ctx context.Context, q HistoryQuery) (*ArrowStream, error) {
	cq, err := q.toC()
	if err != nil {
		return nil, err
	}
	return db.arrowCall(ctx, func(h *C.AgentDb, out *C.struct_ArrowArrayStream) C.AgentDbStatus {
		return C.agent_db_query_history_arrow(h, cq, out)
	})
}

// RetrieveArrow is Retrieve (a text query) as one Arrow stream.
func (db *DB) RetrieveArrow(ctx context.Context, agentID uint64, query string, limit int, opts *RetrieveOptions) (*ArrowStream, error) {
	var p pins
	defer p.done()
	cQuery, err := cString(query, "query")
	if err != nil {
		return nil, err
	}
	cLimit, err := u32(limit, "limit")
	if err != nil {
		return nil, err
	}
	cOpts, err := opts.toC(&p)
	if err != nil {
		return nil, err
	}
	return db.arrowCallCancellable(ctx, func(h *C.AgentDb, t *C.AgentDbCancelToken, out *C.struct_ArrowArrayStream) C.AgentDbStatus {
		return C.agent_db_retrieve_memories_arrow_cancellable(h, C.uint64_t(agentID), cQuery, cLimit, cOpts, t, out)
	})
}

// HybridSearchArrow is HybridSearch as one Arrow stream.
func (db *DB) HybridSearchArrow(ctx context.Context, query string, vector []float32, limit int, fusion Fusion, filter *DocFilter) (*ArrowStream, error) {
	var p pins
	defer p.done()
	q, err := cString(query, "query")
	if err != nil {
		return nil, err
	}
	cLimit, err := u32(limit, "limit")
	if err != nil {
		return nil, err
	}
	cFilter, err := filter.toC(&p)
	if err != nil {
		return nil, err
	}
	v := floatsPtr(vector)
	return db.arrowCallCancellable(ctx, func(h *C.AgentDb, t *C.AgentDbCancelToken, out *C.struct_ArrowArrayStream) C.AgentDbStatus {
		return C.agent_db_hybrid_search_arrow_cancellable(h, q, v, C.size_t(len(vector)), cLimit, fusion.kind, C.float(fusion.alpha), cFilter, t, out)
	})
}

// SearchKNNArrow is SearchKNN as one Arrow stream (id, distance, metadata,
// vector).
func (db *DB) SearchKNNArrow(ctx context.Context, collection string, query []float32, k int, opts *SearchOptions) (*ArrowStream, error) {
	var p pins
	defer p.done()
	cColl, err := cString(collection, "collection")
	if err != nil {
		return nil, err
	}
	cK, err := u32(k, "k")
	if err != nil {
		return nil, err
	}
	cOpts, err := opts.toC(&p)
	if err != nil {
		return nil, err
	}
	q := floatsPtr(query)
	return db.arrowCallCancellable(ctx, func(h *C.AgentDb, t *C.AgentDbCancelToken, out *C.struct_ArrowArrayStream) C.AgentDbStatus {
		return C.agent_db_search_knn_arrow_cancellable(h, cColl, q, C.size_t(len(query)), cK, cOpts, t, out)
	})
}
