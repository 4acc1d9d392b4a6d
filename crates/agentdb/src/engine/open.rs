//! Opening a database (writer lock, recovery) and closing it.
//!
//! Recovery: load the checkpoint, open every subsystem's tables (creating
//! them on first use, migrating old layouts, undoing a flush the checkpoint
//! does not cover), replay the durable log above the checkpoint into the
//! memtable, and start a fresh log segment. A read-only open instead checks
//! out the checkpointed table versions and never writes.

use super::*;

/// A read-only open retries when a concurrent writer retires WAL segments
/// or prunes the checkpointed table version under it (a writer with a tiny
/// `version_retention` can prune a version within milliseconds of naming it).
pub(super) const READ_ONLY_OPEN_ATTEMPTS: usize = 20;

/// The pause before retry `attempt` (1-based): 10 ms growing to 200 ms, so a
/// reader on a loaded machine outlasts a writer's flush-and-prune cycle
/// instead of losing the same race 20 times in a row (about 2.5 s in all).
pub(super) fn read_only_retry_pause(attempt: usize) -> Duration {
    Duration::from_millis((10 * attempt as u64).min(200))
}

pub(super) fn lock_path(dir: &Path) -> PathBuf {
    dir.join("LOCK")
}

pub(super) fn take_writer_lock(dir: &Path) -> Result<File> {
    let f = fs::OpenOptions::new().create(true).truncate(false).write(true).open(lock_path(dir))?;
    match f.try_lock() {
        Ok(()) => Ok(f),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::Locked { path: dir.to_path_buf() }),
        Err(std::fs::TryLockError::Error(e)) => Err(e.into()),
    }
}

/// What data a directory holds without a CHECKPOINT (a table with data
/// files, a WAL segment with records), if any.
pub(super) fn data_without_checkpoint(path: &Path) -> Result<Option<String>> {
    let mut found = Vec::new();
    if crate::storage::wal::holds_records(&path.join("wal"))? {
        found.push("WAL records".to_string());
    }
    if let Ok(entries) = fs::read_dir(path.join("lance")) {
        for entry in entries {
            let entry = entry?;
            let data = entry.path().join("data");
            if fs::read_dir(&data).is_ok_and(|mut d| d.next().is_some()) {
                found.push(format!("table {}", entry.file_name().to_string_lossy()));
            }
        }
    }
    Ok((!found.is_empty()).then(|| found.join(", ")))
}

pub(super) fn missing_checkpoint(path: &Path, what: &str) -> Error {
    Error::corrupted(format!(
        "{} is missing but the database holds data ({what}); opening it as a new database would lose that data, \
         so nothing was changed. Restore CHECKPOINT, or the whole directory, from a backup",
        checkpoint::path(path).display()
    ))
}

/// The checks that must pass before recovery may change anything: a
/// missing checkpoint on a directory with data, a table the checkpoint
/// names that is missing or older than the checkpoint (a lost manifest),
/// and a WAL that starts after the checkpoint.
pub(super) async fn check_consistency(
    path: &Path,
    conn: &lancedb::Connection,
    ckpt: Option<&Checkpoint>,
) -> Result<()> {
    let Some(ckpt) = ckpt else {
        // A new database, or one whose first open crashed before its first
        // checkpoint (empty tables, empty WAL): nothing to lose either way.
        return match data_without_checkpoint(path)? {
            Some(what) => Err(missing_checkpoint(path, &what)),
            None => Ok(()),
        };
    };
    let names = conn.table_names().execute().await?;
    for (name, version) in &ckpt.table_versions {
        if !names.contains(name) {
            return Err(Error::corrupted(format!(
                "table {name} (version {version} in the checkpoint) is missing from {}; nothing was changed",
                path.join("lance").display()
            )));
        }
        let current = conn.open_table(name).execute().await?.version().await?;
        if current < *version {
            return Err(Error::corrupted(format!(
                "table {name} is at version {current}, older than the checkpoint's {version}: its newest \
                 manifest is missing; nothing was changed"
            )));
        }
    }
    crate::storage::wal::check_continuity(&path.join("wal"), ckpt.flushed_lsn)
}

pub(super) fn is_race_with_writer(e: &Error) -> bool {
    match e {
        Error::Io(io) => io.kind() == std::io::ErrorKind::NotFound,
        Error::Corrupted(msg) => msg.contains("records are missing"),
        Error::Lance(_) => true,
        _ => false,
    }
}

impl Engine {
    pub fn open(path: &Path, opts: Options) -> Result<Arc<Engine>> {
        opts.validate()?;
        // The OS would refuse it with an I/O error deep in the open; it is the caller's input.
        if path.as_os_str().as_encoded_bytes().contains(&0) {
            return Err(Error::invalid("database path contains a NUL byte"));
        }
        let started = Instant::now();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("agentdb-io")
            .enable_all()
            .build()?;
        let lock_file = if opts.read_only {
            if !checkpoint::path(path).exists() {
                if let Some(what) = data_without_checkpoint(path)? {
                    return Err(missing_checkpoint(path, &what));
                }
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
        let (
            ckpt,
            [states_tbl, snapshots_tbl, memories_tbl, documents_tbl, chunks_tbl],
            items_tbl,
            collections,
            conn,
            mem,
            wal,
        ) = loop {
            attempt += 1;
            let res = rt.block_on(Self::recover(path, lance_uri, &opts));
            match res {
                Err(e) if opts.read_only && attempt < READ_ONLY_OPEN_ATTEMPTS && is_race_with_writer(&e) => {
                    tracing::debug!(error = %e, attempt, "read-only open raced a flush; retrying");
                    std::thread::sleep(read_only_retry_pause(attempt));
                    continue;
                }
                other => break other?,
            }
        };

        let engine = Arc::new(Engine {
            path: path.to_path_buf(),
            states: crate::states::StatesState::new(states_tbl, snapshots_tbl, &opts),
            memories: crate::memories::MemoriesState::new(memories_tbl),
            rag: crate::rag::RagState { documents_tbl, chunks_tbl },
            vectors: crate::vectors::VectorsState { collections: RwLock::new(collections) },
            items: crate::items::ItemsState::new(items_tbl),
            opts,
            rt,
            conn,
            wal,
            mem: RwLock::new(mem),
            drain_gate: Default::default(),
            embedder: std::sync::OnceLock::new(),
            flushed_cv: Condvar::new(),
            flushed_mx: Mutex::new(()),
            checkpoint: Mutex::new(ckpt),
            lance_write: Mutex::new(()),
            closed: AtomicBool::new(false),
            fork_generation: crate::fork_guard::generation(),
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
    pub(super) async fn recover(
        path: &Path,
        lance_uri: &str,
        opts: &Options,
    ) -> Result<(
        Checkpoint,
        [Table; 5],
        Option<Table>,
        std::collections::HashMap<String, Arc<crate::vectors::Collection>>,
        lancedb::Connection,
        Memtable,
        Option<Box<dyn DurableLog>>,
    )> {
        let ckpt_opt = checkpoint::load(path)?;
        let conn = lancedb::connect(lance_uri).execute().await?;
        // Every check that can refuse the database runs before recovery
        // changes anything (undoing a partial flush deletes rows).
        check_consistency(path, &conn, ckpt_opt.as_ref()).await?;
        let mut ckpt = ckpt_opt.clone().unwrap_or_else(Checkpoint::new);
        // Every subsystem's fixed tables: created on first open, each undone
        // to the checkpoint if a flush was cut short.
        let mut by_name: std::collections::HashMap<&'static str, Table> = std::collections::HashMap::new();
        for sub in subsystem::SUBSYSTEMS {
            if !opts.read_only {
                // Before `create_empty_table`, which refuses a table whose schema
                // differs. A migration commit makes the rollback below run; it
                // removes exactly what it would have removed without it.
                let since = std::time::SystemTime::now() - LANCE_SYNC_SLACK;
                if sub.migrate(&conn).await? && opts.fsync != FsyncPolicy::Never {
                    // The checkpoint below names the migrated version: its files first.
                    sync_tree_since(Path::new(lance_uri), since)?;
                }
            }
            for spec in sub.fixed_tables(opts) {
                let name = spec.name;
                let table = if opts.read_only {
                    let t = match conn.open_table(name).execute().await {
                        Ok(t) => t,
                        // A table newer than this database (a read-only open
                        // cannot create it): the subsystem reads it as empty.
                        Err(lancedb::Error::TableNotFound { .. }) if !ckpt.table_versions.contains_key(name) => {
                            continue
                        }
                        Err(e) => return Err(e.into()),
                    };
                    if let Some(v) = ckpt.table_versions.get(name) {
                        // The checkpointed version plus the WAL is a consistent view even
                        // while the writer keeps flushing.
                        t.checkout(*v).await?;
                    }
                    t
                } else {
                    let t = conn
                        .create_empty_table(name, spec.schema)
                        .mode(CreateTableMode::exist_ok(|r| r))
                        .execute()
                        .await?;
                    let current = t.version().await?;
                    if ckpt.table_versions.get(name) != Some(&current) {
                        // Something committed after the checkpoint: a flush whose
                        // rows the WAL replay below will write again. Undo it.
                        let undo = filter::u64_gt("lsn", ckpt.flushed_lsn);
                        let removed = t.delete(&undo).await?;
                        tracing::info!(
                            table = name,
                            version = current,
                            ?removed,
                            "rolled back a flush interrupted by a crash"
                        );
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
                by_name.insert(name, table);
            }
        }
        let mut take =
            |name: &str| by_name.remove(name).ok_or_else(|| Error::corrupted(format!("table {name} was not opened")));
        let tables: [Table; 5] = [
            take(STATES_TABLE)?,
            take(SNAPSHOTS_TABLE)?,
            take(MEMORIES_TABLE)?,
            take(crate::rag::DOCUMENTS_TABLE)?,
            take(crate::rag::CHUNKS_TABLE)?,
        ];
        let items = by_name.remove(crate::items::ITEMS_TABLE);

        // Tables that come and go with the data (vector collections): found
        // by name, undone to the checkpoint the same way.
        let mut dynamic = Vec::new();
        for table_name in conn.table_names().execute().await? {
            if !subsystem::SUBSYSTEMS.iter().any(|s| s.owns_table(&table_name)) {
                continue;
            }
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
            dynamic.push((table_name, t));
        }
        let collections = crate::vectors::collections_from_tables(dynamic).await?;

        let mut mem = new_memtable();
        let (wal, report) = Wal::open(
            &path.join("wal"),
            opts.fsync,
            opts.wal_segment_bytes,
            ckpt.flushed_lsn,
            opts.read_only,
            &mut |lsn, payload, format| mem.replay(lsn, payload, format),
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
        Ok((ckpt, tables, items, collections, conn, mem, wal.map(|w| Box::new(w) as Box<dyn DurableLog>)))
    }

    /// Stops background work, flushes and syncs everything. Idempotent.
    pub fn close(&self) -> Result<()> {
        if self.forked() {
            return Err(Error::invalid(
                "a handle opened before fork() cannot be closed in the child (it is the parent's)",
            ));
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
