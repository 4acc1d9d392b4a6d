//! The subsystem contract: what the engine's flush, recovery and
//! maintenance loops need from each subsystem (states, memories, RAG,
//! vectors, items), so that the loops themselves name no subsystem.
//!
//! A subsystem owns, in its own folder: its WAL records (`records.rs`, a
//! `LogRecord`), its memtable part (`memtable.rs`, a `MemPart`), its Lance
//! tables (`table.rs`), and an implementation of `Subsystem` below.
//! Adding a record kind touches only that folder. Adding a subsystem takes
//! an entry in `SUBSYSTEMS`, a part in `engine::new_memtable`, a state field
//! on `Engine` (and its line in `Engine::tables`), and its fixed tables in
//! the hand-off at the end of recovery (`engine/open.rs`).

use futures::future::BoxFuture;
use lancedb::Table;

use super::Engine;
use crate::states::StateRetention;
use crate::storage::memtable::FlushSet;
use crate::Result;

/// A table a subsystem has whatever the data: created empty on first open.
pub struct TableSpec {
    pub name: &'static str,
    pub schema: arrow_schema::SchemaRef,
}

/// What maintenance passes to a subsystem's hooks.
pub struct MaintenanceCtx<'a> {
    pub engine: &'a Engine,
    pub state_retention: &'a StateRetention,
}

pub trait Subsystem: Send + Sync {
    fn name(&self) -> &'static str;

    /// Its fixed tables (vector collections, which come and go, are found by
    /// `owns_table` instead).
    fn fixed_tables(&self, opts: &crate::Options) -> Vec<TableSpec>;

    /// Whether a table found in the database that is not a fixed table of
    /// any subsystem belongs to this one.
    fn owns_table(&self, _name: &str) -> bool {
        false
    }

    /// Brings an existing table of an earlier version up to date, before the
    /// tables are opened (writer opens only). Returns whether it committed.
    fn migrate<'a>(&'a self, _conn: &'a lancedb::Connection) -> BoxFuture<'a, Result<bool>> {
        Box::pin(async { Ok(false) })
    }

    /// Writes this subsystem's part of a flush (`FlushSet::get` of its part).
    fn flush<'a>(&'a self, engine: &'a Engine, set: &'a FlushSet) -> BoxFuture<'a, Result<()>>;

    /// Runs after the checkpoint that covers a flush; returns whether it
    /// committed to Lance (the engine then checkpoints again).
    fn after_checkpoint(&self, _engine: &Engine, _set: &FlushSet, _prev_flushed_lsn: u64) -> Result<bool> {
        Ok(false)
    }

    /// Removes rows by the subsystem's rules before compaction (state
    /// retention); returns how many.
    fn before_compaction<'a>(
        &'a self,
        _ctx: &'a MaintenanceCtx<'a>,
        _name: &'a str,
        _table: &'a Table,
    ) -> BoxFuture<'a, Result<u64>> {
        Box::pin(async { Ok(0) })
    }

    /// Removes rows by the subsystem's rules after compaction (expired and
    /// superseded memories); returns how many.
    fn after_compaction<'a>(
        &'a self,
        _ctx: &'a MaintenanceCtx<'a>,
        _name: &'a str,
        _table: &'a Table,
    ) -> BoxFuture<'a, Result<u64>> {
        Box::pin(async { Ok(0) })
    }

    /// Builds indexes beyond the scalar ones (ANN, full text) when due;
    /// returns whether it built one.
    fn build_indexes<'a>(
        &'a self,
        _ctx: &'a MaintenanceCtx<'a>,
        _name: &'a str,
        _table: &'a Table,
    ) -> BoxFuture<'a, Result<bool>> {
        Box::pin(async { Ok(false) })
    }

    /// Columns with a B-tree index: what every point lookup filters on.
    fn scalar_index_columns(&self, table: &str) -> &'static [&'static str];
}

/// A subsystem's `flush`: runs `write` on its part's flush work, if any.
pub fn flush_part<'a, P, W, F>(set: &'a FlushSet, write: W) -> BoxFuture<'a, Result<()>>
where
    P: crate::storage::memtable::MemPart,
    W: FnOnce(&'a P::Flush) -> F + Send + 'a,
    F: std::future::Future<Output = Result<()>> + Send + 'a,
{
    Box::pin(async move {
        match set.get::<P>() {
            Some(work) => write(work).await,
            None => Ok(()),
        }
    })
}

/// Every subsystem, in the order the engine visits them.
pub static SUBSYSTEMS: [&dyn Subsystem; 5] = [
    &crate::states::StatesSubsystem,
    &crate::memories::MemoriesSubsystem,
    &crate::rag::RagSubsystem,
    &crate::vectors::VectorsSubsystem,
    &crate::items::ItemsSubsystem,
];

/// The subsystem that owns a table, by name.
pub fn owner_of(table: &str, opts: &crate::Options) -> Option<&'static dyn Subsystem> {
    SUBSYSTEMS.iter().copied().find(|s| s.fixed_tables(opts).iter().any(|t| t.name == table) || s.owns_table(table))
}
