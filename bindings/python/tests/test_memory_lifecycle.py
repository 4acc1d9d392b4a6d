"""Memory lifecycle: dedup and merge outcomes, merge policies, pinning, per-type limits, consolidation.

Caller vectors (3 dimensions): [1, 0, 0] and [1, 0.1, 0] have cosine 0.995 (near-duplicates at any
threshold the tests use); the unit axes are orthogonal (never merged).
"""

from __future__ import annotations

import time

import numpy as np
import pytest

import agentdb

X, Y, Z = [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]
# Memories stored without a type are the engine's default type (semantic); "episodic" is another type.
NEAR_X = [1.0, 0.1, 0.0]  # cosine 0.995 to X
NEAR_Y = [0.1, 1.0, 0.0]  # cosine 0.995 to Y


def test_first_store_is_stored_and_memory_is_unpinned(db):
    o = db.memories.store_outcome(1, "likes tea", embedding=X)
    assert isinstance(o, agentdb.StoreOutcome)
    assert (o.kind, o.absorbed, o.evicted) == ("stored", [], [])
    m = db.memories.get(o.memory_id)
    assert (m.pinned, m.absorbed_ids) == (False, [])
    assert f"StoreOutcome(memory_id={o.memory_id}, kind='stored', absorbed=[], evicted=[])" == repr(o)
    assert "pinned=False" in repr(m)


def test_exact_duplicate_is_refreshed_not_stored(db):
    first = db.memories.store_outcome(1, "Likes tea", importance=0.3, embedding=X, metadata={"a": "1"})
    # Same content after normalisation (case, whitespace), whatever the vector: a duplicate.
    again = db.memories.store_outcome(1, "  likes   TEA ", importance=0.7, embedding=Z, metadata={"b": "2"})
    assert (again.kind, again.memory_id, again.absorbed, again.evicted) == ("duplicate", first.memory_id, [], [])
    [m] = db.memories.list(1)
    assert m.memory_id == first.memory_id and m.content == "Likes tea"
    assert m.access_count == 1 and m.importance == pytest.approx(0.7)
    assert m.metadata == {"a": "1", "b": "2"}
    # store() reports the same id; another agent or type is a different memory.
    assert db.memories.store(1, "likes tea", embedding=X) == first.memory_id
    assert db.memories.store_outcome(2, "likes tea", embedding=X).kind == "stored"
    assert db.memories.store_outcome(1, "likes tea", memory_type="episodic", embedding=X).kind == "stored"


def test_near_duplicate_merges_into_the_newest_by_default(db):
    old = db.memories.store(1, "the user lives by the sea", importance=0.9, embedding=X, metadata={"src": "chat"})
    o = db.memories.store_outcome(1, "the user now lives near the sea", importance=0.2, embedding=NEAR_X)
    assert o.kind == "merged" and o.absorbed == [old] and o.memory_id != old
    with pytest.raises(agentdb.NotFoundError):
        db.memories.get(old)
    m = db.memories.get(o.memory_id)
    assert m.content == "the user now lives near the sea"
    assert m.absorbed_ids == [old] and m.metadata["absorbed_ids"] == str(old)
    assert m.importance == pytest.approx(0.9)  # the survivor takes the highest importance
    assert m.metadata["src"] == "chat"
    assert f"kind='merged', absorbed=[{old}]" in repr(o)
    # Orthogonal vectors never merge.
    assert db.memories.store_outcome(1, "something else", embedding=Z).kind == "stored"
    # Near vectors stating different facts (here: names) never merge either (SPEC: near-duplicate).
    paris = db.memories.store(1, "the user lives in Paris", embedding=Y)
    lyon = db.memories.store_outcome(1, "the user now lives in Lyon", embedding=NEAR_Y)
    assert (lyon.kind, lyon.absorbed) == ("stored", [])
    assert db.memories.get(paris).content == "the user lives in Paris"


def test_keep_both_stores_near_duplicates(make_db, db_path):
    db = make_db(db_path, memory_dimension=3, memory_merge_policy="keep_both")
    a = db.memories.store_outcome(1, "the user lives by the sea", embedding=X)
    b = db.memories.store_outcome(1, "the user now lives near the sea", embedding=NEAR_X)
    assert (a.kind, b.kind, b.absorbed) == ("stored", "stored", [])
    assert [m.memory_id for m in db.memories.list(1)] == [a.memory_id, b.memory_id]
    # Exact duplicates are still not stored twice.
    assert db.memories.store_outcome(1, "the user lives BY the sea", embedding=Y).kind == "duplicate"


def test_keep_most_important_keeps_the_existing_memory(make_db, db_path):
    db = make_db(db_path, memory_dimension=3, memory_merge_policy="keep_most_important")
    old = db.memories.store(1, "important fact", importance=0.9, embedding=X)
    o = db.memories.store_outcome(1, "a restatement", importance=0.2, embedding=NEAR_X)
    assert o.kind == "merged" and o.memory_id == old
    assert len(o.absorbed) == 1 and o.absorbed[0] != old  # the id the new memory would have had
    [m] = db.memories.list(1)
    assert (m.memory_id, m.content, m.absorbed_ids) == (old, "important fact", o.absorbed)


def test_merge_threshold_option(make_db, db_path):
    db = make_db(db_path, memory_dimension=3, memory_merge_threshold=0.999)
    db.memories.store(1, "a", embedding=X)
    assert db.memories.store_outcome(1, "b", embedding=NEAR_X).kind == "stored"  # 0.995 < 0.999


def test_store_many_outcome_in_order(db):
    out = db.memories.store_many_outcome(
        [
            {"agent_id": 1, "content": "tea", "embedding": X},
            {"agent_id": 1, "content": "TEA", "embedding": X},  # repeats within the list collapse
            {"agent_id": 1, "content": "coffee", "embedding": np.array(NEAR_X, dtype=np.float32)},
            {"agent_id": 1, "content": "water", "embedding": Z, "memory_type": "episodic"},
        ]
    )
    assert all(isinstance(o, agentdb.StoreOutcome) for o in out)
    assert [o.kind for o in out] == ["stored", "duplicate", "merged", "stored"]
    assert out[1].memory_id == out[0].memory_id
    assert out[2].absorbed == [out[0].memory_id]
    assert sorted(m.memory_id for m in db.memories.list(1)) == sorted([out[2].memory_id, out[3].memory_id])
    assert db.memories.store_many_outcome([]) == []
    with pytest.raises(agentdb.InvalidArgumentError, match="unknown memory key"):
        db.memories.store_many_outcome([{"agent_id": 1, "content": "x", "embedding": X, "pinned": True}])
    with pytest.raises(agentdb.DimensionMismatchError):
        db.memories.store_many_outcome([{"agent_id": 3, "content": "ok", "embedding": X},
                                        {"agent_id": 3, "content": "bad", "embedding": [1, 0]}])  # fmt: skip
    assert db.memories.list(3) == []


def test_pin_survives_forget_and_unpin_restores_it(db):
    pinned = db.memories.store(1, "never forget", importance=0.0, embedding=X)
    loose = db.memories.store(1, "forgettable", importance=0.0, embedding=Y)
    db.memories.pin(pinned)
    db.memories.pin(pinned)  # idempotent
    assert db.memories.get(pinned).pinned is True and db.memories.get(loose).pinned is False
    assert "pinned=True" in repr(db.memories.get(pinned))
    assert db.memories.forget(1, older_than_ms=0, min_importance=0.5) == 1
    assert [m.memory_id for m in db.memories.list(1)] == [pinned]
    db.flush()  # the flag survives the move to Lance
    assert db.memories.get(pinned).pinned is True
    db.memories.unpin(pinned)
    assert db.memories.get(pinned).pinned is False
    assert db.memories.forget(1, older_than_ms=0, min_importance=0.5) == 1
    assert db.memories.list(1) == []


def test_pin_suspends_the_ttl(db):
    mid = db.memories.store(1, "short-lived", embedding=X, ttl_ms=1500)
    db.memories.pin(mid)
    expires = db.memories.get(mid).expires_at_ms
    time.sleep(max(0.0, (expires - time.time() * 1000) / 1000) + 0.05)
    assert db.memories.get(mid).pinned  # past its expiry, still there
    db.memories.unpin(mid)  # the TTL that ran out applies at once
    with pytest.raises(agentdb.NotFoundError):
        db.memories.get(mid)


def test_a_pinned_near_duplicate_absorbs_the_new_memory(db):
    old = db.memories.store(1, "pinned fact", embedding=X)
    db.memories.pin(old)
    o = db.memories.store_outcome(1, "restated", embedding=NEAR_X)
    assert o.kind == "merged" and o.memory_id == old
    assert [m.memory_id for m in db.memories.list(1)] == [old]


def test_per_type_limit_evicts_the_lowest_scoring_unpinned(make_db, db_path):
    db = make_db(db_path, memory_dimension=3, max_memories_per_agent_type=2)
    a = db.memories.store_outcome(1, "a", importance=0.1, embedding=X)
    b = db.memories.store_outcome(1, "b", importance=0.5, embedding=Y)
    assert a.evicted == b.evicted == []
    c = db.memories.store_outcome(1, "c", importance=0.9, embedding=Z)
    assert (c.kind, c.evicted) == ("stored", [a.memory_id])
    assert f"evicted=[{a.memory_id}]" in repr(c)
    with pytest.raises(agentdb.NotFoundError):
        db.memories.get(a.memory_id)
    # Other types and other agents have their own budget.
    assert db.memories.store_outcome(1, "s", memory_type="episodic", embedding=X).evicted == []
    assert db.memories.store_outcome(2, "a2", embedding=X).evicted == []
    # A pinned memory is never evicted, even when it scores lowest.
    db.memories.pin(b.memory_id)
    d = db.memories.store_outcome(1, "d", importance=0.9, embedding=[-1.0, 0.0, 0.0])
    assert d.evicted == [c.memory_id]
    assert sorted(m.memory_id for m in db.memories.list(1) if m.memory_type == "semantic") == sorted(
        [b.memory_id, d.memory_id]
    )


def test_consolidate_merges_existing_near_duplicates(make_db, tmp_path):
    path = tmp_path / "db"
    first = make_db(path, memory_dimension=3, memory_merge_policy="keep_both")
    a = first.memories.store(1, "lives by the sea", embedding=X)
    b = first.memories.store(1, "lives near the sea", embedding=NEAR_X)
    c = first.memories.store(1, "unrelated", embedding=Z)
    s = first.memories.store(1, "episodic twin", memory_type="episodic", embedding=X)
    nothing = first.memories.consolidate(1)  # keep_both merges only exact duplicates: none here
    assert (nothing.examined, nothing.groups, nothing.remaining) == (4, [], 4)
    first.close()

    db = make_db(path, memory_dimension=3)  # keep_newest
    r = db.memories.consolidate(1)
    assert isinstance(r, agentdb.ConsolidationReport)
    assert (r.agent_id, r.examined, r.remaining) == (1, 4, 3)
    [g] = r.groups
    assert isinstance(g, agentdb.MergeGroup)
    assert (g.memory_type, g.kept, g.absorbed) == ("semantic", b, [a])
    assert repr(g) == f"MergeGroup(memory_type='semantic', kept={b}, absorbed=[{a}])"
    assert "examined=4, remaining=3" in repr(r) and repr(g) in repr(r)
    assert sorted(m.memory_id for m in db.memories.list(1)) == sorted([b, c, s])
    assert db.memories.get(b).absorbed_ids == [a]
    again = db.memories.consolidate(1)
    assert (again.examined, again.groups, again.remaining) == (3, [], 3)
    empty = db.memories.consolidate(99)
    assert (empty.agent_id, empty.examined, empty.groups, empty.remaining) == (99, 0, [], 0)


def test_near_duplicate_texts_merge_with_the_built_in_model(text_db):
    first = text_db.memories.store_outcome(1, "The user is allergic to peanuts.")
    second = text_db.memories.store_outcome(1, "The user has a peanut allergy.")  # cosine 0.90 on MiniLM
    assert (second.kind, second.absorbed) == ("merged", [first.memory_id])
    other = text_db.memories.store_outcome(1, "The user prefers window seats on flights.")
    assert other.kind == "stored"


@pytest.mark.parametrize(
    "options, error",
    [
        ({"memory_merge_policy": "keep_oldest"}, agentdb.InvalidArgumentError),
        ({"memory_merge_policy": ""}, agentdb.InvalidArgumentError),
        ({"memory_merge_policy": None}, TypeError),
        ({"memory_merge_threshold": 1.5}, agentdb.InvalidArgumentError),
        ({"memory_merge_threshold": 0.0}, agentdb.InvalidArgumentError),
        ({"memory_merge_threshold": float("nan")}, agentdb.InvalidArgumentError),
        ({"memory_merge_threshold": "high"}, TypeError),
        ({"max_memories_per_agent_type": 0}, agentdb.InvalidArgumentError),
        ({"max_memories_per_agent_type": -1}, agentdb.InvalidArgumentError),
        ({"max_memories_per_agent_type": 2.5}, TypeError),
    ],
)
def test_bad_lifecycle_options(db_path, options, error):
    with pytest.raises(error):
        agentdb.connect(db_path, memory_dimension=3, maintenance_interval_ms=None, **options)


def test_bad_policy_message_names_the_choices(db_path):
    with pytest.raises(agentdb.InvalidArgumentError, match="keep_newest") as e:
        agentdb.connect(db_path, memory_merge_policy="newest")
    assert e.value.code == "invalid_argument"


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda db: db.memories.pin(12345), agentdb.NotFoundError),
        (lambda db: db.memories.unpin(12345), agentdb.NotFoundError),
        (lambda db: db.memories.pin(-1), agentdb.InvalidArgumentError),
        (lambda db: db.memories.pin("1"), TypeError),
        (lambda db: db.memories.pin(None), TypeError),
        (lambda db: db.memories.consolidate(-1), agentdb.InvalidArgumentError),
        (lambda db: db.memories.consolidate(None), TypeError),
        (lambda db: db.memories.store_outcome(1, "", embedding=X), agentdb.InvalidArgumentError),
        (lambda db: db.memories.store_outcome(1, "x", embedding=[1, 0]), agentdb.DimensionMismatchError),
        (lambda db: db.memories.store_outcome(1, "x", importance=2.0, embedding=X), agentdb.InvalidArgumentError),
        (lambda db: db.memories.store_outcome(1, "x", memory_type="dream", embedding=X), agentdb.InvalidArgumentError),
        (lambda db: db.memories.store_outcome(1, b"x", embedding=X), TypeError),
        (lambda db: db.memories.store_outcome(1, "x", embedding="abc"), TypeError),
        (lambda db: db.memories.store_many_outcome([("agent_id", 1)]), TypeError),
    ],
)
def test_lifecycle_call_errors(db, call, error):
    with pytest.raises(error):
        call(db)


def test_lifecycle_writes_are_refused_read_only(db_path, make_db):
    writer = make_db(db_path, memory_dimension=3)
    mid = writer.memories.store(1, "x", embedding=X)
    writer.close()
    reader = make_db(db_path, memory_dimension=3, read_only=True)
    assert reader.memories.get(mid).pinned is False
    for call in (
        lambda: reader.memories.pin(mid),
        lambda: reader.memories.unpin(mid),
        lambda: reader.memories.consolidate(1),
        lambda: reader.memories.store_outcome(1, "y", embedding=Y),
    ):
        with pytest.raises(agentdb.ReadOnlyError):
            call()
