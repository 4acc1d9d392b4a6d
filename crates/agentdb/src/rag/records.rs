//! The RAG subsystem's WAL records: kinds, and the frozen body layout of
//! every version ever written (see `storage::record` for the rule).
//! Version 1 is byte-for-byte the postcard `WalEntry` variant of the first
//! releases.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::chunking::Chunk;
use super::{DocumentInfo, IndexedDocument};
use crate::storage::memtable::LogRecord;
use crate::storage::record::{self, RecordKind};
use crate::Result;

/// This subsystem's block of record kinds (see `storage::record::RecordKind`).
pub const BLOCK: u8 = 0x40;

pub const INDEX_DOCUMENT: RecordKind = RecordKind(BLOCK);
pub const DELETE_DOCUMENT: RecordKind = RecordKind(BLOCK + 1);

/// A RAG subsystem write, as logged.
#[derive(Debug, Clone, PartialEq)]
pub enum RagRecord {
    /// A whole document with its chunks and vectors (replaces any earlier version).
    Index(IndexedDocument),
    Delete {
        doc_id: String,
    },
}

#[derive(Serialize, Deserialize)]
struct InfoV1 {
    doc_id: String,
    title: String,
    metadata: BTreeMap<String, String>,
    chunk_count: u32,
    char_count: u64,
    indexed_at_ms: i64,
}

#[derive(Serialize, Deserialize)]
struct ChunkV1 {
    position: u32,
    start_char: u64,
    end_char: u64,
    text: String,
}

#[derive(Serialize, Deserialize)]
struct IndexV1 {
    info: InfoV1,
    chunks: Vec<(ChunkV1, Vec<f32>)>,
}

#[derive(Serialize, Deserialize)]
struct DeleteV1 {
    doc_id: String,
}

impl LogRecord for RagRecord {
    const BLOCK: u8 = BLOCK;
    /// The first releases' postcard `WalEntry` variants that are these kinds.
    const LEGACY_VARIANTS: &'static [(u8, RecordKind, u8)] = &[(8, INDEX_DOCUMENT, 1), (9, DELETE_DOCUMENT, 1)];

    fn encode(&self) -> Result<Vec<u8>> {
        match self {
            RagRecord::Index(d) => {
                let i = &d.info;
                let body = IndexV1 {
                    info: InfoV1 {
                        doc_id: i.doc_id.clone(),
                        title: i.title.clone(),
                        metadata: i.metadata.clone(),
                        chunk_count: i.chunk_count,
                        char_count: i.char_count,
                        indexed_at_ms: i.indexed_at_ms,
                    },
                    chunks: d
                        .chunks
                        .iter()
                        .map(|(c, v)| {
                            (
                                ChunkV1 {
                                    position: c.position,
                                    start_char: c.start_char,
                                    end_char: c.end_char,
                                    text: c.text.clone(),
                                },
                                v.clone(),
                            )
                        })
                        .collect(),
                };
                record::encode(INDEX_DOCUMENT, 1, &body)
            }
            RagRecord::Delete { doc_id } => record::encode(DELETE_DOCUMENT, 1, &DeleteV1 { doc_id: doc_id.clone() }),
        }
    }

    fn decode(kind: RecordKind, version: u8, body: &[u8]) -> Result<RagRecord> {
        Ok(match (kind, version) {
            (INDEX_DOCUMENT, 1) => {
                let d: IndexV1 = record::decode_body(kind, version, body)?;
                let i = d.info;
                RagRecord::Index(IndexedDocument {
                    info: DocumentInfo {
                        doc_id: i.doc_id,
                        title: i.title,
                        metadata: i.metadata,
                        chunk_count: i.chunk_count,
                        char_count: i.char_count,
                        indexed_at_ms: i.indexed_at_ms,
                    },
                    chunks: d
                        .chunks
                        .into_iter()
                        .map(|(c, v)| {
                            (
                                Chunk {
                                    position: c.position,
                                    start_char: c.start_char,
                                    end_char: c.end_char,
                                    text: c.text,
                                },
                                v,
                            )
                        })
                        .collect(),
                })
            }
            (DELETE_DOCUMENT, 1) => {
                let d: DeleteV1 = record::decode_body(kind, version, body)?;
                RagRecord::Delete { doc_id: d.doc_id }
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
    fn golden_bytes_of_every_rag_record_kind_and_version() {
        let doc = IndexedDocument {
            info: DocumentInfo {
                doc_id: "d".into(),
                title: "T".into(),
                metadata: BTreeMap::new(),
                chunk_count: 1,
                char_count: 2,
                indexed_at_ms: 3,
            },
            chunks: vec![(Chunk { position: 0, start_char: 0, end_char: 2, text: "hi".into() }, vec![1.0])],
        };
        let cases: Vec<(RagRecord, Vec<u8>)> = vec![
            (
                RagRecord::Index(doc),
                vec![0x40, 1, 1, b'd', 1, b'T', 0, 1, 2, 6, 1, 0, 0, 2, 2, b'h', b'i', 1, 0, 0, 128, 63],
            ),
            (RagRecord::Delete { doc_id: "d".into() }, vec![0x41, 1, 1, b'd']),
        ];
        for (rec, golden) in cases {
            let bytes = rec.encode().unwrap();
            assert_eq!(bytes, golden, "{rec:?}");
            let (kind, version, body) = record::split(&bytes).unwrap();
            assert_eq!(RagRecord::decode(kind, version, body).unwrap(), rec);
        }
    }
}
