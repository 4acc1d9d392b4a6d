//! The flush: seal the log, have each subsystem write its part of the
//! memtable to Lance, fsync Lance's files, checkpoint, run the subsystems'
//! post-checkpoint hooks, drain the memtable, retire the covered log.

use super::*;

/// Files modified this long before a flush started are fsynced too (mtime granularity, clock steps).
pub(super) const LANCE_SYNC_SLACK: Duration = Duration::from_secs(2);

/// Returns whether anything below `dir` was synced (then `dir` itself is too,
/// so new entries are durable in their parent).
pub(super) fn sync_tree_since(dir: &Path, since: std::time::SystemTime) -> Result<bool> {
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

impl Engine {
    /// Writes every memtable record to Lance in large batches, checkpoints,
    /// and retires the WAL segments it covered.
    pub fn flush(&self) -> Result<FlushReport> {
        self.check_open()?;
        self.flush_inner()
    }

    pub(super) fn flush_inner(&self) -> Result<FlushReport> {
        let wal = self.wal.as_deref().ok_or(Error::ReadOnly)?;
        let _g = self.lance_write.lock();
        let started = Instant::now();
        let mut sealed = None;
        wal.seal(&mut |last| sealed = Some((last, self.mem.read().collect_through(last))))?;
        let (upto, set) = sealed.ok_or_else(|| Error::corrupted("the log did not seal"))?;
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
        // The post-checkpoint hooks run before the drain: while a memory's
        // superseded row still exists, the memtable still holds the patches
        // that superseded it, so a search knows to read that memory by id.
        let mut changed = false;
        for sub in subsystem::SUBSYSTEMS {
            changed |= sub.after_checkpoint(self, &set, prev_flushed)?;
        }
        if changed {
            self.store_checkpoint(upto)?;
        }
        self.drain_gate.drain(&self.mem, upto);
        {
            let _g = self.flushed_mx.lock();
            self.flushed_cv.notify_all();
        }
        let retired = wal.retire_through(upto)?;
        self.flush_count.fetch_add(1, Ordering::Relaxed);
        let states = set.get::<StatesMem>();
        let report = FlushReport {
            flushed_lsn: upto,
            states: states.map_or(0, |f| f.states.len()),
            snapshots: states.map_or(0, |f| f.snapshots.len()),
            deletes: states.map_or(0, |f| f.deletes.len()),
            wal_segments_retired: retired,
            duration_ms: started.elapsed().as_secs_f64() * 1e3,
        };
        tracing::debug!(?report, "flushed memtable to lance");
        Ok(report)
    }

    /// Each subsystem writes its part of the flush (their tables are
    /// disjoint, so the order between subsystems does not matter).
    pub(super) async fn write_flush_set(&self, set: &FlushSet) -> Result<()> {
        for sub in subsystem::SUBSYSTEMS {
            sub.flush(self, set).await?;
        }
        Ok(())
    }

    pub(super) fn store_checkpoint(&self, flushed_lsn: u64) -> Result<()> {
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

    /// Fsyncs every file under `lance/` modified since `since`, and the
    /// directories holding them. No-op under `FsyncPolicy::Never`.
    pub(super) fn sync_lance_files(&self, since: std::time::SystemTime) -> Result<()> {
        if self.opts.fsync == FsyncPolicy::Never {
            return Ok(());
        }
        sync_tree_since(&self.path.join("lance"), since).map(|_| ())
    }
}
