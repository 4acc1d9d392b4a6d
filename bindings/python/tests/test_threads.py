"""One AgentDB shared by threads: the GIL is released inside every engine call."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

import agentdb

THREADS = 8
SAVES_PER_THREAD = 25


def test_concurrent_saves_to_one_session_get_gapless_versions(db):
    def work(t: int) -> list[int]:
        return [db.states.save(1, 1, f"{t}-{i}".encode()) for i in range(SAVES_PER_THREAD)]

    with ThreadPoolExecutor(THREADS) as pool:
        versions = [v for vs in pool.map(work, range(THREADS)) for v in vs]
    assert sorted(versions) == list(range(1, THREADS * SAVES_PER_THREAD + 1))
    history = db.states.history(1, session_id=1, limit=1000)
    assert sorted(s.version for s in history) == sorted(versions)
    assert len({s.data for s in history}) == THREADS * SAVES_PER_THREAD


def test_concurrent_saves_loads_and_searches_on_many_keys(db):
    db.vectors.create_collection("c", 3, "l2")
    errors: list[BaseException] = []

    def work(t: int) -> None:
        try:
            for i in range(SAVES_PER_THREAD):
                v = db.states.save(t, i % 3, f"{t}:{i}".encode())
                latest = db.states.load(t, i % 3)
                assert latest.version >= v and latest.agent_id == t
                db.vectors.insert("c", f"{t}-{i}", np.array([t, i, 1], dtype=np.float32))
                if i % 10 == 0:
                    db.flush()  # flushes race with readers and writers
                hits = db.vectors.search("c", [t, i, 1], 1)
                assert hits[0].id == f"{t}-{i}"
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(THREADS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors
    assert db.vectors.count("c") == THREADS * SAVES_PER_THREAD
    for t in range(THREADS):
        assert sum(db.states.load(t, s).version for s in range(3)) == SAVES_PER_THREAD


def test_other_threads_run_python_while_the_engine_works(text_db):
    # While one thread is inside a long engine call (embedding 96 texts), a
    # pure-Python thread keeps running: it could not if the call held the GIL.
    in_call = threading.Event()
    finished = threading.Event()
    ticks_during_call = 0

    def ticker() -> None:
        nonlocal ticks_during_call
        in_call.wait()
        while not finished.is_set():
            ticks_during_call += 1
            finished.wait(0.001)

    t = threading.Thread(target=ticker)
    t.start()
    texts = [f"sentence number {i} about agents, memories and documents" for i in range(96)]
    in_call.set()
    out = text_db.embed(texts)
    finished.set()
    t.join()
    assert out.shape == (96, 384)
    assert ticks_during_call >= 20


def test_one_writer_per_directory_across_threads(db_path):
    first = agentdb.connect(db_path, memory_dimension=3)
    try:
        results: list[str] = []

        def try_open() -> None:
            try:
                agentdb.connect(db_path, memory_dimension=3).close()
                results.append("opened")
            except agentdb.LockedError:
                results.append("locked")

        threads = [threading.Thread(target=try_open) for _ in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert results == ["locked"] * 4
    finally:
        first.close()
