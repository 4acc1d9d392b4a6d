//! Result sets as Arrow record batches, for surfaces that hand bulk results
//! over without copying row by row (the C ABI's `ArrowArrayStream`, pyarrow
//! in the Python binding). One layout per result type, shared by every
//! surface so a column means the same thing everywhere. Metadata maps are
//! JSON object strings: every Arrow consumer reads them, few handle MapArray.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::{
    ArrayRef, BinaryArray, Float32Array, Int64Array, RecordBatch, StringArray, UInt32Array, UInt64Array,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef};

use crate::storage::tables::{vector_array, vector_field};
use crate::{AgentState, ChunkHit, Result, ScoredMemory, VectorHit};

fn metadata_json(m: &BTreeMap<String, String>) -> String {
    // A map of strings always serialises.
    serde_json::to_string(m).unwrap_or_else(|_| "{}".into())
}

fn batch(schema: SchemaRef, columns: Vec<ArrayRef>) -> Result<RecordBatch> {
    Ok(RecordBatch::try_new(schema, columns)?)
}

pub fn states_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("agent_id", DataType::UInt64, false),
        Field::new("session_id", DataType::UInt64, false),
        Field::new("version", DataType::UInt64, false),
        Field::new("timestamp_ms", DataType::Int64, false),
        Field::new("state_type", DataType::Utf8, false),
        Field::new("data", DataType::Binary, false),
        Field::new("metadata", DataType::Utf8, false),
        Field::new("checksum", DataType::UInt32, false),
        Field::new("key", DataType::Utf8, true),
    ]))
}

/// States (e.g. a history) in the order given.
pub fn states_batch(states: &[AgentState]) -> Result<RecordBatch> {
    batch(
        states_schema(),
        vec![
            Arc::new(UInt64Array::from_iter_values(states.iter().map(|s| s.agent_id))),
            Arc::new(UInt64Array::from_iter_values(states.iter().map(|s| s.session_id))),
            Arc::new(UInt64Array::from_iter_values(states.iter().map(|s| s.version))),
            Arc::new(Int64Array::from_iter_values(states.iter().map(|s| s.timestamp_ms))),
            Arc::new(StringArray::from_iter_values(states.iter().map(|s| s.state_type.as_str()))),
            Arc::new(BinaryArray::from_iter_values(states.iter().map(|s| s.data.as_ref()))),
            Arc::new(StringArray::from_iter_values(states.iter().map(|s| metadata_json(&s.metadata)))),
            Arc::new(UInt32Array::from_iter_values(states.iter().map(|s| s.checksum))),
            Arc::new(StringArray::from_iter(states.iter().map(|s| s.key.as_deref()))),
        ],
    )
}

pub fn scored_memories_schema(dimension: usize) -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("memory_id", DataType::UInt64, false),
        Field::new("agent_id", DataType::UInt64, false),
        Field::new("memory_type", DataType::Utf8, false),
        Field::new("content", DataType::Utf8, false),
        Field::new("importance", DataType::Float32, false),
        Field::new("access_count", DataType::UInt64, false),
        Field::new("last_access_ms", DataType::Int64, false),
        Field::new("created_at_ms", DataType::Int64, false),
        Field::new("expires_at_ms", DataType::Int64, true),
        Field::new("metadata", DataType::Utf8, false),
        Field::new("score", DataType::Float32, false),
        Field::new("relevance", DataType::Float32, false),
        Field::new("recency", DataType::Float32, false),
        vector_field("embedding", dimension),
    ]))
}

/// Retrieval results, best first. `dimension` is the database's memory dimension.
pub fn scored_memories_batch(hits: &[ScoredMemory], dimension: usize) -> Result<RecordBatch> {
    let m = |f: fn(&ScoredMemory) -> u64| UInt64Array::from_iter_values(hits.iter().map(f));
    batch(
        scored_memories_schema(dimension),
        vec![
            Arc::new(m(|h| h.memory.memory_id)),
            Arc::new(m(|h| h.memory.agent_id)),
            Arc::new(StringArray::from_iter_values(hits.iter().map(|h| h.memory.memory_type.as_str()))),
            Arc::new(StringArray::from_iter_values(hits.iter().map(|h| h.memory.content.as_str()))),
            Arc::new(Float32Array::from_iter_values(hits.iter().map(|h| h.memory.importance))),
            Arc::new(m(|h| h.memory.access_count)),
            Arc::new(Int64Array::from_iter_values(hits.iter().map(|h| h.memory.last_access_ms))),
            Arc::new(Int64Array::from_iter_values(hits.iter().map(|h| h.memory.created_at_ms))),
            Arc::new(Int64Array::from_iter(hits.iter().map(|h| h.memory.expires_at_ms))),
            Arc::new(StringArray::from_iter_values(hits.iter().map(|h| metadata_json(&h.memory.metadata)))),
            Arc::new(Float32Array::from_iter_values(hits.iter().map(|h| h.score))),
            Arc::new(Float32Array::from_iter_values(hits.iter().map(|h| h.relevance))),
            Arc::new(Float32Array::from_iter_values(hits.iter().map(|h| h.recency))),
            Arc::new(vector_array(hits.iter().map(|h| h.memory.embedding.as_slice()), dimension)?),
        ],
    )
}

pub fn chunk_hits_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("chunk_id", DataType::Utf8, false),
        Field::new("doc_id", DataType::Utf8, false),
        Field::new("position", DataType::UInt32, false),
        Field::new("start_char", DataType::UInt64, false),
        Field::new("end_char", DataType::UInt64, false),
        Field::new("content", DataType::Utf8, false),
        Field::new("score", DataType::Float32, false),
    ]))
}

/// Document search results, best first.
pub fn chunk_hits_batch(hits: &[ChunkHit]) -> Result<RecordBatch> {
    batch(
        chunk_hits_schema(),
        vec![
            Arc::new(StringArray::from_iter_values(hits.iter().map(|h| h.chunk_id.as_str()))),
            Arc::new(StringArray::from_iter_values(hits.iter().map(|h| h.doc_id.as_str()))),
            Arc::new(UInt32Array::from_iter_values(hits.iter().map(|h| h.position))),
            Arc::new(UInt64Array::from_iter_values(hits.iter().map(|h| h.start_char))),
            Arc::new(UInt64Array::from_iter_values(hits.iter().map(|h| h.end_char))),
            Arc::new(StringArray::from_iter_values(hits.iter().map(|h| h.content.as_str()))),
            Arc::new(Float32Array::from_iter_values(hits.iter().map(|h| h.score))),
        ],
    )
}

pub fn vector_hits_schema(dimension: usize) -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Utf8, false),
        Field::new("distance", DataType::Float32, false),
        Field::new("metadata", DataType::Utf8, false),
        vector_field("vector", dimension),
    ]))
}

/// Vector search results, nearest first. `dimension` is the collection's.
pub fn vector_hits_batch(hits: &[VectorHit], dimension: usize) -> Result<RecordBatch> {
    batch(
        vector_hits_schema(dimension),
        vec![
            Arc::new(StringArray::from_iter_values(hits.iter().map(|h| h.id.as_str()))),
            Arc::new(Float32Array::from_iter_values(hits.iter().map(|h| h.distance))),
            Arc::new(StringArray::from_iter_values(hits.iter().map(|h| metadata_json(&h.metadata)))),
            Arc::new(vector_array(hits.iter().map(|h| h.vector.as_slice()), dimension)?),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vector_hits_round_trip_through_columns() {
        let hits = vec![
            VectorHit {
                id: "a".into(),
                distance: 0.5,
                metadata: BTreeMap::from([("k".into(), "v".into())]),
                vector: vec![1.0, 2.0],
            },
            VectorHit { id: "b".into(), distance: 1.5, metadata: BTreeMap::new(), vector: vec![3.0, 4.0] },
        ];
        let b = vector_hits_batch(&hits, 2).expect("batch");
        assert_eq!(b.num_rows(), 2);
        let meta = b.column(2).as_any().downcast_ref::<StringArray>().expect("utf8");
        assert_eq!(meta.value(0), r#"{"k":"v"}"#);
        assert_eq!(meta.value(1), "{}");
        let empty = vector_hits_batch(&[], 3).expect("empty batch");
        assert_eq!(empty.num_rows(), 0);
    }
}
