"""Opening, options, closing, persistence across reopen and crashes, locks, damaged files."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import agentdb


def test_connect_creates_the_directory_and_reports_its_path(db_path, make_db):
    d = make_db(db_path)
    assert Path(d.path) == db_path and db_path.is_dir()
    assert not d.closed
    assert repr(d) == f"<agentdb.AgentDB path={str(db_path)!r} open>"


def test_context_manager_closes_and_closed_handles_refuse_calls(db_path):
    with agentdb.connect(db_path, memory_dimension=3) as d:
        d.states.save(1, 1, b"x")
    assert d.closed and repr(d).endswith("closed>")
    d.close()  # idempotent
    for call in (lambda: d.states.load(1), lambda: d.states.save(1, 1, b"y"), d.flush, d.stats,
                 lambda: d.vectors.list_collections(), lambda: d.memories.list(1)):  # fmt: skip
        with pytest.raises(agentdb.ClosedError) as e:
            call()
        assert e.value.code == "closed"


def test_everything_persists_across_reopen(db_path):
    with agentdb.connect(db_path, memory_dimension=3) as d:
        d.states.save(1, 1, b"state", metadata={"k": "v"})
        d.states.create_snapshot(1, 1, "snap")
        mid = d.memories.store(1, "memory", embedding=[1, 0, 0])
        d.rag.index_document("doc", "document text", chunk_vectors=[[0, 1, 0]])
        d.vectors.create_collection("c", 2, "l2")
        d.vectors.insert("c", "v", [1, 2], {"m": "1"})
    with agentdb.connect(db_path, memory_dimension=3) as d:
        s = d.states.load(1, 1)
        assert (s.data, s.metadata) == (b"state", {"k": "v"})
        assert [x.name for x in d.states.list_snapshots(1)] == ["snap"]
        assert d.memories.get(mid).content == "memory"
        assert d.rag.get_document("doc").chunk_count == 1
        assert d.vectors.get("c", "v").metadata == {"m": "1"}
        assert d.states.save(1, 1, b"next") == 2


CHILD = """
import os, sys
import agentdb
db = agentdb.connect(sys.argv[1], memory_dimension=3, fsync=sys.argv[2], flush_interval_ms=3_600_000,
                     maintenance_interval_ms=None)
for i in range(10):
    db.states.save(1, 1, bytes([i]) * 100)
db.memories.store(1, "remembered", embedding=[0, 0, 1])
print("acked", flush=True)
os._exit(0)  # a crash: no close, no flush
"""


def crash_after_writes(path: Path, fsync: str = "never") -> None:
    out = subprocess.run([sys.executable, "-c", CHILD, str(path), fsync], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "acked" in out.stdout, out.stderr


def test_acknowledged_writes_survive_a_process_crash(db_path, make_db):
    crash_after_writes(db_path)
    d = make_db(db_path, memory_dimension=3)
    assert [s.version for s in d.states.history(1, limit=20)] == list(range(10, 0, -1))
    assert d.states.load(1, 1).data == bytes([9]) * 100
    assert [m.content for m in d.memories.list(1)] == ["remembered"]


def test_damage_inside_the_wal_is_corrupted_not_data(db_path):
    crash_after_writes(db_path)
    segment = sorted((db_path / "wal").iterdir())[-1]
    data = bytearray(segment.read_bytes())
    data[40] ^= 0x55
    segment.write_bytes(bytes(data))
    with pytest.raises(agentdb.CorruptedError) as e:
        agentdb.connect(db_path, memory_dimension=3, read_only=True)
    assert e.value.code == "corrupted" and "checksum" in str(e.value)


def test_second_writer_is_locked_and_read_only_opens_beside_it(db_path, make_db):
    writer = make_db(db_path, memory_dimension=3)
    writer.states.save(1, 1, b"seen")
    with pytest.raises(agentdb.LockedError) as e:
        agentdb.connect(db_path, memory_dimension=3)
    assert e.value.code == "locked"
    reader = make_db(db_path, memory_dimension=3, read_only=True)
    assert reader.states.load(1, 1).data == b"seen"
    for call in (lambda: reader.states.save(1, 1, b"x"), lambda: reader.memories.store(1, "x", embedding=[1, 0, 0]),
                 lambda: reader.vectors.create_collection("c", 2)):  # fmt: skip
        with pytest.raises(agentdb.ReadOnlyError) as e:
            call()
        assert e.value.code == "read_only"
    writer.close()
    make_db(db_path, memory_dimension=3).states.save(1, 1, b"after close")  # the lock was released


def test_read_only_open_of_nothing_is_not_found(tmp_path):
    with pytest.raises(agentdb.NotFoundError):
        agentdb.connect(tmp_path / "nothing-here", read_only=True)


def test_io_failure_is_a_storage_error(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(agentdb.StorageError) as e:
        agentdb.connect(blocker / "db")
    assert e.value.code == "io"


@pytest.mark.parametrize(
    "options",
    [
        {"fsync": "sometimes"},
        {"fsync": "batch", "fsync_batch_ms": 0},
        {"memory_dimension": 0},
        {"max_payload_bytes": 0},
        {"chunk_chars": 10, "chunk_overlap": 10},
        {"memory_dimension": -1},
    ],
    ids=["fsync", "batch_0", "dim_0", "payload_0", "overlap", "negative"],
)
def test_invalid_options(db_path, options):
    with pytest.raises(agentdb.InvalidArgumentError):
        agentdb.connect(db_path, **options)


@pytest.mark.parametrize("fsync", ["always", "batch", "never", "batch:5"])
def test_fsync_policies(db_path, make_db, fsync):
    d = make_db(db_path, fsync=fsync, memory_dimension=3)
    assert d.states.save(1, 1, b"x") == 1


def test_wrong_option_types(db_path):
    with pytest.raises(TypeError):
        agentdb.connect(None)
    with pytest.raises(TypeError):
        agentdb.connect(db_path, read_only="yes")


def test_flush_compact_and_stats_are_json_shaped(db):
    db.states.save(1, 1, b"x")
    report = db.flush()
    assert report["states"] == 1 and report["flushed_lsn"] >= 1 and isinstance(report["duration_ms"], float)
    m = db.compact()
    assert {"flush", "tables", "duration_ms", "finished_at_ms"} <= m.keys() and isinstance(m["tables"], list)
    s = db.stats()
    assert s["path"] == db.path and s["read_only"] is False and s["last_lsn"] >= 1
    states = next(t for t in s["tables"] if t["name"] == "states")
    assert states["rows"] == 1
    assert s["last_maintenance"]["finished_at_ms"] == m["finished_at_ms"]
    assert s["last_flush_error"] is None


def test_model_dir_defaults_to_the_installed_package(monkeypatch, db_path):
    from agentdb import _db

    found = _db._installed_model_dir()
    assert found and os.path.isfile(os.path.join(found, "model.safetensors"))
    seen = {}
    real_open = _db._native.Database.open

    def spy(*args):
        seen["model_dir"] = args[6]
        return real_open(*args)

    monkeypatch.delenv("AGENTDB_MODEL_DIR", raising=False)
    monkeypatch.setattr(_db._native.Database, "open", spy, raising=False)
    agentdb.connect(db_path).close()
    assert seen["model_dir"] == found
    monkeypatch.setenv("AGENTDB_MODEL_DIR", "/somewhere/else")
    agentdb.connect(db_path).close()
    assert seen["model_dir"] is None  # the engine reads AGENTDB_MODEL_DIR itself


def wait_for_child(pid: int, timeout_s: float = 60.0) -> int:
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.01)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    raise AssertionError("the forked child hung")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_a_forked_child_cannot_use_or_close_the_parents_handle(db, tmp_path):
    import gc

    db.states.save(1, 1, b"parent")
    other = agentdb.connect(tmp_path / "other", memory_dimension=3)
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 10
        try:
            try:
                db.states.load(1, 1)
                code = 11
            except agentdb.InvalidArgumentError as e:
                code = 0 if "fork()" in str(e) else 12
            try:
                db.close()  # the parent's handle: not a flush into its files from here
                code = 13
            except agentdb.InvalidArgumentError:
                pass
            assert not db.closed
            try:
                other.states.save(1, 1, b"never written")
                code = 14
            except agentdb.InvalidArgumentError:
                pass
            del other  # dropped in the child: leaked by the engine, not closed
            gc.collect()
        except BaseException:  # noqa: BLE001
            code = 15
        finally:
            os._exit(code)
    assert wait_for_child(pid) == 0
    other.states.save(1, 1, b"parent's")
    del other  # the parent closes the handle the child also held
    gc.collect()
    with agentdb.connect(tmp_path / "other", memory_dimension=3) as again:  # the lock was released
        assert [s.data for s in again.states.history(1)] == [b"parent's"]
    assert db.states.save(1, 1, b"still the writer") == 2
    assert db.states.load(1, 1).data == b"still the writer"
    with pytest.raises(agentdb.LockedError):
        agentdb.connect(db.path, memory_dimension=3)


def test_a_path_with_a_nul_byte_is_an_invalid_argument(tmp_path):
    # The engine refuses it as input (not a storage error from deep in the open).
    with pytest.raises(agentdb.InvalidArgumentError):
        agentdb.connect(str(tmp_path / "a\0b"))
