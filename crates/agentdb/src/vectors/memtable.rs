//! The vector subsystem's part of the memtable: unflushed upserts and
//! deletes, per collection.

use std::collections::HashMap;
use std::sync::Arc;

use super::records::VectorLogRecord;
use super::VectorRecord;
use crate::storage::memtable::{drain_tombstones, MemPart, Usage};
use crate::storage::tables::Stored;

/// Unflushed changes of one vector collection.
#[derive(Default, Clone)]
pub struct CollectionMem {
    pub rows: HashMap<String, Arc<Stored<VectorRecord>>>,
    /// Deleted ids → LSN of the delete.
    pub tombstones: HashMap<String, u64>,
}

#[derive(Default)]
pub struct VectorsMem {
    pub collections: HashMap<String, CollectionMem>,
    usage: Usage,
}

/// Per collection: rows to write, ids to remove from Lance first.
pub type VectorsFlush = Vec<(String, Vec<Arc<Stored<VectorRecord>>>, Vec<String>)>;

fn vector_footprint(r: &VectorRecord) -> usize {
    96 + r.id.len() + r.vector.len() * 4 + r.metadata.iter().map(|(k, v)| k.len() + v.len() + 48).sum::<usize>()
}

impl MemPart for VectorsMem {
    type Record = VectorLogRecord;
    type Flush = VectorsFlush;

    fn apply(&mut self, lsn: u64, record: VectorLogRecord) {
        match record {
            VectorLogRecord::Upsert { collection, rows } => {
                let cm = self.collections.entry(collection).or_default();
                for row in rows {
                    if cm.tombstones.remove(&row.id).is_some() {
                        self.usage.remove(0);
                    }
                    self.usage.add(vector_footprint(&row));
                    if let Some(old) = cm.rows.insert(row.id.clone(), Arc::new(Stored { lsn, value: row })) {
                        self.usage.remove(vector_footprint(&old.value));
                    }
                }
            }
            VectorLogRecord::Delete { collection, ids } => {
                let cm = self.collections.entry(collection).or_default();
                for id in ids {
                    if let Some(old) = cm.rows.remove(&id) {
                        self.usage.remove(vector_footprint(&old.value));
                    }
                    if cm.tombstones.insert(id, lsn).is_none() {
                        self.usage.add(0);
                    }
                }
            }
        }
    }

    fn collect_through(&self, upto: u64) -> Option<VectorsFlush> {
        let set: VectorsFlush = self
            .collections
            .iter()
            .map(|(name, cm)| {
                let rows: Vec<_> = cm.rows.values().filter(|r| r.lsn <= upto).cloned().collect();
                let mut doomed: Vec<String> = rows.iter().map(|r| r.value.id.clone()).collect();
                doomed.extend(cm.tombstones.iter().filter(|(_, l)| **l <= upto).map(|(id, _)| id.clone()));
                (name.clone(), rows, doomed)
            })
            .filter(|(_, rows, doomed)| !rows.is_empty() || !doomed.is_empty())
            .collect();
        (!set.is_empty()).then_some(set)
    }

    fn drain_through(&mut self, upto: u64) {
        let usage = &mut self.usage;
        for cm in self.collections.values_mut() {
            cm.rows.retain(|_, r| {
                let keep = r.lsn > upto;
                if !keep {
                    usage.remove(vector_footprint(&r.value));
                }
                keep
            });
            drain_tombstones(&mut cm.tombstones, upto, usage);
        }
        self.collections.retain(|_, cm| !cm.rows.is_empty() || !cm.tombstones.is_empty());
    }

    fn usage(&self) -> Usage {
        self.usage
    }
}
