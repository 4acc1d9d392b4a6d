//! Memory routes. Routes that name an agent check it against the caller's
//! scope; routes that name a memory by id read it first and check the
//! agent it belongs to (a memory never changes agent), so a scoped key
//! cannot reach another agent's memory by guessing ids.

use std::collections::BTreeMap;
use std::time::Duration;

use agentdb::{
    ConsolidationReport, ForgetPolicy, Memory, MemoryFilter, MemoryType, NewMemory, RetrieveOptions, ScoredMemory,
    StoreKind, StoreOutcome,
};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ApiPath, FromArrowStream, JsonBody, JsonOrArrow};
use crate::arrow::{Format, MemoriesStream, ResultFormat, ScoredMemoriesStream};
use crate::auth::Caller;
use crate::config::Role;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MemoryTypeDto {
    Episodic,
    Semantic,
    Procedural,
    Working,
}

impl From<MemoryTypeDto> for MemoryType {
    fn from(t: MemoryTypeDto) -> Self {
        match t {
            MemoryTypeDto::Episodic => MemoryType::Episodic,
            MemoryTypeDto::Semantic => MemoryType::Semantic,
            MemoryTypeDto::Procedural => MemoryType::Procedural,
            MemoryTypeDto::Working => MemoryType::Working,
        }
    }
}

impl From<MemoryType> for MemoryTypeDto {
    fn from(t: MemoryType) -> Self {
        match t {
            MemoryType::Episodic => MemoryTypeDto::Episodic,
            MemoryType::Semantic => MemoryTypeDto::Semantic,
            MemoryType::Procedural => MemoryTypeDto::Procedural,
            MemoryType::Working => MemoryTypeDto::Working,
        }
    }
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StoreMemoryRequest {
    pub agent_id: u64,
    /// Default: the engine's (`agentdb::defaults::MEMORY_TYPE`).
    #[serde(default = "default_memory_type")]
    pub memory_type: MemoryTypeDto,
    pub content: String,
    /// Absent: the content is embedded by the server's model.
    #[serde(default)]
    pub embedding: Option<Vec<f32>>,
    /// 0..=1, default 0.5.
    #[serde(default)]
    pub importance: Option<f32>,
    /// Time to live from now, in milliseconds.
    #[serde(default)]
    pub ttl_ms: Option<u64>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

impl From<StoreMemoryRequest> for NewMemory {
    fn from(r: StoreMemoryRequest) -> Self {
        let mut m = NewMemory::new(r.agent_id, r.memory_type.into(), r.content);
        m.embedding = r.embedding;
        if let Some(i) = r.importance {
            m.importance = i;
        }
        m.ttl = r.ttl_ms.map(Duration::from_millis);
        m.metadata = r.metadata;
        m
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StoreKindDto {
    Stored,
    Duplicate,
    Merged,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StoreOutcomeDto {
    /// The memory that now holds the content: new, or the one it merged into.
    pub memory_id: u64,
    pub kind: StoreKindDto,
    /// Ids that no longer exist after a merge.
    pub absorbed: Vec<u64>,
    /// Memories deleted to respect the per-agent-and-type limit.
    pub evicted: Vec<u64>,
}

impl From<StoreOutcome> for StoreOutcomeDto {
    fn from(o: StoreOutcome) -> Self {
        let (kind, absorbed) = match o.kind {
            StoreKind::Stored => (StoreKindDto::Stored, Vec::new()),
            StoreKind::Duplicate => (StoreKindDto::Duplicate, Vec::new()),
            StoreKind::Merged { absorbed } => (StoreKindDto::Merged, absorbed),
            // StoreKind is not non_exhaustive today; if it grows, this reads as
            // "stored" until mapped rather than failing the request.
        };
        StoreOutcomeDto { memory_id: o.memory_id, kind, absorbed, evicted: o.evicted }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StoreMemoriesRequest {
    pub memories: Vec<StoreMemoryRequest>,
}

impl FromArrowStream for StoreMemoriesRequest {
    fn from_arrow_stream(bytes: &[u8]) -> ApiResult<Self> {
        Ok(StoreMemoriesRequest { memories: crate::arrow::memories_from_stream(bytes)? })
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StoreMemoriesResponse {
    pub outcomes: Vec<StoreOutcomeDto>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MemoryDto {
    pub memory_id: u64,
    pub agent_id: u64,
    pub memory_type: MemoryTypeDto,
    pub content: String,
    pub embedding: Vec<f32>,
    pub importance: f32,
    pub access_count: u64,
    pub last_access_ms: i64,
    pub created_at_ms: i64,
    pub expires_at_ms: Option<i64>,
    pub metadata: BTreeMap<String, String>,
    pub pinned: bool,
}

impl From<Memory> for MemoryDto {
    fn from(m: Memory) -> Self {
        MemoryDto {
            memory_id: m.memory_id,
            agent_id: m.agent_id,
            memory_type: m.memory_type.into(),
            content: m.content,
            embedding: m.embedding,
            importance: m.importance,
            access_count: m.access_count,
            last_access_ms: m.last_access_ms,
            created_at_ms: m.created_at_ms,
            expires_at_ms: m.expires_at_ms,
            metadata: m.metadata,
            pinned: m.pinned,
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ScoredMemoryDto {
    pub memory: MemoryDto,
    pub score: f32,
    pub relevance: f32,
    pub recency: f32,
}

impl From<ScoredMemory> for ScoredMemoryDto {
    fn from(s: ScoredMemory) -> Self {
        ScoredMemoryDto { memory: s.memory.into(), score: s.score, relevance: s.relevance, recency: s.recency }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMemoryRequest {
    /// 0..=1.
    pub importance: f32,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct MemoryFilterDto {
    /// Only these types (empty: all).
    pub memory_types: Vec<MemoryTypeDto>,
    pub created_after_ms: Option<i64>,
    pub created_before_ms: Option<i64>,
    /// Every entry must equal the memory's metadata value.
    pub metadata: BTreeMap<String, String>,
}

impl From<MemoryFilterDto> for MemoryFilter {
    fn from(f: MemoryFilterDto) -> Self {
        MemoryFilter {
            memory_types: f.memory_types.into_iter().map(MemoryType::from).collect(),
            created_after_ms: f.created_after_ms,
            created_before_ms: f.created_before_ms,
            metadata: f.metadata,
        }
    }
}

/// Exactly one of `query` (text, embedded by the server) and `vector`.
/// Absent weights take the engine's defaults.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetrieveRequest {
    #[serde(default)]
    pub query: Option<String>,
    #[serde(default)]
    pub vector: Option<Vec<f32>>,
    /// 1..=10000, default 10.
    #[serde(default = "default_retrieve_limit")]
    pub limit: usize,
    #[serde(default)]
    pub filter: MemoryFilterDto,
    #[serde(default)]
    pub relevance_weight: Option<f32>,
    #[serde(default)]
    pub importance_weight: Option<f32>,
    #[serde(default)]
    pub recency_weight: Option<f32>,
    #[serde(default)]
    pub recency_half_life_ms: Option<u64>,
    #[serde(default)]
    pub candidate_factor: Option<usize>,
    /// Count this retrieval as an access (default true; always false for read-only keys).
    #[serde(default)]
    pub record_access: Option<bool>,
}

fn default_memory_type() -> MemoryTypeDto {
    agentdb::defaults::MEMORY_TYPE.into()
}

fn default_retrieve_limit() -> usize {
    agentdb::defaults::RETRIEVE_LIMIT
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ForgetRequest {
    /// Default 30 days.
    pub older_than_ms: Option<u64>,
    /// Default 0.1.
    pub min_importance: Option<f32>,
    /// Default 30 days.
    pub decay_half_life_ms: Option<u64>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ForgetResponse {
    pub forgotten: usize,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MergeGroupDto {
    pub memory_type: MemoryTypeDto,
    pub kept: u64,
    pub absorbed: Vec<u64>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ConsolidationDto {
    pub agent_id: u64,
    pub examined: usize,
    pub groups: Vec<MergeGroupDto>,
    pub remaining: usize,
}

impl From<ConsolidationReport> for ConsolidationDto {
    fn from(r: ConsolidationReport) -> Self {
        ConsolidationDto {
            agent_id: r.agent_id,
            examined: r.examined,
            groups: r
                .groups
                .into_iter()
                .map(|g| MergeGroupDto { memory_type: g.memory_type.into(), kept: g.kept, absorbed: g.absorbed })
                .collect(),
            remaining: r.remaining,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmbedRequest {
    pub texts: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EmbedResponse {
    pub vectors: Vec<Vec<f32>>,
}

/// Reads the memory and checks the caller may touch its agent. Unscoped
/// callers skip the read: the engine reports a missing id itself.
async fn check_memory_owner(st: &AppState, caller: &Caller, memory_id: u64) -> ApiResult<()> {
    if caller.is_unscoped() {
        return Ok(());
    }
    let m = st.call(move |db| db.get_memory(memory_id)).await?;
    caller.check_agent(m.agent_id)
}

#[utoipa::path(post, path = "/v1/memories", tag = "memories", request_body = StoreMemoryRequest,
    responses((status = 200, body = StoreOutcomeDto), (status = "default", body = ErrorBody, description = "error")))]
pub async fn store_memory(
    State(st): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<StoreMemoryRequest>,
) -> ApiResult<Json<StoreOutcomeDto>> {
    caller.require(Role::ReadWrite)?;
    caller.check_agent(req.agent_id)?;
    let new: NewMemory = req.into();
    let o = st.call(move |db| db.store_memory_outcome(new)).await?;
    Ok(Json(o.into()))
}

#[utoipa::path(post, path = "/v1/memories/batch", tag = "memories",
    request_body(description = "JSON, or an Arrow IPC stream of the same memories",
        content((StoreMemoriesRequest = "application/json"), (MemoriesStream = "application/vnd.apache.arrow.stream"))),
    responses((status = 200, body = StoreMemoriesResponse, description = "one outcome per item, in order"), (status = "default", body = ErrorBody, description = "error")))]
pub async fn store_memories(
    State(st): State<AppState>,
    caller: Caller,
    JsonOrArrow(req): JsonOrArrow<StoreMemoriesRequest>,
) -> ApiResult<Json<StoreMemoriesResponse>> {
    caller.require(Role::ReadWrite)?;
    for m in &req.memories {
        caller.check_agent(m.agent_id)?;
    }
    let batch: Vec<NewMemory> = req.memories.into_iter().map(NewMemory::from).collect();
    let outcomes = st.call(move |db| db.store_memories_outcome(batch)).await?;
    Ok(Json(StoreMemoriesResponse { outcomes: outcomes.into_iter().map(StoreOutcomeDto::from).collect() }))
}

#[utoipa::path(get, path = "/v1/memories/{memory_id}", tag = "memories", params(("memory_id" = u64, Path)),
    responses((status = 200, body = MemoryDto), (status = "default", body = ErrorBody, description = "error")))]
pub async fn get_memory(
    State(st): State<AppState>,
    caller: Caller,
    ApiPath(memory_id): ApiPath<u64>,
) -> ApiResult<Json<MemoryDto>> {
    caller.require(Role::ReadOnly)?;
    let m = st.call(move |db| db.get_memory(memory_id)).await?;
    caller.check_agent(m.agent_id)?;
    Ok(Json(m.into()))
}

#[utoipa::path(patch, path = "/v1/memories/{memory_id}", tag = "memories", params(("memory_id" = u64, Path)),
    request_body = UpdateMemoryRequest,
    responses((status = 204, description = "updated"), (status = "default", body = ErrorBody, description = "error")))]
pub async fn update_memory(
    State(st): State<AppState>,
    caller: Caller,
    ApiPath(memory_id): ApiPath<u64>,
    JsonBody(req): JsonBody<UpdateMemoryRequest>,
) -> ApiResult<StatusCode> {
    write_memory(&st, &caller, memory_id, move |db| db.update_memory_importance(memory_id, req.importance)).await
}

#[utoipa::path(delete, path = "/v1/memories/{memory_id}", tag = "memories", params(("memory_id" = u64, Path)),
    responses((status = 204, description = "deleted (pinned or not)"), (status = "default", body = ErrorBody, description = "error")))]
pub async fn delete_memory(
    State(st): State<AppState>,
    caller: Caller,
    ApiPath(memory_id): ApiPath<u64>,
) -> ApiResult<StatusCode> {
    write_memory(&st, &caller, memory_id, move |db| db.delete_memory(memory_id)).await
}

#[utoipa::path(put, path = "/v1/memories/{memory_id}/pin", tag = "memories", params(("memory_id" = u64, Path)),
    responses((status = 204, description = "pinned (idempotent)"), (status = "default", body = ErrorBody, description = "error")))]
pub async fn pin_memory(
    State(st): State<AppState>,
    caller: Caller,
    ApiPath(memory_id): ApiPath<u64>,
) -> ApiResult<StatusCode> {
    write_memory(&st, &caller, memory_id, move |db| db.pin_memory(memory_id)).await
}

#[utoipa::path(delete, path = "/v1/memories/{memory_id}/pin", tag = "memories", params(("memory_id" = u64, Path)),
    responses((status = 204, description = "unpinned"), (status = "default", body = ErrorBody, description = "error")))]
pub async fn unpin_memory(
    State(st): State<AppState>,
    caller: Caller,
    ApiPath(memory_id): ApiPath<u64>,
) -> ApiResult<StatusCode> {
    write_memory(&st, &caller, memory_id, move |db| db.unpin_memory(memory_id)).await
}

#[utoipa::path(get, path = "/v1/agents/{agent_id}/memories", tag = "memories", params(("agent_id" = u64, Path)),
    responses((status = 200, body = Vec<MemoryDto>, description = "live memories, oldest first"), (status = "default", body = ErrorBody, description = "error")))]
pub async fn list_memories(
    State(st): State<AppState>,
    caller: Caller,
    ApiPath(agent_id): ApiPath<u64>,
) -> ApiResult<Json<Vec<MemoryDto>>> {
    caller.require(Role::ReadOnly)?;
    caller.check_agent(agent_id)?;
    let list = st.call(move |db| db.list_memories(agent_id)).await?;
    Ok(Json(list.into_iter().map(MemoryDto::from).collect()))
}

#[utoipa::path(post, path = "/v1/agents/{agent_id}/memories/retrieve", tag = "memories", params(("agent_id" = u64, Path)),
    request_body = RetrieveRequest,
    responses((status = 200, description = "best first",
            content((Vec<ScoredMemoryDto> = "application/json"), (ScoredMemoriesStream = "application/vnd.apache.arrow.stream"))),
        (status = "default", body = ErrorBody, description = "error")))]
pub async fn retrieve(
    State(st): State<AppState>,
    caller: Caller,
    ResultFormat(format): ResultFormat,
    ApiPath(agent_id): ApiPath<u64>,
    JsonBody(req): JsonBody<RetrieveRequest>,
) -> ApiResult<Response> {
    caller.require(Role::ReadOnly)?;
    caller.check_agent(agent_id)?;
    let d = RetrieveOptions::default();
    let opts = RetrieveOptions {
        filter: req.filter.into(),
        relevance_weight: req.relevance_weight.unwrap_or(d.relevance_weight),
        importance_weight: req.importance_weight.unwrap_or(d.importance_weight),
        recency_weight: req.recency_weight.unwrap_or(d.recency_weight),
        recency_half_life: req.recency_half_life_ms.map_or(d.recency_half_life, Duration::from_millis),
        candidate_factor: req.candidate_factor.unwrap_or(d.candidate_factor),
        // Recording an access is a write: a read-only key retrieves without it.
        record_access: !caller.is_read_only() && req.record_access.unwrap_or(d.record_access),
    };
    let limit = req.limit;
    let hits = match (req.query, req.vector) {
        (Some(q), None) => st.call_cancellable(move |db| db.retrieve(agent_id, &q, limit, &opts)).await?,
        (None, Some(v)) => st.call_cancellable(move |db| db.retrieve_similar(agent_id, &v, limit, &opts)).await?,
        _ => return Err(ApiError::invalid("give exactly one of query (text) and vector")),
    };
    match format {
        Format::Arrow => {
            crate::arrow::stream_response(agentdb::export::scored_memories_batch(&hits, st.memory_dimension()?))
        }
        Format::Json => Ok(Json(hits.into_iter().map(ScoredMemoryDto::from).collect::<Vec<_>>()).into_response()),
    }
}

#[utoipa::path(post, path = "/v1/agents/{agent_id}/memories/forget", tag = "memories", params(("agent_id" = u64, Path)),
    request_body = ForgetRequest,
    responses((status = 200, body = ForgetResponse), (status = "default", body = ErrorBody, description = "error")))]
pub async fn forget(
    State(st): State<AppState>,
    caller: Caller,
    ApiPath(agent_id): ApiPath<u64>,
    JsonBody(req): JsonBody<ForgetRequest>,
) -> ApiResult<Json<ForgetResponse>> {
    caller.require(Role::ReadWrite)?;
    caller.check_agent(agent_id)?;
    let d = ForgetPolicy::default();
    let policy = ForgetPolicy {
        older_than: req.older_than_ms.map_or(d.older_than, Duration::from_millis),
        min_importance: req.min_importance.unwrap_or(d.min_importance),
        decay_half_life: req.decay_half_life_ms.map_or(d.decay_half_life, Duration::from_millis),
    };
    let forgotten = st.call(move |db| db.forget(agent_id, &policy)).await?;
    Ok(Json(ForgetResponse { forgotten }))
}

#[utoipa::path(post, path = "/v1/agents/{agent_id}/memories/consolidate", tag = "memories", params(("agent_id" = u64, Path)),
    responses((status = 200, body = ConsolidationDto), (status = "default", body = ErrorBody, description = "error")))]
pub async fn consolidate(
    State(st): State<AppState>,
    caller: Caller,
    ApiPath(agent_id): ApiPath<u64>,
) -> ApiResult<Json<ConsolidationDto>> {
    caller.require(Role::ReadWrite)?;
    caller.check_agent(agent_id)?;
    let r = st.call(move |db| db.consolidate(agent_id)).await?;
    Ok(Json(r.into()))
}

#[utoipa::path(post, path = "/v1/embed", tag = "memories", request_body = EmbedRequest,
    responses((status = 200, body = EmbedResponse, description = "one vector per text"), (status = "default", body = ErrorBody, description = "error")))]
pub async fn embed(
    State(st): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<EmbedRequest>,
) -> ApiResult<Json<EmbedResponse>> {
    caller.require(Role::ReadOnly)?;
    let vectors = st
        .call(move |db| {
            let texts: Vec<&str> = req.texts.iter().map(String::as_str).collect();
            db.embed(&texts)
        })
        .await?;
    Ok(Json(EmbedResponse { vectors }))
}

/// A change to one memory by id: a read-write key whose agent scope holds
/// the memory's agent (checked before the engine is called); 204 on success.
async fn write_memory(
    st: &AppState,
    caller: &Caller,
    memory_id: u64,
    change: impl FnOnce(&agentdb::AgentDb) -> agentdb::Result<()> + Send + 'static,
) -> ApiResult<StatusCode> {
    caller.require(Role::ReadWrite)?;
    check_memory_owner(st, caller, memory_id).await?;
    st.call(change).await?;
    Ok(StatusCode::NO_CONTENT)
}
