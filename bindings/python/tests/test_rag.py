"""db.rag: documents with caller chunk vectors (3 dimensions) and with the built-in model."""

from __future__ import annotations

import numpy as np
import pytest

import agentdb


def index_three(db):
    db.rag.index_document("tea", "Green tea is brewed at eighty degrees.", title="Tea", metadata={"lang": "en"},
                          chunk_vectors=[[1, 0, 0]])  # fmt: skip
    db.rag.index_document("coffee", "Espresso is brewed under pressure.", metadata={"lang": "en"},
                          chunk_vectors=np.array([[0, 1, 0]], dtype=np.float32))  # fmt: skip
    db.rag.index_document("cha", "绿茶用八十度的水冲泡。", metadata={"lang": "zh"}, chunk_vectors=[[0.9, 0.1, 0]])


def test_index_and_get_document(db):
    info = db.rag.index_document("tea", "Green tea.", title="Tea", metadata={"k": "v"}, chunk_vectors=[[1, 0, 0]])
    assert isinstance(info, agentdb.DocumentInfo)
    assert (info.doc_id, info.title, info.metadata, info.chunk_count, info.char_count) == ("tea", "Tea", {"k": "v"}, 1, 10)
    assert info.indexed_at_ms > 0
    assert db.rag.get_document("tea") == info
    db.flush()
    assert db.rag.get_document("tea") == info
    assert "doc_id='tea'" in repr(info)


def test_reindex_replaces_and_delete_removes(db):
    db.rag.index_document("d", "first version", chunk_vectors=[[1, 0, 0]])
    db.flush()
    db.rag.index_document("d", "second version", chunk_vectors=[[0, 1, 0]])
    hits = db.rag.semantic_search(vector=[0, 1, 0], limit=10)
    assert [(h.doc_id, h.content) for h in hits] == [("d", "second version")]
    db.rag.delete_document("d")
    with pytest.raises(agentdb.NotFoundError):
        db.rag.get_document("d")
    with pytest.raises(agentdb.NotFoundError):
        db.rag.delete_document("d")
    assert db.rag.semantic_search(vector=[0, 1, 0]) == []


def test_semantic_search_by_vector_with_filters(db):
    index_three(db)
    hits = db.rag.semantic_search(vector=[1, 0, 0], limit=2)
    assert [h.doc_id for h in hits] == ["tea", "cha"]
    h = hits[0]
    assert isinstance(h, agentdb.ChunkHit)
    assert (h.chunk_id, h.position, h.start_char, h.end_char) == ("tea#0", 0, 0, 38)
    assert h.content == "Green tea is brewed at eighty degrees." and h.score == pytest.approx(1.0)
    assert [h.doc_id for h in db.rag.semantic_search(vector=[1, 0, 0], doc_ids=["coffee"])] == ["coffee"]
    assert [h.doc_id for h in db.rag.semantic_search(vector=[1, 0, 0], metadata={"lang": "zh"})] == ["cha"]
    assert [h.doc_id for h in db.rag.semantic_search(vector=[1, 0, 0], doc_ids="coffee")] == ["coffee"]


def test_full_text_and_hybrid_search(db):
    index_three(db)
    fts = db.rag.full_text_search("brewed pressure", limit=5)
    assert fts[0].doc_id == "coffee" and fts[0].score > 0
    assert [h.doc_id for h in db.rag.full_text_search("绿茶", limit=5)] == ["cha"]
    assert db.rag.full_text_search("brewed", doc_ids=["tea"])[0].doc_id == "tea"
    assert [h.doc_id for h in db.rag.full_text_search("brewed", metadata={"lang": "zh"})] == []
    weighted = db.rag.hybrid_search("brewed pressure", vector=[1, 0, 0], limit=3, alpha=0.5)
    assert {h.doc_id for h in weighted} == {"tea", "coffee", "cha"}
    assert weighted[0].score >= weighted[-1].score
    rrf = db.rag.hybrid_search("brewed pressure", vector=[0, 1, 0], limit=1, fusion="rrf")
    assert rrf[0].doc_id == "coffee"
    assert rrf[0].score == pytest.approx(2 / 61)


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda db: db.rag.index_document("a#b", "x", chunk_vectors=[[1, 0, 0]]), agentdb.InvalidArgumentError),
        (lambda db: db.rag.index_document("", "x", chunk_vectors=[[1, 0, 0]]), agentdb.InvalidArgumentError),
        (lambda db: db.rag.index_document("d", " ", chunk_vectors=[[1, 0, 0]]), agentdb.InvalidArgumentError),
        (lambda db: db.rag.index_document("d", "x", chunk_vectors=[[1, 0, 0], [0, 1, 0]]), agentdb.InvalidArgumentError),
        (lambda db: db.rag.index_document("d", "x", chunk_vectors=[[1, 0]]), agentdb.DimensionMismatchError),
        (lambda db: db.rag.index_document("d", "x", chunk_vectors=np.zeros((1, 2, 3), np.float32)), agentdb.InvalidArgumentError),
        (lambda db: db.rag.get_document("nope"), agentdb.NotFoundError),
        (lambda db: db.rag.semantic_search(vector=[1, 0]), agentdb.DimensionMismatchError),
        (lambda db: db.rag.semantic_search(), agentdb.InvalidArgumentError),
        (lambda db: db.rag.semantic_search("q", vector=[1, 0, 0]), agentdb.InvalidArgumentError),
        (lambda db: db.rag.semantic_search(vector=[1, 0, 0], limit=0), agentdb.InvalidArgumentError),
        (lambda db: db.rag.full_text_search(""), agentdb.InvalidArgumentError),
        (lambda db: db.rag.hybrid_search("q", vector=[1, 0, 0], alpha=1.5), agentdb.InvalidArgumentError),
        (lambda db: db.rag.hybrid_search("q", vector=[1, 0, 0], fusion="max"), agentdb.InvalidArgumentError),
    ],
    ids=["hash_id", "empty_id", "blank_text", "too_many_vectors", "short_vector", "3d_vectors", "missing",
         "short_query", "no_query", "query_and_vector", "limit_0", "empty_fts", "alpha", "fusion"],
)  # fmt: skip
def test_errors(db, call, error):
    with pytest.raises(error) as e:
        call(db)
    assert e.value.code == error.code


@pytest.mark.parametrize(
    "call",
    [
        lambda db: db.rag.index_document(None, "x", chunk_vectors=[[1, 0, 0]]),
        lambda db: db.rag.index_document("d", None, chunk_vectors=[[1, 0, 0]]),
        lambda db: db.rag.index_document("d", "x", chunk_vectors="vectors"),
        lambda db: db.rag.full_text_search(None),
        lambda db: db.rag.semantic_search(vector=[1, 0, 0], doc_ids=[1]),
    ],
    ids=["none_id", "none_text", "str_vectors", "none_query", "int_doc_ids"],
)
def test_wrong_python_types_are_type_errors(db, call):
    with pytest.raises(TypeError):
        call(db)


def test_text_documents_with_the_built_in_model(db_path, make_db):
    d = make_db(db_path, chunk_chars=80, chunk_overlap=10)
    text = (
        "AgentDB stores agent state in LanceDB. Every save is a new version.\n\n"
        "Memories are retrieved by similarity, importance and recency. "
        "Documents are chunked at sentence boundaries and embedded locally."
    )
    info = d.rag.index_document("guide", text, title="Guide")
    assert info.chunk_count >= 2 and info.char_count == len(text)
    hits = d.rag.semantic_search("how are memories ranked?", limit=1)
    assert "Memories are retrieved" in hits[0].content
    assert text[hits[0].start_char : hits[0].end_char] == hits[0].content
    both = d.rag.hybrid_search("similarity importance recency", limit=2)
    assert "Memories" in both[0].content
    emb = d.embed(["one text", "another text"])
    assert isinstance(emb, np.ndarray) and emb.dtype == np.float32 and emb.shape == (2, 384)
    assert np.linalg.norm(emb, axis=1) == pytest.approx([1.0, 1.0], rel=1e-3)
    assert d.embed([]).shape == (0, 384)
    with pytest.raises(agentdb.InvalidArgumentError):
        d.embed(["fine", "  "])
    with pytest.raises(TypeError):
        d.embed("a lone string")
