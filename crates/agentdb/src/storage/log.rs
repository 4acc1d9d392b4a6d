//! The durable-log seam: what the engine needs from a write-ahead log, and
//! nothing about where it lives. The local segment-file WAL (`storage::wal`)
//! is the one implementation today; a log on object storage (for scale-out)
//! is meant to be a second one, without touching any subsystem.
//!
//! Contract:
//! - `append` assigns dense LSNs (previous + 1) and runs `apply` with them
//!   under the log's ordering lock, so whatever `apply` feeds (the memtable)
//!   sees records in LSN order. When it returns, the records survive the
//!   death of this process, and are durable against power loss as far as
//!   the log's fsync policy promises.
//! - `sync` makes everything appended so far durable against power loss.
//! - `seal` closes the current unit of the log (a segment) and runs `f` with
//!   the last LSN under the ordering lock: nothing can be appended between.
//! - `retire_through(lsn)` may drop records ≤ `lsn` (they are durable
//!   elsewhere); it never drops a record above it.
//! - Replay is part of opening an implementation: it visits every record
//!   above the caller's checkpoint LSN, in order, before the log accepts
//!   appends.

use crate::Result;

pub trait DurableLog: Send + Sync {
    /// Appends records as one group: consecutive LSNs, one write. `apply`
    /// runs with the first LSN, under the ordering lock. Returns the first LSN.
    fn append(&self, records: &[&[u8]], apply: &mut dyn FnMut(u64)) -> Result<u64>;
    fn sync(&self) -> Result<()>;
    fn seal(&self, f: &mut dyn FnMut(u64)) -> Result<()>;
    fn retire_through(&self, lsn: u64) -> Result<usize>;
    fn last_lsn(&self) -> u64;
    /// Units (segments) currently held, for stats.
    fn segment_count(&self) -> usize;
}
