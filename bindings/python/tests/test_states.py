"""db.states: versioned saves, loads, keyed versions, history and its pages, snapshots, deletion."""

from __future__ import annotations

import array

import pytest

import agentdb


def test_save_assigns_consecutive_versions_per_session(db):
    assert [db.states.save(1, 1, b"a"), db.states.save(1, 1, b"b"), db.states.save(1, 2, b"c")] == [1, 2, 1]


def test_load_returns_every_attribute(db):
    db.states.save(7, 3, b"\x00payload\xff", state_type="task_state", metadata={"node": "plan", "k": ""})
    s = db.states.load(7, 3)
    assert isinstance(s, agentdb.AgentState)
    assert (s.agent_id, s.session_id, s.version, s.state_type) == (7, 3, 1, "task_state")
    assert s.data == b"\x00payload\xff" and isinstance(s.data, bytes)
    assert s.metadata == {"node": "plan", "k": ""}
    assert s.timestamp_ms > 1_600_000_000_000
    assert 0 <= s.checksum < 2**32
    db.states.save(7, 3, b"other")
    assert db.states.load(7, 3).checksum != s.checksum
    assert "version=1" in repr(s) and "data=<9 bytes>" in repr(s) and "'node': 'plan'" in repr(s)


def test_load_without_session_is_the_latest_save_of_the_agent(db):
    db.states.save(1, 1, b"one")
    db.states.save(1, 2, b"two")
    db.states.save(1, 1, b"three")
    latest = db.states.load(1)
    assert (latest.session_id, latest.version, latest.data) == (1, 2, b"three")
    assert db.states.load(1, session_id=2).data == b"two"


def test_load_version_and_equality(db):
    db.states.save(1, 1, b"v1")
    db.states.save(1, 1, b"v2")
    assert db.states.load_version(1, 1, 1).data == b"v1"
    assert db.states.load_version(1, 1, 2) == db.states.load(1, 1)
    assert db.states.load_version(1, 1, 1) != db.states.load(1, 1)
    with pytest.raises(agentdb.NotFoundError):
        db.states.load_version(1, 1, 3)


@pytest.mark.parametrize(
    "payload",
    [b"bytes", bytearray(b"bytearray"), memoryview(b"memoryview"), array.array("B", b"array")],
    ids=["bytes", "bytearray", "memoryview", "array"],
)
def test_data_accepts_bytes_like_objects(db, payload):
    db.states.save(1, 1, payload)
    assert db.states.load(1, 1).data == bytes(payload)


def test_large_binary_payload_roundtrips(db):
    payload = bytes(range(256)) * 4096  # 1 MiB
    db.states.save(1, 1, payload)
    db.flush()
    assert db.states.load(1, 1).data == payload


def test_history_is_newest_first_with_filters(db):
    for i in range(5):
        db.states.save(1, 1, f"s1-{i}".encode())
    db.states.save(1, 2, b"s2")
    all_rows = db.states.history(1)
    assert [r.data for r in all_rows][:2] == [b"s2", b"s1-4"]
    assert len(all_rows) == 6
    assert [r.version for r in db.states.history(1, session_id=1)] == [5, 4, 3, 2, 1]
    assert [r.version for r in db.states.history(1, session_id=1, limit=2)] == [5, 4]
    t = db.states.load_version(1, 1, 3).timestamp_ms
    newer = db.states.history(1, session_id=1, from_ms=t)
    assert all(r.timestamp_ms >= t for r in newer) and 3 in [r.version for r in newer]
    older = db.states.history(1, session_id=1, to_ms=t)
    assert all(r.timestamp_ms <= t for r in older) and 1 in [r.version for r in older]
    assert db.states.history(99) == []


def test_history_survives_a_flush(db):
    db.states.save(1, 1, b"a")
    db.flush()
    db.states.save(1, 1, b"b")
    assert [r.data for r in db.states.history(1, session_id=1)] == [b"b", b"a"]


def test_snapshots_restore_and_list(db):
    db.states.save(5, 1, b"good", state_type="working_memory", metadata={"m": "1"})
    snap = db.states.create_snapshot(5, 1, "safe")
    assert isinstance(snap, agentdb.Snapshot)
    assert (snap.agent_id, snap.session_id, snap.name, snap.version) == (5, 1, "safe", 1)
    assert snap.created_at_ms > 0 and "name='safe'" in repr(snap)
    db.states.save(5, 1, b"bad")
    restored = db.states.restore_snapshot(5, "safe")
    assert (restored.version, restored.data, restored.state_type, restored.metadata) == (3, b"good", "working_memory", {"m": "1"})
    db.states.create_snapshot(5, 1, "after")
    assert [s.name for s in db.states.list_snapshots(5)] == ["safe", "after"]
    assert db.states.list_snapshots(6) == []
    assert [r.version for r in db.states.history(5)] == [3, 2, 1]


def test_delete_agent_removes_states_and_snapshots(db):
    db.states.save(5, 1, b"x")
    db.states.create_snapshot(5, 1, "s")
    db.states.save(6, 1, b"bystander")
    db.states.delete_agent(5)
    with pytest.raises(agentdb.NotFoundError):
        db.states.load(5)
    assert db.states.list_snapshots(5) == []
    assert db.states.load(6, 1).data == b"bystander"
    with pytest.raises(agentdb.NotFoundError):
        db.states.delete_agent(5)
    assert db.states.save(5, 1, b"again") == 1


def test_u64_ids_use_the_whole_range(db):
    big = 2**64 - 1
    db.states.save(big, big, b"edge")
    s = db.states.load(big, big)
    assert (s.agent_id, s.session_id) == (big, big)


# ---- keyed versions and history pages ----

AWKWARD_KEYS = ["ck-1", "it's \"quoted\" ' OR 1=1 --", "thread/ns/ck?x=1&y=%2F", "  spaced  ", "日本語 ✓", "a" * 1024,
                "é" * 512]  # fmt: skip


def test_keyed_save_and_load_by_key(db):
    assert db.states.save(3, 1, b"one", key="ck-1", metadata={"step": "1"}) == 1
    assert db.states.save(3, 1, b"unkeyed") == 2
    assert db.states.save(3, 2, b"other session", key="ck-1") == 1
    s = db.states.load_by_key(3, 1, "ck-1")
    assert isinstance(s, agentdb.AgentState)
    assert (s.version, s.data, s.metadata, s.key) == (1, b"one", {"step": "1"}, "ck-1")
    assert isinstance(s.key, str) and "key='ck-1'" in repr(s)
    assert db.states.load_by_key(3, 2, "ck-1").data == b"other session"
    unkeyed = db.states.load(3, 1)
    assert unkeyed.key is None and "key=None" in repr(unkeyed)
    assert db.states.load_version(3, 1, 1).key == "ck-1"
    # Keys repeat: the newest version carrying one wins.
    assert db.states.save(3, 1, b"one again", key="ck-1") == 3
    assert (db.states.load_by_key(3, 1, "ck-1").version, db.states.load(3, 1).key) == (3, "ck-1")
    # Equality covers the key.
    assert db.states.load_by_key(3, 1, "ck-1") == db.states.load_version(3, 1, 3)


def test_keys_match_exactly(db):
    db.states.save(3, 1, b"x", key="ck-1")
    for other in ["ck-", "CK-1", "ck-1 ", "ck-%", "ck-_", "*"]:
        with pytest.raises(agentdb.NotFoundError) as e:
            db.states.load_by_key(3, 1, other)
        assert e.value.code == "not_found" and isinstance(e.value, LookupError)
    with pytest.raises(agentdb.NotFoundError):
        db.states.load_by_key(3, 9, "ck-1")
    with pytest.raises(agentdb.NotFoundError):
        db.states.load_by_key(4, 1, "ck-1")


@pytest.mark.parametrize("stage", ["memtable", "flushed", "compacted", "reopened"])
def test_awkward_keys_roundtrip(db_path, make_db, stage):
    d = make_db(db_path)
    for i, key in enumerate(AWKWARD_KEYS):
        assert d.states.save(1, 1, str(i).encode(), key=key) == i + 1
    if stage == "flushed":
        d.flush()
    if stage == "compacted":
        d.compact()
    if stage == "reopened":
        d.close()
        d = make_db(db_path)
    for i, key in enumerate(AWKWARD_KEYS):
        s = d.states.load_by_key(1, 1, key)
        assert (s.version, s.data, s.key) == (i + 1, str(i).encode(), key)
    assert [r.key for r in d.states.history_page(1, 1)] == AWKWARD_KEYS[::-1]


def test_history_page_walks_a_session_newest_first(db):
    for i in range(1, 8):
        db.states.save(2, 1, f"v{i}".encode(), key=f"ck-{i}" if i % 2 else None)
    db.states.save(2, 2, b"other session")
    page = db.states.history_page(2, 1, limit=3)
    assert [(r.version, r.data, r.key) for r in page] == [(7, b"v7", "ck-7"), (6, b"v6", None), (5, b"v5", "ck-5")]
    walked, before = [], None
    while True:
        page = db.states.history_page(2, 1, before_version=before, limit=3)
        if not page:
            break
        walked += [r.version for r in page]
        before = page[-1].version
    assert walked == [7, 6, 5, 4, 3, 2, 1]
    assert [r.version for r in db.states.history_page(2, 1, before_version=3)] == [2, 1]
    assert db.states.history_page(2, 1, before_version=1) == []
    assert [r.version for r in db.states.history_page(2, 1, before_version=100)] == list(range(7, 0, -1))
    assert db.states.history_page(2, 9) == [] and db.states.history_page(99, 1) == []


def test_history_page_default_limit_is_the_engines(db):
    limit = agentdb.defaults()["history_limit"]
    for i in range(limit + 2):
        db.states.save(2, 1, b"x")
    page = db.states.history_page(2, 1)
    assert len(page) == limit and page[0].version == limit + 2


def test_history_page_spans_flushed_and_pending_versions(db):
    db.states.save(2, 1, b"a", key="k")
    db.states.save(2, 1, b"b")
    db.flush()
    db.states.save(2, 1, b"c", key="k")
    assert [(r.data, r.key) for r in db.states.history_page(2, 1)] == [(b"c", "k"), (b"b", None), (b"a", "k")]
    assert db.states.load_by_key(2, 1, "k").data == b"c"


def test_restore_snapshot_keeps_the_key(db):
    db.states.save(2, 1, b"keyed", key="ck-1")
    db.states.create_snapshot(2, 1, "safe")
    db.states.save(2, 1, b"later", key="ck-2")
    restored = db.states.restore_snapshot(2, "safe")
    assert (restored.version, restored.key, restored.data) == (3, "ck-1", b"keyed")
    assert db.states.load_by_key(2, 1, "ck-1").version == 3


@pytest.mark.parametrize(
    "call",
    [
        lambda db: db.states.save(1, 1, b"x", key=""),
        lambda db: db.states.save(1, 1, b"x", key="a" * 1025),
        lambda db: db.states.save(1, 1, b"x", key="é" * 513),  # 513 characters, 1,026 bytes
        lambda db: db.states.load_by_key(1, 1, ""),
        lambda db: db.states.load_by_key(1, 1, "a" * 1025),
        lambda db: db.states.load_by_key(-1, 1, "k"),
        lambda db: db.states.history_page(1, 1, limit=0),
        lambda db: db.states.history_page(1, 1, limit=100_001),
        lambda db: db.states.history_page(1, 1, limit=-1),
        lambda db: db.states.history_page(1, 1, before_version=-1),
        lambda db: db.states.history_page(1, 2**64),
    ],
    ids=["save_empty_key", "save_long_key", "save_long_utf8_key", "load_empty_key", "load_long_key", "load_negative_id",
         "page_limit_0", "page_limit_over_max", "page_negative_limit", "page_negative_before", "page_session_2**64"],
)  # fmt: skip
def test_invalid_keyed_arguments(db, call):
    with pytest.raises(agentdb.InvalidArgumentError) as e:
        call(db)
    assert e.value.code == "invalid_argument" and isinstance(e.value, ValueError)
    assert db.states.history(1) == []  # nothing was written


@pytest.mark.parametrize(
    "call",
    [
        lambda db: db.states.save(1, 1, b"x", key=b"bytes"),
        lambda db: db.states.save(1, 1, b"x", key=7),
        lambda db: db.states.load_by_key(1, 1, None),
        lambda db: db.states.load_by_key(1, 1, b"k"),
        lambda db: db.states.history_page(1, None),
        lambda db: db.states.history_page(1, 1, before_version="3"),
        lambda db: db.states.history_page(1, 1, limit=2.5),
    ],
    ids=["bytes_key", "int_key", "none_key", "bytes_load_key", "none_session", "str_before", "float_limit"],
)  # fmt: skip
def test_wrong_python_types_for_keyed_calls_are_type_errors(db, call):
    with pytest.raises(TypeError):
        call(db)
    assert db.states.history(1) == []


def test_save_takes_key_only_by_keyword(db):
    with pytest.raises(TypeError):
        db.states.save(1, 1, b"x", "context", None, "ck")  # type: ignore[misc]
    with pytest.raises(TypeError):
        db.states.history_page(1, 1, 5)  # type: ignore[misc]


# ---- errors ----


def test_unknown_state_and_session_are_not_found(db):
    with pytest.raises(agentdb.NotFoundError) as e:
        db.states.load(1, 1)
    assert e.value.code == "not_found" and isinstance(e.value, LookupError)


def test_payload_too_large(db_path, make_db):
    with make_db(db_path, max_payload_bytes=16) as small:
        with pytest.raises(agentdb.PayloadTooLargeError) as e:
            small.states.save(1, 1, b"0123456789abcdefX")
        assert e.value.code == "payload_too_large"
        # Metadata counts toward the limit too.
        with pytest.raises(agentdb.PayloadTooLargeError):
            small.states.save(1, 1, b"0123456789", metadata={"key": "value!"})
        assert small.states.save(1, 1, b"fits") == 1


@pytest.mark.parametrize(
    "call",
    [
        lambda db: db.states.save(1, 1, b"x", state_type="mood"),
        lambda db: db.states.save(1, 1, b"x", metadata={"": "empty key"}),
        lambda db: db.states.save(1, 1, b"x", metadata={f"k{i}": "v" for i in range(257)}),
        lambda db: db.states.save(-1, 1, b"x"),
        lambda db: db.states.save(2**64, 1, b"x"),
        lambda db: db.states.history(1, limit=0),
        lambda db: db.states.history(1, limit=-5),
        lambda db: db.states.history(1, from_ms=10, to_ms=5),
        lambda db: db.states.create_snapshot(1, 1, "bad name"),
        lambda db: db.states.create_snapshot(1, 1, ""),
    ],
    ids=["state_type", "empty_key", "too_many_keys", "negative_id", "id_2**64", "limit_0",
         "negative_limit", "empty_range", "snapshot_space", "snapshot_empty"],
)  # fmt: skip
def test_invalid_arguments(db, call):
    with pytest.raises(agentdb.InvalidArgumentError) as e:
        call(db)
    assert e.value.code == "invalid_argument" and isinstance(e.value, ValueError)
    assert db.states.history(1) == []  # nothing was written


@pytest.mark.parametrize(
    "call",
    [
        lambda db: db.states.save(None, 1, b"x"),
        lambda db: db.states.save(1, 1.5, b"x"),
        lambda db: db.states.save(1, 1, "text is not bytes"),
        lambda db: db.states.save(1, 1, None),
        lambda db: db.states.save(1, 1, b"x", state_type=None),
        lambda db: db.states.save(1, 1, b"x", metadata={"k": 1}),
        lambda db: db.states.save(1, 1, b"x", metadata=[("k", "v")]),
        lambda db: db.states.load("1"),
        lambda db: db.states.create_snapshot(1, 1, None),
    ],
    ids=["none_id", "float_id", "str_data", "none_data", "none_type", "int_meta_value", "list_meta",
         "str_id", "none_name"],
)  # fmt: skip
def test_wrong_python_types_are_type_errors(db, call):
    with pytest.raises(TypeError):
        call(db)
    assert db.states.history(1) == []


def test_snapshot_errors(db):
    db.states.save(5, 1, b"x")
    db.states.create_snapshot(5, 1, "safe")
    with pytest.raises(agentdb.AlreadyExistsError) as e:
        db.states.create_snapshot(5, 1, "safe")
    assert e.value.code == "already_exists"
    with pytest.raises(agentdb.NotFoundError):
        db.states.create_snapshot(5, 9, "no-state")
    with pytest.raises(agentdb.NotFoundError):
        db.states.restore_snapshot(5, "missing")
