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

use serde::{Deserialize, Serialize};

use crate::states::{AgentState, Snapshot};
use crate::storage::tables::Stored;
use crate::{Error, Result};

/// One logical write, as framed in the WAL.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum WalEntry {
    SaveState(AgentState),
    CreateSnapshot(Snapshot),
    /// Removes every state and snapshot of the agent written before this record.
    DeleteAgent { agent_id: u64 },
}

impl WalEntry {
    pub fn encode(&self) -> Result<Vec<u8>> {
        postcard::to_stdvec(self).map_err(|e| Error::invalid(format!("cannot encode WAL entry: {e}")))
    }
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        postcard::from_bytes(bytes).map_err(|e| Error::corrupted(format!("undecodable WAL entry: {e}")))
    }
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
}

impl FlushSet {
    pub fn is_empty(&self) -> bool {
        self.states.is_empty() && self.snapshots.is_empty() && self.deletes.is_empty()
    }
}

const SNAPSHOT_FOOTPRINT_BYTES: usize = 128;

impl Memtable {
    pub fn apply(&mut self, lsn: u64, entry: WalEntry) {
        debug_assert!(lsn > self.last_applied_lsn, "memtable LSNs must increase");
        self.last_applied_lsn = lsn;
        if self.oldest.is_none() {
            self.oldest = Some(Instant::now());
        }
        match entry {
            WalEntry::SaveState(state) => {
                self.bytes += state.footprint();
                self.records += 1;
                let key = (state.agent_id, state.session_id, state.version);
                let prev = self.states.insert(key, Arc::new(Stored { lsn, value: state }));
                debug_assert!(prev.is_none(), "a state version is written once");
            }
            WalEntry::CreateSnapshot(snap) => {
                self.bytes += SNAPSHOT_FOOTPRINT_BYTES;
                self.records += 1;
                self.snapshots.insert((snap.agent_id, snap.name.clone()), Arc::new(Stored { lsn, value: snap }));
            }
            WalEntry::DeleteAgent { agent_id } => {
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
        }
    }

    /// Everything a flush up to `upto` must write.
    pub fn collect_through(&self, upto: u64) -> FlushSet {
        FlushSet {
            states: self.states.values().filter(|s| s.lsn <= upto).cloned().collect(),
            snapshots: self.snapshots.values().filter(|s| s.lsn <= upto).cloned().collect(),
            deletes: self.agent_tombstones.iter().filter(|(_, l)| **l <= upto).map(|(a, l)| (*a, *l)).collect(),
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
        self.agent_tombstones.retain(|_, l| {
            let keep = *l > upto;
            if !keep {
                freed_records += 1;
            }
            keep
        });
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
