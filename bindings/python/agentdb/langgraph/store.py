"""``AgentDBStore``: LangGraph's long-term ``BaseStore`` over AgentDB items.

Where things live:

* Every store item is an engine item (``db.items``; SPEC.md, "Items") at the
  namespace ``(key_prefix, *namespace)`` and the same key: the value as JSON,
  created/updated times and the TTL, all kept by the engine. The first label
  keeps independent stores (other ``key_prefix``) of one database apart.
  Every operation is served by the engine's indexes, none reads a whole
  namespace or log: the GetOps of a batch are one ``get_many``, its puts and
  deletes one ``write`` (all or nothing), a search without a query is one
  engine search with the filter evaluated in the engine (exact pages),
  ``list_namespaces`` is the engine's namespace listing.
* With ``index={"dims", "embed", "fields"}``, every embedded text of an item
  is a row of the vector collection ``lgstore-<hash of key_prefix>``
  (cosine), carrying the item's namespace, key, a per-put ``stamp`` and, for
  each depth ``d`` of the namespace, ``ls.p<d>`` = the JSON of its first
  ``d`` labels (so a search under a prefix is an exact engine-side metadata
  filter). The item's metadata holds its stamp (``ls.stamp``) and its vector
  ids (``ls.vectors``; ``"[]"`` when it has none). A put writes the new
  vectors (new ids, new stamp) before the item and deletes the old ones
  after it; a vector whose stamp is not its item's is never believed, so a
  crash at any point leaves nothing stale in a result. A search with a query
  ranks by k-NN over the collection (widening until enough candidates pass),
  reads the candidates with one ``get_many``, applies the value filter to
  them with the engine's own evaluation, and fills the tail with items that
  have no vectors (an engine search on ``ls.vectors == "[]"``).

Semantics follow ``InMemoryStore``: reads in a batch see the state before the
batch, then the batch's puts apply (the last put per item wins); semantic
scores are cosine similarities, max-pooled over an item's vectors; items
without vectors fill the tail of a semantic search. Search without a query is
ordered newest update first (``SqliteStore``'s order; ties by namespace, then
key). A namespace is listed while it holds a live item (as ``SqliteStore``).
TTL (minutes) maps to the engine's ``ttl_ms``: expired items are never
returned, reads refresh the TTL when asked, ``sweep_ttl()`` deletes expired
items (of every store in the database: expired items are invisible anyway).

A store written by the states-based ``AgentDBStore`` (before items existed)
is migrated to items on its first writable open, once
(``agentdb.langgraph._store_migration``).
"""

from __future__ import annotations

import asyncio
import json
import math
import threading
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

from agentdb import NotFoundError, ReadOnlyError
from agentdb._native import _item_filter_matches

from ._common import stable_id
from ._store_migration import migrate_states_store

try:  # langgraph-checkpoint >= 4.3 validates labels of ops given to batch directly
    from langgraph.store.base import validate_op_namespace
except ImportError:  # pragma: no cover - older langgraph
    def validate_op_namespace(op: Op) -> None:
        return None

__all__ = ["AgentDBStore"]

K_NS = "ls.namespace"
K_KEY = "ls.key"
K_STAMP = "ls.stamp"
K_VECTORS = "ls.vectors"
K_PATH = "ls.path"
K_PREFIX_AT = "ls.p"  # + depth
NO_VECTORS = "[]"
#: ``vectors.search`` returns at most this many rows per call, and an item
#: search or namespace listing at most this many per page (SPEC.md, Limits).
SEARCH_K_MAX = 10_000
#: ``items.write`` / ``vectors.insert_many`` take at most this many entries per call.
BATCH_MAX = 100_000
MS_PER_MINUTE = 60_000


def _ns_json(namespace: Sequence[str]) -> str:
    return json.dumps(list(namespace), ensure_ascii=False, separators=(",", ":"))


def _datetime(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc)


def _ttl_ms(minutes: float) -> int:
    """LangGraph's TTL (minutes, a float) in the engine's whole milliseconds (at least 1)."""
    return max(1, round(float(minutes) * MS_PER_MINUTE))


def _merge_conditions(paths: Iterable[Sequence[str]]) -> tuple[str, ...] | None:
    """One label pattern that a namespace matches iff it matches every one of
    ``paths`` (all prefixes, or all suffixes aligned at the end); ``None``
    when no namespace can match them all."""
    merged: list[str] = []
    for path in paths:
        for i, label in enumerate(path):
            if i == len(merged):
                merged.append(label)
            elif merged[i] == "*":
                merged[i] = label
            elif label != "*" and label != merged[i]:
                return None
    return tuple(merged)


class AgentDBStore(BaseStore):
    """LangGraph long-term memory store over an open ``agentdb.AgentDB`` (not closed here).

    ``index`` enables semantic search (``{"dims": int, "embed": Embeddings |
    callable | provider string, "fields": ["$"] | [paths]}``); ``ttl`` is a
    LangGraph ``TTLConfig``; ``key_prefix`` separates independent stores in
    one database (it is the first label of every item's engine namespace).
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
        if not isinstance(key_prefix, str) or not key_prefix:
            raise ValueError("key_prefix must be a non-empty str")
        self.db = db
        self.key_prefix = key_prefix
        self.ttl_config = ttl
        self._root = (key_prefix,)
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
        self._migrate_states_store()

    def _ensure_collection(self, dims: int) -> None:
        for info in self.db.vectors.list_collections():
            if info.name == self.collection:
                if info.dimension != dims:
                    raise ValueError(
                        f"store vectors exist with dimension {info.dimension}, not {dims}"
                    )
                return
        self.db.vectors.create_collection(self.collection, dims, "cosine")

    # ------------------------------------------------------------ addresses

    def _engine_ns(self, namespace: Sequence[str]) -> tuple[str, ...]:
        return (*self._root, *namespace)

    def _ns_hash(self, namespace: Sequence[str]) -> int:
        return stable_id(self.key_prefix, "store-namespace", *namespace)

    @staticmethod
    def _key_hash(key: str) -> int:
        return stable_id("item", key)

    def _vector_id(self, namespace: Sequence[str], key: str, stamp: str, i: int) -> str:
        # Vector ids are at most 256 bytes; the stamp makes them unique per put,
        # so two items whose hashes collide never share a vector.
        return f"{self._ns_hash(namespace):x}-{self._key_hash(key):x}-{stamp}-{i}"

    def _lg_item(self, item: Any, cls: type = Item, **extra: Any) -> Any:
        return cls(
            namespace=tuple(item.namespace[len(self._root) :]),
            key=item.key,
            value=item.value,
            created_at=_datetime(item.created_at_ms),
            updated_at=_datetime(item.updated_at_ms),
            **extra,
        )

    # ---------------------------------------------------------------- reads

    def _get_many(self, addresses: list[tuple[tuple[str, ...], str]], refresh_ttl: bool) -> list[Any]:
        """The engine items at (store namespace, key) addresses, ``None`` where absent."""
        out: list[Any] = []
        for start in range(0, len(addresses), BATCH_MAX):
            chunk = [(self._engine_ns(ns), key) for ns, key in addresses[start : start + BATCH_MAX]]
            try:
                out.extend(self.db.items.get_many(chunk, refresh_ttl=refresh_ttl))
            except ReadOnlyError:
                if not refresh_ttl:
                    raise
                # A read-only database cannot move expiries: read without refreshing.
                out.extend(self.db.items.get_many(chunk))
        return out

    def _gets(self, ops: list[tuple[int, GetOp]], results: list[Result]) -> None:
        """Every GetOp of a batch: one ``get_many`` per refresh setting."""
        for refresh in (False, True):
            group = [(i, op) for i, op in ops if bool(op.refresh_ttl) == refresh]
            if not group:
                continue
            found = self._get_many([(tuple(op.namespace), op.key) for _, op in group], refresh)
            for (i, _), item in zip(group, found):
                results[i] = None if item is None else self._lg_item(item)

    def _engine_search(
        self,
        prefix: tuple[str, ...],
        filter: dict[str, Any] | None,
        metadata: dict[str, str] | None,
        limit: int,
        offset: int,
        refresh_ttl: bool,
    ) -> list[Any]:
        """An engine item search of any length (pages of at most ``SEARCH_K_MAX``)."""
        out: list[Any] = []
        while limit > 0:
            n = min(limit, SEARCH_K_MAX)
            kwargs = dict(filter=filter, metadata=metadata, limit=n, offset=offset)
            try:
                page = self.db.items.search(self._engine_ns(prefix), refresh_ttl=refresh_ttl, **kwargs)
            except ReadOnlyError:
                if not refresh_ttl:
                    raise
                page = self.db.items.search(self._engine_ns(prefix), **kwargs)
            out.extend(page.items)
            if len(page.items) < n:
                break
            limit, offset = limit - n, offset + n
        return out

    def _search(self, op: SearchOp, query_vector: list[float] | None) -> list[SearchItem]:
        prefix = tuple(op.namespace_prefix)
        flt = dict(op.filter) if op.filter else None
        if query_vector is None:
            items = self._engine_search(prefix, flt, None, op.limit, op.offset, bool(op.refresh_ttl))
            return [self._lg_item(i, SearchItem) for i in items]
        return self._semantic_search(op, prefix, flt, query_vector)

    def _semantic_search(
        self, op: SearchOp, prefix: tuple[str, ...], flt: dict[str, Any] | None, query_vector: list[float]
    ) -> list[SearchItem]:
        wanted = op.offset + op.limit
        prefix_filter = {f"{K_PREFIX_AT}{len(prefix)}": _ns_json(prefix)} if prefix else None
        # (namespace, key) -> the current engine item if it passes the filter, else None.
        current: dict[tuple[tuple[str, ...], str], Any] = {}

        def fetch(addresses: list[tuple[tuple[str, ...], str]]) -> None:
            fresh = list(dict.fromkeys(a for a in addresses if a not in current))
            if not fresh:
                return
            items = self._get_many(fresh, False)
            passes = (
                _item_filter_matches([i for i in items if i is not None], flt)
                if flt
                else None
            )
            at = 0
            for address, item in zip(fresh, items):
                if item is None:
                    current[address] = None
                    continue
                ok = passes[at] if passes is not None else True
                at += 1
                current[address] = item if ok else None

        k = min(max(2 * wanted, 16), SEARCH_K_MAX)
        while True:
            hits = self.db.vectors.search(self.collection, query_vector, k, metadata=prefix_filter)
            addressed = [((tuple(json.loads(h.metadata[K_NS])), h.metadata[K_KEY]), h) for h in hits]
            fetch([a for a, _ in addressed])
            ranked: list[tuple[float, Any]] = []
            seen: set[tuple[tuple[str, ...], str]] = set()
            for address, hit in addressed:
                if address in seen:
                    continue
                item = current[address]
                if item is None or hit.metadata.get(K_STAMP) != item.metadata.get(K_STAMP):
                    continue  # gone, filtered out, or a vector of an older version
                seen.add(address)
                ranked.append((1.0 - float(hit.distance), item))
            if len(ranked) >= wanted or len(hits) < k:
                break
            if k == SEARCH_K_MAX:
                ranked = self._exact_ranking(prefix, flt, query_vector)
                break
            k = min(k * 4, SEARCH_K_MAX)

        kept = ranked[op.offset : wanted]
        page = [item for _, item in kept]
        results = [self._lg_item(item, SearchItem, score=score) for score, item in kept]
        if len(kept) < op.limit:
            # As InMemoryStore: items without vectors fill the rest, unscored.
            tail = self._engine_search(prefix, flt, {K_VECTORS: NO_VECTORS}, op.limit - len(kept), 0, False)
            page.extend(tail)
            results.extend(self._lg_item(item, SearchItem) for item in tail)
        if op.refresh_ttl and any(item.ttl_ms is not None for item in page):
            addresses = [(tuple(i.namespace[len(self._root) :]), i.key) for i in page if i.ttl_ms is not None]
            self._get_many(addresses, True)
        return results

    def _exact_ranking(
        self, prefix: tuple[str, ...], flt: dict[str, Any] | None, query_vector: list[float]
    ) -> list[tuple[float, Any]]:
        """Cosine over every vector of every matching item under the prefix (when
        k-NN widening reaches its cap: more than 10,000 vectors had to be passed over)."""
        q_norm = math.sqrt(sum(x * x for x in query_vector))
        ranked = []
        for item in self._engine_search(prefix, flt, None, SEARCH_K_MAX * 100, 0, False):
            best = None
            for vector_id in json.loads(item.metadata.get(K_VECTORS, NO_VECTORS)):
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
                ranked.append((best, item))
        ranked.sort(key=lambda r: -r[0])
        return ranked

    def _list_namespaces(self, op: ListNamespacesOp) -> list[tuple[str, ...]]:
        conditions: Sequence[MatchCondition] = op.match_conditions or ()
        for c in conditions:
            if c.match_type not in ("prefix", "suffix"):
                raise ValueError(f"Unsupported match type: {c.match_type}")
        prefix = _merge_conditions(c.path for c in conditions if c.match_type == "prefix")
        suffix = _merge_conditions(tuple(reversed(c.path)) for c in conditions if c.match_type == "suffix")
        if prefix is None or suffix is None:
            return []
        suffix = tuple(reversed(suffix))
        # A suffix must fall inside the store's own labels, never reach the key_prefix label.
        prefix = prefix + ("*",) * max(0, len(suffix) - len(prefix))
        max_depth = None if op.max_depth is None else op.max_depth + len(self._root)
        if max_depth is not None and op.max_depth < 1:
            return []
        out: list[tuple[str, ...]] = []
        limit, offset = op.limit, op.offset
        while limit > 0:
            n = min(limit, SEARCH_K_MAX)
            page = self.db.items.list_namespaces(
                self._engine_ns(prefix), suffix=suffix, max_depth=max_depth, limit=n, offset=offset
            )
            out.extend(ns[len(self._root) :] for ns in page)
            if len(page) < n:
                break
            limit, offset = limit - n, offset + n
        return out

    # --------------------------------------------------------------- writes

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

    def _drop_vectors(self, vector_ids: Iterable[str]) -> None:
        for vector_id in vector_ids:
            try:
                self.db.vectors.delete(self.collection, vector_id)
            except NotFoundError:
                pass

    def _apply_puts(
        self,
        puts: dict[tuple[tuple[str, ...], str], tuple[PutOp, list[tuple[str, str]]]],
        vectors: list[list[float]],
    ) -> None:
        """The batch's puts and deletes: new vectors, then one item write, then old vectors out."""
        if not puts:
            return
        addresses = list(puts)
        old_vectors: list[str] = []
        if self.collection is not None:
            for item in self._get_many(addresses, False):
                if item is not None:
                    old_vectors.extend(json.loads(item.metadata.get(K_VECTORS, NO_VECTORS)))
        writes: list[dict[str, Any]] = []
        new_ids: list[str] = []
        new_vectors: list[list[float]] = []
        new_meta: list[dict[str, str]] = []
        at = 0
        for (namespace, key), (op, texts) in puts.items():
            if op.value is None:
                writes.append({"namespace": self._engine_ns(namespace), "key": key, "delete": True})
                continue
            mine = vectors[at : at + len(texts)]
            at += len(texts)
            metadata = {K_VECTORS: NO_VECTORS}
            if mine:
                stamp = uuid.uuid4().hex
                ids = [self._vector_id(namespace, key, stamp, i) for i in range(len(mine))]
                prefix_keys = {f"{K_PREFIX_AT}{d}": _ns_json(namespace[:d]) for d in range(1, len(namespace) + 1)}
                common = {K_NS: _ns_json(namespace), K_KEY: key, K_STAMP: stamp, **prefix_keys}
                new_ids.extend(ids)
                new_vectors.extend(list(map(float, v)) for v in mine)
                new_meta.extend({**common, K_PATH: path} for path, _ in texts)
                metadata = {K_STAMP: stamp, K_VECTORS: json.dumps(ids)}
            write: dict[str, Any] = {
                "namespace": self._engine_ns(namespace),
                "key": key,
                "value": dict(op.value),
                "metadata": metadata,
            }
            if op.ttl is not None:
                write["ttl_ms"] = _ttl_ms(op.ttl)
            writes.append(write)
        for start in range(0, len(new_ids), BATCH_MAX):
            end = start + BATCH_MAX
            self.db.vectors.insert_many(
                self.collection, new_ids[start:end], new_vectors[start:end], new_meta[start:end]
            )
        for start in range(0, len(writes), BATCH_MAX):
            self.db.items.write(writes[start : start + BATCH_MAX])
        if old_vectors:
            self._drop_vectors(old_vectors)

    # ---------------------------------------------------------------- batch

    def _plan(
        self, ops: Iterable[Op]
    ) -> tuple[list[Op], dict[tuple[tuple[str, ...], str], tuple[PutOp, list[tuple[str, str]]]], list[str]]:
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
        results: list[Result] = [None] * len(ops)
        self._gets([(i, op) for i, op in enumerate(ops) if isinstance(op, GetOp)], results)
        for i, op in enumerate(ops):
            if isinstance(op, SearchOp):
                vector = query_vectors.get(op.query) if op.query else None
                results[i] = self._search(op, vector)
            elif isinstance(op, ListNamespacesOp):
                results[i] = self._list_namespaces(op)
        self._apply_puts(puts, put_vectors)
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
        """Delete every expired item now; returns how many were deleted.

        The engine sweeps the whole database (expired items are invisible to
        every read anyway), so the count includes expired items of other
        stores or ``db.items`` users of the same database. The vectors of
        swept items stay in the collection and are never believed (their
        item is gone); a later put of the same item does not find them.
        """
        return self.db.items.sweep_expired()

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

    # ------------------------------------------------------------- migration

    def _migrate_states_store(self) -> int:
        """Moves a store written by the states-based ``AgentDBStore`` under this
        ``key_prefix`` to items (once; one lookup when there is none). See
        ``agentdb.langgraph._store_migration``."""
        return migrate_states_store(self.db, self.key_prefix, self._root)
