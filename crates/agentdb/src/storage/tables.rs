//! LanceDB tables: schemas, row ↔ Arrow conversion, and query helpers.
//!
//! Every row carries the `lsn` of the WAL record that produced it. That makes
//! every flush idempotent: a partial flush is undone with `lsn > checkpoint`,
//! and a replayed delete (`agent_id = A AND lsn < L`) cannot touch rows
//! written after it.
//!
//! Filters are DataFusion expressions built from typed values (`col(..).eq(lit(..))`),
//! never SQL text assembled from user input.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::{
    Array, ArrayRef, BooleanArray, FixedSizeListArray, Float32Array, Int64Array, LargeBinaryArray, RecordBatch, StringArray,
    UInt32Array, UInt64Array,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use bytes::Bytes;
use futures::TryStreamExt;
use lancedb::expr::{col, lit, DfExpr};
use lancedb::query::{ExecutableQuery, QueryBase, Select};
use lancedb::Table;

use crate::memories::{Memory, MemoryType};
use crate::states::{AgentState, Snapshot, StateType};
use crate::{Error, Result};

pub const STATES_TABLE: &str = "states";
pub const SNAPSHOTS_TABLE: &str = "snapshots";
pub const MEMORIES_TABLE: &str = "memories";

pub fn states_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("lsn", DataType::UInt64, false),
        Field::new("agent_id", DataType::UInt64, false),
        Field::new("session_id", DataType::UInt64, false),
        Field::new("version", DataType::UInt64, false),
        Field::new("timestamp_ms", DataType::Int64, false),
        Field::new("state_type", DataType::Utf8, false),
        Field::new("data", DataType::LargeBinary, false),
        Field::new("metadata", DataType::Utf8, false),
        Field::new("checksum", DataType::UInt32, false),
    ]))
}

pub fn snapshots_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("lsn", DataType::UInt64, false),
        Field::new("agent_id", DataType::UInt64, false),
        Field::new("session_id", DataType::UInt64, false),
        Field::new("name", DataType::Utf8, false),
        Field::new("version", DataType::UInt64, false),
        Field::new("created_at_ms", DataType::Int64, false),
    ]))
}

/// A `FixedSizeList<f32, dimension>` column: how every vector is stored.
pub fn vector_field(name: &str, dimension: usize) -> Field {
    Field::new(name, DataType::FixedSizeList(Arc::new(Field::new("item", DataType::Float32, true)), dimension as i32), false)
}

/// Packs equal-length vectors into a `FixedSizeListArray`.
pub fn vector_array<'a>(vectors: impl Iterator<Item = &'a [f32]>, dimension: usize) -> Result<FixedSizeListArray> {
    let values = Float32Array::from_iter_values(vectors.flat_map(|v| {
        debug_assert_eq!(v.len(), dimension);
        v.iter().copied()
    }));
    Ok(FixedSizeListArray::try_new(Arc::new(Field::new("item", DataType::Float32, true)), dimension as i32, Arc::new(values), None)?)
}

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

/// The dimension of a table's `embedding` column.
pub fn embedding_dimension(schema: &Schema) -> Option<usize> {
    embedding_dimension_of(schema, "embedding")
}

pub fn embedding_dimension_of(schema: &Schema, column: &str) -> Option<usize> {
    match schema.field_with_name(column).ok()?.data_type() {
        DataType::FixedSizeList(_, d) => Some(*d as usize),
        _ => None,
    }
}

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
            e.values().as_any().downcast_ref::<Float32Array>().ok_or_else(|| Error::corrupted("embedding values are not f32"))?,
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

/// A row as stored: the record and the LSN that wrote it.
#[derive(Debug, Clone)]
pub struct Stored<T> {
    pub lsn: u64,
    pub value: T,
}

pub fn states_to_batch(rows: &[&Stored<AgentState>]) -> Result<RecordBatch> {
    let metadata: Vec<String> = rows
        .iter()
        .map(|r| serde_json::to_string(&r.value.metadata).map_err(|e| Error::invalid(e.to_string())))
        .collect::<Result<_>>()?;
    let columns: Vec<ArrayRef> = vec![
        Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.lsn))),
        Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.value.agent_id))),
        Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.value.session_id))),
        Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.value.version))),
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.value.timestamp_ms))),
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.value.state_type.as_str()))),
        Arc::new(LargeBinaryArray::from_iter_values(rows.iter().map(|r| &r.value.data[..]))),
        Arc::new(StringArray::from_iter_values(metadata.iter())),
        Arc::new(UInt32Array::from_iter_values(rows.iter().map(|r| r.value.checksum))),
    ];
    Ok(RecordBatch::try_new(states_schema(), columns)?)
}

pub fn snapshots_to_batch(rows: &[&Stored<Snapshot>]) -> Result<RecordBatch> {
    let columns: Vec<ArrayRef> = vec![
        Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.lsn))),
        Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.value.agent_id))),
        Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.value.session_id))),
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.value.name.as_str()))),
        Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.value.version))),
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.value.created_at_ms))),
    ];
    Ok(RecordBatch::try_new(snapshots_schema(), columns)?)
}

/// A column that may be absent (projected away, or not yet migrated); present but mistyped is corruption.
fn optional_column<'a, T: 'static>(batch: &'a RecordBatch, name: &str) -> Result<Option<&'a T>> {
    match batch.column_by_name(name) {
        None => Ok(None),
        Some(c) => c
            .as_any()
            .downcast_ref::<T>()
            .map(Some)
            .ok_or_else(|| Error::corrupted(format!("column {name} has the wrong type"))),
    }
}

fn column<'a, T: 'static>(batch: &'a RecordBatch, name: &str) -> Result<&'a T> {
    batch
        .column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<T>())
        .ok_or_else(|| Error::corrupted(format!("column {name} missing or of the wrong type")))
}

/// Decodes state rows. Checksums are verified by the caller at the point of use.
pub fn states_from_batch(batch: &RecordBatch) -> Result<Vec<Stored<AgentState>>> {
    let lsn = column::<UInt64Array>(batch, "lsn")?;
    let agent = column::<UInt64Array>(batch, "agent_id")?;
    let session = column::<UInt64Array>(batch, "session_id")?;
    let version = column::<UInt64Array>(batch, "version")?;
    let ts = column::<Int64Array>(batch, "timestamp_ms")?;
    let stype = column::<StringArray>(batch, "state_type")?;
    let data = column::<LargeBinaryArray>(batch, "data")?;
    let meta = column::<StringArray>(batch, "metadata")?;
    let checksum = column::<UInt32Array>(batch, "checksum")?;
    (0..batch.num_rows())
        .map(|i| {
            let metadata: BTreeMap<String, String> = serde_json::from_str(meta.value(i))
                .map_err(|e| Error::corrupted(format!("state metadata is not a JSON object: {e}")))?;
            let state_type: StateType =
                stype.value(i).parse().map_err(|_| Error::corrupted(format!("unknown state type {:?}", stype.value(i))))?;
            Ok(Stored {
                lsn: lsn.value(i),
                value: AgentState {
                    agent_id: agent.value(i),
                    session_id: session.value(i),
                    version: version.value(i),
                    timestamp_ms: ts.value(i),
                    state_type,
                    data: Bytes::copy_from_slice(data.value(i)),
                    metadata,
                    checksum: checksum.value(i),
                },
            })
        })
        .collect()
}

pub fn snapshots_from_batch(batch: &RecordBatch) -> Result<Vec<Stored<Snapshot>>> {
    let lsn = column::<UInt64Array>(batch, "lsn")?;
    let agent = column::<UInt64Array>(batch, "agent_id")?;
    let session = column::<UInt64Array>(batch, "session_id")?;
    let name = column::<StringArray>(batch, "name")?;
    let version = column::<UInt64Array>(batch, "version")?;
    let created = column::<Int64Array>(batch, "created_at_ms")?;
    Ok((0..batch.num_rows())
        .map(|i| Stored {
            lsn: lsn.value(i),
            value: Snapshot {
                agent_id: agent.value(i),
                session_id: session.value(i),
                name: name.value(i).to_string(),
                version: version.value(i),
                created_at_ms: created.value(i),
            },
        })
        .collect())
}

/// Typed predicate builders: the only way engine code forms Lance filters.
pub mod filter {
    use super::*;

    pub fn u64_eq(column: &str, value: u64) -> DfExpr {
        col(column).eq(lit(value))
    }
    pub fn i64_ge(column: &str, value: i64) -> DfExpr {
        col(column).gt_eq(lit(value))
    }
    pub fn i64_le(column: &str, value: i64) -> DfExpr {
        col(column).lt_eq(lit(value))
    }
    pub fn u64_gt(column: &str, value: u64) -> DfExpr {
        col(column).gt(lit(value))
    }
    pub fn u64_lt(column: &str, value: u64) -> DfExpr {
        col(column).lt(lit(value))
    }
    /// String equality through a literal value: no quoting, no escaping, no injection.
    pub fn str_eq(column: &str, value: &str) -> DfExpr {
        col(column).eq(lit(value.to_string()))
    }
    pub fn u64_in(column: &str, values: &[u64]) -> DfExpr {
        lancedb::expr::is_in(col(column), values.iter().map(|v| lit(*v)).collect())
    }
    pub fn str_in(column: &str, values: &[&str]) -> DfExpr {
        lancedb::expr::is_in(col(column), values.iter().map(|v| lit(v.to_string())).collect())
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
    pub fn bool_eq(column: &str, value: bool) -> DfExpr {
        col(column).eq(lit(value))
    }
    /// OR of many predicates as a balanced tree: a left-deep chain of
    /// thousands of ORs overflows the stack in DataFusion's recursive planner.
    pub fn any_of(mut parts: Vec<DfExpr>) -> Option<DfExpr> {
        while parts.len() > 1 {
            let mut next = Vec::with_capacity(parts.len().div_ceil(2));
            let mut it = parts.into_iter();
            while let Some(a) = it.next() {
                next.push(match it.next() {
                    Some(b) => a.or(b),
                    None => a,
                });
            }
            parts = next;
        }
        parts.pop()
    }
    pub fn and_all(parts: Vec<DfExpr>) -> Option<DfExpr> {
        parts.into_iter().reduce(|a, b| a.and(b))
    }
}

/// Runs a filtered, projected, ordered (descending) query and collects every batch.
pub async fn query(
    table: &Table,
    predicate: Option<DfExpr>,
    columns: Option<&[&str]>,
    order_desc_by: Option<&[&str]>,
    limit: Option<usize>,
) -> Result<Vec<RecordBatch>> {
    let mut q = table.query();
    if let Some(p) = predicate {
        q = q.only_if_expr(p);
    }
    if let Some(cols) = columns {
        q = q.select(Select::columns(cols));
    }
    if let Some(cols) = order_desc_by {
        q = q.order_by(Some(
            cols.iter().map(|c| lancedb::query::ColumnOrdering::desc_nulls_last(c.to_string())).collect(),
        ));
    }
    if let Some(n) = limit {
        q = q.limit(n);
    }
    Ok(q.execute().await?.try_collect::<Vec<_>>().await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_rows_roundtrip_through_arrow() {
        let data = Bytes::from_static(b"hello \x00 world");
        let s = Stored {
            lsn: 9,
            value: AgentState {
                agent_id: u64::MAX,
                session_id: 3,
                version: 2,
                timestamp_ms: -5,
                state_type: StateType::TaskState,
                checksum: crc32c::crc32c(&data),
                data,
                metadata: BTreeMap::from([("k'; DROP".to_string(), "v\"".to_string())]),
            },
        };
        let batch = states_to_batch(&[&s]).unwrap();
        let back = states_from_batch(&batch).unwrap();
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].lsn, 9);
        assert_eq!(back[0].value, s.value);
    }
}
