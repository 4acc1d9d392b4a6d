//! Bulk results through the Arrow C Data Interface: each call fills a
//! caller-provided `struct ArrowArrayStream` (Arrow's ABI, declared in the
//! header) that the consumer reads in place and releases with
//! `stream->release(stream)`. Layouts are the engine's `agentdb::export`.

use std::ffi::c_char;
use std::mem::MaybeUninit;

use arrow_array::ffi_stream::FFI_ArrowArrayStream;
use arrow_array::{RecordBatch, RecordBatchIterator};

use crate::cancel::{cancel_ref, AgentDbCancelToken};
use crate::convert::{c_str, out_ptr, slice, Failure};
use crate::memories::{retrieve_options, AgentDbRetrieveOptions};
use crate::rag::{doc_filter, fusion_from_c, run_search, AgentDbDocFilter, AgentDbFusion, SearchKind};
use crate::states::{history_query, AgentDbHistoryQuery};
use crate::vectors::{search_options, AgentDbSearchOptions};
use crate::{boundary, db_ref, AgentDb, AgentDbStatus};

/// Arrow's C stream struct (see the Arrow C stream interface).
pub type ArrowArrayStream = FFI_ArrowArrayStream;

/// Fills the caller's stream struct; `MaybeUninit::write` does not drop or
/// release whatever bytes were there.
fn export(batch: RecordBatch, out: &mut MaybeUninit<ArrowArrayStream>) {
    let schema = batch.schema();
    let reader = RecordBatchIterator::new(vec![Ok(batch)], schema);
    out.write(FFI_ArrowArrayStream::new(Box::new(reader)));
}

fn storage(e: agentdb::Error) -> Failure {
    Failure::from(e)
}

/// `agent_db_query_history` as one Arrow stream (columns agent_id, session_id,
/// version, timestamp_ms, state_type, data, metadata, checksum, key; key is
/// null for an unkeyed version).
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed;
/// `query` is NULL or points at an initialised `AgentDbHistoryQuery`;
/// `out_stream` is NULL or valid for one write of a
/// `struct ArrowArrayStream` (it may be uninitialised; it is overwritten, not
/// released).
#[no_mangle]
pub unsafe extern "C" fn agent_db_query_history_arrow(
    db: *const AgentDb,
    query: *const AgentDbHistoryQuery,
    out_stream: *mut ArrowArrayStream,
) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: `out_stream` is NULL (refused) or writable, per this function's contract.
        let out = unsafe { out_ptr(out_stream, "out_stream") }?;
        // SAFETY: `query` is NULL (refused) or an initialised query, per this function's contract.
        let q = unsafe { history_query(query) }?;
        // SAFETY: `db` is NULL (refused) or a live handle, per this function's contract.
        let states = unsafe { db_ref(db) }?.query_history(&q)?;
        export(agentdb::export::states_batch(&states).map_err(storage)?, out);
        Ok(())
    })
}

/// `agent_db_retrieve_memories` (text query) as one Arrow stream.
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed;
/// `query` is NULL or a NUL-terminated string; `options` is NULL or points
/// at an initialised `AgentDbRetrieveOptions` (`metadata_json` NULL or
/// NUL-terminated); `out_stream` is NULL or valid for one write of a
/// `struct ArrowArrayStream` (it may be uninitialised; it is overwritten, not
/// released).
#[no_mangle]
pub unsafe extern "C" fn agent_db_retrieve_memories_arrow(
    db: *const AgentDb,
    agent_id: u64,
    query: *const c_char,
    limit: u32,
    options: *const AgentDbRetrieveOptions,
    out_stream: *mut ArrowArrayStream,
) -> AgentDbStatus {
    // SAFETY: the same contract, and a NULL token.
    unsafe {
        agent_db_retrieve_memories_arrow_cancellable(db, agent_id, query, limit, options, std::ptr::null(), out_stream)
    }
}

/// As `agent_db_retrieve_memories_arrow`, stopped by `cancel` (NULL: not cancellable): once it is
/// cancelled, the call returns AGENT_DB_CANCELLED, having changed nothing.
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed;
/// `query` is NULL or a NUL-terminated string; `options` is NULL or points
/// at an initialised `AgentDbRetrieveOptions` (`metadata_json` NULL or
/// NUL-terminated); `out_stream` is NULL or valid for one write of a
/// `struct ArrowArrayStream` (it may be uninitialised; it is overwritten, not
/// released).
/// `cancel` is NULL or a token from `agent_db_cancel_token_new` not yet freed.
#[no_mangle]
pub unsafe extern "C" fn agent_db_retrieve_memories_arrow_cancellable(
    db: *const AgentDb,
    agent_id: u64,
    query: *const c_char,
    limit: u32,
    options: *const AgentDbRetrieveOptions,
    cancel: *const AgentDbCancelToken,
    out_stream: *mut ArrowArrayStream,
) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: `out_stream` is NULL (refused) or writable, per this function's contract.
        let out = unsafe { out_ptr(out_stream, "out_stream") }?;
        // SAFETY: `query` is NULL (refused) or NUL-terminated, per this function's contract.
        let query = unsafe { c_str(query, "query") }?;
        // SAFETY: `options` is NULL or an initialised struct, per this function's contract.
        let opts = unsafe { retrieve_options(options) }?;
        // SAFETY: `db` is NULL (refused) or a live handle, per this function's contract.
        let db = unsafe { db_ref(db) }?;
        // SAFETY: `cancel` is NULL or a live token, per this function's contract.
        let cancel = unsafe { cancel_ref(cancel) };
        let hits = db.with_cancel(cancel).retrieve(agent_id, query, limit as usize, &opts)?;
        export(agentdb::export::scored_memories_batch(&hits, db.memory_dimension()).map_err(storage)?, out);
        Ok(())
    })
}

/// `agent_db_hybrid_search` as one Arrow stream. `fusion` is one of
/// AGENT_DB_FUSION_*; any other value is AGENT_DB_INVALID_ARGUMENT.
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed;
/// `query` is NULL or a NUL-terminated string; `vector` is NULL or points at
/// `vector_len` floats; `filter` is NULL or points at an initialised
/// `AgentDbDocFilter` (as for `agent_db_hybrid_search`);
/// `out_stream` is NULL or valid for one write of a
/// `struct ArrowArrayStream` (it may be uninitialised; it is overwritten, not
/// released).
#[no_mangle]
pub unsafe extern "C" fn agent_db_hybrid_search_arrow(
    db: *const AgentDb,
    query: *const c_char,
    vector: *const f32,
    vector_len: usize,
    limit: u32,
    fusion: AgentDbFusion,
    alpha: f32,
    filter: *const AgentDbDocFilter,
    out_stream: *mut ArrowArrayStream,
) -> AgentDbStatus {
    // SAFETY: the same contract, and a NULL token.
    unsafe {
        agent_db_hybrid_search_arrow_cancellable(
            db,
            query,
            vector,
            vector_len,
            limit,
            fusion,
            alpha,
            filter,
            std::ptr::null(),
            out_stream,
        )
    }
}

/// As `agent_db_hybrid_search_arrow`, stopped by `cancel` (NULL: not cancellable): once it is
/// cancelled, the call returns AGENT_DB_CANCELLED, having changed nothing.
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed;
/// `query` is NULL or a NUL-terminated string; `vector` is NULL or points at
/// `vector_len` floats; `filter` is NULL or points at an initialised
/// `AgentDbDocFilter` (as for `agent_db_hybrid_search`);
/// `out_stream` is NULL or valid for one write of a
/// `struct ArrowArrayStream` (it may be uninitialised; it is overwritten, not
/// released).
/// `cancel` is NULL or a token from `agent_db_cancel_token_new` not yet freed.
#[no_mangle]
pub unsafe extern "C" fn agent_db_hybrid_search_arrow_cancellable(
    db: *const AgentDb,
    query: *const c_char,
    vector: *const f32,
    vector_len: usize,
    limit: u32,
    fusion: AgentDbFusion,
    alpha: f32,
    filter: *const AgentDbDocFilter,
    cancel: *const AgentDbCancelToken,
    out_stream: *mut ArrowArrayStream,
) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: `out_stream` is NULL (refused) or writable, per this function's contract.
        let out = unsafe { out_ptr(out_stream, "out_stream") }?;
        // SAFETY: `query` is NULL (refused) or NUL-terminated, per this function's contract.
        let q = unsafe { c_str(query, "query") }?;
        // SAFETY: a non-NULL `vector` points at `vector_len` floats, per this function's contract.
        let v = (!vector.is_null()).then(|| unsafe { slice(vector, vector_len, "vector") }).transpose()?;
        let kind = SearchKind::Hybrid { text: q, vector: v, fusion: fusion_from_c(fusion, alpha)? };
        // SAFETY: `filter` is NULL or an initialised filter, per this function's contract.
        let f = unsafe { doc_filter(filter) }?;
        // SAFETY: `cancel` is NULL or a live token, per this function's contract.
        let cancel = unsafe { cancel_ref(cancel) };
        // SAFETY: `db` is NULL (refused) or a live handle, per this function's contract.
        let hits = run_search(unsafe { db_ref(db) }?.with_cancel(cancel), kind, limit as usize, &f)?;
        export(agentdb::export::chunk_hits_batch(&hits).map_err(storage)?, out);
        Ok(())
    })
}

/// `agent_db_search_knn` as one Arrow stream (id, distance, metadata, vector).
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed;
/// `collection` is NULL or a NUL-terminated string; `query` is NULL or
/// points at `query_len` floats; `options` is NULL or points at an
/// initialised `AgentDbSearchOptions`; `out_stream` is NULL or valid for one write of a
/// `struct ArrowArrayStream` (it may be uninitialised; it is overwritten, not
/// released).
#[no_mangle]
pub unsafe extern "C" fn agent_db_search_knn_arrow(
    db: *const AgentDb,
    collection: *const c_char,
    query: *const f32,
    query_len: usize,
    k: u32,
    options: *const AgentDbSearchOptions,
    out_stream: *mut ArrowArrayStream,
) -> AgentDbStatus {
    // SAFETY: the same contract, and a NULL token.
    unsafe {
        agent_db_search_knn_arrow_cancellable(
            db,
            collection,
            query,
            query_len,
            k,
            options,
            std::ptr::null(),
            out_stream,
        )
    }
}

/// As `agent_db_search_knn_arrow`, stopped by `cancel` (NULL: not cancellable): once it is
/// cancelled, the call returns AGENT_DB_CANCELLED, having changed nothing.
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed;
/// `collection` is NULL or a NUL-terminated string; `query` is NULL or
/// points at `query_len` floats; `options` is NULL or points at an
/// initialised `AgentDbSearchOptions`; `out_stream` is NULL or valid for one write of a
/// `struct ArrowArrayStream` (it may be uninitialised; it is overwritten, not
/// released).
/// `cancel` is NULL or a token from `agent_db_cancel_token_new` not yet freed.
#[no_mangle]
pub unsafe extern "C" fn agent_db_search_knn_arrow_cancellable(
    db: *const AgentDb,
    collection: *const c_char,
    query: *const f32,
    query_len: usize,
    k: u32,
    options: *const AgentDbSearchOptions,
    cancel: *const AgentDbCancelToken,
    out_stream: *mut ArrowArrayStream,
) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: `out_stream` is NULL (refused) or writable, per this function's contract.
        let out = unsafe { out_ptr(out_stream, "out_stream") }?;
        // SAFETY: `collection` is NULL (refused) or NUL-terminated, per this function's contract.
        let collection = unsafe { c_str(collection, "collection") }?;
        // SAFETY: `query` is NULL (refused unless the length is 0) or `query_len` floats (contract).
        let q = unsafe { slice(query, query_len, "query") }?;
        // SAFETY: `options` is NULL or an initialised struct, per this function's contract.
        let opts = unsafe { search_options(options) }?;
        // SAFETY: `cancel` is NULL or a live token, per this function's contract.
        let cancel = unsafe { cancel_ref(cancel) };
        // SAFETY: `db` is NULL (refused) or a live handle, per this function's contract.
        let hits = unsafe { db_ref(db) }?.with_cancel(cancel).search_knn(collection, q, k as usize, &opts)?;
        export(agentdb::export::vector_hits_batch(&hits, query_len).map_err(storage)?, out);
        Ok(())
    })
}
