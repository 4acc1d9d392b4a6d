"""db.gc and the state retention options: which old state versions go, which always stay."""

from __future__ import annotations

import time

import pytest

import agentdb

DAY_MS = 86_400_000


def versions(db, agent_id, session_id):
    return [s.version for s in db.states.history(agent_id, session_id=session_id)]


def save_n(db, agent_id, session_id, n):
    for _ in range(n):
        db.states.save(agent_id, session_id, b"x")


def test_gc_keep_last_keeps_the_latest_and_snapshot_versions(db, db_path, make_db):
    save_n(db, 1, 1, 2)
    db.states.create_snapshot(1, 1, "two")  # names version 2
    save_n(db, 1, 1, 4)  # versions 3..6
    save_n(db, 1, 2, 1)  # a session with only its latest version
    save_n(db, 2, 1, 2)  # within keep_last

    r = db.gc()  # nothing configured: every version is kept
    assert isinstance(r, agentdb.GcReport) and r.state_versions_removed == 0
    assert versions(db, 1, 1) == [6, 5, 4, 3, 2, 1]

    r = db.gc(keep_last=2)
    assert r.state_versions_removed == 3  # versions 1, 3 and 4 of (1, 1)
    assert repr(r).startswith("GcReport(state_versions_removed=3")
    assert isinstance(r.maintenance, dict) and "tables" in r.maintenance
    assert versions(db, 1, 1) == [6, 5, 2]
    assert (versions(db, 1, 2), versions(db, 2, 1)) == ([1], [2, 1])
    for gone in (1, 3, 4):
        with pytest.raises(agentdb.NotFoundError):
            db.states.load_version(1, 1, gone)
    assert db.states.load_version(1, 1, 2).version == 2
    assert db.states.load(1, 1).version == 6
    assert db.states.restore_snapshot(1, "two").version == 7  # versions keep counting up

    assert db.gc(keep_last=1).state_versions_removed == 3  # 5 and 6 of (1, 1), 1 of (2, 1)
    assert versions(db, 1, 1) == [7, 2]
    db.close()
    reopened = make_db(db_path, memory_dimension=3)
    assert versions(reopened, 1, 1) == [7, 2] and versions(reopened, 2, 1) == [2]


def test_gc_keep_newer_than(db):
    save_n(db, 1, 1, 3)
    time.sleep(0.01)
    assert db.gc(keep_newer_than_ms=DAY_MS).state_versions_removed == 0
    assert db.gc(keep_last=1, keep_newer_than_ms=DAY_MS).state_versions_removed == 0  # either bound keeps
    assert db.gc(keep_newer_than_ms=0).state_versions_removed == 2
    assert versions(db, 1, 1) == [3]


def test_gc_without_arguments_applies_the_configured_retention(db_path, make_db):
    db = make_db(db_path, memory_dimension=3, state_keep_last=2)
    save_n(db, 1, 1, 5)
    assert db.gc().state_versions_removed == 3
    assert versions(db, 1, 1) == [5, 4]
    # A one-off retention overrides the configured one for that call only.
    save_n(db, 1, 1, 2)
    assert db.gc(keep_last=3).state_versions_removed == 1
    assert versions(db, 1, 1) == [7, 6, 5]
    assert db.gc().state_versions_removed == 1
    assert versions(db, 1, 1) == [7, 6]


def test_configured_age_retention(db_path, make_db):
    db = make_db(db_path, memory_dimension=3, state_keep_newer_than_ms=0)
    save_n(db, 1, 1, 3)
    time.sleep(0.01)
    assert db.gc().state_versions_removed == 2


def test_compact_applies_the_configured_retention_too(db_path, make_db):
    db = make_db(db_path, memory_dimension=3, state_keep_last=1)
    save_n(db, 1, 1, 3)
    db.compact()
    assert versions(db, 1, 1) == [3]


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda db: db.gc(keep_last=0), agentdb.InvalidArgumentError),
        (lambda db: db.gc(keep_last=-1), agentdb.InvalidArgumentError),
        (lambda db: db.gc(keep_newer_than_ms=-1), agentdb.InvalidArgumentError),
        (lambda db: db.gc(keep_last="2"), TypeError),
        (lambda db: db.gc(keep_last=2.0), TypeError),
        (lambda db: db.gc(2), TypeError),  # keyword-only
    ],
)
def test_gc_errors(db, call, error):
    with pytest.raises(error):
        call(db)


@pytest.mark.parametrize(
    "options, error",
    [
        ({"state_keep_last": 0}, agentdb.InvalidArgumentError),
        ({"state_keep_last": -3}, agentdb.InvalidArgumentError),
        ({"state_keep_newer_than_ms": -1}, agentdb.InvalidArgumentError),
        ({"state_keep_last": "3"}, TypeError),
    ],
)
def test_bad_retention_options(db_path, options, error):
    with pytest.raises(error):
        agentdb.connect(db_path, memory_dimension=3, maintenance_interval_ms=None, **options)


def test_gc_is_refused_read_only_and_closed(db_path, make_db):
    writer = make_db(db_path, memory_dimension=3)
    save_n(writer, 1, 1, 2)
    writer.close()
    with pytest.raises(agentdb.ClosedError):
        writer.gc()
    reader = make_db(db_path, memory_dimension=3, read_only=True)
    with pytest.raises(agentdb.ReadOnlyError):
        reader.gc(keep_last=1)
