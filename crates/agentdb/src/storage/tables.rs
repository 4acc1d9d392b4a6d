//! LanceDB table access shared by every subsystem: the `Stored` row
//! wrapper, typed filters, the query helper, vector columns. Each subsystem
//! owns its own schemas and row conversion (`*/table.rs`).
//!
//! Every row carries the `lsn` of the WAL record that produced it. That makes
//! every flush idempotent: a partial flush is undone with `lsn > checkpoint`,
//! and a replayed delete (`agent_id = A AND lsn < L`) cannot touch rows
//! written after it.
//!
//! Filters are DataFusion expressions built from typed values (`col(..).eq(lit(..))`),
//! never SQL text assembled from user input.

use std::sync::Arc;

use arrow_array::{Array, FixedSizeListArray, Float32Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use futures::TryStreamExt;
use lancedb::expr::{col, lit, DfExpr};
use lancedb::query::{ExecutableQuery, QueryBase, Select};
use lancedb::Table;

use crate::{Error, Result};

/// Rows per Arrow batch handed to Lance in one flush.
pub const FLUSH_BATCH_ROWS: usize = 8192;

/// A `FixedSizeList<f32, dimension>` column: how every vector is stored.
pub fn vector_field(name: &str, dimension: usize) -> Field {
    Field::new(
        name,
        DataType::FixedSizeList(Arc::new(Field::new("item", DataType::Float32, true)), dimension as i32),
        false,
    )
}

/// Packs equal-length vectors into a `FixedSizeListArray`.
pub fn vector_array<'a>(vectors: impl Iterator<Item = &'a [f32]>, dimension: usize) -> Result<FixedSizeListArray> {
    let values = Float32Array::from_iter_values(vectors.flat_map(|v| {
        debug_assert_eq!(v.len(), dimension);
        v.iter().copied()
    }));
    Ok(FixedSizeListArray::try_new(
        Arc::new(Field::new("item", DataType::Float32, true)),
        dimension as i32,
        Arc::new(values),
        None,
    )?)
}

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

/// A row as stored: the record and the LSN that wrote it.
#[derive(Debug, Clone)]
pub struct Stored<T> {
    pub lsn: u64,
    pub value: T,
}

/// A column that may be absent (projected away, or not yet migrated); present but mistyped is corruption.
pub(crate) fn optional_column<'a, T: 'static>(batch: &'a RecordBatch, name: &str) -> Result<Option<&'a T>> {
    match batch.column_by_name(name) {
        None => Ok(None),
        Some(c) => c
            .as_any()
            .downcast_ref::<T>()
            .map(Some)
            .ok_or_else(|| Error::corrupted(format!("column {name} has the wrong type"))),
    }
}

pub(crate) fn column<'a, T: 'static>(batch: &'a RecordBatch, name: &str) -> Result<&'a T> {
    batch
        .column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<T>())
        .ok_or_else(|| Error::corrupted(format!("column {name} missing or of the wrong type")))
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
    pub fn u64_ge(column: &str, value: u64) -> DfExpr {
        col(column).gt_eq(lit(value))
    }
    pub fn u64_lt(column: &str, value: u64) -> DfExpr {
        col(column).lt(lit(value))
    }
    /// String equality through a literal value: no quoting, no escaping, no injection.
    /// `lo <= column < hi` on a string column (byte order).
    pub fn str_range(column: &str, lo: &str, hi: &str) -> DfExpr {
        col(column).gt_eq(lit(lo.to_string())).and(col(column).lt(lit(hi.to_string())))
    }
    pub fn str_eq(column: &str, value: &str) -> DfExpr {
        col(column).eq(lit(value.to_string()))
    }
    pub fn u64_in(column: &str, values: &[u64]) -> DfExpr {
        lancedb::expr::is_in(col(column), values.iter().map(|v| lit(*v)).collect())
    }
    pub fn u64_not_in(column: &str, values: &[u64]) -> DfExpr {
        col(column).in_list(values.iter().map(|v| lit(*v)).collect(), true)
    }
    pub fn str_not_in(column: &str, values: &[&str]) -> DfExpr {
        col(column).in_list(values.iter().map(|v| lit(v.to_string())).collect(), true)
    }
    /// A prefilter for "the metadata map in `column` has `key` = `value`",
    /// where `column` holds `serde_json` text of a `BTreeMap<String, String>`
    /// (how every metadata column is written): the serialised pair
    /// `"key":"value"` occurs in the text. It holds for every row with the
    /// entry, and for a few rows without it (a key that ends in an escaped
    /// quote followed by `key`, or a value that spells `":"…`), so it only
    /// narrows the search: callers confirm each row on its decoded map and
    /// fetch more when a false match took a place. The pair travels as one
    /// literal value (DataFusion's `contains`), never as SQL text.
    pub fn metadata_entry_candidates(column: &str, key: &str, value: &str) -> DfExpr {
        let quoted = |s: &str| serde_json::Value::String(s.to_string()).to_string();
        lancedb::expr::contains(col(column), lit(format!("{}:{}", quoted(key), quoted(value))))
    }
    /// `metadata_entry_candidates` for every entry (None: no entries).
    pub fn metadata_candidates(column: &str, entries: &std::collections::BTreeMap<String, String>) -> Option<DfExpr> {
        and_all(entries.iter().map(|(k, v)| metadata_entry_candidates(column, k, v)).collect())
    }
    pub fn str_in(column: &str, values: &[&str]) -> DfExpr {
        lancedb::expr::is_in(col(column), values.iter().map(|v| lit(v.to_string())).collect())
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
    use std::collections::BTreeMap;

    /// The serialised pair the metadata prefilter looks for.
    fn needle(key: &str, value: &str) -> String {
        let q = |s: &str| serde_json::Value::String(s.to_string()).to_string();
        format!("{}:{}", q(key), q(value))
    }

    #[test]
    fn every_row_with_the_entry_passes_the_metadata_prefilter() {
        let awkward = ["", "a", "x\"y", "back\\slash", "colon\":\"", "{}", "日本", "tab\t", ",", "%_"];
        for k in awkward {
            for v in awkward {
                for other in awkward {
                    let mut m = BTreeMap::new();
                    m.insert(other.to_string(), "o".to_string());
                    m.insert(format!("{other}z"), other.to_string());
                    m.insert(k.to_string(), v.to_string());
                    let text = serde_json::to_string(&m).unwrap();
                    assert!(text.contains(&needle(k, v)), "{text} lacks {k:?}={v:?}");
                }
            }
        }
    }

    #[test]
    fn the_metadata_prefilter_is_a_superset_the_caller_must_confirm() {
        // A key ending in an escaped quote followed by the filter's key.
        let m = BTreeMap::from([("x\"k".to_string(), "v".to_string())]);
        assert!(serde_json::to_string(&m).unwrap().contains(&needle("k", "v")));
        assert!(!m.contains_key("k"));
    }
}
