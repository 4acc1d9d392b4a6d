//! Agent state: save/load (by session, version or key), history and its
//! pages, snapshots, delete.

use std::ffi::{c_char, CString};

use agentdb::{AgentState, Bytes, HistoryQuery, Snapshot, StateType};

use crate::convert::{
    c_str, list_into_raw, metadata, metadata_c_string, opt_out, out_ptr, owned_c_string, slice, Failure, ListOwner,
};
use crate::{boundary, db_ref, AgentDb, AgentDbStatus};

pub type AgentDbStateType = u32;
pub const AGENT_DB_STATE_WORKING_MEMORY: AgentDbStateType = 0;
pub const AGENT_DB_STATE_LONG_TERM_MEMORY: AgentDbStateType = 1;
pub const AGENT_DB_STATE_CONTEXT: AgentDbStateType = 2;
pub const AGENT_DB_STATE_TASK_STATE: AgentDbStateType = 3;
pub const AGENT_DB_STATE_RELATIONSHIP: AgentDbStateType = 4;
pub const AGENT_DB_STATE_EMBEDDING: AgentDbStateType = 5;

fn state_type_from_c(t: AgentDbStateType) -> Result<StateType, Failure> {
    StateType::ALL
        .get(t as usize)
        .copied()
        .ok_or_else(|| Failure::invalid(format!("unknown state type {t} (expected 0..=5)")))
}

fn state_type_to_c(t: StateType) -> AgentDbStateType {
    StateType::ALL.iter().position(|x| *x == t).unwrap_or(0) as AgentDbStateType
}

/// One version of an agent's state. `data` points at `data_len` bytes
/// (NULL when empty); `metadata_json` is a JSON object of strings; `key` is
/// the caller's key for this version (`agent_db_save_state_keyed`), NULL when
/// it has none.
#[repr(C)]
pub struct AgentDbState {
    pub agent_id: u64,
    pub session_id: u64,
    pub version: u64,
    pub timestamp_ms: i64,
    pub state_type: AgentDbStateType,
    /// CRC32C of `data`, verified by the library on every read.
    pub checksum: u32,
    pub data: *const u8,
    pub data_len: usize,
    pub metadata_json: *const c_char,
    pub key: *const c_char,
}

/// What an `AgentDbState` points into: the engine's payload (shared, not
/// copied), the metadata text (none for the common empty map, which points
/// at a static "{}": one allocation less on the hottest call) and the key
/// (none for an unkeyed version).
type StateKeep = (Bytes, Option<CString>, Option<CString>);

fn state_parts(s: AgentState) -> (AgentDbState, StateKeep) {
    let meta = (!s.metadata.is_empty()).then(|| metadata_c_string(&s.metadata));
    let key = s.key.map(owned_c_string);
    let head = AgentDbState {
        agent_id: s.agent_id,
        session_id: s.session_id,
        version: s.version,
        timestamp_ms: s.timestamp_ms,
        state_type: state_type_to_c(s.state_type),
        checksum: s.checksum,
        data: if s.data.is_empty() { std::ptr::null() } else { s.data.as_ptr() },
        data_len: s.data.len(),
        metadata_json: meta.as_ref().map_or(c"{}".as_ptr(), |m| m.as_ptr()),
        key: key.as_ref().map_or(std::ptr::null(), |k| k.as_ptr()),
    };
    (head, (s.data, meta, key))
}

#[repr(C)]
struct StateOwner {
    head: AgentDbState,
    keep: StateKeep,
}

fn state_into_raw(s: AgentState) -> *mut AgentDbState {
    let (head, keep) = state_parts(s);
    Box::into_raw(Box::new(StateOwner { head, keep })).cast::<AgentDbState>()
}

/// Frees a state returned by the library. NULL is a no-op.
///
/// # Safety
/// `state` is NULL or a state the library returned (`agent_db_load_state`,
/// ...), not yet freed and not used afterwards; never one inside a list.
#[no_mangle]
pub unsafe extern "C" fn agent_db_state_free(state: *mut AgentDbState) {
    if !state.is_null() {
        // SAFETY: a returned state is the head (first field, repr(C)) of a Box<StateOwner> leaked by
        // state_into_raw, not yet freed (this function's contract).
        drop(unsafe { Box::from_raw(state.cast::<StateOwner>()) });
    }
}

/// Appends a new version of (agent, session). `data` may be NULL only when
/// `data_len` is 0; `metadata_json` may be NULL. `out_version` may be NULL.
/// `state_type` is one of AGENT_DB_STATE_*; any other value is
/// AGENT_DB_INVALID_ARGUMENT.
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed;
/// `data` is NULL or points at `data_len` readable bytes; `metadata_json` is
/// NULL or a NUL-terminated string; `out_version` is NULL or valid for one
/// `uint64_t` write.
#[no_mangle]
pub unsafe extern "C" fn agent_db_save_state(
    db: *const AgentDb,
    agent_id: u64,
    session_id: u64,
    state_type: AgentDbStateType,
    data: *const u8,
    data_len: usize,
    metadata_json: *const c_char,
    out_version: *mut u64,
) -> AgentDbStatus {
    // SAFETY: the pointers are as `save` requires, per this function's contract.
    boundary(|| unsafe { save(db, agent_id, session_id, None, state_type, data, data_len, metadata_json, out_version) })
}

/// The body of `agent_db_save_state` and `agent_db_save_state_keyed`.
///
/// # Safety
/// As `agent_db_save_state_keyed`, with `key` already converted.
#[allow(clippy::too_many_arguments)]
unsafe fn save(
    db: *const AgentDb,
    agent_id: u64,
    session_id: u64,
    key: Option<&str>,
    state_type: AgentDbStateType,
    data: *const u8,
    data_len: usize,
    metadata_json: *const c_char,
    out_version: *mut u64,
) -> Result<(), Failure> {
    // SAFETY: `db` is NULL (refused) or a live handle, per this function's contract.
    let db = unsafe { db_ref(db) }?;
    let t = state_type_from_c(state_type)?;
    // SAFETY: `data` is NULL (refused unless data_len is 0) or `data_len` readable bytes, per the contract.
    let data = unsafe { slice(data, data_len, "data") }?;
    // SAFETY: `metadata_json` is NULL or NUL-terminated, per this function's contract.
    let meta = unsafe { metadata(metadata_json, "metadata_json") }?;
    // SAFETY: `out_version` is NULL or writable, per this function's contract.
    let out_version = unsafe { opt_out(out_version) };
    let v = match key {
        Some(key) => db.save_state_keyed(agent_id, session_id, key, t, data, meta)?,
        None => db.save_state_with_metadata(agent_id, session_id, t, data, meta)?,
    };
    if let Some(out) = out_version {
        out.write(v);
    }
    Ok(())
}

/// As `agent_db_save_state`, and the new version carries `key` (a checkpoint
/// id, a step name: 1..=1024 bytes of UTF-8, else AGENT_DB_INVALID_ARGUMENT).
/// Keys need not be unique: `agent_db_load_state_by_key` finds the newest
/// version carrying one.
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed; `key` is
/// NULL or a NUL-terminated string; `data` is NULL or points at `data_len`
/// readable bytes; `metadata_json` is NULL or a NUL-terminated string;
/// `out_version` is NULL or valid for one `uint64_t` write.
#[no_mangle]
pub unsafe extern "C" fn agent_db_save_state_keyed(
    db: *const AgentDb,
    agent_id: u64,
    session_id: u64,
    key: *const c_char,
    state_type: AgentDbStateType,
    data: *const u8,
    data_len: usize,
    metadata_json: *const c_char,
    out_version: *mut u64,
) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: `key` is NULL (refused) or NUL-terminated, per this function's contract.
        let key = unsafe { c_str(key, "key") }?;
        // SAFETY: the other pointers are as `save` requires, per this function's contract.
        unsafe { save(db, agent_id, session_id, Some(key), state_type, data, data_len, metadata_json, out_version) }
    })
}

/// The latest version of (agent, session). Free with `agent_db_state_free`.
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed;
/// `out_state` is NULL or valid for one pointer write.
#[no_mangle]
pub unsafe extern "C" fn agent_db_load_state(
    db: *const AgentDb,
    agent_id: u64,
    session_id: u64,
    out_state: *mut *mut AgentDbState,
) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: `out_state` is NULL (refused) or writable, per this function's contract.
        let out = unsafe { out_ptr(out_state, "out_state") }?;
        // SAFETY: `db` is NULL (refused) or a live handle, per this function's contract.
        out.write(state_into_raw(unsafe { db_ref(db) }?.load_state(agent_id, Some(session_id))?));
        Ok(())
    })
}

/// The most recently saved state of the agent across all its sessions.
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed;
/// `out_state` is NULL or valid for one pointer write.
#[no_mangle]
pub unsafe extern "C" fn agent_db_load_latest_state(
    db: *const AgentDb,
    agent_id: u64,
    out_state: *mut *mut AgentDbState,
) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: `out_state` is NULL (refused) or writable, per this function's contract.
        let out = unsafe { out_ptr(out_state, "out_state") }?;
        // SAFETY: `db` is NULL (refused) or a live handle, per this function's contract.
        out.write(state_into_raw(unsafe { db_ref(db) }?.load_state(agent_id, None)?));
        Ok(())
    })
}

/// One exact version of (agent, session).
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed;
/// `out_state` is NULL or valid for one pointer write.
#[no_mangle]
pub unsafe extern "C" fn agent_db_load_state_version(
    db: *const AgentDb,
    agent_id: u64,
    session_id: u64,
    version: u64,
    out_state: *mut *mut AgentDbState,
) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: `out_state` is NULL (refused) or writable, per this function's contract.
        let out = unsafe { out_ptr(out_state, "out_state") }?;
        // SAFETY: `db` is NULL (refused) or a live handle, per this function's contract.
        out.write(state_into_raw(unsafe { db_ref(db) }?.load_state_version(agent_id, session_id, version)?));
        Ok(())
    })
}

/// The newest version of (agent, session) carrying exactly `key` (bytewise).
/// AGENT_DB_NOT_FOUND when none does. Free with `agent_db_state_free`.
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed; `key` is
/// NULL or a NUL-terminated string; `out_state` is NULL or valid for one
/// pointer write.
#[no_mangle]
pub unsafe extern "C" fn agent_db_load_state_by_key(
    db: *const AgentDb,
    agent_id: u64,
    session_id: u64,
    key: *const c_char,
    out_state: *mut *mut AgentDbState,
) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: `out_state` is NULL (refused) or writable, per this function's contract.
        let out = unsafe { out_ptr(out_state, "out_state") }?;
        // SAFETY: `key` is NULL (refused) or NUL-terminated, per this function's contract.
        let key = unsafe { c_str(key, "key") }?;
        // SAFETY: `db` is NULL (refused) or a live handle, per this function's contract.
        out.write(state_into_raw(unsafe { db_ref(db) }?.load_state_by_key(agent_id, session_id, key)?));
        Ok(())
    })
}

/// Which versions `agent_db_query_history` returns, newest first. Fill with
/// `agent_db_history_query_init`; `from_ms`/`to_ms` are inclusive bounds
/// (INT64_MIN / INT64_MAX: unbounded).
#[repr(C)]
pub struct AgentDbHistoryQuery {
    pub agent_id: u64,
    /// Only this session when `has_session` is true; every session otherwise.
    pub session_id: u64,
    pub has_session: bool,
    pub from_ms: i64,
    pub to_ms: i64,
    /// 1..=100000
    pub limit: u32,
}

/// Every session, no time bounds, the default limit (100; `history_limit`
/// of `agent_db_defaults_json`).
///
/// # Safety
/// `out` is NULL or valid for one write of an `AgentDbHistoryQuery` (it may
/// be uninitialised).
#[no_mangle]
pub unsafe extern "C" fn agent_db_history_query_init(agent_id: u64, out: *mut AgentDbHistoryQuery) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: `out` is NULL (refused) or writable, per this function's contract.
        let out = unsafe { out_ptr(out, "out") }?;
        let limit = u32::try_from(agentdb::defaults::history_limit()).map_err(|_| Failure::invalid("history limit"))?;
        out.write(AgentDbHistoryQuery {
            agent_id,
            session_id: 0,
            has_session: false,
            from_ms: i64::MIN,
            to_ms: i64::MAX,
            limit,
        });
        Ok(())
    })
}

/// # Safety
/// `q` is NULL or points at an initialised `AgentDbHistoryQuery`
/// (`has_session` 0 or 1).
pub(crate) unsafe fn history_query(q: *const AgentDbHistoryQuery) -> Result<HistoryQuery, Failure> {
    // SAFETY: `q` is NULL (refused) or an initialised query, per this function's contract.
    let q = unsafe { q.as_ref() }.ok_or_else(|| Failure::null("query"))?;
    Ok(HistoryQuery {
        agent_id: q.agent_id,
        session_id: q.has_session.then_some(q.session_id),
        from_ms: (q.from_ms != i64::MIN).then_some(q.from_ms),
        to_ms: (q.to_ms != i64::MAX).then_some(q.to_ms),
        limit: q.limit as usize,
    })
}

#[repr(C)]
pub struct AgentDbStateList {
    pub items: *const AgentDbState,
    pub len: usize,
}

type StateListOwner = ListOwner<AgentDbStateList, AgentDbState, Vec<StateKeep>>;

/// Versions matching the query, newest first. Free with `agent_db_state_list_free`.
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed;
/// `query` is NULL or points at an initialised `AgentDbHistoryQuery`
/// (`has_session` 0 or 1); `out_list` is NULL or valid for one pointer write.
#[no_mangle]
pub unsafe extern "C" fn agent_db_query_history(
    db: *const AgentDb,
    query: *const AgentDbHistoryQuery,
    out_list: *mut *mut AgentDbStateList,
) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: `out_list` is NULL (refused) or writable, per this function's contract.
        let out = unsafe { out_ptr(out_list, "out_list") }?;
        // SAFETY: `query` is NULL (refused) or an initialised query, per this function's contract.
        let q = unsafe { history_query(query) }?;
        // SAFETY: `db` is NULL (refused) or a live handle, per this function's contract.
        let states = unsafe { db_ref(db) }?.query_history(&q)?;
        out.write(state_list_into_raw(states));
        Ok(())
    })
}

/// One page of (agent, session)'s versions, newest first: those below
/// `before_version` (UINT64_MAX: from the newest), at most `limit`
/// (1..=100000). Pass the last version of a page as the next page's
/// `before_version`. An unknown (agent, session) gives an empty list. Free
/// with `agent_db_state_list_free`.
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed;
/// `out_list` is NULL or valid for one pointer write.
#[no_mangle]
pub unsafe extern "C" fn agent_db_state_history_page(
    db: *const AgentDb,
    agent_id: u64,
    session_id: u64,
    before_version: u64,
    limit: u32,
    out_list: *mut *mut AgentDbStateList,
) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: `out_list` is NULL (refused) or writable, per this function's contract.
        let out = unsafe { out_ptr(out_list, "out_list") }?;
        let before = (before_version != u64::MAX).then_some(before_version);
        // SAFETY: `db` is NULL (refused) or a live handle, per this function's contract.
        let states = unsafe { db_ref(db) }?.state_history_page(agent_id, session_id, before, limit as usize)?;
        out.write(state_list_into_raw(states));
        Ok(())
    })
}

fn state_list_into_raw(states: Vec<AgentState>) -> *mut AgentDbStateList {
    let (items, keep): (Vec<_>, Vec<_>) = states.into_iter().map(state_parts).unzip();
    list_into_raw(items, keep, |items, len| AgentDbStateList { items, len })
}

/// Frees a list of `agent_db_query_history` or `agent_db_state_history_page`.
/// NULL is a no-op.
///
/// # Safety
/// `list` is NULL or a list from `agent_db_query_history` or
/// `agent_db_state_history_page`, not yet freed;
/// neither it nor its items are used afterwards.
#[no_mangle]
pub unsafe extern "C" fn agent_db_state_list_free(list: *mut AgentDbStateList) {
    if !list.is_null() {
        // SAFETY: the list is the head of a Box<StateListOwner> leaked by list_into_raw, not yet
        // freed (this function's contract).
        drop(unsafe { Box::from_raw(list.cast::<StateListOwner>()) });
    }
}

/// A named pointer at one version of an (agent, session) state.
#[repr(C)]
pub struct AgentDbSnapshot {
    pub agent_id: u64,
    pub session_id: u64,
    pub version: u64,
    pub created_at_ms: i64,
    pub name: *const c_char,
}

fn snapshot_parts(s: Snapshot) -> (AgentDbSnapshot, CString) {
    let name = owned_c_string(s.name);
    (
        AgentDbSnapshot {
            agent_id: s.agent_id,
            session_id: s.session_id,
            version: s.version,
            created_at_ms: s.created_at_ms,
            name: name.as_ptr(),
        },
        name,
    )
}

#[repr(C)]
struct SnapshotOwner {
    head: AgentDbSnapshot,
    keep: CString,
}

/// Names the current latest version of (agent, session). `out_snapshot` may
/// be NULL; otherwise free it with `agent_db_snapshot_free`.
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed;
/// `name` is NULL or a NUL-terminated string; `out_snapshot` is NULL or
/// valid for one pointer write.
#[no_mangle]
pub unsafe extern "C" fn agent_db_create_snapshot(
    db: *const AgentDb,
    agent_id: u64,
    session_id: u64,
    name: *const c_char,
    out_snapshot: *mut *mut AgentDbSnapshot,
) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: `name` is NULL (refused) or NUL-terminated, per this function's contract.
        let name = unsafe { c_str(name, "name") }?;
        // SAFETY: `out_snapshot` is NULL or writable, per this function's contract.
        let out_snapshot = unsafe { opt_out(out_snapshot) };
        // SAFETY: `db` is NULL (refused) or a live handle, per this function's contract.
        let snap = unsafe { db_ref(db) }?.create_snapshot(agent_id, session_id, name)?;
        if let Some(out) = out_snapshot {
            let (head, keep) = snapshot_parts(snap);
            out.write(Box::into_raw(Box::new(SnapshotOwner { head, keep })).cast::<AgentDbSnapshot>());
        }
        Ok(())
    })
}

/// Frees a snapshot of `agent_db_create_snapshot`. NULL is a no-op.
///
/// # Safety
/// `snapshot` is NULL or one returned by `agent_db_create_snapshot`, not yet
/// freed and not used afterwards; never one inside a list.
#[no_mangle]
pub unsafe extern "C" fn agent_db_snapshot_free(snapshot: *mut AgentDbSnapshot) {
    if !snapshot.is_null() {
        // SAFETY: a returned snapshot is the head of a Box<SnapshotOwner> leaked by
        // agent_db_create_snapshot, not yet freed (this function's contract).
        drop(unsafe { Box::from_raw(snapshot.cast::<SnapshotOwner>()) });
    }
}

#[repr(C)]
pub struct AgentDbSnapshotList {
    pub items: *const AgentDbSnapshot,
    pub len: usize,
}

type SnapshotListOwner = ListOwner<AgentDbSnapshotList, AgentDbSnapshot, Vec<CString>>;

/// The agent's snapshots, oldest first. Free with `agent_db_snapshot_list_free`.
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed;
/// `out_list` is NULL or valid for one pointer write.
#[no_mangle]
pub unsafe extern "C" fn agent_db_list_snapshots(
    db: *const AgentDb,
    agent_id: u64,
    out_list: *mut *mut AgentDbSnapshotList,
) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: `out_list` is NULL (refused) or writable, per this function's contract.
        let out = unsafe { out_ptr(out_list, "out_list") }?;
        // SAFETY: `db` is NULL (refused) or a live handle, per this function's contract.
        let snaps = unsafe { db_ref(db) }?.list_snapshots(agent_id)?;
        let (items, keep): (Vec<_>, Vec<_>) = snaps.into_iter().map(snapshot_parts).unzip();
        out.write(list_into_raw(items, keep, |items, len| AgentDbSnapshotList { items, len }));
        Ok(())
    })
}

/// Frees a list of `agent_db_list_snapshots`. NULL is a no-op.
///
/// # Safety
/// `list` is NULL or a list from `agent_db_list_snapshots`, not yet freed;
/// neither it nor its items are used afterwards.
#[no_mangle]
pub unsafe extern "C" fn agent_db_snapshot_list_free(list: *mut AgentDbSnapshotList) {
    if !list.is_null() {
        // SAFETY: the list is the head of a Box<SnapshotListOwner> leaked by list_into_raw, not yet
        // freed (this function's contract).
        drop(unsafe { Box::from_raw(list.cast::<SnapshotListOwner>()) });
    }
}

/// Rollback: saves the snapshot's state as a new latest version. `out_state`
/// may be NULL; otherwise free it with `agent_db_state_free`.
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed;
/// `name` is NULL or a NUL-terminated string; `out_state` is NULL or valid
/// for one pointer write.
#[no_mangle]
pub unsafe extern "C" fn agent_db_restore_snapshot(
    db: *const AgentDb,
    agent_id: u64,
    name: *const c_char,
    out_state: *mut *mut AgentDbState,
) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: `name` is NULL (refused) or NUL-terminated, per this function's contract.
        let name = unsafe { c_str(name, "name") }?;
        // SAFETY: `out_state` is NULL or writable, per this function's contract.
        let out_state = unsafe { opt_out(out_state) };
        // SAFETY: `db` is NULL (refused) or a live handle, per this function's contract.
        let state = unsafe { db_ref(db) }?.restore_snapshot(agent_id, name)?;
        if let Some(out) = out_state {
            out.write(state_into_raw(state));
        }
        Ok(())
    })
}

/// Removes every state version and snapshot of the agent.
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed.
#[no_mangle]
pub unsafe extern "C" fn agent_db_delete_agent(db: *const AgentDb, agent_id: u64) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: `db` is NULL (refused) or a live handle, per this function's contract.
        unsafe { db_ref(db) }?.delete_agent(agent_id)?;
        Ok(())
    })
}
