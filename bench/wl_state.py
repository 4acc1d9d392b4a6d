"""Workload 1: agent state / checkpoints — save every step, then load the latest state of an agent.

Agents take steps in turn (step 1 of every agent, then step 2, ...), each
step saving one payload for that agent, one call and one commit per save, as
an agent loop does. Then the latest state of a sample of agents is loaded
twice: warm (same handle, right after the saves) and after reopening the
store (each agent's first load in a new handle, as when an agent process
restarts).

Systems, each with its own defaults unless said otherwise:
- AgentDB ``states.save`` / ``states.load`` (``fsync="batch"``).
- SQLite, a plain table ``(agent_id, step, data)`` keyed by both, WAL mode
  with ``synchronous=NORMAL`` (SQLite's recommended setting for WAL: durable
  against process death, like AgentDB's default), one transaction per save;
  load latest = ``ORDER BY step DESC LIMIT 1``.
- lancedb (Python), batched: one ``table.add`` per step with every agent's
  record (LanceDB's advice: add in batches), a BTree index on ``agent_id``;
  load latest = the agent's steps (one column), then that row's payload.
- lancedb per record: one ``table.add`` per save (what an agent loop does
  without a batching layer). Every add is a table version and a data file;
  it runs on the first steps only.
- LangGraph ``SqliteSaver.from_conn_string(file)`` (WAL, Python's default
  ``synchronous=FULL``: an fsync per put) against AgentDB's own LangGraph
  saver ``AgentDBSaver`` on the same checkpoints, with AgentDB's default and
  with ``fsync="always"`` (durability matched to SqliteSaver).
- Before the loads, AgentDB runs ``compact()`` and lancedb builds its index:
  what AgentDB's background maintenance (every 60 s) and LanceDB's docs
  would have done; SQLite's primary key is its index. The savers
  run the first 10 steps (256 B) / 5 steps (64 KB) of every agent: two of the
  three wait for an fsync per put.

The 64 KB payloads run 10 steps per agent (640 MB per store): 100 steps
would be 6.4 GB per store, more disk and time than the standard machine has
for this run.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import numpy as np

import agentdb
from harness import HIGHER, LOWER, Recorder, Stopwatch, footprint, pct_us, remove, anon_mb, say, timed_calls

AGENTDB = "AgentDB"
SQLITE = "SQLite table (WAL, sync=NORMAL)"
LANCE_BATCH = "lancedb (batched adds)"
LANCE_RECORD = "lancedb (add per record)"
SAVER = "AgentDBSaver (LangGraph)"
SAVER_ALWAYS = "AgentDBSaver fsync=always"
SQLITE_SAVER = "LangGraph SqliteSaver"


class Payloads:
    """The payload of (agent, step): a small header naming both, padded with incompressible bytes."""

    def __init__(self, size: int, seed: int):
        self.size = size
        self.pad = np.random.default_rng(seed).integers(0, 256, size + 4096, dtype=np.uint8).tobytes()

    def __call__(self, agent: int, step: int) -> bytes:
        head = b'{"agent":%d,"step":%d}' % (agent, step)
        off = (agent * 31 + step * 17) % 4096
        return head + self.pad[off : off + self.size - len(head)]


def step_of(data: bytes) -> int:
    head = data[: data.index(b"}") + 1]
    return int(head.split(b'"step":')[1].rstrip(b"}"))


# --- the raw stores ---------------------------------------------------------------------------------------------


class AgentDBStates:
    def __init__(self, path: str):
        self.path = path
        self.db = agentdb.connect(path)

    def save(self, agent: int, step: int, data: bytes) -> None:
        self.db.states.save(agent, 0, data)

    def index(self) -> None:
        self.db.compact()

    def load_latest(self, agent: int) -> int:
        return step_of(self.db.states.load(agent, 0).data)

    def close(self) -> None:
        self.db.close()

    def reopen(self) -> None:
        self.db = agentdb.connect(self.path)


class SQLiteStates:
    def __init__(self, path: str):
        self.path = path
        self._connect()
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS states (agent_id INTEGER NOT NULL, step INTEGER NOT NULL,"
            " data BLOB NOT NULL, PRIMARY KEY (agent_id, step))"
        )

    def _connect(self) -> None:
        self.conn = sqlite3.connect(self.path)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")

    def save(self, agent: int, step: int, data: bytes) -> None:
        with self.conn:
            self.conn.execute("INSERT INTO states VALUES (?, ?, ?)", (agent, step, data))

    def load_latest(self, agent: int) -> int:
        row = self.conn.execute(
            "SELECT data FROM states WHERE agent_id = ? ORDER BY step DESC LIMIT 1", (agent,)
        ).fetchone()
        return step_of(row[0])

    def close(self) -> None:
        self.conn.close()

    def reopen(self) -> None:
        self._connect()


class LanceStates:
    def __init__(self, path: str):
        import lancedb
        import pyarrow as pa

        self.pa = pa
        self.lancedb = lancedb
        self.path = path
        self.db = lancedb.connect(path)
        self.schema = pa.schema([("agent_id", pa.int64()), ("step", pa.int64()), ("data", pa.binary())])
        self.table = self.db.create_table("states", schema=self.schema, mode="overwrite")
        self.pending: list[tuple[int, int, bytes]] = []

    def save(self, agent: int, step: int, data: bytes) -> None:
        self.table.add([{"agent_id": agent, "step": step, "data": data}])

    def add_batch(self, rows: list[tuple[int, int, bytes]]) -> None:
        a, s, d = zip(*rows)
        self.table.add(self.pa.table({"agent_id": list(a), "step": list(s), "data": list(d)}, schema=self.schema))

    def index(self) -> None:
        from lancedb.index import BTree

        self.table.create_index("agent_id", config=BTree())

    def load_latest(self, agent: int) -> int:
        steps = self.table.search().where(f"agent_id = {agent}").select(["step"]).to_arrow()["step"]
        last = max(steps.to_pylist())
        row = self.table.search().where(f"agent_id = {agent} AND step = {last}").select(["data"]).limit(1).to_arrow()
        return step_of(row["data"][0].as_py())

    def close(self) -> None:
        self.table = None
        self.db = None

    def reopen(self) -> None:
        self.db = self.lancedb.connect(self.path)
        self.table = self.db.open_table("states")


# --- the LangGraph savers -----------------------------------------------------------------------------------------


class Savers:
    """Puts the same LangGraph checkpoints into a saver; one thread per agent."""

    def __init__(self, kind: str, path: str):
        self.kind, self.path = kind, path
        self.parents: dict[int, Any] = {}
        self._open()

    def _open(self) -> None:
        if self.kind == SQLITE_SAVER:
            from langgraph.checkpoint.sqlite import SqliteSaver

            self.ctx = SqliteSaver.from_conn_string(self.path)
            self.saver = self.ctx.__enter__()
        else:
            from agentdb.langgraph import AgentDBSaver

            fsync = "always" if self.kind == SAVER_ALWAYS else "batch"
            self.db = agentdb.connect(self.path, fsync=fsync)
            self.saver = AgentDBSaver(self.db)

    def save(self, agent: int, step: int, data: bytes) -> None:
        from langgraph.checkpoint.base import empty_checkpoint

        cp = empty_checkpoint()
        cp["channel_values"] = {"state": data}
        cp["channel_versions"] = {"state": step + 1}
        config = self.parents.get(agent) or {"configurable": {"thread_id": f"agent-{agent}", "checkpoint_ns": ""}}
        self.parents[agent] = self.saver.put(config, cp, {"source": "loop", "step": step}, cp["channel_versions"])

    def index(self) -> None:
        if self.kind != SQLITE_SAVER:
            self.db.compact()

    def load_latest(self, agent: int) -> int:
        tup = self.saver.get_tuple({"configurable": {"thread_id": f"agent-{agent}", "checkpoint_ns": ""}})
        return int(tup.metadata["step"])

    def close(self) -> None:
        if self.kind == SQLITE_SAVER:
            self.ctx.__exit__(None, None, None)
        else:
            self.db.close()

    def reopen(self) -> None:
        self._open()


# --- the workload -----------------------------------------------------------------------------------------------


def run_system(rec: Recorder, wl: str, label: str, system: str, vs: Any, store: Any, path: str,
               payloads: Payloads, agents: int, steps: int, sample: np.ndarray, kind: str,
               batched: bool = False, loads: bool = True) -> None:
    rss0 = anon_mb()
    saves = agents * steps
    lat = np.empty(saves)
    i = 0
    with Stopwatch() as sw:
        for step in range(steps):
            if batched:
                store.add_batch([(a, step, payloads(a, step)) for a in range(agents)])
                continue
            for a in range(agents):
                data = payloads(a, step)
                t = _now()
                store.save(a, step, data)
                lat[i] = _now() - t
                i += 1
    note = f"{agents} agents × {steps} steps"
    if batched:
        note += f", {steps} adds of {agents} records"
    rec.add(wl, f"{label}: save throughput", system, saves / sw.seconds, "saves/s", HIGHER, vs, note)
    if not batched:
        rec.add(wl, f"{label}: save p99", system, pct_us(lat[:i], 99), "µs", LOWER, vs)
    if not loads:
        store.close()
        return
    if hasattr(store, "index") and not (isinstance(store, Savers) and store.kind == SQLITE_SAVER):
        # What background maintenance would have done by now (AgentDB: compact() builds the agent_id
        # index; lancedb: the BTree index its docs advise): loads then read through an index.
        with Stopwatch() as ix:
            store.index()
        what = "compact() (agent_id index, merged fragments)" if not batched else "BTree index on agent_id"
        rec.notes.append(f"{system}, {label}: {what} in {ix.seconds:.1f} s after the saves")
    want = steps - 1

    def check(a: int) -> None:
        got = store.load_latest(int(a))
        assert got == want, (system, a, got, want)

    warm = timed_calls(check, sample)
    rec.add(wl, f"{label}: load-latest, warm, p50", system, pct_us(warm, 50), "µs", LOWER, vs)
    rec.add(wl, f"{label}: load-latest, warm, p99", system, pct_us(warm, 99), "µs", LOWER, vs)
    growth = anon_mb() - rss0
    with Stopwatch() as cl:
        store.close()
    store.reopen()
    cold = timed_calls(check, sample)
    store.close()
    rec.add(wl, f"{label}: load-latest after reopen, p50", system, pct_us(cold, 50), "µs", LOWER, vs,
            note=f"first load of each of {len(sample)} agents")
    rec.add(wl, f"{label}: load-latest after reopen, p99", system, pct_us(cold, 99), "µs", LOWER, vs)
    rec.notes.append(f"{system}, {label}: close took {cl.seconds * 1000:.0f} ms")
    footprint(rec, f"state {label}", system, vs, path, kind, str(int(sample[0])), growth)


def _now() -> float:
    import time

    return time.perf_counter()


def run(rec: Recorder, work: Path, sizes: dict[str, Any]) -> None:
    wl = "1 agent state"
    agents = sizes["state_agents"]
    rng = np.random.default_rng(11)
    sample = rng.choice(agents, size=min(agents, sizes["state_load_sample"]), replace=False)
    for label, payload_bytes, steps in (
        ("256 B", 256, sizes["state_steps_small"]),
        ("64 KB", 65536, sizes["state_steps_large"]),
    ):
        payloads = Payloads(payload_bytes, seed=payload_bytes)
        say(f"  [state {label}] {agents} agents × {steps} steps")
        plan = [
            (AGENTDB, None, lambda p: AgentDBStates(p), "agentdb-state", False),
            (SQLITE, AGENTDB, lambda p: SQLiteStates(p), "sqlite-state", False),
            (LANCE_BATCH, AGENTDB, lambda p: LanceStates(p), "lancedb-state", True),
            (SAVER, None, lambda p: Savers(SAVER, p), "agentdb-saver", False),
            (SAVER_ALWAYS, None, lambda p: Savers(SAVER_ALWAYS, p), "agentdb-saver", False),
            (SQLITE_SAVER, [SAVER, SAVER_ALWAYS], lambda p: Savers(SQLITE_SAVER, p), "sqlite-saver", False),
        ]
        saver_steps = min(steps, sizes["saver_steps_small" if payload_bytes == 256 else "saver_steps_large"])
        for system, vs, make, kind, batched in plan:
            path = str(work / f"state-{payload_bytes}-{kind}{'-always' if system == SAVER_ALWAYS else ''}")
            if kind.startswith("sqlite"):
                path += ".sqlite"
            remove(path)
            n_steps = saver_steps if "saver" in kind else steps
            say(f"    {system} ({agents} agents × {n_steps} steps)")
            run_system(rec, wl, f"{label}, LangGraph" if "saver" in kind else label, system, vs, make(path), path,
                       payloads, agents, n_steps, sample, kind, batched)
            remove(path)
        rec.notes.append(
            f"LangGraph savers, {label}: {agents} agents × {saver_steps} steps (SqliteSaver and AgentDBSaver"
            " fsync=always wait for an fsync per put, a few ms each here; the raw stores run all"
            f" {steps} steps)"
        )
        # lancedb one add per save: a table version and a data file per record, so only the first steps.
        steps_rec = min(steps, sizes["state_steps_per_record"])
        path = str(work / f"state-{payload_bytes}-lancedb-per-record")
        say(f"    {LANCE_RECORD} ({agents} agents × {steps_rec} steps)")
        run_system(rec, wl, label, LANCE_RECORD, AGENTDB, LanceStates(path), path, payloads, agents, steps_rec,
                   sample, "lancedb-state", loads=False)
        rec.notes.append(
            f"{LANCE_RECORD}, {label}: first {steps_rec} steps only ({agents * steps_rec} adds); every add commits"
            " a table version and a data file, so its rate falls as the table grows"
        )
        remove(path)
    rec.notes.append(
        f"{SAVER} vs {SQLITE_SAVER}: AgentDB's default fsync=batch acknowledges a put once it is in the WAL"
        " (durable against process death, fsync within 10 ms); SqliteSaver fsyncs every put (synchronous=FULL)."
        f" {SAVER_ALWAYS} fsyncs before acknowledging, like SqliteSaver"
    )


# --- reopen probes (run in a fresh process by compare.py --reopen) --------------------------------------------------


def reopen(kind: str, path: str, arg: str) -> tuple[Any, Any]:
    """Returns (open, read) callables for the footprint probe."""
    agent = int(arg)
    if kind == "agentdb-state":
        h: dict[str, Any] = {}
        return (lambda: h.setdefault("s", _reopened(AgentDBStates, path)), lambda: h["s"].load_latest(agent))
    if kind == "sqlite-state":
        h = {}
        return (lambda: h.setdefault("s", SQLiteStates(path)), lambda: h["s"].load_latest(agent))
    if kind == "lancedb-state":
        h = {}
        return (lambda: h.setdefault("s", _reopened(LanceStates, path)), lambda: h["s"].load_latest(agent))
    if kind in ("agentdb-saver", "sqlite-saver"):
        h = {}
        which = SQLITE_SAVER if kind == "sqlite-saver" else SAVER
        return (lambda: h.setdefault("s", Savers(which, path)), lambda: h["s"].load_latest(agent))
    raise KeyError(kind)


def _reopened(cls: type, path: str) -> Any:
    obj = cls.__new__(cls)
    obj.path = path
    if cls is LanceStates:
        import lancedb

        obj.lancedb = lancedb
    obj.reopen()
    return obj
