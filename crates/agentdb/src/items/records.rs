//! The item subsystem's WAL records: kinds, and the frozen body layout of
//! every version ever written (see `storage::record` for the rule).

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ItemRow;
use crate::storage::memtable::LogRecord;
use crate::storage::record::{self, RecordKind};
use crate::Result;

/// This subsystem's block of record kinds (see `storage::record::RecordKind`).
pub const BLOCK: u8 = 0x50;

/// One batch of item puts and deletes, applied in order, all or nothing.
pub const WRITE_ITEMS: RecordKind = RecordKind(BLOCK);

/// One operation of a logged batch. Puts carry the whole row as the engine
/// resolved it (created/updated/expiry times included), so replay needs no
/// clock and no read.
#[derive(Debug, Clone, PartialEq)]
pub enum ItemOp {
    Put(ItemRow),
    Delete { namespace: Vec<String>, key: String },
}

/// An item subsystem write, as logged.
#[derive(Debug, Clone, PartialEq)]
pub enum ItemLogRecord {
    Write(Vec<ItemOp>),
}

// Borrowed when encoding (no copy of the values), owned when decoding.
#[derive(Serialize, Deserialize)]
struct RowV1<'a> {
    namespace: Cow<'a, [String]>,
    key: Cow<'a, str>,
    /// The value as JSON text.
    value: Cow<'a, str>,
    metadata: Cow<'a, BTreeMap<String, String>>,
    created_at_ms: i64,
    updated_at_ms: i64,
    expires_at_ms: Option<i64>,
    ttl_ms: Option<u64>,
}

#[derive(Serialize, Deserialize)]
enum OpV1<'a> {
    Put(RowV1<'a>),
    Delete { namespace: Cow<'a, [String]>, key: Cow<'a, str> },
}

#[derive(Serialize, Deserialize)]
struct WriteV1<'a> {
    ops: Vec<OpV1<'a>>,
}

impl LogRecord for ItemLogRecord {
    const BLOCK: u8 = BLOCK;
    /// Items came after the first releases' postcard enum.
    const LEGACY_VARIANTS: &'static [(u8, RecordKind, u8)] = &[];

    fn encode(&self) -> Result<Vec<u8>> {
        let ItemLogRecord::Write(ops) = self;
        let ops = ops
            .iter()
            .map(|op| match op {
                ItemOp::Put(r) => OpV1::Put(RowV1 {
                    namespace: Cow::Borrowed(&r.namespace),
                    key: Cow::Borrowed(&r.key),
                    value: Cow::Borrowed(&r.value),
                    metadata: Cow::Borrowed(&r.metadata),
                    created_at_ms: r.created_at_ms,
                    updated_at_ms: r.updated_at_ms,
                    expires_at_ms: r.expires_at_ms,
                    ttl_ms: r.ttl_ms,
                }),
                ItemOp::Delete { namespace, key } => {
                    OpV1::Delete { namespace: Cow::Borrowed(namespace), key: Cow::Borrowed(key) }
                }
            })
            .collect();
        record::encode(WRITE_ITEMS, 1, &WriteV1 { ops })
    }

    fn decode(kind: RecordKind, version: u8, body: &[u8]) -> Result<ItemLogRecord> {
        Ok(match (kind, version) {
            (WRITE_ITEMS, 1) => {
                let w: WriteV1 = record::decode_body(kind, version, body)?;
                ItemLogRecord::Write(
                    w.ops
                        .into_iter()
                        .map(|op| match op {
                            OpV1::Put(r) => ItemOp::Put(ItemRow {
                                namespace: r.namespace.into_owned(),
                                key: r.key.into_owned(),
                                value: r.value.into_owned(),
                                metadata: r.metadata.into_owned(),
                                created_at_ms: r.created_at_ms,
                                updated_at_ms: r.updated_at_ms,
                                expires_at_ms: r.expires_at_ms,
                                ttl_ms: r.ttl_ms,
                            }),
                            OpV1::Delete { namespace, key } => {
                                ItemOp::Delete { namespace: namespace.into_owned(), key: key.into_owned() }
                            }
                        })
                        .collect(),
                )
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
    fn golden_bytes_of_every_item_record_kind_and_version() {
        let put = ItemOp::Put(ItemRow {
            namespace: vec!["u".into()],
            key: "k".into(),
            value: "1".into(),
            metadata: BTreeMap::from([("m".to_string(), "v".to_string())]),
            created_at_ms: 1,
            updated_at_ms: 2,
            expires_at_ms: Some(3),
            ttl_ms: None,
        });
        let delete = ItemOp::Delete { namespace: vec!["u".into(), "w".into()], key: "k".into() };
        let rec = ItemLogRecord::Write(vec![put, delete]);
        #[rustfmt::skip]
        let golden = vec![
            0x50, 1, // kind, version
            2, // ops
            0, 1, 1, b'u', 1, b'k', 1, b'1', 1, 1, b'm', 1, b'v', 2, 4, 1, 6, 0, // put: ns, key, value, metadata, zigzag times, expiry, no ttl
            1, 2, 1, b'u', 1, b'w', 1, b'k', // delete: ns, key
        ];
        let bytes = rec.encode().unwrap();
        assert_eq!(bytes, golden);
        let (kind, version, body) = record::split(&bytes).unwrap();
        assert_eq!(ItemLogRecord::decode(kind, version, body).unwrap(), rec);
    }
}
