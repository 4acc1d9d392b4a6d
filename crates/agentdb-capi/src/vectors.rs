//! Vector collections: create, list, insert (one or many), get, delete, count, k-NN, range, index.

use std::ffi::{c_char, CString};

use agentdb::{CollectionInfo, Metric, SearchOptions, VectorHit, VectorRecord};

use crate::convert::{list_into_raw, c_str, metadata, metadata_c_string, out_ptr, owned_c_string, slice, Failure, ListOwner};
use crate::{boundary, db_ref, AgentDb, AgentDbStatus};

pub type AgentDbMetric = u32;
pub const AGENT_DB_METRIC_L2: AgentDbMetric = 0;
pub const AGENT_DB_METRIC_COSINE: AgentDbMetric = 1;
pub const AGENT_DB_METRIC_DOT: AgentDbMetric = 2;

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

/// Creates a collection of `dimension`-float vectors compared by `metric`.
#[no_mangle]
pub unsafe extern "C" fn agent_db_create_collection(
    db: *const AgentDb,
    name: *const c_char,
    dimension: u32,
    metric: AgentDbMetric,
) -> AgentDbStatus {
    boundary(|| {
        let name = c_str(name, "name")?;
        let metric = metric_from_c(metric)?;
        db_ref(db)?.create_collection(name, dimension as usize, metric)?;
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

#[no_mangle]
pub unsafe extern "C" fn agent_db_list_collections(db: *const AgentDb, out_list: *mut *mut AgentDbCollectionList) -> AgentDbStatus {
    boundary(|| {
        let out = out_ptr(out_list, "out_list")?;
        let (items, keep): (Vec<_>, Vec<_>) = db_ref(db)?
            .list_collections()?
            .into_iter()
            .map(|c: CollectionInfo| {
                let name = owned_c_string(c.name);
                (AgentDbCollectionInfo { name: name.as_ptr(), dimension: c.dimension as u32, metric: metric_to_c(c.metric) }, name)
            })
            .unzip();
        *out = list_into_raw(items, keep, |items, len| AgentDbCollectionList { items, len });
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn agent_db_collection_list_free(list: *mut AgentDbCollectionList) {
    if !list.is_null() {
        drop(Box::from_raw(list as *mut CollectionListOwner));
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
        let collection = c_str(collection, "collection")?;
        let id = c_str(id, "id")?;
        let v = slice(vector, vector_len, "vector")?;
        let meta = metadata(metadata_json, "metadata_json")?;
        db_ref(db)?.insert_vector(collection, id, v, meta)?;
        Ok(())
    })
}

/// Inserts or replaces `count` vectors in one atomic write.
#[no_mangle]
pub unsafe extern "C" fn agent_db_insert_vectors(
    db: *const AgentDb,
    collection: *const c_char,
    records: *const AgentDbVectorRecord,
    count: usize,
) -> AgentDbStatus {
    boundary(|| {
        let collection = c_str(collection, "collection")?;
        let rows = slice(records, count, "records")?
            .iter()
            .enumerate()
            .map(|(i, r)| {
                Ok(VectorRecord {
                    id: c_str(r.id, &format!("records[{i}].id"))?.to_string(),
                    vector: slice(r.vector, r.vector_len, &format!("records[{i}].vector"))?.to_vec(),
                    metadata: metadata(r.metadata_json, &format!("records[{i}].metadata_json"))?,
                })
            })
            .collect::<Result<Vec<_>, Failure>>()?;
        db_ref(db)?.insert_vectors(collection, rows)?;
        Ok(())
    })
}

#[repr(C)]
struct RecordOwner {
    head: AgentDbVectorRecord,
    keep: (CString, Vec<f32>, CString),
}

/// One vector by id. Free with `agent_db_vector_record_free`.
#[no_mangle]
pub unsafe extern "C" fn agent_db_get_vector(
    db: *const AgentDb,
    collection: *const c_char,
    id: *const c_char,
    out_record: *mut *mut AgentDbVectorRecord,
) -> AgentDbStatus {
    boundary(|| {
        let out = out_ptr(out_record, "out_record")?;
        let collection = c_str(collection, "collection")?;
        let id = c_str(id, "id")?;
        let r = db_ref(db)?.get_vector(collection, id)?;
        let keep = (owned_c_string(r.id), r.vector, metadata_c_string(&r.metadata));
        let head = AgentDbVectorRecord {
            id: keep.0.as_ptr(),
            vector: keep.1.as_ptr(),
            vector_len: keep.1.len(),
            metadata_json: keep.2.as_ptr(),
        };
        *out = Box::into_raw(Box::new(RecordOwner { head, keep })) as *mut AgentDbVectorRecord;
        Ok(())
    })
}

/// Frees a record returned by `agent_db_get_vector` (never one the caller built).
#[no_mangle]
pub unsafe extern "C" fn agent_db_vector_record_free(record: *mut AgentDbVectorRecord) {
    if !record.is_null() {
        drop(Box::from_raw(record as *mut RecordOwner));
    }
}

#[no_mangle]
pub unsafe extern "C" fn agent_db_delete_vector(db: *const AgentDb, collection: *const c_char, id: *const c_char) -> AgentDbStatus {
    boundary(|| {
        let collection = c_str(collection, "collection")?;
        let id = c_str(id, "id")?;
        db_ref(db)?.delete_vector(collection, id)?;
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn agent_db_count_vectors(db: *const AgentDb, collection: *const c_char, out_count: *mut u64) -> AgentDbStatus {
    boundary(|| {
        let out = out_ptr(out_count, "out_count")?;
        let collection = c_str(collection, "collection")?;
        *out = db_ref(db)?.count_vectors(collection)? as u64;
        Ok(())
    })
}

/// Builds (or rebuilds) the collection's ANN index now.
#[no_mangle]
pub unsafe extern "C" fn agent_db_create_vector_index(db: *const AgentDb, collection: *const c_char) -> AgentDbStatus {
    boundary(|| {
        let collection = c_str(collection, "collection")?;
        db_ref(db)?.create_vector_index(collection)?;
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

pub(crate) unsafe fn search_options(o: *const AgentDbSearchOptions) -> Result<SearchOptions, Failure> {
    let Some(o) = o.as_ref() else { return Ok(SearchOptions::default()) };
    Ok(SearchOptions {
        metadata: metadata(o.metadata_json, "options.metadata_json")?,
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

#[no_mangle]
pub unsafe extern "C" fn agent_db_vector_hit_list_free(list: *mut AgentDbVectorHitList) {
    if !list.is_null() {
        drop(Box::from_raw(list as *mut HitListOwner));
    }
}

/// The `k` nearest vectors, nearest first. `options` may be NULL.
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
    boundary(|| {
        let out = out_ptr(out_list, "out_list")?;
        let collection = c_str(collection, "collection")?;
        let q = slice(query, query_len, "query")?;
        let opts = search_options(options)?;
        *out = hit_list_into_raw(db_ref(db)?.search_knn(collection, q, k as usize, &opts)?);
        Ok(())
    })
}

/// Every vector within `radius`, nearest first, at most `max_results`.
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
    boundary(|| {
        let out = out_ptr(out_list, "out_list")?;
        let collection = c_str(collection, "collection")?;
        let q = slice(query, query_len, "query")?;
        let opts = search_options(options)?;
        *out = hit_list_into_raw(db_ref(db)?.search_range(collection, q, radius, max_results as usize, &opts)?);
        Ok(())
    })
}
