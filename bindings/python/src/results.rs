//! Result records: immutable Python objects over the engine's own structs
//! (attributes are converted when read), with equality and a repr that
//! shows what a person needs (sizes, not whole payloads or vectors).

use std::collections::BTreeMap;
use std::fmt::Write;

use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// A Python-style string literal ('…' unless the text holds a quote).
pub fn quote(s: &str) -> String {
    let debug = format!("{s:?}");
    if s.contains('\'') {
        return debug;
    }
    format!("'{}'", debug[1..debug.len() - 1].replace("\\\"", "\""))
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
    fn __repr__(&self) -> String {
        let s = &self.0;
        format!(
            "AgentState(agent_id={}, session_id={}, version={}, state_type='{}', timestamp_ms={}, data=<{} bytes>, metadata={})",
            s.agent_id,
            s.session_id,
            s.version,
            s.state_type,
            s.timestamp_ms,
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
    fn __repr__(&self) -> String {
        memory_repr(&self.0)
    }
}

fn memory_repr(m: &agentdb::Memory) -> String {
    format!(
        "Memory(memory_id={}, agent_id={}, memory_type='{}', content={}, importance={}, access_count={}, created_at_ms={}, expires_at_ms={}, embedding=<{} floats>, metadata={})",
        m.memory_id,
        m.agent_id,
        m.memory_type,
        text_repr(&m.content, 60),
        m.importance,
        m.access_count,
        m.created_at_ms,
        m.expires_at_ms.map_or("None".to_string(), |t| t.to_string()),
        m.embedding.len(),
        meta_repr(&m.metadata)
    )
}

#[pyclass(frozen, eq, module = "agentdb", name = "ScoredMemory")]
#[derive(PartialEq)]
pub struct ScoredMemory(pub agentdb::ScoredMemory);

#[pymethods]
impl ScoredMemory {
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
        format!("CollectionInfo(name={}, dimension={}, metric='{}')", quote(&self.0.name), self.0.dimension, self.0.metric.as_str())
    }
}

#[pyclass(frozen, eq, module = "agentdb", name = "VectorRecord")]
#[derive(PartialEq)]
pub struct VectorRecord(pub agentdb::VectorRecord);

#[pymethods]
impl VectorRecord {
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
    Ok(())
}
