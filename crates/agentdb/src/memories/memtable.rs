//! The memory subsystem's part of the memtable: memories created since the
//! last flush, unflushed deltas (`MemoryPatch`) of any memory, deletes not
//! yet applied to Lance, and the exact-dedup index of every live memory.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::records::MemoryRecord;
use super::{dedup_fingerprint, group_of, DedupIndex, Memory};
use crate::storage::memtable::{drain_tombstones, MemPart, Usage};
use crate::storage::tables::Stored;

const PATCH_FOOTPRINT_BYTES: usize = 64;

/// A change to a memory, as deltas that compose in LSN order: absolute
/// importance, access counted as increments, and the merge/pin changes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MemoryPatch {
    pub importance: Option<f32>,
    pub access_increment: u64,
    pub last_access_ms: Option<i64>,
    /// Raises importance to at least this (a duplicate or merge never lowers it,
    /// and a concurrent `update_memory_importance` is not overwritten by a stale max).
    pub importance_floor: Option<f32>,
    pub pinned: Option<bool>,
    /// Replaces the expiry (`Some(None)`: never expires).
    pub expires_at_ms: Option<Option<i64>>,
    /// Metadata entries added where the key is absent.
    pub metadata_defaults: BTreeMap<String, String>,
    /// Ids appended to the `absorbed_ids` metadata list.
    pub absorbed_ids: Vec<u64>,
    /// The LSN of the record carrying this patch is appended too: the id a
    /// new memory would have had when it merged into an existing one.
    pub absorbs_own_record: bool,
}

impl MemoryPatch {
    /// Whether the patch can change which searches a memory's stored row
    /// matches: visibility (pin, expiry) or metadata. Importance and access
    /// only change its score.
    pub fn changes_matching(&self) -> bool {
        self.pinned.is_some()
            || self.expires_at_ms.is_some()
            || !self.metadata_defaults.is_empty()
            || !self.absorbed_ids.is_empty()
            || self.absorbs_own_record
    }

    /// Applies the patch written at `lsn`.
    pub fn apply(&self, lsn: u64, m: &mut Memory) {
        if let Some(i) = self.importance {
            m.importance = i;
        }
        if let Some(f) = self.importance_floor {
            m.importance = m.importance.max(f);
        }
        m.access_count += self.access_increment;
        if let Some(t) = self.last_access_ms {
            m.last_access_ms = m.last_access_ms.max(t);
        }
        if let Some(p) = self.pinned {
            m.pinned = p;
        }
        if let Some(e) = self.expires_at_ms {
            m.expires_at_ms = e;
        }
        for (k, v) in &self.metadata_defaults {
            m.metadata.entry(k.clone()).or_insert_with(|| v.clone());
        }
        if !self.absorbed_ids.is_empty() || self.absorbs_own_record {
            let own = self.absorbs_own_record.then_some(lsn);
            super::append_absorbed_ids(&mut m.metadata, self.absorbed_ids.iter().copied().chain(own));
        }
    }
}

/// Applies every patch in LSN order; the result carries the newest LSN.
pub fn compose(base: &Stored<Memory>, patches: &[(u64, MemoryPatch)]) -> Stored<Memory> {
    let mut out = base.clone();
    for (lsn, p) in patches {
        if *lsn > base.lsn {
            p.apply(*lsn, &mut out.value);
            out.lsn = out.lsn.max(*lsn);
        }
    }
    out
}

#[derive(Default)]
pub struct MemoriesMem {
    /// Memories created since the last flush, as stored (patches kept apart).
    pub memories: HashMap<u64, Arc<Stored<Memory>>>,
    /// Unflushed patches per memory id, in LSN order.
    pub patches: HashMap<u64, Vec<(u64, MemoryPatch)>>,
    /// Deleted memory ids → LSN of the delete, until the flush removes them from Lance.
    pub tombstones: HashMap<u64, u64>,
    /// Every live memory's exact-dedup fingerprint, flushed or not: kept
    /// here so that the same `apply` maintains it for live writes and replay.
    /// A flush never drains it (see `memories::dedup`).
    pub(crate) dedup: DedupIndex,
    usage: Usage,
}

/// What one flush writes for the memory subsystem.
#[derive(Default)]
pub struct MemoriesFlush {
    /// New memories, with their patches up to the flush point applied.
    pub memories: Vec<Stored<Memory>>,
    /// Patches (up to the flush point) of memories whose base row is in Lance.
    pub patches: Vec<(u64, Vec<(u64, MemoryPatch)>)>,
    pub deletes: Vec<u64>,
}

impl MemPart for MemoriesMem {
    type Record = MemoryRecord;
    type Flush = MemoriesFlush;

    fn apply(&mut self, lsn: u64, record: MemoryRecord) {
        match record {
            MemoryRecord::Delete { ids } => self.delete_memories(lsn, ids),
            MemoryRecord::Store { memory, delete } => {
                debug_assert!(!delete.contains(&lsn), "a memory cannot absorb itself");
                self.delete_memories(lsn, delete);
                self.store_memory(lsn, memory);
            }
            MemoryRecord::Update { ids, patch, delete } => {
                debug_assert!(
                    ids.iter().all(|id| !delete.contains(id)),
                    "a survivor cannot be deleted by its own merge"
                );
                self.patch_memories(lsn, ids, &patch);
                self.delete_memories(lsn, delete);
            }
        }
    }

    fn collect_through(&self, upto: u64) -> Option<MemoriesFlush> {
        let set = MemoriesFlush {
            memories: self
                .memories
                .values()
                .filter(|m| m.lsn <= upto)
                .map(|m| {
                    let upto_patches: Vec<_> = self.patches_of(m.lsn).iter().filter(|p| p.0 <= upto).cloned().collect();
                    compose(m, &upto_patches)
                })
                .collect(),
            patches: self
                .patches
                .iter()
                .filter(|(id, _)| !self.memories.contains_key(id))
                .map(|(id, ps)| (*id, ps.iter().filter(|p| p.0 <= upto).cloned().collect::<Vec<_>>()))
                .filter(|(_, ps)| !ps.is_empty())
                .collect(),
            deletes: self.tombstones.iter().filter(|(_, l)| **l <= upto).map(|(id, _)| *id).collect(),
        };
        (!set.memories.is_empty() || !set.patches.is_empty() || !set.deletes.is_empty()).then_some(set)
    }

    fn drain_through(&mut self, upto: u64) {
        let usage = &mut self.usage;
        self.memories.retain(|_, m| {
            let keep = m.lsn > upto;
            if !keep {
                usage.remove(m.value.footprint());
            }
            keep
        });
        self.patches.retain(|_, ps| {
            let before = ps.len();
            ps.retain(|p| p.0 > upto);
            for _ in ps.len()..before {
                usage.remove(PATCH_FOOTPRINT_BYTES);
            }
            !ps.is_empty()
        });
        drain_tombstones(&mut self.tombstones, upto, usage);
    }

    fn usage(&self) -> Usage {
        self.usage
    }
}

impl MemoriesMem {
    fn store_memory(&mut self, lsn: u64, mut memory: Memory) {
        memory.memory_id = lsn;
        self.dedup.insert(dedup_fingerprint(&memory), lsn, group_of(&memory));
        self.usage.add(memory.footprint());
        self.memories.insert(lsn, Arc::new(Stored { lsn, value: memory }));
    }

    fn patch_memories(&mut self, lsn: u64, ids: Vec<u64>, patch: &MemoryPatch) {
        for id in ids {
            if self.tombstones.contains_key(&id) {
                continue;
            }
            self.usage.add(PATCH_FOOTPRINT_BYTES);
            self.patches.entry(id).or_default().push((lsn, patch.clone()));
        }
    }

    fn delete_memories(&mut self, lsn: u64, ids: Vec<u64>) {
        for id in ids {
            if let Some(m) = self.memories.remove(&id) {
                // Deletes of flushed memories leave the index at the flush
                // that removes their rows (which knows their fingerprints).
                self.dedup.remove(dedup_fingerprint(&m.value), id, group_of(&m.value));
                self.usage.remove(m.value.footprint());
            }
            if let Some(p) = self.patches.remove(&id) {
                for _ in 0..p.len() {
                    self.usage.remove(PATCH_FOOTPRINT_BYTES);
                }
            }
            if self.tombstones.insert(id, lsn).is_none() {
                self.usage.add(0);
            }
        }
    }

    /// A memory as the memtable knows it: `Some(None)` if deleted, `None` if
    /// only Lance can tell (the caller then applies `patches_of`).
    pub fn memory(&self, id: u64) -> Option<Option<Stored<Memory>>> {
        if self.tombstones.contains_key(&id) {
            return Some(None);
        }
        self.memories.get(&id).map(|m| Some(compose(m, self.patches_of(id))))
    }

    pub fn patches_of(&self, id: u64) -> &[(u64, MemoryPatch)] {
        self.patches.get(&id).map_or(&[], |v| v.as_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::memtable::LogRecord;
    use crate::storage::record;

    fn memory(agent_id: u64) -> Memory {
        Memory {
            memory_id: 0,
            agent_id,
            memory_type: crate::memories::MemoryType::Semantic,
            content: "x".into(),
            embedding: vec![1.0],
            importance: 0.5,
            access_count: 0,
            last_access_ms: 0,
            created_at_ms: 0,
            expires_at_ms: None,
            metadata: BTreeMap::new(),
            pinned: false,
        }
    }

    #[test]
    fn a_merge_is_one_record_that_stores_and_deletes_together() {
        let mut m = MemoriesMem::default();
        let store = |delete: Vec<u64>| MemoryRecord::Store { memory: memory(1), delete };
        m.apply(1, store(vec![]));
        m.apply(2, store(vec![]));
        let bytes = store(vec![1, 2]).encode().unwrap();
        let (kind, version, body) = record::split(&bytes).unwrap();
        m.apply(3, MemoryRecord::decode(kind, version, body).unwrap());
        assert!(matches!(m.memory(1), Some(None)) && matches!(m.memory(2), Some(None)));
        assert_eq!(m.memory(3).unwrap().unwrap().value.memory_id, 3);
        let patch = MemoryPatch { pinned: Some(true), absorbs_own_record: true, ..Default::default() };
        m.apply(4, MemoryRecord::Update { ids: vec![3], patch, delete: vec![] });
        let merged = m.memory(3).unwrap().unwrap();
        assert!(merged.value.pinned);
        assert_eq!((merged.lsn, merged.value.absorbed_ids()), (4, vec![4]));
        // Records: 3 memories − 2 deleted + 2 tombstones + 1 patch.
        assert_eq!(m.usage().records, 4);
        m.drain_through(4);
        assert_eq!((m.usage().records, m.usage().bytes), (0, 0));
    }
}
