//! The memory subsystem's Lance table, `memories`: its schema, row ↔ Arrow
//! conversion, and the visibility predicate (pinned, or not expired).

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::{
    Array, ArrayRef, BooleanArray, FixedSizeListArray, Float32Array, Int64Array, RecordBatch, StringArray, UInt64Array,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use lancedb::expr::{col, lit, DfExpr};

use super::{Memory, MemoryType};
use crate::storage::tables::{column, optional_column, vector_array, vector_field, Stored};
use crate::{Error, Result};

pub const MEMORIES_TABLE: &str = "memories";

pub fn memories_schema(dimension: usize) -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("lsn", DataType::UInt64, false),
        Field::new("memory_id", DataType::UInt64, false),
        Field::new("agent_id", DataType::UInt64, false),
        Field::new("memory_type", DataType::Utf8, false),
        Field::new("content", DataType::Utf8, false),
        vector_field("embedding", dimension),
        Field::new("importance", DataType::Float32, false),
        Field::new("access_count", DataType::UInt64, false),
        Field::new("last_access_ms", DataType::Int64, false),
        Field::new("created_at_ms", DataType::Int64, false),
        Field::new("expires_at_ms", DataType::Int64, true),
        Field::new("metadata", DataType::Utf8, false),
        // Issue 7 (memory lifecycle). Last, so a table migrated with
        // `add_columns` has the same column order as a new one.
        Field::new("pinned", DataType::Boolean, false),
        Field::new("content_hash", DataType::UInt64, false),
    ]))
}

/// Columns of `memories` added after its first release, with the
/// migration (`memories::migrate_table`) that fills them in old tables.
pub const MEMORY_LIFECYCLE_COLUMNS: [&str; 2] = ["pinned", "content_hash"];

pub fn memories_to_batch(rows: &[&Stored<Memory>], dimension: usize) -> Result<RecordBatch> {
    let metadata: Vec<String> = rows
        .iter()
        .map(|r| serde_json::to_string(&r.value.metadata).map_err(|e| Error::invalid(e.to_string())))
        .collect::<Result<_>>()?;
    let embedding = vector_array(rows.iter().map(|r| r.value.embedding.as_slice()), dimension)?;
    let columns: Vec<ArrayRef> = vec![
        Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.lsn))),
        Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.value.memory_id))),
        Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.value.agent_id))),
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.value.memory_type.as_str()))),
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.value.content.as_str()))),
        Arc::new(embedding),
        Arc::new(Float32Array::from_iter_values(rows.iter().map(|r| r.value.importance))),
        Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.value.access_count))),
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.value.last_access_ms))),
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.value.created_at_ms))),
        Arc::new(Int64Array::from(rows.iter().map(|r| r.value.expires_at_ms).collect::<Vec<_>>())),
        Arc::new(StringArray::from_iter_values(metadata.iter())),
        Arc::new(BooleanArray::from(rows.iter().map(|r| r.value.pinned).collect::<Vec<_>>())),
        Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| crate::memories::content_hash(&r.value.content)))),
    ];
    Ok(RecordBatch::try_new(memories_schema(dimension), columns)?)
}

/// Decodes memory rows; also returns `_distance` when the batch came from a vector search.
///
/// Tolerates projections without `content` or `embedding` (they decode as
/// empty) and tables not yet migrated to the lifecycle columns (`pinned`
/// decodes as false): a read-only open of an old database never migrates.
pub fn memories_from_batch(batch: &RecordBatch) -> Result<Vec<(Stored<Memory>, Option<f32>)>> {
    let lsn = column::<UInt64Array>(batch, "lsn")?;
    let id = column::<UInt64Array>(batch, "memory_id")?;
    let agent = column::<UInt64Array>(batch, "agent_id")?;
    let mtype = column::<StringArray>(batch, "memory_type")?;
    let content = optional_column::<StringArray>(batch, "content")?;
    let emb = optional_column::<FixedSizeListArray>(batch, "embedding")?;
    let emb_values = match emb {
        Some(e) => Some(
            e.values()
                .as_any()
                .downcast_ref::<Float32Array>()
                .ok_or_else(|| Error::corrupted("embedding values are not f32"))?,
        ),
        None => None,
    };
    let dim = emb.map_or(0, |e| e.value_length() as usize);
    let pinned = optional_column::<BooleanArray>(batch, "pinned")?;
    let importance = column::<Float32Array>(batch, "importance")?;
    let access = column::<UInt64Array>(batch, "access_count")?;
    let last = column::<Int64Array>(batch, "last_access_ms")?;
    let created = column::<Int64Array>(batch, "created_at_ms")?;
    let expires = column::<Int64Array>(batch, "expires_at_ms")?;
    let meta = column::<StringArray>(batch, "metadata")?;
    let distance = batch.column_by_name("_distance").and_then(|c| c.as_any().downcast_ref::<Float32Array>());
    (0..batch.num_rows())
        .map(|i| {
            let metadata: BTreeMap<String, String> = serde_json::from_str(meta.value(i))
                .map_err(|e| Error::corrupted(format!("memory metadata is not a JSON object: {e}")))?;
            let memory_type: MemoryType = mtype
                .value(i)
                .parse()
                .map_err(|_| Error::corrupted(format!("unknown memory type {:?}", mtype.value(i))))?;
            let embedding = match (emb, emb_values) {
                (Some(e), Some(values)) => {
                    let start = e.value_offset(i) as usize;
                    values.values()[start..start + dim].to_vec()
                }
                _ => Vec::new(),
            };
            Ok((
                Stored {
                    lsn: lsn.value(i),
                    value: Memory {
                        memory_id: id.value(i),
                        agent_id: agent.value(i),
                        memory_type,
                        content: content.map(|c| c.value(i).to_string()).unwrap_or_default(),
                        embedding,
                        importance: importance.value(i),
                        access_count: access.value(i),
                        last_access_ms: last.value(i),
                        created_at_ms: created.value(i),
                        expires_at_ms: (!expires.is_null(i)).then(|| expires.value(i)),
                        metadata,
                        pinned: pinned.is_some_and(|p| p.is_valid(i) && p.value(i)),
                    },
                },
                distance.map(|d| d.value(i)),
            ))
        })
        .collect()
}

/// Not expired at `now_ms`: no expiry, or expiry in the future.
pub fn not_expired(now_ms: i64) -> DfExpr {
    col("expires_at_ms").is_null().or(col("expires_at_ms").gt(lit(now_ms)))
}
/// A memory row visible at `now_ms`: pinned (pinned memories never
/// expire) or not expired. `has_pinned` is false only for a table not yet
/// migrated (read-only open of an old database), where nothing is pinned.
pub fn memory_visible(now_ms: i64, has_pinned: bool) -> DfExpr {
    if has_pinned {
        col("pinned").eq(lit(true)).or(not_expired(now_ms))
    } else {
        not_expired(now_ms)
    }
}
