package agentdb

/*
#include "agent_db.h"
*/
import "C"

import (
	"context"
	"encoding/json"
	"iter"
	"math"
	"time"
)

// MemoryType is the kind of a memory.
type MemoryType uint32

const (
	MemoryEpisodic   MemoryType = 0
	MemorySemantic   MemoryType = 1
	MemoryProcedural MemoryType = 2
	MemoryWorking    MemoryType = 3
)

var memoryTypeNames = []string{"episodic", "semantic", "procedural", "working"}

// String is the SPEC.md name ("semantic", ...).
func (t MemoryType) String() string {
	return enumName(memoryTypeNames, uint32(t), "memory_type")
}

// MarshalText writes the SPEC.md name (as the consolidation report does).
func (t MemoryType) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText reads a SPEC.md name.
func (t *MemoryType) UnmarshalText(b []byte) error {
	v, err := ParseMemoryType(string(b))
	*t = v
	return err
}

// ParseMemoryType reads a SPEC.md name; an unknown one is ErrInvalidArgument.
func ParseMemoryType(name string) (MemoryType, error) {
	i, err := parseEnum(memoryTypeNames, name, "memory type")
	return MemoryType(i), err
}

// NewMemory is a memory to store.
type NewMemory struct {
	AgentID uint64
	Type    MemoryType
	// Importance is 0..=1.
	Importance float32
	// Content is non-empty text.
	Content string
	// Embedding nil: the content is embedded by the database's model.
	Embedding []float32
	// TTL 0: never expires.
	TTL      time.Duration
	Metadata map[string]string
}

func (m *NewMemory) toC(p *pins, out *C.AgentDbNewMemory) error {
	var err error
	if out.content, err = p.str(m.Content, "content"); err != nil {
		return err
	}
	if out.metadata_json, err = p.metadata(m.Metadata, "metadata"); err != nil {
		return err
	}
	if out.ttl_ms, err = millis(m.TTL, "TTL"); err != nil {
		return err
	}
	out.agent_id = C.uint64_t(m.AgentID)
	out.memory_type = C.AgentDbMemoryType(m.Type)
	out.importance = C.float(m.Importance)
	out.embedding = p.floats(m.Embedding)
	out.embedding_len = C.size_t(len(m.Embedding))
	return nil
}

// Memory is a stored memory.
type Memory struct {
	ID          uint64
	AgentID     uint64
	Type        MemoryType
	Importance  float32
	AccessCount uint64
	LastAccess  time.Time
	CreatedAt   time.Time
	// ExpiresAt is the zero Time for a memory that never expires.
	ExpiresAt time.Time
	// Pinned memories are never forgotten, expired, evicted or merged away.
	Pinned    bool
	Content   string
	Embedding []float32
	Metadata  map[string]string
}

func goMemory(m *C.AgentDbMemory) Memory {
	out := Memory{
		ID:          uint64(m.memory_id),
		AgentID:     uint64(m.agent_id),
		Type:        MemoryType(m.memory_type),
		Importance:  float32(m.importance),
		AccessCount: uint64(m.access_count),
		LastAccess:  goTime(m.last_access_ms),
		CreatedAt:   goTime(m.created_at_ms),
		Pinned:      bool(m.pinned),
		Content:     C.GoString(m.content),
		Embedding:   goFloats(m.embedding, m.embedding_len),
		Metadata:    parseMetadata(m.metadata_json),
	}
	if m.has_expiry {
		out.ExpiresAt = goTime(m.expires_at_ms)
	}
	return out
}

// StoreKind is what a store did.
type StoreKind uint32

const (
	// StoreStored: a new memory was stored.
	StoreStored StoreKind = 0
	// StoreDuplicate: an exact duplicate; the existing memory was refreshed.
	StoreDuplicate StoreKind = 1
	// StoreMerged: merged with near-duplicates, which no longer exist.
	StoreMerged StoreKind = 2
)

var storeKindNames = []string{"stored", "duplicate", "merged"}

func (k StoreKind) String() string { return enumName(storeKindNames, uint32(k), "store_kind") }

// StoreOutcome is what StoreMemoryOutcome did. MemoryID holds the content now.
type StoreOutcome struct {
	MemoryID uint64
	Kind     StoreKind
	// Absorbed are the memories merged away.
	Absorbed []uint64
	// Evicted are the memories deleted to respect the per-agent/type limit.
	Evicted []uint64
}

// StoreMemory stores one memory (or deduplicates/merges it, SPEC.md) and
// returns the id that now holds it.
func (db *DB) StoreMemory(ctx context.Context, m NewMemory) (uint64, error) {
	var p pins
	defer p.done()
	var cm C.AgentDbNewMemory
	if err := m.toC(&p, &cm); err != nil {
		return 0, err
	}
	var id C.uint64_t
	err := db.call(ctx, func(h *C.AgentDb) C.AgentDbStatus { return C.agent_db_store_memory(h, &cm, &id) })
	return uint64(id), err
}

// StoreMemoryOutcome is StoreMemory, saying whether the memory was new, a
// duplicate or merged.
func (db *DB) StoreMemoryOutcome(ctx context.Context, m NewMemory) (*StoreOutcome, error) {
	var p pins
	defer p.done()
	var cm C.AgentDbNewMemory
	if err := m.toC(&p, &cm); err != nil {
		return nil, err
	}
	var o *C.AgentDbStoreOutcome
	if err := db.call(ctx, func(h *C.AgentDb) C.AgentDbStatus { return C.agent_db_store_memory_outcome(h, &cm, &o) }); err != nil {
		return nil, err
	}
	defer C.agent_db_store_outcome_free(o)
	return &StoreOutcome{
		MemoryID: uint64(o.memory_id),
		Kind:     StoreKind(o.kind),
		Absorbed: goIDs(o.absorbed, o.absorbed_len),
		Evicted:  goIDs(o.evicted, o.evicted_len),
	}, nil
}

// StoreMemories stores memories atomically (all or none), in order, and
// returns their ids.
func (db *DB) StoreMemories(ctx context.Context, ms []NewMemory) ([]uint64, error) {
	var p pins
	defer p.done()
	cms := make([]C.AgentDbNewMemory, len(ms))
	for i := range ms {
		if err := ms[i].toC(&p, &cms[i]); err != nil {
			return nil, err
		}
	}
	ids := make([]uint64, len(ms))
	var first *C.AgentDbNewMemory
	var firstID *C.uint64_t
	if len(ms) > 0 {
		first, firstID = &cms[0], (*C.uint64_t)(&ids[0])
	}
	err := db.call(ctx, func(h *C.AgentDb) C.AgentDbStatus {
		return C.agent_db_store_memories(h, first, C.size_t(len(cms)), firstID)
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// GetMemory is one memory by id (not counted as an access).
func (db *DB) GetMemory(ctx context.Context, id uint64) (*Memory, error) {
	var m *C.AgentDbMemory
	if err := db.call(ctx, func(h *C.AgentDb) C.AgentDbStatus { return C.agent_db_get_memory(h, C.uint64_t(id), &m) }); err != nil {
		return nil, err
	}
	defer C.agent_db_memory_free(m)
	out := goMemory(m)
	return &out, nil
}

// UpdateMemoryImportance sets a memory's importance (0..=1).
func (db *DB) UpdateMemoryImportance(ctx context.Context, id uint64, importance float32) error {
	return db.call(ctx, func(h *C.AgentDb) C.AgentDbStatus {
		return C.agent_db_update_memory_importance(h, C.uint64_t(id), C.float(importance))
	})
}

// DeleteMemory removes a memory.
func (db *DB) DeleteMemory(ctx context.Context, id uint64) error {
	return db.call(ctx, func(h *C.AgentDb) C.AgentDbStatus { return C.agent_db_delete_memory(h, C.uint64_t(id)) })
}

// PinMemory pins a memory: never forgotten, expired, evicted or merged away.
func (db *DB) PinMemory(ctx context.Context, id uint64) error {
	return db.call(ctx, func(h *C.AgentDb) C.AgentDbStatus { return C.agent_db_pin_memory(h, C.uint64_t(id)) })
}

// UnpinMemory unpins a memory (a TTL that ran out applies at once).
func (db *DB) UnpinMemory(ctx context.Context, id uint64) error {
	return db.call(ctx, func(h *C.AgentDb) C.AgentDbStatus { return C.agent_db_unpin_memory(h, C.uint64_t(id)) })
}

// Memories yields every live memory of the agent, oldest first.
func (db *DB) Memories(ctx context.Context, agentID uint64) iter.Seq2[Memory, error] {
	return func(yield func(Memory, error) bool) {
		var list *C.AgentDbMemoryList
		err := db.call(ctx, func(h *C.AgentDb) C.AgentDbStatus {
			return C.agent_db_list_memories(h, C.uint64_t(agentID), &list)
		})
		if err != nil {
			yield(Memory{}, err)
			return
		}
		src := items(list.items, list.len)
		out := make([]Memory, len(src))
		for i := range src {
			out[i] = goMemory(&src[i])
		}
		C.agent_db_memory_list_free(list)
		for _, m := range out {
			if !yield(m, nil) {
				return
			}
		}
	}
}

// RetrieveOptions are the retrieval knobs; start from
// DefaultRetrieveOptions. score = RelevanceWeight·relevance +
// ImportanceWeight·importance + RecencyWeight·recency.
type RetrieveOptions struct {
	RelevanceWeight  float32
	ImportanceWeight float32
	RecencyWeight    float32
	// RecencyHalfLife: recency halves every this long since last access.
	RecencyHalfLife time.Duration
	// CandidateFactor × limit candidates are fetched before re-ranking.
	CandidateFactor uint32
	// RecordAccess counts this retrieval as an access of each result.
	RecordAccess bool
	// Types to include; empty includes all.
	Types []MemoryType
	// CreatedAfter and CreatedBefore are inclusive bounds; zero: unbounded.
	CreatedAfter, CreatedBefore time.Time
	// Metadata: every entry must equal the memory's metadata value.
	Metadata map[string]string
}

// DefaultRetrieveOptions are the library's defaults (weights 1, 0.5, 0.5,
// half-life 7 days, 3× candidates, accesses recorded, no filter).
func DefaultRetrieveOptions() RetrieveOptions {
	var c C.AgentDbRetrieveOptions
	// Cannot fail: the only argument is this non-NULL pointer.
	_ = cCall(func() C.AgentDbStatus { return C.agent_db_retrieve_options_default(&c) })
	return RetrieveOptions{
		RelevanceWeight:  float32(c.relevance_weight),
		ImportanceWeight: float32(c.importance_weight),
		RecencyWeight:    float32(c.recency_weight),
		RecencyHalfLife:  time.Duration(c.recency_half_life_ms) * time.Millisecond,
		CandidateFactor:  uint32(c.candidate_factor),
		RecordAccess:     bool(c.record_access),
	}
}

func (o *RetrieveOptions) toC(p *pins) (*C.AgentDbRetrieveOptions, error) {
	if o == nil {
		return nil, nil
	}
	halfLife, err := millis(o.RecencyHalfLife, "RecencyHalfLife")
	if err != nil {
		return nil, err
	}
	var mask C.uint32_t
	for _, t := range o.Types {
		if t >= 32 {
			return nil, invalid("unknown memory type %d", t)
		}
		mask |= 1 << t
	}
	meta, err := p.metadata(o.Metadata, "metadata")
	if err != nil {
		return nil, err
	}
	return &C.AgentDbRetrieveOptions{
		relevance_weight:     C.float(o.RelevanceWeight),
		importance_weight:    C.float(o.ImportanceWeight),
		recency_weight:       C.float(o.RecencyWeight),
		recency_half_life_ms: halfLife,
		candidate_factor:     C.uint32_t(o.CandidateFactor),
		record_access:        C.bool(o.RecordAccess),
		memory_types_mask:    mask,
		created_after_ms:     timeMs(o.CreatedAfter, math.MinInt64),
		created_before_ms:    timeMs(o.CreatedBefore, math.MaxInt64),
		metadata_json:        meta,
	}, nil
}

// ScoredMemory is a retrieved memory with its score.
type ScoredMemory struct {
	Memory
	Score float32
	// Relevance is the cosine similarity to the query, clamped to 0..=1.
	Relevance float32
	// Recency is 0.5 ^ (time since last access / half-life).
	Recency float32
}

func goScored(list *C.AgentDbScoredMemoryList) []ScoredMemory {
	src := items(list.items, list.len)
	out := make([]ScoredMemory, len(src))
	for i := range src {
		out[i] = ScoredMemory{
			Memory:    goMemory(&src[i].memory),
			Score:     float32(src[i].score),
			Relevance: float32(src[i].relevance),
			Recency:   float32(src[i].recency),
		}
	}
	return out
}

// Retrieve is the agent's limit best memories for a text query (embedded
// with the model), best first. opts nil: DefaultRetrieveOptions.
func (db *DB) Retrieve(ctx context.Context, agentID uint64, query string, limit int, opts *RetrieveOptions) ([]ScoredMemory, error) {
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
	var list *C.AgentDbScoredMemoryList
	err = db.callCancellable(ctx, func(h *C.AgentDb, t *C.AgentDbCancelToken) C.AgentDbStatus {
		return C.agent_db_retrieve_memories_cancellable(h, C.uint64_t(agentID), cQuery, cLimit, cOpts, t, &list)
	})
	if err != nil {
		return nil, err
	}
	defer C.agent_db_scored_memory_list_free(list)
	return goScored(list), nil
}

// RetrieveSimilar is Retrieve for a query vector.
func (db *DB) RetrieveSimilar(ctx context.Context, agentID uint64, vector []float32, limit int, opts *RetrieveOptions) ([]ScoredMemory, error) {
	var p pins
	defer p.done()
	cLimit, err := u32(limit, "limit")
	if err != nil {
		return nil, err
	}
	cOpts, err := opts.toC(&p)
	if err != nil {
		return nil, err
	}
	vec := floatsPtr(vector)
	var list *C.AgentDbScoredMemoryList
	err = db.callCancellable(ctx, func(h *C.AgentDb, t *C.AgentDbCancelToken) C.AgentDbStatus {
		return C.agent_db_retrieve_memories_by_vector_cancellable(h, C.uint64_t(agentID), vec, C.size_t(len(vector)), cLimit, cOpts, t, &list)
	})
	if err != nil {
		return nil, err
	}
	defer C.agent_db_scored_memory_list_free(list)
	return goScored(list), nil
}

// ForgetPolicy says which memories Forget deletes: those created more than
// OlderThan ago whose importance, halved every DecayHalfLife since last
// access, is below MinImportance. Pinned memories stay.
type ForgetPolicy struct {
	OlderThan     time.Duration
	MinImportance float32
	DecayHalfLife time.Duration
}

// Forget deletes the agent's memories the policy selects and returns how many.
func (db *DB) Forget(ctx context.Context, agentID uint64, policy ForgetPolicy) (uint64, error) {
	older, err := millis(policy.OlderThan, "OlderThan")
	if err != nil {
		return 0, err
	}
	halfLife, err := millis(policy.DecayHalfLife, "DecayHalfLife")
	if err != nil {
		return 0, err
	}
	var n C.uint64_t
	err = db.call(ctx, func(h *C.AgentDb) C.AgentDbStatus {
		return C.agent_db_forget_memories(h, C.uint64_t(agentID), older, C.float(policy.MinImportance), halfLife, &n)
	})
	return uint64(n), err
}

// ConsolidationReport is what ConsolidateMemories merged.
type ConsolidationReport struct {
	AgentID uint64 `json:"agent_id"`
	// Examined is the agent's live memories before.
	Examined  int          `json:"examined"`
	Groups    []MergeGroup `json:"groups"`
	Remaining int          `json:"remaining"`
}

// MergeGroup is one set of memories collapsed into Kept.
type MergeGroup struct {
	Type     MemoryType `json:"memory_type"`
	Kept     uint64     `json:"kept"`
	Absorbed []uint64   `json:"absorbed"`
}

// ConsolidateMemories merges the agent's existing near-duplicate memories by
// the merge policy.
func (db *DB) ConsolidateMemories(ctx context.Context, agentID uint64) (*ConsolidationReport, error) {
	var out *C.char
	if err := db.call(ctx, func(h *C.AgentDb) C.AgentDbStatus {
		return C.agent_db_consolidate_memories(h, C.uint64_t(agentID), &out)
	}); err != nil {
		return nil, err
	}
	defer C.agent_db_string_free(out)
	var r ConsolidationReport
	if err := json.Unmarshal([]byte(C.GoString(out)), &r); err != nil {
		return nil, &Error{Code: CodeStorage, Message: "unreadable consolidation report: " + err.Error()}
	}
	return &r, nil
}
