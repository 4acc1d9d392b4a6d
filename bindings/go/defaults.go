package agentdb

/*
#include "agent_db.h"
*/
import "C"

import (
	"encoding/json"
	"sync"
)

// Defaults are the engine's defaults (agent_db_defaults_json): what an
// argument a caller leaves out becomes on every AgentDB surface. The Go API
// takes every argument explicitly; use these values where another surface
// would let you leave one out.
type Defaults struct {
	StateType          string           `json:"state_type"`
	SessionID          uint64           `json:"session_id"`
	HistoryLimit       int              `json:"history_limit"`
	MemoryType         string           `json:"memory_type"`
	Importance         float64          `json:"importance"`
	RetrieveLimit      int              `json:"retrieve_limit"`
	Retrieve           RetrieveDefaults `json:"retrieve"`
	Forget             ForgetDefaults   `json:"forget"`
	SearchLimit        int              `json:"search_limit"`
	HybridFusion       string           `json:"hybrid_fusion"`
	HybridAlpha        float64          `json:"hybrid_alpha"`
	Metric             string           `json:"metric"`
	KNNK               int              `json:"knn_k"`
	RangeMaxResults    int              `json:"range_max_results"`
	ItemSearchLimit    int              `json:"item_search_limit"`
	NamespaceListLimit int              `json:"namespace_list_limit"`
	Options            OptionsDefaults  `json:"options"`
}

// RetrieveDefaults are DefaultRetrieveOptions as the engine states them.
type RetrieveDefaults struct {
	RelevanceWeight   float64 `json:"relevance_weight"`
	ImportanceWeight  float64 `json:"importance_weight"`
	RecencyWeight     float64 `json:"recency_weight"`
	RecencyHalfLifeMs uint64  `json:"recency_half_life_ms"`
	CandidateFactor   int     `json:"candidate_factor"`
	RecordAccess      bool    `json:"record_access"`
}

// ForgetDefaults is the engine's default ForgetPolicy.
type ForgetDefaults struct {
	OlderThanMs     uint64  `json:"older_than_ms"`
	MinImportance   float64 `json:"min_importance"`
	DecayHalfLifeMs uint64  `json:"decay_half_life_ms"`
}

// OptionsDefaults are the engine's default open options (nil: none).
type OptionsDefaults struct {
	ReadOnly                bool    `json:"read_only"`
	Fsync                   string  `json:"fsync"`
	FsyncBatchMs            uint64  `json:"fsync_batch_ms"`
	MaxPayloadBytes         uint64  `json:"max_payload_bytes"`
	MemtableFlushBytes      uint64  `json:"memtable_flush_bytes"`
	MemtableFlushRecords    uint64  `json:"memtable_flush_records"`
	FlushIntervalMs         uint64  `json:"flush_interval_ms"`
	MemtableStallBytes      uint64  `json:"memtable_stall_bytes"`
	LatestCacheEntries      uint64  `json:"latest_cache_entries"`
	LatestCacheBytes        uint64  `json:"latest_cache_bytes"`
	MaintenanceIntervalMs   *uint64 `json:"maintenance_interval_ms"`
	VersionRetentionMs      uint64  `json:"version_retention_ms"`
	StateKeepLast           *uint64 `json:"state_keep_last"`
	StateKeepNewerThanMs    *uint64 `json:"state_keep_newer_than_ms"`
	WALSegmentBytes         uint64  `json:"wal_segment_bytes"`
	MemoryDimension         uint64  `json:"memory_dimension"`
	ANNIndexThreshold       uint64  `json:"ann_index_threshold"`
	ChunkChars              uint64  `json:"chunk_chars"`
	ChunkOverlap            uint64  `json:"chunk_overlap"`
	MemoryMergeThreshold    float64 `json:"memory_merge_threshold"`
	MemoryMergePolicy       string  `json:"memory_merge_policy"`
	MaxMemoriesPerAgentType *uint64 `json:"max_memories_per_agent_type"`
}

var defaultsOnce = sync.OnceValues(func() (Defaults, error) {
	var out *C.char
	if err := cCall(func() C.AgentDbStatus { return C.agent_db_defaults_json(&out) }); err != nil {
		return Defaults{}, err
	}
	defer C.agent_db_string_free(out)
	var d Defaults
	if err := json.Unmarshal([]byte(C.GoString(out)), &d); err != nil {
		return Defaults{}, &Error{Code: CodeStorage, Message: "unreadable defaults: " + err.Error()}
	}
	return d, nil
})

// EngineDefaults reads the engine's defaults (once).
func EngineDefaults() (Defaults, error) {
	return defaultsOnce()
}
