"""db.states: versioned saves, loads, history, snapshots, deletion."""

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
