//! Bulk results as Arrow, handed to Python through the Arrow PyCapsule
//! interface (`__arrow_c_stream__`), so `pyarrow.table(stream)` (or polars,
//! duckdb…) imports them without copying and without linking pyarrow here.
//!
//! The layouts are the engine's (`agentdb::export`): column names and units
//! follow the record attributes (`*_ms` are ms since the Unix epoch) and
//! metadata is a JSON object string.

use arrow_array::ffi_stream::FFI_ArrowArrayStream;
use arrow_array::{RecordBatch, RecordBatchIterator};
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
        let cols: Vec<String> =
            self.schema.fields().iter().map(|f| format!("{}: {}", f.name(), f.data_type())).collect();
        format!("ArrowStream({} rows; {})", self.batch.num_rows(), cols.join(", "))
    }
}

/// The engine's Arrow layout for each result type (`agentdb::export`),
/// shared with the C ABI so a column means the same thing on every surface.
pub fn stream(batch: agentdb::Result<RecordBatch>) -> agentdb::Result<ArrowStream> {
    let batch = batch?;
    Ok(ArrowStream { schema: batch.schema(), batch })
}

/// The engine's Arrow layout over result records made in Python: the remote
/// client (`agentdb.connect("http://…")`) builds its `*_arrow` results from
/// the records the server returned, so both clients give the same columns.
/// `kind` is `states`, `scored_memories`, `chunk_hits` or `vector_hits`;
/// `dimension` sizes the vector columns of the last two.
#[pyfunction]
#[pyo3(signature = (kind, rows, dimension = 0))]
pub fn _arrow_of(py: Python<'_>, kind: &str, rows: &Bound<'_, PyAny>, dimension: usize) -> PyResult<ArrowStream> {
    use crate::results::{AgentState, ChunkHit, ScoredMemory, VectorHit};
    use agentdb::export;
    let batch = match kind {
        "states" => {
            let rows: Vec<PyRef<'_, AgentState>> = rows.extract()?;
            export::states_batch(&rows.iter().map(|r| r.0.clone()).collect::<Vec<_>>())
        }
        "scored_memories" => {
            let rows: Vec<PyRef<'_, ScoredMemory>> = rows.extract()?;
            export::scored_memories_batch(&rows.iter().map(|r| r.0.clone()).collect::<Vec<_>>(), dimension)
        }
        "chunk_hits" => {
            let rows: Vec<PyRef<'_, ChunkHit>> = rows.extract()?;
            export::chunk_hits_batch(&rows.iter().map(|r| r.0.clone()).collect::<Vec<_>>())
        }
        "vector_hits" => {
            let rows: Vec<PyRef<'_, VectorHit>> = rows.extract()?;
            export::vector_hits_batch(&rows.iter().map(|r| r.0.clone()).collect::<Vec<_>>(), dimension)
        }
        other => return Err(crate::errors::invalid(py, format!("unknown Arrow layout {other:?}"))),
    };
    stream(batch).map_err(|e| crate::errors::to_py(py, e))
}
