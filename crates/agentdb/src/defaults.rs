//! One source of every default: the values a surface (CLI, C ABI, Zig,
//! Python) fills in when a caller leaves an argument out, and the values of
//! `Options::default()`. Surfaces read them from here — Rust callers through
//! the constants and `defaults()`, the others through `defaults()` serialised
//! as JSON (`agent_db_defaults_json`, `agentdb._native.defaults()`,
//! `agentdb defaults --json`) — and restate none, so two surfaces cannot
//! drift apart. tests/conformance/defaults.json checks them on every surface.
//!
//! Where the engine already has a default (`Options::default()`,
//! `RetrieveOptions::default()`, `ForgetPolicy::default()`,
//! `HistoryQuery::new`, `NewMemory::new`), `defaults()` reads it instead of
//! repeating it; this file names only the per-call defaults no engine type
//! carries. The destructuring below has no `..`: a new field in `Options`,
//! `RetrieveOptions` or `ForgetPolicy` fails to compile here until it is
//! reported.

use serde::Serialize;

use crate::memories::MAX_RETRIEVE_LIMIT;
use crate::{
    ForgetPolicy, FsyncPolicy, Fusion, HistoryQuery, MemoryType, Metric, NewMemory, Options, RetrieveOptions, StateType,
};

/// `store_memory` without a type. A memory stored without further thought is
/// most often a fact about the user or the world ("allergic to peanuts"),
/// which is what `semantic` means; the CLI, its JSONL import and the
/// conformance runners already used it (Python alone said `episodic`).
pub const MEMORY_TYPE: MemoryType = MemoryType::Semantic;

/// `save_state` without a type.
pub const STATE_TYPE: StateType = StateType::Context;

/// `save_state` / `create_snapshot` without a session (surfaces that make
/// the session optional: the CLI).
pub const SESSION_ID: u64 = 0;

/// `retrieve` / `retrieve_similar` without a limit. Ten is LanceDB's own
/// default query limit (and Chroma's and Qdrant's); the CLI said 5.
pub const RETRIEVE_LIMIT: usize = 10;

/// `semantic_search`, `full_text_search` and `hybrid_search` without a limit.
pub const SEARCH_LIMIT: usize = 10;

/// `search_knn` without `k`.
pub const KNN_K: usize = 10;

/// `search_range` without `max_results`. A range search asks for every
/// vector within the radius; a low cap would cut it silently (Python said
/// 100, the CLI at least 1000).
pub const RANGE_MAX_RESULTS: usize = 1000;

/// The semantic side's weight of a weighted hybrid search without one.
pub const HYBRID_ALPHA: f32 = 0.5;

/// `hybrid_search` without a fusion: weighted, `HYBRID_ALPHA`. The Python
/// API (its documented signature and tests) and the C/Zig enums' first
/// value; the CLI used reciprocal-rank fusion when no `--alpha` was given.
pub const FUSION: Fusion = Fusion::Weighted { alpha: HYBRID_ALPHA };

/// `create_collection` without a metric.
pub const METRIC: Metric = Metric::Cosine;

/// `search_items` without a limit (LangGraph's `BaseStore.search` default).
pub const ITEM_SEARCH_LIMIT: usize = 10;

/// `list_item_namespaces` without a limit (LangGraph's `list_namespaces` default).
pub const NAMESPACE_LIST_LIMIT: usize = 100;

const _: () = assert!(ITEM_SEARCH_LIMIT >= 1 && ITEM_SEARCH_LIMIT <= crate::limits::MAX_SEARCH_K);
const _: () = assert!(NAMESPACE_LIST_LIMIT >= 1 && NAMESPACE_LIST_LIMIT <= crate::limits::MAX_SEARCH_K);
const _: () = assert!(RETRIEVE_LIMIT >= 1 && RETRIEVE_LIMIT <= MAX_RETRIEVE_LIMIT);
const _: () = assert!(SEARCH_LIMIT >= 1 && SEARCH_LIMIT <= crate::limits::MAX_SEARCH_K);
const _: () = assert!(KNN_K >= 1 && KNN_K <= crate::limits::MAX_SEARCH_K);
const _: () = assert!(RANGE_MAX_RESULTS >= 1 && RANGE_MAX_RESULTS <= crate::limits::MAX_SEARCH_K);
const _: () = assert!(HYBRID_ALPHA >= 0.0 && HYBRID_ALPHA <= 1.0);

/// `query_history` without a limit: `HistoryQuery::new`'s.
pub fn history_limit() -> usize {
    HistoryQuery::new(0).limit
}

/// `store_memory` without an importance: `NewMemory::new`'s.
pub fn importance() -> f32 {
    NewMemory::new(0, MEMORY_TYPE, String::new()).importance
}

/// Every default, as surfaces and the conformance cases see them (SPEC.md
/// names; durations in ms; `None` is JSON `null`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Defaults {
    pub state_type: &'static str,
    pub session_id: u64,
    pub history_limit: usize,
    pub memory_type: &'static str,
    pub importance: f64,
    pub retrieve_limit: usize,
    pub retrieve: RetrieveDefaults,
    pub forget: ForgetDefaults,
    pub search_limit: usize,
    /// `"weighted"` or `"rrf"`.
    pub hybrid_fusion: &'static str,
    pub hybrid_alpha: f64,
    pub metric: &'static str,
    pub knn_k: usize,
    pub range_max_results: usize,
    pub item_search_limit: usize,
    pub namespace_list_limit: usize,
    pub options: OptionsDefaults,
}

/// `RetrieveOptions::default()`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RetrieveDefaults {
    pub relevance_weight: f64,
    pub importance_weight: f64,
    pub recency_weight: f64,
    pub recency_half_life_ms: u64,
    pub candidate_factor: usize,
    pub record_access: bool,
}

/// `ForgetPolicy::default()`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ForgetDefaults {
    pub older_than_ms: u64,
    pub min_importance: f64,
    pub decay_half_life_ms: u64,
}

/// `Options::default()`, named as the C ABI's `AgentDbOptions` and Python's
/// `connect()` name them (`model_dir` and `embedder` default to none: the
/// installed built-in model).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OptionsDefaults {
    pub read_only: bool,
    /// `"always"`, `"batch"` or `"never"`.
    pub fsync: &'static str,
    /// The batch interval (also when `fsync` is not `"batch"`: what `"batch"` alone means).
    pub fsync_batch_ms: u64,
    pub max_payload_bytes: usize,
    pub memtable_flush_bytes: usize,
    pub memtable_flush_records: usize,
    pub flush_interval_ms: u64,
    pub memtable_stall_bytes: usize,
    pub latest_cache_entries: usize,
    pub latest_cache_bytes: usize,
    /// `None`: no background maintenance.
    pub maintenance_interval_ms: Option<u64>,
    pub version_retention_ms: u64,
    pub state_keep_last: Option<u64>,
    pub state_keep_newer_than_ms: Option<u64>,
    pub wal_segment_bytes: u64,
    pub memory_dimension: usize,
    pub ann_index_threshold: usize,
    pub chunk_chars: usize,
    pub chunk_overlap: usize,
    pub memory_merge_threshold: f64,
    pub memory_merge_policy: &'static str,
    pub max_memories_per_agent_type: Option<usize>,
}

/// The shortest decimal that reads back as `x`: 0.88f32 is 0.88 in JSON,
/// Python and Zig, not 0.8799999952316284, and converts back to the same f32.
fn decimal(x: f32) -> f64 {
    x.to_string().parse().unwrap_or(f64::from(x))
}

fn ms(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Every default, read from the engine's own defaults where it has them.
pub fn defaults() -> Defaults {
    let Options {
        read_only,
        fsync,
        max_payload_bytes,
        memtable_flush_bytes,
        memtable_flush_records,
        flush_interval,
        memtable_stall_bytes,
        latest_cache_entries,
        latest_cache_bytes,
        maintenance_interval,
        version_retention,
        state_retention,
        wal_segment_bytes,
        memory_dimension,
        model_dir: _,
        embedder: _,
        ann_index_threshold,
        chunk_chars,
        chunk_overlap,
        memory_merge_threshold,
        memory_merge_policy,
        max_memories_per_agent_type,
    } = Options::default();
    let (fsync, fsync_batch_ms) = match fsync {
        FsyncPolicy::Always => ("always", crate::options::DEFAULT_FSYNC_BATCH_MS),
        FsyncPolicy::Batch(every) => ("batch", ms(every)),
        FsyncPolicy::Never => ("never", crate::options::DEFAULT_FSYNC_BATCH_MS),
    };
    let RetrieveOptions {
        filter: _,
        relevance_weight,
        importance_weight,
        recency_weight,
        recency_half_life,
        candidate_factor,
        record_access,
    } = RetrieveOptions::default();
    let ForgetPolicy { older_than, min_importance, decay_half_life } = ForgetPolicy::default();
    let (hybrid_fusion, hybrid_alpha) = match FUSION {
        Fusion::Weighted { alpha } => ("weighted", alpha),
        Fusion::ReciprocalRank => ("rrf", HYBRID_ALPHA),
    };
    Defaults {
        state_type: STATE_TYPE.as_str(),
        session_id: SESSION_ID,
        history_limit: history_limit(),
        memory_type: MEMORY_TYPE.as_str(),
        importance: decimal(importance()),
        retrieve_limit: RETRIEVE_LIMIT,
        retrieve: RetrieveDefaults {
            relevance_weight: decimal(relevance_weight),
            importance_weight: decimal(importance_weight),
            recency_weight: decimal(recency_weight),
            recency_half_life_ms: ms(recency_half_life),
            candidate_factor,
            record_access,
        },
        forget: ForgetDefaults {
            older_than_ms: ms(older_than),
            min_importance: decimal(min_importance),
            decay_half_life_ms: ms(decay_half_life),
        },
        search_limit: SEARCH_LIMIT,
        hybrid_fusion,
        hybrid_alpha: decimal(hybrid_alpha),
        metric: METRIC.as_str(),
        knn_k: KNN_K,
        range_max_results: RANGE_MAX_RESULTS,
        item_search_limit: ITEM_SEARCH_LIMIT,
        namespace_list_limit: NAMESPACE_LIST_LIMIT,
        options: OptionsDefaults {
            read_only,
            fsync,
            fsync_batch_ms,
            max_payload_bytes,
            memtable_flush_bytes,
            memtable_flush_records,
            flush_interval_ms: ms(flush_interval),
            memtable_stall_bytes,
            latest_cache_entries,
            latest_cache_bytes,
            maintenance_interval_ms: maintenance_interval.map(ms),
            version_retention_ms: ms(version_retention),
            state_keep_last: state_retention.keep_last,
            state_keep_newer_than_ms: state_retention.keep_newer_than.map(ms),
            wal_segment_bytes,
            memory_dimension,
            ann_index_threshold,
            chunk_chars,
            chunk_overlap,
            memory_merge_threshold: decimal(memory_merge_threshold),
            memory_merge_policy: memory_merge_policy.as_str(),
            max_memories_per_agent_type,
        },
    }
}

/// `defaults()` as one JSON object (what the C ABI and Python hand out).
pub fn defaults_json() -> String {
    serde_json::to_string(&defaults()).unwrap_or_else(|e| format!("{{\"error\":{:?}}}", e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_values_are_the_engines_own_defaults() {
        let d = defaults();
        let o = Options::default();
        assert_eq!(d.options.memory_dimension, o.memory_dimension);
        assert_eq!(d.options.chunk_chars, o.chunk_chars);
        assert_eq!(d.options.max_payload_bytes, crate::DEFAULT_MAX_PAYLOAD_BYTES);
        assert_eq!(d.options.memory_merge_threshold as f32, crate::DEFAULT_MEMORY_MERGE_THRESHOLD);
        assert_eq!(d.history_limit, HistoryQuery::new(7).limit);
        assert_eq!(d.memory_type.parse::<MemoryType>().ok(), Some(MEMORY_TYPE));
        assert_eq!(d.metric.parse::<Metric>().ok(), Some(METRIC));
        assert_eq!(d.state_type.parse::<StateType>().ok(), Some(STATE_TYPE));
        assert_eq!(d.options.memory_merge_policy.parse::<crate::MergePolicy>().ok(), Some(o.memory_merge_policy));
        assert_eq!(d.retrieve.candidate_factor, RetrieveOptions::default().candidate_factor);
    }

    #[test]
    fn floats_serialise_as_their_shortest_decimal() {
        let json: serde_json::Value = serde_json::from_str(&defaults_json()).expect("valid JSON");
        assert_eq!(json["options"]["memory_merge_threshold"], serde_json::json!(0.88));
        assert_eq!(json["retrieve"]["relevance_weight"], serde_json::json!(1.0));
        assert_eq!(json["options"]["state_keep_last"], serde_json::Value::Null);
        assert_eq!(decimal(0.1), 0.1);
        assert_eq!(decimal(0.1) as f32, 0.1f32);
    }
}
