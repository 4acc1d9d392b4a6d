//! The state subsystem's Lance tables: `states` (one row per version) and
//! `snapshots`, their schemas and row ↔ Arrow conversion.
//!
//! Keyed access is served by two composite columns, each with a B-tree:
//! `version_key` (agent, session, version as fixed-width hex, so byte order is
//! numeric order) makes a history page one index range read, and
//! `state_key` (agent, session, then the caller's key) makes a load by key
//! one index point read. Lance's scalar indexes are per column, so
//! `agent_id = a AND version < v` would intersect an agent's whole row set
//! with every agent's versions; one composite column is one lookup.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, Int64Array, LargeBinaryArray, RecordBatch, StringArray, UInt32Array, UInt64Array};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use bytes::Bytes;

use super::{AgentState, Snapshot, StateType};
use crate::storage::tables::{column, optional_column, Stored};
use crate::{Error, Result};

pub const STATES_TABLE: &str = "states";
pub const SNAPSHOTS_TABLE: &str = "snapshots";

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
        // Added by `migrate_states_table` to tables of earlier releases.
        Field::new("key", DataType::Utf8, true),
        Field::new("state_key", DataType::Utf8, true),
        Field::new("version_key", DataType::Utf8, false),
    ]))
}

/// The columns a state is decoded from: everything but the derived index
/// columns (`state_key`, `version_key`), which reads never need.
pub const STATE_COLUMNS: [&str; 10] =
    ["lsn", "agent_id", "session_id", "version", "timestamp_ms", "state_type", "data", "metadata", "checksum", "key"];

/// The columns a state is decoded from in a table not yet migrated.
pub const STATE_COLUMNS_UNMIGRATED: [&str; 9] =
    ["lsn", "agent_id", "session_id", "version", "timestamp_ms", "state_type", "data", "metadata", "checksum"];

/// The columns keyed access added to `states` (the migration adds them).
pub const KEYED_COLUMNS: [&str; 3] = ["key", "state_key", "version_key"];

/// `version_key` of a row: sorts as (agent, session, version).
pub fn version_key(agent_id: u64, session_id: u64, version: u64) -> String {
    format!("{agent_id:016x}{session_id:016x}{version:016x}")
}

/// `state_key` of a row with a caller key.
pub fn state_key(agent_id: u64, session_id: u64, key: &str) -> String {
    format!("{agent_id:016x}{session_id:016x}{key}")
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

/// Brings a `states` table of an earlier release up to the current schema
/// in one Lance commit: `key` and `state_key` null (no earlier release had
/// keys) and `version_key` computed from each row (a Lance batch UDF reads
/// only the three id columns, fragment by fragment). Returns whether it
/// changed anything; a crash before the commit leaves the old table, and the
/// next open retries.
pub async fn migrate_states_table(conn: &lancedb::Connection) -> Result<bool> {
    let names = conn.table_names().execute().await?;
    if !names.iter().any(|n| n == STATES_TABLE) {
        return Ok(false);
    }
    let table = conn.open_table(STATES_TABLE).execute().await?;
    let schema = table.schema().await?;
    let missing: Vec<&str> = KEYED_COLUMNS.iter().copied().filter(|c| schema.field_with_name(c).is_err()).collect();
    if missing.is_empty() {
        return Ok(false);
    }
    if missing.len() != KEYED_COLUMNS.len() {
        // All three are added by one commit, so this is not our doing.
        return Err(Error::corrupted(format!("states table lacks only {missing:?} of the keyed-access columns")));
    }
    let full = states_schema();
    let output_schema = Arc::new(Schema::new(
        KEYED_COLUMNS.iter().map(|c| full.field_with_name(c).cloned()).collect::<std::result::Result<Vec<_>, _>>()?,
    ));
    let out_schema = output_schema.clone();
    let mapper = move |batch: &RecordBatch| -> lance::Result<RecordBatch> {
        let ids = |name: &str| {
            batch
                .column_by_name(name)
                .and_then(|c| c.as_any().downcast_ref::<UInt64Array>())
                .ok_or_else(|| lance::Error::invalid_input(format!("states.{name} missing or not u64")))
        };
        let (agent, session, version) = (ids("agent_id")?, ids("session_id")?, ids("version")?);
        let n = batch.num_rows();
        let nulls = StringArray::from_iter(std::iter::repeat_n(None::<&str>, n));
        let version_keys = StringArray::from_iter_values(
            (0..n).map(|i| version_key(agent.value(i), session.value(i), version.value(i))),
        );
        Ok(RecordBatch::try_new(
            out_schema.clone(),
            vec![Arc::new(nulls.clone()), Arc::new(nulls), Arc::new(version_keys)],
        )?)
    };
    let udf = lance::dataset::BatchUDF { mapper: Box::new(mapper), output_schema, result_checkpoint: None };
    table
        .add_columns()
        .transform(lancedb::table::NewColumnTransform::BatchUDF(udf))
        .read_columns(["agent_id", "session_id", "version"])
        .execute()
        .await?;
    tracing::info!("migrated the states table: added key, state_key and version_key");
    Ok(true)
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
        Arc::new(StringArray::from_iter(rows.iter().map(|r| r.value.key.as_deref()))),
        Arc::new(StringArray::from_iter(rows.iter().map(|r| {
            let s = &r.value;
            s.key.as_deref().map(|k| state_key(s.agent_id, s.session_id, k))
        }))),
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|r| version_key(r.value.agent_id, r.value.session_id, r.value.version)),
        )),
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
    // Absent in a table not yet migrated (a read-only open of an old database).
    let key = optional_column::<StringArray>(batch, "key")?;
    (0..batch.num_rows())
        .map(|i| {
            let metadata: BTreeMap<String, String> = serde_json::from_str(meta.value(i))
                .map_err(|e| Error::corrupted(format!("state metadata is not a JSON object: {e}")))?;
            let state_type: StateType = stype
                .value(i)
                .parse()
                .map_err(|_| Error::corrupted(format!("unknown state type {:?}", stype.value(i))))?;
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
                    key: key.filter(|k| k.is_valid(i)).map(|k| k.value(i).to_string()),
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
                key: Some("ck'1".into()),
            },
        };
        let batch = states_to_batch(&[&s]).unwrap();
        let back = states_from_batch(&batch).unwrap();
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].lsn, 9);
        assert_eq!(back[0].value, s.value);
        let unkeyed = Stored { lsn: 10, value: AgentState { key: None, ..s.value.clone() } };
        let back = states_from_batch(&states_to_batch(&[&unkeyed]).unwrap()).unwrap();
        assert_eq!(back[0].value.key, None);
    }

    #[test]
    fn composite_keys_sort_as_their_numbers() {
        assert!(version_key(1, 2, 9) < version_key(1, 2, 10));
        assert!(version_key(1, 2, u64::MAX) < version_key(1, 3, 0));
        assert!(version_key(1, u64::MAX, u64::MAX) < version_key(2, 0, 0));
        assert_eq!(version_key(1, 2, 3).len(), 48);
        assert!(state_key(1, 2, "ab").starts_with(&version_key(1, 2, 0)[..32]));
    }
}
