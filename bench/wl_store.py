"""Workload 7: a LangGraph long-term store with many items in many namespaces.

A store of ``store_items`` items (100,000 full, 5,000 ``--quick``) spread over
``store_namespaces`` namespaces of the shape ``("users", "u<i>", "memories")``,
each value a small JSON document (``{"text", "topic", "score"}``), loaded
through ``BaseStore.batch`` in batches of 1,000 puts, then single calls as an
agent makes them, each timed alone (p50):

- ``put`` of one item into a full store (a new key; then an update of an
  existing key);
- ``get`` of a random existing item;
- ``search(namespace, filter={"topic": …}, limit=10)``: a value filter under
  one user's namespace (no query: LangGraph's filtered listing);
- ``search(("users",), limit=10)``: the newest items under a wide prefix;
- ``list_namespaces(prefix=("users",), max_depth=2, limit=100)``.

AgentDB runs ``compact()`` after the load (what background maintenance does
within a minute: its B-tree indexes on the item address and namespace;
SqliteStore's indexes exist from the start).

Systems: ``AgentDBStore`` over ``agentdb.connect`` (``fsync="batch"``: the
database's default) against LangGraph's ``SqliteStore`` (langgraph-checkpoint-
sqlite, WAL journal, ``synchronous=FULL`` as Python's sqlite3 leaves it), in
this one process, on the same data. No embeddings: semantic search is the
vector collections' workload (5).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np

import agentdb
from harness import LOWER, Recorder, Stopwatch, remove, say, timed_calls

STORE = "AgentDBStore (LangGraph)"
SQLITE_STORE = "LangGraph SqliteStore"
TOPICS = ["food", "travel", "work", "health", "music", "sport", "family", "money"]


def _value(i: int) -> dict[str, Any]:
    return {"text": f"memory number {i} about {TOPICS[i % len(TOPICS)]}", "topic": TOPICS[i % len(TOPICS)],
            "score": i % 100}


class Opened:
    def __init__(self, kind: str, path: str):
        self.kind = kind
        if kind == SQLITE_STORE:
            from langgraph.store.sqlite import SqliteStore

            self.ctx = SqliteStore.from_conn_string(path)
            self.store = self.ctx.__enter__()
            self.store.setup()
        else:
            from agentdb.langgraph import AgentDBStore

            self.db = agentdb.connect(path)
            self.store = AgentDBStore(self.db)

    def close(self) -> None:
        if self.kind == SQLITE_STORE:
            self.ctx.__exit__(None, None, None)
        else:
            self.db.close()


def run_system(rec: Recorder, wl: str, system: str, vs: Any, path: str, items: int, namespaces: int,
               calls: int) -> dict[str, Any]:
    from langgraph.store.base import PutOp

    opened = Opened(system, path)
    store = opened.store
    ns_of = [("users", f"u{i % namespaces}", "memories") for i in range(items)]
    with Stopwatch() as sw:
        for start in range(0, items, 1000):
            store.batch([PutOp(ns_of[i], f"k{i}", _value(i)) for i in range(start, min(items, start + 1000))])
    rec.add(wl, f"load {items:,} items in batches of 1,000 puts", system, items / sw.seconds, "items/s", "higher",
            vs)
    if system == STORE:
        # What background maintenance does within a minute of a bulk load: compaction and the
        # B-tree indexes (ns_key, ns) a long-running store has; SqliteStore's exist from the start.
        opened.db.compact()
    rng = random.Random(7)
    sample = [rng.randrange(items) for _ in range(calls)]
    new = timed_calls(lambda j: store.put(ns_of[j], f"new{j}", _value(j)), sample)
    rec.add(wl, f"put (new key), {items:,}-item store, p50", system, float(np.percentile(new, 50)) * 1e6, "µs",
            LOWER, vs)
    upd = timed_calls(lambda j: store.put(ns_of[j], f"k{j}", _value(j + 1)), sample)
    rec.add(wl, f"put (update), {items:,}-item store, p50", system, float(np.percentile(upd, 50)) * 1e6, "µs",
            LOWER, vs)
    got: list[Any] = []
    lat = timed_calls(lambda j: got.append(store.get(ns_of[j], f"k{j}")), sample)
    assert all(g is not None for g in got), system
    rec.add(wl, f"get, {items:,}-item store, p50", system, float(np.percentile(lat, 50)) * 1e6, "µs", LOWER, vs)
    found: list[int] = []
    lat = timed_calls(
        lambda j: found.append(len(store.search(ns_of[j], filter={"topic": TOPICS[j % len(TOPICS)]}, limit=10))),
        sample)
    rec.add(wl, f"search(namespace, filter, limit=10), {items:,} items, p50", system,
            float(np.percentile(lat, 50)) * 1e6, "µs", LOWER, vs)
    lat = timed_calls(lambda _: store.search(("users",), limit=10), range(max(5, calls // 10)))
    rec.add(wl, f"search(('users',), limit=10) over all {items:,}, p50", system,
            float(np.percentile(lat, 50)) * 1e6, "µs", LOWER, vs)
    listed: list[Any] = []
    lat = timed_calls(lambda _: listed.append(store.list_namespaces(prefix=("users",), max_depth=2, limit=100)),
                      range(calls))
    rec.add(wl, f"list_namespaces(prefix, max_depth=2), {namespaces:,} namespaces, p50", system,
            float(np.percentile(lat, 50)) * 1e6, "µs", LOWER, vs)
    opened.close()
    return {"found": sum(found), "listed": listed[0]}


def run(rec: Recorder, work: Path, sizes: dict[str, Any]) -> None:
    wl = "7 store"
    items, namespaces, calls = sizes["store_items"], sizes["store_namespaces"], sizes["store_calls"]
    results = {}
    for system, vs in ((STORE, None), (SQLITE_STORE, STORE)):
        path = str(work / f"store-{system.split()[0].lower()}")
        if system == SQLITE_STORE:
            path += ".sqlite"
        remove(path)
        say(f"    {system}: {items:,} items in {namespaces:,} namespaces")
        results[system] = run_system(rec, wl, system, vs, path, items, namespaces, calls)
        remove(path)
    # Same data, same calls: the answers must agree before the timings mean anything.
    assert results[STORE] == results[SQLITE_STORE], results
