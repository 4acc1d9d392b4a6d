//! The vector subsystem's WAL records: kinds, and the frozen body layout of
//! every version ever written (see `storage::record` for the rule).
//! Version 1 is byte-for-byte the postcard `WalEntry` variant of the first
//! releases.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::VectorRecord;
use crate::storage::memtable::LogRecord;
use crate::storage::record::{self, RecordKind};
use crate::Result;

/// This subsystem's block of record kinds (see `storage::record::RecordKind`).
pub const BLOCK: u8 = 0x30;

pub const UPSERT_VECTORS: RecordKind = RecordKind(BLOCK);
pub const DELETE_VECTORS: RecordKind = RecordKind(BLOCK + 1);

/// A vector subsystem write, as logged.
#[derive(Debug, Clone, PartialEq)]
pub enum VectorLogRecord {
    /// Inserts or replaces vectors of a collection, whole.
    Upsert {
        collection: String,
        rows: Vec<VectorRecord>,
    },
    Delete {
        collection: String,
        ids: Vec<String>,
    },
}

// Borrowed when encoding (no copy of the vectors), owned when decoding.
#[derive(Serialize, Deserialize)]
struct RowV1<'a> {
    id: Cow<'a, str>,
    vector: Cow<'a, [f32]>,
    metadata: Cow<'a, BTreeMap<String, String>>,
}

#[derive(Serialize, Deserialize)]
struct UpsertV1<'a> {
    collection: Cow<'a, str>,
    rows: Vec<RowV1<'a>>,
}

#[derive(Serialize, Deserialize)]
struct DeleteV1 {
    collection: String,
    ids: Vec<String>,
}

impl LogRecord for VectorLogRecord {
    const BLOCK: u8 = BLOCK;
    /// The first releases' postcard `WalEntry` variants that are these kinds.
    const LEGACY_VARIANTS: &'static [(u8, RecordKind, u8)] = &[(6, UPSERT_VECTORS, 1), (7, DELETE_VECTORS, 1)];

    fn encode(&self) -> Result<Vec<u8>> {
        match self {
            VectorLogRecord::Upsert { collection, rows } => record::encode(
                UPSERT_VECTORS,
                1,
                &UpsertV1 {
                    collection: Cow::Borrowed(collection),
                    rows: rows
                        .iter()
                        .map(|r| RowV1 {
                            id: Cow::Borrowed(&r.id),
                            vector: Cow::Borrowed(&r.vector),
                            metadata: Cow::Borrowed(&r.metadata),
                        })
                        .collect(),
                },
            ),
            VectorLogRecord::Delete { collection, ids } => {
                record::encode(DELETE_VECTORS, 1, &DeleteV1 { collection: collection.clone(), ids: ids.clone() })
            }
        }
    }

    fn decode(kind: RecordKind, version: u8, body: &[u8]) -> Result<VectorLogRecord> {
        Ok(match (kind, version) {
            (UPSERT_VECTORS, 1) => {
                let u: UpsertV1 = record::decode_body(kind, version, body)?;
                VectorLogRecord::Upsert {
                    collection: u.collection.into_owned(),
                    rows: u
                        .rows
                        .into_iter()
                        .map(|r| VectorRecord {
                            id: r.id.into_owned(),
                            vector: r.vector.into_owned(),
                            metadata: r.metadata.into_owned(),
                        })
                        .collect(),
                }
            }
            (DELETE_VECTORS, 1) => {
                let d: DeleteV1 = record::decode_body(kind, version, body)?;
                VectorLogRecord::Delete { collection: d.collection, ids: d.ids }
            }
            _ => return Err(record::unknown(kind, version)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Golden bytes: if one of these changes, existing logs no longer decode.
    /// Add a new version instead.
    #[test]
    fn golden_bytes_of_every_vector_record_kind_and_version() {
        let cases: Vec<(VectorLogRecord, Vec<u8>)> = vec![
            (
                VectorLogRecord::Upsert {
                    collection: "c".into(),
                    rows: vec![VectorRecord {
                        id: "a".into(),
                        vector: vec![1.0],
                        metadata: BTreeMap::from([("k".to_string(), "v".to_string())]),
                    }],
                },
                vec![0x30, 1, 1, b'c', 1, 1, b'a', 1, 0, 0, 128, 63, 1, 1, b'k', 1, b'v'],
            ),
            (
                VectorLogRecord::Delete { collection: "c".into(), ids: vec!["a".into(), "b".into()] },
                vec![0x31, 1, 1, b'c', 2, 1, b'a', 1, b'b'],
            ),
        ];
        for (rec, golden) in cases {
            let bytes = rec.encode().unwrap();
            assert_eq!(bytes, golden, "{rec:?}");
            let (kind, version, body) = record::split(&bytes).unwrap();
            assert_eq!(VectorLogRecord::decode(kind, version, body).unwrap(), rec);
        }
    }
}
