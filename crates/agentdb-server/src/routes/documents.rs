//! Document (RAG) routes. A namespaced key indexes, reads and deletes only
//! ids starting with `<namespace>-`; its documents carry the metadata
//! `agentdb_namespace = <namespace>`, set by the server, and its searches
//! filter on it inside the engine's query (no result is dropped afterwards).

use std::collections::BTreeMap;

use agentdb::{ChunkHit, DocFilter, DocumentInfo, Fusion, NewDocument};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ApiPath, JsonBody};
use crate::arrow::{ChunkHitsStream, Format, ResultFormat};
use crate::auth::{Caller, NAMESPACE_METADATA_KEY};
use crate::config::Role;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IndexDocumentRequest {
    /// 1..=256 bytes without '#'. Indexing an existing id replaces it.
    pub doc_id: String,
    #[serde(default)]
    pub title: String,
    pub text: String,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// One vector per chunk (the server's chunking); absent: embedded by the server.
    #[serde(default)]
    pub chunk_vectors: Option<Vec<Vec<f32>>>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DocumentDto {
    pub doc_id: String,
    pub title: String,
    pub metadata: BTreeMap<String, String>,
    pub chunk_count: u32,
    pub char_count: u64,
    pub indexed_at_ms: i64,
}

impl From<DocumentInfo> for DocumentDto {
    fn from(d: DocumentInfo) -> Self {
        DocumentDto {
            doc_id: d.doc_id,
            title: d.title,
            metadata: d.metadata,
            chunk_count: d.chunk_count,
            char_count: d.char_count,
            indexed_at_ms: d.indexed_at_ms,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SearchMode {
    Semantic,
    FullText,
    #[default]
    Hybrid,
}

/// How hybrid search fuses its two result lists.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case", tag = "kind", deny_unknown_fields)]
pub enum FusionDto {
    /// Σ 1 / (60 + rank) over both lists.
    ReciprocalRank,
    /// alpha · semantic + (1 − alpha) · full text, each min-max normalised.
    Weighted { alpha: f32 },
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct DocFilterDto {
    /// Only chunks of these documents (empty: all).
    pub doc_ids: Vec<String>,
    /// Every entry must equal the document's metadata value.
    pub metadata: BTreeMap<String, String>,
}

/// `semantic`: `query` text or `vector`; `full_text`: `query`;
/// `hybrid`: `query`, plus an optional `vector` for its semantic half.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchDocumentsRequest {
    #[serde(default)]
    pub mode: SearchMode,
    #[serde(default)]
    pub query: Option<String>,
    #[serde(default)]
    pub vector: Option<Vec<f32>>,
    /// 1..=10000, default 10.
    #[serde(default = "default_search_limit")]
    pub limit: usize,
    /// Hybrid only; default: the engine's (weighted, alpha 0.5).
    #[serde(default)]
    pub fusion: Option<FusionDto>,
    #[serde(default)]
    pub filter: DocFilterDto,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ChunkHitDto {
    pub chunk_id: String,
    pub doc_id: String,
    pub position: u32,
    pub start_char: u64,
    pub end_char: u64,
    pub content: String,
    /// Semantic: cosine similarity; full text: BM25; hybrid: the fused score.
    pub score: f32,
}

impl From<ChunkHit> for ChunkHitDto {
    fn from(h: ChunkHit) -> Self {
        ChunkHitDto {
            chunk_id: h.chunk_id,
            doc_id: h.doc_id,
            position: h.position,
            start_char: h.start_char,
            end_char: h.end_char,
            content: h.content,
            score: h.score,
        }
    }
}

fn default_search_limit() -> usize {
    agentdb::defaults::SEARCH_LIMIT
}

/// The namespace a scoped caller writes into its documents' metadata.
fn stamp_namespace(caller: &Caller, metadata: &mut BTreeMap<String, String>) -> ApiResult<()> {
    if let Some(ns) = caller.namespace()? {
        match metadata.get(NAMESPACE_METADATA_KEY) {
            Some(v) if v != ns => {
                return Err(ApiError::forbidden(format!(
                    "metadata {NAMESPACE_METADATA_KEY} must be {ns:?} for this key"
                )))
            }
            _ => {
                metadata.insert(NAMESPACE_METADATA_KEY.to_string(), ns.to_string());
            }
        }
    }
    Ok(())
}

#[utoipa::path(post, path = "/v1/documents", tag = "documents", request_body = IndexDocumentRequest,
    responses((status = 200, body = DocumentDto), (status = "default", body = ErrorBody, description = "error")))]
pub async fn index_document(
    State(st): State<AppState>,
    caller: Caller,
    JsonBody(mut req): JsonBody<IndexDocumentRequest>,
) -> ApiResult<Json<DocumentDto>> {
    caller.require(Role::ReadWrite)?;
    caller.check_name("document", &req.doc_id)?;
    stamp_namespace(&caller, &mut req.metadata)?;
    let doc = NewDocument {
        doc_id: req.doc_id,
        title: req.title,
        text: req.text,
        metadata: req.metadata,
        chunk_vectors: req.chunk_vectors,
    };
    let info = st.call(move |db| db.index_document(doc)).await?;
    Ok(Json(info.into()))
}

#[utoipa::path(get, path = "/v1/documents/{doc_id}", tag = "documents", params(("doc_id" = String, Path)),
    responses((status = 200, body = DocumentDto), (status = "default", body = ErrorBody, description = "error")))]
pub async fn get_document(
    State(st): State<AppState>,
    caller: Caller,
    ApiPath(doc_id): ApiPath<String>,
) -> ApiResult<Json<DocumentDto>> {
    caller.require(Role::ReadOnly)?;
    caller.check_name("document", &doc_id)?;
    let info = st.call(move |db| db.get_document(&doc_id)).await?;
    Ok(Json(info.into()))
}

#[utoipa::path(delete, path = "/v1/documents/{doc_id}", tag = "documents", params(("doc_id" = String, Path)),
    responses((status = 204, description = "deleted"), (status = "default", body = ErrorBody, description = "error")))]
pub async fn delete_document(
    State(st): State<AppState>,
    caller: Caller,
    ApiPath(doc_id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    caller.require(Role::ReadWrite)?;
    caller.check_name("document", &doc_id)?;
    st.call(move |db| db.delete_document(&doc_id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/v1/documents/search", tag = "documents", request_body = SearchDocumentsRequest,
    responses((status = 200, description = "best first",
            content((Vec<ChunkHitDto> = "application/json"), (ChunkHitsStream = "application/vnd.apache.arrow.stream"))),
        (status = "default", body = ErrorBody, description = "error")))]
pub async fn search_documents(
    State(st): State<AppState>,
    caller: Caller,
    ResultFormat(format): ResultFormat,
    JsonBody(req): JsonBody<SearchDocumentsRequest>,
) -> ApiResult<Response> {
    caller.require(Role::ReadOnly)?;
    let mut filter = DocFilter { doc_ids: req.filter.doc_ids, metadata: req.filter.metadata };
    for id in &filter.doc_ids {
        caller.check_name("document", id)?;
    }
    stamp_namespace(&caller, &mut filter.metadata)?;
    let limit = req.limit;
    let fusion = match req.fusion {
        None => agentdb::defaults::FUSION,
        Some(FusionDto::ReciprocalRank) => Fusion::ReciprocalRank,
        Some(FusionDto::Weighted { alpha }) => Fusion::Weighted { alpha },
    };
    let hits = match (req.mode, req.query, req.vector) {
        (SearchMode::Semantic, Some(q), None) => {
            st.call_cancellable(move |db| db.semantic_search(&q, limit, &filter)).await?
        }
        (SearchMode::Semantic, None, Some(v)) => {
            st.call_cancellable(move |db| db.semantic_search_vector(&v, limit, &filter)).await?
        }
        (SearchMode::FullText, Some(q), None) => {
            st.call_cancellable(move |db| db.full_text_search(&q, limit, &filter)).await?
        }
        (SearchMode::Hybrid, Some(q), v) => {
            st.call_cancellable(move |db| db.hybrid_search(&q, v.as_deref(), limit, fusion, &filter)).await?
        }
        (SearchMode::Semantic, _, _) => {
            return Err(ApiError::invalid("semantic search takes exactly one of query and vector"))
        }
        (SearchMode::FullText, _, _) => return Err(ApiError::invalid("full_text search takes a query and no vector")),
        (SearchMode::Hybrid, None, _) => {
            return Err(ApiError::invalid("hybrid search takes a query (and optionally a vector)"))
        }
    };
    match format {
        Format::Arrow => crate::arrow::stream_response(agentdb::export::chunk_hits_batch(&hits)),
        Format::Json => Ok(Json(hits.into_iter().map(ChunkHitDto::from).collect::<Vec<_>>()).into_response()),
    }
}
