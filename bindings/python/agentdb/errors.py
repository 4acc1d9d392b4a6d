"""The exceptions of AgentDB.

Every engine error is an :class:`AgentDBError` whose ``code`` is the engine's
stable error name (``Error::code()`` in Rust; the same names the C ABI, the
CLI's ``--json`` output and ``tests/conformance`` use). Each code has one
class; input errors are also ``ValueError`` and missing things also
``LookupError``, so generic ``except`` clauses keep working.
"""

from __future__ import annotations

__all__ = [
    "AgentDBError",
    "InvalidArgumentError",
    "DimensionMismatchError",
    "PayloadTooLargeError",
    "NotFoundError",
    "AlreadyExistsError",
    "CorruptedError",
    "LockedError",
    "ReadOnlyError",
    "ClosedError",
    "CancelledError",
    "ModelUnavailableError",
    "EmbeddingError",
    "StorageError",
    "UnauthenticatedError",
    "ForbiddenError",
]


class AgentDBError(Exception):
    """Base class of every AgentDB error. ``code`` is the engine's error name."""

    code: str = "agentdb"

    def __init__(self, message: str = "", code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class InvalidArgumentError(AgentDBError, ValueError):
    """A value is out of range or malformed; nothing was changed."""

    code = "invalid_argument"


class DimensionMismatchError(InvalidArgumentError):
    """A vector's length differs from its collection's (or the model's) dimension."""

    code = "dimension_mismatch"


class PayloadTooLargeError(AgentDBError):
    """A payload exceeds ``max_payload_bytes`` (or a content/document limit)."""

    code = "payload_too_large"


class NotFoundError(AgentDBError, LookupError):
    """The agent, session, version, snapshot, memory, document, collection or vector does not exist."""

    code = "not_found"


class AlreadyExistsError(AgentDBError):
    """A name that must be unique (snapshot, collection) is taken."""

    code = "already_exists"


class CorruptedError(AgentDBError):
    """Stored bytes fail their checksum or cannot be decoded; never served as data."""

    code = "corrupted"


class LockedError(AgentDBError):
    """Another handle holds the database open for writing (open it read-only to share it)."""

    code = "locked"


class ReadOnlyError(AgentDBError):
    """A write was attempted through a read-only handle."""

    code = "read_only"


class ClosedError(AgentDBError):
    """The database has been closed."""

    code = "closed"


class CancelledError(AgentDBError):
    """The call's cancel token was cancelled before it finished; nothing was changed.

    Not :class:`asyncio.CancelledError`: this is an engine error from a
    cancellable call (the C ABI's and Go's long searches). The Python API
    does not take cancel tokens yet, so it raises this only if a future
    engine call does.
    """

    code = "cancelled"


class ModelUnavailableError(AgentDBError):
    """A text call needs the embedding model and none is installed (pass vectors, or install it)."""

    code = "model_unavailable"


class EmbeddingError(AgentDBError):
    """The embedding model failed on this input."""

    code = "embedding"


class StorageError(AgentDBError):
    """An I/O (``code == "io"``) or LanceDB storage (``code == "storage"``) failure."""

    code = "storage"


class UnauthenticatedError(AgentDBError, PermissionError):
    """The server refused the request's API key (missing or unknown): remote client only."""

    code = "unauthenticated"


class ForbiddenError(AgentDBError, PermissionError):
    """The server's API key may not do this (its role, or an agent or namespace outside its
    scope): remote client only."""

    code = "forbidden"


_BY_CODE: dict[str, type[AgentDBError]] = {
    "invalid_argument": InvalidArgumentError,
    "dimension_mismatch": DimensionMismatchError,
    "payload_too_large": PayloadTooLargeError,
    "not_found": NotFoundError,
    "already_exists": AlreadyExistsError,
    "corrupted": CorruptedError,
    "locked": LockedError,
    "read_only": ReadOnlyError,
    "closed": ClosedError,
    "cancelled": CancelledError,
    "model_unavailable": ModelUnavailableError,
    "embedding": EmbeddingError,
    "io": StorageError,
    "storage": StorageError,
    # The server's own refusals (crates/agentdb-server/src/error.rs); its
    # other codes (too_many_requests, overloaded, timeout, not_ready…) are
    # plain AgentDBError with that code.
    "unauthenticated": UnauthenticatedError,
    "forbidden": ForbiddenError,
}


def _from_engine(code: str, message: str) -> AgentDBError:
    """The exception for an error code: called by the native module, and by the
    remote client with the server's ``{"code", "message"}``."""
    return _BY_CODE.get(code, AgentDBError)(message, code)
