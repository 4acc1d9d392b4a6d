//! The item subsystem's part of the memtable: unflushed puts and deletes,
//! ordered by `ns_key` so a namespace prefix is a range here as in Lance.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

use super::records::{ItemLogRecord, ItemOp};
use super::{ns_key, ItemRow};
use crate::storage::memtable::{MemPart, Usage};
use crate::storage::tables::Stored;

#[derive(Default)]
pub struct ItemsMem {
    pub rows: BTreeMap<String, Arc<Stored<ItemRow>>>,
    /// Deleted `ns_key`s → LSN of the delete. Lance rows older than it are
    /// hidden from reads until the flush deletes them.
    pub tombstones: BTreeMap<String, u64>,
    usage: Usage,
}

/// What one flush writes: rows to add, `ns_key`s to remove from Lance first.
pub struct ItemsFlush {
    pub rows: Vec<Arc<Stored<ItemRow>>>,
    pub doomed: Vec<String>,
}

fn footprint(r: &ItemRow) -> usize {
    160 + r.key.len()
        + r.value.len()
        + r.namespace.iter().map(|l| l.len() + 24).sum::<usize>()
        + r.metadata.iter().map(|(k, v)| k.len() + v.len() + 48).sum::<usize>()
}

impl ItemsMem {
    /// Rows and tombstones whose `ns_key` lies in `[lo, hi)` (`hi` None: to the end).
    pub fn range<'a>(
        &'a self,
        lo: &'a str,
        hi: Option<&'a str>,
    ) -> (impl Iterator<Item = &'a Arc<Stored<ItemRow>>>, impl Iterator<Item = (&'a String, &'a u64)>) {
        let bounds = || {
            (Bound::Included(lo.to_string()), hi.map(|h| Bound::Excluded(h.to_string())).unwrap_or(Bound::Unbounded))
        };
        (self.rows.range(bounds()).map(|(_, r)| r), self.tombstones.range(bounds()))
    }
}

impl MemPart for ItemsMem {
    type Record = ItemLogRecord;
    type Flush = ItemsFlush;

    fn apply(&mut self, lsn: u64, record: ItemLogRecord) {
        let ItemLogRecord::Write(ops) = record;
        for op in ops {
            match op {
                ItemOp::Put(row) => {
                    let k = ns_key(&row.namespace, &row.key);
                    if self.tombstones.remove(&k).is_some() {
                        self.usage.remove(0);
                    }
                    self.usage.add(footprint(&row));
                    if let Some(old) = self.rows.insert(k, Arc::new(Stored { lsn, value: row })) {
                        self.usage.remove(footprint(&old.value));
                    }
                }
                ItemOp::Delete { namespace, key } => {
                    let k = ns_key(&namespace, &key);
                    if let Some(old) = self.rows.remove(&k) {
                        self.usage.remove(footprint(&old.value));
                    }
                    if self.tombstones.insert(k, lsn).is_none() {
                        self.usage.add(0);
                    }
                }
            }
        }
    }

    fn collect_through(&self, upto: u64) -> Option<ItemsFlush> {
        let rows: Vec<_> = self.rows.values().filter(|r| r.lsn <= upto).cloned().collect();
        let mut doomed: Vec<String> = self.rows.iter().filter(|(_, r)| r.lsn <= upto).map(|(k, _)| k.clone()).collect();
        doomed.extend(self.tombstones.iter().filter(|(_, l)| **l <= upto).map(|(k, _)| k.clone()));
        (!rows.is_empty() || !doomed.is_empty()).then_some(ItemsFlush { rows, doomed })
    }

    fn drain_through(&mut self, upto: u64) {
        let usage = &mut self.usage;
        self.rows.retain(|_, r| {
            let keep = r.lsn > upto;
            if !keep {
                usage.remove(footprint(&r.value));
            }
            keep
        });
        self.tombstones.retain(|_, lsn| {
            let keep = *lsn > upto;
            if !keep {
                usage.remove(0);
            }
            keep
        });
    }

    fn usage(&self) -> Usage {
        self.usage
    }
}
