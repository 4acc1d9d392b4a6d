//! RAG engine: documents chunked (see `chunking`), embedded and stored;
//! semantic, full-text and hybrid search over the chunks.
//!
//! Invariants:
//! - A document is written whole (its chunks and their vectors) in one WAL
//!   record; re-indexing replaces every chunk. A flush deletes a
//!   document's old rows before adding the new ones; the WAL holds them
//!   whole, so a crash between the steps loses nothing.
//! - Full-text search uses one LanceDB inverted index on `content` with the
//!   ICU word segmenter, which splits Chinese into words and English on
//!   spaces alike (lower-cased, English stemming and stop words). Rows not
//!   yet in the index are searched flat by Lance.
//! - Full-text and hybrid searches flush unflushed document changes first
//!   (BM25 statistics must come from one place); semantic search scans the
//!   memtable beside Lance instead.

pub mod chunking;
pub mod memtable;
pub mod records;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arrow_array::{ArrayRef, Float32Array, Int64Array, RecordBatch, StringArray, UInt32Array, UInt64Array};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use futures::TryStreamExt;
use lancedb::index::scalar::{FtsIndexBuilder, FullTextSearchQuery};
use lancedb::query::{ExecutableQuery, QueryBase};
use serde::{Deserialize, Serialize};

pub use chunking::{chunk_text, Chunk};

use crate::cancel::{Cancel, Cancellable};
use crate::engine::{now_ms, Engine};
use crate::storage::tables::{filter, Stored};
use crate::{AgentDb, Error, Result};
use memtable::RagMem;
use records::RagRecord;

pub const DOCUMENTS_TABLE: &str = "documents";
pub const CHUNKS_TABLE: &str = "chunks";
pub const DEFAULT_CHUNK_CHARS: usize = 512;
pub const DEFAULT_CHUNK_OVERLAP: usize = 50;
pub use crate::limits::MAX_DOCUMENT_BYTES;
/// Reciprocal-rank-fusion constant (Cormack et al. 2009).
const RRF_K: f32 = 60.0;
/// Chunks fetched beyond the limit: room for a metadata prefilter's false
/// matches before a second fetch.
const CHUNK_FETCH_SLACK: usize = 8;
/// Each further fetch of a chunk search asks for this many times more rows.
const CHUNK_REFETCH_GROWTH: usize = 4;

#[derive(Debug, Clone, PartialEq)]
pub struct NewDocument {
    pub doc_id: String,
    pub title: String,
    pub text: String,
    pub metadata: BTreeMap<String, String>,
    /// One vector per chunk of `chunk_text(text, …)` with the database's
    /// chunk settings; `None` embeds the chunks with the database's embedder.
    pub chunk_vectors: Option<Vec<Vec<f32>>>,
}

impl NewDocument {
    pub fn new(doc_id: impl Into<String>, text: impl Into<String>) -> Self {
        NewDocument {
            doc_id: doc_id.into(),
            title: String::new(),
            text: text.into(),
            metadata: BTreeMap::new(),
            chunk_vectors: None,
        }
    }
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = title.into();
        self
    }
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentInfo {
    pub doc_id: String,
    pub title: String,
    pub metadata: BTreeMap<String, String>,
    pub chunk_count: u32,
    pub char_count: u64,
    pub indexed_at_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexedDocument {
    pub info: DocumentInfo,
    pub chunks: Vec<(Chunk, Vec<f32>)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChunkHit {
    pub chunk_id: String,
    pub doc_id: String,
    pub position: u32,
    pub start_char: u64,
    pub end_char: u64,
    pub content: String,
    /// Semantic: cosine similarity; full text: BM25; hybrid: the fused score.
    pub score: f32,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct DocFilter {
    /// Only chunks of these documents (empty: all).
    pub doc_ids: Vec<String>,
    /// Every entry must equal the document's metadata value.
    pub metadata: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fusion {
    /// `alpha · semantic + (1 − alpha) · full_text`, each min-max normalised over its results.
    Weighted { alpha: f32 },
    /// Σ 1 / (60 + rank) over both result lists.
    ReciprocalRank,
}

fn chunk_id(doc_id: &str, position: u32) -> String {
    format!("{doc_id}#{position}")
}

pub fn documents_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("lsn", DataType::UInt64, false),
        Field::new("doc_id", DataType::Utf8, false),
        Field::new("title", DataType::Utf8, false),
        Field::new("metadata", DataType::Utf8, false),
        Field::new("chunk_count", DataType::UInt32, false),
        Field::new("char_count", DataType::UInt64, false),
        Field::new("indexed_at_ms", DataType::Int64, false),
    ]))
}

pub fn chunks_schema(dimension: usize) -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("lsn", DataType::UInt64, false),
        Field::new("chunk_id", DataType::Utf8, false),
        Field::new("doc_id", DataType::Utf8, false),
        Field::new("position", DataType::UInt32, false),
        Field::new("start_char", DataType::UInt64, false),
        Field::new("end_char", DataType::UInt64, false),
        Field::new("content", DataType::Utf8, false),
        crate::storage::tables::vector_field("embedding", dimension),
        // The document's metadata, repeated so filters need no join.
        Field::new("metadata", DataType::Utf8, false),
    ]))
}

pub(crate) fn documents_to_batches(
    docs: &[Arc<Stored<IndexedDocument>>],
    dimension: usize,
) -> Result<(RecordBatch, RecordBatch)> {
    let meta: Vec<String> =
        docs.iter().map(|d| serde_json::to_string(&d.value.info.metadata).unwrap_or_default()).collect();
    let d = RecordBatch::try_new(
        documents_schema(),
        vec![
            Arc::new(UInt64Array::from_iter_values(docs.iter().map(|d| d.lsn))) as ArrayRef,
            Arc::new(StringArray::from_iter_values(docs.iter().map(|d| d.value.info.doc_id.as_str()))),
            Arc::new(StringArray::from_iter_values(docs.iter().map(|d| d.value.info.title.as_str()))),
            Arc::new(StringArray::from_iter_values(meta.iter())),
            Arc::new(UInt32Array::from_iter_values(docs.iter().map(|d| d.value.info.chunk_count))),
            Arc::new(UInt64Array::from_iter_values(docs.iter().map(|d| d.value.info.char_count))),
            Arc::new(Int64Array::from_iter_values(docs.iter().map(|d| d.value.info.indexed_at_ms))),
        ],
    )?;
    let rows: Vec<(u64, &DocumentInfo, &Chunk, &Vec<f32>, &String)> = docs
        .iter()
        .zip(&meta)
        .flat_map(|(d, m)| d.value.chunks.iter().map(move |(c, v)| (d.lsn, &d.value.info, c, v, m)))
        .collect();
    let emb = crate::storage::tables::vector_array(rows.iter().map(|r| r.3.as_slice()), dimension)?;
    let c = RecordBatch::try_new(
        chunks_schema(dimension),
        vec![
            Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.0))) as ArrayRef,
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| chunk_id(&r.1.doc_id, r.2.position)))),
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.1.doc_id.as_str()))),
            Arc::new(UInt32Array::from_iter_values(rows.iter().map(|r| r.2.position))),
            Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.2.start_char))),
            Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.2.end_char))),
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.2.text.as_str()))),
            Arc::new(emb),
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.4.as_str()))),
        ],
    )?;
    Ok((d, c))
}

/// Runs a chunk query (vector or full-text) for `fetch` hits, with the
/// filter as a Lance prefilter; `score` is the column Lance scores into.
async fn chunk_hits<Q: QueryBase + ExecutableQuery>(
    q: Q,
    prefilter: Option<lancedb::expr::DfExpr>,
    score: &str,
    fetch: usize,
) -> Result<Vec<(ChunkHit, BTreeMap<String, String>)>> {
    let mut q = q.select(lancedb::query::Select::columns(&hit_columns_with(score))).limit(fetch);
    if let Some(p) = prefilter {
        q = q.only_if_expr(p);
    }
    let batches: Vec<RecordBatch> = q.execute().await?.try_collect().await?;
    let mut out = Vec::new();
    for b in &batches {
        out.extend(hits_from_batch(b, score)?);
    }
    Ok(out)
}

fn hits_from_batch(batch: &RecordBatch, score_column: &str) -> Result<Vec<(ChunkHit, BTreeMap<String, String>)>> {
    let get = |n: &str| batch.column_by_name(n).ok_or_else(|| Error::corrupted(format!("column {n} missing")));
    let s = |n: &str| -> Result<&StringArray> {
        get(n)?.as_any().downcast_ref::<StringArray>().ok_or_else(|| Error::corrupted(n.to_string()))
    };
    let u64c = |n: &str| -> Result<&UInt64Array> {
        get(n)?.as_any().downcast_ref::<UInt64Array>().ok_or_else(|| Error::corrupted(n.to_string()))
    };
    let (cid, did, content, meta) = (s("chunk_id")?, s("doc_id")?, s("content")?, s("metadata")?);
    let pos = get("position")?.as_any().downcast_ref::<UInt32Array>().ok_or_else(|| Error::corrupted("position"))?;
    let (start, end) = (u64c("start_char")?, u64c("end_char")?);
    let score = batch.column_by_name(score_column).and_then(|c| c.as_any().downcast_ref::<Float32Array>());
    (0..batch.num_rows())
        .map(|i| {
            Ok((
                ChunkHit {
                    chunk_id: cid.value(i).to_string(),
                    doc_id: did.value(i).to_string(),
                    position: pos.value(i),
                    start_char: start.value(i),
                    end_char: end.value(i),
                    content: content.value(i).to_string(),
                    score: score.map_or(0.0, |c| c.value(i)),
                },
                serde_json::from_str(meta.value(i)).map_err(|e| Error::corrupted(format!("chunk metadata: {e}")))?,
            ))
        })
        .collect()
}

const HIT_COLUMNS: [&str; 7] = ["chunk_id", "doc_id", "position", "start_char", "end_char", "content", "metadata"];

/// The hit columns plus the score column Lance adds (named explicitly, as
/// Lance will stop adding it implicitly).
fn hit_columns_with(score: &str) -> Vec<&str> {
    let mut c = HIT_COLUMNS.to_vec();
    c.push(score);
    c
}

impl Engine {
    /// Creates the full-text index once the chunk table has rows (Lance
    /// cannot train an index on nothing); later rows are searched flat until
    /// maintenance folds them in.
    pub(crate) async fn ensure_fts_index(&self) -> Result<()> {
        let has = self.rag.chunks_tbl.list_indices().await?.iter().any(|i| i.columns == ["content"]);
        if !has && self.rag.chunks_tbl.count_rows(None).await? > 0 {
            let params = FtsIndexBuilder::default().base_tokenizer("icu".to_string());
            self.rag.chunks_tbl.create_index(&["content"], lancedb::index::Index::FTS(params)).execute().await?;
        }
        Ok(())
    }

    fn pending_documents(&self) -> bool {
        let mem = self.memtable();
        let m = mem.part::<RagMem>();
        !m.documents.is_empty() || !m.tombstones.is_empty()
    }

    /// The Lance prefilter of a chunk search: the document ids, a superset
    /// test per document-metadata entry (the chunks table repeats each
    /// document's metadata), and none of `hidden` (documents the memtable
    /// replaces or deletes). Rows it lets through are confirmed by
    /// `chunk_matches`.
    fn chunk_prefilter(f: &DocFilter, hidden: &[&str]) -> Option<lancedb::expr::DfExpr> {
        let mut pred = Vec::new();
        if !f.doc_ids.is_empty() {
            let ids: Vec<&str> = f.doc_ids.iter().map(String::as_str).collect();
            pred.push(filter::str_in("doc_id", &ids));
        }
        pred.extend(filter::metadata_candidates("metadata", &f.metadata));
        if !hidden.is_empty() {
            pred.push(filter::str_not_in("doc_id", hidden));
        }
        filter::and_all(pred)
    }

    /// Runs a chunk search (`search` takes the number of rows to fetch) until
    /// it has `limit` rows that pass the filter exactly, or Lance has no
    /// more: a metadata prefilter's false match costs a place, never a result.
    async fn confirmed_chunks<F, Fut>(&self, limit: usize, f: &DocFilter, search: F) -> Result<Vec<ChunkHit>>
    where
        F: Fn(usize) -> Fut,
        Fut: std::future::Future<Output = Result<Vec<(ChunkHit, BTreeMap<String, String>)>>>,
    {
        let mut fetch = limit + CHUNK_FETCH_SLACK;
        loop {
            let rows = search(fetch).await?;
            let exhausted = rows.len() < fetch;
            let hits: Vec<ChunkHit> =
                rows.into_iter().filter(|(h, m)| chunk_matches(f, &h.doc_id, m)).map(|(h, _)| h).collect();
            if hits.len() >= limit || exhausted {
                return Ok(hits);
            }
            fetch = fetch.saturating_mul(CHUNK_REFETCH_GROWTH);
        }
    }

    /// Exact: the filter is pushed into the Lance search (see
    /// `chunk_prefilter`), unflushed documents are scanned here.
    fn semantic(&self, query: &[f32], limit: usize, f: &DocFilter, cancel: Cancel<'_>) -> Result<Vec<ChunkHit>> {
        crate::memories::validate_vector_public(query, self.opts().memory_dimension)?;
        let read = self.begin_read();
        let (fresh, hidden): (Vec<Arc<Stored<IndexedDocument>>>, Vec<String>) = {
            let mem = read.memtable();
            let m = mem.part::<RagMem>();
            (m.documents.values().cloned().collect(), m.documents.keys().chain(m.tombstones.keys()).cloned().collect())
        };
        let hidden_refs: Vec<&str> = hidden.iter().map(String::as_str).collect();
        let pred = Self::chunk_prefilter(f, &hidden_refs);
        let lance = self.block_on_until(
            cancel,
            self.confirmed_chunks(limit, f, |fetch| {
                let pred = pred.clone();
                async move {
                    let q = self
                        .rag
                        .chunks_tbl
                        .vector_search(query.to_vec())?
                        .column("embedding")
                        .distance_type(lancedb::DistanceType::Cosine);
                    chunk_hits(q, pred, "_distance", fetch).await
                }
            }),
        )?;
        drop(read);
        let mut hits: Vec<ChunkHit> = lance
            .into_iter()
            .map(|mut h| {
                h.score = 1.0 - h.score;
                h
            })
            .collect();
        for d in fresh {
            let info = &d.value.info;
            if !chunk_matches(f, &info.doc_id, &info.metadata) {
                continue;
            }
            for (c, v) in &d.value.chunks {
                hits.push(ChunkHit {
                    chunk_id: chunk_id(&info.doc_id, c.position),
                    doc_id: info.doc_id.clone(),
                    position: c.position,
                    start_char: c.start_char,
                    end_char: c.end_char,
                    content: c.text.clone(),
                    score: crate::memories::scoring::cosine(query, v),
                });
            }
        }
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.chunk_id.cmp(&b.chunk_id)));
        hits.truncate(limit);
        Ok(hits)
    }

    /// BM25 among the chunks that pass the filter: the filter is a Lance
    /// prefilter, so the top `limit` are computed over the matches only.
    fn full_text(&self, text: &str, limit: usize, f: &DocFilter, cancel: Cancel<'_>) -> Result<Vec<ChunkHit>> {
        if text.trim().is_empty() {
            return Err(Error::invalid("full-text query must not be empty"));
        }
        // The flush runs whole once started (it changes no read's answer).
        crate::cancel::check(cancel)?;
        if self.pending_documents() && self.wal_is_writable() {
            self.flush()?;
        }
        self.block_on_until(cancel, async {
            if !self.rag.chunks_tbl.list_indices().await?.iter().any(|i| i.columns == ["content"]) {
                if self.rag.chunks_tbl.count_rows(None).await? == 0 {
                    return Ok(Vec::new());
                }
                return Err(Error::NotFound("full-text index not built yet (run compact)".into()));
            }
            let pred = Self::chunk_prefilter(f, &[]);
            let mut hits = self
                .confirmed_chunks(limit, f, |fetch| {
                    let pred = pred.clone();
                    async move {
                        let q =
                            self.rag.chunks_tbl.query().full_text_search(FullTextSearchQuery::new(text.to_string()));
                        chunk_hits(q, pred, "_score", fetch).await
                    }
                })
                .await?;
            hits.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.chunk_id.cmp(&b.chunk_id)));
            hits.truncate(limit);
            Ok(hits)
        })
    }
}

/// Whether a chunk of document `doc_id` with the document metadata `m`
/// passes the filter (the exact test behind the Lance prefilter).
fn chunk_matches(f: &DocFilter, doc_id: &str, m: &BTreeMap<String, String>) -> bool {
    (f.doc_ids.is_empty() || f.doc_ids.iter().any(|d| d == doc_id))
        && f.metadata.iter().all(|(k, v)| m.get(k) == Some(v))
}

fn min_max(hits: &[ChunkHit]) -> HashMap<String, f32> {
    let lo = hits.iter().map(|h| h.score).fold(f32::INFINITY, f32::min);
    let hi = hits.iter().map(|h| h.score).fold(f32::NEG_INFINITY, f32::max);
    hits.iter().map(|h| (h.chunk_id.clone(), if hi > lo { (h.score - lo) / (hi - lo) } else { 1.0 })).collect()
}

/// Fuses two ranked lists (see `Fusion`).
pub fn fuse(semantic: Vec<ChunkHit>, full_text: Vec<ChunkHit>, fusion: Fusion, limit: usize) -> Vec<ChunkHit> {
    let mut by_id: HashMap<String, ChunkHit> = HashMap::new();
    let mut score: HashMap<String, f32> = HashMap::new();
    match fusion {
        Fusion::Weighted { alpha } => {
            for (hits, w) in [(&semantic, alpha), (&full_text, 1.0 - alpha)] {
                for (id, s) in min_max(hits) {
                    *score.entry(id).or_default() += w * s;
                }
            }
        }
        Fusion::ReciprocalRank => {
            for hits in [&semantic, &full_text] {
                for (rank, h) in hits.iter().enumerate() {
                    *score.entry(h.chunk_id.clone()).or_default() += 1.0 / (RRF_K + rank as f32 + 1.0);
                }
            }
        }
    }
    for h in semantic.into_iter().chain(full_text) {
        by_id.entry(h.chunk_id.clone()).or_insert(h);
    }
    let mut out: Vec<ChunkHit> = by_id
        .into_values()
        .map(|mut h| {
            h.score = score[&h.chunk_id];
            h
        })
        .collect();
    out.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.chunk_id.cmp(&b.chunk_id)));
    out.truncate(limit);
    out
}

fn validate_doc_id(id: &str) -> Result<()> {
    if id.is_empty() || id.len() > crate::vectors::MAX_ID_BYTES || id.contains('#') {
        return Err(Error::invalid("document id must be 1..=256 bytes without '#'"));
    }
    Ok(())
}

impl AgentDb {
    /// Chunks, embeds and stores a document, replacing any earlier version. Returns its info.
    pub fn index_document(&self, doc: NewDocument) -> Result<DocumentInfo> {
        let e = &self.engine;
        e.check_writable()?;
        validate_doc_id(&doc.doc_id)?;
        if doc.text.trim().is_empty() {
            return Err(Error::invalid("document text must not be empty"));
        }
        if doc.text.len() > MAX_DOCUMENT_BYTES {
            return Err(Error::PayloadTooLarge { size: doc.text.len(), limit: MAX_DOCUMENT_BYTES });
        }
        crate::states::validate_metadata(&doc.metadata)?;
        let chunks = chunk_text(&doc.text, e.opts().chunk_chars, e.opts().chunk_overlap);
        let vectors = match doc.chunk_vectors {
            Some(v) => {
                if v.len() != chunks.len() {
                    return Err(Error::invalid(format!("{} chunk vectors given for {} chunks", v.len(), chunks.len())));
                }
                v
            }
            None => {
                let texts: Vec<&str> = chunks.iter().map(|c| c.text.as_str()).collect();
                e.embedder()?.embed(&texts)?
            }
        };
        for v in &vectors {
            crate::memories::validate_vector_public(v, e.opts().memory_dimension)?;
        }
        let info = DocumentInfo {
            doc_id: doc.doc_id,
            title: doc.title,
            metadata: doc.metadata,
            chunk_count: chunks.len() as u32,
            char_count: doc.text.chars().count() as u64,
            indexed_at_ms: now_ms(),
        };
        let indexed = IndexedDocument { info: info.clone(), chunks: chunks.into_iter().zip(vectors).collect() };
        e.commit::<RagMem>(RagRecord::Index(indexed))?;
        Ok(info)
    }

    pub fn get_document(&self, doc_id: &str) -> Result<DocumentInfo> {
        let e = &self.engine;
        e.check_open()?;
        validate_doc_id(doc_id)?;
        let read = e.begin_read();
        {
            let mem = read.memtable();
            let m = mem.part::<RagMem>();
            if let Some(d) = m.documents.get(doc_id) {
                return Ok(d.value.info.clone());
            }
            if m.tombstones.contains_key(doc_id) {
                return Err(Error::NotFound(format!("document {doc_id:?}")));
            }
        }
        let batches = e.block_on(crate::storage::tables::query(
            &e.rag.documents_tbl,
            Some(filter::str_eq("doc_id", doc_id)),
            None,
            None,
            Some(1),
        ))?;
        for b in &batches {
            if b.num_rows() > 0 {
                let s = |n: &str| {
                    b.column_by_name(n)
                        .and_then(|c| c.as_any().downcast_ref::<StringArray>())
                        .map(|c| c.value(0).to_string())
                };
                let meta: BTreeMap<String, String> =
                    serde_json::from_str(&s("metadata").unwrap_or_default()).unwrap_or_default();
                let u32c = b
                    .column_by_name("chunk_count")
                    .and_then(|c| c.as_any().downcast_ref::<UInt32Array>())
                    .map(|c| c.value(0));
                let u64c = b
                    .column_by_name("char_count")
                    .and_then(|c| c.as_any().downcast_ref::<UInt64Array>())
                    .map(|c| c.value(0));
                let i64c = b
                    .column_by_name("indexed_at_ms")
                    .and_then(|c| c.as_any().downcast_ref::<Int64Array>())
                    .map(|c| c.value(0));
                return Ok(DocumentInfo {
                    doc_id: doc_id.to_string(),
                    title: s("title").unwrap_or_default(),
                    metadata: meta,
                    chunk_count: u32c.unwrap_or(0),
                    char_count: u64c.unwrap_or(0),
                    indexed_at_ms: i64c.unwrap_or(0),
                });
            }
        }
        Err(Error::NotFound(format!("document {doc_id:?}")))
    }

    pub fn delete_document(&self, doc_id: &str) -> Result<()> {
        self.get_document(doc_id)?;
        self.engine.commit::<RagMem>(RagRecord::Delete { doc_id: doc_id.to_string() })?;
        Ok(())
    }

    pub fn semantic_search(&self, query: &str, limit: usize, filter: &DocFilter) -> Result<Vec<ChunkHit>> {
        self.with_cancel(None).semantic_search(query, limit, filter)
    }

    pub fn semantic_search_vector(&self, query: &[f32], limit: usize, filter: &DocFilter) -> Result<Vec<ChunkHit>> {
        self.with_cancel(None).semantic_search_vector(query, limit, filter)
    }

    /// BM25 over chunk text (Chinese and English alike), best first.
    pub fn full_text_search(&self, query: &str, limit: usize, filter: &DocFilter) -> Result<Vec<ChunkHit>> {
        self.with_cancel(None).full_text_search(query, limit, filter)
    }

    /// Semantic and full-text results fused; `vector` defaults to the embedded `text`.
    pub fn hybrid_search(
        &self,
        text: &str,
        vector: Option<&[f32]>,
        limit: usize,
        fusion: Fusion,
        filter: &DocFilter,
    ) -> Result<Vec<ChunkHit>> {
        self.with_cancel(None).hybrid_search(text, vector, limit, fusion, filter)
    }
}

impl Cancellable<'_> {
    pub fn semantic_search(&self, query: &str, limit: usize, filter: &DocFilter) -> Result<Vec<ChunkHit>> {
        let e = self.engine();
        e.check_open()?;
        crate::limits::check_search_k(limit, "limit")?;
        crate::cancel::check(self.cancel)?;
        let v = e.embed_one(query)?;
        e.semantic(&v, limit, filter, self.cancel)
    }

    pub fn semantic_search_vector(&self, query: &[f32], limit: usize, filter: &DocFilter) -> Result<Vec<ChunkHit>> {
        let e = self.engine();
        e.check_open()?;
        crate::limits::check_search_k(limit, "limit")?;
        e.semantic(query, limit, filter, self.cancel)
    }

    /// BM25 over chunk text (Chinese and English alike), best first.
    pub fn full_text_search(&self, query: &str, limit: usize, filter: &DocFilter) -> Result<Vec<ChunkHit>> {
        let e = self.engine();
        e.check_open()?;
        crate::limits::check_search_k(limit, "limit")?;
        e.full_text(query, limit, filter, self.cancel)
    }

    /// Semantic and full-text results fused; `vector` defaults to the embedded `text`.
    pub fn hybrid_search(
        &self,
        text: &str,
        vector: Option<&[f32]>,
        limit: usize,
        fusion: Fusion,
        filter: &DocFilter,
    ) -> Result<Vec<ChunkHit>> {
        let e = self.engine();
        e.check_open()?;
        crate::limits::check_search_k(limit, "limit")?;
        if let Fusion::Weighted { alpha } = fusion {
            if !(0.0..=1.0).contains(&alpha) {
                return Err(Error::invalid(format!("alpha must be within 0..=1, got {alpha}")));
            }
        }
        let fts = e.full_text(text, limit * 2, filter, self.cancel)?;
        crate::cancel::check(self.cancel)?;
        let v = match vector {
            Some(v) => v.to_vec(),
            None => e.embed_one(text)?,
        };
        let sem = e.semantic(&v, limit * 2, filter, self.cancel)?;
        Ok(fuse(sem, fts, fusion, limit))
    }
}

impl Engine {
    /// Writes the RAG subsystem's part of a flush.
    pub(crate) async fn flush_documents(&self, f: &memtable::RagFlush) -> Result<()> {
        // Remove first, then add: the WAL has every document whole.
        for chunk in f.replaced.chunks(4096) {
            let ids: Vec<&str> = chunk.iter().map(String::as_str).collect();
            self.rag.documents_tbl.delete(&filter::str_in("doc_id", &ids)).await?;
            self.rag.chunks_tbl.delete(&filter::str_in("doc_id", &ids)).await?;
        }
        if !f.documents.is_empty() {
            for group in f.documents.chunks(256) {
                let (docs, chunks) = documents_to_batches(group, self.opts().memory_dimension)?;
                self.rag.documents_tbl.add(docs).execute().await?;
                if chunks.num_rows() > 0 {
                    self.rag.chunks_tbl.add(chunks).execute().await?;
                }
            }
            self.ensure_fts_index().await?;
        }
        Ok(())
    }
}

/// The RAG subsystem's side of the engine contract.
pub(crate) struct RagSubsystem;

impl crate::engine::subsystem::Subsystem for RagSubsystem {
    fn name(&self) -> &'static str {
        "rag"
    }
    fn fixed_tables(&self, opts: &crate::Options) -> Vec<crate::engine::subsystem::TableSpec> {
        use crate::engine::subsystem::TableSpec;
        vec![
            TableSpec { name: DOCUMENTS_TABLE, schema: documents_schema() },
            TableSpec { name: CHUNKS_TABLE, schema: chunks_schema(opts.memory_dimension) },
        ]
    }
    fn flush<'a>(
        &'a self,
        engine: &'a Engine,
        set: &'a crate::storage::memtable::FlushSet,
    ) -> futures::future::BoxFuture<'a, Result<()>> {
        crate::engine::subsystem::flush_part::<RagMem, _, _>(set, move |f| engine.flush_documents(f))
    }
    fn scalar_index_columns(&self, _table: &str) -> &'static [&'static str] {
        &["doc_id"]
    }
}

/// The RAG subsystem's own state.
pub(crate) struct RagState {
    pub documents_tbl: lancedb::Table,
    pub chunks_tbl: lancedb::Table,
}

impl RagState {
    pub fn tables(&self) -> Vec<(String, lancedb::Table)> {
        vec![
            (DOCUMENTS_TABLE.to_string(), self.documents_tbl.clone()),
            (CHUNKS_TABLE.to_string(), self.chunks_tbl.clone()),
        ]
    }
}
