//! The memtable: every WAL record not yet flushed to Lance, indexed for reads.
//!
//! The same `apply` runs for live writes (under the WAL lock, in LSN order)
//! and for replay on open, so the memtable after a crash is exactly the one
//! before it. Reads copy what they need from here *before* querying Lance;
//! a flush removes records from here only *after* Lance committed them, so
//! every record is always visible in at least one of the two.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use crate::memories::records::MemoryRecord;
use crate::memories::Memory;
use crate::rag::records::RagRecord;
use crate::rag::IndexedDocument;
use crate::states::records::StateRecord;
use crate::states::{AgentState, Snapshot};
use crate::storage::record::{self, blocks, RecordKind};
use crate::storage::tables::Stored;
use crate::storage::wal::SegmentFormat;
use crate::vectors::records::VectorLogRecord;
use crate::vectors::VectorRecord;
use crate::{Error, Result};

/// One logical write, as logged: a record of the subsystem that owns it.
/// Each subsystem defines its records and their byte layouts in its own
/// `records` module; this enum only routes them.
#[derive(Debug, Clone, PartialEq)]
pub enum WalEntry {
    States(StateRecord),
    Memories(MemoryRecord),
    Vectors(VectorLogRecord),
    Rag(RagRecord),
}

/// Unflushed changes of one vector collection.
#[derive(Default, Clone)]
pub struct CollectionMem {
    pub rows: HashMap<String, Arc<Stored<VectorRecord>>>,
    /// Deleted ids → LSN of the delete.
    pub tombstones: HashMap<String, u64>,
}

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
            crate::memories::append_absorbed_ids(&mut m.metadata, self.absorbed_ids.iter().copied().chain(own));
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

impl WalEntry {
    /// The record's bytes: envelope (kind, version) and body.
    pub fn encode(&self) -> Result<Vec<u8>> {
        match self {
            WalEntry::States(r) => r.encode(),
            WalEntry::Memories(r) => r.encode(),
            WalEntry::Vectors(r) => r.encode(),
            WalEntry::Rag(r) => r.encode(),
        }
    }

    /// Decodes a record written in a WAL segment of `format`.
    pub fn decode(payload: &[u8], format: SegmentFormat) -> Result<Self> {
        let (kind, version, body) = match format {
            SegmentFormat::Enveloped => record::split(payload)?,
            SegmentFormat::Legacy => legacy_envelope(payload)?,
        };
        match kind.0 & 0xF0 {
            blocks::STATES => StateRecord::decode(kind, version, body).map(WalEntry::States),
            blocks::MEMORIES => MemoryRecord::decode(kind, version, body).map(WalEntry::Memories),
            blocks::VECTORS => VectorLogRecord::decode(kind, version, body).map(WalEntry::Vectors),
            blocks::RAG => RagRecord::decode(kind, version, body).map(WalEntry::Rag),
            _ => Err(record::unknown(kind, version)),
        }
    }
}

/// Segments written before record kinds existed hold a postcard enum: a
/// one-byte variant index, then exactly the fields that each kind's
/// version-1 (or, for the memory lifecycle variants, version-2) body has.
/// Mapping the index is all it takes to replay them.
fn legacy_envelope(payload: &[u8]) -> Result<(RecordKind, u8, &[u8])> {
    use crate::memories::records as m;
    use crate::rag::records as r;
    use crate::states::records as s;
    use crate::vectors::records as v;
    let (variant, body) = payload.split_first().ok_or_else(|| Error::corrupted("empty WAL record"))?;
    let (kind, version) = match variant {
        0 => (s::SAVE_STATE, 1),
        1 => (s::CREATE_SNAPSHOT, 1),
        2 => (s::DELETE_AGENT, 1),
        3 => (m::STORE_MEMORY, 1),
        4 => (m::UPDATE_MEMORIES, 1),
        5 => (m::DELETE_MEMORIES, 1),
        6 => (v::UPSERT_VECTORS, 1),
        7 => (v::DELETE_VECTORS, 1),
        8 => (r::INDEX_DOCUMENT, 1),
        9 => (r::DELETE_DOCUMENT, 1),
        10 => (m::STORE_MEMORY, 2),
        11 => (m::UPDATE_MEMORIES, 2),
        other => return Err(Error::corrupted(format!("unknown legacy WAL record variant {other}"))),
    };
    Ok((kind, version, body))
}

pub type StateKey = (u64, u64, u64); // agent, session, version
pub type SnapshotKey = (u64, String); // agent, name

#[derive(Default)]
pub struct Memtable {
    pub states: BTreeMap<StateKey, Arc<Stored<AgentState>>>,
    pub snapshots: BTreeMap<SnapshotKey, Arc<Stored<Snapshot>>>,
    /// agent → LSN of its latest pending delete. Lance rows of that agent with
    /// a smaller LSN are hidden from reads until the flush deletes them.
    pub agent_tombstones: HashMap<u64, u64>,
    /// Memories created since the last flush, as stored (patches kept apart).
    pub memories: HashMap<u64, Arc<Stored<Memory>>>,
    /// Unflushed patches per memory id, in LSN order.
    pub memory_patches: HashMap<u64, Vec<(u64, MemoryPatch)>>,
    /// Deleted memory ids → LSN of the delete, until the flush removes them from Lance.
    pub memory_tombstones: HashMap<u64, u64>,
    /// Every live memory's exact-dedup fingerprint, flushed or not: kept
    /// here so that the same `apply` maintains it for live writes and replay.
    /// A flush never drains it (see `memories::dedup`).
    pub(crate) memory_dedup: crate::memories::DedupIndex,
    pub vectors: HashMap<String, CollectionMem>,
    pub documents: HashMap<String, Arc<Stored<IndexedDocument>>>,
    pub document_tombstones: HashMap<String, u64>,
    pub bytes: usize,
    pub records: usize,
    pub oldest: Option<Instant>,
    pub last_applied_lsn: u64,
}

/// What one flush writes to Lance.
#[derive(Default)]
pub struct FlushSet {
    pub states: Vec<Arc<Stored<AgentState>>>,
    pub snapshots: Vec<Arc<Stored<Snapshot>>>,
    pub deletes: Vec<(u64, u64)>, // agent, lsn
    /// New memories, with their patches up to the flush point applied.
    pub memories: Vec<Stored<Memory>>,
    /// Patches (up to the flush point) of memories whose base row is in Lance.
    pub memory_patches: Vec<(u64, Vec<(u64, MemoryPatch)>)>,
    pub memory_deletes: Vec<u64>,
    /// Per collection: rows to write, ids to remove from Lance first.
    pub vectors: Vec<(String, Vec<Arc<Stored<VectorRecord>>>, Vec<String>)>,
    pub documents: Vec<Arc<Stored<IndexedDocument>>>,
    /// Documents whose old rows go before the new ones are added.
    pub documents_replaced: Vec<String>,
}

impl FlushSet {
    pub fn is_empty(&self) -> bool {
        self.states.is_empty()
            && self.snapshots.is_empty()
            && self.deletes.is_empty()
            && self.memories.is_empty()
            && self.memory_patches.is_empty()
            && self.memory_deletes.is_empty()
            && self.vectors.is_empty()
            && self.documents.is_empty()
            && self.documents_replaced.is_empty()
    }
}

const SNAPSHOT_FOOTPRINT_BYTES: usize = 128;

/// Drops entries whose LSN is ≤ `upto`; returns how many went.
fn retain_after<K: std::hash::Hash + Eq>(map: &mut HashMap<K, u64>, upto: u64) -> usize {
    let before = map.len();
    map.retain(|_, l| *l > upto);
    before - map.len()
}
const PATCH_FOOTPRINT_BYTES: usize = 64;

fn document_footprint(d: &IndexedDocument) -> usize {
    256 + d.chunks.iter().map(|(c, v)| c.text.len() + v.len() * 4 + 64).sum::<usize>()
}

fn vector_footprint(r: &VectorRecord) -> usize {
    96 + r.id.len() + r.vector.len() * 4 + r.metadata.iter().map(|(k, v)| k.len() + v.len() + 48).sum::<usize>()
}

impl Memtable {
    pub fn apply(&mut self, lsn: u64, entry: WalEntry) {
        debug_assert!(lsn > self.last_applied_lsn, "memtable LSNs must increase");
        self.last_applied_lsn = lsn;
        if self.oldest.is_none() {
            self.oldest = Some(Instant::now());
        }
        match entry {
            WalEntry::States(StateRecord::Save(state)) => {
                self.bytes += state.footprint();
                self.records += 1;
                let key = (state.agent_id, state.session_id, state.version);
                let prev = self.states.insert(key, Arc::new(Stored { lsn, value: state }));
                debug_assert!(prev.is_none(), "a state version is written once");
            }
            WalEntry::States(StateRecord::CreateSnapshot(snap)) => {
                self.bytes += SNAPSHOT_FOOTPRINT_BYTES;
                self.records += 1;
                self.snapshots.insert((snap.agent_id, snap.name.clone()), Arc::new(Stored { lsn, value: snap }));
            }
            WalEntry::States(StateRecord::DeleteAgent { agent_id }) => {
                let doomed: Vec<StateKey> =
                    self.states.range((agent_id, 0, 0)..=(agent_id, u64::MAX, u64::MAX)).map(|(k, _)| *k).collect();
                for k in doomed {
                    if let Some(s) = self.states.remove(&k) {
                        self.bytes -= s.value.footprint();
                        self.records -= 1;
                    }
                }
                let doomed: Vec<SnapshotKey> = self
                    .snapshots
                    .range((agent_id, String::new())..)
                    .take_while(|(k, _)| k.0 == agent_id)
                    .map(|(k, _)| k.clone())
                    .collect();
                for k in doomed {
                    self.snapshots.remove(&k);
                    self.bytes -= SNAPSHOT_FOOTPRINT_BYTES;
                    self.records -= 1;
                }
                self.agent_tombstones.insert(agent_id, lsn);
                self.records += 1;
            }
            WalEntry::Memories(MemoryRecord::Delete { ids }) => self.delete_memories(lsn, ids),
            WalEntry::Memories(MemoryRecord::Store { memory, delete }) => {
                debug_assert!(!delete.contains(&lsn), "a memory cannot absorb itself");
                self.delete_memories(lsn, delete);
                self.store_memory(lsn, memory);
            }
            WalEntry::Memories(MemoryRecord::Update { ids, patch, delete }) => {
                debug_assert!(ids.iter().all(|id| !delete.contains(id)), "a survivor cannot be deleted by its own merge");
                self.patch_memories(lsn, ids, &patch);
                self.delete_memories(lsn, delete);
            }
            WalEntry::Vectors(VectorLogRecord::Upsert { collection, rows }) => {
                let cm = self.vectors.entry(collection).or_default();
                for row in rows {
                    if cm.tombstones.remove(&row.id).is_some() {
                        self.records -= 1;
                    }
                    self.bytes += vector_footprint(&row);
                    self.records += 1;
                    if let Some(old) = cm.rows.insert(row.id.clone(), Arc::new(Stored { lsn, value: row })) {
                        self.bytes -= vector_footprint(&old.value);
                        self.records -= 1;
                    }
                }
            }
            WalEntry::Rag(RagRecord::Index(doc)) => {
                let id = doc.info.doc_id.clone();
                if self.document_tombstones.remove(&id).is_some() {
                    self.records -= 1;
                }
                self.bytes += document_footprint(&doc);
                self.records += 1;
                if let Some(old) = self.documents.insert(id, Arc::new(Stored { lsn, value: doc })) {
                    self.bytes -= document_footprint(&old.value);
                    self.records -= 1;
                }
            }
            WalEntry::Rag(RagRecord::Delete { doc_id }) => {
                if let Some(old) = self.documents.remove(&doc_id) {
                    self.bytes -= document_footprint(&old.value);
                    self.records -= 1;
                }
                if self.document_tombstones.insert(doc_id, lsn).is_none() {
                    self.records += 1;
                }
            }
            WalEntry::Vectors(VectorLogRecord::Delete { collection, ids }) => {
                let cm = self.vectors.entry(collection).or_default();
                for id in ids {
                    if let Some(old) = cm.rows.remove(&id) {
                        self.bytes -= vector_footprint(&old.value);
                        self.records -= 1;
                    }
                    self.records += 1;
                    if cm.tombstones.insert(id, lsn).is_some() {
                        self.records -= 1;
                    }
                }
            }
        }
    }

    fn store_memory(&mut self, lsn: u64, mut memory: Memory) {
        memory.memory_id = lsn;
        self.memory_dedup.insert(crate::memories::dedup_fingerprint(&memory), lsn, crate::memories::group_of(&memory));
        self.bytes += memory.footprint();
        self.records += 1;
        self.memories.insert(lsn, Arc::new(Stored { lsn, value: memory }));
    }

    fn patch_memories(&mut self, lsn: u64, ids: Vec<u64>, patch: &MemoryPatch) {
        for id in ids {
            if self.memory_tombstones.contains_key(&id) {
                continue;
            }
            self.bytes += PATCH_FOOTPRINT_BYTES;
            self.records += 1;
            self.memory_patches.entry(id).or_default().push((lsn, patch.clone()));
        }
    }

    fn delete_memories(&mut self, lsn: u64, ids: Vec<u64>) {
        for id in ids {
            if let Some(m) = self.memories.remove(&id) {
                // Deletes of flushed memories leave the index at the flush
                // that removes their rows (which knows their fingerprints).
                self.memory_dedup.remove(crate::memories::dedup_fingerprint(&m.value), id, crate::memories::group_of(&m.value));
                self.bytes -= m.value.footprint();
                self.records -= 1;
            }
            if let Some(p) = self.memory_patches.remove(&id) {
                self.bytes -= p.len() * PATCH_FOOTPRINT_BYTES;
                self.records -= p.len();
            }
            if self.memory_tombstones.insert(id, lsn).is_none() {
                self.records += 1;
            }
        }
    }

    /// A memory as the memtable knows it: `Some(None)` if deleted, `None` if
    /// only Lance can tell (the caller then applies `patches_of`).
    pub fn memory(&self, id: u64) -> Option<Option<Stored<Memory>>> {
        if self.memory_tombstones.contains_key(&id) {
            return Some(None);
        }
        self.memories.get(&id).map(|m| Some(compose(m, self.patches_of(id))))
    }

    pub fn patches_of(&self, id: u64) -> &[(u64, MemoryPatch)] {
        self.memory_patches.get(&id).map_or(&[], |v| v.as_slice())
    }

    /// Everything a flush up to `upto` must write.
    pub fn collect_through(&self, upto: u64) -> FlushSet {
        FlushSet {
            states: self.states.values().filter(|s| s.lsn <= upto).cloned().collect(),
            snapshots: self.snapshots.values().filter(|s| s.lsn <= upto).cloned().collect(),
            deletes: self.agent_tombstones.iter().filter(|(_, l)| **l <= upto).map(|(a, l)| (*a, *l)).collect(),
            memories: self
                .memories
                .values()
                .filter(|m| m.lsn <= upto)
                .map(|m| {
                    let upto_patches: Vec<_> = self.patches_of(m.lsn).iter().filter(|p| p.0 <= upto).cloned().collect();
                    compose(m, &upto_patches)
                })
                .collect(),
            memory_patches: self
                .memory_patches
                .iter()
                .filter(|(id, _)| !self.memories.contains_key(id))
                .map(|(id, ps)| (*id, ps.iter().filter(|p| p.0 <= upto).cloned().collect::<Vec<_>>()))
                .filter(|(_, ps)| !ps.is_empty())
                .collect(),
            memory_deletes: self.memory_tombstones.iter().filter(|(_, l)| **l <= upto).map(|(id, _)| *id).collect(),
            vectors: self
                .vectors
                .iter()
                .map(|(name, cm)| {
                    let rows: Vec<_> = cm.rows.values().filter(|r| r.lsn <= upto).cloned().collect();
                    let mut doomed: Vec<String> = rows.iter().map(|r| r.value.id.clone()).collect();
                    doomed.extend(cm.tombstones.iter().filter(|(_, l)| **l <= upto).map(|(id, _)| id.clone()));
                    (name.clone(), rows, doomed)
                })
                .filter(|(_, rows, doomed)| !rows.is_empty() || !doomed.is_empty())
                .collect(),
            documents: self.documents.values().filter(|d| d.lsn <= upto).cloned().collect(),
            documents_replaced: self
                .documents
                .values()
                .filter(|d| d.lsn <= upto)
                .map(|d| d.value.info.doc_id.clone())
                .chain(self.document_tombstones.iter().filter(|(_, l)| **l <= upto).map(|(id, _)| id.clone()))
                .collect(),
        }
    }

    /// Drops what a committed flush up to `upto` made durable in Lance.
    pub fn drain_through(&mut self, upto: u64) {
        let mut freed_bytes = 0;
        let mut freed_records = 0;
        self.states.retain(|_, s| {
            let keep = s.lsn > upto;
            if !keep {
                freed_bytes += s.value.footprint();
                freed_records += 1;
            }
            keep
        });
        self.snapshots.retain(|_, s| {
            let keep = s.lsn > upto;
            if !keep {
                freed_bytes += SNAPSHOT_FOOTPRINT_BYTES;
                freed_records += 1;
            }
            keep
        });
        freed_records += retain_after(&mut self.agent_tombstones, upto);
        self.memories.retain(|_, m| {
            let keep = m.lsn > upto;
            if !keep {
                freed_bytes += m.value.footprint();
                freed_records += 1;
            }
            keep
        });
        self.memory_patches.retain(|_, ps| {
            let before = ps.len();
            ps.retain(|p| p.0 > upto);
            freed_bytes += (before - ps.len()) * PATCH_FOOTPRINT_BYTES;
            freed_records += before - ps.len();
            !ps.is_empty()
        });
        freed_records += retain_after(&mut self.memory_tombstones, upto);
        for cm in self.vectors.values_mut() {
            cm.rows.retain(|_, r| {
                let keep = r.lsn > upto;
                if !keep {
                    freed_bytes += vector_footprint(&r.value);
                    freed_records += 1;
                }
                keep
            });
            freed_records += retain_after(&mut cm.tombstones, upto);
        }
        self.vectors.retain(|_, cm| !cm.rows.is_empty() || !cm.tombstones.is_empty());
        self.documents.retain(|_, d| {
            let keep = d.lsn > upto;
            if !keep {
                freed_bytes += document_footprint(&d.value);
                freed_records += 1;
            }
            keep
        });
        freed_records += retain_after(&mut self.document_tombstones, upto);
        self.bytes -= freed_bytes;
        self.records -= freed_records;
        self.oldest = if self.records == 0 { None } else { Some(Instant::now()) };
    }

    pub fn tombstone(&self, agent_id: u64) -> Option<u64> {
        self.agent_tombstones.get(&agent_id).copied()
    }

    /// States of one agent (optionally one session), in key order.
    pub fn states_of(&self, agent_id: u64, session_id: Option<u64>) -> Vec<Arc<Stored<AgentState>>> {
        let range = match session_id {
            Some(s) => (agent_id, s, 0)..=(agent_id, s, u64::MAX),
            None => (agent_id, 0, 0)..=(agent_id, u64::MAX, u64::MAX),
        };
        self.states.range(range).map(|(_, v)| v.clone()).collect()
    }

    pub fn snapshots_of(&self, agent_id: u64) -> Vec<Arc<Stored<Snapshot>>> {
        self.snapshots
            .range((agent_id, String::new())..)
            .take_while(|(k, _)| k.0 == agent_id)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Records of the first releases (captured from them) in a legacy
    // segment: a log left by a crash of those versions must still replay.
    const OLD_STORE_MEMORY: [u8; 49] = [
        3, 0, 7, 0, 6, 104, 195, 169, 108, 108, 111, 2, 0, 0, 0, 63, 0, 0, 128, 191, 0, 0, 128, 62, 3, 246, 161, 171,
        254, 249, 98, 128, 160, 171, 254, 249, 98, 1, 128, 192, 226, 133, 227, 104, 1, 1, 107, 1, 118,
    ];
    const OLD_PATCH_MEMORIES: [u8; 18] = [4, 2, 5, 172, 2, 1, 0, 0, 64, 63, 2, 1, 206, 175, 171, 254, 249, 98];
    const OLD_DELETE_MEMORIES: [u8; 3] = [5, 1, 9];

    #[test]
    fn memory_records_of_the_first_releases_still_replay() {
        let legacy = |b: &[u8]| WalEntry::decode(b, SegmentFormat::Legacy).unwrap();
        let mut m = Memtable::default();
        m.apply(10, legacy(&OLD_STORE_MEMORY));
        m.apply(11, legacy(&OLD_PATCH_MEMORIES));
        let stored = m.memory(10).unwrap().unwrap().value;
        assert_eq!((stored.agent_id, stored.content.as_str(), stored.embedding.as_slice()), (7, "héllo", &[0.5, -1.0][..]));
        assert_eq!(stored.expires_at_ms, Some(1_800_000_000_000));
        assert_eq!(stored.metadata["k"], "v");
        assert!(!stored.pinned);
        match legacy(&OLD_PATCH_MEMORIES) {
            WalEntry::Memories(MemoryRecord::Update { ids, patch, delete }) => {
                assert_eq!(ids, vec![5, 300]);
                assert_eq!(
                    patch,
                    MemoryPatch {
                        importance: Some(0.75),
                        access_increment: 2,
                        last_access_ms: Some(1_700_000_000_999),
                        ..Default::default()
                    }
                );
                assert!(delete.is_empty());
            }
            other => panic!("decoded {other:?}"),
        }
        assert!(matches!(legacy(&OLD_DELETE_MEMORIES), WalEntry::Memories(MemoryRecord::Delete { ids }) if ids == vec![9]));
        // Every kind of the first releases decodes to the same record as its
        // enveloped form (the legacy body is the version-1/2 body).
        for entry in [legacy(&OLD_STORE_MEMORY), legacy(&OLD_PATCH_MEMORIES), legacy(&OLD_DELETE_MEMORIES)] {
            let again = WalEntry::decode(&entry.encode().unwrap(), SegmentFormat::Enveloped).unwrap();
            match (&entry, &again) {
                // Version 1 stores upgrade to version 2 (pinned: false) on re-encoding.
                (WalEntry::Memories(MemoryRecord::Store { memory: a, .. }), WalEntry::Memories(MemoryRecord::Store { memory: b, .. })) => {
                    assert_eq!(a, b)
                }
                _ => assert_eq!(entry, again),
            }
        }
    }

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
        let mut m = Memtable::default();
        let store = |delete: Vec<u64>| WalEntry::Memories(MemoryRecord::Store { memory: memory(1), delete });
        m.apply(1, store(vec![]));
        m.apply(2, store(vec![]));
        let bytes = store(vec![1, 2]).encode().unwrap();
        m.apply(3, WalEntry::decode(&bytes, SegmentFormat::Enveloped).unwrap());
        assert!(matches!(m.memory(1), Some(None)) && matches!(m.memory(2), Some(None)));
        assert_eq!(m.memory(3).unwrap().unwrap().value.memory_id, 3);
        let patch = MemoryPatch { pinned: Some(true), absorbs_own_record: true, ..Default::default() };
        m.apply(4, WalEntry::Memories(MemoryRecord::Update { ids: vec![3], patch, delete: vec![] }));
        let merged = m.memory(3).unwrap().unwrap();
        assert!(merged.value.pinned);
        assert_eq!((merged.lsn, merged.value.absorbed_ids()), (4, vec![4]));
        // Records count: 3 memories − 2 deleted + 2 tombstones + 1 patch.
        assert_eq!(m.records, 4);
        m.drain_through(4);
        assert_eq!((m.records, m.bytes), (0, 0));
    }
}
