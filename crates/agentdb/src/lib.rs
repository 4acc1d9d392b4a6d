//! AgentDB: an embedded state database for AI agents, on LanceDB.
//!
//! ```no_run
//! use agentdb::{AgentDb, Options, StateType};
//! let db = AgentDb::open("./agent-data", Options::default())?;
//! let v = db.save_state(7, 1, StateType::Context, b"{\"step\":1}")?;
//! assert_eq!(db.load_state(7, Some(1))?.version, v);
//! # Ok::<(), agentdb::Error>(())
//! ```
//!
//! Writes go to a write-ahead log and an in-memory memtable (visible to reads
//! at once), and reach Lance in large batches from a background flusher.
//! See docs/ARCHITECTURE.md.

#![deny(unsafe_code)]
#![deny(clippy::unwrap_used)]

mod cancel;
pub mod defaults;
pub mod embed;
mod engine;
mod error;
pub mod export;
mod fork_guard;
pub mod items;
pub mod limits;
pub mod memories;
mod options;
pub mod rag;
pub mod states;
pub mod storage;
pub mod vectors;

use std::path::Path;
use std::sync::Arc;

use serde::Serialize;

pub use bytes::Bytes;
pub use cancel::{CancelToken, Cancellable};
pub use engine::{FlushReport, MaintenanceReport, TableMaintenance};
pub use error::{Error, Result};
pub use items::{Item, ItemPage, ItemPut, ItemQuery, ItemWrite, ItemWriteReport, NamespaceQuery};
pub use memories::{
    ConsolidationReport, ForgetPolicy, Memory, MemoryFilter, MemoryType, MergeGroup, MergePolicy, NewMemory,
    RetrieveOptions, ScoredMemory, StoreKind, StoreOutcome,
};
pub use options::{EmbedderHandle, FsyncPolicy, Options, DEFAULT_MAX_PAYLOAD_BYTES, DEFAULT_MEMORY_MERGE_THRESHOLD};
pub use rag::{ChunkHit, DocFilter, DocumentInfo, Fusion, NewDocument};
pub use states::{
    AgentState, GcReport, HistoryQuery, Snapshot, StateRetention, StateType, MAX_HISTORY_LIMIT, MAX_STATE_KEY_BYTES,
};
pub use vectors::{CollectionInfo, Metric, SearchOptions, VectorHit, VectorRecord};

/// The version of every AgentDB package (one, the workspace's): crates, Python, C library.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

use engine::Engine;

/// An open database. `Send + Sync`: share it between threads with an `Arc`.
/// Dropping it closes it (flushes and releases the writer lock).
pub struct AgentDb {
    engine: Arc<Engine>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TableStats {
    pub name: String,
    pub rows: usize,
    pub fragments: usize,
    pub versions: usize,
    pub disk_bytes: u64,
    pub indices: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    pub path: String,
    pub read_only: bool,
    pub last_lsn: u64,
    pub flushed_lsn: u64,
    pub memtable_records: usize,
    pub memtable_bytes: usize,
    pub wal_segments: usize,
    pub latest_cache_entries: usize,
    pub latest_cache_bytes: usize,
    pub flushes: u64,
    pub open_ms: f64,
    pub tables: Vec<TableStats>,
    pub last_flush_error: Option<String>,
    pub last_maintenance: Option<MaintenanceReport>,
}

impl AgentDb {
    /// Opens the database at `path`, creating it on first use.
    pub fn open(path: impl AsRef<Path>, options: Options) -> Result<AgentDb> {
        Ok(AgentDb { engine: Engine::open(path.as_ref(), options)? })
    }

    /// Writes the memtable to Lance now (normally done in the background).
    pub fn flush(&self) -> Result<FlushReport> {
        self.engine.flush()
    }

    /// Flush, compact, refresh indexes and prune old Lance versions now
    /// (normally done in the background every `Options::maintenance_interval`).
    pub fn compact(&self) -> Result<MaintenanceReport> {
        self.engine.maintain()
    }

    /// Garbage collection on demand: deletes the state versions the
    /// configured `Options::state_retention` does not keep, then runs
    /// maintenance (compaction, index upkeep, pruning of old Lance versions).
    pub fn gc(&self) -> Result<GcReport> {
        let e = &self.engine;
        self.gc_with(&e.opts().state_retention.clone())
    }

    /// `gc` with a one-off retention instead of the configured one.
    pub fn gc_with(&self, retention: &StateRetention) -> Result<GcReport> {
        retention.validate()?;
        let maintenance = self.engine.maintain_with(retention)?;
        let state_versions_removed =
            maintenance.tables.iter().filter(|t| t.table == states::table::STATES_TABLE).map(|t| t.rows_purged).sum();
        Ok(GcReport { state_versions_removed, maintenance })
    }

    /// This database's long read-only calls (retrievals and searches),
    /// stopped by `token`: each returns `Error::Cancelled`, having changed
    /// nothing, once the token is cancelled (checked before the call and
    /// between its stages, and raced against every LanceDB query it runs).
    /// `None` is the same as calling `AgentDb` itself. See `CancelToken`.
    pub fn with_cancel<'a>(&'a self, token: impl Into<Option<&'a CancelToken>>) -> Cancellable<'a> {
        Cancellable::new(self, token.into())
    }

    /// Flushes, syncs and releases the writer lock. Later calls return `Error::Closed`.
    pub fn close(&self) -> Result<()> {
        self.engine.close()
    }

    /// Embeds texts with the database's embedder (the built-in model unless
    /// `Options::embedder` is set): one vector of `memory_dimension` per text.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        self.engine.check_open()?;
        if let Some(i) = texts.iter().position(|t| t.trim().is_empty()) {
            return Err(Error::InvalidArgument(format!("text {i} is empty")));
        }
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        self.engine.embedder()?.embed(texts)
    }

    /// Dimension of memory embeddings and document chunks.
    pub fn memory_dimension(&self) -> usize {
        self.engine.opts().memory_dimension
    }

    pub fn path(&self) -> &Path {
        self.engine.path()
    }

    pub fn stats(&self) -> Result<Stats> {
        let e = &self.engine;
        e.check_open()?;
        let tables = e.block_on(async {
            let mut out = Vec::new();
            for (name, t) in e.tables() {
                let s = t.stats().await?;
                out.push(TableStats {
                    name: name.clone(),
                    rows: s.num_rows,
                    fragments: s.fragment_stats.num_fragments,
                    // Counted from the directory: list_versions reads every manifest and
                    // fails if background pruning removes one mid-listing.
                    versions: manifest_count(&e.path().join("lance").join(format!("{name}.lance"))),
                    disk_bytes: dir_bytes(&e.path().join("lance").join(format!("{name}.lance"))),
                    indices: s.num_indices,
                });
            }
            Ok::<_, Error>(out)
        })?;
        let (cache_entries, cache_bytes) = {
            let c = e.states.latest.lock();
            (c.len(), c.bytes())
        };
        let m = e.memtable();
        Ok(Stats {
            path: e.path().display().to_string(),
            read_only: e.opts().read_only,
            last_lsn: e.last_lsn(),
            flushed_lsn: e.flushed_lsn(),
            memtable_records: m.records,
            memtable_bytes: m.bytes,
            wal_segments: e.wal_segments(),
            latest_cache_entries: cache_entries,
            latest_cache_bytes: cache_bytes,
            flushes: e.flush_count(),
            open_ms: e.open_duration().as_secs_f64() * 1e3,
            tables,
            last_flush_error: e.last_flush_error(),
            last_maintenance: e.last_maintenance(),
        })
    }
}

fn manifest_count(table_dir: &Path) -> usize {
    std::fs::read_dir(table_dir.join("_versions")).map_or(0, |d| {
        d.filter_map(|e| e.ok()).filter(|e| e.path().extension().is_some_and(|x| x == "manifest")).count()
    })
}

fn dir_bytes(p: &Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(p) else { return 0 };
    rd.filter_map(|e| e.ok())
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

impl Drop for AgentDb {
    fn drop(&mut self) {
        if self.engine.forked() {
            // A forked child's copy: the parent owns its threads and files. Leaking
            // the engine keeps its runtime from waiting on workers that are not here.
            std::mem::forget(self.engine.clone());
            return;
        }
        if let Err(e) = self.engine.close() {
            tracing::error!(error = %e, "closing AgentDB failed; the WAL still holds every acknowledged write");
        }
    }
}

#[cfg(test)]
mod tests {
    fn assert_send_sync<T: Send + Sync>() {}
    #[test]
    fn agentdb_is_send_and_sync() {
        assert_send_sync::<super::AgentDb>();
    }
}
