"""AgentDBVectorStore: LangChain's standard vector-store suite (sync and async) on a
real AgentDB, plus what the suite leaves out: filters, scores, persistence."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from langchain_core.documents import Document
from langchain_core.embeddings import DeterministicFakeEmbedding, Embeddings
from langchain_core.vectorstores import VectorStore
from langchain_tests.integration_tests.vectorstores import VectorStoreIntegrationTests

from agentdb.langchain import AgentDBVectorStore
from integration_support import backend, open_db  # noqa: F401 (backend: every test per backend)


class TestAgentDBVectorStoreStandard(VectorStoreIntegrationTests):
    @pytest.fixture
    def vectorstore(self, tmp_path: Path) -> Iterator[VectorStore]:  # type: ignore[override]
        db = open_db(tmp_path / "db")
        try:
            yield AgentDBVectorStore(db, self.get_embeddings())
        finally:
            db.close()


class AxisEmbeddings(Embeddings):
    """Words -> fixed 3-d vectors, so expected neighbours are known exactly."""

    TABLE = {
        "x": [1.0, 0.0, 0.0],
        "y": [0.0, 1.0, 0.0],
        "z": [0.0, 0.0, 1.0],
        "xy": [1.0, 1.0, 0.0],
    }

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self.TABLE[t] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.TABLE[text]


def test_scores_are_cosine_distances(db) -> None:
    store = AgentDBVectorStore(db, AxisEmbeddings())
    store.add_texts(["x", "y", "xy"], ids=["a", "b", "c"])
    hits = store.similarity_search_with_score("x", k=3)
    assert [d.id for d, _ in hits] == ["a", "c", "b"]
    assert [round(s, 5) for _, s in hits] == [0.0, round(1 - 2**-0.5, 5), 1.0]
    relevance = store.similarity_search_with_relevance_scores("x", k=1)
    assert relevance[0][0].id == "a" and relevance[0][1] == pytest.approx(1.0)


def test_l2_metric(db) -> None:
    store = AgentDBVectorStore(db, AxisEmbeddings(), collection="l2docs", metric="l2")
    store.add_texts(["x", "y"], ids=["a", "b"])
    hits = store.similarity_search_with_score("xy", k=2)
    assert sorted(round(s, 5) for _, s in hits) == [1.0, 1.0]
    assert sorted(d.id for d, _ in hits) == ["a", "b"]


def test_metadata_filter_is_exact_and_typed(db) -> None:
    store = AgentDBVectorStore(db, AxisEmbeddings())
    store.add_texts(
        ["x", "y", "z", "xy"],
        metadatas=[
            {"lang": "en", "n": 1},
            {"lang": "en", "n": 2},
            {"lang": "fr", "n": 1.0},
            {"lang": "en' OR '1'='1", "n": True},
        ],
        ids=["a", "b", "c", "d"],
    )
    assert {d.id for d in store.similarity_search("x", k=10, filter={"lang": "en"})} == {"a", "b"}
    # 1 and 1.0 are the same number; True is not 1.
    assert {d.id for d in store.similarity_search("x", k=10, filter={"n": 1})} == {"a", "c"}
    assert [d.id for d in store.similarity_search("x", k=10, filter={"n": True})] == ["d"]
    # A quote in a filter value is data, not syntax.
    assert [d.id for d in store.similarity_search("x", k=10, filter={"lang": "en' OR '1'='1"})] == ["d"]
    assert store.similarity_search("x", k=10, filter={"lang": "de"}) == []
    # The nearest matching rows, not the nearest rows then filtered.
    assert [d.id for d in store.similarity_search("x", k=1, filter={"lang": "fr"})] == ["c"]
    with pytest.raises(ValueError):
        store.similarity_search("x", k=1, filter={"tags": ["a"]})


def test_metadata_round_trips_nested_values(db) -> None:
    store = AgentDBVectorStore(db, AxisEmbeddings())
    metadata = {"tags": ["a", "b"], "nested": {"k": [1, 2.5, None]}, "ünï": "çødé"}
    store.add_documents([Document(page_content="x", metadata=metadata, id="doc")])
    [doc] = store.get_by_ids(["doc"])
    assert doc == Document(page_content="x", metadata=metadata, id="doc")


def test_persists_across_reopen(tmp_path: Path) -> None:
    db = open_db(tmp_path / "db")
    AgentDBVectorStore(db, AxisEmbeddings()).add_texts(["x", "y"], [{"i": 1}, {"i": 2}], ids=["a", "b"])
    db.close()
    db = open_db(tmp_path / "db")
    try:
        store = AgentDBVectorStore(db, AxisEmbeddings())
        assert store.similarity_search("y", k=1) == [Document(page_content="y", metadata={"i": 2}, id="b")]
    finally:
        db.close()


def test_from_texts_and_mmr(db) -> None:
    store = AgentDBVectorStore.from_texts(
        ["x", "x", "xy", "y"], AxisEmbeddings(), ids=["x1", "x2", "xy", "y"], db=db
    )
    # MMR with lambda 0 prefers diversity: after the best match, the farthest one.
    picked = store.max_marginal_relevance_search("x", k=2, fetch_k=4, lambda_mult=0.0)
    assert picked[0].id in ("x1", "x2") and picked[1].id == "y"
    with pytest.raises(ValueError):
        AgentDBVectorStore.from_texts(["x"], AxisEmbeddings())


def test_existing_collection_with_other_metric_is_refused(db) -> None:
    AgentDBVectorStore(db, AxisEmbeddings(), collection="docs", metric="l2", dimension=3)
    with pytest.raises(ValueError):
        AgentDBVectorStore(db, AxisEmbeddings(), collection="docs", metric="cosine")


def test_delete_without_ids_is_refused(db) -> None:
    store = AgentDBVectorStore(db, DeterministicFakeEmbedding(size=4))
    store.add_texts(["a"], ids=["1"])
    with pytest.raises(ValueError):
        store.delete()
    assert [d.id for d in store.get_by_ids(["1"])] == ["1"]


async def test_async_round_trip(db) -> None:
    store = await AgentDBVectorStore.afrom_texts(["x", "y"], AxisEmbeddings(), ids=["a", "b"], db=db)
    assert [d.id for d in await store.asimilarity_search("y", k=1)] == ["b"]
    await store.adelete(["b"])
    assert await store.aget_by_ids(["b"]) == []
    picked = await store.amax_marginal_relevance_search("x", k=1, fetch_k=2)
    assert [d.id for d in picked] == ["a"]
