//! The read protocol, in one place. Every read that combines unflushed
//! records (the memtable) with flushed ones (Lance) goes through a
//! `ReadScope`:
//!
//! 1. `begin_read` takes the drain gate shared. A flush takes it exclusively
//!    only to drain the memtable, and only after Lance committed the rows
//!    and the checkpoint covers them.
//! 2. The read copies what it needs from the memtable (`memtable()`).
//! 3. It queries Lance.
//! 4. It merges: a memtable record wins over a Lance row with the same key
//!    (its LSN is newer; `newest_by_key`), a memtable tombstone hides Lance
//!    rows older than it, and deltas kept in the memtable are applied to the
//!    Lance rows they belong to (`memtable()` again, still in the scope).
//!
//! Why this is enough: while the scope is open no drain can happen, so a
//! record or delta read in step 2 or 4 is either still in the memtable or
//! already in the Lance rows of step 3 — never in neither — and a delta is
//! never lost between being read from the memtable and its row being read
//! from Lance. Records that are never changed after they are written (state
//! versions, snapshots) would be safe with steps 2 and 3 alone; they take the
//! gate anyway, so there is one protocol to reason about.

use std::collections::HashMap;
use std::hash::Hash;

use parking_lot::{RwLock, RwLockReadGuard};

use crate::storage::memtable::Memtable;
use crate::storage::tables::Stored;

/// An open read: the drain gate is held until it is dropped.
pub struct ReadScope<'a> {
    mem: &'a RwLock<Memtable>,
    _gate: RwLockReadGuard<'a, ()>,
}

/// The gate between readers and the flush's drain (see the module docs).
#[derive(Default)]
pub struct DrainGate(RwLock<()>);

impl DrainGate {
    pub fn begin_read<'a>(&'a self, mem: &'a RwLock<Memtable>) -> ReadScope<'a> {
        ReadScope { mem, _gate: self.0.read() }
    }

    /// Held by the flush while it drains what Lance now has.
    pub fn drain(&self, mem: &RwLock<Memtable>, upto: u64) {
        let _exclusive = self.0.write();
        mem.write().drain_through(upto);
    }
}

impl ReadScope<'_> {
    /// The memtable, for as long as the caller needs it (short: writers wait on it).
    pub fn memtable(&self) -> RwLockReadGuard<'_, Memtable> {
        self.mem.read()
    }
}

/// Merges rows read from Lance and the memtable: the newest LSN per key wins
/// (a record mid-flush can be in both; a newer version supersedes an older).
pub fn newest_by_key<K: Hash + Eq, T>(
    rows: impl IntoIterator<Item = Stored<T>>,
    key: impl Fn(&T) -> K,
) -> HashMap<K, Stored<T>> {
    let mut out: HashMap<K, Stored<T>> = HashMap::new();
    for row in rows {
        let k = key(&row.value);
        if out.get(&k).is_none_or(|o| o.lsn < row.lsn) {
            out.insert(k, row);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_lsn_per_key_wins_whatever_the_order() {
        let rows = vec![
            Stored { lsn: 5, value: ("a", 1) },
            Stored { lsn: 9, value: ("a", 2) },
            Stored { lsn: 7, value: ("b", 3) },
        ];
        for order in [rows.clone(), rows.iter().rev().cloned().collect()] {
            let m = newest_by_key(order, |v| v.0);
            assert_eq!((m["a"].lsn, m["a"].value.1, m["b"].value.1), (9, 2, 3));
        }
    }
}
