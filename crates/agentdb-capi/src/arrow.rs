//! Bulk results through the Arrow C Data Interface: each call fills a
//! caller-provided `struct ArrowArrayStream` (Arrow's ABI, declared in the
//! header) that the consumer reads in place and releases with
//! `stream->release(stream)`. Layouts are the engine's `agentdb::export`.

use std::ffi::c_char;

use arrow_array::ffi_stream::FFI_ArrowArrayStream;
use arrow_array::{RecordBatch, RecordBatchIterator};

use crate::convert::{c_str, out_ptr, slice, Failure};
use crate::memories::{retrieve_options, AgentDbRetrieveOptions};
use crate::rag::{doc_filter, fusion_from_c, run_search, AgentDbDocFilter, AgentDbFusion, SearchKind};
use crate::states::{history_query, AgentDbHistoryQuery};
use crate::vectors::{search_options, AgentDbSearchOptions};
use crate::{boundary, db_ref, AgentDb, AgentDbStatus};

/// Arrow's C stream struct (see the Arrow C stream interface).
pub type ArrowArrayStream = FFI_ArrowArrayStream;

fn export(batch: RecordBatch, out: &mut ArrowArrayStream) {
    let schema = batch.schema();
    let reader = RecordBatchIterator::new(vec![Ok(batch)], schema);
    // SAFETY: `out` is caller memory for one stream struct; ptr::write does not drop its (uninitialised) old contents.
    unsafe { std::ptr::write(out, FFI_ArrowArrayStream::new(Box::new(reader))) };
}

fn storage(e: agentdb::Error) -> Failure {
    Failure::from(e)
}

/// `agent_db_query_history` as one Arrow stream (columns agent_id, session_id,
/// version, timestamp_ms, state_type, data, metadata, checksum).
#[no_mangle]
pub unsafe extern "C" fn agent_db_query_history_arrow(
    db: *const AgentDb,
    query: *const AgentDbHistoryQuery,
    out_stream: *mut ArrowArrayStream,
) -> AgentDbStatus {
    boundary(|| {
        let out = out_ptr(out_stream, "out_stream")?;
        let q = history_query(query)?;
        let states = db_ref(db)?.query_history(&q)?;
        export(agentdb::export::states_batch(&states).map_err(storage)?, out);
        Ok(())
    })
}

/// `agent_db_retrieve_memories` (text query) as one Arrow stream.
#[no_mangle]
pub unsafe extern "C" fn agent_db_retrieve_memories_arrow(
    db: *const AgentDb,
    agent_id: u64,
    query: *const c_char,
    limit: u32,
    options: *const AgentDbRetrieveOptions,
    out_stream: *mut ArrowArrayStream,
) -> AgentDbStatus {
    boundary(|| {
        let out = out_ptr(out_stream, "out_stream")?;
        let query = c_str(query, "query")?;
        let opts = retrieve_options(options)?;
        let db = db_ref(db)?;
        let hits = db.retrieve(agent_id, query, limit as usize, &opts)?;
        export(agentdb::export::scored_memories_batch(&hits, db.memory_dimension()).map_err(storage)?, out);
        Ok(())
    })
}

/// `agent_db_hybrid_search` as one Arrow stream.
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
    boundary(|| {
        let out = out_ptr(out_stream, "out_stream")?;
        let q = c_str(query, "query")?;
        let v = (!vector.is_null()).then(|| slice(vector, vector_len, "vector")).transpose()?;
        let kind = SearchKind::Hybrid { text: q, vector: v, fusion: fusion_from_c(fusion, alpha)? };
        let f = doc_filter(filter)?;
        let hits = run_search(db_ref(db)?, kind, limit as usize, &f)?;
        export(agentdb::export::chunk_hits_batch(&hits).map_err(storage)?, out);
        Ok(())
    })
}

/// `agent_db_search_knn` as one Arrow stream (id, distance, metadata, vector).
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
    boundary(|| {
        let out = out_ptr(out_stream, "out_stream")?;
        let collection = c_str(collection, "collection")?;
        let q = slice(query, query_len, "query")?;
        let opts = search_options(options)?;
        let hits = db_ref(db)?.search_knn(collection, q, k as usize, &opts)?;
        export(agentdb::export::vector_hits_batch(&hits, query_len).map_err(storage)?, out);
        Ok(())
    })
}
