"""AgentDBSaver at scale, side by side with SqliteSaver on the same script:
a 10,000-step graph on one thread through the real StateGraph, with
interrupts, a reopen mid-run, time travel (history pages, an old checkpoint,
``update_state`` on an old checkpoint and the fork run from it). Functional,
not timed: every observable result must equal SqliteSaver's."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypedDict

from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt

from agentdb.langgraph import AgentDBSaver
from integration_support import open_db

TOTAL_STEPS = 10_000
RECURSION = 3 * TOTAL_STEPS


class Loop(TypedDict):
    n: int
    target: int
    answers: str


def _step(state: Loop) -> dict[str, Any]:
    return {"n": state["n"] + 1}


def _gate(state: Loop) -> dict[str, Any]:
    # Every stop asks a question; the answer is part of the state.
    answer = interrupt({"n": state["n"]})
    return {"answers": state["answers"] + f"{state['n']}={answer};"}


def _route(state: Loop) -> str:
    return "gate" if state["n"] >= state["target"] else "step"


def _graph(checkpointer: Any) -> Any:
    builder = StateGraph(Loop)
    builder.add_node("step", _step)
    builder.add_node("gate", _gate)
    builder.add_edge(START, "step")
    builder.add_conditional_edges("step", _route, ["step", "gate"])
    builder.add_edge("gate", END)
    return builder.compile(checkpointer=checkpointer)


def _snapshot(state: Any) -> tuple[Any, ...]:
    """What a user sees of a state, without the (random) checkpoint ids."""
    return (
        dict(state.values),
        tuple(state.next),
        state.metadata.get("step"),
        state.metadata.get("source"),
        tuple(sorted(t.name for t in state.tasks)),
        tuple(i.value.get("n") if isinstance(i.value, dict) else i.value for i in state.interrupts),
    )


def _script(open_saver: Callable[[], Any], reopen: Callable[[], None]) -> list[Any]:
    """The same calls against either saver; returns everything observed."""
    seen: list[Any] = []
    config = {"configurable": {"thread_id": "long-thread"}, "recursion_limit": RECURSION}
    graph = _graph(open_saver())
    # 1. Run 4,000 steps to the first interrupt, answer it.
    out = graph.invoke({"n": 0, "target": 4_000, "answers": ""}, config)
    seen.append(("first stop", out["n"], [i.value for i in out["__interrupt__"]]))
    seen.append(("state", _snapshot(graph.get_state(config))))
    out = graph.invoke(Command(resume="yes"), config)
    seen.append(("answered", out))

    # 2. A reopen mid-thread: a new process would see the same.
    reopen()
    graph = _graph(open_saver())
    seen.append(("after reopen", _snapshot(graph.get_state(config))))
    out = graph.invoke({"target": 8_000}, config)
    seen.append(("second stop", out["n"]))
    out = graph.invoke(Command(resume="again"), config)
    seen.append(("answered", out))

    # 3. Time travel: pages of history, an old checkpoint, a fork from it.
    recent = list(graph.get_state_history(config, limit=10))
    seen.append(("recent", [_snapshot(s) for s in recent]))
    older = list(graph.get_state_history(config, before=recent[-1].config, limit=5))
    seen.append(("older", [_snapshot(s) for s in older]))
    old = next(s for s in graph.get_state_history(config) if s.values["n"] == 1_234 and s.next == ("step",))
    seen.append(("old", _snapshot(graph.get_state(old.config))))
    forked = graph.update_state(old.config, {"answers": "forked;", "target": 1_234 + 2_000})
    out = graph.invoke(None, forked)
    seen.append(("fork stop", out["n"], out["answers"]))
    out = graph.invoke(Command(resume="fork"), config)
    seen.append(("fork answered", out))
    seen.append(("latest", _snapshot(graph.get_state(config))))

    # 4. The whole history, newest first: ~10,000 checkpoints.
    history = [_snapshot(s) for s in graph.get_state_history(config)]
    seen.append(("history length", len(history)))
    seen.append(("history", history))
    return seen


def _run(saver_factory: Callable[[], Any], reopen: Callable[[], None]) -> list[Any]:
    return _script(saver_factory, reopen)


@contextmanager
def _agentdb(tmp_path: Path) -> Iterator[tuple[Callable[[], Any], Callable[[], None]]]:
    handles: list[Any] = [open_db(tmp_path / "agentdb")]

    def saver() -> Any:
        return AgentDBSaver(handles[-1])

    def reopen() -> None:
        handles[-1].close()
        handles.append(open_db(tmp_path / "agentdb"))

    try:
        yield saver, reopen
    finally:
        handles[-1].close()


@contextmanager
def _sqlite(tmp_path: Path) -> Iterator[tuple[Callable[[], Any], Callable[[], None]]]:
    conns = [sqlite3.connect(tmp_path / "sqlite.db", check_same_thread=False)]

    def saver() -> Any:
        return SqliteSaver(conns[-1])

    def reopen() -> None:
        conns[-1].close()
        conns.append(sqlite3.connect(tmp_path / "sqlite.db", check_same_thread=False))

    try:
        yield saver, reopen
    finally:
        conns[-1].close()


def test_ten_thousand_steps_on_one_thread_match_sqlite(tmp_path: Path) -> None:
    with _sqlite(tmp_path) as (saver, reopen):
        expected = _run(saver, reopen)
    with _agentdb(tmp_path) as (saver, reopen):
        got = _run(saver, reopen)
    length = dict(x for x in expected if x[0] == "history length")["history length"]
    assert length > TOTAL_STEPS
    for want, have in zip(expected, got):
        assert have == want, f"{want[0]} differs"
    assert len(got) == len(expected)
