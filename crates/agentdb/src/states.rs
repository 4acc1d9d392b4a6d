//! Agent state subsystem: versioned saves per (agent, session), latest and
//! historic reads, named snapshots with rollback, whole-agent deletion.
//!
//! Invariants:
//! - Versions of one (agent, session) are 1, 2, 3… with no gaps, assigned
//!   under that key's lock, so concurrent savers never share a version.
//! - Every payload carries its CRC32C; every read verifies it before the
//!   bytes leave the engine.
//! - Reads consult the memtable before Lance (see storage::memtable), and
//!   hide Lance rows older than a pending `delete_agent`.
//! - The latest-state cache only ever moves forward: a slow cold read can
//!   never overwrite a newer save, nor resurrect a deleted agent.

pub(crate) mod cache;
pub mod memtable;
pub mod records;
mod retention;
pub mod table;
mod types;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use arrow_array::{RecordBatch, UInt64Array};
use bytes::Bytes;
use lancedb::expr::{col, is_in, lit};

pub use retention::{GcReport, StateRetention};
pub(crate) use types::validate_metadata;
pub use types::{
    AgentState, HistoryQuery, Snapshot, StateType, MAX_HISTORY_LIMIT, MAX_NAME_BYTES, MAX_STATE_KEY_BYTES,
};

use crate::engine::{now_ms, Engine};
use crate::storage::tables::{self, filter, Stored};
use crate::{AgentDb, Error, Result};
use memtable::StatesMem;
use records::StateRecord;

type StoredState = Arc<Stored<AgentState>>;

fn not_found_state(agent_id: u64, session_id: Option<u64>) -> Error {
    match session_id {
        Some(s) => Error::NotFound(format!("no state for agent {agent_id} session {s}")),
        None => Error::NotFound(format!("no state for agent {agent_id}")),
    }
}

fn lsn_column(batches: &[RecordBatch]) -> Result<Vec<u64>> {
    let mut out = Vec::new();
    for b in batches {
        let c = b
            .column_by_name("lsn")
            .and_then(|c| c.as_any().downcast_ref::<UInt64Array>())
            .ok_or_else(|| Error::corrupted("lsn column missing"))?;
        out.extend(c.values().iter().copied());
    }
    Ok(out)
}

/// The agent's Lance rows that a pending delete has not hidden.
fn visible(agent_id: u64, tombstone: Option<u64>) -> Vec<lancedb::expr::DfExpr> {
    let mut parts = vec![filter::u64_eq("agent_id", agent_id)];
    if let Some(t) = tombstone {
        parts.push(filter::u64_gt("lsn", t));
    }
    parts
}

impl Engine {
    /// Picks rows by a cheap projected top-k, then fetches only those rows'
    /// payloads: an agent with a long history never has all its payloads read.
    /// The first predicate is the indexed one (agent id, or a composite key);
    /// the fetch repeats it so Lance finds the picked rows by index too.
    async fn lance_states(
        &self,
        predicate: Vec<lancedb::expr::DfExpr>,
        order: &[&str],
        limit: usize,
    ) -> Result<Vec<Stored<AgentState>>> {
        let agent_pred = predicate.first().cloned().ok_or_else(|| Error::invalid("state query without a predicate"))?;
        let picked = lsn_column(
            &tables::query(
                &self.states.states_tbl,
                filter::and_all(predicate),
                Some(&["lsn", "timestamp_ms", "version"]),
                Some(order),
                Some(limit),
            )
            .await?,
        )?;
        if picked.is_empty() {
            return Ok(Vec::new());
        }
        let fetch = agent_pred.and(is_in(col("lsn"), picked.iter().map(|l| lit(*l)).collect()));
        // Not the derived index columns: they are a third of a small row.
        let columns: &[&str] = if self.states_have_keyed_columns_async().await? {
            &table::STATE_COLUMNS
        } else {
            &table::STATE_COLUMNS_UNMIGRATED
        };
        let batches = tables::query(&self.states.states_tbl, Some(fetch), Some(columns), None, None).await?;
        let mut rows = Vec::new();
        for b in &batches {
            rows.extend(table::states_from_batch(b)?);
        }
        Ok(rows)
    }

    /// Latest stored state of (agent, session): cache, then memtable, then Lance.
    fn latest_of(&self, agent_id: u64, session_id: u64) -> Result<Option<StoredState>> {
        if let Some(hit) = self.states.latest.lock().get(&(agent_id, session_id)) {
            return Ok(Some(hit));
        }
        let epoch = self.states.cache_epoch.load(Ordering::Acquire);
        let read = self.begin_read();
        let (in_mem, tomb) = {
            let mem = read.memtable();
            let m = mem.part::<StatesMem>();
            (m.states_of(agent_id, Some(session_id)).pop(), m.tombstone(agent_id))
        };
        // Memtable records are newer than anything only in Lance.
        let found = match in_mem {
            Some(s) => Some(s),
            None => {
                let mut pred = visible(agent_id, tomb);
                pred.push(filter::u64_eq("session_id", session_id));
                let rows = self.block_on(self.lance_states(pred, &["version"], 1))?;
                rows.into_iter().max_by_key(|r| r.value.version).map(Arc::new)
            }
        };
        if let Some(f) = &found {
            let mut cache = self.states.latest.lock();
            let newer = cache.peek(&(agent_id, session_id)).is_none_or(|c| c.value.version < f.value.version);
            if newer && self.states.cache_epoch.load(Ordering::Acquire) == epoch {
                cache.put((agent_id, session_id), f.clone());
            }
        }
        Ok(found)
    }

    /// Saves under the caller-held key lock.
    fn save_locked(
        &self,
        agent_id: u64,
        session_id: u64,
        state_type: StateType,
        data: Bytes,
        metadata: BTreeMap<String, String>,
        key: Option<String>,
    ) -> Result<u64> {
        let version = self.latest_of(agent_id, session_id)?.map_or(1, |s| s.value.version + 1);
        let state = AgentState {
            agent_id,
            session_id,
            version,
            timestamp_ms: now_ms(),
            state_type,
            checksum: crc32c::crc32c(&data),
            data,
            metadata,
            key,
        };
        let lsn = self.commit::<StatesMem>(StateRecord::Save(state.clone()))?;
        self.states.latest.lock().put((agent_id, session_id), Arc::new(Stored { lsn, value: state }));
        Ok(version)
    }

    /// A save from the public API: checks, then the key lock, then the save.
    fn save_checked(
        &self,
        agent_id: u64,
        session_id: u64,
        state_type: StateType,
        data: &[u8],
        metadata: BTreeMap<String, String>,
        key: Option<String>,
    ) -> Result<u64> {
        self.check_writable()?;
        self.check_payload(data, &metadata)?;
        let _k = self.states.key_lock(agent_id, session_id);
        self.save_locked(agent_id, session_id, state_type, Bytes::copy_from_slice(data), metadata, key)
    }

    fn check_payload(&self, data: &[u8], metadata: &BTreeMap<String, String>) -> Result<()> {
        types::validate_metadata(metadata)?;
        let size = data.len() + metadata.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>();
        if size > self.opts().max_payload_bytes {
            return Err(Error::PayloadTooLarge { size, limit: self.opts().max_payload_bytes });
        }
        Ok(())
    }

    fn find_snapshot(&self, agent_id: u64, name: &str) -> Result<Option<Snapshot>> {
        let read = self.begin_read();
        let (in_mem, tomb) = {
            let mem = read.memtable();
            let m = mem.part::<StatesMem>();
            (m.snapshots.get(&(agent_id, name.to_string())).cloned(), m.tombstone(agent_id))
        };
        if let Some(s) = in_mem {
            return Ok(Some(s.value.clone()));
        }
        let mut pred = visible(agent_id, tomb);
        pred.push(filter::str_eq("name", name));
        let batches =
            self.block_on(tables::query(&self.states.snapshots_tbl, filter::and_all(pred), None, None, Some(1)))?;
        let mut rows = Vec::new();
        for b in &batches {
            rows.extend(table::snapshots_from_batch(b)?);
        }
        Ok(rows.into_iter().next().map(|s| s.value))
    }

    fn states_have_keyed_columns(&self) -> Result<bool> {
        match self.states.has_keyed_columns.get() {
            Some(has) => Ok(*has),
            None => self.block_on(self.states_have_keyed_columns_async()),
        }
    }

    async fn states_have_keyed_columns_async(&self) -> Result<bool> {
        if let Some(has) = self.states.has_keyed_columns.get() {
            return Ok(*has);
        }
        let schema = self.states.states_tbl.schema().await?;
        let has = table::KEYED_COLUMNS.iter().all(|c| schema.field_with_name(c).is_ok());
        Ok(*self.states.has_keyed_columns.get_or_init(|| has))
    }

    /// The newest `limit` versions of (agent, session) in `lo..hi`, newest
    /// first, from the memtable and Lance (a `version_key` range).
    fn versions_between(
        &self,
        agent_id: u64,
        session_id: u64,
        lo: u64,
        hi: u64,
        limit: usize,
    ) -> Result<Vec<AgentState>> {
        if lo >= hi {
            return Ok(Vec::new());
        }
        let read = self.begin_read();
        let (in_mem, tomb) = {
            let mem = read.memtable();
            let m = mem.part::<StatesMem>();
            (m.versions_between(agent_id, session_id, lo, hi), m.tombstone(agent_id))
        };
        let mut by_version: BTreeMap<u64, AgentState> = BTreeMap::new();
        // Versions are unique, so a memtable holding as many as the range
        // spans holds all of them (a long thread's recent pages never touch Lance).
        let complete = in_mem.len() as u64 == hi - lo;
        if !complete {
            let mut pred = if self.states_have_keyed_columns()? {
                vec![filter::str_range(
                    "version_key",
                    &table::version_key(agent_id, session_id, lo),
                    &table::version_key(agent_id, session_id, hi),
                )]
            } else {
                let mut p = vec![filter::u64_eq("agent_id", agent_id), filter::u64_eq("session_id", session_id)];
                p.push(filter::u64_ge("version", lo));
                p.push(filter::u64_lt("version", hi));
                p
            };
            pred.extend(tomb.map(|t| filter::u64_gt("lsn", t)));
            for r in self.block_on(self.lance_states(pred, &["version"], limit))? {
                by_version.insert(r.value.version, r.value);
            }
        }
        for s in in_mem {
            by_version.insert(s.value.version, s.value.clone());
        }
        Ok(by_version.into_values().rev().take(limit).collect())
    }

    fn state_version(&self, agent_id: u64, session_id: u64, version: u64) -> Result<Option<AgentState>> {
        let read = self.begin_read();
        let (in_mem, tomb) = {
            let mem = read.memtable();
            let m = mem.part::<StatesMem>();
            (m.states.get(&(agent_id, session_id, version)).cloned(), m.tombstone(agent_id))
        };
        if let Some(s) = in_mem {
            return Ok(Some(s.value.clone()));
        }
        let mut pred = visible(agent_id, tomb);
        pred.push(filter::u64_eq("session_id", session_id));
        pred.push(filter::u64_eq("version", version));
        let rows = self.block_on(self.lance_states(pred, &["version"], 1))?;
        Ok(rows.into_iter().next().map(|r| r.value))
    }
}

impl AgentDb {
    /// Saves a new version of an agent's state and returns its version number.
    pub fn save_state(&self, agent_id: u64, session_id: u64, state_type: StateType, data: &[u8]) -> Result<u64> {
        self.save_state_with_metadata(agent_id, session_id, state_type, data, BTreeMap::new())
    }

    pub fn save_state_with_metadata(
        &self,
        agent_id: u64,
        session_id: u64,
        state_type: StateType,
        data: &[u8],
        metadata: BTreeMap<String, String>,
    ) -> Result<u64> {
        self.engine.save_checked(agent_id, session_id, state_type, data, metadata, None)
    }

    /// Saves a new version carrying the caller's `key` (a checkpoint id, a
    /// step name) and returns its version number. Keys need not be unique:
    /// `load_state_by_key` returns the newest version carrying the key.
    pub fn save_state_keyed(
        &self,
        agent_id: u64,
        session_id: u64,
        key: &str,
        state_type: StateType,
        data: &[u8],
        metadata: BTreeMap<String, String>,
    ) -> Result<u64> {
        types::validate_key(key)?;
        self.engine.save_checked(agent_id, session_id, state_type, data, metadata, Some(key.to_string()))
    }

    /// The newest version of (agent, session) saved with `key`: the latest
    /// cache, the memtable's key index, then one B-tree point read in Lance.
    pub fn load_state_by_key(&self, agent_id: u64, session_id: u64, key: &str) -> Result<AgentState> {
        let e = &self.engine;
        e.check_open()?;
        types::validate_key(key)?;
        let not_found =
            || Error::NotFound(format!("no state with key {key:?} for agent {agent_id} session {session_id}"));
        // The cached latest only: a miss must not cost a Lance read of the
        // latest on top of the keyed read below.
        let cached = e.states.latest.lock().get(&(agent_id, session_id));
        if let Some(latest) = cached.filter(|l| l.value.key.as_deref() == Some(key)) {
            latest.value.verify()?;
            return Ok(latest.value.clone());
        }
        let read = e.begin_read();
        let (in_mem, tomb) = {
            let mem = read.memtable();
            let m = mem.part::<StatesMem>();
            (m.by_key(agent_id, session_id, key), m.tombstone(agent_id))
        };
        let found = match in_mem {
            // Memtable versions are newer than any flushed one.
            Some(s) => s.value.clone(),
            None if !e.states_have_keyed_columns()? => return Err(not_found()),
            None => {
                let mut pred = vec![filter::str_eq("state_key", &table::state_key(agent_id, session_id, key))];
                pred.extend(tomb.map(|t| filter::u64_gt("lsn", t)));
                let rows = e.block_on(e.lance_states(pred, &["version"], 1))?;
                rows.into_iter().max_by_key(|r| r.value.version).map(|r| r.value).ok_or_else(not_found)?
            }
        };
        found.verify()?;
        Ok(found)
    }

    /// One page of (agent, session)'s versions, newest first: those below
    /// `before_version` (all when `None`), at most `limit`. Reads only the
    /// rows it returns: versions are dense (1, 2, 3…), so a page is one
    /// range of `version_key`; only where retention removed versions does it
    /// look further down, once.
    pub fn state_history_page(
        &self,
        agent_id: u64,
        session_id: u64,
        before_version: Option<u64>,
        limit: usize,
    ) -> Result<Vec<AgentState>> {
        let e = &self.engine;
        e.check_open()?;
        if limit == 0 || limit > MAX_HISTORY_LIMIT {
            return Err(Error::invalid(format!("history limit must be in 1..={MAX_HISTORY_LIMIT}")));
        }
        let Some(latest) = e.latest_of(agent_id, session_id)? else {
            return Ok(Vec::new());
        };
        let hi = before_version.unwrap_or(u64::MAX).min(latest.value.version.saturating_add(1));
        let lo = hi.saturating_sub(limit as u64).max(1);
        let mut page = e.versions_between(agent_id, session_id, lo, hi, limit)?;
        if page.len() < limit && lo > 1 {
            // Retention left holes: the rest comes from below `lo`, newest first.
            page.extend(e.versions_between(agent_id, session_id, 1, lo, limit - page.len())?);
        }
        page.into_iter()
            .map(|s| {
                s.verify()?;
                Ok(s)
            })
            .collect()
    }

    /// The latest state of (agent, session), or of the agent's most recently
    /// saved session when `session_id` is `None`.
    pub fn load_state(&self, agent_id: u64, session_id: Option<u64>) -> Result<AgentState> {
        let e = &self.engine;
        e.check_open()?;
        let stored = match session_id {
            Some(s) => e.latest_of(agent_id, s)?,
            None => {
                let read = e.begin_read();
                let (in_mem, tomb) = {
                    let mem = read.memtable();
                    let m = mem.part::<StatesMem>();
                    (m.states_of(agent_id, None).into_iter().max_by_key(|s| s.lsn), m.tombstone(agent_id))
                };
                match in_mem {
                    Some(s) => Some(s),
                    None => {
                        let rows = e.block_on(e.lance_states(visible(agent_id, tomb), &["lsn"], 1))?;
                        rows.into_iter().max_by_key(|r| r.lsn).map(Arc::new)
                    }
                }
            }
        };
        let stored = stored.ok_or_else(|| not_found_state(agent_id, session_id))?;
        stored.value.verify()?;
        Ok(stored.value.clone())
    }

    pub fn load_state_version(&self, agent_id: u64, session_id: u64, version: u64) -> Result<AgentState> {
        let e = &self.engine;
        e.check_open()?;
        let state = e.state_version(agent_id, session_id, version)?.ok_or_else(|| {
            Error::NotFound(format!("no version {version} for agent {agent_id} session {session_id}"))
        })?;
        state.verify()?;
        Ok(state)
    }

    /// Versions in the time range, newest first (by timestamp, then write order).
    pub fn query_history(&self, query: &HistoryQuery) -> Result<Vec<AgentState>> {
        let e = &self.engine;
        e.check_open()?;
        query.validate()?;
        let in_range = |s: &AgentState| {
            query.from_ms.is_none_or(|f| s.timestamp_ms >= f) && query.to_ms.is_none_or(|t| s.timestamp_ms <= t)
        };
        let read = e.begin_read();
        let (in_mem, tomb) = {
            let mem = read.memtable();
            let m = mem.part::<StatesMem>();
            let rows: Vec<StoredState> =
                m.states_of(query.agent_id, query.session_id).into_iter().filter(|s| in_range(&s.value)).collect();
            (rows, m.tombstone(query.agent_id))
        };
        let mut pred = visible(query.agent_id, tomb);
        if let Some(s) = query.session_id {
            pred.push(filter::u64_eq("session_id", s));
        }
        if let Some(f) = query.from_ms {
            pred.push(filter::i64_ge("timestamp_ms", f));
        }
        if let Some(t) = query.to_ms {
            pred.push(filter::i64_le("timestamp_ms", t));
        }
        let from_lance = e.block_on(e.lance_states(pred, &["timestamp_ms", "lsn"], query.limit))?;
        // A record mid-flush can be in both; the LSN identifies it.
        let mut by_lsn: HashMap<u64, AgentState> = from_lance.into_iter().map(|s| (s.lsn, s.value)).collect();
        for s in in_mem {
            by_lsn.insert(s.lsn, s.value.clone());
        }
        let mut rows: Vec<(u64, AgentState)> = by_lsn.into_iter().collect();
        rows.sort_by_key(|(lsn, s)| std::cmp::Reverse((s.timestamp_ms, *lsn)));
        rows.truncate(query.limit);
        rows.into_iter()
            .map(|(_, s)| {
                s.verify()?;
                Ok(s)
            })
            .collect()
    }

    /// Names the current latest version of (agent, session). Names are unique per agent.
    pub fn create_snapshot(&self, agent_id: u64, session_id: u64, name: &str) -> Result<Snapshot> {
        let e = &self.engine;
        e.check_writable()?;
        types::validate_name("snapshot", name)?;
        let _s = e.states.snapshot_lock.lock();
        let _k = e.states.key_lock(agent_id, session_id);
        if e.find_snapshot(agent_id, name)?.is_some() {
            return Err(Error::AlreadyExists(format!("snapshot {name:?} of agent {agent_id}")));
        }
        let latest = e.latest_of(agent_id, session_id)?.ok_or_else(|| not_found_state(agent_id, Some(session_id)))?;
        let snap = Snapshot {
            agent_id,
            session_id,
            name: name.to_string(),
            version: latest.value.version,
            created_at_ms: now_ms(),
        };
        e.commit::<StatesMem>(StateRecord::CreateSnapshot(snap.clone()))?;
        Ok(snap)
    }

    /// An agent's snapshots, oldest first.
    pub fn list_snapshots(&self, agent_id: u64) -> Result<Vec<Snapshot>> {
        let e = &self.engine;
        e.check_open()?;
        let read = e.begin_read();
        let (in_mem, tomb) = {
            let mem = read.memtable();
            let m = mem.part::<StatesMem>();
            (m.snapshots_of(agent_id), m.tombstone(agent_id))
        };
        let batches = e.block_on(tables::query(
            &e.states.snapshots_tbl,
            filter::and_all(visible(agent_id, tomb)),
            None,
            None,
            None,
        ))?;
        let mut by_name: BTreeMap<String, Snapshot> = BTreeMap::new();
        for b in &batches {
            for s in table::snapshots_from_batch(b)? {
                by_name.insert(s.value.name.clone(), s.value);
            }
        }
        for s in in_mem {
            by_name.insert(s.value.name.clone(), s.value.clone());
        }
        let mut out: Vec<Snapshot> = by_name.into_values().collect();
        out.sort_by(|a, b| (a.created_at_ms, &a.name).cmp(&(b.created_at_ms, &b.name)));
        Ok(out)
    }

    /// Rollback: the snapshot's state becomes a new latest version of its
    /// session (history is kept). Returns that new version.
    pub fn restore_snapshot(&self, agent_id: u64, name: &str) -> Result<AgentState> {
        let e = &self.engine;
        e.check_writable()?;
        types::validate_name("snapshot", name)?;
        let snap = e
            .find_snapshot(agent_id, name)?
            .ok_or_else(|| Error::NotFound(format!("snapshot {name:?} of agent {agent_id}")))?;
        let _k = e.states.key_lock(agent_id, snap.session_id);
        let old = e
            .state_version(agent_id, snap.session_id, snap.version)?
            .ok_or_else(|| Error::corrupted(format!("snapshot {name:?} points at missing version {}", snap.version)))?;
        old.verify()?;
        let version = e.save_locked(agent_id, snap.session_id, old.state_type, old.data, old.metadata, old.key)?;
        drop(_k);
        self.load_state_version(agent_id, snap.session_id, version)
    }

    /// Removes every state version and snapshot of the agent.
    pub fn delete_agent(&self, agent_id: u64) -> Result<()> {
        let e = &self.engine;
        e.check_writable()?;
        let _s = e.states.snapshot_lock.lock();
        let _all = e.states.all_key_locks();
        let read = e.begin_read();
        let (has_mem, tomb) = {
            let mem = read.memtable();
            let m = mem.part::<StatesMem>();
            (!m.states_of(agent_id, None).is_empty() || !m.snapshots_of(agent_id).is_empty(), m.tombstone(agent_id))
        };
        let exists = has_mem || {
            let batches = e.block_on(tables::query(
                &e.states.states_tbl,
                filter::and_all(visible(agent_id, tomb)),
                Some(&["lsn"]),
                None,
                Some(1),
            ))?;
            batches.iter().any(|b| b.num_rows() > 0)
        };
        // Never commit inside a read scope: a commit can wait for a flush, whose drain waits for the scope.
        drop(read);
        if !exists {
            return Err(not_found_state(agent_id, None));
        }
        e.commit::<StatesMem>(StateRecord::DeleteAgent { agent_id })?;
        let mut cache = e.states.latest.lock();
        cache.remove_agent(agent_id);
        e.states.cache_epoch.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }
}

/// Agent deletes per Lance delete commit: bounds each predicate's size.
const AGENT_DELETES_PER_COMMIT: usize = 512;

impl Engine {
    /// Writes the state subsystem's part of a flush.
    pub(crate) async fn flush_states(&self, f: &memtable::StatesFlush) -> Result<()> {
        if !f.states.is_empty() {
            let rows: Vec<&Stored<AgentState>> = f.states.iter().map(|s| &**s).collect();
            let batches =
                rows.chunks(tables::FLUSH_BATCH_ROWS).map(table::states_to_batch).collect::<Result<Vec<_>>>()?;
            self.states.states_tbl.add(batches).execute().await?;
        }
        if !f.snapshots.is_empty() {
            let rows: Vec<_> = f.snapshots.iter().map(|s| &**s).collect();
            let batches =
                rows.chunks(tables::FLUSH_BATCH_ROWS).map(table::snapshots_to_batch).collect::<Result<Vec<_>>>()?;
            self.states.snapshots_tbl.add(batches).execute().await?;
        }
        if !f.deletes.is_empty() {
            // One commit per table for all pending agent deletes. `lsn < L`
            // keeps rows written after the delete, and makes a replay harmless.
            for chunk in f.deletes.chunks(AGENT_DELETES_PER_COMMIT) {
                let Some(predicate) = filter::any_of(
                    chunk
                        .iter()
                        .map(|(agent, lsn)| filter::u64_eq("agent_id", *agent).and(filter::u64_lt("lsn", *lsn)))
                        .collect(),
                ) else {
                    continue;
                };
                self.states.states_tbl.delete(&predicate).await?;
                self.states.snapshots_tbl.delete(&predicate).await?;
            }
        }
        Ok(())
    }
}

/// The state subsystem's side of the engine contract.
pub(crate) struct StatesSubsystem;

impl crate::engine::subsystem::Subsystem for StatesSubsystem {
    fn name(&self) -> &'static str {
        "states"
    }
    fn fixed_tables(&self, _opts: &crate::Options) -> Vec<crate::engine::subsystem::TableSpec> {
        use crate::engine::subsystem::TableSpec;
        vec![
            TableSpec { name: table::STATES_TABLE, schema: table::states_schema() },
            TableSpec { name: table::SNAPSHOTS_TABLE, schema: table::snapshots_schema() },
        ]
    }
    fn flush<'a>(
        &'a self,
        engine: &'a Engine,
        set: &'a crate::storage::memtable::FlushSet,
    ) -> futures::future::BoxFuture<'a, Result<()>> {
        crate::engine::subsystem::flush_part::<StatesMem, _, _>(set, move |f| engine.flush_states(f))
    }
    fn before_compaction<'a>(
        &'a self,
        ctx: &'a crate::engine::subsystem::MaintenanceCtx<'a>,
        name: &'a str,
        table: &'a lancedb::Table,
    ) -> futures::future::BoxFuture<'a, Result<u64>> {
        Box::pin(async move {
            if name == table::STATES_TABLE {
                ctx.engine.apply_state_retention(table, ctx.state_retention).await
            } else {
                Ok(0)
            }
        })
    }
    fn migrate<'a>(&'a self, conn: &'a lancedb::Connection) -> futures::future::BoxFuture<'a, Result<bool>> {
        Box::pin(table::migrate_states_table(conn))
    }
    fn scalar_index_columns(&self, name: &str) -> &'static [&'static str] {
        if name == table::STATES_TABLE {
            &["agent_id", "version_key", "state_key"]
        } else {
            &["agent_id"]
        }
    }
}

/// Sharded locks per (agent, session): version numbers are assigned under them.
const KEY_LOCK_SHARDS: usize = 64;

/// The state subsystem's own state.
pub(crate) struct StatesState {
    pub states_tbl: lancedb::Table,
    pub snapshots_tbl: lancedb::Table,
    /// Latest state per (agent, session): the microsecond path of `load_state`.
    pub latest: parking_lot::Mutex<cache::LatestCache>,
    /// Bumped by `delete_agent`; a cold read that began before a bump must not
    /// fill the cache (it could resurrect the deleted agent).
    pub cache_epoch: std::sync::atomic::AtomicU64,
    /// Serialises snapshot creation so name uniqueness is checked atomically.
    pub snapshot_lock: parking_lot::Mutex<()>,
    /// Whether `states` has the keyed-access columns; false only for a
    /// read-only open of a database an earlier release wrote.
    has_keyed_columns: std::sync::OnceLock<bool>,
    key_locks: Vec<parking_lot::Mutex<()>>,
}

impl StatesState {
    pub fn new(states_tbl: lancedb::Table, snapshots_tbl: lancedb::Table, opts: &crate::Options) -> Self {
        StatesState {
            states_tbl,
            snapshots_tbl,
            latest: parking_lot::Mutex::new(cache::LatestCache::new(
                std::num::NonZeroUsize::new(opts.latest_cache_entries).unwrap_or(std::num::NonZeroUsize::MIN),
                opts.latest_cache_bytes,
            )),
            cache_epoch: std::sync::atomic::AtomicU64::new(0),
            snapshot_lock: parking_lot::Mutex::new(()),
            has_keyed_columns: std::sync::OnceLock::new(),
            key_locks: (0..KEY_LOCK_SHARDS).map(|_| parking_lot::Mutex::new(())).collect(),
        }
    }

    pub fn tables(&self) -> Vec<(String, lancedb::Table)> {
        vec![
            (table::STATES_TABLE.to_string(), self.states_tbl.clone()),
            (table::SNAPSHOTS_TABLE.to_string(), self.snapshots_tbl.clone()),
        ]
    }

    pub fn key_lock(&self, agent_id: u64, session_id: u64) -> parking_lot::MutexGuard<'_, ()> {
        let h = agent_id.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ session_id.wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
        self.key_locks[(h >> 58) as usize % KEY_LOCK_SHARDS].lock()
    }

    /// Every key lock, in a fixed order (for whole-agent operations).
    pub fn all_key_locks(&self) -> Vec<parking_lot::MutexGuard<'_, ()>> {
        self.key_locks.iter().map(|l| l.lock()).collect()
    }
}
