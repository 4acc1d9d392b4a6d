"""AgentDB: an embedded state database for AI agents, on LanceDB.

>>> import agentdb
>>> with agentdb.connect("./agent-data") as db:                # doctest: +SKIP
...     v = db.states.save(7, 1, b'{"step": 1}')
...     assert db.states.load(7, 1).version == v

Namespaces: ``db.states`` (versioned agent state, snapshots), ``db.memories``
(memories with similarity retrieval), ``db.rag`` (documents; semantic,
full-text and hybrid search), ``db.vectors`` (vector collections),
``db.items`` (JSON values by namespace and key, with filters and TTL). The
asyncio twin is :func:`connect_async` / :class:`AsyncAgentDB`;
``connect("http://host:port", api_key=...)`` gives the same API over a server
(:class:`RemoteAgentDB`).

Semantics: SPEC.md in the repository; Python names: bindings/python/API.md.
"""

from ._native import (
    AgentState,
    ChunkHit,
    CollectionInfo,
    ConsolidationReport,
    DocumentInfo,
    GcReport,
    Item,
    ItemPage,
    ItemWriteReport,
    Memory,
    MergeGroup,
    ScoredMemory,
    Snapshot,
    StoreOutcome,
    VectorHit,
    VectorRecord,
    __version__,
    defaults,
)
from ._db import AgentDB, Items, Memories, Rag, States, Vectors, connect
from ._aio import AsyncAgentDB, connect_async
from ._remote import RemoteAgentDB
from .errors import (
    AgentDBError,
    AlreadyExistsError,
    CancelledError,
    ClosedError,
    CorruptedError,
    DimensionMismatchError,
    EmbeddingError,
    InvalidArgumentError,
    LockedError,
    ModelUnavailableError,
    NotFoundError,
    PayloadTooLargeError,
    ReadOnlyError,
    StorageError,
    ForbiddenError,
    UnauthenticatedError,
)

__all__ = [
    "connect",
    "defaults",
    "connect_async",
    "AgentDB",
    "AsyncAgentDB",
    "RemoteAgentDB",
    "States",
    "Memories",
    "Rag",
    "Vectors",
    "Items",
    "AgentState",
    "Snapshot",
    "Memory",
    "ScoredMemory",
    "DocumentInfo",
    "ChunkHit",
    "CollectionInfo",
    "VectorRecord",
    "VectorHit",
    "StoreOutcome",
    "MergeGroup",
    "ConsolidationReport",
    "GcReport",
    "Item",
    "ItemPage",
    "ItemWriteReport",
    "AgentDBError",
    "InvalidArgumentError",
    "DimensionMismatchError",
    "PayloadTooLargeError",
    "NotFoundError",
    "AlreadyExistsError",
    "CorruptedError",
    "LockedError",
    "ReadOnlyError",
    "CancelledError",
    "ClosedError",
    "ModelUnavailableError",
    "EmbeddingError",
    "StorageError",
    "UnauthenticatedError",
    "ForbiddenError",
    "__version__",
]
