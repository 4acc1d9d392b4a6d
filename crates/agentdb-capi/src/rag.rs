//! Documents: index, get, delete; semantic, full-text and hybrid search.

use std::ffi::{c_char, CString};

use agentdb::{ChunkHit, DocFilter, DocumentInfo, Fusion, NewDocument};

use crate::cancel::{cancel_ref, AgentDbCancelToken};
use crate::convert::{
    c_str, c_str_array, list_into_raw, metadata, metadata_c_string, opt_c_str, opt_out, out_ptr, owned_c_string, slice,
    Failure, ListOwner,
};
use crate::{boundary, db_ref, AgentDb, AgentDbStatus};

#[repr(C)]
pub struct AgentDbDocumentInfo {
    pub doc_id: *const c_char,
    pub title: *const c_char,
    pub metadata_json: *const c_char,
    pub chunk_count: u32,
    pub char_count: u64,
    pub indexed_at_ms: i64,
}

#[repr(C)]
struct DocumentOwner {
    head: AgentDbDocumentInfo,
    keep: (CString, CString, CString),
}

fn document_into_raw(d: DocumentInfo) -> *mut AgentDbDocumentInfo {
    let keep = (owned_c_string(d.doc_id), owned_c_string(d.title), metadata_c_string(&d.metadata));
    let head = AgentDbDocumentInfo {
        doc_id: keep.0.as_ptr(),
        title: keep.1.as_ptr(),
        metadata_json: keep.2.as_ptr(),
        chunk_count: d.chunk_count,
        char_count: d.char_count,
        indexed_at_ms: d.indexed_at_ms,
    };
    Box::into_raw(Box::new(DocumentOwner { head, keep })).cast::<AgentDbDocumentInfo>()
}

/// Chunks, embeds and stores a document, replacing one with the same id.
/// `title` and `metadata_json` may be NULL; `out_info` may be NULL
/// (otherwise free with `agent_db_document_info_free`).
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed;
/// `doc_id`, `title`, `text` and `metadata_json` are NULL or NUL-terminated
/// strings; `out_info` is NULL or valid for one pointer write.
#[no_mangle]
pub unsafe extern "C" fn agent_db_index_document(
    db: *const AgentDb,
    doc_id: *const c_char,
    title: *const c_char,
    text: *const c_char,
    metadata_json: *const c_char,
    out_info: *mut *mut AgentDbDocumentInfo,
) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: the four strings are NULL (refused where required) or NUL-terminated, per the contract.
        let doc = unsafe {
            NewDocument {
                doc_id: c_str(doc_id, "doc_id")?.to_string(),
                title: opt_c_str(title, "title")?.unwrap_or_default().to_string(),
                text: c_str(text, "text")?.to_string(),
                metadata: metadata(metadata_json, "metadata_json")?,
                chunk_vectors: None,
            }
        };
        // SAFETY: `out_info` is NULL or writable, per this function's contract.
        let out_info = unsafe { opt_out(out_info) };
        // SAFETY: `db` is NULL (refused) or a live handle, per this function's contract.
        let info = unsafe { db_ref(db) }?.index_document(doc)?;
        if let Some(out) = out_info {
            out.write(document_into_raw(info));
        }
        Ok(())
    })
}

/// A document's info. Free with `agent_db_document_info_free`.
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed;
/// `doc_id` is NULL or a NUL-terminated string; `out_info` is NULL or valid
/// for one pointer write.
#[no_mangle]
pub unsafe extern "C" fn agent_db_get_document(
    db: *const AgentDb,
    doc_id: *const c_char,
    out_info: *mut *mut AgentDbDocumentInfo,
) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: `out_info` is NULL (refused) or writable, per this function's contract.
        let out = unsafe { out_ptr(out_info, "out_info") }?;
        // SAFETY: `doc_id` is NULL (refused) or NUL-terminated, per this function's contract.
        let doc_id = unsafe { c_str(doc_id, "doc_id") }?;
        // SAFETY: `db` is NULL (refused) or a live handle, per this function's contract.
        out.write(document_into_raw(unsafe { db_ref(db) }?.get_document(doc_id)?));
        Ok(())
    })
}

/// Frees an info of `agent_db_index_document` or `agent_db_get_document`.
/// NULL is a no-op.
///
/// # Safety
/// `info` is NULL or one returned by those functions, not yet freed and not
/// used afterwards.
#[no_mangle]
pub unsafe extern "C" fn agent_db_document_info_free(info: *mut AgentDbDocumentInfo) {
    if !info.is_null() {
        // SAFETY: a returned info is the head of a Box<DocumentOwner> leaked by document_into_raw,
        // not yet freed (this function's contract).
        drop(unsafe { Box::from_raw(info.cast::<DocumentOwner>()) });
    }
}

/// Deletes a document and its chunks.
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed;
/// `doc_id` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn agent_db_delete_document(db: *const AgentDb, doc_id: *const c_char) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: `doc_id` is NULL (refused) or NUL-terminated, per this function's contract.
        let doc_id = unsafe { c_str(doc_id, "doc_id") }?;
        // SAFETY: `db` is NULL (refused) or a live handle, per this function's contract.
        unsafe { db_ref(db) }?.delete_document(doc_id)?;
        Ok(())
    })
}

/// Restricts a search to some documents and/or metadata values. Pass NULL for no filter.
#[repr(C)]
pub struct AgentDbDocFilter {
    /// Only these documents (`doc_ids_len` 0: all).
    pub doc_ids: *const *const c_char,
    pub doc_ids_len: usize,
    /// Every entry must equal the document's metadata value; NULL: none.
    pub metadata_json: *const c_char,
}

/// NULL is no filter.
///
/// # Safety
/// `f` is NULL or points at an initialised `AgentDbDocFilter` whose
/// `doc_ids` is NULL or `doc_ids_len` NUL-terminated strings and whose
/// `metadata_json` is NULL or NUL-terminated.
pub(crate) unsafe fn doc_filter(f: *const AgentDbDocFilter) -> Result<DocFilter, Failure> {
    // SAFETY: `f` is NULL or an initialised filter, per this function's contract.
    let Some(f) = (unsafe { f.as_ref() }) else { return Ok(DocFilter::default()) };
    // SAFETY: `doc_ids` is NULL (refused unless the length is 0) or `doc_ids_len` strings (contract).
    let doc_ids = unsafe { c_str_array(f.doc_ids, f.doc_ids_len, "filter.doc_ids") }?;
    // SAFETY: `metadata_json` is NULL or NUL-terminated, per this function's contract.
    let metadata = unsafe { metadata(f.metadata_json, "filter.metadata_json") }?;
    Ok(DocFilter { doc_ids: doc_ids.into_iter().map(str::to_string).collect(), metadata })
}

pub type AgentDbFusion = u32;
/// alpha·semantic + (1 − alpha)·full_text, each min-max normalised.
pub const AGENT_DB_FUSION_WEIGHTED: AgentDbFusion = 0;
/// Reciprocal rank fusion (k = 60); alpha is ignored.
pub const AGENT_DB_FUSION_RRF: AgentDbFusion = 1;

#[repr(C)]
pub struct AgentDbChunkHit {
    pub chunk_id: *const c_char,
    pub doc_id: *const c_char,
    pub content: *const c_char,
    pub position: u32,
    pub score: f32,
    /// Character offsets of the chunk in its document: [start_char, end_char).
    pub start_char: u64,
    pub end_char: u64,
}

#[repr(C)]
pub struct AgentDbChunkHitList {
    pub items: *const AgentDbChunkHit,
    pub len: usize,
}

type ChunkListOwner = ListOwner<AgentDbChunkHitList, AgentDbChunkHit, Vec<(CString, CString, CString)>>;

fn chunk_list_into_raw(hits: Vec<ChunkHit>) -> *mut AgentDbChunkHitList {
    let (items, keep): (Vec<_>, Vec<_>) = hits
        .into_iter()
        .map(|h| {
            let keep = (owned_c_string(h.chunk_id), owned_c_string(h.doc_id), owned_c_string(h.content));
            let item = AgentDbChunkHit {
                chunk_id: keep.0.as_ptr(),
                doc_id: keep.1.as_ptr(),
                content: keep.2.as_ptr(),
                position: h.position,
                score: h.score,
                start_char: h.start_char,
                end_char: h.end_char,
            };
            (item, keep)
        })
        .unzip();
    list_into_raw(items, keep, |items, len| AgentDbChunkHitList { items, len })
}

/// Frees a list of a search function (`agent_db_semantic_search`, ...).
/// NULL is a no-op.
///
/// # Safety
/// `list` is NULL or a list returned by a search function, not yet freed;
/// neither it nor its items are used afterwards.
#[no_mangle]
pub unsafe extern "C" fn agent_db_chunk_hit_list_free(list: *mut AgentDbChunkHitList) {
    if !list.is_null() {
        // SAFETY: the list is the head of a Box<ChunkListOwner> leaked by list_into_raw, not yet
        // freed (this function's contract).
        drop(unsafe { Box::from_raw(list.cast::<ChunkListOwner>()) });
    }
}

pub(crate) enum SearchKind<'a> {
    Semantic(&'a str),
    SemanticVector(&'a [f32]),
    FullText(&'a str),
    Hybrid { text: &'a str, vector: Option<&'a [f32]>, fusion: Fusion },
}

pub(crate) fn run_search(
    db: agentdb::Cancellable<'_>,
    kind: SearchKind,
    limit: usize,
    filter: &DocFilter,
) -> Result<Vec<ChunkHit>, Failure> {
    Ok(match kind {
        SearchKind::Semantic(q) => db.semantic_search(q, limit, filter)?,
        SearchKind::SemanticVector(v) => db.semantic_search_vector(v, limit, filter)?,
        SearchKind::FullText(q) => db.full_text_search(q, limit, filter)?,
        SearchKind::Hybrid { text, vector, fusion } => db.hybrid_search(text, vector, limit, fusion, filter)?,
    })
}

/// `fusion` is the `uint32_t` the header declares: a value that names no
/// AGENT_DB_FUSION_* is refused, never cast to a Rust enum.
pub(crate) fn fusion_from_c(fusion: AgentDbFusion, alpha: f32) -> Result<Fusion, Failure> {
    match fusion {
        AGENT_DB_FUSION_WEIGHTED => Ok(Fusion::Weighted { alpha }),
        AGENT_DB_FUSION_RRF => Ok(Fusion::ReciprocalRank),
        other => Err(Failure::invalid(format!("unknown fusion {other}"))),
    }
}

/// Chunks nearest in meaning to `query` (embedded with the model). `filter`
/// may be NULL. Free with `agent_db_chunk_hit_list_free`.
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed;
/// `query` is NULL or a NUL-terminated string;
/// `filter` is NULL or points at an initialised `AgentDbDocFilter` (its
/// `doc_ids` NULL or `doc_ids_len` NUL-terminated strings, `metadata_json`
/// NULL or NUL-terminated); `out_list` is NULL or valid for one pointer
/// write.
#[no_mangle]
pub unsafe extern "C" fn agent_db_semantic_search(
    db: *const AgentDb,
    query: *const c_char,
    limit: u32,
    filter: *const AgentDbDocFilter,
    out_list: *mut *mut AgentDbChunkHitList,
) -> AgentDbStatus {
    // SAFETY: the same contract, and a NULL token.
    unsafe { agent_db_semantic_search_cancellable(db, query, limit, filter, std::ptr::null(), out_list) }
}

/// As `agent_db_semantic_search`, stopped by `cancel` (NULL: not cancellable): once it is
/// cancelled, the call returns AGENT_DB_CANCELLED, having changed nothing.
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed;
/// `query` is NULL or a NUL-terminated string;
/// `filter` is NULL or points at an initialised `AgentDbDocFilter` (its
/// `doc_ids` NULL or `doc_ids_len` NUL-terminated strings, `metadata_json`
/// NULL or NUL-terminated); `out_list` is NULL or valid for one pointer
/// write.
/// `cancel` is NULL or a token from `agent_db_cancel_token_new` not yet freed.
#[no_mangle]
pub unsafe extern "C" fn agent_db_semantic_search_cancellable(
    db: *const AgentDb,
    query: *const c_char,
    limit: u32,
    filter: *const AgentDbDocFilter,
    cancel: *const AgentDbCancelToken,
    out_list: *mut *mut AgentDbChunkHitList,
) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: `out_list` is NULL (refused) or writable, per this function's contract.
        let out = unsafe { out_ptr(out_list, "out_list") }?;
        // SAFETY: `query` is NULL (refused) or NUL-terminated, per this function's contract.
        let q = unsafe { c_str(query, "query") }?;
        // SAFETY: `filter` is NULL or an initialised filter, per this function's contract.
        let f = unsafe { doc_filter(filter) }?;
        // SAFETY: `cancel` is NULL or a live token, per this function's contract.
        let cancel = unsafe { cancel_ref(cancel) };
        // SAFETY: `db` is NULL (refused) or a live handle, per this function's contract.
        let db = unsafe { db_ref(db) }?.with_cancel(cancel);
        out.write(chunk_list_into_raw(run_search(db, SearchKind::Semantic(q), limit as usize, &f)?));
        Ok(())
    })
}

/// Chunks nearest to a query vector of the database's dimension.
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed;
/// `vector` is NULL or points at `vector_len` floats;
/// `filter` is NULL or points at an initialised `AgentDbDocFilter` (its
/// `doc_ids` NULL or `doc_ids_len` NUL-terminated strings, `metadata_json`
/// NULL or NUL-terminated); `out_list` is NULL or valid for one pointer
/// write.
#[no_mangle]
pub unsafe extern "C" fn agent_db_semantic_search_vector(
    db: *const AgentDb,
    vector: *const f32,
    vector_len: usize,
    limit: u32,
    filter: *const AgentDbDocFilter,
    out_list: *mut *mut AgentDbChunkHitList,
) -> AgentDbStatus {
    // SAFETY: the same contract, and a NULL token.
    unsafe {
        agent_db_semantic_search_vector_cancellable(db, vector, vector_len, limit, filter, std::ptr::null(), out_list)
    }
}

/// As `agent_db_semantic_search_vector`, stopped by `cancel` (NULL: not cancellable): once it is
/// cancelled, the call returns AGENT_DB_CANCELLED, having changed nothing.
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed;
/// `vector` is NULL or points at `vector_len` floats;
/// `filter` is NULL or points at an initialised `AgentDbDocFilter` (its
/// `doc_ids` NULL or `doc_ids_len` NUL-terminated strings, `metadata_json`
/// NULL or NUL-terminated); `out_list` is NULL or valid for one pointer
/// write.
/// `cancel` is NULL or a token from `agent_db_cancel_token_new` not yet freed.
#[no_mangle]
pub unsafe extern "C" fn agent_db_semantic_search_vector_cancellable(
    db: *const AgentDb,
    vector: *const f32,
    vector_len: usize,
    limit: u32,
    filter: *const AgentDbDocFilter,
    cancel: *const AgentDbCancelToken,
    out_list: *mut *mut AgentDbChunkHitList,
) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: `out_list` is NULL (refused) or writable, per this function's contract.
        let out = unsafe { out_ptr(out_list, "out_list") }?;
        // SAFETY: `vector` is NULL (refused unless the length is 0) or `vector_len` floats (contract).
        let v = unsafe { slice(vector, vector_len, "vector") }?;
        // SAFETY: `filter` is NULL or an initialised filter, per this function's contract.
        let f = unsafe { doc_filter(filter) }?;
        // SAFETY: `cancel` is NULL or a live token, per this function's contract.
        let cancel = unsafe { cancel_ref(cancel) };
        // SAFETY: `db` is NULL (refused) or a live handle, per this function's contract.
        let db = unsafe { db_ref(db) }?.with_cancel(cancel);
        out.write(chunk_list_into_raw(run_search(db, SearchKind::SemanticVector(v), limit as usize, &f)?));
        Ok(())
    })
}

/// BM25 full-text search (English stemming; Chinese segmented).
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed;
/// `query` is NULL or a NUL-terminated string;
/// `filter` is NULL or points at an initialised `AgentDbDocFilter` (its
/// `doc_ids` NULL or `doc_ids_len` NUL-terminated strings, `metadata_json`
/// NULL or NUL-terminated); `out_list` is NULL or valid for one pointer
/// write.
#[no_mangle]
pub unsafe extern "C" fn agent_db_full_text_search(
    db: *const AgentDb,
    query: *const c_char,
    limit: u32,
    filter: *const AgentDbDocFilter,
    out_list: *mut *mut AgentDbChunkHitList,
) -> AgentDbStatus {
    // SAFETY: the same contract, and a NULL token.
    unsafe { agent_db_full_text_search_cancellable(db, query, limit, filter, std::ptr::null(), out_list) }
}

/// As `agent_db_full_text_search`, stopped by `cancel` (NULL: not cancellable): once it is
/// cancelled, the call returns AGENT_DB_CANCELLED, having changed nothing.
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed;
/// `query` is NULL or a NUL-terminated string;
/// `filter` is NULL or points at an initialised `AgentDbDocFilter` (its
/// `doc_ids` NULL or `doc_ids_len` NUL-terminated strings, `metadata_json`
/// NULL or NUL-terminated); `out_list` is NULL or valid for one pointer
/// write.
/// `cancel` is NULL or a token from `agent_db_cancel_token_new` not yet freed.
#[no_mangle]
pub unsafe extern "C" fn agent_db_full_text_search_cancellable(
    db: *const AgentDb,
    query: *const c_char,
    limit: u32,
    filter: *const AgentDbDocFilter,
    cancel: *const AgentDbCancelToken,
    out_list: *mut *mut AgentDbChunkHitList,
) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: `out_list` is NULL (refused) or writable, per this function's contract.
        let out = unsafe { out_ptr(out_list, "out_list") }?;
        // SAFETY: `query` is NULL (refused) or NUL-terminated, per this function's contract.
        let q = unsafe { c_str(query, "query") }?;
        // SAFETY: `filter` is NULL or an initialised filter, per this function's contract.
        let f = unsafe { doc_filter(filter) }?;
        // SAFETY: `cancel` is NULL or a live token, per this function's contract.
        let cancel = unsafe { cancel_ref(cancel) };
        // SAFETY: `db` is NULL (refused) or a live handle, per this function's contract.
        let db = unsafe { db_ref(db) }?.with_cancel(cancel);
        out.write(chunk_list_into_raw(run_search(db, SearchKind::FullText(q), limit as usize, &f)?));
        Ok(())
    })
}

/// Semantic and full-text results fused. `vector` may be NULL (then `query`
/// is embedded); `alpha` in 0..=1 weights the semantic side for
/// AGENT_DB_FUSION_WEIGHTED. `fusion` is one of AGENT_DB_FUSION_*; any
/// other value is AGENT_DB_INVALID_ARGUMENT.
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed;
/// `query` is NULL or a NUL-terminated string; `vector` is NULL or points at
/// `vector_len` floats;
/// `filter` is NULL or points at an initialised `AgentDbDocFilter` (its
/// `doc_ids` NULL or `doc_ids_len` NUL-terminated strings, `metadata_json`
/// NULL or NUL-terminated); `out_list` is NULL or valid for one pointer
/// write.
#[no_mangle]
pub unsafe extern "C" fn agent_db_hybrid_search(
    db: *const AgentDb,
    query: *const c_char,
    vector: *const f32,
    vector_len: usize,
    limit: u32,
    fusion: AgentDbFusion,
    alpha: f32,
    filter: *const AgentDbDocFilter,
    out_list: *mut *mut AgentDbChunkHitList,
) -> AgentDbStatus {
    // SAFETY: the same contract, and a NULL token.
    unsafe {
        agent_db_hybrid_search_cancellable(
            db,
            query,
            vector,
            vector_len,
            limit,
            fusion,
            alpha,
            filter,
            std::ptr::null(),
            out_list,
        )
    }
}

/// As `agent_db_hybrid_search`, stopped by `cancel` (NULL: not cancellable): once it is
/// cancelled, the call returns AGENT_DB_CANCELLED, having changed nothing.
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed;
/// `query` is NULL or a NUL-terminated string; `vector` is NULL or points at
/// `vector_len` floats;
/// `filter` is NULL or points at an initialised `AgentDbDocFilter` (its
/// `doc_ids` NULL or `doc_ids_len` NUL-terminated strings, `metadata_json`
/// NULL or NUL-terminated); `out_list` is NULL or valid for one pointer
/// write.
/// `cancel` is NULL or a token from `agent_db_cancel_token_new` not yet freed.
#[no_mangle]
pub unsafe extern "C" fn agent_db_hybrid_search_cancellable(
    db: *const AgentDb,
    query: *const c_char,
    vector: *const f32,
    vector_len: usize,
    limit: u32,
    fusion: AgentDbFusion,
    alpha: f32,
    filter: *const AgentDbDocFilter,
    cancel: *const AgentDbCancelToken,
    out_list: *mut *mut AgentDbChunkHitList,
) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: `out_list` is NULL (refused) or writable, per this function's contract.
        let out = unsafe { out_ptr(out_list, "out_list") }?;
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
        let db = unsafe { db_ref(db) }?.with_cancel(cancel);
        out.write(chunk_list_into_raw(run_search(db, kind, limit as usize, &f)?));
        Ok(())
    })
}
