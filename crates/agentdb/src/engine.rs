//! The engine core: open/recovery, the write path (WAL → memtable → batched
//! flush to Lance → checkpoint → WAL retirement), background threads and
//! maintenance. Subsystems (states, later memories, RAG, vectors) call
//! `commit` to write and read the memtable before Lance.
//!
//! On-disk layout of a database directory:
//! ```text
//! LOCK          held exclusively by the one writer process
//! CHECKPOINT    flushed LSN + Lance table versions (see storage::checkpoint)
//! wal/          WAL segments (see storage::wal)
//! lance/        LanceDB database: one table per record kind
//! ```

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

mod background;
mod commit;
mod flush;
mod maintenance;
mod open;
pub(crate) mod subsystem;

use flush::{sync_tree_since, LANCE_SYNC_SLACK};
use maintenance::read_last_maintenance;

use lancedb::database::CreateTableMode;
use lancedb::index::Index;
use lancedb::table::OptimizeAction;
use lancedb::Table;
use parking_lot::{Condvar, Mutex, RwLock};
use serde::{Deserialize, Serialize};

use crate::memories::memtable::MemoriesMem;
use crate::memories::table::MEMORIES_TABLE;
use crate::options::{FsyncPolicy, Options};
use crate::rag::memtable::RagMem;
use crate::states::memtable::StatesMem;
use crate::states::table::{SNAPSHOTS_TABLE, STATES_TABLE};
use crate::storage::checkpoint::{self, Checkpoint};
use crate::storage::log::DurableLog;
use crate::storage::memtable::{FlushSet, LogRecord, MemPart, Memtable, MemtableBuilder};
use crate::storage::tables::{self, filter};
use crate::storage::wal::Wal;
use crate::vectors::memtable::VectorsMem;
use crate::{Error, Result};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FlushReport {
    pub flushed_lsn: u64,
    pub states: usize,
    pub snapshots: usize,
    pub deletes: usize,
    pub wal_segments_retired: usize,
    pub duration_ms: f64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TableMaintenance {
    pub table: String,
    pub fragments_removed: usize,
    pub fragments_added: usize,
    pub old_versions_pruned: u64,
    pub bytes_removed: u64,
    pub index_created: bool,
    /// Rows removed: old state versions per the retention (states), expired or superseded rows (memories).
    pub rows_purged: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MaintenanceReport {
    pub flush: FlushReport,
    pub tables: Vec<TableMaintenance>,
    pub duration_ms: f64,
    /// Milliseconds since the Unix epoch when this run finished.
    pub finished_at_ms: i64,
}

#[derive(Default)]
struct Signal {
    shutdown: bool,
    wake: bool,
}

/// The engine: the storage core (durable log, memtable, checkpoint, Lance
/// connection, runtime, background threads) and each subsystem's own state.
/// Core fields are private; subsystems use the narrow handle of methods
/// below (`commit`, `begin_read`, `block_on`, `opts`, `embedder`, …) and
/// their own state (`states`, `memories`, `rag`, `vectors`, `items`).
pub(crate) struct Engine {
    path: PathBuf,
    opts: Options,
    rt: tokio::runtime::Runtime,
    conn: lancedb::Connection,
    /// The durable log; `None` for a read-only open.
    wal: Option<Box<dyn DurableLog>>,
    mem: RwLock<Memtable>,
    /// Between readers and the flush's drain: see `storage::read`.
    drain_gate: crate::storage::read::DrainGate,
    /// The embedder for text-only calls, loaded on first use (not at open).
    embedder: std::sync::OnceLock<std::result::Result<Arc<dyn crate::embed::Embedder>, String>>,
    /// Notified after each flush, for writers stalled by backpressure.
    flushed_cv: Condvar,
    flushed_mx: Mutex<()>,
    checkpoint: Mutex<Checkpoint>,
    /// Serialises every Lance writer (flush, maintenance): our checkpoint
    /// logic assumes commits happen one at a time.
    lance_write: Mutex<()>,
    closed: AtomicBool,
    /// `fork_guard` generation this handle was opened in.
    fork_generation: u64,
    lock_file: Mutex<Option<File>>,
    signal: Mutex<Signal>,
    signal_cv: Condvar,
    threads: Mutex<Vec<JoinHandle<()>>>,
    flush_count: AtomicU64,
    last_flush_error: Mutex<Option<String>>,
    last_maintenance: Mutex<Option<MaintenanceReport>>,
    open_duration: Mutex<Duration>,
    // Each subsystem's own state.
    pub states: crate::states::StatesState,
    pub memories: crate::memories::MemoriesState,
    pub rag: crate::rag::RagState,
    pub vectors: crate::vectors::VectorsState,
    pub items: crate::items::ItemsState,
}

/// The memtable with every subsystem's part.
pub(crate) fn new_memtable() -> Memtable {
    MemtableBuilder::default()
        .part::<StatesMem>()
        .part::<MemoriesMem>()
        .part::<RagMem>()
        .part::<VectorsMem>()
        .part::<crate::items::memtable::ItemsMem>()
        .build()
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

impl Engine {
    pub fn opts(&self) -> &Options {
        &self.opts
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The memtable alone, for lookups that need no Lance rows (the memory
    /// dedup index). Reads that combine both use `begin_read`.
    pub fn memtable(&self) -> parking_lot::RwLockReadGuard<'_, Memtable> {
        self.mem.read()
    }

    /// Writes to state the memtable keeps beside the log's records (the
    /// memory dedup index), which no log record carries.
    pub fn memtable_mut(&self) -> parking_lot::RwLockWriteGuard<'_, Memtable> {
        self.mem.write()
    }

    pub fn flush_count(&self) -> u64 {
        self.flush_count.load(Ordering::Relaxed)
    }

    pub fn open_duration(&self) -> Duration {
        *self.open_duration.lock()
    }

    pub fn last_flush_error(&self) -> Option<String> {
        self.last_flush_error.lock().clone()
    }

    pub fn last_maintenance(&self) -> Option<MaintenanceReport> {
        self.last_maintenance.lock().clone()
    }

    /// Opens a read of memtable and Lance together (the protocol is in `storage::read`).
    pub fn begin_read(&self) -> crate::storage::read::ReadScope<'_> {
        self.drain_gate.begin_read(&self.mem)
    }

    pub fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        if self.forked() {
            return Err(Error::invalid(
                "this handle was opened before fork() and cannot be used in the child; open the database again here",
            ));
        }
        Ok(())
    }

    /// Whether this is a forked child's copy of the handle.
    pub fn forked(&self) -> bool {
        crate::fork_guard::forked_since(self.fork_generation)
    }

    pub fn wal_is_writable(&self) -> bool {
        self.wal.is_some()
    }

    pub fn check_writable(&self) -> Result<&dyn DurableLog> {
        self.check_open()?;
        self.wal.as_deref().ok_or(Error::ReadOnly)
    }

    /// Runs async storage work from sync code, also when the caller is itself
    /// inside a tokio runtime (where a nested `block_on` would panic).
    pub fn block_on<F>(&self, fut: F) -> F::Output
    where
        F: Future + Send,
        F::Output: Send,
    {
        if tokio::runtime::Handle::try_current().is_ok() {
            std::thread::scope(|s| s.spawn(|| self.rt.block_on(fut)).join().expect("storage task panicked"))
        } else {
            self.rt.block_on(fut)
        }
    }

    /// `block_on` raced against a call's cancel token: `Error::Cancelled`
    /// at once if it is cancelled already or as soon as it fires (the future
    /// is dropped where it stands). Only futures that write nothing are
    /// given a token, so dropping one midway leaves nothing half done.
    pub fn block_on_until<T, F>(&self, cancel: crate::cancel::Cancel<'_>, fut: F) -> Result<T>
    where
        F: Future<Output = Result<T>> + Send,
        T: Send,
    {
        let Some(token) = cancel else { return self.block_on(fut) };
        token.check()?;
        self.block_on(async move {
            tokio::select! {
                biased;
                () = token.cancelled() => Err(Error::Cancelled),
                r = fut => r,
            }
        })
    }

    pub fn flushed_lsn(&self) -> u64 {
        self.checkpoint.lock().flushed_lsn
    }

    pub fn last_lsn(&self) -> u64 {
        self.wal.as_ref().map(|w| w.last_lsn()).unwrap_or_else(|| self.mem.read().last_applied_lsn)
    }

    pub fn wal_segments(&self) -> usize {
        self.wal.as_ref().map(|w| w.segment_count()).unwrap_or(0)
    }

    /// Every Lance table: each subsystem's fixed ones, then the vector collections.
    pub fn tables(&self) -> Vec<(String, Table)> {
        let mut out = self.states.tables();
        out.extend(self.memories.tables());
        out.extend(self.rag.tables());
        out.extend(self.vectors.tables());
        out.extend(self.items.tables());
        out
    }

    /// The embedder for text-only calls: `Options::embedder`, else the
    /// built-in model, loaded on first use (not at open).
    pub(crate) fn embedder(&self) -> Result<Arc<dyn crate::embed::Embedder>> {
        use crate::embed::{Embedder, MiniLm, HOW_TO_ENABLE_MODEL};
        let loaded = self.embedder.get_or_init(|| {
            if let Some(e) = &self.opts.embedder {
                return Ok(e.0.clone());
            }
            let dir = self
                .opts
                .model_dir
                .clone()
                .or_else(MiniLm::locate)
                .ok_or_else(|| format!("no embedding model found; {HOW_TO_ENABLE_MODEL}"))?;
            let model = MiniLm::load(&dir).map_err(|e| e.to_string())?;
            if model.dimension() != self.opts.memory_dimension {
                return Err(format!(
                    "the built-in model makes {}-dimension vectors but Options::memory_dimension is {}",
                    model.dimension(),
                    self.opts.memory_dimension
                ));
            }
            Ok(Arc::new(model) as Arc<dyn Embedder>)
        });
        loaded.clone().map_err(Error::ModelUnavailable)
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        if let Err(e) = self.close() {
            tracing::error!(error = %e, "closing AgentDB failed; the WAL still holds every acknowledged write");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memories::records::MemoryRecord;
    use crate::storage::wal::SegmentFormat;

    // Records of the first releases (captured from them): a log left by a
    // crash of those versions must still replay.
    const OLD_STORE_MEMORY: [u8; 49] = [
        3, 0, 7, 0, 6, 104, 195, 169, 108, 108, 111, 2, 0, 0, 0, 63, 0, 0, 128, 191, 0, 0, 128, 62, 3, 246, 161, 171,
        254, 249, 98, 128, 160, 171, 254, 249, 98, 1, 128, 192, 226, 133, 227, 104, 1, 1, 107, 1, 118,
    ];
    const OLD_PATCH_MEMORIES: [u8; 18] = [4, 2, 5, 172, 2, 1, 0, 0, 64, 63, 2, 1, 206, 175, 171, 254, 249, 98];
    const OLD_DELETE_MEMORIES: [u8; 3] = [5, 1, 9];

    #[test]
    fn records_of_the_first_releases_still_replay() {
        let mut m = new_memtable();
        m.replay(10, &OLD_STORE_MEMORY, SegmentFormat::Legacy).unwrap();
        m.replay(11, &OLD_PATCH_MEMORIES, SegmentFormat::Legacy).unwrap();
        let stored = m.part::<MemoriesMem>().memory(10).unwrap().unwrap();
        assert_eq!(
            (stored.value.agent_id, stored.value.content.as_str(), stored.value.embedding.as_slice()),
            (7, "héllo", &[0.5, -1.0][..])
        );
        assert_eq!(stored.value.expires_at_ms, Some(1_800_000_000_000));
        assert_eq!(stored.value.metadata["k"], "v");
        assert!(!stored.value.pinned);
        // The legacy patch names memories 5 and 300 (flushed ones): kept as deltas.
        assert_eq!(m.part::<MemoriesMem>().patches_of(5).len(), 1);
        assert_eq!(m.part::<MemoriesMem>().patches_of(300)[0].1.access_increment, 2);
        m.replay(12, &OLD_DELETE_MEMORIES, SegmentFormat::Legacy).unwrap();
        assert!(m.part::<MemoriesMem>().tombstones.contains_key(&9));
        // An unknown variant or kind is corruption, not a skipped record.
        assert!(matches!(m.replay(13, &[99], SegmentFormat::Legacy), Err(Error::Corrupted(_))));
        assert!(matches!(m.replay(13, &[0x7F, 1], SegmentFormat::Enveloped), Err(Error::Corrupted(_))));
        // Enveloped records route by kind.
        let rec = MemoryRecord::Delete { ids: vec![77] };
        m.replay(13, &rec.encode().unwrap(), SegmentFormat::Enveloped).unwrap();
        assert!(m.part::<MemoriesMem>().tombstones.contains_key(&77));
        assert_eq!(m.last_applied_lsn, 13);
    }
}
