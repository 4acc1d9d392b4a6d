//! Public data types of the memory subsystem.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The kinds of memory from the design (and cognitive science).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemoryType {
    /// Events the agent lived through.
    Episodic,
    /// Facts about the world or the user.
    Semantic,
    /// How to do things.
    Procedural,
    /// Short-lived scratch context.
    Working,
}

impl MemoryType {
    pub const ALL: [MemoryType; 4] =
        [MemoryType::Episodic, MemoryType::Semantic, MemoryType::Procedural, MemoryType::Working];

    pub fn as_str(self) -> &'static str {
        match self {
            MemoryType::Episodic => "episodic",
            MemoryType::Semantic => "semantic",
            MemoryType::Procedural => "procedural",
            MemoryType::Working => "working",
        }
    }
}

impl fmt::Display for MemoryType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for MemoryType {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        MemoryType::ALL.into_iter().find(|t| t.as_str() == s).ok_or_else(|| {
            Error::invalid(format!("unknown memory type {s:?} (expected episodic, semantic, procedural or working)"))
        })
    }
}

/// A stored memory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Memory {
    /// Assigned by the engine; never reused.
    pub memory_id: u64,
    pub agent_id: u64,
    pub memory_type: MemoryType,
    pub content: String,
    pub embedding: Vec<f32>,
    /// 0.0 ..= 1.0
    pub importance: f32,
    pub access_count: u64,
    /// ms since the Unix epoch; equals `created_at_ms` until first retrieved.
    pub last_access_ms: i64,
    pub created_at_ms: i64,
    /// After this instant the memory is never returned, then purged
    /// (unless pinned).
    pub expires_at_ms: Option<i64>,
    pub metadata: BTreeMap<String, String>,
    /// Pinned memories are never forgotten, expired, evicted by limits or
    /// merged away (see `AgentDb::pin_memory`).
    #[serde(default)]
    pub pinned: bool,
}

/// Metadata key under which a merged memory lists the ids it absorbed
/// (comma-separated, oldest merge first).
pub const ABSORBED_IDS_KEY: &str = "absorbed_ids";

impl Memory {
    /// A pinned memory never expires; its TTL applies again once unpinned.
    pub fn is_expired(&self, now_ms: i64) -> bool {
        !self.pinned && self.expires_at_ms.is_some_and(|t| t <= now_ms)
    }

    /// The ids this memory absorbed by merging (metadata `absorbed_ids`).
    pub fn absorbed_ids(&self) -> Vec<u64> {
        parse_id_list(self.metadata.get(ABSORBED_IDS_KEY).map_or("", |s| s.as_str()))
    }

    pub(crate) fn footprint(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.content.len()
            + self.embedding.len() * 4
            + self.metadata.iter().map(|(k, v)| k.len() + v.len() + 48).sum::<usize>()
    }
}

/// What to store. Without `embedding`, the content is embedded by the
/// database's embedder (the built-in model unless another is configured).
#[derive(Debug, Clone, PartialEq)]
pub struct NewMemory {
    pub agent_id: u64,
    pub memory_type: MemoryType,
    pub content: String,
    pub embedding: Option<Vec<f32>>,
    pub importance: f32,
    /// Time to live from now.
    pub ttl: Option<Duration>,
    pub metadata: BTreeMap<String, String>,
}

impl NewMemory {
    pub fn new(agent_id: u64, memory_type: MemoryType, content: impl Into<String>) -> Self {
        NewMemory {
            agent_id,
            memory_type,
            content: content.into(),
            embedding: None,
            importance: 0.5,
            ttl: None,
            metadata: BTreeMap::new(),
        }
    }
    pub fn importance(mut self, importance: f32) -> Self {
        self.importance = importance;
        self
    }
    pub fn embedding(mut self, embedding: Vec<f32>) -> Self {
        self.embedding = Some(embedding);
        self
    }
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }
}

/// Typed filters for retrieval. Never a string pasted into SQL.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MemoryFilter {
    /// Only these types (empty: all).
    pub memory_types: Vec<MemoryType>,
    /// Inclusive bounds on `created_at_ms`.
    pub created_after_ms: Option<i64>,
    pub created_before_ms: Option<i64>,
    /// Every entry must equal the memory's metadata value.
    pub metadata: BTreeMap<String, String>,
}

impl MemoryFilter {
    pub fn types(mut self, types: &[MemoryType]) -> Self {
        self.memory_types = types.to_vec();
        self
    }
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }

    pub(crate) fn matches(&self, m: &Memory) -> bool {
        (self.memory_types.is_empty() || self.memory_types.contains(&m.memory_type))
            && self.created_after_ms.is_none_or(|t| m.created_at_ms >= t)
            && self.created_before_ms.is_none_or(|t| m.created_at_ms <= t)
            && self.metadata.iter().all(|(k, v)| m.metadata.get(k) == Some(v))
    }
}

/// Weights of the retrieval score (see `memories::scoring`).
#[derive(Debug, Clone, PartialEq)]
pub struct RetrieveOptions {
    pub filter: MemoryFilter,
    pub relevance_weight: f32,
    pub importance_weight: f32,
    pub recency_weight: f32,
    /// Recency halves every this long since the memory was last accessed.
    pub recency_half_life: Duration,
    /// Candidates fetched by similarity before re-ranking, as a multiple of `limit`.
    pub candidate_factor: usize,
    /// Count this retrieval as an access (access_count, last_access).
    pub record_access: bool,
}

impl Default for RetrieveOptions {
    fn default() -> Self {
        RetrieveOptions {
            filter: MemoryFilter::default(),
            relevance_weight: 1.0,
            importance_weight: 0.5,
            recency_weight: 0.5,
            recency_half_life: Duration::from_secs(7 * 24 * 3600),
            candidate_factor: 3,
            record_access: true,
        }
    }
}

/// A retrieved memory with the parts of its score.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoredMemory {
    pub memory: Memory,
    pub score: f32,
    /// Cosine similarity to the query, clamped to 0..=1.
    pub relevance: f32,
    /// 0.5 ^ (time since last access / half-life).
    pub recency: f32,
}

/// `forget`: a memory goes when it is older than `older_than` AND its
/// importance, decayed by age, has fallen below `min_importance`.
#[derive(Debug, Clone, PartialEq)]
pub struct ForgetPolicy {
    pub older_than: Duration,
    pub min_importance: f32,
    /// Importance halves every this long since last access.
    pub decay_half_life: Duration,
}

impl Default for ForgetPolicy {
    fn default() -> Self {
        ForgetPolicy {
            older_than: Duration::from_secs(30 * 24 * 3600),
            min_importance: 0.1,
            decay_half_life: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

/// What happens to a near-duplicate (cosine ≥ `Options::memory_merge_threshold`,
/// same agent and type) of a memory being stored or consolidated.
///
/// Whatever the policy, the survivor takes the highest importance, the sum
/// of the access counts (+1 for the restatement), the latest access, the
/// latest expiry (none beats any), the metadata keys it lacked, and lists
/// every absorbed id under `absorbed_ids`. A pinned memory is never
/// absorbed: it absorbs its unpinned near-duplicates instead.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MergePolicy {
    /// The most recent memory (for a store: the new one) survives. The
    /// default: a restated fact is usually restated because it is current,
    /// and the near-duplicates MiniLM cannot tell apart from paraphrases
    /// are mostly updates of one slot (a day, a time), where the newest
    /// value is the right one to keep.
    #[default]
    KeepNewest,
    /// The most important memory survives (ties: the newest).
    KeepMostImportant,
    /// Near-duplicates are all kept (exact duplicates are still not stored twice).
    KeepBoth,
}

impl MergePolicy {
    pub const ALL: [MergePolicy; 3] = [MergePolicy::KeepNewest, MergePolicy::KeepMostImportant, MergePolicy::KeepBoth];

    pub fn as_str(self) -> &'static str {
        match self {
            MergePolicy::KeepNewest => "keep_newest",
            MergePolicy::KeepMostImportant => "keep_most_important",
            MergePolicy::KeepBoth => "keep_both",
        }
    }
}

impl fmt::Display for MergePolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for MergePolicy {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        MergePolicy::ALL.into_iter().find(|p| p.as_str() == s).ok_or_else(|| {
            Error::invalid(format!(
                "unknown merge policy {s:?} (expected keep_newest, keep_most_important or keep_both)"
            ))
        })
    }
}

/// What `store_memory_outcome` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StoreKind {
    /// A new memory.
    Stored,
    /// Same agent, type and normalised content as `memory_id`, which was
    /// refreshed instead (access +1, importance raised to the new one's).
    Duplicate,
    /// Merged with near-duplicates; `absorbed` are the ids that no longer
    /// exist (when an existing memory survived, this includes the id the new
    /// memory would have had).
    Merged { absorbed: Vec<u64> },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoreOutcome {
    /// The memory that now holds the content: new, or the one it merged into.
    pub memory_id: u64,
    pub kind: StoreKind,
    /// Memories deleted to respect `Options::max_memories_per_agent_type`.
    pub evicted: Vec<u64>,
}

/// One merge made by `consolidate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MergeGroup {
    pub memory_type: MemoryType,
    pub kept: u64,
    pub absorbed: Vec<u64>,
}

/// What `consolidate` merged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ConsolidationReport {
    pub agent_id: u64,
    /// Live memories of the agent before.
    pub examined: usize,
    pub groups: Vec<MergeGroup>,
    /// Live memories of the agent after.
    pub remaining: usize,
}

pub(crate) fn parse_id_list(s: &str) -> Vec<u64> {
    s.split(',').filter_map(|p| p.trim().parse().ok()).collect()
}

pub use crate::limits::MAX_CONTENT_BYTES;
pub use crate::limits::MAX_RETRIEVE_LIMIT;

pub(crate) fn validate_importance(importance: f32) -> Result<()> {
    if !(0.0..=1.0).contains(&importance) {
        return Err(Error::invalid(format!("importance must be within 0..=1, got {importance}")));
    }
    Ok(())
}

pub(crate) fn validate_limit(limit: usize) -> Result<()> {
    if limit == 0 || limit > MAX_RETRIEVE_LIMIT {
        return Err(Error::invalid(format!("limit must be in 1..={MAX_RETRIEVE_LIMIT}, got {limit}")));
    }
    Ok(())
}

/// Vectors must have the right length and only finite components.
pub(crate) fn validate_vector(v: &[f32], dimension: usize) -> Result<()> {
    if v.len() != dimension {
        return Err(Error::DimensionMismatch { expected: dimension, got: v.len() });
    }
    if let Some(i) = v.iter().position(|x| !x.is_finite()) {
        return Err(Error::invalid(format!("vector component {i} is {} (must be finite)", v[i])));
    }
    Ok(())
}
