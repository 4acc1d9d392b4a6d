"""Type stubs of the native module ``agentdb._native`` (the PyO3 extension).

The public API is the ``agentdb`` package around it: it supplies the engine's
defaults (:func:`defaults`), so every native parameter here is required
(``None`` where optional).
Vectors (``_Vector``) are sequences of floats or 1-D buffers (a C-contiguous
float32 numpy array is read in place); ``_Matrix`` is a sequence of vectors or
a 2-D float buffer. Engine errors raise ``agentdb.errors`` exceptions.
"""

from collections.abc import Sequence
from typing import Any, Literal, final

from typing_extensions import Buffer

import numpy

_Vector = Sequence[float] | numpy.ndarray | Buffer
_Matrix = Sequence[_Vector] | numpy.ndarray | Buffer
_Meta = dict[str, str] | None

__version__: str

def _vector_is_borrowed(vector: _Vector) -> bool:
    """Whether ``vector`` would be read in place (no copy); for tests."""

def _item_filter_matches(items: list[Item], filter: Any) -> list[bool]:
    """Which items pass the value filter (the engine's evaluation); for the LangGraph store."""

def _arrow_of(kind: str, rows: list[Any], dimension: int = 0) -> ArrowStream:
    """The engine's Arrow layout (``states``, ``scored_memories``, ``chunk_hits``, ``vector_hits``)
    over result records; for the remote client's ``*_arrow`` methods."""

def defaults() -> dict[str, Any]:
    """Every default of the engine: what an argument left out becomes on every
    surface (``memory_type``, ``importance``, ``retrieve_limit``, ``history_limit``,
    ``search_limit``, ``hybrid_fusion``, ``hybrid_alpha``, ``metric``, ``knn_k``,
    ``range_max_results``, ``item_search_limit``, ``namespace_list_limit``,
    ``state_type``, ``session_id``, ``retrieve``: the
    retrieval weights, ``forget``: the forget policy) and ``options``, the
    values of ``connect()``'s keyword arguments."""

@final
class ArrowStream:
    """One result set exported through the Arrow PyCapsule interface; ``pyarrow.table(stream)``."""

    @property
    def num_rows(self) -> int: ...
    def __len__(self) -> int: ...
    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object: ...

@final
class AgentState:
    @staticmethod
    def _from_fields(*args: Any, **kwargs: Any) -> AgentState:
        """Built from its fields: the remote client's constructor (results.rs names them)."""
    @property
    def agent_id(self) -> int: ...
    @property
    def session_id(self) -> int: ...
    @property
    def version(self) -> int: ...
    @property
    def timestamp_ms(self) -> int: ...
    @property
    def state_type(self) -> str: ...
    @property
    def data(self) -> bytes: ...
    @property
    def metadata(self) -> dict[str, str]: ...
    @property
    def checksum(self) -> int: ...
    @property
    def key(self) -> str | None: ...

@final
class Snapshot:
    @staticmethod
    def _from_fields(*args: Any, **kwargs: Any) -> Snapshot:
        """Built from its fields: the remote client's constructor (results.rs names them)."""
    @property
    def agent_id(self) -> int: ...
    @property
    def session_id(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def created_at_ms(self) -> int: ...

@final
class Memory:
    @staticmethod
    def _from_fields(*args: Any, **kwargs: Any) -> Memory:
        """Built from its fields: the remote client's constructor (results.rs names them)."""
    @property
    def memory_id(self) -> int: ...
    @property
    def agent_id(self) -> int: ...
    @property
    def memory_type(self) -> str: ...
    @property
    def content(self) -> str: ...
    @property
    def embedding(self) -> list[float]: ...
    @property
    def importance(self) -> float: ...
    @property
    def access_count(self) -> int: ...
    @property
    def last_access_ms(self) -> int: ...
    @property
    def created_at_ms(self) -> int: ...
    @property
    def expires_at_ms(self) -> int | None: ...
    @property
    def metadata(self) -> dict[str, str]: ...
    @property
    def pinned(self) -> bool: ...
    @property
    def absorbed_ids(self) -> list[int]:
        """The ids this memory absorbed by merging (metadata ``absorbed_ids``)."""

@final
class ScoredMemory:
    @staticmethod
    def _from_fields(*args: Any, **kwargs: Any) -> ScoredMemory:
        """Built from its fields: the remote client's constructor (results.rs names them)."""
    @property
    def memory(self) -> Memory: ...
    @property
    def score(self) -> float: ...
    @property
    def relevance(self) -> float: ...
    @property
    def recency(self) -> float: ...

@final
class DocumentInfo:
    @staticmethod
    def _from_fields(*args: Any, **kwargs: Any) -> DocumentInfo:
        """Built from its fields: the remote client's constructor (results.rs names them)."""
    @property
    def doc_id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def metadata(self) -> dict[str, str]: ...
    @property
    def chunk_count(self) -> int: ...
    @property
    def char_count(self) -> int: ...
    @property
    def indexed_at_ms(self) -> int: ...

@final
class ChunkHit:
    @staticmethod
    def _from_fields(*args: Any, **kwargs: Any) -> ChunkHit:
        """Built from its fields: the remote client's constructor (results.rs names them)."""
    @property
    def chunk_id(self) -> str: ...
    @property
    def doc_id(self) -> str: ...
    @property
    def position(self) -> int: ...
    @property
    def start_char(self) -> int: ...
    @property
    def end_char(self) -> int: ...
    @property
    def content(self) -> str: ...
    @property
    def score(self) -> float: ...

@final
class CollectionInfo:
    @staticmethod
    def _from_fields(*args: Any, **kwargs: Any) -> CollectionInfo:
        """Built from its fields: the remote client's constructor (results.rs names them)."""
    @property
    def name(self) -> str: ...
    @property
    def dimension(self) -> int: ...
    @property
    def metric(self) -> str: ...

@final
class VectorRecord:
    @staticmethod
    def _from_fields(*args: Any, **kwargs: Any) -> VectorRecord:
        """Built from its fields: the remote client's constructor (results.rs names them)."""
    @property
    def id(self) -> str: ...
    @property
    def vector(self) -> list[float]: ...
    @property
    def metadata(self) -> dict[str, str]: ...

@final
class VectorHit:
    @staticmethod
    def _from_fields(*args: Any, **kwargs: Any) -> VectorHit:
        """Built from its fields: the remote client's constructor (results.rs names them)."""
    @property
    def id(self) -> str: ...
    @property
    def distance(self) -> float: ...
    @property
    def metadata(self) -> dict[str, str]: ...
    @property
    def vector(self) -> list[float]: ...

@final
class StoreOutcome:
    @staticmethod
    def _from_fields(*args: Any, **kwargs: Any) -> StoreOutcome:
        """Built from its fields: the remote client's constructor (results.rs names them)."""
    @property
    def memory_id(self) -> int: ...
    @property
    def kind(self) -> Literal["stored", "duplicate", "merged"]: ...
    @property
    def absorbed(self) -> list[int]: ...
    @property
    def evicted(self) -> list[int]: ...

@final
class MergeGroup:
    @staticmethod
    def _from_fields(*args: Any, **kwargs: Any) -> MergeGroup:
        """Built from its fields: the remote client's constructor (results.rs names them)."""
    @property
    def memory_type(self) -> str: ...
    @property
    def kept(self) -> int: ...
    @property
    def absorbed(self) -> list[int]: ...

@final
class ConsolidationReport:
    @staticmethod
    def _from_fields(*args: Any, **kwargs: Any) -> ConsolidationReport:
        """Built from its fields: the remote client's constructor (results.rs names them)."""
    @property
    def agent_id(self) -> int: ...
    @property
    def examined(self) -> int: ...
    @property
    def groups(self) -> list[MergeGroup]: ...
    @property
    def remaining(self) -> int: ...

@final
class GcReport:
    @staticmethod
    def _from_fields(*args: Any, **kwargs: Any) -> GcReport:
        """Built from its fields: the remote client's constructor (results.rs names them)."""
    @property
    def state_versions_removed(self) -> int: ...
    @property
    def maintenance(self) -> dict[str, Any]:
        """The maintenance report of the run (the dict ``compact()`` returns)."""

@final
class Item:
    @staticmethod
    def _from_fields(*args: Any, **kwargs: Any) -> Item:
        """Built from its fields: the remote client's constructor (results.rs names them)."""
    @property
    def namespace(self) -> tuple[str, ...]: ...
    @property
    def key(self) -> str: ...
    @property
    def value(self) -> Any:
        """The JSON value as Python objects (a fresh copy on each read)."""
    @property
    def metadata(self) -> dict[str, str]: ...
    @property
    def created_at_ms(self) -> int: ...
    @property
    def updated_at_ms(self) -> int: ...
    @property
    def expires_at_ms(self) -> int | None: ...
    @property
    def ttl_ms(self) -> int | None: ...

@final
class ItemPage:
    @staticmethod
    def _from_fields(*args: Any, **kwargs: Any) -> ItemPage:
        """Built from its fields: the remote client's constructor (results.rs names them)."""
    @property
    def items(self) -> list[Item]: ...
    @property
    def total(self) -> int:
        """Every match, not just this page."""

@final
class ItemWriteReport:
    @staticmethod
    def _from_fields(*args: Any, **kwargs: Any) -> ItemWriteReport:
        """Built from its fields: the remote client's constructor (results.rs names them)."""
    @property
    def put(self) -> int: ...
    @property
    def deleted(self) -> int: ...

@final
class Database:
    @staticmethod
    def open(
        path: str,
        read_only: bool,
        fsync: str,
        fsync_batch_ms: int,
        flush_interval_ms: int,
        memory_dimension: int,
        model_dir: str | None,
        maintenance_interval_ms: int | None,
        max_payload_bytes: int,
        ann_index_threshold: int,
        chunk_chars: int,
        chunk_overlap: int,
        memory_merge_threshold: float,
        memory_merge_policy: str,
        max_memories_per_agent_type: int | None,
        state_keep_last: int | None,
        state_keep_newer_than_ms: int | None,
    ) -> Database: ...
    def close(self) -> None: ...
    @property
    def closed(self) -> bool: ...
    @property
    def path(self) -> str: ...
    @property
    def memory_dimension(self) -> int: ...
    def flush(self) -> dict[str, Any]: ...
    def compact(self) -> dict[str, Any]: ...
    def gc(self, keep_last: int | None, keep_newer_than_ms: int | None) -> GcReport: ...
    def stats(self) -> dict[str, Any]: ...
    def embed(self, texts: Sequence[str]) -> tuple[bytearray, int, int]:
        """Row-major float32 embeddings, with (rows, dim)."""

    # agent state
    def save_state(
        self,
        agent_id: int,
        session_id: int,
        data: bytes | bytearray | memoryview | Buffer,
        state_type: str,
        metadata: _Meta,
        key: str | None,
    ) -> int: ...
    def load_state(self, agent_id: int, session_id: int | None) -> AgentState: ...
    def load_state_version(self, agent_id: int, session_id: int, version: int) -> AgentState: ...
    def load_state_by_key(self, agent_id: int, session_id: int, key: str) -> AgentState: ...
    def state_history_page(
        self, agent_id: int, session_id: int, before_version: int | None, limit: int
    ) -> list[AgentState]: ...
    def query_history(
        self, agent_id: int, session_id: int | None, from_ms: int | None, to_ms: int | None, limit: int
    ) -> list[AgentState]: ...
    def query_history_arrow(
        self, agent_id: int, session_id: int | None, from_ms: int | None, to_ms: int | None, limit: int
    ) -> ArrowStream: ...
    def create_snapshot(self, agent_id: int, session_id: int, name: str) -> Snapshot: ...
    def list_snapshots(self, agent_id: int) -> list[Snapshot]: ...
    def restore_snapshot(self, agent_id: int, name: str) -> AgentState: ...
    def delete_agent(self, agent_id: int) -> None: ...

    # memories
    def store_memory(
        self,
        agent_id: int,
        content: str,
        memory_type: str,
        importance: float,
        embedding: _Vector | None,
        ttl_ms: int | None,
        metadata: _Meta,
    ) -> int: ...
    def store_memories(self, items: list[dict[str, Any]]) -> list[int]: ...
    def store_memory_outcome(
        self,
        agent_id: int,
        content: str,
        memory_type: str,
        importance: float,
        embedding: _Vector | None,
        ttl_ms: int | None,
        metadata: _Meta,
    ) -> StoreOutcome: ...
    def store_memories_outcome(self, items: list[dict[str, Any]]) -> list[StoreOutcome]: ...
    def pin_memory(self, memory_id: int) -> None: ...
    def unpin_memory(self, memory_id: int) -> None: ...
    def consolidate_memories(self, agent_id: int) -> ConsolidationReport: ...
    def get_memory(self, memory_id: int) -> Memory: ...
    def update_memory_importance(self, memory_id: int, importance: float) -> None: ...
    def delete_memory(self, memory_id: int) -> None: ...
    def retrieve(
        self,
        agent_id: int,
        query: str | None,
        vector: _Vector | None,
        limit: int,
        memory_types: list[str] | None,
        metadata: _Meta,
        created_after_ms: int | None,
        created_before_ms: int | None,
        relevance_weight: float,
        importance_weight: float,
        recency_weight: float,
        recency_half_life_ms: int,
        record_access: bool,
    ) -> list[ScoredMemory]: ...
    def retrieve_arrow(
        self,
        agent_id: int,
        query: str | None,
        vector: _Vector | None,
        limit: int,
        memory_types: list[str] | None,
        metadata: _Meta,
        created_after_ms: int | None,
        created_before_ms: int | None,
        relevance_weight: float,
        importance_weight: float,
        recency_weight: float,
        recency_half_life_ms: int,
        record_access: bool,
    ) -> ArrowStream: ...
    def forget(self, agent_id: int, older_than_ms: int, min_importance: float, decay_half_life_ms: int) -> int: ...
    def list_memories(self, agent_id: int) -> list[Memory]: ...

    # documents (RAG)
    def index_document(
        self, doc_id: str, text: str, title: str, metadata: _Meta, chunk_vectors: _Matrix | None
    ) -> DocumentInfo: ...
    def get_document(self, doc_id: str) -> DocumentInfo: ...
    def delete_document(self, doc_id: str) -> None: ...
    def semantic_search(
        self, query: str | None, vector: _Vector | None, limit: int, doc_ids: list[str] | None, metadata: _Meta
    ) -> list[ChunkHit]: ...
    def semantic_search_arrow(
        self, query: str | None, vector: _Vector | None, limit: int, doc_ids: list[str] | None, metadata: _Meta
    ) -> ArrowStream: ...
    def full_text_search(self, query: str, limit: int, doc_ids: list[str] | None, metadata: _Meta) -> list[ChunkHit]: ...
    def full_text_search_arrow(
        self, query: str, limit: int, doc_ids: list[str] | None, metadata: _Meta
    ) -> ArrowStream: ...
    def hybrid_search(
        self,
        query: str,
        vector: _Vector | None,
        limit: int,
        alpha: float,
        fusion: str,
        doc_ids: list[str] | None,
        metadata: _Meta,
    ) -> list[ChunkHit]: ...
    def hybrid_search_arrow(
        self,
        query: str,
        vector: _Vector | None,
        limit: int,
        alpha: float,
        fusion: str,
        doc_ids: list[str] | None,
        metadata: _Meta,
    ) -> ArrowStream: ...

    # vector collections
    def create_collection(self, name: str, dimension: int, metric: str) -> CollectionInfo: ...
    def list_collections(self) -> list[CollectionInfo]: ...
    def insert_vector(self, collection: str, id: str, vector: _Vector, metadata: _Meta) -> None: ...
    def insert_vectors(
        self, collection: str, ids: list[str], vectors: _Matrix, metadatas: list[_Meta] | None
    ) -> None: ...
    def get_vector(self, collection: str, id: str) -> VectorRecord: ...
    def delete_vector(self, collection: str, id: str) -> None: ...
    def count_vectors(self, collection: str) -> int: ...
    def search_knn(
        self,
        collection: str,
        vector: _Vector,
        k: int,
        metadata: _Meta,
        nprobes: int | None,
        refine_factor: int | None,
    ) -> list[VectorHit]: ...
    def search_knn_arrow(
        self,
        collection: str,
        vector: _Vector,
        k: int,
        metadata: _Meta,
        nprobes: int | None,
        refine_factor: int | None,
    ) -> ArrowStream: ...
    def search_range(
        self, collection: str, vector: _Vector, radius: float, max_results: int, metadata: _Meta
    ) -> list[VectorHit]: ...
    def create_vector_index(self, collection: str) -> None: ...

    # items
    def write_items(self, writes: list[dict[str, Any]]) -> ItemWriteReport: ...
    def put_item(
        self, namespace: Sequence[str], key: str, value: Any, metadata: _Meta, ttl_ms: int | None
    ) -> Item: ...
    def delete_item(self, namespace: Sequence[str], key: str) -> bool: ...
    def get_item(self, namespace: Sequence[str], key: str) -> Item | None: ...
    def get_items(self, addresses: list[tuple[Sequence[str], str]], refresh_ttl: bool) -> list[Item | None]: ...
    def search_items(
        self,
        prefix: Sequence[str],
        filter: Any,
        metadata: _Meta,
        limit: int,
        offset: int,
        refresh_ttl: bool,
    ) -> ItemPage: ...
    def list_item_namespaces(
        self, prefix: Sequence[str], suffix: Sequence[str], max_depth: int | None, limit: int, offset: int
    ) -> list[tuple[str, ...]]: ...
    def sweep_expired_items(self) -> int: ...
