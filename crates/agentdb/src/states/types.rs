//! Public data types of the agent state subsystem.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// What kind of state an agent saved (from the design).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StateType {
    WorkingMemory,
    LongTermMemory,
    Context,
    TaskState,
    Relationship,
    Embedding,
}

impl StateType {
    pub const ALL: [StateType; 6] = [
        StateType::WorkingMemory,
        StateType::LongTermMemory,
        StateType::Context,
        StateType::TaskState,
        StateType::Relationship,
        StateType::Embedding,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StateType::WorkingMemory => "working_memory",
            StateType::LongTermMemory => "long_term_memory",
            StateType::Context => "context",
            StateType::TaskState => "task_state",
            StateType::Relationship => "relationship",
            StateType::Embedding => "embedding",
        }
    }
}

impl fmt::Display for StateType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for StateType {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        StateType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| Error::invalid(format!("unknown state type {s:?} (expected one of {})", type_list())))
    }
}

fn type_list() -> String {
    StateType::ALL.map(StateType::as_str).join(", ")
}

/// One saved version of an agent's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentState {
    pub agent_id: u64,
    pub session_id: u64,
    /// Assigned by the engine: 1, 2, 3… per (agent, session).
    pub version: u64,
    /// Milliseconds since the Unix epoch, assigned by the engine at save time.
    pub timestamp_ms: i64,
    pub state_type: StateType,
    pub data: Bytes,
    pub metadata: BTreeMap<String, String>,
    /// CRC32C of `data`; verified on every read.
    pub checksum: u32,
    /// The caller's key for this version (`save_state_keyed`), if any:
    /// `load_state_by_key` finds the newest version carrying it.
    pub key: Option<String>,
}

impl AgentState {
    pub(crate) fn verify(&self) -> Result<()> {
        let actual = crc32c::crc32c(&self.data);
        if actual != self.checksum {
            return Err(Error::corrupted(format!(
                "state agent={} session={} version={}: checksum {:08x} != stored {:08x}",
                self.agent_id, self.session_id, self.version, actual, self.checksum
            )));
        }
        Ok(())
    }

    /// Bytes this record costs in the memtable (for flush and backpressure accounting).
    pub(crate) fn footprint(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.data.len()
            + self.metadata.iter().map(|(k, v)| k.len() + v.len() + 48).sum::<usize>()
            + self.key.as_ref().map_or(0, |k| k.len() + 24)
    }
}

/// A named pointer at one version of an (agent, session) state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub agent_id: u64,
    pub session_id: u64,
    pub name: String,
    pub version: u64,
    pub created_at_ms: i64,
}

/// Which versions `query_history` returns (newest first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryQuery {
    pub agent_id: u64,
    /// Restrict to one session; `None` spans every session of the agent.
    pub session_id: Option<u64>,
    /// Inclusive lower bound on `timestamp_ms`.
    pub from_ms: Option<i64>,
    /// Inclusive upper bound on `timestamp_ms`.
    pub to_ms: Option<i64>,
    pub limit: usize,
}

pub use crate::limits::{
    MAX_HISTORY_LIMIT, MAX_METADATA_ENTRIES, MAX_METADATA_KEY_BYTES, MAX_NAME_BYTES, MAX_STATE_KEY_BYTES,
};

impl HistoryQuery {
    pub fn new(agent_id: u64) -> Self {
        HistoryQuery { agent_id, session_id: None, from_ms: None, to_ms: None, limit: 100 }
    }
    pub fn session(mut self, session_id: u64) -> Self {
        self.session_id = Some(session_id);
        self
    }
    pub fn between(mut self, from_ms: Option<i64>, to_ms: Option<i64>) -> Self {
        self.from_ms = from_ms;
        self.to_ms = to_ms;
        self
    }
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.limit == 0 || self.limit > MAX_HISTORY_LIMIT {
            return Err(Error::invalid(format!("history limit must be in 1..={MAX_HISTORY_LIMIT}")));
        }
        if let (Some(f), Some(t)) = (self.from_ms, self.to_ms) {
            if f > t {
                return Err(Error::invalid(format!("history range is empty: from {f} > to {t}")));
            }
        }
        Ok(())
    }
}

/// Snapshot names: 1–128 bytes of `[A-Za-z0-9_.:-]`, so they are safe in
/// file names, URLs and shells.
pub(crate) fn validate_name(kind: &str, name: &str) -> Result<()> {
    if name.is_empty() || name.len() > MAX_NAME_BYTES {
        return Err(Error::invalid(format!("{kind} name must be 1..={MAX_NAME_BYTES} bytes")));
    }
    if let Some(c) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))) {
        return Err(Error::invalid(format!(
            "{kind} name {name:?} contains {c:?}; allowed are ASCII letters, digits, '_', '-', '.', ':'"
        )));
    }
    Ok(())
}

/// State keys: 1..=`MAX_STATE_KEY_BYTES` bytes of any UTF-8 (they are
/// compared exactly and never pasted into a filter).
pub(crate) fn validate_key(key: &str) -> Result<()> {
    if key.is_empty() || key.len() > MAX_STATE_KEY_BYTES {
        return Err(Error::invalid(format!("state key must be 1..={MAX_STATE_KEY_BYTES} bytes")));
    }
    Ok(())
}

pub(crate) fn validate_metadata(metadata: &BTreeMap<String, String>) -> Result<()> {
    if metadata.len() > MAX_METADATA_ENTRIES {
        return Err(Error::invalid(format!("metadata has more than {MAX_METADATA_ENTRIES} entries")));
    }
    if metadata.keys().any(|k| k.is_empty() || k.len() > MAX_METADATA_KEY_BYTES) {
        return Err(Error::invalid(format!("metadata keys must be 1..={MAX_METADATA_KEY_BYTES} bytes")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_type_names_roundtrip() {
        for t in StateType::ALL {
            assert_eq!(t.as_str().parse::<StateType>().unwrap(), t);
        }
        assert!(matches!("bogus".parse::<StateType>(), Err(Error::InvalidArgument(_))));
    }

    #[test]
    fn names_are_restricted() {
        assert!(validate_name("snapshot", "before-refactor_v2.1:a").is_ok());
        for bad in ["", "a b", "x'y", "é", &"n".repeat(129)] {
            assert!(validate_name("snapshot", bad).is_err(), "{bad:?}");
        }
    }
}
