//! Bulk results as Arrow, handed to Python through the Arrow PyCapsule
//! interface (`__arrow_c_stream__`), so `pyarrow.table(stream)` (or polars,
//! duckdb…) imports them without copying and without linking pyarrow here.
//!
//! Column names and units follow the record attributes (`*_ms` are ms since
//! the Unix epoch); metadata is a `map<string, string>` column.

use std::collections::BTreeMap;
use std::sync::Arc;

use agentdb::storage::tables::vector_array;
use arrow_array::builder::{MapBuilder, StringBuilder};
use arrow_array::ffi_stream::FFI_ArrowArrayStream;
use arrow_array::{
    ArrayRef, BinaryArray, Float32Array, Int64Array, RecordBatch, RecordBatchIterator, StringArray, UInt32Array,
    UInt64Array,
};
use arrow_schema::SchemaRef;
use pyo3::prelude::*;
use pyo3::types::PyCapsule;

/// One result set, exportable any number of times.
#[pyclass(frozen, module = "agentdb._native")]
pub struct ArrowStream {
    schema: SchemaRef,
    batch: RecordBatch,
}

#[pymethods]
impl ArrowStream {
    /// The Arrow PyCapsule protocol. The schema is always this result's own
    /// (the protocol lets a producer ignore `requested_schema`).
    #[pyo3(signature = (requested_schema = None))]
    fn __arrow_c_stream__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        let _ = requested_schema;
        let reader = RecordBatchIterator::new(vec![Ok(self.batch.clone())], self.schema.clone());
        // The consumer moves the stream out (leaving `release` null); if it
        // never does, dropping the box releases it.
        PyCapsule::new_with_value(py, FFI_ArrowArrayStream::new(Box::new(reader)), c"arrow_array_stream")
    }

    #[getter]
    fn num_rows(&self) -> usize {
        self.batch.num_rows()
    }

    fn __len__(&self) -> usize {
        self.batch.num_rows()
    }

    fn __repr__(&self) -> String {
        let cols: Vec<String> = self.schema.fields().iter().map(|f| format!("{}: {}", f.name(), f.data_type())).collect();
        format!("ArrowStream({} rows; {})", self.batch.num_rows(), cols.join(", "))
    }
}

fn stream(columns: Vec<(&str, ArrayRef, bool)>) -> agentdb::Result<ArrowStream> {
    let batch = RecordBatch::try_from_iter_with_nullable(columns)?;
    Ok(ArrowStream { schema: batch.schema(), batch })
}

fn metadata_column<'a>(maps: impl Iterator<Item = &'a BTreeMap<String, String>>) -> agentdb::Result<ArrayRef> {
    let mut b = MapBuilder::new(None, StringBuilder::new(), StringBuilder::new());
    for m in maps {
        for (k, v) in m {
            b.keys().append_value(k);
            b.values().append_value(v);
        }
        b.append(true)?;
    }
    Ok(Arc::new(b.finish()))
}

fn strings<'a>(v: impl Iterator<Item = &'a str>) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(v))
}

pub fn states(rows: &[agentdb::AgentState]) -> agentdb::Result<ArrowStream> {
    stream(vec![
        ("agent_id", Arc::new(UInt64Array::from_iter_values(rows.iter().map(|s| s.agent_id))), false),
        ("session_id", Arc::new(UInt64Array::from_iter_values(rows.iter().map(|s| s.session_id))), false),
        ("version", Arc::new(UInt64Array::from_iter_values(rows.iter().map(|s| s.version))), false),
        ("timestamp_ms", Arc::new(Int64Array::from_iter_values(rows.iter().map(|s| s.timestamp_ms))), false),
        ("state_type", strings(rows.iter().map(|s| s.state_type.as_str())), false),
        ("data", Arc::new(BinaryArray::from_iter_values(rows.iter().map(|s| s.data.as_ref()))), false),
        ("metadata", metadata_column(rows.iter().map(|s| &s.metadata))?, false),
        ("checksum", Arc::new(UInt32Array::from_iter_values(rows.iter().map(|s| s.checksum))), false),
    ])
}

pub fn scored_memories(rows: &[agentdb::ScoredMemory], dimension: usize) -> agentdb::Result<ArrowStream> {
    let m = || rows.iter().map(|s| &s.memory);
    stream(vec![
        ("memory_id", Arc::new(UInt64Array::from_iter_values(m().map(|m| m.memory_id))), false),
        ("agent_id", Arc::new(UInt64Array::from_iter_values(m().map(|m| m.agent_id))), false),
        ("memory_type", strings(m().map(|m| m.memory_type.as_str())), false),
        ("content", strings(m().map(|m| m.content.as_str())), false),
        ("embedding", Arc::new(vector_array(m().map(|m| m.embedding.as_slice()), dimension)?), false),
        ("importance", Arc::new(Float32Array::from_iter_values(m().map(|m| m.importance))), false),
        ("access_count", Arc::new(UInt64Array::from_iter_values(m().map(|m| m.access_count))), false),
        ("last_access_ms", Arc::new(Int64Array::from_iter_values(m().map(|m| m.last_access_ms))), false),
        ("created_at_ms", Arc::new(Int64Array::from_iter_values(m().map(|m| m.created_at_ms))), false),
        ("expires_at_ms", Arc::new(m().map(|m| m.expires_at_ms).collect::<Int64Array>()), true),
        ("metadata", metadata_column(m().map(|m| &m.metadata))?, false),
        ("score", Arc::new(Float32Array::from_iter_values(rows.iter().map(|s| s.score))), false),
        ("relevance", Arc::new(Float32Array::from_iter_values(rows.iter().map(|s| s.relevance))), false),
        ("recency", Arc::new(Float32Array::from_iter_values(rows.iter().map(|s| s.recency))), false),
    ])
}

pub fn chunk_hits(rows: &[agentdb::ChunkHit]) -> agentdb::Result<ArrowStream> {
    stream(vec![
        ("chunk_id", strings(rows.iter().map(|h| h.chunk_id.as_str())), false),
        ("doc_id", strings(rows.iter().map(|h| h.doc_id.as_str())), false),
        ("position", Arc::new(UInt32Array::from_iter_values(rows.iter().map(|h| h.position))), false),
        ("start_char", Arc::new(UInt64Array::from_iter_values(rows.iter().map(|h| h.start_char))), false),
        ("end_char", Arc::new(UInt64Array::from_iter_values(rows.iter().map(|h| h.end_char))), false),
        ("content", strings(rows.iter().map(|h| h.content.as_str())), false),
        ("score", Arc::new(Float32Array::from_iter_values(rows.iter().map(|h| h.score))), false),
    ])
}

pub fn vector_hits(rows: &[agentdb::VectorHit], dimension: usize) -> agentdb::Result<ArrowStream> {
    stream(vec![
        ("id", strings(rows.iter().map(|h| h.id.as_str())), false),
        ("distance", Arc::new(Float32Array::from_iter_values(rows.iter().map(|h| h.distance))), false),
        ("metadata", metadata_column(rows.iter().map(|h| &h.metadata))?, false),
        ("vector", Arc::new(vector_array(rows.iter().map(|h| h.vector.as_slice()), dimension)?), false),
    ])
}
