//! The RAG subsystem's part of the memtable: documents indexed or deleted
//! since the last flush (a document is always written whole).

use std::collections::HashMap;
use std::sync::Arc;

use super::records::RagRecord;
use super::IndexedDocument;
use crate::storage::memtable::{drain_tombstones, MemPart, Usage};
use crate::storage::tables::Stored;

#[derive(Default)]
pub struct RagMem {
    pub documents: HashMap<String, Arc<Stored<IndexedDocument>>>,
    /// Deleted document ids → LSN of the delete.
    pub tombstones: HashMap<String, u64>,
    usage: Usage,
}

/// What one flush writes for the RAG subsystem.
#[derive(Default)]
pub struct RagFlush {
    pub documents: Vec<Arc<Stored<IndexedDocument>>>,
    /// Documents whose old rows go before the new ones are added.
    pub replaced: Vec<String>,
}

fn document_footprint(d: &IndexedDocument) -> usize {
    256 + d.chunks.iter().map(|(c, v)| c.text.len() + v.len() * 4 + 64).sum::<usize>()
}

impl MemPart for RagMem {
    type Record = RagRecord;
    type Flush = RagFlush;

    fn apply(&mut self, lsn: u64, record: RagRecord) {
        match record {
            RagRecord::Index(doc) => {
                let id = doc.info.doc_id.clone();
                if self.tombstones.remove(&id).is_some() {
                    self.usage.remove(0);
                }
                self.usage.add(document_footprint(&doc));
                if let Some(old) = self.documents.insert(id, Arc::new(Stored { lsn, value: doc })) {
                    self.usage.remove(document_footprint(&old.value));
                }
            }
            RagRecord::Delete { doc_id } => {
                if let Some(old) = self.documents.remove(&doc_id) {
                    self.usage.remove(document_footprint(&old.value));
                }
                if self.tombstones.insert(doc_id, lsn).is_none() {
                    self.usage.add(0);
                }
            }
        }
    }

    fn collect_through(&self, upto: u64) -> Option<RagFlush> {
        let documents: Vec<_> = self.documents.values().filter(|d| d.lsn <= upto).cloned().collect();
        let replaced: Vec<String> = documents
            .iter()
            .map(|d| d.value.info.doc_id.clone())
            .chain(self.tombstones.iter().filter(|(_, l)| **l <= upto).map(|(id, _)| id.clone()))
            .collect();
        (!documents.is_empty() || !replaced.is_empty()).then_some(RagFlush { documents, replaced })
    }

    fn drain_through(&mut self, upto: u64) {
        let usage = &mut self.usage;
        self.documents.retain(|_, d| {
            let keep = d.lsn > upto;
            if !keep {
                usage.remove(document_footprint(&d.value));
            }
            keep
        });
        drain_tombstones(&mut self.tombstones, upto, usage);
    }

    fn usage(&self) -> Usage {
        self.usage
    }
}
