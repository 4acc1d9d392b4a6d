//! The `/v1` routes, one module per engine subsystem, and the extractors
//! they share: every body, path and query rejection becomes the one error
//! shape (`crate::error`), never axum's plain-text default.

pub mod admin;
pub mod collections;
pub mod documents;
pub mod items;
pub mod memories;
pub mod states;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::Router;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::AppState;

/// A JSON body (any or no Content-Type), parsed with the path of the field
/// that failed in the message.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        if crate::arrow::is_arrow_body(req.headers()) {
            return Err(ApiError::invalid(
                "this route takes a JSON body; Arrow IPC bodies go to POST /v1/collections/{name}/vectors and \
                 POST /v1/memories/batch",
            ));
        }
        let bytes = body_bytes(req, state).await?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// The whole body, within `limits.max_body_bytes`.
async fn body_bytes(req: Request, state: &AppState) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state).await.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::payload_too_large(format!(
                "request body exceeds limits.max_body_bytes ({} bytes)",
                state.inner.config.limits.max_body_bytes
            ))
        } else {
            ApiError::invalid(r.body_text())
        }
    })
}

fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." {
            ApiError::invalid(format!("invalid JSON body: {inner}"))
        } else {
            ApiError::bad_request("invalid_argument", format!("invalid JSON body at `{path}`: {inner}"))
        }
    })?;
    de.end().map_err(|e| ApiError::invalid(format!("invalid JSON body: {e}")))?;
    Ok(value)
}

/// A bulk-insert request that may also arrive as an Arrow IPC stream
/// (`crate::arrow`); decoding yields the same value the JSON body would.
pub trait FromArrowStream: Sized {
    fn from_arrow_stream(bytes: &[u8]) -> Result<Self, ApiError>;
}

/// A JSON body, or an Arrow IPC stream when the Content-Type says so.
pub struct JsonOrArrow<T>(pub T);

impl<T: DeserializeOwned + FromArrowStream> FromRequest<AppState> for JsonOrArrow<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let arrow = crate::arrow::is_arrow_body(req.headers());
        let bytes = body_bytes(req, state).await?;
        if arrow {
            T::from_arrow_stream(&bytes).map(JsonOrArrow)
        } else {
            parse_json(&bytes).map(JsonOrArrow)
        }
    }
}

/// Path parameters; a malformed one (`/v1/agents/abc`) is a 400.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| ApiPath(p.0))
            .map_err(|r| ApiError::invalid(format!("invalid path parameter: {}", r.body_text())))
    }
}

/// Query parameters; a malformed one is a 400.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned> FromRequestParts<AppState> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|r| ApiError::invalid(format!("invalid query string: {}", r.body_text())))
    }
}

/// Every default the engine applies to an argument left out, and the open
/// options' defaults (`agentdb::defaults`): what this API applies too.
#[utoipa::path(get, path = "/v1/defaults", tag = "service",
    responses((status = 200, body = Object, description = "agentdb::defaults::defaults()"),
        (status = "default", body = crate::error::ErrorBody, description = "error")))]
pub async fn defaults(caller: crate::auth::Caller) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    caller.require(crate::config::Role::ReadOnly)?;
    Ok(([(axum::http::header::CONTENT_TYPE, "application/json")], agentdb::defaults::defaults_json()).into_response())
}

pub fn v1() -> Router<AppState> {
    Router::new()
        .route("/v1/defaults", get(defaults))
        // states
        .route("/v1/agents/{agent_id}", axum::routing::delete(states::delete_agent))
        .route(
            "/v1/agents/{agent_id}/sessions/{session_id}/states",
            post(states::save_state).get(states::state_history_page),
        )
        .route("/v1/agents/{agent_id}/sessions/{session_id}/states/by-key", get(states::load_state_by_key))
        .route("/v1/agents/{agent_id}/state", get(states::load_state))
        .route("/v1/agents/{agent_id}/sessions/{session_id}/states/{version}", get(states::load_state_version))
        .route("/v1/agents/{agent_id}/history", get(states::query_history))
        .route("/v1/agents/{agent_id}/sessions/{session_id}/snapshots", post(states::create_snapshot))
        .route("/v1/agents/{agent_id}/snapshots", get(states::list_snapshots))
        .route("/v1/agents/{agent_id}/snapshots/{name}/restore", post(states::restore_snapshot))
        // memories
        .route("/v1/memories", post(memories::store_memory))
        .route("/v1/memories/batch", post(memories::store_memories))
        .route(
            "/v1/memories/{memory_id}",
            get(memories::get_memory).patch(memories::update_memory).delete(memories::delete_memory),
        )
        .route("/v1/memories/{memory_id}/pin", put(memories::pin_memory).delete(memories::unpin_memory))
        .route("/v1/agents/{agent_id}/memories", get(memories::list_memories))
        .route("/v1/agents/{agent_id}/memories/retrieve", post(memories::retrieve))
        .route("/v1/agents/{agent_id}/memories/forget", post(memories::forget))
        .route("/v1/agents/{agent_id}/memories/consolidate", post(memories::consolidate))
        .route("/v1/embed", post(memories::embed))
        // documents
        .route("/v1/documents", post(documents::index_document))
        .route("/v1/documents/search", post(documents::search_documents))
        .route("/v1/documents/{doc_id}", get(documents::get_document).delete(documents::delete_document))
        // collections
        .route("/v1/collections", post(collections::create_collection).get(collections::list_collections))
        .route("/v1/collections/{name}", get(collections::get_collection))
        .route("/v1/collections/{name}/vectors", post(collections::upsert_vectors))
        .route("/v1/collections/{name}/vectors/{id}", get(collections::get_vector).delete(collections::delete_vector))
        .route("/v1/collections/{name}/search", post(collections::search_vectors))
        .route("/v1/collections/{name}/index", post(collections::build_index))
        // items: addresses travel in bodies (labels may hold '/'), so every route is a POST
        .route("/v1/items/put", post(items::put_item))
        .route("/v1/items/delete", post(items::delete_item))
        .route("/v1/items/write", post(items::write_items))
        .route("/v1/items/get", post(items::get_items))
        .route("/v1/items/search", post(items::search_items))
        .route("/v1/items/namespaces", post(items::list_namespaces))
        .route("/v1/items/sweep", post(items::sweep_items))
        // admin
        .route("/v1/admin/stats", get(admin::stats))
        .route("/v1/admin/flush", post(admin::flush))
        .route("/v1/admin/compact", post(admin::compact))
        .route("/v1/admin/gc", post(admin::gc))
}
