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

use lancedb::database::CreateTableMode;
use lancedb::index::Index;
use lancedb::table::OptimizeAction;
use lancedb::Table;
use parking_lot::{Condvar, Mutex, RwLock};
use serde::{Deserialize, Serialize};

use crate::options::{FsyncPolicy, Options};
use crate::states::cache::LatestCache;
use crate::states::AgentState;
use crate::storage::checkpoint::{self, Checkpoint};
use crate::storage::memtable::{FlushSet, Memtable, WalEntry};
use crate::storage::tables::{self, filter, Stored, MEMORIES_TABLE, SNAPSHOTS_TABLE, STATES_TABLE};
use crate::storage::wal::Wal;
use crate::{Error, Result};

const KEY_LOCK_SHARDS: usize = 64;
/// Rows per Arrow batch handed to Lance in one flush.
const FLUSH_BATCH_ROWS: usize = 8192;
const FLUSHER_TICK_MS: u64 = 50;
/// Agent deletes per Lance delete commit: bounds each predicate's size.
const AGENT_DELETES_PER_COMMIT: usize = 512;
/// A read-only open retries when a concurrent writer retires WAL segments under it.
const READ_ONLY_OPEN_ATTEMPTS: usize = 5;

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

pub(crate) struct Engine {
    pub path: PathBuf,
    pub opts: Options,
    rt: tokio::runtime::Runtime,
    pub states_tbl: Table,
    pub snapshots_tbl: Table,
    pub memories_tbl: Table,
    pub documents_tbl: Table,
    pub chunks_tbl: Table,
    /// Vector collections by name (each its own Lance table).
    pub collections: RwLock<std::collections::HashMap<String, Arc<crate::vectors::Collection>>>,
    conn: lancedb::Connection,
    wal: Option<Wal>,
    pub mem: RwLock<Memtable>,
    /// Readers that combine memtable deltas with Lance rows hold this shared
    /// across both reads; a flush takes it exclusively only to drain the
    /// memtable, so no reader sees a delta vanish before its Lance row appears.
    pub drain_gate: RwLock<()>,
    /// The embedder for text-only calls, loaded on first use (not at open).
    pub embedder: std::sync::OnceLock<std::result::Result<Arc<dyn crate::embed::Embedder>, String>>,
    /// Memory dedup/merge/pin/limit coordination (see `memories::Lifecycle`).
    pub memory_lifecycle: crate::memories::Lifecycle,
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
    /// Latest state per (agent, session): the microsecond path of `load_state`.
    pub latest: Mutex<LatestCache>,
    /// Bumped by `delete_agent`; a cold read that began before a bump must not
    /// fill the cache (it could resurrect the deleted agent).
    pub cache_epoch: AtomicU64,
    key_locks: Vec<Mutex<()>>,
    /// Serialises snapshot creation so name uniqueness is checked atomically.
    pub snapshot_lock: Mutex<()>,
    lock_file: Mutex<Option<File>>,
    signal: Mutex<Signal>,
    signal_cv: Condvar,
    threads: Mutex<Vec<JoinHandle<()>>>,
    pub flush_count: AtomicU64,
    pub last_flush_error: Mutex<Option<String>>,
    pub last_maintenance: Mutex<Option<MaintenanceReport>>,
    pub open_duration: Mutex<Duration>,
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn lock_path(dir: &Path) -> PathBuf {
    dir.join("LOCK")
}

fn take_writer_lock(dir: &Path) -> Result<File> {
    let f = fs::OpenOptions::new().create(true).truncate(false).write(true).open(lock_path(dir))?;
    match f.try_lock() {
        Ok(()) => Ok(f),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::Locked { path: dir.to_path_buf() }),
        Err(std::fs::TryLockError::Error(e)) => Err(e.into()),
    }
}

impl Engine {
    pub fn open(path: &Path, opts: Options) -> Result<Arc<Engine>> {
        opts.validate()?;
        let started = Instant::now();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("agentdb-io")
            .enable_all()
            .build()?;
        let lock_file = if opts.read_only {
            if !checkpoint::path(path).exists() {
                return Err(Error::NotFound(format!("no AgentDB database at {}", path.display())));
            }
            None
        } else {
            fs::create_dir_all(path)?;
            Some(take_writer_lock(path)?)
        };

        let lance_uri = path.join("lance");
        let lance_uri = lance_uri.to_str().ok_or_else(|| Error::invalid("database path must be valid UTF-8"))?;

        let mut attempt = 0;
        let (ckpt, [states_tbl, snapshots_tbl, memories_tbl, documents_tbl, chunks_tbl], collections, conn, mem, wal) = loop {
            attempt += 1;
            let res = rt.block_on(Self::recover(path, lance_uri, &opts));
            match res {
                Err(e) if opts.read_only && attempt < READ_ONLY_OPEN_ATTEMPTS && is_race_with_writer(&e) => {
                    tracing::debug!(error = %e, "read-only open raced a flush; retrying");
                    continue;
                }
                other => break other?,
            }
        };

        let engine = Arc::new(Engine {
            path: path.to_path_buf(),
            latest: Mutex::new(LatestCache::new(
                std::num::NonZeroUsize::new(opts.latest_cache_entries).expect("validated > 0"),
                opts.latest_cache_bytes,
            )),
            cache_epoch: AtomicU64::new(0),
            opts,
            rt,
            states_tbl,
            snapshots_tbl,
            memories_tbl,
            documents_tbl,
            chunks_tbl,
            collections: RwLock::new(collections),
            conn,
            wal,
            mem: RwLock::new(mem),
            drain_gate: RwLock::new(()),
            embedder: std::sync::OnceLock::new(),
            memory_lifecycle: crate::memories::Lifecycle::default(),
            flushed_cv: Condvar::new(),
            flushed_mx: Mutex::new(()),
            checkpoint: Mutex::new(ckpt),
            lance_write: Mutex::new(()),
            closed: AtomicBool::new(false),
            fork_generation: crate::fork_guard::generation(),
            key_locks: (0..KEY_LOCK_SHARDS).map(|_| Mutex::new(())).collect(),
            snapshot_lock: Mutex::new(()),
            lock_file: Mutex::new(lock_file),
            signal: Mutex::new(Signal::default()),
            signal_cv: Condvar::new(),
            threads: Mutex::new(Vec::new()),
            flush_count: AtomicU64::new(0),
            last_flush_error: Mutex::new(None),
            last_maintenance: Mutex::new(read_last_maintenance(path)),
            open_duration: Mutex::new(Duration::ZERO),
        });
        if !engine.opts.read_only {
            engine.start_background()?;
        }
        *engine.open_duration.lock() = started.elapsed();
        Ok(engine)
    }

    /// Opens (or creates) the Lance tables, undoes a partial flush, replays the WAL.
    async fn recover(
        path: &Path,
        lance_uri: &str,
        opts: &Options,
    ) -> Result<(
        Checkpoint,
        [Table; 5],
        std::collections::HashMap<String, Arc<crate::vectors::Collection>>,
        lancedb::Connection,
        Memtable,
        Option<Wal>,
    )> {
        let ckpt_opt = checkpoint::load(path)?;
        let conn = lancedb::connect(lance_uri).execute().await?;
        let mut ckpt = ckpt_opt.clone().unwrap_or_else(Checkpoint::new);
        let mut tables_out = Vec::new();
        for (name, schema) in [
            (STATES_TABLE, tables::states_schema()),
            (SNAPSHOTS_TABLE, tables::snapshots_schema()),
            (MEMORIES_TABLE, tables::memories_schema(opts.memory_dimension)),
            (crate::rag::DOCUMENTS_TABLE, crate::rag::documents_schema()),
            (crate::rag::CHUNKS_TABLE, crate::rag::chunks_schema(opts.memory_dimension)),
        ] {
            let table = if opts.read_only {
                let t = conn.open_table(name).execute().await?;
                if let Some(v) = ckpt.table_versions.get(name) {
                    // The checkpointed version plus the WAL is a consistent view even
                    // while the writer keeps flushing.
                    t.checkout(*v).await?;
                }
                t
            } else {
                if name == MEMORIES_TABLE {
                    // Before `create_empty_table`, which refuses a table whose schema
                    // differs. A migration commit makes the rollback below run; it
                    // removes exactly what it would have removed without it.
                    let since = std::time::SystemTime::now() - LANCE_SYNC_SLACK;
                    if crate::memories::migrate_existing_table(&conn).await? && opts.fsync != FsyncPolicy::Never {
                        // The checkpoint below names the migrated version: its files first.
                        sync_tree_since(Path::new(lance_uri), since)?;
                    }
                }
                let t = conn
                    .create_empty_table(name, schema)
                    .mode(CreateTableMode::exist_ok(|r| r))
                    .execute()
                    .await?;
                let current = t.version().await?;
                if ckpt.table_versions.get(name) != Some(&current) {
                    // Something committed after the checkpoint: a flush whose
                    // rows the WAL replay below will write again. Undo it.
                    let undo = filter::u64_gt("lsn", ckpt.flushed_lsn);
                    let removed = t.delete(&undo).await?;
                    tracing::info!(table = name, version = current, ?removed, "rolled back a flush interrupted by a crash");
                }
                ckpt.table_versions.insert(name.to_string(), t.version().await?);
                t
            };
            if let Some(existing) = tables::embedding_dimension(&*table.schema().await?) {
                if existing != opts.memory_dimension {
                    return Err(Error::invalid(format!(
                        "table {name} stores {existing}-dimension embeddings but Options::memory_dimension is {}",
                        opts.memory_dimension
                    )));
                }
            }
            tables_out.push(table);
        }
        let tables: [Table; 5] = tables_out.try_into().map_err(|_| Error::corrupted("table count"))?;

        let mut collections = std::collections::HashMap::new();
        for table_name in conn.table_names().execute().await? {
            let Some(name) = crate::vectors::is_collection_table(&table_name) else { continue };
            let t = conn.open_table(&table_name).execute().await?;
            if opts.read_only {
                if let Some(v) = ckpt.table_versions.get(&table_name) {
                    t.checkout(*v).await?;
                }
            } else {
                let current = t.version().await?;
                if ckpt.table_versions.get(&table_name) != Some(&current) {
                    t.delete(&filter::u64_gt("lsn", ckpt.flushed_lsn)).await?;
                }
                ckpt.table_versions.insert(table_name.clone(), t.version().await?);
            }
            let info = crate::vectors::info_from_schema(name, &*t.schema().await?)?;
            collections.insert(name.to_string(), Arc::new(crate::vectors::Collection { info, table: t }));
        }

        let mut mem = Memtable::default();
        let (wal, report) = Wal::open(
            &path.join("wal"),
            opts.fsync,
            opts.wal_segment_bytes,
            ckpt.flushed_lsn,
            opts.read_only,
            &mut |lsn, payload, format| {
                mem.apply(lsn, WalEntry::decode(payload, format)?);
                Ok(())
            },
        )?;
        if report.records > 0 || report.truncated_bytes > 0 {
            tracing::info!(
                records = report.records,
                last_lsn = report.last_lsn,
                truncated_bytes = report.truncated_bytes,
                "replayed write-ahead log"
            );
        }
        if !opts.read_only && ckpt_opt.as_ref() != Some(&ckpt) {
            checkpoint::store(path, &ckpt)?;
        }
        Ok((ckpt, tables, collections, conn, mem, wal))
    }

    fn start_background(self: &Arc<Self>) -> Result<()> {
        let mut threads = self.threads.lock();
        if let FsyncPolicy::Batch(interval) = self.opts.fsync {
            let me = Arc::downgrade(self);
            threads.push(std::thread::Builder::new().name("agentdb-wal-sync".into()).spawn(move || loop {
                let Some(engine) = me.upgrade() else { return };
                if engine.wait_signal(interval) {
                    return;
                }
                if let Some(wal) = &engine.wal {
                    if let Err(e) = wal.sync() {
                        tracing::error!(error = %e, "background WAL fsync failed");
                    }
                }
            })?);
        }
        let me = Arc::downgrade(self);
        threads.push(std::thread::Builder::new().name("agentdb-flush".into()).spawn(move || {
            let mut last_maintenance = Instant::now();
            loop {
                let Some(engine) = me.upgrade() else { return };
                if engine.wait_signal(Duration::from_millis(FLUSHER_TICK_MS)) {
                    return;
                }
                if engine.flush_due() {
                    match engine.flush() {
                        Ok(_) => *engine.last_flush_error.lock() = None,
                        Err(e) => {
                            tracing::error!(error = %e, "background flush failed; will retry");
                            *engine.last_flush_error.lock() = Some(e.to_string());
                        }
                    }
                }
                if let Some(every) = engine.opts.maintenance_interval {
                    if last_maintenance.elapsed() >= every {
                        last_maintenance = Instant::now();
                        if let Err(e) = engine.maintain() {
                            tracing::error!(error = %e, "background maintenance failed");
                        }
                    }
                }
            }
        })?);
        Ok(())
    }

    /// Sleeps up to `timeout` or until woken; true means shut down.
    fn wait_signal(&self, timeout: Duration) -> bool {
        let mut s = self.signal.lock();
        if !s.shutdown && !s.wake {
            self.signal_cv.wait_for(&mut s, timeout);
        }
        s.wake = false;
        s.shutdown
    }

    fn wake_flusher(&self) {
        self.signal.lock().wake = true;
        self.signal_cv.notify_all();
    }

    fn flush_due(&self) -> bool {
        let m = self.mem.read();
        m.records >= self.opts.memtable_flush_records
            || m.bytes >= self.opts.memtable_flush_bytes
            || m.oldest.is_some_and(|t| t.elapsed() >= self.opts.flush_interval)
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

    pub fn check_writable(&self) -> Result<&Wal> {
        self.check_open()?;
        self.wal.as_ref().ok_or(Error::ReadOnly)
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

    pub fn key_lock(&self, agent_id: u64, session_id: u64) -> parking_lot::MutexGuard<'_, ()> {
        let h = agent_id.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ session_id.wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
        self.key_locks[(h >> 58) as usize % KEY_LOCK_SHARDS].lock()
    }

    /// Every key lock, in a fixed order (for whole-agent operations).
    pub fn all_key_locks(&self) -> Vec<parking_lot::MutexGuard<'_, ()>> {
        self.key_locks.iter().map(|l| l.lock()).collect()
    }

    /// The write path: frame into the WAL, apply to the memtable under the
    /// WAL lock, return once durable per the fsync policy.
    pub fn commit(&self, entry: WalEntry) -> Result<u64> {
        let wal = self.check_writable()?;
        self.wait_for_memtable_room()?;
        let payload = entry.encode()?;
        let (lsn, due) = wal.append(&payload, |lsn| {
            let mut m = self.mem.write();
            m.apply(lsn, entry);
            m.records >= self.opts.memtable_flush_records || m.bytes >= self.opts.memtable_flush_bytes
        })?;
        if due {
            self.wake_flusher();
        }
        Ok(lsn)
    }

    /// Backpressure: a writer waits while the memtable is over its hard limit.
    fn wait_for_memtable_room(&self) -> Result<()> {
        if self.mem.read().bytes <= self.opts.memtable_stall_bytes {
            return Ok(());
        }
        self.wake_flusher();
        let mut g = self.flushed_mx.lock();
        while self.mem.read().bytes > self.opts.memtable_stall_bytes {
            self.check_open()?;
            self.flushed_cv.wait_for(&mut g, Duration::from_millis(100));
        }
        Ok(())
    }

    /// Writes every memtable record to Lance in large batches, checkpoints,
    /// and retires the WAL segments it covered.
    pub fn flush(&self) -> Result<FlushReport> {
        self.check_open()?;
        self.flush_inner()
    }

    fn flush_inner(&self) -> Result<FlushReport> {
        let wal = self.wal.as_ref().ok_or(Error::ReadOnly)?;
        let _g = self.lance_write.lock();
        let started = Instant::now();
        let (upto, set) = wal.seal(|last| (last, self.mem.read().collect_through(last)))?;
        if set.is_empty() {
            return Ok(FlushReport { flushed_lsn: upto, ..Default::default() });
        }
        let prev_flushed = self.flushed_lsn();
        let written_since = std::time::SystemTime::now() - LANCE_SYNC_SLACK;
        self.block_on(self.write_flush_set(&set))?;
        // Lance's local object store never fsyncs. The WAL segments this flush
        // retires are our only other copy, so make Lance's files durable first.
        self.sync_lance_files(written_since)?;
        self.store_checkpoint(upto)?;
        {
            let _gate = self.drain_gate.write();
            self.mem.write().drain_through(upto);
        }
        if !set.memory_patches.is_empty() {
            // Only now that the checkpoint covers the new versions may the old
            // ones go: a crash before the checkpoint rolls the new ones back and
            // replays patches onto the old. A crash here leaves duplicates, which
            // reads resolve by LSN and maintenance removes.
            let ids: Vec<u64> = set.memory_patches.iter().map(|(id, _)| *id).collect();
            let superseded = filter::u64_in("memory_id", &ids).and(filter::u64_lt("lsn", prev_flushed + 1));
            self.block_on(self.memories_tbl.delete(&superseded))?;
            self.store_checkpoint(upto)?;
        }
        {
            let _g = self.flushed_mx.lock();
            self.flushed_cv.notify_all();
        }
        let retired = wal.retire_through(upto)?;
        self.flush_count.fetch_add(1, Ordering::Relaxed);
        let report = FlushReport {
            flushed_lsn: upto,
            states: set.states.len(),
            snapshots: set.snapshots.len(),
            deletes: set.deletes.len(),
            wal_segments_retired: retired,
            duration_ms: started.elapsed().as_secs_f64() * 1e3,
        };
        tracing::debug!(?report, "flushed memtable to lance");
        Ok(report)
    }

    async fn write_flush_set(&self, set: &FlushSet) -> Result<()> {
        if !set.states.is_empty() {
            let rows: Vec<&Stored<AgentState>> = set.states.iter().map(|s| &**s).collect();
            let batches = rows.chunks(FLUSH_BATCH_ROWS).map(tables::states_to_batch).collect::<Result<Vec<_>>>()?;
            self.states_tbl.add(batches).execute().await?;
        }
        if !set.snapshots.is_empty() {
            let rows: Vec<_> = set.snapshots.iter().map(|s| &**s).collect();
            let batches =
                rows.chunks(FLUSH_BATCH_ROWS).map(tables::snapshots_to_batch).collect::<Result<Vec<_>>>()?;
            self.snapshots_tbl.add(batches).execute().await?;
        }
        if !set.memories.is_empty() || !set.memory_patches.is_empty() {
            let mut rows: Vec<Stored<crate::memories::Memory>> = set.memories.clone();
            if !set.memory_patches.is_empty() {
                let ids: Vec<u64> = set.memory_patches.iter().map(|(id, _)| *id).collect();
                let bases = self.latest_memory_rows(&ids).await?;
                for (id, patches) in &set.memory_patches {
                    match bases.get(id) {
                        Some(base) => rows.push(crate::storage::memtable::compose(base, patches)),
                        None => tracing::warn!(memory_id = id, "patch for a memory that no longer exists; dropped"),
                    }
                }
            }
            let refs: Vec<&Stored<crate::memories::Memory>> = rows.iter().collect();
            let dim = self.opts.memory_dimension;
            let batches = refs
                .chunks(FLUSH_BATCH_ROWS)
                .map(|c| tables::memories_to_batch(c, dim))
                .collect::<Result<Vec<_>>>()?;
            self.memories_tbl.add(batches).execute().await?;
        }
        if !set.memory_deletes.is_empty() {
            // Deleted memories leave the exact-dedup index with their rows
            // (unflushed ones left it when the delete was applied).
            let gone = self.lance_fingerprints(Some(filter::u64_in("memory_id", &set.memory_deletes))).await?;
            self.memories_tbl.delete(&filter::u64_in("memory_id", &set.memory_deletes)).await?;
            self.forget_dedup_entries(&gone);
        }
        if !set.documents_replaced.is_empty() {
            // Remove first, then add: the WAL has every document whole.
            for chunk in set.documents_replaced.chunks(4096) {
                let ids: Vec<&str> = chunk.iter().map(String::as_str).collect();
                self.documents_tbl.delete(&filter::str_in("doc_id", &ids)).await?;
                self.chunks_tbl.delete(&filter::str_in("doc_id", &ids)).await?;
            }
        }
        if !set.documents.is_empty() {
            for group in set.documents.chunks(256) {
                let (docs, chunks) = crate::rag::documents_to_batches(group, self.opts.memory_dimension)?;
                self.documents_tbl.add(docs).execute().await?;
                if chunks.num_rows() > 0 {
                    self.chunks_tbl.add(chunks).execute().await?;
                }
            }
            self.ensure_fts_index().await?;
        }
        for (name, rows, doomed) in &set.vectors {
            let Some(c) = self.collections.read().get(name).cloned() else {
                tracing::warn!(collection = %name, "writes for a collection that no longer exists; dropped");
                continue;
            };
            // Remove first, then add: one row per id, and the WAL has every row whole.
            if !doomed.is_empty() {
                for chunk in doomed.chunks(4096) {
                    let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
                    c.table.delete(&filter::str_in("id", &refs)).await?;
                }
            }
            if !rows.is_empty() {
                let refs: Vec<&Stored<crate::vectors::VectorRecord>> = rows.iter().map(|r| &**r).collect();
                let batches = refs
                    .chunks(FLUSH_BATCH_ROWS)
                    .map(|ch| crate::vectors::rows_to_batch(ch, &c.info))
                    .collect::<Result<Vec<_>>>()?;
                c.table.add(batches).execute().await?;
            }
        }
        if !set.deletes.is_empty() {
            // One commit per table for all pending agent deletes. `lsn < L`
            // keeps rows written after the delete, and makes a replay harmless.
            let deletes: Vec<_> = set.deletes.iter().collect();
            for chunk in deletes.chunks(AGENT_DELETES_PER_COMMIT) {
                let predicate = filter::any_of(
                    chunk.iter().map(|(agent, lsn)| filter::u64_eq("agent_id", *agent).and(filter::u64_lt("lsn", *lsn))).collect(),
                )
                .expect("non-empty");
                self.states_tbl.delete(&predicate).await?;
                self.snapshots_tbl.delete(&predicate).await?;
            }
        }
        Ok(())
    }

    /// The newest Lance row of each memory id (older versions may linger
    /// until maintenance removes them).
    pub async fn latest_memory_rows(&self, ids: &[u64]) -> Result<std::collections::HashMap<u64, Stored<crate::memories::Memory>>> {
        let mut out: std::collections::HashMap<u64, Stored<crate::memories::Memory>> = std::collections::HashMap::new();
        for chunk in ids.chunks(4096) {
            let batches = tables::query(&self.memories_tbl, Some(filter::u64_in("memory_id", chunk)), None, None, None).await?;
            for b in &batches {
                for (row, _) in tables::memories_from_batch(b)? {
                    let newer = out.get(&row.value.memory_id).is_none_or(|o| o.lsn < row.lsn);
                    if newer {
                        out.insert(row.value.memory_id, row);
                    }
                }
            }
        }
        Ok(out)
    }

    fn store_checkpoint(&self, flushed_lsn: u64) -> Result<()> {
        let versions = self.block_on(async {
            let mut v = BTreeMap::new();
            for (name, t) in self.tables() {
                v.insert(name.to_string(), t.version().await?);
            }
            Ok::<_, Error>(v)
        })?;
        let mut ckpt = self.checkpoint.lock();
        debug_assert!(flushed_lsn >= ckpt.flushed_lsn, "the checkpoint never moves backwards");
        let next = Checkpoint { flushed_lsn, table_versions: versions, ..ckpt.clone() };
        checkpoint::store(&self.path, &next)?;
        *ckpt = next;
        Ok(())
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

    /// Every Lance table: the fixed ones, then one per vector collection.
    pub fn tables(&self) -> Vec<(String, Table)> {
        let mut out = vec![
            (STATES_TABLE.to_string(), self.states_tbl.clone()),
            (SNAPSHOTS_TABLE.to_string(), self.snapshots_tbl.clone()),
            (MEMORIES_TABLE.to_string(), self.memories_tbl.clone()),
            (crate::rag::DOCUMENTS_TABLE.to_string(), self.documents_tbl.clone()),
            (crate::rag::CHUNKS_TABLE.to_string(), self.chunks_tbl.clone()),
        ];
        let mut cols: Vec<_> = self.collections.read().values().cloned().collect();
        cols.sort_by(|a, b| a.info.name.cmp(&b.info.name));
        out.extend(cols.into_iter().map(|c| (format!("{}{}", crate::vectors::COLLECTION_TABLE_PREFIX, c.info.name), c.table.clone())));
        out
    }

    /// Creates a collection's table now (no WAL record: the table is the record).
    pub fn create_collection_table(&self, name: &str, dimension: usize, metric: crate::vectors::Metric) -> Result<crate::vectors::CollectionInfo> {
        let _g = self.lance_write.lock();
        if self.collections.read().contains_key(name) {
            return Err(Error::AlreadyExists(format!("collection {name:?}")));
        }
        let table_name = format!("{}{name}", crate::vectors::COLLECTION_TABLE_PREFIX);
        let table = self.block_on(
            self.conn.create_empty_table(&table_name, crate::vectors::collection_schema(dimension, metric)).execute(),
        )?;
        let info = crate::vectors::CollectionInfo { name: name.to_string(), dimension, metric };
        self.collections
            .write()
            .insert(name.to_string(), Arc::new(crate::vectors::Collection { info: info.clone(), table }));
        self.sync_lance_files(std::time::SystemTime::now() - LANCE_SYNC_SLACK)?;
        self.store_checkpoint(self.flushed_lsn())?;
        Ok(info)
    }

    /// Builds the ANN index of a collection: IVF-HNSW-SQ in the collection's metric.
    pub fn build_vector_index(&self, c: &crate::vectors::Collection) -> Result<()> {
        let _g = self.lance_write.lock();
        let builder = lancedb::index::vector::IvfHnswSqIndexBuilder::default().distance_type(c.info.metric.lance());
        self.block_on(c.table.create_index(&["vector"], Index::IvfHnswSq(builder)).replace(true).execute())?;
        self.sync_lance_files(std::time::SystemTime::now() - LANCE_SYNC_SLACK)?;
        self.store_checkpoint(self.flushed_lsn())
    }

    /// Flush, then compact small fragments, index `agent_id`, fold new rows
    /// into the indexes, and prune Lance versions older than the retention.
    pub fn maintain(&self) -> Result<MaintenanceReport> {
        self.maintain_with(&self.opts.state_retention)
    }

    /// `maintain`, deleting the state versions `state_retention` does not keep.
    pub fn maintain_with(&self, state_retention: &crate::states::StateRetention) -> Result<MaintenanceReport> {
        self.check_writable()?;
        let started = Instant::now();
        let flush = self.flush_inner()?;
        let _g = self.lance_write.lock();
        let retention = chrono_duration(self.opts.version_retention);
        let written_since = std::time::SystemTime::now() - LANCE_SYNC_SLACK;
        let mut tables_report = Vec::new();
        for (name, table) in self.tables() {
            let name = name.as_str();
            let table = &table;
            let report = self.block_on(async {
                let mut r = TableMaintenance { table: name.to_string(), ..Default::default() };
                if name == tables::STATES_TABLE {
                    r.rows_purged = self.apply_state_retention(table, state_retention).await?;
                }
                let stats = table
                    .optimize(OptimizeAction::Compact { options: Default::default(), remap_options: None })
                    .await?;
                if let Some(c) = stats.compaction {
                    r.fragments_removed = c.fragments_removed;
                    r.fragments_added = c.fragments_added;
                }
                // Compacted files must be durable before pruning deletes the originals.
                self.sync_lance_files(written_since)?;
                if name == MEMORIES_TABLE {
                    r.rows_purged = self.purge_memories(table).await?;
                }
                let indices = table.list_indices().await?;
                let mut created = false;
                if crate::vectors::is_collection_table(name).is_some()
                    && !crate::vectors::has_vector_index(&indices)
                    && table.count_rows(None).await? >= self.opts.ann_index_threshold
                {
                    let metric = crate::vectors::info_from_schema(name, &*table.schema().await?)?.metric;
                    let builder = lancedb::index::vector::IvfHnswSqIndexBuilder::default().distance_type(metric.lance());
                    table.create_index(&["vector"], Index::IvfHnswSq(builder)).execute().await?;
                    created = true;
                }
                for column in scalar_index_columns(name) {
                    if !indices.iter().any(|i| i.columns == [*column]) && table.count_rows(None).await? > 0 {
                        table.create_index(&[*column], Index::BTree(Default::default())).execute().await?;
                        created = true;
                    }
                }
                r.index_created = created;
                if !indices.is_empty() {
                    table.optimize(OptimizeAction::Index(Default::default())).await?;
                }
                // We hold the writer lock, so no other process has a transaction
                // in flight: unverified files may go, or disk use grows for a week.
                let stats = table
                    .optimize(OptimizeAction::Prune {
                        older_than: Some(retention),
                        delete_unverified: Some(true),
                        error_if_tagged_old_versions: Some(false),
                    })
                    .await?;
                if let Some(p) = stats.prune {
                    r.old_versions_pruned = p.old_versions;
                    r.bytes_removed = p.bytes_removed;
                }
                Ok::<_, Error>(r)
            })?;
            tables_report.push(report);
        }
        self.store_checkpoint(self.flushed_lsn())?;
        let report = MaintenanceReport {
            flush,
            tables: tables_report,
            duration_ms: started.elapsed().as_secs_f64() * 1e3,
            finished_at_ms: now_ms(),
        };
        write_last_maintenance(&self.path, &report);
        *self.last_maintenance.lock() = Some(report.clone());
        Ok(report)
    }

    /// Stops background work, flushes and syncs everything. Idempotent.
    pub fn close(&self) -> Result<()> {
        if self.forked() {
            return Err(Error::invalid("a handle opened before fork() cannot be closed in the child (it is the parent's)"));
        }
        if self.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        {
            self.signal.lock().shutdown = true;
            self.signal_cv.notify_all();
        }
        let threads: Vec<_> = std::mem::take(&mut *self.threads.lock());
        let me = std::thread::current().id();
        for t in threads {
            if t.thread().id() != me {
                let _ = t.join();
            }
        }
        let result = match &self.wal {
            Some(wal) => wal.sync().and_then(|()| {
                // A clean close leaves an empty WAL, so the next open replays nothing.
                // If this flush fails, the synced WAL still holds every write.
                self.flush_inner()?;
                wal.sync()
            }),
            None => Ok(()),
        };
        // Release the writer lock now, not when the last Arc drops.
        self.lock_file.lock().take();
        result
    }
}

/// Files modified this long before a flush started are fsynced too (mtime granularity, clock steps).
const LANCE_SYNC_SLACK: Duration = Duration::from_secs(2);

impl Engine {
    /// Fsyncs every file under `lance/` modified since `since`, and the
    /// directories holding them. No-op under `FsyncPolicy::Never`.
    fn sync_lance_files(&self, since: std::time::SystemTime) -> Result<()> {
        if self.opts.fsync == FsyncPolicy::Never {
            return Ok(());
        }
        sync_tree_since(&self.path.join("lance"), since).map(|_| ())
    }
}

/// Returns whether anything below `dir` was synced (then `dir` itself is too,
/// so new entries are durable in their parent).
fn sync_tree_since(dir: &Path, since: std::time::SystemTime) -> Result<bool> {
    let mut touched = false;
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        if meta.is_dir() {
            touched |= sync_tree_since(&entry.path(), since)?;
        } else if meta.modified().map_or(true, |m| m >= since) {
            File::open(entry.path())?.sync_all()?;
            touched = true;
        }
    }
    if touched {
        crate::storage::wal::sync_dir(dir)?;
    }
    Ok(touched)
}

/// The last maintenance report is kept beside the data so `agentdb stats`
/// in another process can say what maintenance last did.
const LAST_MAINTENANCE_FILE: &str = "last_maintenance.json";

fn read_last_maintenance(dir: &Path) -> Option<MaintenanceReport> {
    serde_json::from_slice(&fs::read(dir.join(LAST_MAINTENANCE_FILE)).ok()?).ok()
}

/// Best effort: a report is informational, so failing to write it never fails maintenance.
fn write_last_maintenance(dir: &Path, report: &MaintenanceReport) {
    let tmp = dir.join(format!("{LAST_MAINTENANCE_FILE}.tmp"));
    let written = serde_json::to_vec(report)
        .map_err(std::io::Error::other)
        .and_then(|b| fs::write(&tmp, b))
        .and_then(|()| fs::rename(&tmp, dir.join(LAST_MAINTENANCE_FILE)));
    if let Err(e) = written {
        tracing::warn!(error = %e, "could not record the maintenance report");
    }
}

/// Columns with a B-tree index per table: what every point lookup filters on.
fn scalar_index_columns(table: &str) -> &'static [&'static str] {
    match table {
        // content_hash: a store's exact-duplicate lookup.
        MEMORIES_TABLE => &["agent_id", "memory_id", "content_hash"],
        crate::rag::DOCUMENTS_TABLE | crate::rag::CHUNKS_TABLE => &["doc_id"],
        t if crate::vectors::is_collection_table(t).is_some() => &["id"],
        _ => &["agent_id"],
    }
}

impl Engine {
    /// Removes expired memories and versions superseded by a newer row of
    /// the same memory (left behind if a crash hit between flush steps).
    async fn purge_memories(&self, table: &Table) -> Result<u64> {
        let before = table.count_rows(None).await?;
        // Pinned memories never expire (the table is migrated: we are the writer).
        let expired = lancedb::expr::col("expires_at_ms")
            .lt_eq(lancedb::expr::lit(now_ms()))
            .and(filter::bool_eq("pinned", false));
        let doomed = self.lance_fingerprints(Some(expired.clone())).await?;
        table.delete(&expired).await?;
        if !doomed.is_empty() {
            // An expired row may be an old version of a memory whose newer
            // row lives on (merged in a longer expiry): only memories left
            // without any row leave the exact-dedup index.
            let ids: Vec<u64> = doomed.iter().map(|(_, id, _)| *id).collect();
            let left: std::collections::HashSet<u64> =
                self.lance_fingerprints(Some(filter::u64_in("memory_id", &ids))).await?.into_iter().map(|(_, id, _)| id).collect();
            let gone: Vec<_> = doomed.into_iter().filter(|(_, id, _)| !left.contains(id)).collect();
            self.forget_dedup_entries(&gone);
        }
        let batches = tables::query(table, None, Some(&["memory_id", "lsn"]), None, None).await?;
        let mut newest: std::collections::HashMap<u64, u64> = std::collections::HashMap::new();
        let mut dup_ids = Vec::new();
        for b in &batches {
            let ids = b.column(0).as_any().downcast_ref::<arrow_array::UInt64Array>().ok_or_else(|| Error::corrupted("memory_id"))?;
            let lsns = b.column(1).as_any().downcast_ref::<arrow_array::UInt64Array>().ok_or_else(|| Error::corrupted("lsn"))?;
            for (id, lsn) in ids.values().iter().zip(lsns.values()) {
                match newest.insert(*id, *lsn) {
                    Some(prev) => {
                        newest.insert(*id, prev.max(*lsn));
                        dup_ids.push(*id);
                    }
                    None => {}
                }
            }
        }
        if !dup_ids.is_empty() {
            dup_ids.sort_unstable();
            dup_ids.dedup();
            let stale = dup_ids
                .iter()
                .map(|id| filter::u64_eq("memory_id", *id).and(filter::u64_lt("lsn", newest[id])))
                .reduce(|a, b| a.or(b))
                .expect("non-empty");
            table.delete(&stale).await?;
        }
        Ok((before - table.count_rows(None).await?) as u64)
    }
}

fn is_race_with_writer(e: &Error) -> bool {
    match e {
        Error::Io(io) => io.kind() == std::io::ErrorKind::NotFound,
        Error::Corrupted(msg) => msg.contains("records are missing"),
        Error::Lance(_) => true,
        _ => false,
    }
}

fn chrono_duration(d: Duration) -> lancedb::table::Duration {
    lancedb::table::Duration::milliseconds(d.as_millis().min(i64::MAX as u128) as i64)
}

impl Drop for Engine {
    fn drop(&mut self) {
        if let Err(e) = self.close() {
            tracing::error!(error = %e, "closing AgentDB failed; the WAL still holds every acknowledged write");
        }
    }
}
