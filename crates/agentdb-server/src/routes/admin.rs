//! Database-wide maintenance: admin keys only (an admin key is never scoped).
//! The reports are the engine's own serialisations, passed through.

use std::time::Duration;

use agentdb::StateRetention;
use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use utoipa::ToSchema;

use super::JsonBody;
use crate::auth::Caller;
use crate::config::Role;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::AppState;

fn to_json<T: serde::Serialize>(v: &T) -> ApiResult<Json<serde_json::Value>> {
    serde_json::to_value(v)
        .map(Json)
        .map_err(|e| ApiError::new(axum::http::StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))
}

#[utoipa::path(get, path = "/v1/admin/stats", tag = "admin",
    responses((status = 200, body = Object, description = "AgentDb::stats: LSNs, memtable, WAL, cache, per-table rows/fragments/versions/bytes"),
        (status = "default", body = ErrorBody, description = "error")))]
pub async fn stats(State(st): State<AppState>, caller: Caller) -> ApiResult<Json<serde_json::Value>> {
    caller.require(Role::Admin)?;
    let s = st.call(|db| db.stats()).await?;
    to_json(&s)
}

#[utoipa::path(post, path = "/v1/admin/flush", tag = "admin",
    responses((status = 200, body = Object, description = "FlushReport"), (status = "default", body = ErrorBody, description = "error")))]
pub async fn flush(State(st): State<AppState>, caller: Caller) -> ApiResult<Json<serde_json::Value>> {
    caller.require(Role::Admin)?;
    let r = st.call(|db| db.flush()).await?;
    to_json(&r)
}

#[utoipa::path(post, path = "/v1/admin/compact", tag = "admin",
    responses((status = 200, body = Object, description = "MaintenanceReport"), (status = "default", body = ErrorBody, description = "error")))]
pub async fn compact(State(st): State<AppState>, caller: Caller) -> ApiResult<Json<serde_json::Value>> {
    caller.require(Role::Admin)?;
    let r = st.call(|db| db.compact()).await?;
    to_json(&r)
}

/// Neither field: the configured `engine.state_retention`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct GcRequest {
    /// Keep the newest N versions of each agent/session (N ≥ 1).
    pub keep_last: Option<u64>,
    /// Keep versions saved within this many milliseconds.
    pub keep_newer_than_ms: Option<u64>,
}

#[utoipa::path(post, path = "/v1/admin/gc", tag = "admin", request_body = GcRequest,
    responses((status = 200, body = Object, description = "GcReport"), (status = "default", body = ErrorBody, description = "error")))]
pub async fn gc(
    State(st): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<GcRequest>,
) -> ApiResult<Json<serde_json::Value>> {
    caller.require(Role::Admin)?;
    let r = if req.keep_last.is_none() && req.keep_newer_than_ms.is_none() {
        st.call(|db| db.gc()).await?
    } else {
        let retention = StateRetention {
            keep_last: req.keep_last,
            keep_newer_than: req.keep_newer_than_ms.map(Duration::from_millis),
        };
        st.call(move |db| db.gc_with(&retention)).await?
    };
    to_json(&r)
}
