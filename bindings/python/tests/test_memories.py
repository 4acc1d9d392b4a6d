"""db.memories with caller vectors (3 dimensions) and with the built-in model."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

import agentdb


def test_store_and_get_every_attribute(db):
    mid = db.memories.store(
        1, "likes tea", memory_type="semantic", importance=0.8, embedding=[1.0, 0.0, 0.0], metadata={"src": "chat"}
    )
    m = db.memories.get(mid)
    assert isinstance(m, agentdb.Memory)
    assert (m.memory_id, m.agent_id, m.memory_type, m.content) == (mid, 1, "semantic", "likes tea")
    assert m.embedding == [1.0, 0.0, 0.0]
    assert m.importance == pytest.approx(0.8)
    assert (m.access_count, m.expires_at_ms, m.metadata) == (0, None, {"src": "chat"})
    assert m.created_at_ms == m.last_access_ms > 0
    assert "content='likes tea'" in repr(m) and "embedding=<3 floats>" in repr(m)
    assert db.memories.get(mid) == m


def test_default_memory_type_and_importance(db):
    """The engine's defaults (agentdb.defaults(); the CLI and C/Zig use the same)."""
    m = db.memories.get(db.memories.store(1, "x", embedding=[0, 1, 0]))
    assert (m.memory_type, m.importance) == ("semantic", 0.5)
    [many] = db.memories.store_many([{"agent_id": 2, "content": "y", "embedding": [1, 0, 0]}])
    assert db.memories.get(many).memory_type == "semantic"


def test_ttl_sets_expiry_and_expired_memories_vanish(db):
    mid = db.memories.store(1, "short-lived", embedding=[1, 0, 0], ttl_ms=60_000)
    m = db.memories.get(mid)
    assert m.expires_at_ms == pytest.approx(m.created_at_ms + 60_000, abs=5)
    gone = db.memories.store(1, "gone", embedding=[0, 0, 1], ttl_ms=1)  # unlike the first: no merge
    time.sleep(0.01)
    with pytest.raises(agentdb.NotFoundError):
        db.memories.get(gone)
    assert [x.memory_id for x in db.memories.list(1)] == [mid]


def test_store_many_validates_everything_before_writing(db):
    ids = db.memories.store_many(
        [
            {"agent_id": 2, "content": "a", "embedding": [1, 0, 0]},
            {"agent_id": 2, "content": "b", "embedding": np.array([0, 1, 0], dtype=np.float32), "importance": 0.9,
             "memory_type": "procedural", "metadata": {"k": "v"}, "ttl_ms": 60_000},
        ]
    )  # fmt: skip
    assert len(ids) == 2 and ids[0] < ids[1]
    b = db.memories.get(ids[1])
    assert (b.memory_type, b.metadata, b.expires_at_ms is not None) == ("procedural", {"k": "v"}, True)
    assert b.importance == pytest.approx(0.9)
    with pytest.raises(agentdb.DimensionMismatchError):
        db.memories.store_many([{"agent_id": 3, "content": "ok", "embedding": [1, 0, 0]},
                                {"agent_id": 3, "content": "bad", "embedding": [1, 0]}])  # fmt: skip
    assert db.memories.list(3) == []
    with pytest.raises(agentdb.InvalidArgumentError, match="unknown memory key"):
        db.memories.store_many([{"agent_id": 3, "content": "x", "embedding": [1, 0, 0], "colour": "red"}])
    with pytest.raises(agentdb.InvalidArgumentError, match="agent_id"):
        db.memories.store_many([{"content": "x", "embedding": [1, 0, 0]}])
    with pytest.raises(TypeError):
        db.memories.store_many([("agent_id", 3)])
    assert db.memories.store_many([]) == []


def test_update_importance_and_delete(db):
    mid = db.memories.store(1, "x", embedding=[1, 0, 0])
    db.memories.update_importance(mid, 0.25)
    assert db.memories.get(mid).importance == pytest.approx(0.25)
    db.flush()
    db.memories.update_importance(mid, 0.75)
    assert db.memories.get(mid).importance == pytest.approx(0.75)
    db.memories.delete(mid)
    with pytest.raises(agentdb.NotFoundError):
        db.memories.get(mid)
    with pytest.raises(agentdb.NotFoundError):
        db.memories.delete(mid)
    with pytest.raises(agentdb.NotFoundError):
        db.memories.update_importance(mid, 0.5)


def test_retrieve_by_vector_ranks_and_filters(db):
    tea = db.memories.store(1, "likes tea", memory_type="semantic", embedding=[1, 0, 0], metadata={"topic": "drink"})
    ana = db.memories.store(1, "met Ana", memory_type="episodic", embedding=[0, 1, 0])
    db.memories.store(2, "other agent", embedding=[1, 0, 0])
    hits = db.memories.retrieve(1, vector=[1, 0.1, 0], limit=5, record_access=False)
    assert [h.memory.memory_id for h in hits] == [tea, ana]
    top = hits[0]
    assert isinstance(top, agentdb.ScoredMemory)
    assert top.relevance == pytest.approx(1 / math.sqrt(1.01), rel=1e-4)
    assert top.score == pytest.approx(top.relevance + 0.5 * 0.5 + 0.5 * top.recency, rel=1e-4)
    assert 0.99 < top.recency <= 1.0
    assert "ScoredMemory(score=" in repr(top)
    assert [h.memory.content for h in db.memories.retrieve(1, vector=[1, 0, 0], memory_types=["episodic"])] == ["met Ana"]
    assert [h.memory.content for h in db.memories.retrieve(1, vector=[0, 1, 0], metadata={"topic": "drink"})] == ["likes tea"]
    created = db.memories.get(ana).created_at_ms
    after = db.memories.retrieve(1, vector=[1, 0, 0], created_after_ms=created, record_access=False)
    assert ana in [h.memory.memory_id for h in after]
    assert db.memories.retrieve(1, vector=[1, 0, 0], created_before_ms=0) == []
    only_relevance = db.memories.retrieve(
        1, vector=[0, 1, 0], relevance_weight=1.0, importance_weight=0.0, recency_weight=0.0, record_access=False
    )
    assert only_relevance[0].score == pytest.approx(only_relevance[0].relevance)


def test_retrieve_records_access_unless_told_not_to(db):
    mid = db.memories.store(1, "x", embedding=[1, 0, 0])
    db.memories.retrieve(1, vector=[1, 0, 0], record_access=False)
    assert db.memories.get(mid).access_count == 0
    db.memories.retrieve(1, vector=[1, 0, 0])
    db.memories.retrieve(1, vector=[1, 0, 0])
    assert db.memories.get(mid).access_count == 2


def test_forget_and_list(db):
    keep = db.memories.store(1, "important", embedding=[1, 0, 0], importance=0.9)
    drop = db.memories.store(1, "trivial", embedding=[0, 1, 0], importance=0.01)
    assert [m.memory_id for m in db.memories.list(1)] == [keep, drop]
    assert db.memories.forget(1) == 0  # nothing is 30 days old
    assert db.memories.forget(1, older_than_ms=0, min_importance=0.1) == 1
    assert [m.memory_id for m in db.memories.list(1)] == [keep]
    assert db.memories.list(42) == []


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda db: db.memories.store(1, "x", embedding=[1, 0]), agentdb.DimensionMismatchError),
        (lambda db: db.memories.store(1, "x", embedding=[]), agentdb.DimensionMismatchError),
        (lambda db: db.memories.store(1, "x", embedding=[1, float("nan"), 0]), agentdb.InvalidArgumentError),
        (lambda db: db.memories.store(1, "x", embedding=[1, float("inf"), 0]), agentdb.InvalidArgumentError),
        (lambda db: db.memories.store(1, "x", embedding=[1e39, 0, 0]), agentdb.InvalidArgumentError),
        (lambda db: db.memories.store(1, "x", embedding=[1, 0, 0], importance=1.5), agentdb.InvalidArgumentError),
        (lambda db: db.memories.store(1, "x", embedding=[1, 0, 0], importance=float("nan")), agentdb.InvalidArgumentError),
        (lambda db: db.memories.store(1, "x", memory_type="feelings", embedding=[1, 0, 0]), agentdb.InvalidArgumentError),
        (lambda db: db.memories.store(1, "  ", embedding=[1, 0, 0]), agentdb.InvalidArgumentError),
        (lambda db: db.memories.store(1, "x", embedding=[1, 0, 0], ttl_ms=-1), agentdb.InvalidArgumentError),
        (lambda db: db.memories.store(1, "x" * (1024 * 1024 + 1), embedding=[1, 0, 0]), agentdb.PayloadTooLargeError),
        (lambda db: db.memories.retrieve(1, vector=[1, 0]), agentdb.DimensionMismatchError),
        (lambda db: db.memories.retrieve(1, vector=[1, 0, 0], limit=0), agentdb.InvalidArgumentError),
        (lambda db: db.memories.retrieve(1, vector=[1, 0, 0], limit=10_001), agentdb.InvalidArgumentError),
        (lambda db: db.memories.retrieve(1, vector=[1, 0, 0], memory_types=["feelings"]), agentdb.InvalidArgumentError),
        (lambda db: db.memories.retrieve(1), agentdb.InvalidArgumentError),
        (lambda db: db.memories.retrieve(1, "text", vector=[1, 0, 0]), agentdb.InvalidArgumentError),
        (lambda db: db.memories.update_importance(1, -0.1), agentdb.InvalidArgumentError),
        (lambda db: db.memories.forget(1, min_importance=2.0), agentdb.InvalidArgumentError),
        (lambda db: db.memories.get(12345), agentdb.NotFoundError),
    ],
    ids=["short_vector", "empty_vector", "nan", "inf", "f32_overflow", "importance", "nan_importance",
         "memory_type", "blank_content", "negative_ttl", "content_too_large", "short_query", "limit_0",
         "limit_too_big", "filter_type", "no_query", "query_and_vector", "update_importance", "forget",
         "missing"],
)  # fmt: skip
def test_errors(db, call, error):
    with pytest.raises(error) as e:
        call(db)
    assert e.value.code == error.code
    assert db.memories.list(1) == []


@pytest.mark.parametrize(
    "call",
    [
        lambda db: db.memories.store(1, None, embedding=[1, 0, 0]),
        lambda db: db.memories.store(1, b"bytes", embedding=[1, 0, 0]),
        lambda db: db.memories.store(1, "x", embedding="1,0,0"),
        lambda db: db.memories.store(1, "x", embedding=[1, None, 0]),
        lambda db: db.memories.store(1, "x", embedding=3.0),
        lambda db: db.memories.store(1, "x", embedding=[1, 0, 0], importance="high"),
        lambda db: db.memories.retrieve(1, 42),
    ],
    ids=["none_content", "bytes_content", "str_vector", "none_component", "scalar_vector", "str_importance",
         "int_query"],
)  # fmt: skip
def test_wrong_python_types_are_type_errors(db, call):
    with pytest.raises(TypeError):
        call(db)
    assert db.memories.list(1) == []


def test_retrieve_by_text_with_the_built_in_model(text_db):
    tea = text_db.memories.store(1, "The user drinks green tea every morning.", memory_type="semantic")
    text_db.memories.store(1, "The deployment failed because the disk was full.")
    m = text_db.memories.get(tea)
    assert len(m.embedding) == 384
    assert sum(x * x for x in m.embedding) == pytest.approx(1.0, rel=1e-3)
    hits = text_db.memories.retrieve(1, "What does the user like to drink?", limit=2)
    assert hits[0].memory.memory_id == tea
    assert hits[0].relevance > hits[1].relevance
    ids = text_db.memories.store_many([{"agent_id": 1, "content": "Ana is the user's sister."}])
    assert len(text_db.memories.get(ids[0]).embedding) == 384


def test_text_calls_without_a_model_raise_model_unavailable(db_path, make_db, tmp_path):
    empty = tmp_path / "no-model"
    empty.mkdir()
    d = make_db(db_path, model_dir=empty)
    with pytest.raises(agentdb.ModelUnavailableError) as e:
        d.memories.store(1, "needs embedding")
    assert e.value.code == "model_unavailable"
    with pytest.raises(agentdb.ModelUnavailableError):
        d.memories.retrieve(1, "query")
    # Calls that carry vectors never need the model.
    assert d.memories.store(1, "has vector", embedding=np.ones(384, dtype=np.float32) / math.sqrt(384)) > 0
