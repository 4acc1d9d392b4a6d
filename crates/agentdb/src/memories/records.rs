//! The memory subsystem's WAL records: kinds, and the frozen body layout
//! of every version ever written (see `storage::record` for the rule).
//!
//! Version numbers follow history: version 1 of `STORE_MEMORY` and
//! `UPDATE_MEMORIES` is what releases before memory lifecycle wrote (no
//! `pinned`, no deletes in the same record); version 2 is today's. Both are
//! byte-for-byte the postcard `WalEntry` variants of their time.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::memtable::MemoryPatch;
use super::{Memory, MemoryType};
use crate::storage::memtable::LogRecord;
use crate::storage::record::{self, RecordKind};
use crate::Result;

/// This subsystem's block of record kinds (see `storage::record::RecordKind`).
pub const BLOCK: u8 = 0x20;

pub const STORE_MEMORY: RecordKind = RecordKind(BLOCK);
pub const UPDATE_MEMORIES: RecordKind = RecordKind(BLOCK + 1);
pub const DELETE_MEMORIES: RecordKind = RecordKind(BLOCK + 2);

/// A memory subsystem write, as logged.
#[derive(Debug, Clone, PartialEq)]
pub enum MemoryRecord {
    /// A new memory (its id is this record's LSN) and the memories it
    /// absorbed or evicted, removed by the same record: after a crash
    /// either all of it happened or none of it.
    Store { memory: Memory, delete: Vec<u64> },
    /// A delta applied to `ids` and the removal of `delete`, as one record
    /// (a merge into an existing memory, a duplicate's refresh, a pin).
    Update { ids: Vec<u64>, patch: MemoryPatch, delete: Vec<u64> },
    /// Removes memories (ids are never reused, so no LSN bound is needed).
    Delete { ids: Vec<u64> },
}

/// `MemoryType` as numbered in record bodies: never renumbered.
#[derive(Serialize, Deserialize)]
enum MemoryTypeV1 {
    Episodic,
    Semantic,
    Procedural,
    Working,
}

impl From<MemoryType> for MemoryTypeV1 {
    fn from(t: MemoryType) -> Self {
        match t {
            MemoryType::Episodic => MemoryTypeV1::Episodic,
            MemoryType::Semantic => MemoryTypeV1::Semantic,
            MemoryType::Procedural => MemoryTypeV1::Procedural,
            MemoryType::Working => MemoryTypeV1::Working,
        }
    }
}

impl From<MemoryTypeV1> for MemoryType {
    fn from(t: MemoryTypeV1) -> Self {
        match t {
            MemoryTypeV1::Episodic => MemoryType::Episodic,
            MemoryTypeV1::Semantic => MemoryType::Semantic,
            MemoryTypeV1::Procedural => MemoryType::Procedural,
            MemoryTypeV1::Working => MemoryType::Working,
        }
    }
}

/// A memory as version 1 wrote it (no `pinned`).
#[derive(Serialize, Deserialize)]
struct MemoryV1 {
    memory_id: u64,
    agent_id: u64,
    memory_type: MemoryTypeV1,
    content: String,
    embedding: Vec<f32>,
    importance: f32,
    access_count: u64,
    last_access_ms: i64,
    created_at_ms: i64,
    expires_at_ms: Option<i64>,
    metadata: BTreeMap<String, String>,
}

// Borrowed when encoding (no copy of the embedding), owned when decoding.
#[derive(Serialize, Deserialize)]
struct MemoryV2<'a> {
    memory_id: u64,
    agent_id: u64,
    memory_type: MemoryTypeV1,
    content: Cow<'a, str>,
    embedding: Cow<'a, [f32]>,
    importance: f32,
    access_count: u64,
    last_access_ms: i64,
    created_at_ms: i64,
    expires_at_ms: Option<i64>,
    metadata: Cow<'a, BTreeMap<String, String>>,
    pinned: bool,
}

#[derive(Serialize, Deserialize)]
struct StoreMemoryV2<'a> {
    memory: MemoryV2<'a>,
    delete: Cow<'a, [u64]>,
}

#[derive(Serialize, Deserialize)]
struct PatchV1 {
    importance: Option<f32>,
    access_increment: u64,
    last_access_ms: Option<i64>,
}

#[derive(Serialize, Deserialize)]
struct UpdateMemoriesV1 {
    ids: Vec<u64>,
    patch: PatchV1,
}

#[derive(Serialize, Deserialize)]
struct PatchV2 {
    importance: Option<f32>,
    access_increment: u64,
    last_access_ms: Option<i64>,
    importance_floor: Option<f32>,
    pinned: Option<bool>,
    expires_at_ms: Option<Option<i64>>,
    metadata_defaults: BTreeMap<String, String>,
    absorbed_ids: Vec<u64>,
    absorbs_own_record: bool,
}

#[derive(Serialize, Deserialize)]
struct UpdateMemoriesV2 {
    ids: Vec<u64>,
    patch: PatchV2,
    delete: Vec<u64>,
}

#[derive(Serialize, Deserialize)]
struct DeleteMemoriesV1 {
    ids: Vec<u64>,
}

impl LogRecord for MemoryRecord {
    const BLOCK: u8 = BLOCK;
    /// The first releases' postcard `WalEntry` variants that are these kinds.
    const LEGACY_VARIANTS: &'static [(u8, RecordKind, u8)] = &[
        (3, STORE_MEMORY, 1),
        (4, UPDATE_MEMORIES, 1),
        (5, DELETE_MEMORIES, 1),
        (10, STORE_MEMORY, 2),
        (11, UPDATE_MEMORIES, 2),
    ];

    fn encode(&self) -> Result<Vec<u8>> {
        match self {
            MemoryRecord::Store { memory: m, delete } => record::encode(
                STORE_MEMORY,
                2,
                &StoreMemoryV2 {
                    memory: MemoryV2 {
                        memory_id: m.memory_id,
                        agent_id: m.agent_id,
                        memory_type: m.memory_type.into(),
                        content: Cow::Borrowed(&m.content),
                        embedding: Cow::Borrowed(&m.embedding),
                        importance: m.importance,
                        access_count: m.access_count,
                        last_access_ms: m.last_access_ms,
                        created_at_ms: m.created_at_ms,
                        expires_at_ms: m.expires_at_ms,
                        metadata: Cow::Borrowed(&m.metadata),
                        pinned: m.pinned,
                    },
                    delete: Cow::Borrowed(delete),
                },
            ),
            MemoryRecord::Update { ids, patch: p, delete } => record::encode(
                UPDATE_MEMORIES,
                2,
                &UpdateMemoriesV2 {
                    ids: ids.clone(),
                    patch: PatchV2 {
                        importance: p.importance,
                        access_increment: p.access_increment,
                        last_access_ms: p.last_access_ms,
                        importance_floor: p.importance_floor,
                        pinned: p.pinned,
                        expires_at_ms: p.expires_at_ms,
                        metadata_defaults: p.metadata_defaults.clone(),
                        absorbed_ids: p.absorbed_ids.clone(),
                        absorbs_own_record: p.absorbs_own_record,
                    },
                    delete: delete.clone(),
                },
            ),
            MemoryRecord::Delete { ids } => record::encode(DELETE_MEMORIES, 1, &DeleteMemoriesV1 { ids: ids.clone() }),
        }
    }

    fn decode(kind: RecordKind, version: u8, body: &[u8]) -> Result<MemoryRecord> {
        Ok(match (kind, version) {
            (STORE_MEMORY, 1) => {
                let m: MemoryV1 = record::decode_body(kind, version, body)?;
                let memory = Memory {
                    memory_id: m.memory_id,
                    agent_id: m.agent_id,
                    memory_type: m.memory_type.into(),
                    content: m.content,
                    embedding: m.embedding,
                    importance: m.importance,
                    access_count: m.access_count,
                    last_access_ms: m.last_access_ms,
                    created_at_ms: m.created_at_ms,
                    expires_at_ms: m.expires_at_ms,
                    metadata: m.metadata,
                    pinned: false,
                };
                MemoryRecord::Store { memory, delete: Vec::new() }
            }
            (STORE_MEMORY, 2) => {
                let s: StoreMemoryV2 = record::decode_body(kind, version, body)?;
                let m = s.memory;
                let memory = Memory {
                    memory_id: m.memory_id,
                    agent_id: m.agent_id,
                    memory_type: m.memory_type.into(),
                    content: m.content.into_owned(),
                    embedding: m.embedding.into_owned(),
                    importance: m.importance,
                    access_count: m.access_count,
                    last_access_ms: m.last_access_ms,
                    created_at_ms: m.created_at_ms,
                    expires_at_ms: m.expires_at_ms,
                    metadata: m.metadata.into_owned(),
                    pinned: m.pinned,
                };
                MemoryRecord::Store { memory, delete: s.delete.into_owned() }
            }
            (UPDATE_MEMORIES, 1) => {
                let u: UpdateMemoriesV1 = record::decode_body(kind, version, body)?;
                let patch = MemoryPatch {
                    importance: u.patch.importance,
                    access_increment: u.patch.access_increment,
                    last_access_ms: u.patch.last_access_ms,
                    ..Default::default()
                };
                MemoryRecord::Update { ids: u.ids, patch, delete: Vec::new() }
            }
            (UPDATE_MEMORIES, 2) => {
                let u: UpdateMemoriesV2 = record::decode_body(kind, version, body)?;
                let p = u.patch;
                let patch = MemoryPatch {
                    importance: p.importance,
                    access_increment: p.access_increment,
                    last_access_ms: p.last_access_ms,
                    importance_floor: p.importance_floor,
                    pinned: p.pinned,
                    expires_at_ms: p.expires_at_ms,
                    metadata_defaults: p.metadata_defaults,
                    absorbed_ids: p.absorbed_ids,
                    absorbs_own_record: p.absorbs_own_record,
                };
                MemoryRecord::Update { ids: u.ids, patch, delete: u.delete }
            }
            (DELETE_MEMORIES, 1) => {
                let d: DeleteMemoriesV1 = record::decode_body(kind, version, body)?;
                MemoryRecord::Delete { ids: d.ids }
            }
            _ => return Err(record::unknown(kind, version)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memory() -> Memory {
        Memory {
            memory_id: 0,
            agent_id: 7,
            memory_type: MemoryType::Semantic,
            content: "hé".into(),
            embedding: vec![0.5, -1.0],
            importance: 0.25,
            access_count: 3,
            last_access_ms: 1_700_000_000_123,
            created_at_ms: 1_700_000_000_000,
            expires_at_ms: None,
            metadata: BTreeMap::from([("k".to_string(), "v".to_string())]),
            pinned: true,
        }
    }

    /// Golden bytes: if one of these changes, existing logs no longer decode.
    /// Add a new version instead.
    #[test]
    fn golden_bytes_of_every_memory_record_kind_and_version() {
        let patch = MemoryPatch {
            importance: Some(0.75),
            access_increment: 2,
            last_access_ms: None,
            importance_floor: None,
            pinned: Some(true),
            expires_at_ms: Some(None),
            metadata_defaults: BTreeMap::new(),
            absorbed_ids: vec![5],
            absorbs_own_record: true,
        };
        let cases: Vec<(MemoryRecord, Vec<u8>)> = vec![
            (
                MemoryRecord::Store { memory: memory(), delete: vec![4] },
                vec![
                    0x20, 2, 0, 7, 1, 3, b'h', 0xC3, 0xA9, 2, 0, 0, 0, 63, 0, 0, 128, 191, 0, 0, 128, 62, 3, 246, 161,
                    171, 254, 249, 98, 128, 160, 171, 254, 249, 98, 0, 1, 1, b'k', 1, b'v', 1, 1, 4,
                ],
            ),
            (
                MemoryRecord::Update { ids: vec![5, 300], patch, delete: vec![9] },
                vec![0x21, 2, 2, 5, 172, 2, 1, 0, 0, 64, 63, 2, 0, 0, 1, 1, 1, 0, 0, 1, 5, 1, 1, 9],
            ),
            (MemoryRecord::Delete { ids: vec![9] }, vec![0x22, 1, 1, 9]),
        ];
        for (rec, golden) in cases {
            let bytes = rec.encode().unwrap();
            assert_eq!(bytes, golden, "{rec:?}");
            let (kind, version, body) = record::split(&bytes).unwrap();
            assert_eq!(MemoryRecord::decode(kind, version, body).unwrap(), rec);
        }
    }

    /// Version 1 bodies (captured from the release before memory lifecycle)
    /// still decode.
    #[test]
    fn version_1_memory_records_decode() {
        let store_v1 = [
            0, 7, 0, 6, 104, 195, 169, 108, 108, 111, 2, 0, 0, 0, 63, 0, 0, 128, 191, 0, 0, 128, 62, 3, 246, 161, 171,
            254, 249, 98, 128, 160, 171, 254, 249, 98, 1, 128, 192, 226, 133, 227, 104, 1, 1, 107, 1, 118,
        ];
        match MemoryRecord::decode(STORE_MEMORY, 1, &store_v1).unwrap() {
            MemoryRecord::Store { memory, delete } => {
                assert_eq!((memory.agent_id, memory.content.as_str()), (7, "héllo"));
                assert_eq!(memory.embedding, vec![0.5, -1.0]);
                assert_eq!(memory.expires_at_ms, Some(1_800_000_000_000));
                assert!(!memory.pinned && delete.is_empty());
            }
            other => panic!("{other:?}"),
        }
        let update_v1 = [2, 5, 172, 2, 1, 0, 0, 64, 63, 2, 1, 206, 175, 171, 254, 249, 98];
        match MemoryRecord::decode(UPDATE_MEMORIES, 1, &update_v1).unwrap() {
            MemoryRecord::Update { ids, patch, delete } => {
                assert_eq!(ids, vec![5, 300]);
                assert_eq!(patch.importance, Some(0.75));
                assert_eq!((patch.access_increment, patch.last_access_ms), (2, Some(1_700_000_000_999)));
                assert!(delete.is_empty());
            }
            other => panic!("{other:?}"),
        }
    }
}
