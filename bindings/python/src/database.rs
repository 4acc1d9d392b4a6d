//! `Database`: one open engine handle. Each method converts its arguments,
//! runs the engine call with the GIL released, and converts the result. The
//! Python package (`agentdb/_db.py`) adds the engine's defaults (`defaults()`) and
//! groups these methods into `states`, `memories`, `rag` and `vectors`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use agentdb::export;
use agentdb::{
    AgentDb, DocFilter, ForgetPolicy, FsyncPolicy, Fusion, HistoryQuery, ItemPut, ItemQuery, ItemWrite, MemoryFilter,
    MemoryType, MergePolicy, Metric, NamespaceQuery, NewDocument, NewMemory, Options, RetrieveOptions, SearchOptions,
    StateRetention, StateType,
};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyDict, PyTuple};

use crate::arrow::{self, ArrowStream};
use crate::convert::{opt, py_to_json, report_to_py, Data, Int, Matrix, Vector};
use crate::errors::{invalid, run, to_py};
use crate::results::{
    AgentState, ChunkHit, CollectionInfo, ConsolidationReport, DocumentInfo, GcReport, Item, ItemPage, ItemWriteReport,
    Memory, ScoredMemory, Snapshot, StoreOutcome, VectorHit, VectorRecord,
};

type Meta = Option<BTreeMap<String, String>>;

fn parse<T: std::str::FromStr<Err = agentdb::Error>>(py: Python<'_>, s: &str) -> PyResult<T> {
    s.parse().map_err(|e| to_py(py, e))
}

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

/// An open engine handle. Dropping it closes the database (the engine's
/// `Drop`), except in a forked child, where the engine leaks its copy.
#[pyclass(frozen, module = "agentdb._native")]
pub struct Database {
    db: AgentDb,
    path: String,
    closed: AtomicBool,
}

/// Either a text query (embedded by the engine) or a caller vector.
enum Query<'a> {
    Text(&'a str),
    Vector(&'a [f32]),
}

fn one_query<'a>(py: Python<'_>, text: Option<&'a str>, vector: Option<&'a Vector>) -> PyResult<Query<'a>> {
    match (text, vector) {
        (Some(t), None) => Ok(Query::Text(t)),
        (None, Some(v)) => Ok(Query::Vector(v.as_slice())),
        (None, None) => Err(invalid(py, "pass a query text or a vector")),
        (Some(_), Some(_)) => Err(invalid(py, "pass a query text or a vector, not both")),
    }
}

fn doc_filter(doc_ids: Option<Vec<String>>, metadata: Meta) -> DocFilter {
    DocFilter { doc_ids: doc_ids.unwrap_or_default(), metadata: metadata.unwrap_or_default() }
}

/// `store_many` items: dicts with the keyword names of `store()`.
fn new_memory(py: Python<'_>, item: &Bound<'_, PyDict>) -> PyResult<NewMemory> {
    const KEYS: [&str; 7] = ["agent_id", "content", "memory_type", "importance", "embedding", "ttl_ms", "metadata"];
    for key in item.keys() {
        let key: String = key.extract().map_err(|_| PyTypeError::new_err("memory dict keys must be str"))?;
        if !KEYS.contains(&key.as_str()) {
            return Err(invalid(py, format!("unknown memory key {key:?} (expected one of {})", KEYS.join(", "))));
        }
    }
    let get = |k: &str| -> PyResult<Option<Bound<'_, PyAny>>> { Ok(item.get_item(k)?.filter(|v| !v.is_none())) };
    let agent_id: Int<u64> = get("agent_id")?.ok_or_else(|| invalid(py, "memory dict needs 'agent_id'"))?.extract()?;
    let content: String = get("content")?.ok_or_else(|| invalid(py, "memory dict needs 'content'"))?.extract()?;
    let memory_type: MemoryType = match get("memory_type")? {
        Some(t) => parse(py, &t.extract::<String>()?)?,
        None => agentdb::defaults::MEMORY_TYPE,
    };
    let mut m = NewMemory::new(agent_id.0, memory_type, content);
    if let Some(i) = get("importance")? {
        m.importance = i.extract()?;
    }
    if let Some(v) = get("embedding")? {
        m.embedding = Some(v.extract::<Vector>()?.into_vec());
    }
    if let Some(t) = get("ttl_ms")? {
        m.ttl = Some(ms(t.extract::<Int<u64>>()?.0));
    }
    if let Some(md) = get("metadata")? {
        m.metadata = md.extract()?;
    }
    Ok(m)
}

/// One `items.write` operation: a dict with `put()`'s keyword names
/// (`namespace`, `key`, `value`, `metadata`, `ttl_ms`) for a put, or
/// `namespace`, `key` and `delete: True` for a delete.
fn item_write(py: Python<'_>, op: &Bound<'_, PyDict>) -> PyResult<ItemWrite> {
    const KEYS: [&str; 6] = ["namespace", "key", "value", "metadata", "ttl_ms", "delete"];
    for key in op.keys() {
        let key: String = key.extract().map_err(|_| PyTypeError::new_err("item write dict keys must be str"))?;
        if !KEYS.contains(&key.as_str()) {
            return Err(invalid(py, format!("unknown item write key {key:?} (expected one of {})", KEYS.join(", "))));
        }
    }
    let namespace: Vec<String> =
        op.get_item("namespace")?.ok_or_else(|| invalid(py, "an item write needs 'namespace'"))?.extract()?;
    let key: String = op.get_item("key")?.ok_or_else(|| invalid(py, "an item write needs 'key'"))?.extract()?;
    let delete = match op.get_item("delete")? {
        Some(d) => d.extract::<bool>()?,
        None => false,
    };
    let value = op.get_item("value")?;
    if delete {
        if value.is_some() || op.contains("metadata")? || op.contains("ttl_ms")? {
            return Err(invalid(py, "a delete takes only 'namespace' and 'key'"));
        }
        return Ok(ItemWrite::Delete { namespace, key });
    }
    let Some(value) = value else {
        return Err(invalid(py, "an item write needs 'value' (a put) or 'delete': True"));
    };
    let metadata: Meta = op.get_item("metadata")?.filter(|m| !m.is_none()).map(|m| m.extract()).transpose()?;
    let ttl_ms: Option<Int<u64>> = op.get_item("ttl_ms")?.filter(|t| !t.is_none()).map(|t| t.extract()).transpose()?;
    Ok(ItemWrite::Put(ItemPut {
        namespace,
        key,
        value: py_to_json(&value, "an item value")?,
        metadata: metadata.unwrap_or_default(),
        ttl_ms: opt(ttl_ms),
    }))
}

/// `store_memory`'s arguments as an engine `NewMemory`.
#[allow(clippy::too_many_arguments)]
fn memory_args(
    py: Python<'_>,
    agent_id: Int<u64>,
    content: String,
    memory_type: &str,
    importance: f32,
    embedding: Option<Vector>,
    ttl_ms: Option<Int<u64>>,
    metadata: Meta,
) -> PyResult<NewMemory> {
    let mut m = NewMemory::new(agent_id.0, parse(py, memory_type)?, content).importance(importance);
    m.embedding = embedding.map(Vector::into_vec);
    m.ttl = opt(ttl_ms).map(ms);
    m.metadata = metadata.unwrap_or_default();
    Ok(m)
}

/// A state retention from optional bounds (both `None`: keep every version).
fn retention(keep_last: Option<Int<u64>>, keep_newer_than_ms: Option<Int<u64>>) -> StateRetention {
    StateRetention { keep_last: opt(keep_last), keep_newer_than: opt(keep_newer_than_ms).map(ms) }
}

#[allow(clippy::too_many_arguments)]
impl Database {
    fn history(
        &self,
        py: Python<'_>,
        agent_id: u64,
        session_id: Option<u64>,
        from_ms: Option<i64>,
        to_ms: Option<i64>,
        limit: usize,
    ) -> PyResult<Vec<agentdb::AgentState>> {
        let mut q = HistoryQuery::new(agent_id).between(from_ms, to_ms).limit(limit);
        q.session_id = session_id;
        run(py, || self.db.query_history(&q))
    }

    fn retrieve_rows(
        &self,
        py: Python<'_>,
        agent_id: u64,
        query: Option<&str>,
        vector: Option<Vector>,
        limit: usize,
        memory_types: Option<Vec<String>>,
        metadata: Meta,
        created_after_ms: Option<i64>,
        created_before_ms: Option<i64>,
        relevance_weight: f32,
        importance_weight: f32,
        recency_weight: f32,
        recency_half_life_ms: u64,
        record_access: bool,
    ) -> PyResult<Vec<agentdb::ScoredMemory>> {
        let types = memory_types
            .unwrap_or_default()
            .iter()
            .map(|t| parse::<MemoryType>(py, t))
            .collect::<PyResult<Vec<_>>>()?;
        let options = RetrieveOptions {
            filter: MemoryFilter {
                memory_types: types,
                created_after_ms,
                created_before_ms,
                metadata: metadata.unwrap_or_default(),
            },
            relevance_weight,
            importance_weight,
            recency_weight,
            recency_half_life: ms(recency_half_life_ms),
            record_access,
            ..RetrieveOptions::default()
        };
        match one_query(py, query, vector.as_ref())? {
            Query::Text(t) => run(py, || self.db.retrieve(agent_id, t, limit, &options)),
            Query::Vector(v) => run(py, || self.db.retrieve_similar(agent_id, v, limit, &options)),
        }
    }

    fn semantic_rows(
        &self,
        py: Python<'_>,
        query: Option<&str>,
        vector: Option<Vector>,
        limit: usize,
        doc_ids: Option<Vec<String>>,
        metadata: Meta,
    ) -> PyResult<Vec<agentdb::ChunkHit>> {
        let f = doc_filter(doc_ids, metadata);
        match one_query(py, query, vector.as_ref())? {
            Query::Text(t) => run(py, || self.db.semantic_search(t, limit, &f)),
            Query::Vector(v) => run(py, || self.db.semantic_search_vector(v, limit, &f)),
        }
    }

    fn full_text_rows(
        &self,
        py: Python<'_>,
        query: &str,
        limit: usize,
        doc_ids: Option<Vec<String>>,
        metadata: Meta,
    ) -> PyResult<Vec<agentdb::ChunkHit>> {
        let f = doc_filter(doc_ids, metadata);
        run(py, || self.db.full_text_search(query, limit, &f))
    }

    fn hybrid_rows(
        &self,
        py: Python<'_>,
        query: &str,
        vector: Option<Vector>,
        limit: usize,
        alpha: f32,
        fusion: &str,
        doc_ids: Option<Vec<String>>,
        metadata: Meta,
    ) -> PyResult<Vec<agentdb::ChunkHit>> {
        let fusion = match fusion {
            "weighted" => Fusion::Weighted { alpha },
            "rrf" => Fusion::ReciprocalRank,
            other => return Err(invalid(py, format!("unknown fusion {other:?} (expected 'weighted' or 'rrf')"))),
        };
        let f = doc_filter(doc_ids, metadata);
        let v = vector.as_ref().map(Vector::as_slice);
        run(py, || self.db.hybrid_search(query, v, limit, fusion, &f))
    }

    fn knn_rows(
        &self,
        py: Python<'_>,
        collection: &str,
        vector: &Vector,
        k: usize,
        metadata: Meta,
        nprobes: Option<usize>,
        refine_factor: Option<u32>,
    ) -> PyResult<Vec<agentdb::VectorHit>> {
        let o = SearchOptions { metadata: metadata.unwrap_or_default(), nprobes, refine_factor };
        let q = vector.as_slice();
        run(py, || self.db.search_knn(collection, q, k, &o))
    }
}

fn wrap<T, R>(rows: Vec<T>, f: impl Fn(T) -> R) -> Vec<R> {
    rows.into_iter().map(f).collect()
}

#[pymethods]
#[allow(clippy::too_many_arguments)]
impl Database {
    /// Opens (creating on first use) the database at `path`.
    #[staticmethod]
    #[pyo3(signature = (path, read_only, fsync, fsync_batch_ms, flush_interval_ms, memory_dimension, model_dir,
                        maintenance_interval_ms, max_payload_bytes, ann_index_threshold, chunk_chars, chunk_overlap,
                        memory_merge_threshold, memory_merge_policy, max_memories_per_agent_type, state_keep_last,
                        state_keep_newer_than_ms))]
    fn open(
        py: Python<'_>,
        path: PathBuf,
        read_only: bool,
        fsync: &str,
        fsync_batch_ms: Int<u64>,
        flush_interval_ms: Int<u64>,
        memory_dimension: Int<usize>,
        model_dir: Option<PathBuf>,
        maintenance_interval_ms: Option<Int<u64>>,
        max_payload_bytes: Int<usize>,
        ann_index_threshold: Int<usize>,
        chunk_chars: Int<usize>,
        chunk_overlap: Int<usize>,
        memory_merge_threshold: f32,
        memory_merge_policy: &str,
        max_memories_per_agent_type: Option<Int<usize>>,
        state_keep_last: Option<Int<u64>>,
        state_keep_newer_than_ms: Option<Int<u64>>,
    ) -> PyResult<Database> {
        let fsync: FsyncPolicy = match fsync {
            "batch" => parse(py, &format!("batch:{}", fsync_batch_ms.0))?,
            other => parse(py, other)?,
        };
        let options = Options {
            read_only,
            fsync,
            flush_interval: ms(flush_interval_ms.0),
            memory_dimension: memory_dimension.0,
            model_dir,
            maintenance_interval: opt(maintenance_interval_ms).filter(|m| *m > 0).map(ms),
            max_payload_bytes: max_payload_bytes.0,
            ann_index_threshold: ann_index_threshold.0,
            chunk_chars: chunk_chars.0,
            chunk_overlap: chunk_overlap.0,
            memory_merge_threshold,
            memory_merge_policy: parse::<MergePolicy>(py, memory_merge_policy)?,
            max_memories_per_agent_type: opt(max_memories_per_agent_type),
            state_retention: retention(state_keep_last, state_keep_newer_than_ms),
            ..Options::default()
        };
        let db = run(py, || AgentDb::open(&path, options))?;
        Ok(Database { path: db.path().display().to_string(), db, closed: AtomicBool::new(false) })
    }

    /// Flushes, syncs and releases the writer lock; later calls raise ClosedError. Idempotent.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let result = py.detach(|| self.db.close());
        // The engine refuses (InvalidArgument) only to close a forked child's
        // copy, which stays the parent's; any other outcome leaves it closed.
        if !matches!(result, Err(agentdb::Error::InvalidArgument(_))) {
            self.closed.store(true, Ordering::Release);
        }
        result.map_err(|e| to_py(py, e))
    }

    #[getter]
    fn closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    #[getter]
    fn path(&self) -> &str {
        &self.path
    }

    #[getter]
    fn memory_dimension(&self) -> usize {
        self.db.memory_dimension()
    }

    fn flush<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let r = run(py, || self.db.flush())?;
        report_to_py(py, serde_json::to_value(&r))
    }

    fn compact<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let r = run(py, || self.db.compact())?;
        report_to_py(py, serde_json::to_value(&r))
    }

    /// Deletes old state versions (the configured retention when both bounds
    /// are `None`, else this one-off retention), then runs maintenance.
    #[pyo3(signature = (keep_last, keep_newer_than_ms))]
    fn gc(
        &self,
        py: Python<'_>,
        keep_last: Option<Int<u64>>,
        keep_newer_than_ms: Option<Int<u64>>,
    ) -> PyResult<GcReport> {
        let r = match (keep_last, keep_newer_than_ms) {
            (None, None) => run(py, || self.db.gc())?,
            (k, t) => {
                let once = retention(k, t);
                run(py, || self.db.gc_with(&once))?
            }
        };
        let maintenance = serde_json::to_value(&r.maintenance)
            .map_err(|e| to_py(py, agentdb::Error::Io(std::io::Error::other(e))))?;
        Ok(GcReport { state_versions_removed: r.state_versions_removed, maintenance })
    }

    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let r = run(py, || self.db.stats())?;
        report_to_py(py, serde_json::to_value(&r))
    }

    /// The texts' embeddings as one row-major float32 buffer, with (rows, dim).
    fn embed<'py>(&self, py: Python<'py>, texts: Vec<String>) -> PyResult<(Bound<'py, PyByteArray>, usize, usize)> {
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let vectors = run(py, || self.db.embed(&refs))?;
        let dim = self.db.memory_dimension();
        let bytes: Vec<u8> = vectors.iter().flat_map(|v| v.iter().flat_map(|x| x.to_ne_bytes())).collect();
        debug_assert_eq!(bytes.len(), vectors.len() * dim * 4);
        Ok((PyByteArray::new(py, &bytes), vectors.len(), dim))
    }

    // ---- agent state ----

    /// With a `key`, the new version carries it (`save_state_keyed`).
    #[pyo3(signature = (agent_id, session_id, data, state_type, metadata, key))]
    fn save_state<'py>(
        &self,
        py: Python<'py>,
        agent_id: Int<u64>,
        session_id: Int<u64>,
        data: Data<'py>,
        state_type: &str,
        metadata: Meta,
        key: Option<&str>,
    ) -> PyResult<u64> {
        let t: StateType = parse(py, state_type)?;
        let bytes = data.as_slice();
        let meta = metadata.unwrap_or_default();
        let (agent, session) = (agent_id.0, session_id.0);
        match key {
            Some(key) => run(py, || self.db.save_state_keyed(agent, session, key, t, bytes, meta)),
            None => run(py, || self.db.save_state_with_metadata(agent, session, t, bytes, meta)),
        }
    }

    fn load_state_by_key(
        &self,
        py: Python<'_>,
        agent_id: Int<u64>,
        session_id: Int<u64>,
        key: &str,
    ) -> PyResult<AgentState> {
        run(py, || self.db.load_state_by_key(agent_id.0, session_id.0, key)).map(AgentState)
    }

    #[pyo3(signature = (agent_id, session_id, before_version, limit))]
    fn state_history_page(
        &self,
        py: Python<'_>,
        agent_id: Int<u64>,
        session_id: Int<u64>,
        before_version: Option<Int<u64>>,
        limit: Int<usize>,
    ) -> PyResult<Vec<AgentState>> {
        let before = opt(before_version);
        let rows = run(py, || self.db.state_history_page(agent_id.0, session_id.0, before, limit.0))?;
        Ok(wrap(rows, AgentState))
    }

    #[pyo3(signature = (agent_id, session_id))]
    fn load_state(&self, py: Python<'_>, agent_id: Int<u64>, session_id: Option<Int<u64>>) -> PyResult<AgentState> {
        let s = opt(session_id);
        run(py, || self.db.load_state(agent_id.0, s)).map(AgentState)
    }

    fn load_state_version(
        &self,
        py: Python<'_>,
        agent_id: Int<u64>,
        session_id: Int<u64>,
        version: Int<u64>,
    ) -> PyResult<AgentState> {
        run(py, || self.db.load_state_version(agent_id.0, session_id.0, version.0)).map(AgentState)
    }

    #[pyo3(signature = (agent_id, session_id, from_ms, to_ms, limit))]
    fn query_history(
        &self,
        py: Python<'_>,
        agent_id: Int<u64>,
        session_id: Option<Int<u64>>,
        from_ms: Option<Int<i64>>,
        to_ms: Option<Int<i64>>,
        limit: Int<usize>,
    ) -> PyResult<Vec<AgentState>> {
        let rows = self.history(py, agent_id.0, opt(session_id), opt(from_ms), opt(to_ms), limit.0)?;
        Ok(wrap(rows, AgentState))
    }

    #[pyo3(signature = (agent_id, session_id, from_ms, to_ms, limit))]
    fn query_history_arrow(
        &self,
        py: Python<'_>,
        agent_id: Int<u64>,
        session_id: Option<Int<u64>>,
        from_ms: Option<Int<i64>>,
        to_ms: Option<Int<i64>>,
        limit: Int<usize>,
    ) -> PyResult<ArrowStream> {
        let rows = self.history(py, agent_id.0, opt(session_id), opt(from_ms), opt(to_ms), limit.0)?;
        arrow::stream(export::states_batch(&rows)).map_err(|e| to_py(py, e))
    }

    fn create_snapshot(
        &self,
        py: Python<'_>,
        agent_id: Int<u64>,
        session_id: Int<u64>,
        name: &str,
    ) -> PyResult<Snapshot> {
        run(py, || self.db.create_snapshot(agent_id.0, session_id.0, name)).map(Snapshot)
    }

    fn list_snapshots(&self, py: Python<'_>, agent_id: Int<u64>) -> PyResult<Vec<Snapshot>> {
        Ok(wrap(run(py, || self.db.list_snapshots(agent_id.0))?, Snapshot))
    }

    fn restore_snapshot(&self, py: Python<'_>, agent_id: Int<u64>, name: &str) -> PyResult<AgentState> {
        run(py, || self.db.restore_snapshot(agent_id.0, name)).map(AgentState)
    }

    fn delete_agent(&self, py: Python<'_>, agent_id: Int<u64>) -> PyResult<()> {
        run(py, || self.db.delete_agent(agent_id.0))
    }

    // ---- memories ----

    #[pyo3(signature = (agent_id, content, memory_type, importance, embedding, ttl_ms, metadata))]
    fn store_memory(
        &self,
        py: Python<'_>,
        agent_id: Int<u64>,
        content: String,
        memory_type: &str,
        importance: f32,
        embedding: Option<Vector>,
        ttl_ms: Option<Int<u64>>,
        metadata: Meta,
    ) -> PyResult<u64> {
        let m = memory_args(py, agent_id, content, memory_type, importance, embedding, ttl_ms, metadata)?;
        run(py, || self.db.store_memory(m))
    }

    fn store_memories<'py>(&self, py: Python<'py>, items: Vec<Bound<'py, PyDict>>) -> PyResult<Vec<u64>> {
        let batch = items.iter().map(|d| new_memory(py, d)).collect::<PyResult<Vec<_>>>()?;
        run(py, || self.db.store_memories(batch))
    }

    #[pyo3(signature = (agent_id, content, memory_type, importance, embedding, ttl_ms, metadata))]
    fn store_memory_outcome(
        &self,
        py: Python<'_>,
        agent_id: Int<u64>,
        content: String,
        memory_type: &str,
        importance: f32,
        embedding: Option<Vector>,
        ttl_ms: Option<Int<u64>>,
        metadata: Meta,
    ) -> PyResult<StoreOutcome> {
        let m = memory_args(py, agent_id, content, memory_type, importance, embedding, ttl_ms, metadata)?;
        run(py, || self.db.store_memory_outcome(m)).map(StoreOutcome)
    }

    fn store_memories_outcome<'py>(
        &self,
        py: Python<'py>,
        items: Vec<Bound<'py, PyDict>>,
    ) -> PyResult<Vec<StoreOutcome>> {
        let batch = items.iter().map(|d| new_memory(py, d)).collect::<PyResult<Vec<_>>>()?;
        Ok(wrap(run(py, || self.db.store_memories_outcome(batch))?, StoreOutcome))
    }

    fn pin_memory(&self, py: Python<'_>, memory_id: Int<u64>) -> PyResult<()> {
        run(py, || self.db.pin_memory(memory_id.0))
    }

    fn unpin_memory(&self, py: Python<'_>, memory_id: Int<u64>) -> PyResult<()> {
        run(py, || self.db.unpin_memory(memory_id.0))
    }

    fn consolidate_memories(&self, py: Python<'_>, agent_id: Int<u64>) -> PyResult<ConsolidationReport> {
        run(py, || self.db.consolidate(agent_id.0)).map(ConsolidationReport)
    }

    fn get_memory(&self, py: Python<'_>, memory_id: Int<u64>) -> PyResult<Memory> {
        run(py, || self.db.get_memory(memory_id.0)).map(Memory)
    }

    fn update_memory_importance(&self, py: Python<'_>, memory_id: Int<u64>, importance: f32) -> PyResult<()> {
        run(py, || self.db.update_memory_importance(memory_id.0, importance))
    }

    fn delete_memory(&self, py: Python<'_>, memory_id: Int<u64>) -> PyResult<()> {
        run(py, || self.db.delete_memory(memory_id.0))
    }

    #[pyo3(signature = (agent_id, query, vector, limit, memory_types, metadata, created_after_ms, created_before_ms,
                        relevance_weight, importance_weight, recency_weight, recency_half_life_ms, record_access))]
    fn retrieve(
        &self,
        py: Python<'_>,
        agent_id: Int<u64>,
        query: Option<&str>,
        vector: Option<Vector>,
        limit: Int<usize>,
        memory_types: Option<Vec<String>>,
        metadata: Meta,
        created_after_ms: Option<Int<i64>>,
        created_before_ms: Option<Int<i64>>,
        relevance_weight: f32,
        importance_weight: f32,
        recency_weight: f32,
        recency_half_life_ms: Int<u64>,
        record_access: bool,
    ) -> PyResult<Vec<ScoredMemory>> {
        let rows = self.retrieve_rows(
            py,
            agent_id.0,
            query,
            vector,
            limit.0,
            memory_types,
            metadata,
            opt(created_after_ms),
            opt(created_before_ms),
            relevance_weight,
            importance_weight,
            recency_weight,
            recency_half_life_ms.0,
            record_access,
        )?;
        Ok(wrap(rows, ScoredMemory))
    }

    #[pyo3(signature = (agent_id, query, vector, limit, memory_types, metadata, created_after_ms, created_before_ms,
                        relevance_weight, importance_weight, recency_weight, recency_half_life_ms, record_access))]
    fn retrieve_arrow(
        &self,
        py: Python<'_>,
        agent_id: Int<u64>,
        query: Option<&str>,
        vector: Option<Vector>,
        limit: Int<usize>,
        memory_types: Option<Vec<String>>,
        metadata: Meta,
        created_after_ms: Option<Int<i64>>,
        created_before_ms: Option<Int<i64>>,
        relevance_weight: f32,
        importance_weight: f32,
        recency_weight: f32,
        recency_half_life_ms: Int<u64>,
        record_access: bool,
    ) -> PyResult<ArrowStream> {
        let rows = self.retrieve_rows(
            py,
            agent_id.0,
            query,
            vector,
            limit.0,
            memory_types,
            metadata,
            opt(created_after_ms),
            opt(created_before_ms),
            relevance_weight,
            importance_weight,
            recency_weight,
            recency_half_life_ms.0,
            record_access,
        )?;
        arrow::stream(export::scored_memories_batch(&rows, self.db.memory_dimension())).map_err(|e| to_py(py, e))
    }

    fn forget(
        &self,
        py: Python<'_>,
        agent_id: Int<u64>,
        older_than_ms: Int<u64>,
        min_importance: f32,
        decay_half_life_ms: Int<u64>,
    ) -> PyResult<usize> {
        let policy =
            ForgetPolicy { older_than: ms(older_than_ms.0), min_importance, decay_half_life: ms(decay_half_life_ms.0) };
        run(py, || self.db.forget(agent_id.0, &policy))
    }

    fn list_memories(&self, py: Python<'_>, agent_id: Int<u64>) -> PyResult<Vec<Memory>> {
        Ok(wrap(run(py, || self.db.list_memories(agent_id.0))?, Memory))
    }

    // ---- documents (RAG) ----

    #[pyo3(signature = (doc_id, text, title, metadata, chunk_vectors))]
    fn index_document(
        &self,
        py: Python<'_>,
        doc_id: String,
        text: String,
        title: String,
        metadata: Meta,
        chunk_vectors: Option<Matrix>,
    ) -> PyResult<DocumentInfo> {
        let doc = NewDocument {
            doc_id,
            title,
            text,
            metadata: metadata.unwrap_or_default(),
            chunk_vectors: chunk_vectors.map(|m| m.0),
        };
        run(py, || self.db.index_document(doc)).map(DocumentInfo)
    }

    fn get_document(&self, py: Python<'_>, doc_id: &str) -> PyResult<DocumentInfo> {
        run(py, || self.db.get_document(doc_id)).map(DocumentInfo)
    }

    fn delete_document(&self, py: Python<'_>, doc_id: &str) -> PyResult<()> {
        run(py, || self.db.delete_document(doc_id))
    }

    #[pyo3(signature = (query, vector, limit, doc_ids, metadata))]
    fn semantic_search(
        &self,
        py: Python<'_>,
        query: Option<&str>,
        vector: Option<Vector>,
        limit: Int<usize>,
        doc_ids: Option<Vec<String>>,
        metadata: Meta,
    ) -> PyResult<Vec<ChunkHit>> {
        Ok(wrap(self.semantic_rows(py, query, vector, limit.0, doc_ids, metadata)?, ChunkHit))
    }

    #[pyo3(signature = (query, vector, limit, doc_ids, metadata))]
    fn semantic_search_arrow(
        &self,
        py: Python<'_>,
        query: Option<&str>,
        vector: Option<Vector>,
        limit: Int<usize>,
        doc_ids: Option<Vec<String>>,
        metadata: Meta,
    ) -> PyResult<ArrowStream> {
        let rows = self.semantic_rows(py, query, vector, limit.0, doc_ids, metadata)?;
        arrow::stream(export::chunk_hits_batch(&rows)).map_err(|e| to_py(py, e))
    }

    #[pyo3(signature = (query, limit, doc_ids, metadata))]
    fn full_text_search(
        &self,
        py: Python<'_>,
        query: &str,
        limit: Int<usize>,
        doc_ids: Option<Vec<String>>,
        metadata: Meta,
    ) -> PyResult<Vec<ChunkHit>> {
        Ok(wrap(self.full_text_rows(py, query, limit.0, doc_ids, metadata)?, ChunkHit))
    }

    #[pyo3(signature = (query, limit, doc_ids, metadata))]
    fn full_text_search_arrow(
        &self,
        py: Python<'_>,
        query: &str,
        limit: Int<usize>,
        doc_ids: Option<Vec<String>>,
        metadata: Meta,
    ) -> PyResult<ArrowStream> {
        let rows = self.full_text_rows(py, query, limit.0, doc_ids, metadata)?;
        arrow::stream(export::chunk_hits_batch(&rows)).map_err(|e| to_py(py, e))
    }

    #[pyo3(signature = (query, vector, limit, alpha, fusion, doc_ids, metadata))]
    fn hybrid_search(
        &self,
        py: Python<'_>,
        query: &str,
        vector: Option<Vector>,
        limit: Int<usize>,
        alpha: f32,
        fusion: &str,
        doc_ids: Option<Vec<String>>,
        metadata: Meta,
    ) -> PyResult<Vec<ChunkHit>> {
        Ok(wrap(self.hybrid_rows(py, query, vector, limit.0, alpha, fusion, doc_ids, metadata)?, ChunkHit))
    }

    #[pyo3(signature = (query, vector, limit, alpha, fusion, doc_ids, metadata))]
    fn hybrid_search_arrow(
        &self,
        py: Python<'_>,
        query: &str,
        vector: Option<Vector>,
        limit: Int<usize>,
        alpha: f32,
        fusion: &str,
        doc_ids: Option<Vec<String>>,
        metadata: Meta,
    ) -> PyResult<ArrowStream> {
        let rows = self.hybrid_rows(py, query, vector, limit.0, alpha, fusion, doc_ids, metadata)?;
        arrow::stream(export::chunk_hits_batch(&rows)).map_err(|e| to_py(py, e))
    }

    // ---- vector collections ----

    fn create_collection(
        &self,
        py: Python<'_>,
        name: &str,
        dimension: Int<usize>,
        metric: &str,
    ) -> PyResult<CollectionInfo> {
        let metric: Metric = parse(py, metric)?;
        run(py, || self.db.create_collection(name, dimension.0, metric)).map(CollectionInfo)
    }

    fn list_collections(&self, py: Python<'_>) -> PyResult<Vec<CollectionInfo>> {
        Ok(wrap(run(py, || self.db.list_collections())?, CollectionInfo))
    }

    #[pyo3(signature = (collection, id, vector, metadata))]
    fn insert_vector(
        &self,
        py: Python<'_>,
        collection: &str,
        id: &str,
        vector: Vector,
        metadata: Meta,
    ) -> PyResult<()> {
        let v = vector.as_slice();
        let meta = metadata.unwrap_or_default();
        run(py, || self.db.insert_vector(collection, id, v, meta))
    }

    #[pyo3(signature = (collection, ids, vectors, metadatas))]
    fn insert_vectors(
        &self,
        py: Python<'_>,
        collection: &str,
        ids: Vec<String>,
        vectors: Matrix,
        metadatas: Option<Vec<Option<BTreeMap<String, String>>>>,
    ) -> PyResult<()> {
        let n = ids.len();
        if vectors.0.len() != n {
            return Err(invalid(py, format!("{n} ids but {} vectors", vectors.0.len())));
        }
        let metadatas = match metadatas {
            Some(m) if m.len() != n => return Err(invalid(py, format!("{n} ids but {} metadatas", m.len()))),
            Some(m) => m,
            None => vec![None; n],
        };
        let rows: Vec<agentdb::VectorRecord> = ids
            .into_iter()
            .zip(vectors.0)
            .zip(metadatas)
            .map(|((id, vector), metadata)| agentdb::VectorRecord {
                id,
                vector,
                metadata: metadata.unwrap_or_default(),
            })
            .collect();
        run(py, || self.db.insert_vectors(collection, rows))
    }

    fn get_vector(&self, py: Python<'_>, collection: &str, id: &str) -> PyResult<VectorRecord> {
        run(py, || self.db.get_vector(collection, id)).map(VectorRecord)
    }

    fn delete_vector(&self, py: Python<'_>, collection: &str, id: &str) -> PyResult<()> {
        run(py, || self.db.delete_vector(collection, id))
    }

    fn count_vectors(&self, py: Python<'_>, collection: &str) -> PyResult<usize> {
        run(py, || self.db.count_vectors(collection))
    }

    #[pyo3(signature = (collection, vector, k, metadata, nprobes, refine_factor))]
    fn search_knn(
        &self,
        py: Python<'_>,
        collection: &str,
        vector: Vector,
        k: Int<usize>,
        metadata: Meta,
        nprobes: Option<Int<usize>>,
        refine_factor: Option<Int<u32>>,
    ) -> PyResult<Vec<VectorHit>> {
        let rows = self.knn_rows(py, collection, &vector, k.0, metadata, opt(nprobes), opt(refine_factor))?;
        Ok(wrap(rows, VectorHit))
    }

    #[pyo3(signature = (collection, vector, k, metadata, nprobes, refine_factor))]
    fn search_knn_arrow(
        &self,
        py: Python<'_>,
        collection: &str,
        vector: Vector,
        k: Int<usize>,
        metadata: Meta,
        nprobes: Option<Int<usize>>,
        refine_factor: Option<Int<u32>>,
    ) -> PyResult<ArrowStream> {
        let rows = self.knn_rows(py, collection, &vector, k.0, metadata, opt(nprobes), opt(refine_factor))?;
        // A successful search's query has the collection's dimension.
        arrow::stream(export::vector_hits_batch(&rows, vector.as_slice().len())).map_err(|e| to_py(py, e))
    }

    #[pyo3(signature = (collection, vector, radius, max_results, metadata))]
    fn search_range(
        &self,
        py: Python<'_>,
        collection: &str,
        vector: Vector,
        radius: f32,
        max_results: Int<usize>,
        metadata: Meta,
    ) -> PyResult<Vec<VectorHit>> {
        let o = SearchOptions { metadata: metadata.unwrap_or_default(), ..SearchOptions::default() };
        let q = vector.as_slice();
        Ok(wrap(run(py, || self.db.search_range(collection, q, radius, max_results.0, &o))?, VectorHit))
    }

    fn create_vector_index(&self, py: Python<'_>, collection: &str) -> PyResult<()> {
        run(py, || self.db.create_vector_index(collection))
    }

    // ---- items ----

    fn write_items<'py>(&self, py: Python<'py>, writes: Vec<Bound<'py, PyDict>>) -> PyResult<ItemWriteReport> {
        let batch = writes.iter().map(|d| item_write(py, d)).collect::<PyResult<Vec<_>>>()?;
        run(py, || self.db.write_items(batch)).map(ItemWriteReport)
    }

    #[pyo3(signature = (namespace, key, value, metadata, ttl_ms))]
    fn put_item(
        &self,
        py: Python<'_>,
        namespace: Vec<String>,
        key: String,
        value: &Bound<'_, PyAny>,
        metadata: Meta,
        ttl_ms: Option<Int<u64>>,
    ) -> PyResult<Item> {
        let put = ItemPut {
            namespace,
            key,
            value: py_to_json(value, "an item value")?,
            metadata: metadata.unwrap_or_default(),
            ttl_ms: opt(ttl_ms),
        };
        run(py, || self.db.put_item(put)).map(Item)
    }

    fn delete_item(&self, py: Python<'_>, namespace: Vec<String>, key: &str) -> PyResult<bool> {
        run(py, || self.db.delete_item(&namespace, key))
    }

    fn get_item(&self, py: Python<'_>, namespace: Vec<String>, key: &str) -> PyResult<Option<Item>> {
        Ok(run(py, || self.db.get_item(&namespace, key))?.map(Item))
    }

    fn get_items(
        &self,
        py: Python<'_>,
        addresses: Vec<(Vec<String>, String)>,
        refresh_ttl: bool,
    ) -> PyResult<Vec<Option<Item>>> {
        let found = run(py, || self.db.get_items(&addresses, refresh_ttl))?;
        Ok(found.into_iter().map(|i| i.map(Item)).collect())
    }

    #[pyo3(signature = (prefix, filter, metadata, limit, offset, refresh_ttl))]
    fn search_items(
        &self,
        py: Python<'_>,
        prefix: Vec<String>,
        filter: Option<&Bound<'_, PyAny>>,
        metadata: Meta,
        limit: Int<usize>,
        offset: Int<usize>,
        refresh_ttl: bool,
    ) -> PyResult<ItemPage> {
        let query = ItemQuery {
            prefix,
            filter: filter.map(|f| py_to_json(f, "an item filter")).transpose()?,
            metadata: metadata.unwrap_or_default(),
            limit: limit.0,
            offset: offset.0,
            refresh_ttl,
        };
        run(py, || self.db.search_items(&query)).map(ItemPage)
    }

    #[pyo3(signature = (prefix, suffix, max_depth, limit, offset))]
    fn list_item_namespaces<'py>(
        &self,
        py: Python<'py>,
        prefix: Vec<String>,
        suffix: Vec<String>,
        max_depth: Option<Int<usize>>,
        limit: Int<usize>,
        offset: Int<usize>,
    ) -> PyResult<Vec<Bound<'py, PyTuple>>> {
        let query = NamespaceQuery { prefix, suffix, max_depth: opt(max_depth), limit: limit.0, offset: offset.0 };
        let found = run(py, || self.db.list_item_namespaces(&query))?;
        found.iter().map(|ns| PyTuple::new(py, ns)).collect()
    }

    fn sweep_expired_items(&self, py: Python<'_>) -> PyResult<usize> {
        run(py, || self.db.sweep_expired_items())
    }

    fn __repr__(&self) -> String {
        let state = if self.closed() { "closed" } else { "open" };
        format!("<agentdb._native.Database path={:?} {state}>", self.path)
    }
}

/// Which of `items` pass the value filter `filter` (SPEC.md, "Items"): the
/// engine's own evaluation, for items a caller already holds (the LangGraph
/// store's k-NN candidates). A bad filter is `InvalidArgumentError`.
#[pyfunction]
pub fn _item_filter_matches(
    py: Python<'_>,
    items: Vec<Bound<'_, Item>>,
    filter: &Bound<'_, PyAny>,
) -> PyResult<Vec<bool>> {
    let filter = py_to_json(filter, "an item filter")?;
    agentdb::items::value_filter::validate(&filter).map_err(|e| to_py(py, e))?;
    Ok(items.iter().map(|i| agentdb::items::value_filter::matches(&i.get().0.value, &filter)).collect())
}

/// Whether `vector` would be read in place (a test hook for the zero-copy path).
#[pyfunction]
pub fn _vector_is_borrowed(vector: Vector) -> bool {
    vector.is_shared()
}
