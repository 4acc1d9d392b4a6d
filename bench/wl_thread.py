"""Workload 6: one long LangGraph thread — a real ``StateGraph`` looping on one thread.

A graph with one node that loops (``n += 1`` until a target) runs on one
thread through LangGraph itself, each step checkpointed by the saver under
test, as an agent loop that runs for hours does. Measured:

- per-step latency at steps 100, 1,000 and 10,000 (the median over the 100
  steps around each): what a step costs as the thread grows (flat is the
  goal: every saver call a step makes must be O(1) or O(log n) in the
  thread's length);
- ``get_state_history(config, limit=10)``: the newest page of the thread's
  history, as a UI showing recent steps asks for it (p50 over repeated calls);
- ``get_state`` of an old checkpoint (time travel: a random checkpoint of
  the thread, p50 over a sample).

Systems: ``AgentDBSaver`` with AgentDB's default durability (``fsync="batch"``:
acknowledged once in the WAL, durable against process death) and with
``fsync="always"``, against LangGraph's ``SqliteSaver.from_conn_string``
(WAL, Python's default ``synchronous=FULL``: an fsync per put). Each system
runs the same graph in this one process; the thread lengths are 10,000
steps (full) and 1,000 (``--quick``, which reports steps 100 and 1,000).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, TypedDict

import numpy as np

import agentdb
from harness import LOWER, Recorder, Stopwatch, remove, say, timed_calls

SAVER = "AgentDBSaver (LangGraph)"
SAVER_ALWAYS = "AgentDBSaver fsync=always"
SQLITE_SAVER = "LangGraph SqliteSaver"


class Loop(TypedDict):
    n: int
    target: int


def _graph(checkpointer: Any, stamps: list[float]) -> Any:
    from langgraph.graph import END, START, StateGraph

    def step(state: Loop) -> dict[str, Any]:
        stamps.append(time.perf_counter())
        return {"n": state["n"] + 1}

    def route(state: Loop) -> str:
        return END if state["n"] >= state["target"] else "step"

    builder = StateGraph(Loop)
    builder.add_node("step", step)
    builder.add_edge(START, "step")
    builder.add_conditional_edges("step", route, ["step", END])
    return builder.compile(checkpointer=checkpointer)


class Opened:
    """A saver of one kind over a store at ``path``; ``close()`` releases it."""

    def __init__(self, kind: str, path: str):
        self.kind = kind
        if kind == SQLITE_SAVER:
            from langgraph.checkpoint.sqlite import SqliteSaver

            self.ctx = SqliteSaver.from_conn_string(path)
            self.saver = self.ctx.__enter__()
        else:
            from agentdb.langgraph import AgentDBSaver

            self.db = agentdb.connect(path, fsync="always" if kind == SAVER_ALWAYS else "batch")
            self.saver = AgentDBSaver(self.db)

    def close(self) -> None:
        if self.kind == SQLITE_SAVER:
            self.ctx.__exit__(None, None, None)
        else:
            self.db.close()


def run_system(rec: Recorder, wl: str, system: str, vs: Any, path: str, steps: int, marks: list[int],
               calls: int) -> None:
    opened = Opened(system, path)
    stamps: list[float] = []
    graph = _graph(opened.saver, stamps)
    config = {"configurable": {"thread_id": "long-thread"}, "recursion_limit": steps + 10}
    with Stopwatch() as sw:
        out = graph.invoke({"n": 0, "target": steps}, config)
    assert out["n"] == steps, (system, out)
    per_step = np.diff(np.array(stamps))
    for mark in marks:
        window = per_step[max(0, mark - 50): mark + 50]
        rec.add(wl, f"per-step latency at step {mark:,}", system, float(np.median(window)) * 1e6, "µs", LOWER, vs,
                note=f"median of steps {max(0, mark - 50)}–{mark + 50} of a {steps:,}-step run")
    rec.notes.append(f"{system}: the {steps:,}-step run took {sw.seconds:.1f} s")

    history = timed_calls(lambda _: list(graph.get_state_history(config, limit=10)), range(calls))
    rec.add(wl, f"get_state_history(limit=10), {steps:,}-step thread, p50", system,
            float(np.percentile(history, 50)) * 1e6, "µs", LOWER, vs)
    # Old checkpoints to travel to: a random sample of the thread's, chosen outside the timing.
    every = [s.config for s in graph.get_state_history(config)]
    rng = np.random.default_rng(5)
    sample = [every[int(i)] for i in rng.choice(len(every) // 2, size=min(calls, len(every) // 2), replace=False)
              + len(every) // 2]
    old = timed_calls(lambda c: graph.get_state(c), sample)
    rec.add(wl, f"get_state(old checkpoint), {steps:,}-step thread, p50", system,
            float(np.percentile(old, 50)) * 1e6, "µs", LOWER, vs, note="a random checkpoint of the older half")
    opened.close()


def run(rec: Recorder, work: Path, sizes: dict[str, Any]) -> None:
    wl = "6 long thread"
    steps = sizes["thread_steps"]
    marks = [m for m in (100, 1_000, 10_000) if m < steps]
    calls = sizes["thread_calls"]
    for system, vs in ((SAVER, None), (SAVER_ALWAYS, None), (SQLITE_SAVER, [SAVER, SAVER_ALWAYS])):
        path = str(work / f"thread-{system.split()[0].lower()}{'-always' if system == SAVER_ALWAYS else ''}")
        if system == SQLITE_SAVER:
            path += ".sqlite"
        remove(path)
        say(f"    {system}: one thread × {steps:,} steps")
        run_system(rec, wl, system, vs, path, steps, marks, calls)
        remove(path)
