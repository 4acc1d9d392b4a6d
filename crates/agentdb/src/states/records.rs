//! The state subsystem's WAL records: kinds, and the frozen body layout of
//! every version ever written (see `storage::record` for the rule).
//!
//! Version 1 of each kind is byte-for-byte the layout the first releases
//! wrote (a postcard `WalEntry` variant's fields), so a log from before
//! record kinds existed replays through the same decoder.

use std::borrow::Cow;
use std::collections::BTreeMap;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::{AgentState, Snapshot, StateType};
use crate::storage::memtable::LogRecord;
use crate::storage::record::{self, RecordKind};
use crate::Result;

/// This subsystem's block of record kinds (see `storage::record::RecordKind`).
pub const BLOCK: u8 = 0x10;

pub const SAVE_STATE: RecordKind = RecordKind(BLOCK);
pub const CREATE_SNAPSHOT: RecordKind = RecordKind(BLOCK + 1);
pub const DELETE_AGENT: RecordKind = RecordKind(BLOCK + 2);

/// A state subsystem write, as logged.
#[derive(Debug, Clone, PartialEq)]
pub enum StateRecord {
    Save(AgentState),
    /// Names a version; unique per agent.
    CreateSnapshot(Snapshot),
    /// Removes every state and snapshot of the agent written before this record.
    DeleteAgent {
        agent_id: u64,
    },
}

/// `StateType` as numbered in record bodies: never renumbered.
#[derive(Serialize, Deserialize)]
enum StateTypeV1 {
    WorkingMemory,
    LongTermMemory,
    Context,
    TaskState,
    Relationship,
    Embedding,
}

impl From<StateType> for StateTypeV1 {
    fn from(t: StateType) -> Self {
        match t {
            StateType::WorkingMemory => StateTypeV1::WorkingMemory,
            StateType::LongTermMemory => StateTypeV1::LongTermMemory,
            StateType::Context => StateTypeV1::Context,
            StateType::TaskState => StateTypeV1::TaskState,
            StateType::Relationship => StateTypeV1::Relationship,
            StateType::Embedding => StateTypeV1::Embedding,
        }
    }
}

impl From<StateTypeV1> for StateType {
    fn from(t: StateTypeV1) -> Self {
        match t {
            StateTypeV1::WorkingMemory => StateType::WorkingMemory,
            StateTypeV1::LongTermMemory => StateType::LongTermMemory,
            StateTypeV1::Context => StateType::Context,
            StateTypeV1::TaskState => StateType::TaskState,
            StateTypeV1::Relationship => StateType::Relationship,
            StateTypeV1::Embedding => StateType::Embedding,
        }
    }
}

// Metadata borrowed when encoding; `Bytes` clones are reference counts.
#[derive(Serialize, Deserialize)]
struct SaveStateV1<'a> {
    agent_id: u64,
    session_id: u64,
    version: u64,
    timestamp_ms: i64,
    state_type: StateTypeV1,
    data: Bytes,
    metadata: Cow<'a, BTreeMap<String, String>>,
    checksum: u32,
}

/// Version 2: version 1 plus the caller's key. postcard writes a nested
/// struct's fields in place, so this is byte-for-byte version 1's fields
/// followed by the key. Written only for keyed saves, so a database that
/// never uses keys keeps version-1 logs.
#[derive(Serialize, Deserialize)]
struct SaveStateV2<'a> {
    state: SaveStateV1<'a>,
    key: Cow<'a, str>,
}

impl<'a> SaveStateV1<'a> {
    fn of(s: &'a AgentState) -> Self {
        SaveStateV1 {
            agent_id: s.agent_id,
            session_id: s.session_id,
            version: s.version,
            timestamp_ms: s.timestamp_ms,
            state_type: s.state_type.into(),
            data: s.data.clone(),
            metadata: Cow::Borrowed(&s.metadata),
            checksum: s.checksum,
        }
    }

    fn into_state(self, key: Option<String>) -> AgentState {
        AgentState {
            agent_id: self.agent_id,
            session_id: self.session_id,
            version: self.version,
            timestamp_ms: self.timestamp_ms,
            state_type: self.state_type.into(),
            data: self.data,
            metadata: self.metadata.into_owned(),
            checksum: self.checksum,
            key,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct SnapshotV1 {
    agent_id: u64,
    session_id: u64,
    name: String,
    version: u64,
    created_at_ms: i64,
}

#[derive(Serialize, Deserialize)]
struct DeleteAgentV1 {
    agent_id: u64,
}

impl LogRecord for StateRecord {
    const BLOCK: u8 = BLOCK;
    /// The first releases' postcard `WalEntry` variants that are these kinds.
    const LEGACY_VARIANTS: &'static [(u8, RecordKind, u8)] =
        &[(0, SAVE_STATE, 1), (1, CREATE_SNAPSHOT, 1), (2, DELETE_AGENT, 1)];

    fn encode(&self) -> Result<Vec<u8>> {
        match self {
            StateRecord::Save(s @ AgentState { key: Some(key), .. }) => {
                record::encode(SAVE_STATE, 2, &SaveStateV2 { state: SaveStateV1::of(s), key: Cow::Borrowed(key) })
            }
            StateRecord::Save(s) => record::encode(SAVE_STATE, 1, &SaveStateV1::of(s)),
            StateRecord::CreateSnapshot(s) => record::encode(
                CREATE_SNAPSHOT,
                1,
                &SnapshotV1 {
                    agent_id: s.agent_id,
                    session_id: s.session_id,
                    name: s.name.clone(),
                    version: s.version,
                    created_at_ms: s.created_at_ms,
                },
            ),
            StateRecord::DeleteAgent { agent_id } => {
                record::encode(DELETE_AGENT, 1, &DeleteAgentV1 { agent_id: *agent_id })
            }
        }
    }

    fn decode(kind: RecordKind, version: u8, body: &[u8]) -> Result<StateRecord> {
        Ok(match (kind, version) {
            (SAVE_STATE, 1) => {
                let s: SaveStateV1 = record::decode_body(kind, version, body)?;
                StateRecord::Save(s.into_state(None))
            }
            (SAVE_STATE, 2) => {
                let s: SaveStateV2 = record::decode_body(kind, version, body)?;
                StateRecord::Save(s.state.into_state(Some(s.key.into_owned())))
            }
            (CREATE_SNAPSHOT, 1) => {
                let s: SnapshotV1 = record::decode_body(kind, version, body)?;
                StateRecord::CreateSnapshot(Snapshot {
                    agent_id: s.agent_id,
                    session_id: s.session_id,
                    name: s.name,
                    version: s.version,
                    created_at_ms: s.created_at_ms,
                })
            }
            (DELETE_AGENT, 1) => {
                let d: DeleteAgentV1 = record::decode_body(kind, version, body)?;
                StateRecord::DeleteAgent { agent_id: d.agent_id }
            }
            _ => return Err(record::unknown(kind, version)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> AgentState {
        AgentState {
            agent_id: 7,
            session_id: 2,
            version: 3,
            timestamp_ms: 1_700_000_000_000,
            state_type: StateType::TaskState,
            data: Bytes::from_static(b"hi"),
            metadata: BTreeMap::from([("k".to_string(), "v".to_string())]),
            checksum: 0xDEAD_BEEF,
            key: None,
        }
    }

    /// Golden bytes: if one of these changes, existing logs no longer decode.
    /// Add a new version instead.
    #[test]
    fn golden_bytes_of_every_state_record_kind_and_version() {
        let cases: Vec<(StateRecord, Vec<u8>)> = vec![
            (
                StateRecord::Save(state()),
                vec![
                    0x10, 1, 7, 2, 3, 128, 160, 171, 254, 249, 98, 3, 2, b'h', b'i', 1, 1, b'k', 1, b'v', 239, 253,
                    182, 245, 13,
                ],
            ),
            (
                StateRecord::CreateSnapshot(Snapshot {
                    agent_id: 7,
                    session_id: 2,
                    name: "s1".into(),
                    version: 3,
                    created_at_ms: 1_700_000_000_000,
                }),
                vec![0x11, 1, 7, 2, 2, b's', b'1', 3, 128, 160, 171, 254, 249, 98],
            ),
            (
                StateRecord::Save(AgentState { key: Some("ck-1".into()), ..state() }),
                vec![
                    0x10, 2, 7, 2, 3, 128, 160, 171, 254, 249, 98, 3, 2, b'h', b'i', 1, 1, b'k', 1, b'v', 239, 253,
                    182, 245, 13, 4, b'c', b'k', b'-', b'1',
                ],
            ),
            (StateRecord::DeleteAgent { agent_id: 300 }, vec![0x12, 1, 172, 2]),
        ];
        for (rec, golden) in cases {
            let bytes = rec.encode().unwrap();
            assert_eq!(bytes, golden, "{rec:?}");
            let (kind, version, body) = record::split(&bytes).unwrap();
            assert_eq!(StateRecord::decode(kind, version, body).unwrap(), rec);
        }
    }

    #[test]
    fn unknown_versions_are_corruption_not_garbage() {
        assert!(matches!(StateRecord::decode(SAVE_STATE, 9, &[]), Err(crate::Error::Corrupted(_))));
    }
}
