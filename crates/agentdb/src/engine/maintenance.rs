//! Maintenance: for every table, its subsystem's hooks (retention, purges,
//! ANN indexes) around compaction, B-tree index upkeep, index refresh and
//! pruning of old Lance versions; plus the table-level writes that must hold
//! the Lance writer lock and update the checkpoint (collection tables, ANN
//! index builds).

use super::*;

/// The last maintenance report is kept beside the data so `agentdb stats`
/// in another process can say what maintenance last did.
pub(super) const LAST_MAINTENANCE_FILE: &str = "last_maintenance.json";

pub(super) fn read_last_maintenance(dir: &Path) -> Option<MaintenanceReport> {
    serde_json::from_slice(&fs::read(dir.join(LAST_MAINTENANCE_FILE)).ok()?).ok()
}

/// Best effort: a report is informational, so failing to write it never fails maintenance.
pub(super) fn write_last_maintenance(dir: &Path, report: &MaintenanceReport) {
    let tmp = dir.join(format!("{LAST_MAINTENANCE_FILE}.tmp"));
    let written = serde_json::to_vec(report)
        .map_err(std::io::Error::other)
        .and_then(|b| fs::write(&tmp, b))
        .and_then(|()| fs::rename(&tmp, dir.join(LAST_MAINTENANCE_FILE)));
    if let Err(e) = written {
        tracing::warn!(error = %e, "could not record the maintenance report");
    }
}

pub(super) fn chrono_duration(d: Duration) -> lancedb::table::Duration {
    lancedb::table::Duration::milliseconds(d.as_millis().min(i64::MAX as u128) as i64)
}

impl Engine {
    /// Creates a collection's table now (no WAL record: the table is the record).
    pub fn create_collection_table(
        &self,
        name: &str,
        dimension: usize,
        metric: crate::vectors::Metric,
    ) -> Result<crate::vectors::CollectionInfo> {
        let _g = self.lance_write.lock();
        if self.vectors.collections.read().contains_key(name) {
            return Err(Error::AlreadyExists(format!("collection {name:?}")));
        }
        let table_name = format!("{}{name}", crate::vectors::COLLECTION_TABLE_PREFIX);
        let table = self.block_on(
            self.conn.create_empty_table(&table_name, crate::vectors::collection_schema(dimension, metric)).execute(),
        )?;
        let info = crate::vectors::CollectionInfo { name: name.to_string(), dimension, metric };
        self.vectors
            .collections
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
                let Some(owner) = subsystem::owner_of(name, &self.opts) else {
                    return Ok::<_, Error>(r);
                };
                let ctx = subsystem::MaintenanceCtx { engine: self, state_retention };
                r.rows_purged += owner.before_compaction(&ctx, name, table).await?;
                let stats = table
                    .optimize(OptimizeAction::Compact { options: Default::default(), remap_options: None })
                    .await?;
                if let Some(c) = stats.compaction {
                    r.fragments_removed = c.fragments_removed;
                    r.fragments_added = c.fragments_added;
                }
                // Compacted files must be durable before pruning deletes the originals.
                self.sync_lance_files(written_since)?;
                r.rows_purged += owner.after_compaction(&ctx, name, table).await?;
                let mut created = owner.build_indexes(&ctx, name, table).await?;
                let indices = table.list_indices().await?;
                for column in owner.scalar_index_columns(name) {
                    if !indices.iter().any(|i| i.columns == [*column]) && table.count_rows(None).await? > 0 {
                        table.create_index(&[*column], Index::BTree(Default::default())).execute().await?;
                        created = true;
                    }
                }
                r.index_created = created;
                tracing::debug!(subsystem = owner.name(), table = name, purged = r.rows_purged, "maintained table");
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
}
