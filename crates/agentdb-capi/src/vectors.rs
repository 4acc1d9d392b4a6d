//! Vector collections: create, list, insert (one or many), get, delete, count, k-NN, range, index.

use std::ffi::{c_char, CString};

use agentdb::{CollectionInfo, Metric, SearchOptions, VectorHit, VectorRecord};

use crate::cancel::{cancel_ref, AgentDbCancelToken};
use crate::convert::{
    c_str, list_into_raw, metadata, metadata_c_string, out_ptr, owned_c_string, slice, Failure, ListOwner,
};
use crate::{boundary, db_ref, AgentDb, AgentDbStatus};

pub type AgentDbMetric = u32;
pub const AGENT_DB_METRIC_L2: AgentDbMetric = 0;
pub const AGENT_DB_METRIC_COSINE: AgentDbMetric = 1;
pub const AGENT_DB_METRIC_DOT: AgentDbMetric = 2;

/// `m` is the `uint32_t` the header declares: a value that names no
/// AGENT_DB_METRIC_* is refused, never cast to a Rust enum.
fn metric_from_c(m: AgentDbMetric) -> Result<Metric, Failure> {
    match m {
        AGENT_DB_METRIC_L2 => Ok(Metric::L2),
        AGENT_DB_METRIC_COSINE => Ok(Metric::Cosine),
        AGENT_DB_METRIC_DOT => Ok(Metric::Dot),
        other => Err(Failure::invalid(format!("unknown metric {other} (expected 0..=2)"))),
    }
}

fn metric_to_c(m: Metric) -> AgentDbMetric {
    match m {
        Metric::L2 => AGENT_DB_METRIC_L2,
        Metric::Cosine => AGENT_DB_METRIC_COSINE,
        Metric::Dot => AGENT_DB_METRIC_DOT,
    }
}

/// Creates a collection of `dimension`-float vectors compared by `metric`
/// (one of AGENT_DB_METRIC_*; any other value is AGENT_DB_INVALID_ARGUMENT).
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed;
/// `name` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn agent_db_create_collection(
    db: *const AgentDb,
    name: *const c_char,
    dimension: u32,
    metric: AgentDbMetric,
) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: `name` is NULL (refused) or NUL-terminated, per this function's contract.
        let name = unsafe { c_str(name, "name") }?;
        let metric = metric_from_c(metric)?;
        // SAFETY: `db` is NULL (refused) or a live handle, per this function's contract.
        unsafe { db_ref(db) }?.create_collection(name, dimension as usize, metric)?;
        Ok(())
    })
}

#[repr(C)]
pub struct AgentDbCollectionInfo {
    pub name: *const c_char,
    pub dimension: u32,
    pub metric: AgentDbMetric,
}

#[repr(C)]
pub struct AgentDbCollectionList {
    pub items: *const AgentDbCollectionInfo,
    pub len: usize,
}

type CollectionListOwner = ListOwner<AgentDbCollectionList, AgentDbCollectionInfo, Vec<CString>>;

/// Every collection. Free with `agent_db_collection_list_free`.
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed;
/// `out_list` is NULL or valid for one pointer write.
#[no_mangle]
pub unsafe extern "C" fn agent_db_list_collections(
    db: *const AgentDb,
    out_list: *mut *mut AgentDbCollectionList,
) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: `out_list` is NULL (refused) or writable, per this function's contract.
        let out = unsafe { out_ptr(out_list, "out_list") }?;
        // SAFETY: `db` is NULL (refused) or a live handle, per this function's contract.
        let (items, keep): (Vec<_>, Vec<_>) = unsafe { db_ref(db) }?
            .list_collections()?
            .into_iter()
            .map(|c: CollectionInfo| {
                let name = owned_c_string(c.name);
                (
                    AgentDbCollectionInfo {
                        name: name.as_ptr(),
                        dimension: c.dimension as u32,
                        metric: metric_to_c(c.metric),
                    },
                    name,
                )
            })
            .unzip();
        out.write(list_into_raw(items, keep, |items, len| AgentDbCollectionList { items, len }));
        Ok(())
    })
}

/// Frees a list of `agent_db_list_collections`. NULL is a no-op.
///
/// # Safety
/// `list` is NULL or a list from `agent_db_list_collections`, not yet freed;
/// neither it nor its items are used afterwards.
#[no_mangle]
pub unsafe extern "C" fn agent_db_collection_list_free(list: *mut AgentDbCollectionList) {
    if !list.is_null() {
        // SAFETY: the list is the head of a Box<CollectionListOwner> leaked by list_into_raw, not yet
        // freed (this function's contract).
        drop(unsafe { Box::from_raw(list.cast::<CollectionListOwner>()) });
    }
}

/// A vector with its id and metadata: the input of `agent_db_insert_vectors`
/// and the output of `agent_db_get_vector`.
#[repr(C)]
pub struct AgentDbVectorRecord {
    pub id: *const c_char,
    pub vector: *const f32,
    pub vector_len: usize,
    /// JSON object of strings; NULL: none.
    pub metadata_json: *const c_char,
}

/// Inserts or replaces (by id) one vector. `metadata_json` may be NULL.
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed;
/// `collection`, `id` and `metadata_json` are NULL or NUL-terminated
/// strings; `vector` is NULL or points at `vector_len` floats.
#[no_mangle]
pub unsafe extern "C" fn agent_db_insert_vector(
    db: *const AgentDb,
    collection: *const c_char,
    id: *const c_char,
    vector: *const f32,
    vector_len: usize,
    metadata_json: *const c_char,
) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: `collection` is NULL (refused) or NUL-terminated, per this function's contract.
        let collection = unsafe { c_str(collection, "collection") }?;
        // SAFETY: `id` is NULL (refused) or NUL-terminated, per this function's contract.
        let id = unsafe { c_str(id, "id") }?;
        // SAFETY: `vector` is NULL (refused unless the length is 0) or `vector_len` floats (contract).
        let v = unsafe { slice(vector, vector_len, "vector") }?;
        // SAFETY: `metadata_json` is NULL or NUL-terminated, per this function's contract.
        let meta = unsafe { metadata(metadata_json, "metadata_json") }?;
        // SAFETY: `db` is NULL (refused) or a live handle, per this function's contract.
        unsafe { db_ref(db) }?.insert_vector(collection, id, v, meta)?;
        Ok(())
    })
}

/// Inserts or replaces `count` vectors in one atomic write.
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed;
/// `collection` is NULL or a NUL-terminated string; `records` is NULL or
/// points at `count` initialised records, each with `id`/`metadata_json`
/// NULL or NUL-terminated and `vector` NULL or `vector_len` floats.
#[no_mangle]
pub unsafe extern "C" fn agent_db_insert_vectors(
    db: *const AgentDb,
    collection: *const c_char,
    records: *const AgentDbVectorRecord,
    count: usize,
) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: `collection` is NULL (refused) or NUL-terminated, per this function's contract.
        let collection = unsafe { c_str(collection, "collection") }?;
        // SAFETY: `records` is NULL (refused unless count is 0) or `count` records, per the contract.
        let records = unsafe { slice(records, count, "records") }?;
        let rows = records
            .iter()
            .enumerate()
            .map(|(i, r)| {
                // SAFETY: each record's pointer fields are NULL (refused where required) or valid as
                // this function's contract states.
                unsafe {
                    Ok(VectorRecord {
                        id: c_str(r.id, &format!("records[{i}].id"))?.to_string(),
                        vector: slice(r.vector, r.vector_len, &format!("records[{i}].vector"))?.to_vec(),
                        metadata: metadata(r.metadata_json, &format!("records[{i}].metadata_json"))?,
                    })
                }
            })
            .collect::<Result<Vec<_>, Failure>>()?;
        // SAFETY: `db` is NULL (refused) or a live handle, per this function's contract.
        unsafe { db_ref(db) }?.insert_vectors(collection, rows)?;
        Ok(())
    })
}

#[repr(C)]
struct RecordOwner {
    head: AgentDbVectorRecord,
    keep: (CString, Vec<f32>, CString),
}

/// One vector by id. Free with `agent_db_vector_record_free`.
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed;
/// `collection` and `id` are NULL or NUL-terminated strings; `out_record` is
/// NULL or valid for one pointer write.
#[no_mangle]
pub unsafe extern "C" fn agent_db_get_vector(
    db: *const AgentDb,
    collection: *const c_char,
    id: *const c_char,
    out_record: *mut *mut AgentDbVectorRecord,
) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: `out_record` is NULL (refused) or writable, per this function's contract.
        let out = unsafe { out_ptr(out_record, "out_record") }?;
        // SAFETY: `collection` is NULL (refused) or NUL-terminated, per this function's contract.
        let collection = unsafe { c_str(collection, "collection") }?;
        // SAFETY: `id` is NULL (refused) or NUL-terminated, per this function's contract.
        let id = unsafe { c_str(id, "id") }?;
        // SAFETY: `db` is NULL (refused) or a live handle, per this function's contract.
        let r = unsafe { db_ref(db) }?.get_vector(collection, id)?;
        let keep = (owned_c_string(r.id), r.vector, metadata_c_string(&r.metadata));
        let head = AgentDbVectorRecord {
            id: keep.0.as_ptr(),
            vector: keep.1.as_ptr(),
            vector_len: keep.1.len(),
            metadata_json: keep.2.as_ptr(),
        };
        out.write(Box::into_raw(Box::new(RecordOwner { head, keep })).cast::<AgentDbVectorRecord>());
        Ok(())
    })
}

/// Frees a record returned by `agent_db_get_vector` (never one the caller built).
///
/// # Safety
/// `record` is NULL or one returned by `agent_db_get_vector`, not yet freed
/// and not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn agent_db_vector_record_free(record: *mut AgentDbVectorRecord) {
    if !record.is_null() {
        // SAFETY: a returned record is the head of a Box<RecordOwner> leaked by agent_db_get_vector,
        // not yet freed (this function's contract).
        drop(unsafe { Box::from_raw(record.cast::<RecordOwner>()) });
    }
}

/// Deletes one vector by id.
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed;
/// `collection` and `id` are NULL or NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn agent_db_delete_vector(
    db: *const AgentDb,
    collection: *const c_char,
    id: *const c_char,
) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: `collection` is NULL (refused) or NUL-terminated, per this function's contract.
        let collection = unsafe { c_str(collection, "collection") }?;
        // SAFETY: `id` is NULL (refused) or NUL-terminated, per this function's contract.
        let id = unsafe { c_str(id, "id") }?;
        // SAFETY: `db` is NULL (refused) or a live handle, per this function's contract.
        unsafe { db_ref(db) }?.delete_vector(collection, id)?;
        Ok(())
    })
}

/// The number of vectors in a collection.
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed;
/// `collection` is NULL or a NUL-terminated string; `out_count` is NULL or
/// valid for one `uint64_t` write.
#[no_mangle]
pub unsafe extern "C" fn agent_db_count_vectors(
    db: *const AgentDb,
    collection: *const c_char,
    out_count: *mut u64,
) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: `out_count` is NULL (refused) or writable, per this function's contract.
        let out = unsafe { out_ptr(out_count, "out_count") }?;
        // SAFETY: `collection` is NULL (refused) or NUL-terminated, per this function's contract.
        let collection = unsafe { c_str(collection, "collection") }?;
        // SAFETY: `db` is NULL (refused) or a live handle, per this function's contract.
        out.write(unsafe { db_ref(db) }?.count_vectors(collection)? as u64);
        Ok(())
    })
}

/// Builds (or rebuilds) the collection's ANN index now.
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed;
/// `collection` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn agent_db_create_vector_index(db: *const AgentDb, collection: *const c_char) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: `collection` is NULL (refused) or NUL-terminated, per this function's contract.
        let collection = unsafe { c_str(collection, "collection") }?;
        // SAFETY: `db` is NULL (refused) or a live handle, per this function's contract.
        unsafe { db_ref(db) }?.create_vector_index(collection)?;
        Ok(())
    })
}

/// Search knobs; pass NULL for the defaults (exact results on unindexed rows).
#[repr(C)]
pub struct AgentDbSearchOptions {
    /// Every entry must equal the vector's metadata value; NULL: no filter.
    pub metadata_json: *const c_char,
    /// IVF partitions to probe; 0: LanceDB's default.
    pub nprobes: u32,
    /// Re-rank refine_factor × k candidates exactly; 0: off.
    pub refine_factor: u32,
}

/// NULL is the defaults.
///
/// # Safety
/// `o` is NULL or points at an initialised `AgentDbSearchOptions` whose
/// `metadata_json` is NULL or NUL-terminated.
pub(crate) unsafe fn search_options(o: *const AgentDbSearchOptions) -> Result<SearchOptions, Failure> {
    // SAFETY: `o` is NULL or an initialised struct, per this function's contract.
    let Some(o) = (unsafe { o.as_ref() }) else { return Ok(SearchOptions::default()) };
    Ok(SearchOptions {
        // SAFETY: `metadata_json` is NULL or NUL-terminated, per this function's contract.
        metadata: unsafe { metadata(o.metadata_json, "options.metadata_json") }?,
        nprobes: (o.nprobes > 0).then_some(o.nprobes as usize),
        refine_factor: (o.refine_factor > 0).then_some(o.refine_factor),
    })
}

#[repr(C)]
pub struct AgentDbVectorHit {
    pub id: *const c_char,
    /// In the collection metric's units (cosine: 1 − cos, dot: 1 − dot).
    pub distance: f32,
    pub metadata_json: *const c_char,
    pub vector: *const f32,
    pub vector_len: usize,
}

#[repr(C)]
pub struct AgentDbVectorHitList {
    pub items: *const AgentDbVectorHit,
    pub len: usize,
}

type HitListOwner = ListOwner<AgentDbVectorHitList, AgentDbVectorHit, Vec<(CString, CString, Vec<f32>)>>;

fn hit_list_into_raw(hits: Vec<VectorHit>) -> *mut AgentDbVectorHitList {
    let (items, keep): (Vec<_>, Vec<_>) = hits
        .into_iter()
        .map(|h| {
            let keep = (owned_c_string(h.id), metadata_c_string(&h.metadata), h.vector);
            let item = AgentDbVectorHit {
                id: keep.0.as_ptr(),
                distance: h.distance,
                metadata_json: keep.1.as_ptr(),
                vector: keep.2.as_ptr(),
                vector_len: keep.2.len(),
            };
            (item, keep)
        })
        .unzip();
    list_into_raw(items, keep, |items, len| AgentDbVectorHitList { items, len })
}

/// Frees a list of `agent_db_search_knn` or `agent_db_search_range`. NULL
/// is a no-op.
///
/// # Safety
/// `list` is NULL or a list returned by those functions, not yet freed;
/// neither it nor its items are used afterwards.
#[no_mangle]
pub unsafe extern "C" fn agent_db_vector_hit_list_free(list: *mut AgentDbVectorHitList) {
    if !list.is_null() {
        // SAFETY: the list is the head of a Box<HitListOwner> leaked by list_into_raw, not yet freed
        // (this function's contract).
        drop(unsafe { Box::from_raw(list.cast::<HitListOwner>()) });
    }
}

/// The `k` nearest vectors, nearest first. `options` may be NULL.
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed;
/// `collection` is NULL or a NUL-terminated string; `query` is NULL or
/// points at `query_len` floats; `options` is NULL or points at an
/// initialised `AgentDbSearchOptions` (`metadata_json` NULL or
/// NUL-terminated); `out_list` is NULL or valid for one pointer write.
#[no_mangle]
pub unsafe extern "C" fn agent_db_search_knn(
    db: *const AgentDb,
    collection: *const c_char,
    query: *const f32,
    query_len: usize,
    k: u32,
    options: *const AgentDbSearchOptions,
    out_list: *mut *mut AgentDbVectorHitList,
) -> AgentDbStatus {
    // SAFETY: the same contract, and a NULL token.
    unsafe { agent_db_search_knn_cancellable(db, collection, query, query_len, k, options, std::ptr::null(), out_list) }
}

/// As `agent_db_search_knn`, stopped by `cancel` (NULL: not cancellable): once it is
/// cancelled, the call returns AGENT_DB_CANCELLED, having changed nothing.
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed;
/// `collection` is NULL or a NUL-terminated string; `query` is NULL or
/// points at `query_len` floats; `options` is NULL or points at an
/// initialised `AgentDbSearchOptions` (`metadata_json` NULL or
/// NUL-terminated); `out_list` is NULL or valid for one pointer write.
/// `cancel` is NULL or a token from `agent_db_cancel_token_new` not yet freed.
#[no_mangle]
pub unsafe extern "C" fn agent_db_search_knn_cancellable(
    db: *const AgentDb,
    collection: *const c_char,
    query: *const f32,
    query_len: usize,
    k: u32,
    options: *const AgentDbSearchOptions,
    cancel: *const AgentDbCancelToken,
    out_list: *mut *mut AgentDbVectorHitList,
) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: `out_list` is NULL (refused) or writable, per this function's contract.
        let out = unsafe { out_ptr(out_list, "out_list") }?;
        // SAFETY: `collection` is NULL (refused) or NUL-terminated, per this function's contract.
        let collection = unsafe { c_str(collection, "collection") }?;
        // SAFETY: `query` is NULL (refused unless the length is 0) or `query_len` floats (contract).
        let q = unsafe { slice(query, query_len, "query") }?;
        // SAFETY: `options` is NULL or an initialised struct, per this function's contract.
        let opts = unsafe { search_options(options) }?;
        // SAFETY: `cancel` is NULL or a live token, per this function's contract.
        let cancel = unsafe { cancel_ref(cancel) };
        // SAFETY: `db` is NULL (refused) or a live handle, per this function's contract.
        let db = unsafe { db_ref(db) }?.with_cancel(cancel);
        out.write(hit_list_into_raw(db.search_knn(collection, q, k as usize, &opts)?));
        Ok(())
    })
}

/// Every vector within `radius`, nearest first, at most `max_results`.
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed;
/// `collection` is NULL or a NUL-terminated string; `query` is NULL or
/// points at `query_len` floats; `options` is NULL or points at an
/// initialised `AgentDbSearchOptions` (`metadata_json` NULL or
/// NUL-terminated); `out_list` is NULL or valid for one pointer write.
#[no_mangle]
pub unsafe extern "C" fn agent_db_search_range(
    db: *const AgentDb,
    collection: *const c_char,
    query: *const f32,
    query_len: usize,
    radius: f32,
    max_results: u32,
    options: *const AgentDbSearchOptions,
    out_list: *mut *mut AgentDbVectorHitList,
) -> AgentDbStatus {
    // SAFETY: the same contract, and a NULL token.
    unsafe {
        agent_db_search_range_cancellable(
            db,
            collection,
            query,
            query_len,
            radius,
            max_results,
            options,
            std::ptr::null(),
            out_list,
        )
    }
}

/// As `agent_db_search_range`, stopped by `cancel` (NULL: not cancellable): once it is
/// cancelled, the call returns AGENT_DB_CANCELLED, having changed nothing.
///
/// # Safety
/// `db` is NULL or a handle from `agent_db_open` not yet closed;
/// `collection` is NULL or a NUL-terminated string; `query` is NULL or
/// points at `query_len` floats; `options` is NULL or points at an
/// initialised `AgentDbSearchOptions` (`metadata_json` NULL or
/// NUL-terminated); `out_list` is NULL or valid for one pointer write.
/// `cancel` is NULL or a token from `agent_db_cancel_token_new` not yet freed.
#[no_mangle]
pub unsafe extern "C" fn agent_db_search_range_cancellable(
    db: *const AgentDb,
    collection: *const c_char,
    query: *const f32,
    query_len: usize,
    radius: f32,
    max_results: u32,
    options: *const AgentDbSearchOptions,
    cancel: *const AgentDbCancelToken,
    out_list: *mut *mut AgentDbVectorHitList,
) -> AgentDbStatus {
    boundary(|| {
        // SAFETY: `out_list` is NULL (refused) or writable, per this function's contract.
        let out = unsafe { out_ptr(out_list, "out_list") }?;
        // SAFETY: `collection` is NULL (refused) or NUL-terminated, per this function's contract.
        let collection = unsafe { c_str(collection, "collection") }?;
        // SAFETY: `query` is NULL (refused unless the length is 0) or `query_len` floats (contract).
        let q = unsafe { slice(query, query_len, "query") }?;
        // SAFETY: `options` is NULL or an initialised struct, per this function's contract.
        let opts = unsafe { search_options(options) }?;
        // SAFETY: `cancel` is NULL or a live token, per this function's contract.
        let cancel = unsafe { cancel_ref(cancel) };
        // SAFETY: `db` is NULL (refused) or a live handle, per this function's contract.
        let db = unsafe { db_ref(db) }?.with_cancel(cancel);
        let hits = db.search_range(collection, q, radius, max_results as usize, &opts)?;
        out.write(hit_list_into_raw(hits));
        Ok(())
    })
}
