# The states-based AgentDBStore as of commit c05ca62 (before db.items), kept verbatim
# (imports aside) to write stores in the old layout for the migration test.
# ruff: noqa
"""``AgentDBStore``: LangGraph's long-term ``BaseStore`` over AgentDB.

Where things live (strings are kept in metadata and checked on every read,
see ``_common.stable_id``):

* Items are agent-state records. A namespace ``NS`` is the agent
  ``stable_id(prefix, "store-namespace", *NS)``; a key is the session
  ``stable_id("item", key)`` inside it. Every put appends a version holding
  the value as JSON and, in metadata, the namespace, key, created/updated
  times, TTL and the ids of the item's vectors; a delete appends a
  ``deleted`` marker. ``get`` is one ``load`` of the session. States were
  chosen over vector rows for the items because they can be enumerated
  (``history``), which search without a query and ``list_namespaces`` need;
  the price is that superseded versions stay on disk (the engine deletes
  states only per agent).
* A catalog agent ``stable_id(prefix, "store-catalog")`` holds one record per
  namespace ever written (session = the namespace's agent id), so prefix
  searches and ``list_namespaces`` can find namespaces. A namespace is listed
  while it holds at least one live item (as ``SqliteStore`` does).
* With ``index={"dims", "embed", "fields"}``, every embedded text of an item
  is a row of the vector collection ``lgstore-<hash of prefix>`` (cosine),
  with the item's namespace, key, a per-put ``stamp`` and, for each depth
  ``d`` of the namespace, ``ls.p<d>`` = the JSON of its first ``d`` labels.
  A search under a prefix of depth ``d`` is an exact engine-side metadata
  filter on ``ls.p<d>``; value filters (``$eq``, ``$gt``, nested, ...) are
  applied in Python with the semantics of ``InMemoryStore``, and the k-NN
  widens until enough items pass. A put writes the new vectors (new ids,
  carrying the new stamp) before the item record and removes the old ones
  after it; the record's stamp says which vectors are current, so a crash at
  any point leaves no stale vector that a search would believe.

Semantics follow ``InMemoryStore``: reads in a batch see the state before the
batch, then the batch's puts apply (the last put per item wins); semantic
scores are cosine similarities, max-pooled over an item's vectors; items
without vectors fill the tail of a semantic search. Search without a query is
ordered newest update first (``SqliteStore``'s order). TTL (minutes) is
supported: expired items are never returned, reads refresh the TTL when asked
(a new version), and ``sweep_ttl()`` / ``start_ttl_sweeper()`` delete them.
"""

from __future__ import annotations

import asyncio
import json
import math
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import Any

from langgraph.store.base import (
    BaseStore,
    GetOp,
    IndexConfig,
    Item,
    ListNamespacesOp,
    MatchCondition,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
    TTLConfig,
    ensure_embeddings,
    get_text_at_path,
    tokenize_path,
)

from agentdb import NotFoundError

from agentdb.langgraph._common import SharedRegistry, history_all, load_or_none, stable_id

try:  # langgraph-checkpoint >= 4.3 validates labels of ops given to batch directly
    from langgraph.store.base import validate_op_namespace
except ImportError:  # pragma: no cover - older langgraph
    def validate_op_namespace(op: Op) -> None:
        return None

__all__ = ["AgentDBStore"]

STATE_TYPE = "long_term_memory"
K_ROLE = "ls.role"
K_NS = "ls.namespace"
K_KEY = "ls.key"
K_CREATED = "ls.created_ms"
K_UPDATED = "ls.updated_ms"
K_EXPIRES = "ls.expires_ms"
K_TTL = "ls.ttl_minutes"
K_STAMP = "ls.stamp"
K_NVEC = "ls.vectors"
K_PATH = "ls.path"
K_PREFIX_AT = "ls.p"  # + depth
ROLE_ITEM = "item"
ROLE_DELETED = "deleted"
ROLE_NAMESPACE = "namespace"
#: ``vectors.search`` returns at most this many rows per call (SPEC.md).
SEARCH_K_MAX = 10_000
MS_PER_MINUTE = 60_000


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _ns_json(namespace: tuple[str, ...]) -> str:
    return json.dumps(list(namespace), ensure_ascii=False, separators=(",", ":"))


def _datetime(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc)


def _compare_values(item_value: Any, filter_value: Any) -> bool:
    """Filter semantics of ``InMemoryStore`` (JSONB-like, with ``$`` operators)."""
    if isinstance(filter_value, dict):
        if any(k.startswith("$") for k in filter_value):
            return all(_apply_operator(item_value, k, v) for k, v in filter_value.items())
        if not isinstance(item_value, dict):
            return False
        return all(_compare_values(item_value.get(k), v) for k, v in filter_value.items())
    if isinstance(filter_value, (list, tuple)):
        return (
            isinstance(item_value, (list, tuple))
            and len(item_value) == len(filter_value)
            and all(_compare_values(i, f) for i, f in zip(item_value, filter_value))
        )
    return item_value == filter_value


def _apply_operator(value: Any, operator: str, operand: Any) -> bool:
    if operator == "$eq":
        return value == operand
    if operator == "$ne":
        return value != operand
    if operator in ("$gt", "$gte", "$lt", "$lte"):
        a, b = float(value), float(operand)
        return {"$gt": a > b, "$gte": a >= b, "$lt": a < b, "$lte": a <= b}[operator]
    raise ValueError(f"Unsupported operator: {operator}")


def _matches(value: dict[str, Any], filter: dict[str, Any] | None) -> bool:
    return not filter or all(_compare_values(value.get(k), v) for k, v in filter.items())


def _namespace_matches(condition: MatchCondition, namespace: tuple[str, ...]) -> bool:
    path = condition.path
    if len(namespace) < len(path):
        return False
    if condition.match_type == "prefix":
        pairs = zip(namespace, path)
    elif condition.match_type == "suffix":
        pairs = zip(reversed(namespace), reversed(path))
    else:
        raise ValueError(f"Unsupported match type: {condition.match_type}")
    return all(p == "*" or n == p for n, p in pairs)


class _Stored:
    """The current record of one item (live or deleted)."""

    __slots__ = ("namespace", "key", "record")

    def __init__(self, namespace: tuple[str, ...], key: str, record: Any) -> None:
        self.namespace = namespace
        self.key = key
        self.record = record

    @property
    def md(self) -> dict[str, str]:
        return self.record.metadata

    def live(self, now_ms: int) -> bool:
        if self.md.get(K_ROLE) != ROLE_ITEM:
            return False
        expires = self.md.get(K_EXPIRES)
        return expires is None or int(expires) > now_ms

    @property
    def value(self) -> dict[str, Any]:
        return json.loads(self.record.data)

    @property
    def updated_ms(self) -> int:
        return int(self.md[K_UPDATED])

    def vector_ids(self) -> list[str]:
        return json.loads(self.md.get(K_NVEC, "[]"))

    def item(self, cls: type = Item, **extra: Any) -> Any:
        return cls(
            namespace=self.namespace,
            key=self.key,
            value=self.value,
            created_at=_datetime(int(self.md[K_CREATED])),
            updated_at=_datetime(int(self.md[K_UPDATED])),
            **extra,
        )


class AgentDBStore(BaseStore):
    """LangGraph long-term memory store over an open ``agentdb.AgentDB`` (not closed here).

    ``index`` enables semantic search (``{"dims": int, "embed": Embeddings |
    callable | provider string, "fields": ["$"] | [paths]}``); ``ttl`` is a
    LangGraph ``TTLConfig``; ``key_prefix`` separates independent stores in
    one database.
    """

    supports_ttl = True

    def __init__(
        self,
        db: Any,
        *,
        index: IndexConfig | None = None,
        ttl: TTLConfig | None = None,
        key_prefix: str = "langgraph",
    ) -> None:
        self.db = db
        self.key_prefix = key_prefix
        self.ttl_config = ttl
        self._catalog = stable_id(key_prefix, "store-catalog")
        self._registered = SharedRegistry.for_db(db, key_prefix, "store-namespaces")
        self._sweeper: threading.Thread | None = None
        self._sweeper_stop = threading.Event()
        self.index_config: dict[str, Any] | None
        if index:
            self.index_config = dict(index)
            self.embeddings = ensure_embeddings(index.get("embed"))
            self.index_config["__tokenized_fields"] = [
                (p, tokenize_path(p)) if p != "$" else (p, p)
                for p in (index.get("fields") or ["$"])
            ]
            self.collection = f"lgstore-{stable_id(key_prefix, 'store-vectors'):016x}"
            self._ensure_collection(int(index["dims"]))
        else:
            self.index_config = None
            self.embeddings = None
            self.collection = None

    def _ensure_collection(self, dims: int) -> None:
        for info in self.db.vectors.list_collections():
            if info.name == self.collection:
                if info.dimension != dims:
                    raise ValueError(
                        f"store vectors exist with dimension {info.dimension}, not {dims}"
                    )
                return
        self.db.vectors.create_collection(self.collection, dims, "cosine")

    # ------------------------------------------------------------------ ids

    def _ns_agent(self, namespace: tuple[str, ...]) -> int:
        return stable_id(self.key_prefix, "store-namespace", *namespace)

    @staticmethod
    def _key_session(key: str) -> int:
        return stable_id("item", key)

    def _vector_id(self, namespace: tuple[str, ...], key: str, stamp: str, i: int) -> str:
        return f"{self._ns_agent(namespace):x}-{self._key_session(key):x}-{stamp}-{i}"

    # ---------------------------------------------------------------- reads

    def _current(self, namespace: tuple[str, ...], key: str) -> _Stored | None:
        agent, session = self._ns_agent(namespace), self._key_session(key)
        ns_json = _ns_json(namespace)
        record = load_or_none(self.db.states, agent, session)
        if record is None:
            return None
        if record.metadata.get(K_NS) != ns_json or record.metadata.get(K_KEY) != key:
            # Another item hashes to this session: take this item's own newest record.
            mine = [
                r
                for r in history_all(self.db.states, agent, session)
                if r.metadata.get(K_NS) == ns_json and r.metadata.get(K_KEY) == key
            ]
            if not mine:
                return None
            record = max(mine, key=lambda r: r.version)
        return _Stored(namespace, key, record)

    def _namespaces(self) -> list[tuple[str, ...]]:
        """Every namespace ever written (live or emptied), from the catalog."""
        found = set()
        for r in history_all(self.db.states, self._catalog):
            if r.metadata.get(K_ROLE) == ROLE_NAMESPACE:
                found.add(tuple(json.loads(r.metadata[K_NS])))
        return sorted(found)

    def _items_in(self, namespace: tuple[str, ...], now_ms: int) -> list[_Stored]:
        """The live items of one namespace."""
        ns_json = _ns_json(namespace)
        newest: dict[tuple[int, str], Any] = {}
        for r in history_all(self.db.states, self._ns_agent(namespace)):
            if r.metadata.get(K_NS) != ns_json or K_KEY not in r.metadata:
                continue
            slot = (r.session_id, r.metadata[K_KEY])
            if slot not in newest or r.version > newest[slot].version:
                newest[slot] = r
        items = [_Stored(namespace, key, r) for (_, key), r in newest.items()]
        return [s for s in items if s.live(now_ms)]

    def _items_under(self, prefix: tuple[str, ...], now_ms: int) -> list[_Stored]:
        n = len(prefix)
        out: list[_Stored] = []
        for namespace in self._namespaces():
            if namespace[:n] == prefix:
                out.extend(self._items_in(namespace, now_ms))
        return out

    def _refresh_ttl(self, stored: _Stored, now_ms: int) -> None:
        ttl = stored.md.get(K_TTL)
        if ttl is None:
            return
        metadata = dict(stored.md)
        metadata[K_EXPIRES] = str(now_ms + int(float(ttl) * MS_PER_MINUTE))
        self.db.states.save(
            self._ns_agent(stored.namespace),
            self._key_session(stored.key),
            stored.record.data,
            state_type=STATE_TYPE,
            metadata=metadata,
        )

    def _get(self, op: GetOp, now_ms: int) -> Item | None:
        stored = self._current(op.namespace, op.key)
        if stored is None or not stored.live(now_ms):
            return None
        if op.refresh_ttl:
            self._refresh_ttl(stored, now_ms)
        return stored.item()

    def _search(self, op: SearchOp, query_vector: list[float] | None, now_ms: int) -> list[SearchItem]:
        prefix = tuple(op.namespace_prefix)
        if query_vector is None:
            items = [s for s in self._items_under(prefix, now_ms) if _matches(s.value, op.filter)]
            items.sort(key=lambda s: (-s.updated_ms, s.namespace, s.key))
            page = items[op.offset : op.offset + op.limit]
            results = [s.item(SearchItem) for s in page]
        else:
            results, page = self._semantic_search(op, prefix, query_vector, now_ms)
        if op.refresh_ttl:
            for s in page:
                self._refresh_ttl(s, now_ms)
        return results

    def _semantic_search(
        self, op: SearchOp, prefix: tuple[str, ...], query_vector: list[float], now_ms: int
    ) -> tuple[list[SearchItem], list[_Stored]]:
        wanted = op.offset + op.limit
        prefix_filter = (
            {f"{K_PREFIX_AT}{len(prefix)}": _ns_json(prefix)} if prefix else None
        )
        cache: dict[tuple[tuple[str, ...], str], _Stored | None] = {}

        def current(namespace: tuple[str, ...], key: str) -> _Stored | None:
            slot = (namespace, key)
            if slot not in cache:
                stored = self._current(namespace, key)
                ok = (
                    stored is not None
                    and stored.live(now_ms)
                    and namespace[: len(prefix)] == prefix
                    and _matches(stored.value, op.filter)
                )
                cache[slot] = stored if ok else None
            return cache[slot]

        k = min(max(2 * wanted, 16), SEARCH_K_MAX)
        while True:
            hits = self.db.vectors.search(self.collection, query_vector, k, metadata=prefix_filter)
            ranked: list[tuple[float, _Stored]] = []
            seen: set[tuple[tuple[str, ...], str]] = set()
            for hit in hits:
                md = hit.metadata
                namespace, key = tuple(json.loads(md[K_NS])), md[K_KEY]
                if (namespace, key) in seen:
                    continue
                stored = current(namespace, key)
                if stored is None or md.get(K_STAMP) != stored.md.get(K_STAMP):
                    continue  # gone, filtered out, or a vector of an older version
                seen.add((namespace, key))
                ranked.append((1.0 - float(hit.distance), stored))
            if len(ranked) >= wanted or len(hits) < k:
                break
            if k == SEARCH_K_MAX:
                ranked = self._exact_ranking(op, prefix, query_vector, now_ms)
                break
            k = min(k * 4, SEARCH_K_MAX)

        kept = ranked[op.offset : wanted]
        results = [s.item(SearchItem, score=score) for score, s in kept]
        page = [s for _, s in kept]
        if len(kept) < op.limit:
            # As InMemoryStore: items without vectors fill the rest, unscored.
            scoreless = [
                s
                for s in self._items_under(prefix, now_ms)
                if not s.vector_ids() and _matches(s.value, op.filter)
            ]
            scoreless.sort(key=lambda s: (-s.updated_ms, s.namespace, s.key))
            for s in scoreless[: op.limit - len(kept)]:
                results.append(s.item(SearchItem))
                page.append(s)
        return results, page

    def _exact_ranking(
        self, op: SearchOp, prefix: tuple[str, ...], query_vector: list[float], now_ms: int
    ) -> list[tuple[float, _Stored]]:
        """Cosine over every vector under the prefix (when k-NN widening hits its cap)."""
        q_norm = math.sqrt(sum(x * x for x in query_vector))
        ranked = []
        for stored in self._items_under(prefix, now_ms):
            if not _matches(stored.value, op.filter):
                continue
            best = None
            for vector_id in stored.vector_ids():
                try:
                    v = self.db.vectors.get(self.collection, vector_id).vector
                except NotFoundError:
                    continue
                v_norm = math.sqrt(sum(x * x for x in v))
                score = (
                    sum(a * b for a, b in zip(query_vector, v)) / (q_norm * v_norm)
                    if q_norm and v_norm
                    else 0.0
                )
                best = score if best is None else max(best, score)
            if best is not None:
                ranked.append((best, stored))
        ranked.sort(key=lambda r: -r[0])
        return ranked

    def _list_namespaces(self, op: ListNamespacesOp, now_ms: int) -> list[tuple[str, ...]]:
        namespaces = [
            ns
            for ns in self._namespaces()
            if all(_namespace_matches(c, ns) for c in op.match_conditions or ())
        ]
        namespaces = [ns for ns in namespaces if self._items_in(ns, now_ms)]
        if op.max_depth is not None:
            namespaces = sorted({ns[: op.max_depth] for ns in namespaces})
        else:
            namespaces = sorted(namespaces)
        return namespaces[op.offset : op.offset + op.limit]

    # --------------------------------------------------------------- writes

    def _register_namespace(self, namespace: tuple[str, ...]) -> None:
        if namespace in self._registered:
            return
        self.db.states.save(
            self._catalog,
            self._ns_agent(namespace),
            b"",
            state_type=STATE_TYPE,
            metadata={K_ROLE: ROLE_NAMESPACE, K_NS: _ns_json(namespace)},
        )
        with SharedRegistry.lock():
            self._registered.add(namespace)

    def _drop_vectors(self, vector_ids: Iterable[str]) -> None:
        for vector_id in vector_ids:
            try:
                self.db.vectors.delete(self.collection, vector_id)
            except NotFoundError:
                pass

    def _put(
        self,
        op: PutOp,
        texts: list[tuple[str, str]],
        vectors: list[list[float]],
        now_ms: int,
    ) -> None:
        namespace, key = tuple(op.namespace), op.key
        previous = self._current(namespace, key)
        old_vectors = previous.vector_ids() if previous is not None else []
        agent, session = self._ns_agent(namespace), self._key_session(key)
        ns_json = _ns_json(namespace)
        if op.value is None:
            if previous is None or previous.md.get(K_ROLE) != ROLE_ITEM:
                return
            self.db.states.save(
                agent,
                session,
                b"",
                state_type=STATE_TYPE,
                metadata={K_ROLE: ROLE_DELETED, K_NS: ns_json, K_KEY: key},
            )
            self._drop_vectors(old_vectors)
            return

        self._register_namespace(namespace)
        stamp = uuid.uuid4().hex
        vector_ids = [self._vector_id(namespace, key, stamp, i) for i in range(len(vectors))]
        if vectors:
            prefix_keys = {
                f"{K_PREFIX_AT}{d}": _ns_json(namespace[:d]) for d in range(1, len(namespace) + 1)
            }
            self.db.vectors.insert_many(
                self.collection,
                vector_ids,
                [list(map(float, v)) for v in vectors],
                [
                    {K_NS: ns_json, K_KEY: key, K_STAMP: stamp, K_PATH: path, **prefix_keys}
                    for path, _ in texts
                ],
            )
        created = (
            previous.md[K_CREATED]
            if previous is not None and previous.live(now_ms)
            else str(now_ms)
        )
        metadata = {
            K_ROLE: ROLE_ITEM,
            K_NS: ns_json,
            K_KEY: key,
            K_CREATED: created,
            K_UPDATED: str(now_ms),
            K_STAMP: stamp,
            K_NVEC: json.dumps(vector_ids),
        }
        if op.ttl is not None:
            metadata[K_TTL] = repr(float(op.ttl))
            metadata[K_EXPIRES] = str(now_ms + int(float(op.ttl) * MS_PER_MINUTE))
        data = json.dumps(dict(op.value), ensure_ascii=False, separators=(",", ":"))
        self.db.states.save(agent, session, data.encode("utf-8"), state_type=STATE_TYPE, metadata=metadata)
        self._drop_vectors(old_vectors)

    # ---------------------------------------------------------------- batch

    def _texts_to_embed(self, op: PutOp) -> list[tuple[str, str]]:
        """``(path, text)`` pairs of one put, as ``InMemoryStore`` extracts them."""
        if self.index_config is None or op.value is None or op.index is False:
            return []
        if op.index is None:
            paths = self.index_config["__tokenized_fields"]
        else:
            paths = [(p, tokenize_path(p)) for p in op.index]
        out = []
        for path, field in paths:
            texts = get_text_at_path(op.value, field)
            if len(texts) > 1:
                out.extend((f"{path}.{i}", t) for i, t in enumerate(texts))
            elif texts:
                out.append((path, texts[0]))
        return out

    def _plan(self, ops: Iterable[Op]) -> tuple[list[Op], dict[tuple[tuple[str, ...], str], tuple[PutOp, list[tuple[str, str]]]], list[str]]:
        ops = list(ops)
        puts: dict[tuple[tuple[str, ...], str], tuple[PutOp, list[tuple[str, str]]]] = {}
        queries: list[str] = []
        for op in ops:
            validate_op_namespace(op)
            if isinstance(op, PutOp):
                puts[(tuple(op.namespace), op.key)] = (op, [])
            elif isinstance(op, SearchOp):
                if op.query and self.embeddings is not None and op.query not in queries:
                    queries.append(op.query)
            elif not isinstance(op, (GetOp, ListNamespacesOp)):
                raise ValueError(f"Unknown operation type: {type(op)}")
        for slot, (op, _) in puts.items():
            puts[slot] = (op, self._texts_to_embed(op))
        return ops, puts, queries

    def _execute(
        self,
        ops: list[Op],
        puts: dict[tuple[tuple[str, ...], str], tuple[PutOp, list[tuple[str, str]]]],
        query_vectors: dict[str, list[float]],
        put_vectors: list[list[float]],
    ) -> list[Result]:
        now_ms = _now_ms()
        results: list[Result] = []
        for op in ops:
            if isinstance(op, GetOp):
                results.append(self._get(op, now_ms))
            elif isinstance(op, SearchOp):
                vector = query_vectors.get(op.query) if op.query else None
                results.append(self._search(op, vector, now_ms))
            elif isinstance(op, ListNamespacesOp):
                results.append(self._list_namespaces(op, now_ms))
            else:
                results.append(None)
        at = 0
        for op, texts in puts.values():
            self._put(op, texts, put_vectors[at : at + len(texts)], now_ms)
            at += len(texts)
        return results

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        ops, puts, queries = self._plan(ops)
        query_vectors = {q: self.embeddings.embed_query(q) for q in queries} if queries else {}
        texts = [t for _, pairs in puts.values() for _, t in pairs]
        put_vectors = self.embeddings.embed_documents(texts) if texts else []
        self._check_vectors(put_vectors, len(texts))
        return self._execute(ops, puts, query_vectors, put_vectors)

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        ops, puts, queries = self._plan(ops)
        query_vectors = {}
        for q in queries:
            query_vectors[q] = await self.embeddings.aembed_query(q)
        texts = [t for _, pairs in puts.values() for _, t in pairs]
        put_vectors = await self.embeddings.aembed_documents(texts) if texts else []
        self._check_vectors(put_vectors, len(texts))
        return await asyncio.to_thread(self._execute, ops, puts, query_vectors, put_vectors)

    @staticmethod
    def _check_vectors(vectors: Sequence[Any], expected: int) -> None:
        if len(vectors) != expected:
            raise ValueError(f"the embedder returned {len(vectors)} vectors for {expected} texts")

    # ------------------------------------------------------------------ TTL

    def sweep_ttl(self) -> int:
        """Delete every expired item now; returns how many were deleted."""
        now_ms = _now_ms()
        deleted = 0
        for namespace in self._namespaces():
            ns_json = _ns_json(namespace)
            newest: dict[tuple[int, str], Any] = {}
            for r in history_all(self.db.states, self._ns_agent(namespace)):
                if r.metadata.get(K_NS) != ns_json or K_KEY not in r.metadata:
                    continue
                slot = (r.session_id, r.metadata[K_KEY])
                if slot not in newest or r.version > newest[slot].version:
                    newest[slot] = r
            for (_, key), r in newest.items():
                stored = _Stored(namespace, key, r)
                if stored.md.get(K_ROLE) == ROLE_ITEM and not stored.live(now_ms):
                    self.db.states.save(
                        self._ns_agent(namespace),
                        self._key_session(key),
                        b"",
                        state_type=STATE_TYPE,
                        metadata={K_ROLE: ROLE_DELETED, K_NS: ns_json, K_KEY: key},
                    )
                    self._drop_vectors(stored.vector_ids())
                    deleted += 1
        return deleted

    def start_ttl_sweeper(self, sweep_interval_minutes: float | None = None) -> threading.Thread:
        """Sweep expired items every ``sweep_interval_minutes`` (default: the TTL
        config's ``sweep_interval_minutes``, else 5) in a daemon thread."""
        if self._sweeper is not None and self._sweeper.is_alive():
            return self._sweeper
        interval = sweep_interval_minutes or (self.ttl_config or {}).get("sweep_interval_minutes") or 5
        self._sweeper_stop.clear()

        def loop() -> None:
            while not self._sweeper_stop.wait(float(interval) * 60):
                self.sweep_ttl()

        self._sweeper = threading.Thread(target=loop, name="agentdb-store-ttl", daemon=True)
        self._sweeper.start()
        return self._sweeper

    def stop_ttl_sweeper(self, timeout: float | None = None) -> bool:
        if self._sweeper is None:
            return True
        self._sweeper_stop.set()
        self._sweeper.join(timeout)
        stopped = not self._sweeper.is_alive()
        if stopped:
            self._sweeper = None
        return stopped
