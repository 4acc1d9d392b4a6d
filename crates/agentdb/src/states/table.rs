//! The state subsystem's Lance tables: `states` (one row per version) and
//! `snapshots`, their schemas and row ↔ Arrow conversion.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array, LargeBinaryArray, RecordBatch, StringArray, UInt32Array, UInt64Array};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use bytes::Bytes;

use super::{AgentState, Snapshot, StateType};
use crate::storage::tables::{column, Stored};
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
            },
        };
        let batch = states_to_batch(&[&s]).unwrap();
        let back = states_from_batch(&batch).unwrap();
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].lsn, 9);
        assert_eq!(back[0].value, s.value);
    }
}
