//! The state subsystem's part of the memtable: unflushed versions and
//! snapshots, and agent deletes not yet applied to Lance.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::records::StateRecord;
use super::{AgentState, Snapshot};
use crate::storage::memtable::{drain_tombstones, MemPart, Usage};
use crate::storage::tables::Stored;

pub type StateKey = (u64, u64, u64); // agent, session, version
pub type SnapshotKey = (u64, String); // agent, name
pub type KeyedKey = (u64, u64, String); // agent, session, caller's key

const SNAPSHOT_FOOTPRINT_BYTES: usize = 128;

#[derive(Default)]
pub struct StatesMem {
    pub states: BTreeMap<StateKey, Arc<Stored<AgentState>>>,
    pub snapshots: BTreeMap<SnapshotKey, Arc<Stored<Snapshot>>>,
    /// (agent, session, key) → newest unflushed version carrying the key,
    /// and its LSN: `load_state_by_key` without a scan of `states`.
    pub by_key: HashMap<KeyedKey, (u64, u64)>,
    /// agent → LSN of its latest pending delete. Lance rows of that agent with
    /// a smaller LSN are hidden from reads until the flush deletes them.
    pub agent_tombstones: HashMap<u64, u64>,
    usage: Usage,
}

/// What one flush writes for the state subsystem.
#[derive(Default)]
pub struct StatesFlush {
    pub states: Vec<Arc<Stored<AgentState>>>,
    pub snapshots: Vec<Arc<Stored<Snapshot>>>,
    pub deletes: Vec<(u64, u64)>, // agent, lsn
}

impl MemPart for StatesMem {
    type Record = StateRecord;
    type Flush = StatesFlush;

    fn apply(&mut self, lsn: u64, record: StateRecord) {
        match record {
            StateRecord::Save(state) => {
                self.usage.add(state.footprint());
                let key = (state.agent_id, state.session_id, state.version);
                if let Some(k) = &state.key {
                    let entry = self.by_key.entry((state.agent_id, state.session_id, k.clone())).or_insert((0, 0));
                    if entry.0 < state.version {
                        *entry = (state.version, lsn);
                    }
                }
                let prev = self.states.insert(key, Arc::new(Stored { lsn, value: state }));
                debug_assert!(prev.is_none(), "a state version is written once");
            }
            StateRecord::CreateSnapshot(snap) => {
                self.usage.add(SNAPSHOT_FOOTPRINT_BYTES);
                if let Some(_old) =
                    self.snapshots.insert((snap.agent_id, snap.name.clone()), Arc::new(Stored { lsn, value: snap }))
                {
                    self.usage.remove(SNAPSHOT_FOOTPRINT_BYTES);
                }
            }
            StateRecord::DeleteAgent { agent_id } => {
                let doomed: Vec<StateKey> =
                    self.states.range((agent_id, 0, 0)..=(agent_id, u64::MAX, u64::MAX)).map(|(k, _)| *k).collect();
                for k in doomed {
                    if let Some(s) = self.states.remove(&k) {
                        self.usage.remove(s.value.footprint());
                    }
                }
                self.by_key.retain(|k, _| k.0 != agent_id);
                let doomed: Vec<SnapshotKey> = self
                    .snapshots
                    .range((agent_id, String::new())..)
                    .take_while(|(k, _)| k.0 == agent_id)
                    .map(|(k, _)| k.clone())
                    .collect();
                for k in doomed {
                    self.snapshots.remove(&k);
                    self.usage.remove(SNAPSHOT_FOOTPRINT_BYTES);
                }
                if self.agent_tombstones.insert(agent_id, lsn).is_none() {
                    self.usage.add(0);
                }
            }
        }
    }

    fn collect_through(&self, upto: u64) -> Option<StatesFlush> {
        let set = StatesFlush {
            states: self.states.values().filter(|s| s.lsn <= upto).cloned().collect(),
            snapshots: self.snapshots.values().filter(|s| s.lsn <= upto).cloned().collect(),
            deletes: self.agent_tombstones.iter().filter(|(_, l)| **l <= upto).map(|(a, l)| (*a, *l)).collect(),
        };
        (!set.states.is_empty() || !set.snapshots.is_empty() || !set.deletes.is_empty()).then_some(set)
    }

    fn drain_through(&mut self, upto: u64) {
        let usage = &mut self.usage;
        self.states.retain(|_, s| {
            let keep = s.lsn > upto;
            if !keep {
                usage.remove(s.value.footprint());
            }
            keep
        });
        self.snapshots.retain(|_, s| {
            let keep = s.lsn > upto;
            if !keep {
                usage.remove(SNAPSHOT_FOOTPRINT_BYTES);
            }
            keep
        });
        self.by_key.retain(|_, (_, lsn)| *lsn > upto);
        drain_tombstones(&mut self.agent_tombstones, upto, usage);
    }

    fn usage(&self) -> Usage {
        self.usage
    }
}

impl StatesMem {
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

    /// The newest unflushed version of (agent, session) carrying `key`.
    pub fn by_key(&self, agent_id: u64, session_id: u64, key: &str) -> Option<Arc<Stored<AgentState>>> {
        let (version, _) = self.by_key.get(&(agent_id, session_id, key.to_string()))?;
        self.states.get(&(agent_id, session_id, *version)).cloned()
    }

    /// Unflushed versions of (agent, session) in `lo..hi`, newest first.
    pub fn versions_between(&self, agent_id: u64, session_id: u64, lo: u64, hi: u64) -> Vec<Arc<Stored<AgentState>>> {
        if lo >= hi {
            return Vec::new();
        }
        self.states
            .range((agent_id, session_id, lo)..(agent_id, session_id, hi))
            .rev()
            .map(|(_, v)| v.clone())
            .collect()
    }

    pub fn snapshots_of(&self, agent_id: u64) -> Vec<Arc<Stored<Snapshot>>> {
        self.snapshots
            .range((agent_id, String::new())..)
            .take_while(|(k, _)| k.0 == agent_id)
            .map(|(_, v)| v.clone())
            .collect()
    }
}
