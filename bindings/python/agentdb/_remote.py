"""The remote client: :class:`RemoteAgentDB`, what ``agentdb.connect("http://host:port")`` returns.

The same namespaces, methods, signatures and result classes as the embedded
:class:`~agentdb.AgentDB` (a test compares them), over the server's ``/v1``
HTTP API (``crates/agentdb-server``, OpenAPI at ``/openapi.json``). Every call
is one request; the server runs the engine, so every rule and default is the
engine's. Arguments left out take the values of ``agentdb.defaults()``, exactly
as in the embedded signatures. Errors arrive as ``{"code", "message"}`` and
become the exception class of that code (:mod:`agentdb.errors`).

Transport: the standard library's ``http.client``, one keep-alive connection
per thread; an API key travels as ``Authorization: Bearer``.
"""

from __future__ import annotations

import base64
import http.client
import json
import threading
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from . import _native
from ._db import (
    _DEFAULTS,
    _FORGET,
    _RETRIEVE,
    MatrixLike,
    Metadata,
    Namespace,
    VectorLike,
    _arrow,
    _labels,
    _list,
    _mapping,
    _meta,
)
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
    MergeGroup,
    Memory,
    ScoredMemory,
    Snapshot,
    StoreOutcome,
    VectorHit,
    VectorRecord,
)
from .errors import AgentDBError, ClosedError, InvalidArgumentError, _from_engine

if TYPE_CHECKING:
    import numpy
    import pyarrow

__all__ = ["RemoteAgentDB", "connect_remote"]

#: Seconds a request may take before the client gives up (the server has its
#: own per-request timeout, `limits.request_timeout_ms`, 30 s by default).
DEFAULT_TIMEOUT_S = 120.0


def _seg(value: object) -> str:
    """One URL path segment (ids and names may hold '/', '?', spaces)."""
    return urllib.parse.quote(str(value), safe="")


def _vector(v: VectorLike) -> list[float]:
    """A vector as JSON numbers, rounded to float32 as the engine stores it."""
    import numpy

    return numpy.asarray(v, dtype=numpy.float32).reshape(-1).tolist()


def _matrix(m: MatrixLike) -> list[list[float]]:
    import numpy

    a = numpy.asarray(m, dtype=numpy.float32)
    if a.ndim != 2:
        raise InvalidArgumentError(f"expected a sequence of vectors (a 2-D array), got {a.ndim} dimension(s)")
    return a.tolist()


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


class _Http:
    """The server's address and key, and one keep-alive connection per thread."""

    def __init__(self, url: str, api_key: str | None, timeout_s: float) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidArgumentError(f"not a server URL: {url!r} (expected http://HOST:PORT)")
        self.url = url.rstrip("/")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._base = parts.path.rstrip("/")
        self._timeout_s = timeout_s
        self._headers = {"Accept": "application/json", "Content-Type": "application/json"}
        if api_key is not None:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: list[http.client.HTTPConnection] = []
        self.closed = False

    def _connection(self) -> tuple[http.client.HTTPConnection, bool]:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            return conn, True
        cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        conn = cls(self._host, self._port, timeout=self._timeout_s)
        self._local.conn = conn
        with self._lock:
            self._open.append(conn)
        return conn, False

    def _drop(self, conn: http.client.HTTPConnection) -> None:
        conn.close()
        self._local.conn = None
        with self._lock:
            if conn in self._open:
                self._open.remove(conn)

    def request(self, method: str, path: str, body: Any = None, query: Mapping[str, Any] | None = None) -> Any:
        """Sends one request; returns the decoded JSON body (``None`` for 204) or raises the error's class."""
        if self.closed:
            raise ClosedError("the remote database handle is closed", "closed")
        target = self._base + path
        if query:
            q = {k: v for k, v in query.items() if v is not None}
            if q:
                target += "?" + urllib.parse.urlencode(q)
        payload = None if body is None else json.dumps(body, separators=(",", ":")).encode()
        while True:
            conn, reused = self._connection()
            try:
                conn.request(method, target, body=payload, headers=self._headers)
                resp = conn.getresponse()
                data = resp.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self._drop(conn)
                # The server closed an idle keep-alive connection before reading
                # this request: send it again on a new one (once).
                if reused:
                    continue
                raise
            except BaseException:
                self._drop(conn)
                raise
            if resp.will_close:
                self._drop(conn)
            break
        if resp.status == 204:
            return None
        if 200 <= resp.status < 300:
            return json.loads(data) if data else None
        raise _error(resp.status, data)

    def close(self) -> None:
        self.closed = True
        with self._lock:
            conns, self._open = self._open, []
        for c in conns:
            c.close()


def _error(status: int, data: bytes) -> AgentDBError:
    try:
        body = json.loads(data)
        code, message = body["code"], body["message"]
    except (ValueError, KeyError, TypeError):
        return AgentDBError(f"HTTP {status}: {data[:200].decode('utf-8', 'replace')}", f"http_{status}")
    return _from_engine(str(code), str(message))


def _state(d: dict[str, Any]) -> AgentState:
    if d.get("data_base64") is not None:
        data = base64.b64decode(d["data_base64"])
    else:
        data = d.get("data", "").encode()
    return AgentState._from_fields(
        d["agent_id"], d["session_id"], d["version"], d["timestamp_ms"], d["state_type"], data,
        d["metadata"], d["checksum"], d.get("key"),
    )  # fmt: skip


def _snapshot(d: dict[str, Any]) -> Snapshot:
    return Snapshot._from_fields(d["agent_id"], d["session_id"], d["name"], d["version"], d["created_at_ms"])


def _memory(d: dict[str, Any]) -> Memory:
    return Memory._from_fields(
        d["memory_id"], d["agent_id"], d["memory_type"], d["content"], d["embedding"], d["importance"],
        d["access_count"], d["last_access_ms"], d["created_at_ms"], d.get("expires_at_ms"), d["metadata"],
        d["pinned"],
    )  # fmt: skip


def _scored(d: dict[str, Any]) -> ScoredMemory:
    return ScoredMemory._from_fields(_memory(d["memory"]), d["score"], d["relevance"], d["recency"])


def _outcome(d: dict[str, Any]) -> StoreOutcome:
    return StoreOutcome._from_fields(d["memory_id"], d["kind"], d["absorbed"], d["evicted"])


def _document(d: dict[str, Any]) -> DocumentInfo:
    return DocumentInfo._from_fields(
        d["doc_id"], d["title"], d["metadata"], d["chunk_count"], d["char_count"], d["indexed_at_ms"]
    )


def _chunk_hit(d: dict[str, Any]) -> ChunkHit:
    return ChunkHit._from_fields(
        d["chunk_id"], d["doc_id"], d["position"], d["start_char"], d["end_char"], d["content"], d["score"]
    )


def _collection(d: dict[str, Any]) -> CollectionInfo:
    return CollectionInfo._from_fields(d["name"], d["dimension"], d["metric"])


def _vector_hit(d: dict[str, Any]) -> VectorHit:
    return VectorHit._from_fields(d["id"], d["distance"], d["metadata"], d.get("vector") or [])


def _item(d: dict[str, Any]) -> Item:
    return Item._from_fields(
        d["namespace"], d["key"], d["value"], d["metadata"], d["created_at_ms"], d["updated_at_ms"],
        d.get("expires_at_ms"), d.get("ttl_ms"),
    )  # fmt: skip


def _memory_body(agent_id: Any, content: Any, memory_type: Any, importance: Any, embedding: Any, ttl_ms: Any,
                 metadata: Any) -> dict[str, Any]:  # fmt: skip
    return _drop_none(
        {
            "agent_id": agent_id,
            "content": content,
            "memory_type": memory_type,
            "importance": importance,
            "embedding": None if embedding is None else _vector(embedding),
            "ttl_ms": ttl_ms,
            "metadata": _meta(metadata),
        }
    )


def _memory_dict(m: Mapping[str, Any]) -> dict[str, Any]:
    """One ``store_many`` dict as the server's body: the same keys, vectors as JSON numbers."""
    d = dict(_mapping(m, "each memory"))
    if d.get("embedding") is not None:
        d["embedding"] = _vector(d["embedding"])
    return _drop_none(d)


class RemoteStates:
    """Versioned agent state on a server: ``db.states``."""

    __slots__ = ("_http",)

    def __init__(self, http: _Http) -> None:
        self._http = http

    def _session(self, agent_id: int, session_id: int) -> str:
        return f"/v1/agents/{_seg(agent_id)}/sessions/{_seg(session_id)}"

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
        """Appends a new version of (agent, session) and returns its number (1, 2, 3…)."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"data must be bytes, not {type(data).__name__}")
        raw = bytes(data)
        body: dict[str, Any] = {"state_type": state_type, "metadata": _meta(metadata), "key": key}
        try:
            body["data"] = raw.decode("utf-8")
        except UnicodeDecodeError:
            body["data_base64"] = base64.b64encode(raw).decode("ascii")
        r = self._http.request("POST", self._session(agent_id, session_id) + "/states", _drop_none(body))
        return r["version"]

    def load(self, agent_id: int, session_id: int | None = None) -> AgentState:
        """The latest version of (agent, session), or of the agent's most recently saved session."""
        return _state(self._http.request("GET", f"/v1/agents/{_seg(agent_id)}/state", query={"session_id": session_id}))

    def load_version(self, agent_id: int, session_id: int, version: int) -> AgentState:
        return _state(self._http.request("GET", self._session(agent_id, session_id) + f"/states/{_seg(version)}"))

    def load_by_key(self, agent_id: int, session_id: int, key: str) -> AgentState:
        """The newest version of (agent, session) saved with exactly ``key``."""
        path = self._session(agent_id, session_id) + "/states/by-key"
        return _state(self._http.request("GET", path, query={"key": key}))

    def history_page(
        self,
        agent_id: int,
        session_id: int,
        *,
        before_version: int | None = None,
        limit: int = _DEFAULTS["history_limit"],
    ) -> list[AgentState]:
        """Versions of (agent, session) below ``before_version``, newest first, at most ``limit``."""
        rows = self._http.request(
            "GET",
            self._session(agent_id, session_id) + "/states",
            query={"before_version": before_version, "limit": limit},
        )
        return [_state(r) for r in rows]

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
        q = {"session_id": session_id, "from_ms": from_ms, "to_ms": to_ms, "limit": limit}
        return [_state(r) for r in self._http.request("GET", f"/v1/agents/{_seg(agent_id)}/history", query=q)]

    def history_arrow(
        self,
        agent_id: int,
        *,
        session_id: int | None = None,
        from_ms: int | None = None,
        to_ms: int | None = None,
        limit: int = _DEFAULTS["history_limit"],
    ) -> pyarrow.Table:
        """:meth:`history` as a ``pyarrow.Table`` (the engine's layout, built from the server's records)."""
        rows = self.history(agent_id, session_id=session_id, from_ms=from_ms, to_ms=to_ms, limit=limit)
        return _arrow(_native._arrow_of("states", rows))

    def create_snapshot(self, agent_id: int, session_id: int, name: str) -> Snapshot:
        """Names the current latest version of (agent, session); names are unique per agent."""
        path = self._session(agent_id, session_id) + "/snapshots"
        return _snapshot(self._http.request("POST", path, {"name": name}))

    def list_snapshots(self, agent_id: int) -> list[Snapshot]:
        """The agent's snapshots, oldest first."""
        return [_snapshot(s) for s in self._http.request("GET", f"/v1/agents/{_seg(agent_id)}/snapshots")]

    def restore_snapshot(self, agent_id: int, name: str) -> AgentState:
        """Rollback: saves the snapshot's state as a new latest version and returns it."""
        path = f"/v1/agents/{_seg(agent_id)}/snapshots/{_seg(name)}/restore"
        return _state(self._http.request("POST", path))

    def delete_agent(self, agent_id: int) -> None:
        """Removes every state version and snapshot of the agent."""
        self._http.request("DELETE", f"/v1/agents/{_seg(agent_id)}")


class RemoteMemories:
    """Agent memories on a server: ``db.memories``."""

    __slots__ = ("_http",)

    def __init__(self, http: _Http) -> None:
        self._http = http

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
        """Stores a memory and returns its id; without ``embedding`` the server's model embeds the content."""
        return self.store_outcome(
            agent_id, content, memory_type=memory_type, importance=importance, embedding=embedding,
            ttl_ms=ttl_ms, metadata=metadata,
        ).memory_id  # fmt: skip

    def store_many(self, memories: Iterable[Mapping[str, Any]]) -> list[int]:
        """Stores many memories (dicts with the keyword names of :meth:`store`); all are validated first."""
        return [o.memory_id for o in self.store_many_outcome(memories)]

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
        """:meth:`store`, saying what happened (``kind``: stored, duplicate or merged)."""
        body = _memory_body(agent_id, content, memory_type, importance, embedding, ttl_ms, metadata)
        return _outcome(self._http.request("POST", "/v1/memories", body))

    def store_many_outcome(self, memories: Iterable[Mapping[str, Any]]) -> list[StoreOutcome]:
        """:meth:`store_many` with each item's :class:`~agentdb.StoreOutcome`, in order."""
        body = {"memories": [_memory_dict(m) for m in memories]}
        return [_outcome(o) for o in self._http.request("POST", "/v1/memories/batch", body)["outcomes"]]

    def pin(self, memory_id: int) -> None:
        """Pins a memory: never forgotten, expired, evicted by the limit or absorbed by a merge."""
        self._http.request("PUT", f"/v1/memories/{_seg(memory_id)}/pin")

    def unpin(self, memory_id: int) -> None:
        """Unpins a memory; a TTL that ran out while it was pinned applies at once."""
        self._http.request("DELETE", f"/v1/memories/{_seg(memory_id)}/pin")

    def consolidate(self, agent_id: int) -> ConsolidationReport:
        """Merges the agent's existing duplicates and near-duplicates (per type, by the merge policy)."""
        r = self._http.request("POST", f"/v1/agents/{_seg(agent_id)}/memories/consolidate")
        groups = [MergeGroup._from_fields(g["memory_type"], g["kept"], g["absorbed"]) for g in r["groups"]]
        return ConsolidationReport._from_fields(r["agent_id"], r["examined"], groups, r["remaining"])

    def get(self, memory_id: int) -> Memory:
        return _memory(self._http.request("GET", f"/v1/memories/{_seg(memory_id)}"))

    def update_importance(self, memory_id: int, importance: float) -> None:
        self._http.request("PATCH", f"/v1/memories/{_seg(memory_id)}", {"importance": importance})

    def delete(self, memory_id: int) -> None:
        self._http.request("DELETE", f"/v1/memories/{_seg(memory_id)}")

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
        """The best ``limit`` memories for a query text or a vector (exactly one), best first."""
        body = _drop_none(
            {
                "query": query,
                "vector": None if vector is None else _vector(vector),
                "limit": limit,
                "filter": _drop_none(
                    {
                        "memory_types": _list(memory_types),
                        "metadata": _meta(metadata),
                        "created_after_ms": created_after_ms,
                        "created_before_ms": created_before_ms,
                    }
                ),
                "relevance_weight": relevance_weight,
                "importance_weight": importance_weight,
                "recency_weight": recency_weight,
                "recency_half_life_ms": recency_half_life_ms,
                "record_access": record_access,
            }
        )
        rows = self._http.request("POST", f"/v1/agents/{_seg(agent_id)}/memories/retrieve", body)
        return [_scored(r) for r in rows]

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
        """:meth:`retrieve` as a ``pyarrow.Table`` (memory columns plus score, relevance, recency).

        The embedding column's width is the hits' dimension (or the query
        vector's); an empty result of a text query has width 0.
        """
        rows = self.retrieve(
            agent_id, query, vector=vector, limit=limit, memory_types=memory_types, metadata=metadata,
            created_after_ms=created_after_ms, created_before_ms=created_before_ms,
            relevance_weight=relevance_weight, importance_weight=importance_weight,
            recency_weight=recency_weight, recency_half_life_ms=recency_half_life_ms, record_access=record_access,
        )  # fmt: skip
        if rows:
            dimension = len(rows[0].memory.embedding)
        else:
            dimension = 0 if vector is None else len(_vector(vector))
        return _arrow(_native._arrow_of("scored_memories", rows, dimension))

    def forget(
        self,
        agent_id: int,
        *,
        older_than_ms: int = _FORGET["older_than_ms"],
        min_importance: float = _FORGET["min_importance"],
        decay_half_life_ms: int = _FORGET["decay_half_life_ms"],
    ) -> int:
        """Deletes the agent's old memories whose decayed importance fell below ``min_importance``; returns how many."""
        body = {
            "older_than_ms": older_than_ms,
            "min_importance": min_importance,
            "decay_half_life_ms": decay_half_life_ms,
        }
        return self._http.request("POST", f"/v1/agents/{_seg(agent_id)}/memories/forget", body)["forgotten"]

    def list(self, agent_id: int) -> list[Memory]:
        """Every live memory of the agent, oldest first."""
        return [_memory(m) for m in self._http.request("GET", f"/v1/agents/{_seg(agent_id)}/memories")]


def _doc_filter(doc_ids: Sequence[str] | None, metadata: Metadata) -> dict[str, Any]:
    return _drop_none({"doc_ids": _list(doc_ids), "metadata": _meta(metadata)})


def _fusion(alpha: float, fusion: str) -> dict[str, Any]:
    if fusion == "weighted":
        return {"kind": "weighted", "alpha": alpha}
    if fusion == "rrf":
        return {"kind": "reciprocal_rank"}
    raise InvalidArgumentError(f"unknown fusion {fusion!r} (expected 'weighted' or 'rrf')")


class RemoteRag:
    """Documents on a server, for semantic, full-text and hybrid search: ``db.rag``."""

    __slots__ = ("_http",)

    def __init__(self, http: _Http) -> None:
        self._http = http

    def _search(self, body: dict[str, Any]) -> list[ChunkHit]:
        return [_chunk_hit(h) for h in self._http.request("POST", "/v1/documents/search", _drop_none(body))]

    def index_document(
        self,
        doc_id: str,
        text: str,
        *,
        title: str = "",
        metadata: Metadata = None,
        chunk_vectors: MatrixLike | None = None,
    ) -> DocumentInfo:
        """Chunks, embeds (or takes ``chunk_vectors``, one per chunk) and stores a document,
        replacing any earlier version."""
        body = {
            "doc_id": doc_id,
            "title": title,
            "text": text,
            "metadata": _meta(metadata),
            "chunk_vectors": None if chunk_vectors is None else _matrix(chunk_vectors),
        }
        return _document(self._http.request("POST", "/v1/documents", _drop_none(body)))

    def get_document(self, doc_id: str) -> DocumentInfo:
        return _document(self._http.request("GET", f"/v1/documents/{_seg(doc_id)}"))

    def delete_document(self, doc_id: str) -> None:
        self._http.request("DELETE", f"/v1/documents/{_seg(doc_id)}")

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
        return self._search(
            {
                "mode": "semantic",
                "query": query,
                "vector": None if vector is None else _vector(vector),
                "limit": limit,
                "filter": _doc_filter(doc_ids, metadata),
            }
        )

    def semantic_search_arrow(
        self,
        query: str | None = None,
        *,
        vector: VectorLike | None = None,
        limit: int = _DEFAULTS["search_limit"],
        doc_ids: Sequence[str] | None = None,
        metadata: Metadata = None,
    ) -> pyarrow.Table:
        rows = self.semantic_search(query, vector=vector, limit=limit, doc_ids=doc_ids, metadata=metadata)
        return _arrow(_native._arrow_of("chunk_hits", rows))

    def full_text_search(
        self,
        query: str,
        *,
        limit: int = _DEFAULTS["search_limit"],
        doc_ids: Sequence[str] | None = None,
        metadata: Metadata = None,
    ) -> list[ChunkHit]:
        """BM25 over chunk text (Chinese and English alike), best first."""
        return self._search(
            {"mode": "full_text", "query": query, "limit": limit, "filter": _doc_filter(doc_ids, metadata)}
        )

    def full_text_search_arrow(
        self,
        query: str,
        *,
        limit: int = _DEFAULTS["search_limit"],
        doc_ids: Sequence[str] | None = None,
        metadata: Metadata = None,
    ) -> pyarrow.Table:
        rows = self.full_text_search(query, limit=limit, doc_ids=doc_ids, metadata=metadata)
        return _arrow(_native._arrow_of("chunk_hits", rows))

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
        return self._search(
            {
                "mode": "hybrid",
                "query": query,
                "vector": None if vector is None else _vector(vector),
                "limit": limit,
                "fusion": _fusion(alpha, fusion),
                "filter": _doc_filter(doc_ids, metadata),
            }
        )

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
        rows = self.hybrid_search(
            query, vector=vector, limit=limit, alpha=alpha, fusion=fusion, doc_ids=doc_ids, metadata=metadata
        )
        return _arrow(_native._arrow_of("chunk_hits", rows))


class RemoteVectors:
    """Named vector collections on a server: ``db.vectors``."""

    __slots__ = ("_http",)

    def __init__(self, http: _Http) -> None:
        self._http = http

    def _path(self, collection: str) -> str:
        return f"/v1/collections/{_seg(collection)}"

    def _search(self, collection: str, body: dict[str, Any]) -> list[VectorHit]:
        hits = self._http.request("POST", self._path(collection) + "/search", _drop_none(body))
        return [_vector_hit(h) for h in hits]

    def create_collection(
        self, name: str, dimension: int, metric: Literal["l2", "cosine", "dot"] = _DEFAULTS["metric"]
    ) -> CollectionInfo:
        body = {"name": name, "dimension": dimension, "metric": metric}
        return _collection(self._http.request("POST", "/v1/collections", body))

    def list_collections(self) -> list[CollectionInfo]:
        return [_collection(c) for c in self._http.request("GET", "/v1/collections")]

    def insert(self, collection: str, id: str, vector: VectorLike, metadata: Metadata = None) -> None:
        """Inserts or replaces the vector with this id."""
        row = _drop_none({"id": id, "vector": _vector(vector), "metadata": _meta(metadata)})
        self._http.request("POST", self._path(collection) + "/vectors", {"vectors": [row]})

    def insert_many(
        self,
        collection: str,
        ids: Sequence[str],
        vectors: MatrixLike,
        metadatas: Sequence[Metadata] | None = None,
    ) -> None:
        """Inserts or replaces many vectors at once: all or nothing."""
        if isinstance(ids, str):
            raise TypeError("ids must be a sequence of str, not a str")
        ids = list(ids)
        rows = [] if len(ids) == 0 and len(vectors) == 0 else _matrix(vectors)
        metas = [None] * len(ids) if metadatas is None else [_meta(m) for m in metadatas]
        if not (len(ids) == len(rows) == len(metas)):
            raise InvalidArgumentError(
                f"insert_many: {len(ids)} ids, {len(rows)} vectors and {len(metas)} metadatas differ in length"
            )
        body = [_drop_none({"id": i, "vector": v, "metadata": m}) for i, v, m in zip(ids, rows, metas)]
        self._http.request("POST", self._path(collection) + "/vectors", {"vectors": body})

    def get(self, collection: str, id: str) -> VectorRecord:
        r = self._http.request("GET", self._path(collection) + f"/vectors/{_seg(id)}")
        return VectorRecord._from_fields(r["id"], r["vector"], r["metadata"])

    def delete(self, collection: str, id: str) -> None:
        self._http.request("DELETE", self._path(collection) + f"/vectors/{_seg(id)}")

    def count(self, collection: str) -> int:
        return self._http.request("GET", self._path(collection))["count"]

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
        body = {
            "vector": _vector(vector),
            "k": k,
            "metadata": _meta(metadata),
            "nprobes": nprobes,
            "refine_factor": refine_factor,
            "include_vectors": True,
        }
        return self._search(collection, body)

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
        body = {
            "vector": _vector(vector),
            "radius": radius,
            "max_results": max_results,
            "metadata": _meta(metadata),
            "include_vectors": True,
        }
        return self._search(collection, body)

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
        hits = self.search(collection, vector, k, metadata=metadata, nprobes=nprobes, refine_factor=refine_factor)
        return _arrow(_native._arrow_of("vector_hits", hits, len(_vector(vector))))

    def create_index(self, collection: str) -> None:
        """Builds the collection's ANN index (IVF-HNSW-SQ) now."""
        self._http.request("POST", self._path(collection) + "/index")


def _address(namespace: Namespace, key: str) -> dict[str, Any]:
    return {"namespace": list(_labels(namespace, "namespace")), "key": key}


def _item_write(w: Mapping[str, Any]) -> dict[str, Any]:
    """An embedded-style write dict as the server's ``{"put": …}`` / ``{"delete": …}``."""
    d = dict(_mapping(w, "each item write"))
    if d.pop("delete", False) is True:
        return {"delete": d}
    return {"put": _drop_none(d) if "value" in d else d}


class RemoteItems:
    """JSON values by namespace and key on a server: ``db.items``."""

    __slots__ = ("_http",)

    def __init__(self, http: _Http) -> None:
        self._http = http

    def put(
        self,
        namespace: Namespace,
        key: str,
        value: Any,
        *,
        metadata: Metadata = None,
        ttl_ms: int | None = None,
    ) -> Item:
        """Inserts or replaces the item at (namespace, key) and returns it as stored."""
        body = _address(namespace, key)
        body.update(_drop_none({"metadata": _meta(metadata), "ttl_ms": ttl_ms}))
        body["value"] = value
        return _item(self._http.request("POST", "/v1/items/put", body))

    def write(self, writes: Iterable[Mapping[str, Any]]) -> ItemWriteReport:
        """Applies puts and deletes in order, all or nothing (one log record)."""
        r = self._http.request("POST", "/v1/items/write", {"writes": [_item_write(w) for w in writes]})
        return ItemWriteReport._from_fields(r["put"], r["deleted"])

    def get(self, namespace: Namespace, key: str) -> Item | None:
        """The live item at (namespace, key), or ``None``."""
        found = self._http.request("POST", "/v1/items/get", {"addresses": [_address(namespace, key)]})["items"][0]
        return None if found is None else _item(found)

    def get_many(self, addresses: Iterable[tuple[Namespace, str]], *, refresh_ttl: bool = False) -> list[Item | None]:
        """The live item at each ``(namespace, key)``, in order (``None`` where there is none)."""
        body = {"addresses": [_address(ns, key) for ns, key in addresses], "refresh_ttl": refresh_ttl}
        return [None if i is None else _item(i) for i in self._http.request("POST", "/v1/items/get", body)["items"]]

    def delete(self, namespace: Namespace, key: str) -> bool:
        """Deletes the item at (namespace, key); returns whether a live item was deleted."""
        return self._http.request("POST", "/v1/items/delete", _address(namespace, key))["deleted"]

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
        """The live items under the namespace ``prefix`` that pass ``filter`` and hold every
        ``metadata`` entry: newest update first; ``total`` counts every match."""
        body = {
            "prefix": list(_labels(prefix, "prefix")),
            "filter": filter,
            "metadata": _meta(metadata),
            "limit": limit,
            "offset": offset,
            "refresh_ttl": refresh_ttl,
        }
        r = self._http.request("POST", "/v1/items/search", _drop_none(body))
        return ItemPage._from_fields([_item(i) for i in r["items"]], r["total"])

    def list_namespaces(
        self,
        prefix: Namespace = (),
        *,
        suffix: Namespace = (),
        max_depth: int | None = None,
        limit: int = _DEFAULTS["namespace_list_limit"],
        offset: int = 0,
    ) -> list[tuple[str, ...]]:
        """The namespaces holding a live item whose first labels are ``prefix`` and last labels ``suffix``."""
        body = {
            "prefix": list(_labels(prefix, "prefix")),
            "suffix": list(_labels(suffix, "suffix")),
            "max_depth": max_depth,
            "limit": limit,
            "offset": offset,
        }
        r = self._http.request("POST", "/v1/items/namespaces", _drop_none(body))
        return [tuple(ns) for ns in r["namespaces"]]

    def sweep_expired(self) -> int:
        """Deletes every expired item now; returns how many."""
        return self._http.request("POST", "/v1/items/sweep")["deleted"]


class RemoteAgentDB:
    """An AgentDB database served by ``agentdb serve``, reached over HTTP.

    The same API as :class:`~agentdb.AgentDB`; open one with
    ``agentdb.connect("http://host:port", api_key=...)``. Thread-safe (one
    connection per thread). :meth:`close` closes the connections, not the
    server's database.
    """

    __slots__ = ("_http", "states", "memories", "rag", "vectors", "items", "__weakref__")

    def __init__(self, http: _Http) -> None:
        self._http = http
        self.states = RemoteStates(http)
        self.memories = RemoteMemories(http)
        self.rag = RemoteRag(http)
        self.vectors = RemoteVectors(http)
        self.items = RemoteItems(http)

    def close(self) -> None:
        """Closes this client's connections; later calls raise :class:`~agentdb.ClosedError`."""
        self._http.close()

    @property
    def closed(self) -> bool:
        return self._http.closed

    @property
    def path(self) -> str:
        """The server's URL."""
        return self._http.url

    def flush(self) -> dict[str, Any]:
        """Writes pending records to Lance now; returns the flush report (an admin key)."""
        return self._http.request("POST", "/v1/admin/flush")

    def compact(self) -> dict[str, Any]:
        """Flush, compaction, index refresh and version pruning now; returns the maintenance report (an admin key)."""
        return self._http.request("POST", "/v1/admin/compact")

    def gc(self, *, keep_last: int | None = None, keep_newer_than_ms: int | None = None) -> GcReport:
        """Deletes old state versions, then runs maintenance (an admin key); both ``None``:
        the server's configured retention."""
        body = _drop_none({"keep_last": keep_last, "keep_newer_than_ms": keep_newer_than_ms})
        r = self._http.request("POST", "/v1/admin/gc", body)
        return GcReport._from_fields(r["state_versions_removed"], r["maintenance"])

    def stats(self) -> dict[str, Any]:
        return self._http.request("GET", "/v1/admin/stats")

    def embed(self, texts: Sequence[str]) -> numpy.ndarray:
        """Embeds texts with the server's built-in model: a ``(len(texts), dim)`` float32 array."""
        import numpy

        if isinstance(texts, str):
            raise TypeError("texts must be a sequence of str, not a str")
        vectors = self._http.request("POST", "/v1/embed", {"texts": list(texts)})["vectors"]
        width = len(vectors[0]) if vectors else 0
        return numpy.asarray(vectors, dtype=numpy.float32).reshape(len(vectors), width)

    def __enter__(self) -> RemoteAgentDB:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<agentdb.RemoteAgentDB url={self.path!r} {'closed' if self.closed else 'open'}>"


def connect_remote(url: str, *, api_key: str | None = None, timeout_s: float = DEFAULT_TIMEOUT_S) -> RemoteAgentDB:
    """A client of the server at ``url`` (``http://host:port``); nothing is sent until the first call."""
    return RemoteAgentDB(_Http(url, api_key, timeout_s))
