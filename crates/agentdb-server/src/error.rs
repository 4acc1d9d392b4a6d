//! The one error shape of the HTTP surface, and the one place where an
//! `agentdb::Error` (or a refusal of the server itself) becomes a status.
//!
//! Body: `{"code": "...", "message": "..."}`. `code` is the engine's
//! `Error::code()` for engine errors, so clients branch on the same names
//! every surface uses (a malformed JSON body is an `invalid_argument` too,
//! as a malformed argument is in the engine); the server's own refusals add
//! `unauthenticated`, `forbidden`, `too_many_requests`, `overloaded`,
//! `timeout`, `not_ready`, `method_not_allowed`, `not_acceptable` (406: an
//! `Accept` header a list route can serve neither JSON nor Arrow under).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Seconds a client should wait before retrying a 429 or 503.
pub const RETRY_AFTER_SECS: u64 = 1;

/// Every error response carries this body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable name (the engine's `Error::code()` for engine errors).
    pub code: String,
    /// Human-readable detail.
    pub message: String,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into() }
    }
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::bad_request("invalid_argument", message)
    }
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
    pub fn payload_too_large(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", message)
    }
    pub fn unavailable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, code, message)
    }
}

/// Engine error → status. Kept exhaustive over the codes rather than the
/// variants (`Error` is `#[non_exhaustive]`): a new variant with a new code
/// falls to 500 until it is mapped here.
pub fn status_of(code: &str) -> StatusCode {
    match code {
        "invalid_argument" | "dimension_mismatch" => StatusCode::BAD_REQUEST,
        "read_only" => StatusCode::FORBIDDEN,
        "not_found" => StatusCode::NOT_FOUND,
        "already_exists" => StatusCode::CONFLICT,
        "payload_too_large" => StatusCode::PAYLOAD_TOO_LARGE,
        "locked" => StatusCode::LOCKED,
        // cancelled: only the server itself holds cancel tokens (a client
        // cannot send one), so a cancelled call is the server giving up on
        // the request; nothing was changed and a retry is safe, which is
        // what 503 with Retry-After says. Not 408, which means the client
        // was too slow to send its request; not the non-standard 499.
        "closed" | "model_unavailable" | "cancelled" => StatusCode::SERVICE_UNAVAILABLE,
        // corrupted, io, storage, embedding: the server's fault, not the request's.
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<agentdb::Error> for ApiError {
    fn from(e: agentdb::Error) -> Self {
        let code = e.code();
        ApiError { status: status_of(code), code, message: e.to_string() }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // 503s (not ready, overloaded, timeout) are the server protecting
        // itself, logged by the trace layer; a 500 is a fault worth an error.
        if self.status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(code = self.code, status = self.status.as_u16(), "{}", self.message);
        }
        let body = ErrorBody { code: self.code.to_string(), message: self.message };
        let mut resp = (self.status, axum::Json(body)).into_response();
        let h = resp.headers_mut();
        if matches!(self.status, StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE) {
            h.insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            h.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        resp
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_engine_code_has_a_deliberate_status() {
        let cases = [
            (agentdb::Error::InvalidArgument("x".into()), 400),
            (agentdb::Error::DimensionMismatch { expected: 1, got: 2 }, 400),
            (agentdb::Error::PayloadTooLarge { size: 2, limit: 1 }, 413),
            (agentdb::Error::NotFound("x".into()), 404),
            (agentdb::Error::AlreadyExists("x".into()), 409),
            (agentdb::Error::Locked { path: "/x".into() }, 423),
            (agentdb::Error::ReadOnly, 403),
            (agentdb::Error::Closed, 503),
            (agentdb::Error::ModelUnavailable("x".into()), 503),
            (agentdb::Error::Cancelled, 503),
            (agentdb::Error::Corrupted("x".into()), 500),
            (agentdb::Error::Embedding("x".into()), 500),
        ];
        for (e, status) in cases {
            let code = e.code();
            assert_eq!(ApiError::from(e).status.as_u16(), status, "{code}");
        }
    }
}
