"""``AgentDBVectorStore``: a LangChain ``VectorStore`` over an AgentDB vector collection.

Each document is one vector row: the row id is the document id, the vector is
``embedding.embed_documents([page_content])``, and the row's string metadata
holds

* ``lc.page_content`` -- the text, verbatim;
* ``lc.metadata``     -- the document's metadata as JSON;
* ``lc.m.<key>``      -- for each top-level metadata value that is a JSON
  scalar (str, int, float, bool, None), its canonical JSON text. ``filter=``
  in the search methods is a dict of such ``key: value`` equalities, handed to
  the engine as an exact metadata filter (the engine widens its search until
  ``k`` matching rows are found), never pasted into a query string.
  Integral floats are written as integers, so ``{"n": 1}`` matches ``1.0``.

Adding a document with an existing id replaces it (the engine upserts by id;
a batch is all or nothing). The collection is created on first use with the
embedding's dimension and ``metric`` (``cosine`` by default; ``l2`` and
``dot`` also work). ``similarity_search_with_score`` returns the engine's
distance (smaller is closer); ``similarity_search_with_relevance_scores``
turns it into a 0..1 relevance.

Requires ``langchain-core`` (not a dependency of ``agentdb`` itself).
"""

from __future__ import annotations

import asyncio
import json
import math
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.vectorstores import VectorStore
from langchain_core.vectorstores.utils import maximal_marginal_relevance

from agentdb import NotFoundError

__all__ = ["AgentDBVectorStore"]

K_CONTENT = "lc.page_content"
K_METADATA = "lc.metadata"
K_FIELD_PREFIX = "lc.m."
#: Engine limits on a row's metadata (SPEC.md: state and vector metadata maps).
METADATA_KEY_BYTES_MAX = 128
METADATA_ENTRIES_MAX = 256
#: ``search`` returns at most this many rows per call (SPEC.md).
SEARCH_K_MAX = 10_000


def _scalar_json(value: Any) -> str | None:
    """Canonical JSON of a filterable scalar, or None if the value is not one."""
    if value is None or isinstance(value, (bool, str)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            return str(int(value))
        return json.dumps(value)
    return None


def _field_key(key: str) -> str | None:
    full = K_FIELD_PREFIX + key
    return full if len(full.encode("utf-8")) <= METADATA_KEY_BYTES_MAX else None


def _row_metadata(text: str, metadata: dict[str, Any]) -> dict[str, str]:
    row = {K_CONTENT: text, K_METADATA: json.dumps(metadata, ensure_ascii=False)}
    for key, value in metadata.items():
        encoded = _scalar_json(value)
        field = _field_key(str(key))
        if encoded is None or field is None:
            continue
        row[field] = encoded
    if len(row) > METADATA_ENTRIES_MAX:
        raise ValueError(
            f"a document may carry at most {METADATA_ENTRIES_MAX - 2} scalar metadata fields"
        )
    return row


def _engine_filter(filter: dict[str, Any] | None) -> dict[str, str] | None:
    if not filter:
        return None
    out = {}
    for key, value in filter.items():
        encoded = _scalar_json(value)
        field = _field_key(str(key))
        if encoded is None or field is None:
            raise ValueError(
                f"filter on {key!r}: only equality on top-level scalar metadata "
                "(str, int, float, bool, None) with keys up to "
                f"{METADATA_KEY_BYTES_MAX - len(K_FIELD_PREFIX)} bytes is supported"
            )
        out[field] = encoded
    return out


def _document(row_id: str, metadata: dict[str, str]) -> Document:
    return Document(
        id=row_id,
        page_content=metadata.get(K_CONTENT, ""),
        metadata=json.loads(metadata.get(K_METADATA, "{}")),
    )


class AgentDBVectorStore(VectorStore):
    """LangChain vector store backed by the AgentDB vector collection ``collection``.

    ``db`` is an open ``agentdb.AgentDB`` (not closed by the store).
    ``dimension`` creates the collection up front; without it the collection
    is created on the first add, sized by the first embedding.
    """

    def __init__(
        self,
        db: Any,
        embedding: Embeddings,
        *,
        collection: str = "langchain",
        metric: str = "cosine",
        dimension: int | None = None,
    ) -> None:
        if metric not in ("cosine", "l2", "dot"):
            raise ValueError(f"metric must be 'cosine', 'l2' or 'dot', not {metric!r}")
        self.db = db
        self.embedding = embedding
        self.collection = collection
        self.metric = metric
        self._ready = False
        if dimension is not None:
            self._ensure_collection(dimension)
        else:
            self._ready = self._existing_collection() is not None

    # ------------------------------------------------------------ collection

    def _existing_collection(self) -> Any:
        for info in self.db.vectors.list_collections():
            if info.name == self.collection:
                if info.metric != self.metric:
                    raise ValueError(
                        f"collection {self.collection!r} exists with metric "
                        f"{info.metric!r}, not {self.metric!r}"
                    )
                return info
        return None

    def _ensure_collection(self, dimension: int) -> None:
        if self._ready:
            return
        info = self._existing_collection()
        if info is None:
            try:
                self.db.vectors.create_collection(self.collection, dimension, self.metric)
            except Exception:
                # Created meanwhile by another store over the same database?
                if self._existing_collection() is None:
                    raise
        self._ready = True

    @property
    def embeddings(self) -> Embeddings:
        return self.embedding

    # ----------------------------------------------------------------- write

    def _prepare(
        self,
        texts: Iterable[str],
        metadatas: list[dict[str, Any]] | None,
        ids: Sequence[str | None] | None,
    ) -> tuple[list[str], list[str], list[dict[str, Any]]]:
        texts = list(texts)
        if metadatas is not None and len(metadatas) != len(texts):
            raise ValueError(f"{len(metadatas)} metadatas for {len(texts)} texts")
        if ids is not None and len(ids) != len(texts):
            raise ValueError(f"{len(ids)} ids for {len(texts)} texts")
        out_ids = [
            str(i) if i else str(uuid.uuid4()) for i in (ids if ids is not None else [None] * len(texts))
        ]
        out_metadatas = [dict(m or {}) for m in (metadatas or [{}] * len(texts))]
        return texts, out_ids, out_metadatas

    def _insert(
        self,
        texts: list[str],
        ids: list[str],
        metadatas: list[dict[str, Any]],
        vectors: list[list[float]],
    ) -> list[str]:
        if not texts:
            return []
        self._ensure_collection(len(vectors[0]))
        # The last occurrence of a repeated id wins, as sequential upserts would.
        last = {row_id: i for i, row_id in enumerate(ids)}
        keep = sorted(last.values())
        self.db.vectors.insert_many(
            self.collection,
            [ids[i] for i in keep],
            [list(map(float, vectors[i])) for i in keep],
            [_row_metadata(texts[i], metadatas[i]) for i in keep],
        )
        return ids

    def add_texts(
        self,
        texts: Iterable[str],
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        **kwargs: Any,
    ) -> list[str]:
        texts, ids_, metadatas_ = self._prepare(texts, metadatas, ids)
        if not texts:
            return []
        vectors = self.embedding.embed_documents(texts)
        return self._insert(texts, ids_, metadatas_, vectors)

    async def aadd_texts(
        self,
        texts: Iterable[str],
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        **kwargs: Any,
    ) -> list[str]:
        texts, ids_, metadatas_ = self._prepare(texts, metadatas, ids)
        if not texts:
            return []
        vectors = await self.embedding.aembed_documents(texts)
        return await asyncio.to_thread(self._insert, texts, ids_, metadatas_, vectors)

    def delete(self, ids: list[str] | None = None, **kwargs: Any) -> bool | None:
        """Delete these ids (missing ones are ignored). ``ids=None`` is refused:
        the engine has no way to drop or enumerate a collection."""
        if ids is None:
            raise ValueError("AgentDBVectorStore.delete needs the ids to delete")
        if not self._ready and self._existing_collection() is None:
            return True
        self._ready = True
        for row_id in ids:
            try:
                self.db.vectors.delete(self.collection, str(row_id))
            except NotFoundError:
                pass
        return True

    async def adelete(self, ids: list[str] | None = None, **kwargs: Any) -> bool | None:
        return await asyncio.to_thread(self.delete, ids, **kwargs)

    # ------------------------------------------------------------------ read

    def get_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        if not self._ready and self._existing_collection() is None:
            return []
        self._ready = True
        out = []
        seen = set()
        for row_id in ids:
            if row_id in seen:
                continue
            seen.add(row_id)
            try:
                record = self.db.vectors.get(self.collection, str(row_id))
            except NotFoundError:
                continue
            out.append(_document(record.id, record.metadata))
        return out

    async def aget_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        return await asyncio.to_thread(self.get_by_ids, ids)

    def _search(
        self, vector: list[float], k: int, filter: dict[str, Any] | None
    ) -> list[Any]:
        if k <= 0:
            return []
        if not self._ready and self._existing_collection() is None:
            return []
        self._ready = True
        return self.db.vectors.search(
            self.collection,
            list(map(float, vector)),
            min(k, SEARCH_K_MAX),
            metadata=_engine_filter(filter),
        )

    def similarity_search_with_score_by_vector(
        self,
        embedding: list[float],
        k: int = 4,
        filter: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> list[tuple[Document, float]]:
        """Documents nearest to ``embedding`` with their distance (smaller is closer)."""
        return [
            (_document(hit.id, hit.metadata), float(hit.distance))
            for hit in self._search(embedding, k, filter)
        ]

    def similarity_search_with_score(
        self, query: str, k: int = 4, filter: dict[str, Any] | None = None, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        return self.similarity_search_with_score_by_vector(
            self.embedding.embed_query(query), k, filter
        )

    def similarity_search_by_vector(
        self,
        embedding: list[float],
        k: int = 4,
        filter: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> list[Document]:
        return [doc for doc, _ in self.similarity_search_with_score_by_vector(embedding, k, filter)]

    def similarity_search(
        self, query: str, k: int = 4, filter: dict[str, Any] | None = None, **kwargs: Any
    ) -> list[Document]:
        return [doc for doc, _ in self.similarity_search_with_score(query, k, filter)]

    async def asimilarity_search_with_score(
        self, query: str, k: int = 4, filter: dict[str, Any] | None = None, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        vector = await self.embedding.aembed_query(query)
        return await asyncio.to_thread(
            self.similarity_search_with_score_by_vector, vector, k, filter
        )

    async def asimilarity_search_by_vector(
        self,
        embedding: list[float],
        k: int = 4,
        filter: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> list[Document]:
        return await asyncio.to_thread(self.similarity_search_by_vector, embedding, k, filter)

    async def asimilarity_search(
        self, query: str, k: int = 4, filter: dict[str, Any] | None = None, **kwargs: Any
    ) -> list[Document]:
        return [doc for doc, _ in await self.asimilarity_search_with_score(query, k, filter)]

    def _select_relevance_score_fn(self) -> Callable[[float], float]:
        if self.metric == "l2":
            return self._euclidean_relevance_score_fn
        # cosine: distance = 1 - cos; dot: distance = 1 - dot.
        return lambda distance: 1.0 - distance

    def max_marginal_relevance_search_by_vector(
        self,
        embedding: list[float],
        k: int = 4,
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
        filter: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> list[Document]:
        hits = self._search(embedding, max(k, fetch_k), filter)
        if not hits:
            return []
        chosen = maximal_marginal_relevance(
            _as_array(embedding),
            [list(hit.vector) for hit in hits],
            lambda_mult=lambda_mult,
            k=k,
        )
        return [_document(hits[i].id, hits[i].metadata) for i in chosen]

    def max_marginal_relevance_search(
        self,
        query: str,
        k: int = 4,
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
        filter: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> list[Document]:
        return self.max_marginal_relevance_search_by_vector(
            self.embedding.embed_query(query), k, fetch_k, lambda_mult, filter
        )

    async def amax_marginal_relevance_search(
        self,
        query: str,
        k: int = 4,
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
        filter: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> list[Document]:
        vector = await self.embedding.aembed_query(query)
        return await asyncio.to_thread(
            self.max_marginal_relevance_search_by_vector, vector, k, fetch_k, lambda_mult, filter
        )

    # ----------------------------------------------------------- construct

    @classmethod
    def from_texts(
        cls,
        texts: list[str],
        embedding: Embeddings,
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        db: Any = None,
        collection: str = "langchain",
        metric: str = "cosine",
        **kwargs: Any,
    ) -> AgentDBVectorStore:
        """Build a store over ``db`` (an open ``agentdb.AgentDB``) holding ``texts``."""
        if db is None:
            raise ValueError("AgentDBVectorStore.from_texts needs db=<an open agentdb.AgentDB>")
        store = cls(db, embedding, collection=collection, metric=metric)
        store.add_texts(texts, metadatas, ids=ids)
        return store

    @classmethod
    async def afrom_texts(
        cls,
        texts: list[str],
        embedding: Embeddings,
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        db: Any = None,
        collection: str = "langchain",
        metric: str = "cosine",
        **kwargs: Any,
    ) -> AgentDBVectorStore:
        if db is None:
            raise ValueError("AgentDBVectorStore.afrom_texts needs db=<an open agentdb.AgentDB>")
        store = await asyncio.to_thread(cls, db, embedding, collection=collection, metric=metric)
        await store.aadd_texts(texts, metadatas, ids=ids)
        return store


def _as_array(vector: list[float]) -> Any:
    import numpy as np

    return np.array(vector, dtype=np.float32)
