package agentdb

/*
#include "agent_db.h"
*/
import "C"

import (
	"context"
	"iter"
	"math"
	"strconv"
	"time"
	"unsafe"
)

// StateType says what a saved state holds.
type StateType uint32

const (
	StateWorkingMemory  StateType = 0
	StateLongTermMemory StateType = 1
	StateContext        StateType = 2
	StateTaskState      StateType = 3
	StateRelationship   StateType = 4
	StateEmbedding      StateType = 5
)

var stateTypeNames = []string{"working_memory", "long_term_memory", "context", "task_state", "relationship", "embedding"}

// String is the SPEC.md name ("task_state", ...).
func (t StateType) String() string {
	return enumName(stateTypeNames, uint32(t), "state_type")
}

// ParseStateType reads a SPEC.md name; an unknown one is ErrInvalidArgument.
func ParseStateType(name string) (StateType, error) {
	i, err := parseEnum(stateTypeNames, name, "state type")
	return StateType(i), err
}

func enumName(names []string, v uint32, what string) string {
	if int(v) < len(names) {
		return names[v]
	}
	return what + "(" + strconv.FormatUint(uint64(v), 10) + ")"
}

func parseEnum(names []string, name, what string) (uint32, error) {
	for i, n := range names {
		if n == name {
			return uint32(i), nil
		}
	}
	return 0, invalid("unknown %s %q", what, name)
}

// State is one version of an agent's state.
type State struct {
	AgentID   uint64
	SessionID uint64
	Version   uint64
	Timestamp time.Time
	Type      StateType
	// Checksum is the CRC32C of Data, verified by the library on every read.
	Checksum uint32
	Data     []byte
	Metadata map[string]string
	// Key is the caller's key for this version (SaveStateKeyed); "" when it
	// has none (a key is never empty).
	Key string
}

func goState(s *C.AgentDbState) State {
	var data []byte
	if s.data_len > 0 {
		data = append([]byte(nil), unsafe.Slice((*byte)(unsafe.Pointer(s.data)), int(s.data_len))...)
	} else {
		data = []byte{}
	}
	var key string
	if s.key != nil {
		key = C.GoString(s.key)
	}
	return State{
		AgentID:   uint64(s.agent_id),
		SessionID: uint64(s.session_id),
		Version:   uint64(s.version),
		Timestamp: goTime(s.timestamp_ms),
		Type:      StateType(s.state_type),
		Checksum:  uint32(s.checksum),
		Data:      data,
		Metadata:  parseMetadata(s.metadata_json),
		Key:       key,
	}
}

// SaveState appends a new version of (agent, session) and returns its
// number: 1, 2, 3… with no gaps, even under concurrent savers. metadata may
// be nil.
func (db *DB) SaveState(ctx context.Context, agentID, sessionID uint64, t StateType, data []byte, metadata map[string]string) (uint64, error) {
	meta, err := metadataJSON(metadata, "metadata")
	if err != nil {
		return 0, err
	}
	var dataPtr *C.uint8_t
	if len(data) > 0 {
		dataPtr = (*C.uint8_t)(unsafe.Pointer(&data[0]))
	}
	var version C.uint64_t
	err = db.call(ctx, func(h *C.AgentDb) C.AgentDbStatus {
		return C.agent_db_save_state(h, C.uint64_t(agentID), C.uint64_t(sessionID), C.AgentDbStateType(t),
			dataPtr, C.size_t(len(data)), meta, &version)
	})
	return uint64(version), err
}

// SaveStateKeyed is SaveState, and the new version carries key (a
// checkpoint id, a step name: 1–1024 bytes). Keys need not be unique:
// LoadStateByKey finds the newest version carrying one.
func (db *DB) SaveStateKeyed(ctx context.Context, agentID, sessionID uint64, key string, t StateType, data []byte, metadata map[string]string) (uint64, error) {
	cKey, err := cString(key, "key")
	if err != nil {
		return 0, err
	}
	meta, err := metadataJSON(metadata, "metadata")
	if err != nil {
		return 0, err
	}
	var dataPtr *C.uint8_t
	if len(data) > 0 {
		dataPtr = (*C.uint8_t)(unsafe.Pointer(&data[0]))
	}
	var version C.uint64_t
	err = db.call(ctx, func(h *C.AgentDb) C.AgentDbStatus {
		return C.agent_db_save_state_keyed(h, C.uint64_t(agentID), C.uint64_t(sessionID), cKey, C.AgentDbStateType(t),
			dataPtr, C.size_t(len(data)), meta, &version)
	})
	return uint64(version), err
}

// loadState runs one of the C calls that return a single state.
func (db *DB) loadState(ctx context.Context, f func(h *C.AgentDb, out **C.AgentDbState) C.AgentDbStatus) (*State, error) {
	var st *C.AgentDbState
	if err := db.call(ctx, func(h *C.AgentDb) C.AgentDbStatus { return f(h, &st) }); err != nil {
		return nil, err
	}
	defer C.agent_db_state_free(st)
	s := goState(st)
	return &s, nil
}

// LoadState is the latest version of (agent, session); ErrNotFound if none.
func (db *DB) LoadState(ctx context.Context, agentID, sessionID uint64) (*State, error) {
	return db.loadState(ctx, func(h *C.AgentDb, out **C.AgentDbState) C.AgentDbStatus {
		return C.agent_db_load_state(h, C.uint64_t(agentID), C.uint64_t(sessionID), out)
	})
}

// LoadLatestState is the most recently saved state of the agent across all
// its sessions.
func (db *DB) LoadLatestState(ctx context.Context, agentID uint64) (*State, error) {
	return db.loadState(ctx, func(h *C.AgentDb, out **C.AgentDbState) C.AgentDbStatus {
		return C.agent_db_load_latest_state(h, C.uint64_t(agentID), out)
	})
}

// LoadStateVersion is one exact version of (agent, session).
func (db *DB) LoadStateVersion(ctx context.Context, agentID, sessionID, version uint64) (*State, error) {
	return db.loadState(ctx, func(h *C.AgentDb, out **C.AgentDbState) C.AgentDbStatus {
		return C.agent_db_load_state_version(h, C.uint64_t(agentID), C.uint64_t(sessionID), C.uint64_t(version), out)
	})
}

// LoadStateByKey is the newest version of (agent, session) carrying exactly
// key (bytewise); ErrNotFound if none does.
func (db *DB) LoadStateByKey(ctx context.Context, agentID, sessionID uint64, key string) (*State, error) {
	cKey, err := cString(key, "key")
	if err != nil {
		return nil, err
	}
	return db.loadState(ctx, func(h *C.AgentDb, out **C.AgentDbState) C.AgentDbStatus {
		return C.agent_db_load_state_by_key(h, C.uint64_t(agentID), C.uint64_t(sessionID), cKey, out)
	})
}

// StateHistoryPage is one page of (agent, session)'s versions, newest first:
// those below *beforeVersion (nil: from the newest), at most limit
// (1–100000). The next page is before the last version of this one:
// StateHistoryPage(ctx, a, s, &page[len(page)-1].Version, limit). An
// unknown (agent, session) gives an empty page.
func (db *DB) StateHistoryPage(ctx context.Context, agentID, sessionID uint64, beforeVersion *uint64, limit int) ([]State, error) {
	n, err := u32(limit, "limit")
	if err != nil {
		return nil, err
	}
	before := C.uint64_t(math.MaxUint64) // the ABI's "from the newest"
	if beforeVersion != nil {
		before = C.uint64_t(*beforeVersion)
	}
	var list *C.AgentDbStateList
	err = db.call(ctx, func(h *C.AgentDb) C.AgentDbStatus {
		return C.agent_db_state_history_page(h, C.uint64_t(agentID), C.uint64_t(sessionID), before, n, &list)
	})
	if err != nil {
		return nil, err
	}
	return goStateList(list), nil
}

// goStateList copies a state list out of C memory and frees it.
func goStateList(list *C.AgentDbStateList) []State {
	defer C.agent_db_state_list_free(list)
	src := items(list.items, list.len)
	out := make([]State, len(src))
	for i := range src {
		out[i] = goState(&src[i])
	}
	return out
}

// HistoryQuery selects versions for History. Make one with NewHistoryQuery
// (every session, no time bounds, limit 100).
type HistoryQuery struct {
	AgentID uint64
	// SessionID restricts the query to one session when HasSession is set.
	SessionID  uint64
	HasSession bool
	// From and To are inclusive bounds on the save time; the zero Time is
	// unbounded.
	From, To time.Time
	// Limit is 1..100000.
	Limit int
}

// NewHistoryQuery is every session of the agent, no time bounds, the
// library's default limit (100; agent_db_history_query_init).
func NewHistoryQuery(agentID uint64) HistoryQuery {
	var c C.AgentDbHistoryQuery
	// Cannot fail: the only pointer is this non-NULL one.
	_ = cCall(func() C.AgentDbStatus { return C.agent_db_history_query_init(C.uint64_t(agentID), &c) })
	return HistoryQuery{AgentID: agentID, Limit: int(c.limit)}
}

// Session restricts the query to one session.
func (q HistoryQuery) Session(sessionID uint64) HistoryQuery {
	q.SessionID, q.HasSession = sessionID, true
	return q
}

// Between bounds the save time (inclusive; a zero Time is unbounded).
func (q HistoryQuery) Between(from, to time.Time) HistoryQuery {
	q.From, q.To = from, to
	return q
}

// WithLimit sets the number of versions returned at most.
func (q HistoryQuery) WithLimit(n int) HistoryQuery {
	q.Limit = n
	return q
}

// History yields the versions matching q, newest first. The query runs when
// the loop starts, in one call; an error is yielded once, with a zero State.
func (db *DB) History(ctx context.Context, q HistoryQuery) iter.Seq2[State, error] {
	return func(yield func(State, error) bool) {
		states, err := db.queryHistory(ctx, q)
		if err != nil {
			yield(State{}, err)
			return
		}
		for _, s := range states {
			if !yield(s, nil) {
				return
			}
		}
	}
}

func (q HistoryQuery) toC() (*C.AgentDbHistoryQuery, error) {
	limit, err := u32(q.Limit, "limit")
	if err != nil {
		return nil, err
	}
	return &C.AgentDbHistoryQuery{
		agent_id:    C.uint64_t(q.AgentID),
		session_id:  C.uint64_t(q.SessionID),
		has_session: C.bool(q.HasSession),
		from_ms:     timeMs(q.From, math.MinInt64),
		to_ms:       timeMs(q.To, math.MaxInt64),
		limit:       limit,
	}, nil
}

func (db *DB) queryHistory(ctx context.Context, q HistoryQuery) ([]State, error) {
	cq, err := q.toC()
	if err != nil {
		return nil, err
	}
	var list *C.AgentDbStateList
	if err := db.call(ctx, func(h *C.AgentDb) C.AgentDbStatus { return C.agent_db_query_history(h, cq, &list) }); err != nil {
		return nil, err
	}
	return goStateList(list), nil
}

// Snapshot is a named pointer at one version of an (agent, session) state.
type Snapshot struct {
	AgentID   uint64
	SessionID uint64
	Version   uint64
	CreatedAt time.Time
	Name      string
}

func goSnapshot(s *C.AgentDbSnapshot) Snapshot {
	return Snapshot{
		AgentID:   uint64(s.agent_id),
		SessionID: uint64(s.session_id),
		Version:   uint64(s.version),
		CreatedAt: goTime(s.created_at_ms),
		Name:      C.GoString(s.name),
	}
}

// CreateSnapshot names the current latest version of (agent, session).
// Names are 1–128 bytes of [A-Za-z0-9_.:-], unique per agent.
func (db *DB) CreateSnapshot(ctx context.Context, agentID, sessionID uint64, name string) (*Snapshot, error) {
	cName, err := cString(name, "name")
	if err != nil {
		return nil, err
	}
	var snap *C.AgentDbSnapshot
	err = db.call(ctx, func(h *C.AgentDb) C.AgentDbStatus {
		return C.agent_db_create_snapshot(h, C.uint64_t(agentID), C.uint64_t(sessionID), cName, &snap)
	})
	if err != nil {
		return nil, err
	}
	defer C.agent_db_snapshot_free(snap)
	s := goSnapshot(snap)
	return &s, nil
}

// Snapshots yields the agent's snapshots, oldest first.
func (db *DB) Snapshots(ctx context.Context, agentID uint64) iter.Seq2[Snapshot, error] {
	return func(yield func(Snapshot, error) bool) {
		var list *C.AgentDbSnapshotList
		err := db.call(ctx, func(h *C.AgentDb) C.AgentDbStatus {
			return C.agent_db_list_snapshots(h, C.uint64_t(agentID), &list)
		})
		if err != nil {
			yield(Snapshot{}, err)
			return
		}
		src := items(list.items, list.len)
		out := make([]Snapshot, len(src))
		for i := range src {
			out[i] = goSnapshot(&src[i])
		}
		C.agent_db_snapshot_list_free(list)
		for _, s := range out {
			if !yield(s, nil) {
				return
			}
		}
	}
}

// RestoreSnapshot rolls back: the snapshot's state is saved as a new latest
// version of its session (history keeps every version in between) and
// returned.
func (db *DB) RestoreSnapshot(ctx context.Context, agentID uint64, name string) (*State, error) {
	cName, err := cString(name, "name")
	if err != nil {
		return nil, err
	}
	return db.loadState(ctx, func(h *C.AgentDb, out **C.AgentDbState) C.AgentDbStatus {
		return C.agent_db_restore_snapshot(h, C.uint64_t(agentID), cName, out)
	})
}

// DeleteAgent removes every state version and snapshot of the agent.
func (db *DB) DeleteAgent(ctx context.Context, agentID uint64) error {
	return db.call(ctx, func(h *C.AgentDb) C.AgentDbStatus { return C.agent_db_delete_agent(h, C.uint64_t(agentID)) })
}
