//! Result records: immutable Python objects over the engine's own structs
//! (attributes are converted when read), with equality and a repr that
//! shows what a person needs (sizes, not whole payloads or vectors).

use std::collections::BTreeMap;
use std::fmt::Write;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};

/// A Python-style string literal ('…' unless the text holds a quote).
pub fn quote(s: &str) -> String {
    let debug = format!("{s:?}");
    if s.contains('\'') {
        return debug;
    }
    format!("'{}'", debug[1..debug.len() - 1].replace("\\\"", "\""))
}

/// An engine enum from its name (`"context"`, `"semantic"`, `"cosine"`), as the getters return it.
fn parse<T: std::str::FromStr<Err = agentdb::Error>>(py: Python<'_>, s: &str) -> PyResult<T> {
    s.parse().map_err(|e| crate::errors::to_py(py, e))
}

fn text_repr(s: &str, max_chars: usize) -> String {
    let mut short: String = s.chars().take(max_chars).collect();
    if s.chars().count() > max_chars {
        short.push('…');
    }
    quote(&short)
}

fn meta_repr(m: &BTreeMap<String, String>) -> String {
    let mut out = String::from("{");
    for (i, (k, v)) in m.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "{}: {}", quote(k), text_repr(v, 40));
    }
    out.push('}');
    out
}

#[pyclass(frozen, eq, module = "agentdb", name = "AgentState")]
#[derive(PartialEq)]
pub struct AgentState(pub agentdb::AgentState);

#[pymethods]
impl AgentState {
    /// Builds one from its fields (the remote client, `agentdb.connect("http://…")`,
    /// makes the same objects from the server's JSON).
    #[staticmethod]
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (agent_id, session_id, version, timestamp_ms, state_type, data, metadata, checksum, key))]
    fn _from_fields(
        py: Python<'_>,
        agent_id: u64,
        session_id: u64,
        version: u64,
        timestamp_ms: i64,
        state_type: &str,
        data: &Bound<'_, PyBytes>,
        metadata: BTreeMap<String, String>,
        checksum: u32,
        key: Option<String>,
    ) -> PyResult<Self> {
        Ok(AgentState(agentdb::AgentState {
            agent_id,
            session_id,
            version,
            timestamp_ms,
            state_type: parse(py, state_type)?,
            data: agentdb::Bytes::copy_from_slice(data.as_bytes()),
            metadata,
            checksum,
            key,
        }))
    }
    #[getter]
    fn agent_id(&self) -> u64 {
        self.0.agent_id
    }
    #[getter]
    fn session_id(&self) -> u64 {
        self.0.session_id
    }
    #[getter]
    fn version(&self) -> u64 {
        self.0.version
    }
    #[getter]
    fn timestamp_ms(&self) -> i64 {
        self.0.timestamp_ms
    }
    #[getter]
    fn state_type(&self) -> &'static str {
        self.0.state_type.as_str()
    }
    #[getter]
    fn data<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.0.data)
    }
    #[getter]
    fn metadata(&self) -> BTreeMap<String, String> {
        self.0.metadata.clone()
    }
    #[getter]
    fn checksum(&self) -> u32 {
        self.0.checksum
    }
    /// The key this version was saved with, `None` when unkeyed.
    #[getter]
    fn key(&self) -> Option<&str> {
        self.0.key.as_deref()
    }
    fn __repr__(&self) -> String {
        let s = &self.0;
        let key = s.key.as_deref().map_or_else(|| "None".to_owned(), |k| text_repr(k, 40));
        format!(
            "AgentState(agent_id={}, session_id={}, version={}, state_type='{}', timestamp_ms={}, key={}, data=<{} bytes>, metadata={})",
            s.agent_id,
            s.session_id,
            s.version,
            s.state_type,
            s.timestamp_ms,
            key,
            s.data.len(),
            meta_repr(&s.metadata)
        )
    }
}

#[pyclass(frozen, eq, module = "agentdb", name = "Snapshot")]
#[derive(PartialEq)]
pub struct Snapshot(pub agentdb::Snapshot);

#[pymethods]
impl Snapshot {
    /// Builds one from its fields (for the remote client).
    #[staticmethod]
    fn _from_fields(agent_id: u64, session_id: u64, name: String, version: u64, created_at_ms: i64) -> Self {
        Snapshot(agentdb::Snapshot { agent_id, session_id, name, version, created_at_ms })
    }
    #[getter]
    fn agent_id(&self) -> u64 {
        self.0.agent_id
    }
    #[getter]
    fn session_id(&self) -> u64 {
        self.0.session_id
    }
    #[getter]
    fn name(&self) -> &str {
        &self.0.name
    }
    #[getter]
    fn version(&self) -> u64 {
        self.0.version
    }
    #[getter]
    fn created_at_ms(&self) -> i64 {
        self.0.created_at_ms
    }
    fn __repr__(&self) -> String {
        let s = &self.0;
        format!(
            "Snapshot(agent_id={}, session_id={}, name={}, version={}, created_at_ms={})",
            s.agent_id,
            s.session_id,
            quote(&s.name),
            s.version,
            s.created_at_ms
        )
    }
}

#[pyclass(frozen, eq, module = "agentdb", name = "Memory")]
#[derive(PartialEq)]
pub struct Memory(pub agentdb::Memory);

#[pymethods]
impl Memory {
    /// Builds one from its fields (for the remote client).
    #[staticmethod]
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (memory_id, agent_id, memory_type, content, embedding, importance, access_count,
                        last_access_ms, created_at_ms, expires_at_ms, metadata, pinned))]
    fn _from_fields(
        py: Python<'_>,
        memory_id: u64,
        agent_id: u64,
        memory_type: &str,
        content: String,
        embedding: Vec<f32>,
        importance: f32,
        access_count: u64,
        last_access_ms: i64,
        created_at_ms: i64,
        expires_at_ms: Option<i64>,
        metadata: BTreeMap<String, String>,
        pinned: bool,
    ) -> PyResult<Self> {
        Ok(Memory(agentdb::Memory {
            memory_id,
            agent_id,
            memory_type: parse(py, memory_type)?,
            content,
            embedding,
            importance,
            access_count,
            last_access_ms,
            created_at_ms,
            expires_at_ms,
            metadata,
            pinned,
        }))
    }
    #[getter]
    fn memory_id(&self) -> u64 {
        self.0.memory_id
    }
    #[getter]
    fn agent_id(&self) -> u64 {
        self.0.agent_id
    }
    #[getter]
    fn memory_type(&self) -> &'static str {
        self.0.memory_type.as_str()
    }
    #[getter]
    fn content(&self) -> &str {
        &self.0.content
    }
    #[getter]
    fn embedding(&self) -> Vec<f32> {
        self.0.embedding.clone()
    }
    #[getter]
    fn importance(&self) -> f32 {
        self.0.importance
    }
    #[getter]
    fn access_count(&self) -> u64 {
        self.0.access_count
    }
    #[getter]
    fn last_access_ms(&self) -> i64 {
        self.0.last_access_ms
    }
    #[getter]
    fn created_at_ms(&self) -> i64 {
        self.0.created_at_ms
    }
    #[getter]
    fn expires_at_ms(&self) -> Option<i64> {
        self.0.expires_at_ms
    }
    #[getter]
    fn metadata(&self) -> BTreeMap<String, String> {
        self.0.metadata.clone()
    }
    #[getter]
    fn pinned(&self) -> bool {
        self.0.pinned
    }
    /// The ids this memory absorbed by merging (its metadata `absorbed_ids`), oldest merge first.
    #[getter]
    fn absorbed_ids(&self) -> Vec<u64> {
        self.0.absorbed_ids()
    }
    fn __repr__(&self) -> String {
        memory_repr(&self.0)
    }
}

fn memory_repr(m: &agentdb::Memory) -> String {
    format!(
        "Memory(memory_id={}, agent_id={}, memory_type='{}', content={}, importance={}, access_count={}, created_at_ms={}, expires_at_ms={}, pinned={}, embedding=<{} floats>, metadata={})",
        m.memory_id,
        m.agent_id,
        m.memory_type,
        text_repr(&m.content, 60),
        m.importance,
        m.access_count,
        m.created_at_ms,
        m.expires_at_ms.map_or("None".to_string(), |t| t.to_string()),
        if m.pinned { "True" } else { "False" },
        m.embedding.len(),
        meta_repr(&m.metadata)
    )
}

#[pyclass(frozen, eq, module = "agentdb", name = "ScoredMemory")]
#[derive(PartialEq)]
pub struct ScoredMemory(pub agentdb::ScoredMemory);

#[pymethods]
impl ScoredMemory {
    /// Builds one from its fields (for the remote client).
    #[staticmethod]
    fn _from_fields(memory: PyRef<'_, Memory>, score: f32, relevance: f32, recency: f32) -> Self {
        ScoredMemory(agentdb::ScoredMemory { memory: memory.0.clone(), score, relevance, recency })
    }
    #[getter]
    fn memory(&self) -> Memory {
        Memory(self.0.memory.clone())
    }
    #[getter]
    fn score(&self) -> f32 {
        self.0.score
    }
    #[getter]
    fn relevance(&self) -> f32 {
        self.0.relevance
    }
    #[getter]
    fn recency(&self) -> f32 {
        self.0.recency
    }
    fn __repr__(&self) -> String {
        format!(
            "ScoredMemory(score={:.4}, relevance={:.4}, recency={:.4}, memory={})",
            self.0.score,
            self.0.relevance,
            self.0.recency,
            memory_repr(&self.0.memory)
        )
    }
}

#[pyclass(frozen, eq, module = "agentdb", name = "DocumentInfo")]
#[derive(PartialEq)]
pub struct DocumentInfo(pub agentdb::DocumentInfo);

#[pymethods]
impl DocumentInfo {
    /// Builds one from its fields (for the remote client).
    #[staticmethod]
    fn _from_fields(
        doc_id: String,
        title: String,
        metadata: BTreeMap<String, String>,
        chunk_count: u32,
        char_count: u64,
        indexed_at_ms: i64,
    ) -> Self {
        DocumentInfo(agentdb::DocumentInfo { doc_id, title, metadata, chunk_count, char_count, indexed_at_ms })
    }
    #[getter]
    fn doc_id(&self) -> &str {
        &self.0.doc_id
    }
    #[getter]
    fn title(&self) -> &str {
        &self.0.title
    }
    #[getter]
    fn metadata(&self) -> BTreeMap<String, String> {
        self.0.metadata.clone()
    }
    #[getter]
    fn chunk_count(&self) -> u32 {
        self.0.chunk_count
    }
    #[getter]
    fn char_count(&self) -> u64 {
        self.0.char_count
    }
    #[getter]
    fn indexed_at_ms(&self) -> i64 {
        self.0.indexed_at_ms
    }
    fn __repr__(&self) -> String {
        let d = &self.0;
        format!(
            "DocumentInfo(doc_id={}, title={}, chunk_count={}, char_count={}, indexed_at_ms={}, metadata={})",
            quote(&d.doc_id),
            text_repr(&d.title, 60),
            d.chunk_count,
            d.char_count,
            d.indexed_at_ms,
            meta_repr(&d.metadata)
        )
    }
}

#[pyclass(frozen, eq, module = "agentdb", name = "ChunkHit")]
#[derive(PartialEq)]
pub struct ChunkHit(pub agentdb::ChunkHit);

#[pymethods]
impl ChunkHit {
    /// Builds one from its fields (for the remote client).
    #[staticmethod]
    fn _from_fields(
        chunk_id: String,
        doc_id: String,
        position: u32,
        start_char: u64,
        end_char: u64,
        content: String,
        score: f32,
    ) -> Self {
        ChunkHit(agentdb::ChunkHit { chunk_id, doc_id, position, start_char, end_char, content, score })
    }
    #[getter]
    fn chunk_id(&self) -> &str {
        &self.0.chunk_id
    }
    #[getter]
    fn doc_id(&self) -> &str {
        &self.0.doc_id
    }
    #[getter]
    fn position(&self) -> u32 {
        self.0.position
    }
    #[getter]
    fn start_char(&self) -> u64 {
        self.0.start_char
    }
    #[getter]
    fn end_char(&self) -> u64 {
        self.0.end_char
    }
    #[getter]
    fn content(&self) -> &str {
        &self.0.content
    }
    #[getter]
    fn score(&self) -> f32 {
        self.0.score
    }
    fn __repr__(&self) -> String {
        let h = &self.0;
        format!(
            "ChunkHit(chunk_id={}, score={:.4}, start_char={}, end_char={}, content={})",
            quote(&h.chunk_id),
            h.score,
            h.start_char,
            h.end_char,
            text_repr(&h.content, 60)
        )
    }
}

#[pyclass(frozen, eq, module = "agentdb", name = "CollectionInfo")]
#[derive(PartialEq)]
pub struct CollectionInfo(pub agentdb::CollectionInfo);

#[pymethods]
impl CollectionInfo {
    /// Builds one from its fields (for the remote client).
    #[staticmethod]
    fn _from_fields(py: Python<'_>, name: String, dimension: usize, metric: &str) -> PyResult<Self> {
        Ok(CollectionInfo(agentdb::CollectionInfo { name, dimension, metric: parse(py, metric)? }))
    }
    #[getter]
    fn name(&self) -> &str {
        &self.0.name
    }
    #[getter]
    fn dimension(&self) -> usize {
        self.0.dimension
    }
    #[getter]
    fn metric(&self) -> &'static str {
        self.0.metric.as_str()
    }
    fn __repr__(&self) -> String {
        format!(
            "CollectionInfo(name={}, dimension={}, metric='{}')",
            quote(&self.0.name),
            self.0.dimension,
            self.0.metric.as_str()
        )
    }
}

#[pyclass(frozen, eq, module = "agentdb", name = "VectorRecord")]
#[derive(PartialEq)]
pub struct VectorRecord(pub agentdb::VectorRecord);

#[pymethods]
impl VectorRecord {
    /// Builds one from its fields (for the remote client).
    #[staticmethod]
    fn _from_fields(id: String, vector: Vec<f32>, metadata: BTreeMap<String, String>) -> Self {
        VectorRecord(agentdb::VectorRecord { id, vector, metadata })
    }
    #[getter]
    fn id(&self) -> &str {
        &self.0.id
    }
    #[getter]
    fn vector(&self) -> Vec<f32> {
        self.0.vector.clone()
    }
    #[getter]
    fn metadata(&self) -> BTreeMap<String, String> {
        self.0.metadata.clone()
    }
    fn __repr__(&self) -> String {
        format!(
            "VectorRecord(id={}, vector=<{} floats>, metadata={})",
            quote(&self.0.id),
            self.0.vector.len(),
            meta_repr(&self.0.metadata)
        )
    }
}

#[pyclass(frozen, eq, module = "agentdb", name = "VectorHit")]
#[derive(PartialEq)]
pub struct VectorHit(pub agentdb::VectorHit);

#[pymethods]
impl VectorHit {
    /// Builds one from its fields (for the remote client).
    #[staticmethod]
    fn _from_fields(id: String, distance: f32, metadata: BTreeMap<String, String>, vector: Vec<f32>) -> Self {
        VectorHit(agentdb::VectorHit { id, distance, metadata, vector })
    }
    #[getter]
    fn id(&self) -> &str {
        &self.0.id
    }
    #[getter]
    fn distance(&self) -> f32 {
        self.0.distance
    }
    #[getter]
    fn metadata(&self) -> BTreeMap<String, String> {
        self.0.metadata.clone()
    }
    #[getter]
    fn vector(&self) -> Vec<f32> {
        self.0.vector.clone()
    }
    fn __repr__(&self) -> String {
        format!(
            "VectorHit(id={}, distance={:.6}, vector=<{} floats>, metadata={})",
            quote(&self.0.id),
            self.0.distance,
            self.0.vector.len(),
            meta_repr(&self.0.metadata)
        )
    }
}

fn ids_repr(ids: &[u64]) -> String {
    let items: Vec<String> = ids.iter().map(u64::to_string).collect();
    format!("[{}]", items.join(", "))
}

/// What `memories.store_outcome` did: `kind` is `"stored"`, `"duplicate"` or `"merged"`.
#[pyclass(frozen, eq, module = "agentdb", name = "StoreOutcome")]
#[derive(PartialEq)]
pub struct StoreOutcome(pub agentdb::StoreOutcome);

impl StoreOutcome {
    fn absorbed_ids(&self) -> &[u64] {
        match &self.0.kind {
            agentdb::StoreKind::Merged { absorbed } => absorbed,
            agentdb::StoreKind::Stored | agentdb::StoreKind::Duplicate => &[],
        }
    }
}

#[pymethods]
impl StoreOutcome {
    /// Builds one from its fields (for the remote client); `kind` as the getter returns it.
    #[staticmethod]
    fn _from_fields(
        py: Python<'_>,
        memory_id: u64,
        kind: &str,
        absorbed: Vec<u64>,
        evicted: Vec<u64>,
    ) -> PyResult<Self> {
        let kind = match kind {
            "stored" => agentdb::StoreKind::Stored,
            "duplicate" => agentdb::StoreKind::Duplicate,
            "merged" => agentdb::StoreKind::Merged { absorbed },
            other => return Err(crate::errors::invalid(py, format!("unknown store outcome kind {other:?}"))),
        };
        Ok(StoreOutcome(agentdb::StoreOutcome { memory_id, kind, evicted }))
    }
    #[getter]
    fn memory_id(&self) -> u64 {
        self.0.memory_id
    }
    #[getter]
    fn kind(&self) -> &'static str {
        match self.0.kind {
            agentdb::StoreKind::Stored => "stored",
            agentdb::StoreKind::Duplicate => "duplicate",
            agentdb::StoreKind::Merged { .. } => "merged",
        }
    }
    /// The ids that no longer exist because of a merge (empty unless `kind == "merged"`).
    #[getter]
    fn absorbed(&self) -> Vec<u64> {
        self.absorbed_ids().to_vec()
    }
    /// The memories deleted to respect `max_memories_per_agent_type`.
    #[getter]
    fn evicted(&self) -> Vec<u64> {
        self.0.evicted.clone()
    }
    fn __repr__(&self) -> String {
        format!(
            "StoreOutcome(memory_id={}, kind='{}', absorbed={}, evicted={})",
            self.0.memory_id,
            self.kind(),
            ids_repr(self.absorbed_ids()),
            ids_repr(&self.0.evicted)
        )
    }
}

/// One merge made by `memories.consolidate`.
#[pyclass(frozen, eq, module = "agentdb", name = "MergeGroup")]
#[derive(PartialEq)]
pub struct MergeGroup(pub agentdb::MergeGroup);

#[pymethods]
impl MergeGroup {
    /// Builds one from its fields (for the remote client).
    #[staticmethod]
    fn _from_fields(py: Python<'_>, memory_type: &str, kept: u64, absorbed: Vec<u64>) -> PyResult<Self> {
        Ok(MergeGroup(agentdb::MergeGroup { memory_type: parse(py, memory_type)?, kept, absorbed }))
    }
    #[getter]
    fn memory_type(&self) -> &'static str {
        self.0.memory_type.as_str()
    }
    #[getter]
    fn kept(&self) -> u64 {
        self.0.kept
    }
    #[getter]
    fn absorbed(&self) -> Vec<u64> {
        self.0.absorbed.clone()
    }
    fn __repr__(&self) -> String {
        merge_group_repr(&self.0)
    }
}

fn merge_group_repr(g: &agentdb::MergeGroup) -> String {
    format!("MergeGroup(memory_type='{}', kept={}, absorbed={})", g.memory_type.as_str(), g.kept, ids_repr(&g.absorbed))
}

/// What `memories.consolidate` merged.
#[pyclass(frozen, eq, module = "agentdb", name = "ConsolidationReport")]
#[derive(PartialEq)]
pub struct ConsolidationReport(pub agentdb::ConsolidationReport);

#[pymethods]
impl ConsolidationReport {
    /// Builds one from its fields (for the remote client).
    #[staticmethod]
    fn _from_fields(agent_id: u64, examined: usize, groups: Vec<PyRef<'_, MergeGroup>>, remaining: usize) -> Self {
        let groups = groups.iter().map(|g| g.0.clone()).collect();
        ConsolidationReport(agentdb::ConsolidationReport { agent_id, examined, groups, remaining })
    }
    #[getter]
    fn agent_id(&self) -> u64 {
        self.0.agent_id
    }
    /// Live memories of the agent before.
    #[getter]
    fn examined(&self) -> usize {
        self.0.examined
    }
    #[getter]
    fn groups(&self) -> Vec<MergeGroup> {
        self.0.groups.iter().cloned().map(MergeGroup).collect()
    }
    /// Live memories of the agent after.
    #[getter]
    fn remaining(&self) -> usize {
        self.0.remaining
    }
    fn __repr__(&self) -> String {
        let groups: Vec<String> = self.0.groups.iter().map(merge_group_repr).collect();
        format!(
            "ConsolidationReport(agent_id={}, examined={}, remaining={}, groups=[{}])",
            self.0.agent_id,
            self.0.examined,
            self.0.remaining,
            groups.join(", ")
        )
    }
}

/// What `db.gc` did: the state versions it deleted, and the maintenance
/// report of the run (the dict `db.compact()` returns).
#[pyclass(frozen, eq, module = "agentdb", name = "GcReport")]
#[derive(PartialEq)]
pub struct GcReport {
    pub state_versions_removed: u64,
    /// `serde_json::to_value(&report.maintenance)`.
    pub maintenance: serde_json::Value,
}

#[pymethods]
impl GcReport {
    /// Builds one from its fields (for the remote client); `maintenance` is
    /// the report dict, as the getter returns it.
    #[staticmethod]
    fn _from_fields(state_versions_removed: u64, maintenance: &Bound<'_, PyAny>) -> PyResult<Self> {
        let maintenance = crate::convert::py_to_json(maintenance, "maintenance")?;
        Ok(GcReport { state_versions_removed, maintenance })
    }
    #[getter]
    fn state_versions_removed(&self) -> u64 {
        self.state_versions_removed
    }
    #[getter]
    fn maintenance<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        crate::convert::json_to_py(py, &self.maintenance)
    }
    fn __repr__(&self) -> String {
        let ms = self.maintenance.get("duration_ms").and_then(serde_json::Value::as_f64);
        match ms {
            Some(ms) => {
                format!("GcReport(state_versions_removed={}, duration_ms={ms:.1})", self.state_versions_removed)
            }
            None => format!("GcReport(state_versions_removed={})", self.state_versions_removed),
        }
    }
}

/// An item of `db.items`: a JSON value at (namespace, key). `value` is
/// converted to Python objects on each read (a fresh copy each time).
#[pyclass(frozen, eq, module = "agentdb", name = "Item")]
#[derive(PartialEq)]
pub struct Item(pub agentdb::Item);

#[pymethods]
impl Item {
    /// Builds one from its fields (for the remote client); `value` is any
    /// JSON-shaped Python object, as the getter returns it.
    #[staticmethod]
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (namespace, key, value, metadata, created_at_ms, updated_at_ms, expires_at_ms, ttl_ms))]
    fn _from_fields(
        namespace: Vec<String>,
        key: String,
        value: &Bound<'_, PyAny>,
        metadata: BTreeMap<String, String>,
        created_at_ms: i64,
        updated_at_ms: i64,
        expires_at_ms: Option<i64>,
        ttl_ms: Option<u64>,
    ) -> PyResult<Self> {
        let value = crate::convert::py_to_json(value, "value")?;
        Ok(Item(agentdb::Item { namespace, key, value, metadata, created_at_ms, updated_at_ms, expires_at_ms, ttl_ms }))
    }
    /// The namespace's labels, as a tuple.
    #[getter]
    fn namespace<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, &self.0.namespace)
    }
    #[getter]
    fn key(&self) -> &str {
        &self.0.key
    }
    #[getter]
    fn value<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        crate::convert::json_to_py(py, &self.0.value)
    }
    #[getter]
    fn metadata(&self) -> BTreeMap<String, String> {
        self.0.metadata.clone()
    }
    #[getter]
    fn created_at_ms(&self) -> i64 {
        self.0.created_at_ms
    }
    #[getter]
    fn updated_at_ms(&self) -> i64 {
        self.0.updated_at_ms
    }
    /// When it stops being visible; `None`: never.
    #[getter]
    fn expires_at_ms(&self) -> Option<i64> {
        self.0.expires_at_ms
    }
    /// The time to live it was written with; `None`: none.
    #[getter]
    fn ttl_ms(&self) -> Option<u64> {
        self.0.ttl_ms
    }
    fn __repr__(&self) -> String {
        item_repr(&self.0)
    }
}

fn item_repr(i: &agentdb::Item) -> String {
    let labels: Vec<String> = i.namespace.iter().map(|l| quote(l.as_str())).collect();
    let namespace = if labels.len() == 1 { format!("({},)", labels[0]) } else { format!("({})", labels.join(", ")) };
    let value = i.value.to_string();
    let opt = |v: Option<String>| v.unwrap_or_else(|| "None".to_owned());
    format!(
        "Item(namespace={namespace}, key={}, value={}, metadata={}, created_at_ms={}, updated_at_ms={}, expires_at_ms={}, ttl_ms={})",
        quote(&i.key),
        text_repr(&value, 60),
        meta_repr(&i.metadata),
        i.created_at_ms,
        i.updated_at_ms,
        opt(i.expires_at_ms.map(|t| t.to_string())),
        opt(i.ttl_ms.map(|t| t.to_string())),
    )
}

/// One page of `db.items.search`: the items, newest update first, and how
/// many matched in all.
#[pyclass(frozen, eq, module = "agentdb", name = "ItemPage")]
#[derive(PartialEq)]
pub struct ItemPage(pub agentdb::ItemPage);

#[pymethods]
impl ItemPage {
    /// Builds one from its fields (for the remote client).
    #[staticmethod]
    fn _from_fields(items: Vec<PyRef<'_, Item>>, total: usize) -> Self {
        ItemPage(agentdb::ItemPage { items: items.iter().map(|i| i.0.clone()).collect(), total })
    }
    #[getter]
    fn items(&self) -> Vec<Item> {
        self.0.items.iter().cloned().map(Item).collect()
    }
    /// Every match, not just this page.
    #[getter]
    fn total(&self) -> usize {
        self.0.total
    }
    fn __repr__(&self) -> String {
        format!("ItemPage(total={}, items=<{} items>)", self.0.total, self.0.items.len())
    }
}

/// What `db.items.write` did.
#[pyclass(frozen, eq, module = "agentdb", name = "ItemWriteReport")]
#[derive(PartialEq)]
pub struct ItemWriteReport(pub agentdb::ItemWriteReport);

#[pymethods]
impl ItemWriteReport {
    /// Builds one from its fields (for the remote client).
    #[staticmethod]
    fn _from_fields(put: usize, deleted: usize) -> Self {
        ItemWriteReport(agentdb::ItemWriteReport { put, deleted })
    }
    /// Puts applied.
    #[getter]
    fn put(&self) -> usize {
        self.0.put
    }
    /// Live items deleted.
    #[getter]
    fn deleted(&self) -> usize {
        self.0.deleted
    }
    fn __repr__(&self) -> String {
        format!("ItemWriteReport(put={}, deleted={})", self.0.put, self.0.deleted)
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<AgentState>()?;
    m.add_class::<Snapshot>()?;
    m.add_class::<Memory>()?;
    m.add_class::<ScoredMemory>()?;
    m.add_class::<DocumentInfo>()?;
    m.add_class::<ChunkHit>()?;
    m.add_class::<CollectionInfo>()?;
    m.add_class::<VectorRecord>()?;
    m.add_class::<VectorHit>()?;
    m.add_class::<StoreOutcome>()?;
    m.add_class::<MergeGroup>()?;
    m.add_class::<ConsolidationReport>()?;
    m.add_class::<GcReport>()?;
    m.add_class::<Item>()?;
    m.add_class::<ItemPage>()?;
    m.add_class::<ItemWriteReport>()?;
    Ok(())
}
