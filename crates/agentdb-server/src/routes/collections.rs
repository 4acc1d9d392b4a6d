//! Vector collection routes. A namespaced key reaches only collections
//! named `<namespace>-...`; listing returns only those (the engine has no
//! scoped listing, and a name is all a listing carries).

use std::collections::BTreeMap;

use agentdb::{CollectionInfo, Metric, SearchOptions, VectorHit, VectorRecord};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ApiPath, FromArrowStream, JsonBody, JsonOrArrow};
use crate::arrow::{Format, ResultFormat, VectorHitsStream, VectorsStream};
use crate::auth::{in_namespace, Caller};
use crate::config::Role;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::AppState;

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MetricDto {
    L2,
    Cosine,
    Dot,
}

impl From<MetricDto> for Metric {
    fn from(m: MetricDto) -> Self {
        match m {
            MetricDto::L2 => Metric::L2,
            MetricDto::Cosine => Metric::Cosine,
            MetricDto::Dot => Metric::Dot,
        }
    }
}

impl From<Metric> for MetricDto {
    fn from(m: Metric) -> Self {
        match m {
            Metric::L2 => MetricDto::L2,
            Metric::Cosine => MetricDto::Cosine,
            Metric::Dot => MetricDto::Dot,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCollectionRequest {
    /// 1–64 characters of ASCII letters, digits, '_' or '-'.
    pub name: String,
    pub dimension: usize,
    /// Default: the engine's (cosine).
    #[serde(default)]
    pub metric: Option<MetricDto>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CollectionDto {
    pub name: String,
    pub dimension: usize,
    pub metric: MetricDto,
    /// Only in single-collection responses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<usize>,
}

impl From<CollectionInfo> for CollectionDto {
    fn from(c: CollectionInfo) -> Self {
        CollectionDto { name: c.name, dimension: c.dimension, metric: c.metric.into(), count: None }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VectorDto {
    /// 1..=256 bytes.
    pub id: String,
    pub vector: Vec<f32>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpsertVectorsRequest {
    /// Inserted or replaced in one WAL record: all or nothing.
    pub vectors: Vec<VectorDto>,
}

impl FromArrowStream for UpsertVectorsRequest {
    fn from_arrow_stream(bytes: &[u8]) -> ApiResult<Self> {
        Ok(UpsertVectorsRequest { vectors: crate::arrow::vectors_from_stream(bytes)? })
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UpsertVectorsResponse {
    pub upserted: usize,
}

/// k-NN unless `radius` is given (then every vector within it, at most `max_results`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchVectorsRequest {
    pub vector: Vec<f32>,
    /// 1..=10000, default 10 (k-NN).
    #[serde(default = "default_k")]
    pub k: usize,
    #[serde(default)]
    pub radius: Option<f32>,
    /// 1..=10000, default 1000 (range search).
    #[serde(default)]
    pub max_results: Option<usize>,
    /// Every entry must equal the vector's metadata value.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    #[serde(default)]
    pub nprobes: Option<usize>,
    #[serde(default)]
    pub refine_factor: Option<u32>,
    /// Return each hit's vector (default false).
    #[serde(default)]
    pub include_vectors: bool,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct VectorHitDto {
    pub id: String,
    /// In the collection's metric units, nearest first.
    pub distance: f32,
    pub metadata: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vector: Option<Vec<f32>>,
}

fn default_k() -> usize {
    agentdb::defaults::KNN_K
}

fn hit(h: VectorHit, include_vector: bool) -> VectorHitDto {
    VectorHitDto { id: h.id, distance: h.distance, metadata: h.metadata, vector: include_vector.then_some(h.vector) }
}

#[utoipa::path(post, path = "/v1/collections", tag = "collections", request_body = CreateCollectionRequest,
    responses((status = 200, body = CollectionDto), (status = "default", body = ErrorBody, description = "error")))]
pub async fn create_collection(
    State(st): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<CreateCollectionRequest>,
) -> ApiResult<Json<CollectionDto>> {
    caller.require(Role::ReadWrite)?;
    caller.check_name("collection", &req.name)?;
    let metric: Metric = req.metric.map_or(agentdb::defaults::METRIC, Metric::from);
    let info = st.call(move |db| db.create_collection(&req.name, req.dimension, metric)).await?;
    Ok(Json(info.into()))
}

#[utoipa::path(get, path = "/v1/collections", tag = "collections",
    responses((status = 200, body = Vec<CollectionDto>, description = "by name"), (status = "default", body = ErrorBody, description = "error")))]
pub async fn list_collections(State(st): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<CollectionDto>>> {
    caller.require(Role::ReadOnly)?;
    let ns = caller.namespace()?.map(str::to_string);
    let list = st.call(|db| db.list_collections()).await?;
    Ok(Json(
        list.into_iter()
            .filter(|c| ns.as_deref().is_none_or(|ns| in_namespace(ns, &c.name)))
            .map(CollectionDto::from)
            .collect(),
    ))
}

#[utoipa::path(get, path = "/v1/collections/{name}", tag = "collections", params(("name" = String, Path)),
    responses((status = 200, body = CollectionDto), (status = "default", body = ErrorBody, description = "error")))]
pub async fn get_collection(
    State(st): State<AppState>,
    caller: Caller,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<Json<CollectionDto>> {
    caller.require(Role::ReadOnly)?;
    caller.check_name("collection", &name)?;
    let (info, count) = st
        .call(move |db| {
            let info = db
                .list_collections()?
                .into_iter()
                .find(|c| c.name == name)
                .ok_or_else(|| agentdb::Error::NotFound(format!("collection {name:?}")))?;
            let count = db.count_vectors(&name)?;
            Ok((info, count))
        })
        .await?;
    let mut dto = CollectionDto::from(info);
    dto.count = Some(count);
    Ok(Json(dto))
}

#[utoipa::path(post, path = "/v1/collections/{name}/vectors", tag = "collections", params(("name" = String, Path)),
    request_body(description = "JSON, or an Arrow IPC stream of the same vectors (one WAL record either way)",
        content((UpsertVectorsRequest = "application/json"), (VectorsStream = "application/vnd.apache.arrow.stream"))),
    responses((status = 200, body = UpsertVectorsResponse), (status = "default", body = ErrorBody, description = "error")))]
pub async fn upsert_vectors(
    State(st): State<AppState>,
    caller: Caller,
    ApiPath(name): ApiPath<String>,
    JsonOrArrow(req): JsonOrArrow<UpsertVectorsRequest>,
) -> ApiResult<Json<UpsertVectorsResponse>> {
    caller.require(Role::ReadWrite)?;
    caller.check_name("collection", &name)?;
    let rows: Vec<VectorRecord> =
        req.vectors.into_iter().map(|v| VectorRecord { id: v.id, vector: v.vector, metadata: v.metadata }).collect();
    let upserted = rows.len();
    st.call(move |db| db.insert_vectors(&name, rows)).await?;
    Ok(Json(UpsertVectorsResponse { upserted }))
}

#[utoipa::path(get, path = "/v1/collections/{name}/vectors/{id}", tag = "collections",
    params(("name" = String, Path), ("id" = String, Path)),
    responses((status = 200, body = VectorDto), (status = "default", body = ErrorBody, description = "error")))]
pub async fn get_vector(
    State(st): State<AppState>,
    caller: Caller,
    ApiPath((name, id)): ApiPath<(String, String)>,
) -> ApiResult<Json<VectorDto>> {
    caller.require(Role::ReadOnly)?;
    caller.check_name("collection", &name)?;
    let r = st.call(move |db| db.get_vector(&name, &id)).await?;
    Ok(Json(VectorDto { id: r.id, vector: r.vector, metadata: r.metadata }))
}

#[utoipa::path(delete, path = "/v1/collections/{name}/vectors/{id}", tag = "collections",
    params(("name" = String, Path), ("id" = String, Path)),
    responses((status = 204, description = "deleted"), (status = "default", body = ErrorBody, description = "error")))]
pub async fn delete_vector(
    State(st): State<AppState>,
    caller: Caller,
    ApiPath((name, id)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    caller.require(Role::ReadWrite)?;
    caller.check_name("collection", &name)?;
    st.call(move |db| db.delete_vector(&name, &id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/v1/collections/{name}/search", tag = "collections", params(("name" = String, Path)),
    request_body = SearchVectorsRequest,
    responses((status = 200, description = "nearest first",
            content((Vec<VectorHitDto> = "application/json"), (VectorHitsStream = "application/vnd.apache.arrow.stream"))),
        (status = "default", body = ErrorBody, description = "error")))]
pub async fn search_vectors(
    State(st): State<AppState>,
    caller: Caller,
    ResultFormat(format): ResultFormat,
    ApiPath(name): ApiPath<String>,
    JsonBody(req): JsonBody<SearchVectorsRequest>,
) -> ApiResult<Response> {
    caller.require(Role::ReadOnly)?;
    caller.check_name("collection", &name)?;
    let opts = SearchOptions { metadata: req.metadata, nprobes: req.nprobes, refine_factor: req.refine_factor };
    let include = req.include_vectors;
    // The engine checked the query against the collection's dimension.
    let dimension = req.vector.len();
    let hits = match req.radius {
        Some(r) => {
            let max = req.max_results.unwrap_or(agentdb::defaults::RANGE_MAX_RESULTS);
            st.call_cancellable(move |db| db.search_range(&name, &req.vector, r, max, &opts)).await?
        }
        None if req.max_results.is_some() => {
            return Err(ApiError::invalid("max_results applies to range search (give radius)"))
        }
        None => {
            let k = req.k;
            st.call_cancellable(move |db| db.search_knn(&name, &req.vector, k, &opts)).await?
        }
    };
    match format {
        Format::Arrow => crate::arrow::stream_response(agentdb::export::vector_hits_batch(&hits, dimension)),
        Format::Json => Ok(Json(hits.into_iter().map(|h| hit(h, include)).collect::<Vec<_>>()).into_response()),
    }
}

#[utoipa::path(post, path = "/v1/collections/{name}/index", tag = "collections", params(("name" = String, Path)),
    responses((status = 204, description = "ANN index built"), (status = "default", body = ErrorBody, description = "error")))]
pub async fn build_index(
    State(st): State<AppState>,
    caller: Caller,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<StatusCode> {
    caller.require(Role::ReadWrite)?;
    caller.check_name("collection", &name)?;
    st.call(move |db| db.create_vector_index(&name)).await?;
    Ok(StatusCode::NO_CONTENT)
}
