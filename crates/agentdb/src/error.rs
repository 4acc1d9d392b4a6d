//! The one error type of the engine. Every surface (CLI, C ABI, server,
//! bindings) maps these variants to its own idiom, so each variant is
//! something a caller can act on, not a place where an error happened.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A caller-supplied value is out of range or malformed; nothing was changed.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// A payload is larger than `Options::max_payload_bytes`; nothing was changed.
    #[error("payload of {size} bytes exceeds the limit of {limit} bytes")]
    PayloadTooLarge { size: usize, limit: usize },

    /// The agent, session, version or snapshot does not exist.
    #[error("not found: {0}")]
    NotFound(String),

    /// A name that must be unique (a snapshot name per agent) is taken.
    #[error("already exists: {0}")]
    AlreadyExists(String),

    /// Stored bytes fail their checksum or cannot be decoded. Never served as data.
    #[error("corrupted data: {0}")]
    Corrupted(String),

    /// Another process holds the database open for writing.
    #[error("database at {path} is locked by another process (open it read-only to share it)")]
    Locked { path: PathBuf },

    /// A write was attempted through a read-only handle.
    #[error("database is open read-only")]
    ReadOnly,

    /// A text-only call needs the embedding model, and none is available.
    #[error("embedding model unavailable: {0}")]
    ModelUnavailable(String),

    /// The embedding model failed on this input.
    #[error("embedding failed: {0}")]
    Embedding(String),

    /// A vector's length differs from its collection's (or model's) dimension.
    #[error("dimension mismatch: expected {expected}, got {got}")]
    DimensionMismatch { expected: usize, got: usize },

    /// The database has been closed.
    #[error("database is closed")]
    Closed,

    /// The call's `CancelToken` was cancelled before it finished; nothing was changed.
    #[error("cancelled")]
    Cancelled,

    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),

    /// An error from the LanceDB storage layer.
    #[error("storage error: {0}")]
    Lance(#[from] lancedb::Error),

    #[error("arrow error: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
}

impl Error {
    pub(crate) fn invalid(msg: impl Into<String>) -> Self {
        Error::InvalidArgument(msg.into())
    }

    pub(crate) fn corrupted(msg: impl Into<String>) -> Self {
        Error::Corrupted(msg.into())
    }

    /// A stable machine-readable name for the variant, used by every surface
    /// (C status codes, HTTP bodies, `--json` output) so they never drift.
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidArgument(_) => "invalid_argument",
            Error::PayloadTooLarge { .. } => "payload_too_large",
            Error::NotFound(_) => "not_found",
            Error::AlreadyExists(_) => "already_exists",
            Error::Corrupted(_) => "corrupted",
            Error::Locked { .. } => "locked",
            Error::ReadOnly => "read_only",
            Error::Closed => "closed",
            Error::Cancelled => "cancelled",
            Error::ModelUnavailable(_) => "model_unavailable",
            Error::Embedding(_) => "embedding",
            Error::DimensionMismatch { .. } => "dimension_mismatch",
            Error::Io(_) => "io",
            Error::Lance(_) => "storage",
            Error::Arrow(_) => "storage",
        }
    }
}
