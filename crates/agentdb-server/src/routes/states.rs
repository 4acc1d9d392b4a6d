//! Agent state routes: save (optionally keyed), load (latest, by version,
//! by key), history and history pages, snapshots and restore, delete agent.
//! Every route names its agent in the path, checked against the caller's
//! scope before the engine is called. A state key is any UTF-8 text, so it
//! travels in the body or the query string, never as a path segment.

use std::collections::BTreeMap;

use agentdb::{AgentState, HistoryQuery, Snapshot, StateType};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{ApiPath, ApiQuery, JsonBody};
use crate::arrow::{Format, ResultFormat, StatesStream};
use crate::auth::Caller;
use crate::config::Role;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::AppState;

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StateTypeDto {
    WorkingMemory,
    LongTermMemory,
    Context,
    TaskState,
    Relationship,
    Embedding,
}

impl From<StateTypeDto> for StateType {
    fn from(t: StateTypeDto) -> Self {
        match t {
            StateTypeDto::WorkingMemory => StateType::WorkingMemory,
            StateTypeDto::LongTermMemory => StateType::LongTermMemory,
            StateTypeDto::Context => StateType::Context,
            StateTypeDto::TaskState => StateType::TaskState,
            StateTypeDto::Relationship => StateType::Relationship,
            StateTypeDto::Embedding => StateType::Embedding,
        }
    }
}

impl From<StateType> for StateTypeDto {
    fn from(t: StateType) -> Self {
        match t {
            StateType::WorkingMemory => StateTypeDto::WorkingMemory,
            StateType::LongTermMemory => StateTypeDto::LongTermMemory,
            StateType::Context => StateTypeDto::Context,
            StateType::TaskState => StateTypeDto::TaskState,
            StateType::Relationship => StateTypeDto::Relationship,
            StateType::Embedding => StateTypeDto::Embedding,
        }
    }
}

/// A state payload is bytes: send it as UTF-8 `data` or as `data_base64`
/// (exactly one).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaveStateRequest {
    #[serde(default = "default_state_type")]
    pub state_type: StateTypeDto,
    #[serde(default)]
    pub data: Option<String>,
    #[serde(default)]
    pub data_base64: Option<String>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// A key for this version (a checkpoint id, a step name): 1–1,024 bytes
    /// of any UTF-8. `GET …/states/by-key?key=` finds the newest version
    /// carrying it; keys may repeat.
    #[serde(default)]
    pub key: Option<String>,
}

fn default_state_type() -> StateTypeDto {
    agentdb::defaults::STATE_TYPE.into()
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SaveStateResponse {
    /// Assigned by the engine: 1, 2, 3… per (agent, session).
    pub version: u64,
}

/// One saved version. `data` holds the payload when it is UTF-8, otherwise
/// `data_base64` does.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StateDto {
    pub agent_id: u64,
    pub session_id: u64,
    pub version: u64,
    pub timestamp_ms: i64,
    pub state_type: StateTypeDto,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_base64: Option<String>,
    pub metadata: BTreeMap<String, String>,
    /// CRC32C of the payload bytes, verified by the engine on every read.
    pub checksum: u32,
    /// The key this version was saved with; null when unkeyed.
    pub key: Option<String>,
}

impl From<AgentState> for StateDto {
    fn from(s: AgentState) -> Self {
        let (data, data_base64) = match std::str::from_utf8(&s.data) {
            Ok(text) => (Some(text.to_string()), None),
            Err(_) => (None, Some(base64::engine::general_purpose::STANDARD.encode(&s.data))),
        };
        StateDto {
            agent_id: s.agent_id,
            session_id: s.session_id,
            version: s.version,
            timestamp_ms: s.timestamp_ms,
            state_type: s.state_type.into(),
            data,
            data_base64,
            metadata: s.metadata,
            checksum: s.checksum,
            key: s.key,
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SnapshotDto {
    pub agent_id: u64,
    pub session_id: u64,
    pub name: String,
    pub version: u64,
    pub created_at_ms: i64,
}

impl From<Snapshot> for SnapshotDto {
    fn from(s: Snapshot) -> Self {
        SnapshotDto {
            agent_id: s.agent_id,
            session_id: s.session_id,
            name: s.name,
            version: s.version,
            created_at_ms: s.created_at_ms,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSnapshotRequest {
    /// 1–128 bytes of `[A-Za-z0-9_.:-]`, unique per agent.
    pub name: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LoadQuery {
    /// The session; absent: the agent's most recently saved session.
    pub session_id: Option<u64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryParams {
    pub session_id: Option<u64>,
    /// Inclusive lower bound on `timestamp_ms`.
    pub from_ms: Option<i64>,
    /// Inclusive upper bound on `timestamp_ms`.
    pub to_ms: Option<i64>,
    /// 1..=100000, default 100.
    pub limit: Option<usize>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct KeyQuery {
    /// The exact key (1–1,024 bytes, percent-encoded like any query value).
    pub key: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Only versions below this one; absent: from the latest. Pass the last
    /// version of a page to get the next.
    pub before_version: Option<u64>,
    /// 1..=100000, default 100.
    pub limit: Option<usize>,
}

/// A list of states as JSON or in the engine's Arrow layout.
fn states_response(format: Format, rows: Vec<AgentState>) -> ApiResult<Response> {
    match format {
        Format::Arrow => crate::arrow::stream_response(agentdb::export::states_batch(&rows)),
        Format::Json => Ok(Json(rows.into_iter().map(StateDto::from).collect::<Vec<_>>()).into_response()),
    }
}

#[utoipa::path(post, path = "/v1/agents/{agent_id}/sessions/{session_id}/states", tag = "states",
    params(("agent_id" = u64, Path), ("session_id" = u64, Path)),
    request_body = SaveStateRequest,
    responses((status = 200, body = SaveStateResponse), (status = "default", body = ErrorBody, description = "error")))]
pub async fn save_state(
    State(st): State<AppState>,
    caller: Caller,
    ApiPath((agent_id, session_id)): ApiPath<(u64, u64)>,
    JsonBody(req): JsonBody<SaveStateRequest>,
) -> ApiResult<Json<SaveStateResponse>> {
    caller.require(Role::ReadWrite)?;
    caller.check_agent(agent_id)?;
    let data = match (req.data, req.data_base64) {
        (Some(d), None) => d.into_bytes(),
        (None, Some(b)) => base64::engine::general_purpose::STANDARD
            .decode(b.as_bytes())
            .map_err(|e| ApiError::invalid(format!("data_base64 is not base64: {e}")))?,
        _ => return Err(ApiError::invalid("give exactly one of data (UTF-8 text) and data_base64")),
    };
    let state_type: StateType = req.state_type.into();
    let version = st
        .call(move |db| match &req.key {
            Some(key) => db.save_state_keyed(agent_id, session_id, key, state_type, &data, req.metadata),
            None => db.save_state_with_metadata(agent_id, session_id, state_type, &data, req.metadata),
        })
        .await?;
    Ok(Json(SaveStateResponse { version }))
}

#[utoipa::path(get, path = "/v1/agents/{agent_id}/sessions/{session_id}/states", tag = "states",
    params(("agent_id" = u64, Path), ("session_id" = u64, Path), PageParams),
    responses((status = 200, description = "one page, newest first by version; empty for an unknown session",
            content((Vec<StateDto> = "application/json"), (StatesStream = "application/vnd.apache.arrow.stream"))),
        (status = "default", body = ErrorBody, description = "error")))]
pub async fn state_history_page(
    State(st): State<AppState>,
    caller: Caller,
    ResultFormat(format): ResultFormat,
    ApiPath((agent_id, session_id)): ApiPath<(u64, u64)>,
    ApiQuery(p): ApiQuery<PageParams>,
) -> ApiResult<Response> {
    caller.require(Role::ReadOnly)?;
    caller.check_agent(agent_id)?;
    let limit = p.limit.unwrap_or_else(agentdb::defaults::history_limit);
    let rows = st.call(move |db| db.state_history_page(agent_id, session_id, p.before_version, limit)).await?;
    states_response(format, rows)
}

#[utoipa::path(get, path = "/v1/agents/{agent_id}/sessions/{session_id}/states/by-key", tag = "states",
    params(("agent_id" = u64, Path), ("session_id" = u64, Path), KeyQuery),
    responses((status = 200, body = StateDto, description = "the newest version saved with exactly this key"),
        (status = "default", body = ErrorBody, description = "error")))]
pub async fn load_state_by_key(
    State(st): State<AppState>,
    caller: Caller,
    ApiPath((agent_id, session_id)): ApiPath<(u64, u64)>,
    ApiQuery(q): ApiQuery<KeyQuery>,
) -> ApiResult<Json<StateDto>> {
    caller.require(Role::ReadOnly)?;
    caller.check_agent(agent_id)?;
    let s = st.call(move |db| db.load_state_by_key(agent_id, session_id, &q.key)).await?;
    Ok(Json(s.into()))
}

#[utoipa::path(get, path = "/v1/agents/{agent_id}/state", tag = "states",
    params(("agent_id" = u64, Path), LoadQuery),
    responses((status = 200, body = StateDto), (status = "default", body = ErrorBody, description = "error")))]
pub async fn load_state(
    State(st): State<AppState>,
    caller: Caller,
    ApiPath(agent_id): ApiPath<u64>,
    ApiQuery(q): ApiQuery<LoadQuery>,
) -> ApiResult<Json<StateDto>> {
    caller.require(Role::ReadOnly)?;
    caller.check_agent(agent_id)?;
    let s = st.call(move |db| db.load_state(agent_id, q.session_id)).await?;
    Ok(Json(s.into()))
}

#[utoipa::path(get, path = "/v1/agents/{agent_id}/sessions/{session_id}/states/{version}", tag = "states",
    params(("agent_id" = u64, Path), ("session_id" = u64, Path), ("version" = u64, Path)),
    responses((status = 200, body = StateDto), (status = "default", body = ErrorBody, description = "error")))]
pub async fn load_state_version(
    State(st): State<AppState>,
    caller: Caller,
    ApiPath((agent_id, session_id, version)): ApiPath<(u64, u64, u64)>,
) -> ApiResult<Json<StateDto>> {
    caller.require(Role::ReadOnly)?;
    caller.check_agent(agent_id)?;
    let s = st.call(move |db| db.load_state_version(agent_id, session_id, version)).await?;
    Ok(Json(s.into()))
}

#[utoipa::path(get, path = "/v1/agents/{agent_id}/history", tag = "states",
    params(("agent_id" = u64, Path), HistoryParams),
    responses((status = 200, description = "newest first",
            content((Vec<StateDto> = "application/json"), (StatesStream = "application/vnd.apache.arrow.stream"))),
        (status = "default", body = ErrorBody, description = "error")))]
pub async fn query_history(
    State(st): State<AppState>,
    caller: Caller,
    ResultFormat(format): ResultFormat,
    ApiPath(agent_id): ApiPath<u64>,
    ApiQuery(p): ApiQuery<HistoryParams>,
) -> ApiResult<Response> {
    caller.require(Role::ReadOnly)?;
    caller.check_agent(agent_id)?;
    let mut q = HistoryQuery::new(agent_id).between(p.from_ms, p.to_ms);
    q.session_id = p.session_id;
    if let Some(l) = p.limit {
        q = q.limit(l);
    }
    let rows = st.call(move |db| db.query_history(&q)).await?;
    states_response(format, rows)
}

#[utoipa::path(post, path = "/v1/agents/{agent_id}/sessions/{session_id}/snapshots", tag = "states",
    params(("agent_id" = u64, Path), ("session_id" = u64, Path)),
    request_body = CreateSnapshotRequest,
    responses((status = 200, body = SnapshotDto), (status = "default", body = ErrorBody, description = "error")))]
pub async fn create_snapshot(
    State(st): State<AppState>,
    caller: Caller,
    ApiPath((agent_id, session_id)): ApiPath<(u64, u64)>,
    JsonBody(req): JsonBody<CreateSnapshotRequest>,
) -> ApiResult<Json<SnapshotDto>> {
    caller.require(Role::ReadWrite)?;
    caller.check_agent(agent_id)?;
    let s = st.call(move |db| db.create_snapshot(agent_id, session_id, &req.name)).await?;
    Ok(Json(s.into()))
}

#[utoipa::path(get, path = "/v1/agents/{agent_id}/snapshots", tag = "states",
    params(("agent_id" = u64, Path)),
    responses((status = 200, body = Vec<SnapshotDto>, description = "oldest first"), (status = "default", body = ErrorBody, description = "error")))]
pub async fn list_snapshots(
    State(st): State<AppState>,
    caller: Caller,
    ApiPath(agent_id): ApiPath<u64>,
) -> ApiResult<Json<Vec<SnapshotDto>>> {
    caller.require(Role::ReadOnly)?;
    caller.check_agent(agent_id)?;
    let list = st.call(move |db| db.list_snapshots(agent_id)).await?;
    Ok(Json(list.into_iter().map(SnapshotDto::from).collect()))
}

#[utoipa::path(post, path = "/v1/agents/{agent_id}/snapshots/{name}/restore", tag = "states",
    params(("agent_id" = u64, Path), ("name" = String, Path)),
    responses((status = 200, body = StateDto, description = "the new latest version"), (status = "default", body = ErrorBody, description = "error")))]
pub async fn restore_snapshot(
    State(st): State<AppState>,
    caller: Caller,
    ApiPath((agent_id, name)): ApiPath<(u64, String)>,
) -> ApiResult<Json<StateDto>> {
    caller.require(Role::ReadWrite)?;
    caller.check_agent(agent_id)?;
    let s = st.call(move |db| db.restore_snapshot(agent_id, &name)).await?;
    Ok(Json(s.into()))
}

#[utoipa::path(delete, path = "/v1/agents/{agent_id}", tag = "states",
    params(("agent_id" = u64, Path)),
    responses((status = 204, description = "every state version and snapshot of the agent removed"), (status = "default", body = ErrorBody, description = "error")))]
pub async fn delete_agent(
    State(st): State<AppState>,
    caller: Caller,
    ApiPath(agent_id): ApiPath<u64>,
) -> ApiResult<StatusCode> {
    caller.require(Role::ReadWrite)?;
    caller.check_agent(agent_id)?;
    st.call(move |db| db.delete_agent(agent_id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
