//! Memories: store, get, update importance, retrieve by text or vector, forget, delete.

use std::ffi::{c_char, CString};
use std::time::Duration;

use agentdb::{ForgetPolicy, Memory, MemoryFilter, MemoryType, NewMemory, RetrieveOptions, ScoredMemory};

use crate::cancel::{cancel_ref, AgentDbCancelToken};
use crate::convert::{
    c_str, list_into_raw, metadata, metadata_c_string, opt_out, out_ptr, owned_c_string, slice, Failure, ListOwner,
};
use crate::{boundary, db_ref, AgentDb, AgentDbStatus};

pub type AgentDbMemoryType = u32;
pub const AGENT_DB_MEMORY_EPISODIC: AgentDbMemoryType = 0;
pub const AGENT_DB_MEMORY_SEMANTIC: AgentDbMemoryType = 1;
pub const AGENT_DB_MEMORY_PROCEDURAL: AgentDbMemoryType = 2;
pub const AGENT_DB_MEMORY_WORKING: AgentDbMemoryType = 3;

fn memory_type_from_c(t: AgentDbMemoryType) -> Result<MemoryType, Failure> {
    MemoryType::ALL
        .get(t as usize)
        .copied()
        .ok_or_else(|| Failure::invalid(format!("unknown memory type {t} (expected 0..=3)")))
}

fn memory_type_to_c(t: MemoryType) -> AgentDbMemoryType {
    MemoryType::ALL.iter().position(|x| *x == t).unwrap_or(0) as AgentDbMemoryType
}

/// A memory to store. `embedding` NULL (with `embedding_len` 0) embeds
/// `content` with the database's model; `ttl_ms` 0 never expires;
/// `metadata_json` may be NULL.
#[repr(C)]
pub struct AgentDbNewMemory {
    pub agent_id: u64,
    pub memory_type: AgentDbMemoryType,
    /// 0..=1
    pub importance: f32,
    pub content: *const c_char,
    pub embedding: *const f32,
    pub embedding_len: usize,
    pub ttl_ms: u64,
    pub metadata_json: *const c_char,
}

/// `memory_type` is read as the `uint32_t` the header declares and refused
/// when it names no AGENT_DB_MEMORY_* value.
///
/// # Safety
/// `m.content` and `m.metadata_json` are NULL or live NUL-terminated
/// strings; `m.embedding` is NULL or points at `m.embedding_len` floats.
unsafe fn new_memory(m: &AgentDbNewMemory, name: &str) -> Result<NewMemory, Failure> {
    // SAFETY: `embedding` is NULL (refused unless the length is 0) or `embedding_len` floats (contract).
    let embedding = unsafe { slice(m.embedding, m.embedding_len, &format!("{name}.embedding")) }?;
    Ok(NewMemory {
        agent_id: m.agent_id,
        memory_type: memory_type_from_c(m.memory_type)?,
        // SAFETY: `content` is NULL (refused) or NUL-terminated, per this function's contract.
        content: unsafe { c_str(m.content, &format!("{name}.content")) }?.to_string(),
        embedding: (!m.embedding.is_null()).then(|| embedding.to_vec()),
        importance: m.importance,
        ttl: (m.ttl_ms > 0).then(|| Duration::from_millis(m.ttl_ms)),
        // SAFETY: `metadata_json` is NULL or NUL-terminated, per this function's contract.
        metadata: unsafe { metadata(m.metadata_json, &format!("{name}.metadata_json")) }?,
    })
}

/// Stores one memory; its new id goes to `*out_memory_id`.
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed;
/// `memory` is NULL or points at an initialised `AgentDbNewMemory` whose
/// `content` and `metadata_json` are NULL or NUL-terminated strings and whose
/// `embedding` is NULL or points at `embedding_len` floats; `out_memory_id` is NULL or valid for one `uint64_t` write.
#[no_mangle]
pub unsafe extern "C" fn agent_db_store_memory(
    db: *const AgentDb,
    memory: *const AgentDbNewMemory,
    out_memory_id: *mut u64,
) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: `out_memory_id` is NULL (refused) or writable, per this function's contract.
        let out = unsafe { out_ptr(out_memory_id, "out_memory_id") }?;
        // SAFETY: `memory` is NULL (refused) or an initialised struct, per this function's contract.
        let m = unsafe { memory.as_ref() }.ok_or_else(|| Failure::null("memory"))?;
        // SAFETY: its pointer fields are as new_memory requires, per this function's contract.
        let new = unsafe { new_memory(m, "memory") }?;
        // SAFETY: `db` is NULL (refused) or a live handle, per this function's contract.
        out.write(unsafe { db_ref(db) }?.store_memory(new)?);
        Ok(())
    })
}

/// Stores `count` memories atomically (all or none); their ids go to
/// `out_memory_ids`, an array of `count` the caller provides.
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed;
/// `memories` is NULL or points at `count` initialised `AgentDbNewMemory`,
/// each with pointer fields as for `agent_db_store_memory`;
/// `out_memory_ids` is NULL or valid for `count` `uint64_t` writes.
#[no_mangle]
pub unsafe extern "C" fn agent_db_store_memories(
    db: *const AgentDb,
    memories: *const AgentDbNewMemory,
    count: usize,
    out_memory_ids: *mut u64,
) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: `memories` is NULL (refused unless count is 0) or `count` structs, per the contract.
        let items = unsafe { slice(memories, count, "memories") }?;
        if count > 0 && out_memory_ids.is_null() {
            return Err(Failure::null("out_memory_ids"));
        }
        let batch = items
            .iter()
            .enumerate()
            // SAFETY: every element's pointer fields are as new_memory requires, per the contract.
            .map(|(i, m)| unsafe { new_memory(m, &format!("memories[{i}]")) })
            .collect::<Result<Vec<_>, _>>()?;
        // SAFETY: `db` is NULL (refused) or a live handle, per this function's contract.
        let ids = unsafe { db_ref(db) }?.store_memories(batch)?;
        assert_eq!(ids.len(), count, "one id per stored memory");
        for (i, id) in ids.into_iter().enumerate() {
            // SAFETY: `out_memory_ids` is not NULL when count > 0 (checked above) and valid for
            // `count` writes (contract); i < count (asserted). `write` assumes nothing about old bytes.
            unsafe { out_memory_ids.add(i).write(id) };
        }
        Ok(())
    })
}

/// A stored memory. `expires_at_ms` is meaningful only when `has_expiry`.
#[repr(C)]
pub struct AgentDbMemory {
    pub memory_id: u64,
    pub agent_id: u64,
    pub memory_type: AgentDbMemoryType,
    pub importance: f32,
    pub access_count: u64,
    pub last_access_ms: i64,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
    pub has_expiry: bool,
    /// Pinned memories are never forgotten, expired, evicted or merged away.
    pub pinned: bool,
    pub content: *const c_char,
    pub embedding: *const f32,
    pub embedding_len: usize,
    pub metadata_json: *const c_char,
}

type MemoryKeep = (CString, Vec<f32>, CString);

fn memory_parts(m: Memory) -> (AgentDbMemory, MemoryKeep) {
    let content = owned_c_string(m.content);
    let meta = metadata_c_string(&m.metadata);
    let head = AgentDbMemory {
        memory_id: m.memory_id,
        agent_id: m.agent_id,
        memory_type: memory_type_to_c(m.memory_type),
        importance: m.importance,
        access_count: m.access_count,
        last_access_ms: m.last_access_ms,
        created_at_ms: m.created_at_ms,
        expires_at_ms: m.expires_at_ms.unwrap_or(0),
        has_expiry: m.expires_at_ms.is_some(),
        pinned: m.pinned,
        content: content.as_ptr(),
        embedding: m.embedding.as_ptr(),
        embedding_len: m.embedding.len(),
        metadata_json: meta.as_ptr(),
    };
    (head, (content, m.embedding, meta))
}

#[repr(C)]
struct MemoryOwner {
    head: AgentDbMemory,
    keep: MemoryKeep,
}

/// One memory by id (not counted as an access). Free with `agent_db_memory_free`.
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed;
/// `out_memory` is NULL or valid for one pointer write.
#[no_mangle]
pub unsafe extern "C" fn agent_db_get_memory(
    db: *const AgentDb,
    memory_id: u64,
    out_memory: *mut *mut AgentDbMemory,
) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: `out_memory` is NULL (refused) or writable, per this function's contract.
        let out = unsafe { out_ptr(out_memory, "out_memory") }?;
        // SAFETY: `db` is NULL (refused) or a live handle, per this function's contract.
        let (head, keep) = memory_parts(unsafe { db_ref(db) }?.get_memory(memory_id)?);
        out.write(Box::into_raw(Box::new(MemoryOwner { head, keep })).cast::<AgentDbMemory>());
        Ok(())
    })
}

/// Frees a memory of `agent_db_get_memory`. NULL is a no-op.
///
/// # Safety
/// `memory` is NULL or one returned by `agent_db_get_memory`, not yet freed
/// and not used afterwards; never one inside a list.
#[no_mangle]
pub unsafe extern "C" fn agent_db_memory_free(memory: *mut AgentDbMemory) {
    if !memory.is_null() {
        // SAFETY: a returned memory is the head of a Box<MemoryOwner> leaked by agent_db_get_memory,
        // not yet freed (this function's contract).
        drop(unsafe { Box::from_raw(memory.cast::<MemoryOwner>()) });
    }
}

/// Sets a memory's importance (0..=1).
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed.
#[no_mangle]
pub unsafe extern "C" fn agent_db_update_memory_importance(
    db: *const AgentDb,
    memory_id: u64,
    importance: f32,
) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: `db` is NULL (refused) or a live handle, per this function's contract.
        unsafe { db_ref(db) }?.update_memory_importance(memory_id, importance)?;
        Ok(())
    })
}

/// Deletes one memory.
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed.
#[no_mangle]
pub unsafe extern "C" fn agent_db_delete_memory(db: *const AgentDb, memory_id: u64) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: `db` is NULL (refused) or a live handle, per this function's contract.
        unsafe { db_ref(db) }?.delete_memory(memory_id)?;
        Ok(())
    })
}

#[repr(C)]
pub struct AgentDbMemoryList {
    pub items: *const AgentDbMemory,
    pub len: usize,
}

type MemoryListOwner = ListOwner<AgentDbMemoryList, AgentDbMemory, Vec<MemoryKeep>>;

/// Every live memory of the agent, oldest first. Free with `agent_db_memory_list_free`.
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed;
/// `out_list` is NULL or valid for one pointer write.
#[no_mangle]
pub unsafe extern "C" fn agent_db_list_memories(
    db: *const AgentDb,
    agent_id: u64,
    out_list: *mut *mut AgentDbMemoryList,
) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: `out_list` is NULL (refused) or writable, per this function's contract.
        let out = unsafe { out_ptr(out_list, "out_list") }?;
        // SAFETY: `db` is NULL (refused) or a live handle, per this function's contract.
        let memories = unsafe { db_ref(db) }?.list_memories(agent_id)?;
        let (items, keep): (Vec<_>, Vec<_>) = memories.into_iter().map(memory_parts).unzip();
        out.write(list_into_raw(items, keep, |items, len| AgentDbMemoryList { items, len }));
        Ok(())
    })
}

/// Frees a list of `agent_db_list_memories`. NULL is a no-op.
///
/// # Safety
/// `list` is NULL or a list from `agent_db_list_memories`, not yet freed;
/// neither it nor its items are used afterwards.
#[no_mangle]
pub unsafe extern "C" fn agent_db_memory_list_free(list: *mut AgentDbMemoryList) {
    if !list.is_null() {
        // SAFETY: the list is the head of a Box<MemoryListOwner> leaked by list_into_raw, not yet
        // freed (this function's contract).
        drop(unsafe { Box::from_raw(list.cast::<MemoryListOwner>()) });
    }
}

/// Retrieval knobs; fill with `agent_db_retrieve_options_default`.
/// score = relevance_weight·relevance + importance_weight·importance + recency_weight·recency.
#[repr(C)]
pub struct AgentDbRetrieveOptions {
    pub relevance_weight: f32,
    pub importance_weight: f32,
    pub recency_weight: f32,
    /// Recency halves every this many ms since last access.
    pub recency_half_life_ms: u64,
    /// Candidates fetched by similarity before re-ranking, as a multiple of the limit.
    pub candidate_factor: u32,
    /// Count this retrieval as an access of each returned memory.
    pub record_access: bool,
    /// Bit (1 << AGENT_DB_MEMORY_*) per type to include; 0 includes all.
    pub memory_types_mask: u32,
    /// Inclusive bounds on created_at_ms; INT64_MIN / INT64_MAX: unbounded.
    pub created_after_ms: i64,
    pub created_before_ms: i64,
    /// Every entry must equal the memory's metadata value; NULL: no filter.
    pub metadata_json: *const c_char,
}

/// Fills `*out` with the default retrieval options.
///
/// # Safety
/// `out` is NULL or valid for one write of an `AgentDbRetrieveOptions` (it
/// may be uninitialised).
#[no_mangle]
pub unsafe extern "C" fn agent_db_retrieve_options_default(out: *mut AgentDbRetrieveOptions) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: `out` is NULL (refused) or writable, per this function's contract.
        let out = unsafe { out_ptr(out, "out") }?;
        let d = RetrieveOptions::default();
        out.write(AgentDbRetrieveOptions {
            relevance_weight: d.relevance_weight,
            importance_weight: d.importance_weight,
            recency_weight: d.recency_weight,
            recency_half_life_ms: d.recency_half_life.as_millis() as u64,
            candidate_factor: d.candidate_factor as u32,
            record_access: d.record_access,
            memory_types_mask: 0,
            created_after_ms: i64::MIN,
            created_before_ms: i64::MAX,
            metadata_json: std::ptr::null(),
        });
        Ok(())
    })
}

/// NULL is the defaults. `memory_types_mask` bits that name no memory type
/// are refused.
///
/// # Safety
/// `o` is NULL or points at an initialised `AgentDbRetrieveOptions`
/// (`record_access` 0 or 1; `metadata_json` NULL or NUL-terminated).
pub(crate) unsafe fn retrieve_options(o: *const AgentDbRetrieveOptions) -> Result<RetrieveOptions, Failure> {
    // SAFETY: `o` is NULL or an initialised struct, per this function's contract.
    let Some(o) = (unsafe { o.as_ref() }) else { return Ok(RetrieveOptions::default()) };
    if o.memory_types_mask >> MemoryType::ALL.len() != 0 {
        return Err(Failure::invalid(format!("memory_types_mask {:#x} has unknown bits", o.memory_types_mask)));
    }
    let memory_types = MemoryType::ALL
        .iter()
        .enumerate()
        .filter(|(i, _)| o.memory_types_mask & (1 << i) != 0)
        .map(|(_, t)| *t)
        .collect();
    Ok(RetrieveOptions {
        filter: MemoryFilter {
            memory_types,
            created_after_ms: (o.created_after_ms != i64::MIN).then_some(o.created_after_ms),
            created_before_ms: (o.created_before_ms != i64::MAX).then_some(o.created_before_ms),
            // SAFETY: `metadata_json` is NULL or NUL-terminated, per this function's contract.
            metadata: unsafe { metadata(o.metadata_json, "options.metadata_json") }?,
        },
        relevance_weight: o.relevance_weight,
        importance_weight: o.importance_weight,
        recency_weight: o.recency_weight,
        recency_half_life: Duration::from_millis(o.recency_half_life_ms),
        candidate_factor: o.candidate_factor as usize,
        record_access: o.record_access,
    })
}

#[repr(C)]
pub struct AgentDbScoredMemory {
    pub memory: AgentDbMemory,
    pub score: f32,
    /// Cosine similarity to the query, clamped to 0..=1.
    pub relevance: f32,
    /// 0.5 ^ (time since last access / half-life).
    pub recency: f32,
}

#[repr(C)]
pub struct AgentDbScoredMemoryList {
    pub items: *const AgentDbScoredMemory,
    pub len: usize,
}

type ScoredListOwner = ListOwner<AgentDbScoredMemoryList, AgentDbScoredMemory, Vec<MemoryKeep>>;

fn scored_list_into_raw(hits: Vec<ScoredMemory>) -> *mut AgentDbScoredMemoryList {
    let (items, keep): (Vec<_>, Vec<_>) = hits
        .into_iter()
        .map(|h| {
            let (memory, keep) = memory_parts(h.memory);
            (AgentDbScoredMemory { memory, score: h.score, relevance: h.relevance, recency: h.recency }, keep)
        })
        .unzip();
    list_into_raw(items, keep, |items, len| AgentDbScoredMemoryList { items, len })
}

/// The agent's `limit` best memories for a text query (embedded with the
/// model), best first. `options` may be NULL. Free with `agent_db_scored_memory_list_free`.
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed;
/// `options` is NULL or points at an initialised `AgentDbRetrieveOptions`
/// (`metadata_json` NULL or NUL-terminated); `out_list` is NULL or valid for
/// one pointer write. `query` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn agent_db_retrieve_memories(
    db: *const AgentDb,
    agent_id: u64,
    query: *const c_char,
    limit: u32,
    options: *const AgentDbRetrieveOptions,
    out_list: *mut *mut AgentDbScoredMemoryList,
) -> AgentDbStatus {
    // SAFETY: the same contract, and a NULL token.
    unsafe { agent_db_retrieve_memories_cancellable(db, agent_id, query, limit, options, std::ptr::null(), out_list) }
}

/// As `agent_db_retrieve_memories`, stopped by `cancel` (NULL: not cancellable): once it is
/// cancelled, the call returns AGENT_DB_CANCELLED, having changed nothing.
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed;
/// `options` is NULL or points at an initialised `AgentDbRetrieveOptions`
/// (`metadata_json` NULL or NUL-terminated); `out_list` is NULL or valid for
/// one pointer write. `query` is NULL or a NUL-terminated string.
/// `cancel` is NULL or a token from `agent_db_cancel_token_new` not yet freed.
#[no_mangle]
pub unsafe extern "C" fn agent_db_retrieve_memories_cancellable(
    db: *const AgentDb,
    agent_id: u64,
    query: *const c_char,
    limit: u32,
    options: *const AgentDbRetrieveOptions,
    cancel: *const AgentDbCancelToken,
    out_list: *mut *mut AgentDbScoredMemoryList,
) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: `out_list` is NULL (refused) or writable, per this function's contract.
        let out = unsafe { out_ptr(out_list, "out_list") }?;
        // SAFETY: `query` is NULL (refused) or NUL-terminated, per this function's contract.
        let query = unsafe { c_str(query, "query") }?;
        // SAFETY: `options` is NULL or an initialised struct, per this function's contract.
        let opts = unsafe { retrieve_options(options) }?;
        // SAFETY: `cancel` is NULL or a live token, per this function's contract.
        let cancel = unsafe { cancel_ref(cancel) };
        // SAFETY: `db` is NULL (refused) or a live handle, per this function's contract.
        let db = unsafe { db_ref(db) }?.with_cancel(cancel);
        out.write(scored_list_into_raw(db.retrieve(agent_id, query, limit as usize, &opts)?));
        Ok(())
    })
}

/// As `agent_db_retrieve_memories`, for a query vector of `vector_len` floats.
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed;
/// `options` is NULL or points at an initialised `AgentDbRetrieveOptions`
/// (`metadata_json` NULL or NUL-terminated); `out_list` is NULL or valid for
/// one pointer write. `vector` is NULL or points at `vector_len` floats.
#[no_mangle]
pub unsafe extern "C" fn agent_db_retrieve_memories_by_vector(
    db: *const AgentDb,
    agent_id: u64,
    vector: *const f32,
    vector_len: usize,
    limit: u32,
    options: *const AgentDbRetrieveOptions,
    out_list: *mut *mut AgentDbScoredMemoryList,
) -> AgentDbStatus {
    // SAFETY: the same contract, and a NULL token.
    unsafe {
        agent_db_retrieve_memories_by_vector_cancellable(
            db,
            agent_id,
            vector,
            vector_len,
            limit,
            options,
            std::ptr::null(),
            out_list,
        )
    }
}

/// As `agent_db_retrieve_memories_by_vector`, stopped by `cancel` (NULL: not cancellable): once it is
/// cancelled, the call returns AGENT_DB_CANCELLED, having changed nothing.
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed;
/// `options` is NULL or points at an initialised `AgentDbRetrieveOptions`
/// (`metadata_json` NULL or NUL-terminated); `out_list` is NULL or valid for
/// one pointer write. `vector` is NULL or points at `vector_len` floats.
/// `cancel` is NULL or a token from `agent_db_cancel_token_new` not yet freed.
#[no_mangle]
pub unsafe extern "C" fn agent_db_retrieve_memories_by_vector_cancellable(
    db: *const AgentDb,
    agent_id: u64,
    vector: *const f32,
    vector_len: usize,
    limit: u32,
    options: *const AgentDbRetrieveOptions,
    cancel: *const AgentDbCancelToken,
    out_list: *mut *mut AgentDbScoredMemoryList,
) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: `out_list` is NULL (refused) or writable, per this function's contract.
        let out = unsafe { out_ptr(out_list, "out_list") }?;
        // SAFETY: `vector` is NULL (refused unless the length is 0) or `vector_len` floats (contract).
        let v = unsafe { slice(vector, vector_len, "vector") }?;
        // SAFETY: `options` is NULL or an initialised struct, per this function's contract.
        let opts = unsafe { retrieve_options(options) }?;
        // SAFETY: `cancel` is NULL or a live token, per this function's contract.
        let cancel = unsafe { cancel_ref(cancel) };
        // SAFETY: `db` is NULL (refused) or a live handle, per this function's contract.
        let db = unsafe { db_ref(db) }?.with_cancel(cancel);
        out.write(scored_list_into_raw(db.retrieve_similar(agent_id, v, limit as usize, &opts)?));
        Ok(())
    })
}

/// Frees a list of `agent_db_retrieve_memories*`. NULL is a no-op.
///
/// # Safety
/// `list` is NULL or a list from `agent_db_retrieve_memories` or
/// `agent_db_retrieve_memories_by_vector`, not yet freed; neither it nor its
/// items are used afterwards.
#[no_mangle]
pub unsafe extern "C" fn agent_db_scored_memory_list_free(list: *mut AgentDbScoredMemoryList) {
    if !list.is_null() {
        // SAFETY: the list is the head of a Box<ScoredListOwner> leaked by list_into_raw, not yet
        // freed (this function's contract).
        drop(unsafe { Box::from_raw(list.cast::<ScoredListOwner>()) });
    }
}

/// Forgets the agent's memories older than `older_than_ms` whose importance,
/// halved every `decay_half_life_ms` since last access, is below
/// `min_importance`. The number forgotten goes to `*out_count` (may be NULL).
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed;
/// `out_count` is NULL or valid for one `uint64_t` write.
#[no_mangle]
pub unsafe extern "C" fn agent_db_forget_memories(
    db: *const AgentDb,
    agent_id: u64,
    older_than_ms: u64,
    min_importance: f32,
    decay_half_life_ms: u64,
    out_count: *mut u64,
) -> AgentDbStatus {
    boundary(|| {
        let policy = ForgetPolicy {
            older_than: Duration::from_millis(older_than_ms),
            min_importance,
            decay_half_life: Duration::from_millis(decay_half_life_ms),
        };
        // SAFETY: `out_count` is NULL or writable, per this function's contract.
        let out_count = unsafe { opt_out(out_count) };
        // SAFETY: `db` is NULL (refused) or a live handle, per this function's contract.
        let n = unsafe { db_ref(db) }?.forget(agent_id, &policy)?;
        if let Some(out) = out_count {
            out.write(n as u64);
        }
        Ok(())
    })
}

pub type AgentDbStoreKind = u32;
/// A new memory was stored.
pub const AGENT_DB_STORE_STORED: AgentDbStoreKind = 0;
/// An exact duplicate (same agent, type, normalised content): the existing memory was refreshed.
pub const AGENT_DB_STORE_DUPLICATE: AgentDbStoreKind = 1;
/// Merged with near-duplicates by the merge policy; `absorbed` no longer exist.
pub const AGENT_DB_STORE_MERGED: AgentDbStoreKind = 2;

/// What a store did. `memory_id` holds the content now.
#[repr(C)]
pub struct AgentDbStoreOutcome {
    pub memory_id: u64,
    pub kind: AgentDbStoreKind,
    pub absorbed: *const u64,
    pub absorbed_len: usize,
    /// Memories deleted to respect the per-agent/type limit.
    pub evicted: *const u64,
    pub evicted_len: usize,
}

#[repr(C)]
struct OutcomeOwner {
    head: AgentDbStoreOutcome,
    keep: (Vec<u64>, Vec<u64>),
}

/// `agent_db_store_memory` that also says whether the memory was new, a
/// duplicate or merged. Free with `agent_db_store_outcome_free`.
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed;
/// `memory` is NULL or points at an initialised `AgentDbNewMemory` whose
/// `content` and `metadata_json` are NULL or NUL-terminated strings and whose
/// `embedding` is NULL or points at `embedding_len` floats; `out_outcome` is NULL or valid for one pointer write.
#[no_mangle]
pub unsafe extern "C" fn agent_db_store_memory_outcome(
    db: *const AgentDb,
    memory: *const AgentDbNewMemory,
    out_outcome: *mut *mut AgentDbStoreOutcome,
) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: `out_outcome` is NULL (refused) or writable, per this function's contract.
        let out = unsafe { out_ptr(out_outcome, "out_outcome") }?;
        // SAFETY: `memory` is NULL (refused) or an initialised struct, per this function's contract.
        let m = unsafe { memory.as_ref() }.ok_or_else(|| Failure::null("memory"))?;
        // SAFETY: its pointer fields are as new_memory requires, per this function's contract.
        let new = unsafe { new_memory(m, "memory") }?;
        // SAFETY: `db` is NULL (refused) or a live handle, per this function's contract.
        let o = unsafe { db_ref(db) }?.store_memory_outcome(new)?;
        let (kind, absorbed) = match o.kind {
            agentdb::StoreKind::Stored => (AGENT_DB_STORE_STORED, Vec::new()),
            agentdb::StoreKind::Duplicate => (AGENT_DB_STORE_DUPLICATE, Vec::new()),
            agentdb::StoreKind::Merged { absorbed } => (AGENT_DB_STORE_MERGED, absorbed),
        };
        let keep = (absorbed, o.evicted);
        let head = AgentDbStoreOutcome {
            memory_id: o.memory_id,
            kind,
            absorbed: keep.0.as_ptr(),
            absorbed_len: keep.0.len(),
            evicted: keep.1.as_ptr(),
            evicted_len: keep.1.len(),
        };
        out.write(Box::into_raw(Box::new(OutcomeOwner { head, keep })).cast::<AgentDbStoreOutcome>());
        Ok(())
    })
}

/// Frees an outcome of `agent_db_store_memory_outcome`. NULL is a no-op.
///
/// # Safety
/// `outcome` is NULL or one returned by `agent_db_store_memory_outcome`, not
/// yet freed and not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn agent_db_store_outcome_free(outcome: *mut AgentDbStoreOutcome) {
    if !outcome.is_null() {
        // SAFETY: a returned outcome is the head of a Box<OutcomeOwner> leaked by
        // agent_db_store_memory_outcome, not yet freed (this function's contract).
        drop(unsafe { Box::from_raw(outcome.cast::<OutcomeOwner>()) });
    }
}

/// Pins a memory: never forgotten, expired, evicted or merged away.
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed.
#[no_mangle]
pub unsafe extern "C" fn agent_db_pin_memory(db: *const AgentDb, memory_id: u64) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: `db` is NULL (refused) or a live handle, per this function's contract.
        unsafe { db_ref(db) }?.pin_memory(memory_id)?;
        Ok(())
    })
}

/// Unpins a memory.
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed.
#[no_mangle]
pub unsafe extern "C" fn agent_db_unpin_memory(db: *const AgentDb, memory_id: u64) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: `db` is NULL (refused) or a live handle, per this function's contract.
        unsafe { db_ref(db) }?.unpin_memory(memory_id)?;
        Ok(())
    })
}

/// Merges the agent's existing near-duplicate memories by the merge policy.
/// The report (JSON: agent_id, examined, groups [{memory_type, kept,
/// absorbed}], remaining) goes to `*out_report_json` (may be NULL; free with
/// `agent_db_string_free`).
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed;
/// `out_report_json` is NULL or valid for one pointer write.
#[no_mangle]
pub unsafe extern "C" fn agent_db_consolidate_memories(
    db: *const AgentDb,
    agent_id: u64,
    out_report_json: *mut *mut c_char,
) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: `out_report_json` is NULL or writable, per this function's contract.
        let out_report = unsafe { opt_out(out_report_json) };
        // SAFETY: `db` is NULL (refused) or a live handle, per this function's contract.
        let report = unsafe { db_ref(db) }?.consolidate(agent_id)?;
        if let Some(out) = out_report {
            let json = serde_json::to_string(&report).map_err(|e| Failure::invalid(e.to_string()))?;
            out.write(owned_c_string(json).into_raw());
        }
        Ok(())
    })
}
