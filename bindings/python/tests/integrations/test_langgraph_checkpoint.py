"""AgentDBSaver on a real AgentDB: LangGraph's conformance suite (async API, and the
sync API through an adapter), a real StateGraph (interrupt, resume across a
reopen, time travel), and the parts of the mapping the suite cannot see."""

from __future__ import annotations

import operator
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest
from langgraph.checkpoint.base import CheckpointTuple, empty_checkpoint
from langgraph.checkpoint.conformance import checkpointer_test, validate
from langgraph.checkpoint.conformance.capabilities import ALL_CAPABILITIES
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt

from agentdb.langgraph import AgentDBSaver
from integration_support import backend, open_db  # noqa: F401 (backend: every test per backend)


def _config(thread: str, ns: str = "", checkpoint_id: str | None = None) -> dict[str, Any]:
    conf: dict[str, Any] = {"thread_id": thread, "checkpoint_ns": ns}
    if checkpoint_id:
        conf["checkpoint_id"] = checkpoint_id
    return {"configurable": conf}


def _checkpoint(values: dict[str, Any] | None = None) -> dict[str, Any]:
    cp = empty_checkpoint()
    cp["channel_values"] = dict(values or {})
    cp["channel_versions"] = {k: 1 for k in cp["channel_values"]}
    return cp


# ------------------------------------------------------------ conformance


class SyncDrivenSaver(AgentDBSaver):
    """Routes the suite's async calls to the sync methods, in the event loop thread."""

    async def aget_tuple(self, config):
        return self.get_tuple(config)

    async def alist(self, config, *, filter=None, before=None, limit=None) -> AsyncIterator[CheckpointTuple]:
        for item in self.list(config, filter=filter, before=before, limit=limit):
            yield item

    async def aput(self, config, checkpoint, metadata, new_versions):
        return self.put(config, checkpoint, metadata, new_versions)

    async def aput_writes(self, config, writes, task_id, task_path=""):
        return self.put_writes(config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id):
        return self.delete_thread(thread_id)

    async def adelete_for_runs(self, run_ids):
        return self.delete_for_runs(run_ids)

    async def acopy_thread(self, source_thread_id, target_thread_id):
        return self.copy_thread(source_thread_id, target_thread_id)

    async def aprune(self, thread_ids, *, strategy="keep_latest"):
        return self.prune(thread_ids, strategy=strategy)


def _registered(name: str, saver_cls: type[AgentDBSaver]):
    async def factory():
        # A fresh database per capability suite, as the suite expects.
        with tempfile.TemporaryDirectory() as tmp:
            db = open_db(Path(tmp) / "db")
            try:
                yield saver_cls(db)
            finally:
                db.close()

    return checkpointer_test(name=name)(factory)


@pytest.mark.parametrize("saver_cls", [AgentDBSaver, SyncDrivenSaver], ids=["async", "sync"])
async def test_conformance_suite(saver_cls: type[AgentDBSaver]) -> None:
    report = await validate(_registered(f"AgentDBSaver[{saver_cls.__name__}]", saver_cls))
    report.print_report()
    assert report.passed_all_base()
    assert report.passed_all()
    assert {name for name, r in report.results.items() if r.detected} == {c.value for c in ALL_CAPABILITIES}
    for name, result in report.results.items():
        assert result.passed is True, (name, result.failures)
        assert result.tests_failed == 0 and result.tests_passed > 0, name


# -------------------------------------------------------------- a real graph


class State(TypedDict):
    log: Annotated[list[str], operator.add]
    approved: str


def _build_graph():
    def draft(state: State) -> dict[str, Any]:
        return {"log": ["draft"]}

    def review(state: State) -> dict[str, Any]:
        answer = interrupt({"question": "approve?", "log": state["log"]})
        return {"log": [f"review:{answer}"], "approved": answer}

    def publish(state: State) -> dict[str, Any]:
        return {"log": ["publish"]}

    builder = StateGraph(State)
    builder.add_node("draft", draft)
    builder.add_node("review", review)
    builder.add_node("publish", publish)
    builder.add_edge(START, "draft")
    builder.add_edge("draft", "review")
    builder.add_edge("review", "publish")
    builder.add_edge("publish", END)
    return builder


def test_graph_interrupt_resume_after_reopen_and_time_travel(tmp_path: Path) -> None:
    config = {"configurable": {"thread_id": "doc-42"}}
    db = open_db(tmp_path / "db")
    graph = _build_graph().compile(checkpointer=AgentDBSaver(db))
    out = graph.invoke({"log": [], "approved": ""}, config)
    assert out["log"] == ["draft"]
    [pending] = out["__interrupt__"]
    assert pending.value == {"question": "approve?", "log": ["draft"]}
    assert graph.get_state(config).next == ("review",)
    db.close()

    # A new process would see the same: resume from the stored checkpoint.
    db = open_db(tmp_path / "db")
    try:
        graph = _build_graph().compile(checkpointer=AgentDBSaver(db))
        assert graph.get_state(config).next == ("review",)
        out = graph.invoke(Command(resume="yes"), config)
        assert out["log"] == ["draft", "review:yes", "publish"]
        assert out["approved"] == "yes"
        assert graph.get_state(config).next == ()

        history = list(graph.get_state_history(config))
        steps = [s.metadata["step"] for s in history]
        assert steps == sorted(steps, reverse=True) and steps[-1] == -1
        ids = [s.config["configurable"]["checkpoint_id"] for s in history]
        assert ids == sorted(ids, reverse=True)

        # Replaying the checkpoint that waits at "review" reuses the pending
        # writes stored against it (the answer "yes"), as with InMemorySaver.
        before_review = next(s for s in history if s.next == ("review",))
        out = graph.invoke(Command(resume="no"), before_review.config)
        assert out["log"] == ["draft", "review:yes", "publish"]

        # Time travel: rerun from the checkpoint before "draft" and answer differently.
        before_draft = next(s for s in history if s.next == ("draft",))
        out = graph.invoke(None, before_draft.config)
        assert out["log"] == ["draft"] and out["__interrupt__"]
        out = graph.invoke(Command(resume="no"), config)
        assert out["log"] == ["draft", "review:no", "publish"]
        assert out["approved"] == "no"
        # The fork is the thread's latest state; the first branch stays in history.
        fork = graph.get_state(config)
        assert fork.values["approved"] == "no" and fork.parent_config is not None
        approvals = [s.values.get("approved") for s in graph.get_state_history(config)]
        assert "yes" in approvals and approvals[0] == "no"
        # The fork's ancestry leads back to the checkpoint we travelled to.
        ancestors = []
        state = fork
        while state.parent_config is not None:
            state = graph.get_state(state.parent_config)
            ancestors.append(state.config["configurable"]["checkpoint_id"])
        assert before_draft.config["configurable"]["checkpoint_id"] in ancestors
    finally:
        db.close()


async def test_graph_async_with_interrupt_before(db) -> None:
    graph = _build_graph().compile(checkpointer=AgentDBSaver(db), interrupt_before=["publish"])
    config = {"configurable": {"thread_id": "async-thread"}}
    await graph.ainvoke({"log": [], "approved": ""}, config)
    out = await graph.ainvoke(Command(resume="ok"), config)
    assert out["log"] == ["draft", "review:ok"]
    assert (await graph.aget_state(config)).next == ("publish",)
    out = await graph.ainvoke(None, config)
    assert out["log"] == ["draft", "review:ok", "publish"]
    states = [s async for s in graph.aget_state_history(config)]
    assert len(states) >= 5


# ----------------------------------------------------------- the mapping


def test_list_without_config_spans_threads_and_namespaces(db) -> None:
    saver = AgentDBSaver(db)
    saved = []
    for thread in ("t1", "t2"):
        for ns in ("", "child:1"):
            cp = _checkpoint({"x": f"{thread}/{ns}"})
            saved.append(saver.put(_config(thread, ns), cp, {"source": "loop", "step": 1, "who": thread}, {"x": 1})["configurable"]["checkpoint_id"])
    listed = list(saver.list(None))
    assert [t.checkpoint["id"] for t in listed] == sorted(saved, reverse=True)
    assert {(t.config["configurable"]["thread_id"], t.config["configurable"]["checkpoint_ns"]) for t in listed} == {
        ("t1", ""), ("t1", "child:1"), ("t2", ""), ("t2", "child:1")
    }
    assert len(list(saver.list(None, filter={"who": "t2"}))) == 2
    assert len(list(saver.list(None, limit=3))) == 3
    # A config without checkpoint_ns lists every namespace of the thread.
    assert len(list(saver.list({"configurable": {"thread_id": "t1"}}))) == 2
    saver.delete_thread("t1")
    assert {t.config["configurable"]["thread_id"] for t in saver.list(None)} == {"t2"}


def test_deleted_checkpoint_can_be_put_again_without_its_old_writes(db) -> None:
    saver = AgentDBSaver(db)
    cp = _checkpoint({"a": 1})
    stored = saver.put(_config("t"), cp, {"source": "loop", "step": 0, "run_id": "r1"}, {"a": 1})
    saver.put_writes(stored, [("a", 2)], "task")
    saver.delete_for_runs(["r1"])
    assert saver.get_tuple(stored) is None
    assert saver.get_tuple(_config("t")) is None
    assert list(saver.list(_config("t"))) == []
    saver.put(_config("t"), cp, {"source": "loop", "step": 0, "run_id": "r2"}, {"a": 1})
    again = saver.get_tuple(_config("t"))
    assert again is not None and again.checkpoint["id"] == cp["id"]
    assert again.metadata["run_id"] == "r2" and again.pending_writes == []


def test_latest_skips_a_deleted_head(db) -> None:
    saver = AgentDBSaver(db)
    first = saver.put(_config("t"), _checkpoint(), {"source": "input", "step": -1, "run_id": "keep"}, {})
    saver.put(first, _checkpoint(), {"source": "loop", "step": 0, "run_id": "drop"}, {})
    saver.delete_for_runs(["drop"])
    latest = saver.get_tuple(_config("t"))
    assert latest is not None and latest.config == first


def test_special_channel_writes_replace_and_regular_ones_do_not(db) -> None:
    saver = AgentDBSaver(db)
    stored = saver.put(_config("t"), _checkpoint(), {"source": "loop", "step": 0}, {})
    saver.put_writes(stored, [("ch", "first"), ("__error__", "e1")], "task", "p")
    saver.put_writes(stored, [("ch", "second"), ("__error__", "e2")], "task", "p")
    saver.put_writes(stored, [("ch", "from-a")], "a-task", "a")
    writes = saver.get_tuple(stored).pending_writes
    # writes_sort_key order: (task_path, task_id, idx); the error keeps idx -1.
    assert writes == [("a-task", "ch", "from-a"), ("task", "__error__", "e2"), ("task", "ch", "first")]


def test_colliding_threads_never_see_each_other(db, monkeypatch: pytest.MonkeyPatch) -> None:
    saver = AgentDBSaver(db)
    # Force every thread onto one agent, as a 63-bit hash collision would.
    monkeypatch.setattr(AgentDBSaver, "_thread_agent", lambda self, thread_id: 4242)
    a = saver.put(_config("a"), _checkpoint({"v": "a"}), {"source": "loop", "step": 0}, {"v": 1})
    b = saver.put(_config("b"), _checkpoint({"v": "b"}), {"source": "loop", "step": 0}, {"v": 1})
    saver.put_writes(b, [("v", "b-write")], "task")
    got_a = saver.get_tuple(_config("a"))
    assert got_a.checkpoint["channel_values"] == {"v": "a"} and got_a.pending_writes == []
    assert saver.get_tuple(_config("b")).checkpoint["channel_values"] == {"v": "b"}
    assert [t.config for t in saver.list(_config("a"))] == [a]
    assert saver.get_tuple(_config("a", checkpoint_id=b["configurable"]["checkpoint_id"])) is None
    with pytest.raises(RuntimeError, match="collision"):
        saver.delete_thread("a")
    assert saver.get_tuple(_config("b")) is not None


def test_list_pages_through_a_thread_and_starts_at_the_cursor(db, monkeypatch: pytest.MonkeyPatch) -> None:
    import agentdb.langgraph.checkpoint as checkpoint_module

    monkeypatch.setattr(checkpoint_module, "PAGE_MIN", 3)
    monkeypatch.setattr(checkpoint_module, "PAGE_MAX", 3)
    saver = AgentDBSaver(db)
    parent = _config("t")
    ids = []
    for step in range(20):
        parent = saver.put(parent, _checkpoint({"s": step}), {"source": "loop", "step": step}, {"s": 1})
        ids.append(parent["configurable"]["checkpoint_id"])
    assert [t.checkpoint["id"] for t in saver.list(_config("t"))] == ids[::-1]
    assert [t.checkpoint["id"] for t in saver.list(_config("t"), before=_config("t", checkpoint_id=ids[10]), limit=4)] == ids[9:5:-1]


def test_key_prefixes_are_independent_spaces(db) -> None:
    one, two = AgentDBSaver(db, key_prefix="one"), AgentDBSaver(db, key_prefix="two")
    one.put(_config("t"), _checkpoint({"x": 1}), {"source": "loop", "step": 0}, {"x": 1})
    assert two.get_tuple(_config("t")) is None
    assert list(two.list(None)) == []
    two.delete_thread("t")
    assert one.get_tuple(_config("t")) is not None


def test_unknown_prune_strategy_is_refused(db) -> None:
    with pytest.raises(ValueError):
        AgentDBSaver(db).prune(["t"], strategy="everything")


def test_writes_to_an_older_checkpoint_keep_the_heads_writes(db) -> None:
    saver = AgentDBSaver(db)
    old = saver.put(_config("t"), _checkpoint(), {"source": "loop", "step": 0}, {})
    saver.put_writes(old, [("ch", "old-1")], "t1")
    head = saver.put(old, _checkpoint(), {"source": "loop", "step": 1}, {})
    assert saver.get_tuple(_config("t")).pending_writes == []
    saver.put_writes(head, [("ch", "head-1")], "t1")
    saver.put_writes(old, [("ch", "old-2")], "t2")  # e.g. replaying from the older one
    latest = saver.get_tuple(_config("t"))
    assert latest.config == head and latest.pending_writes == [("t1", "ch", "head-1")]
    assert saver.get_tuple(old).pending_writes == [("t1", "ch", "old-1"), ("t2", "ch", "old-2")]
    listed = {t.config["configurable"]["checkpoint_id"]: t.pending_writes for t in saver.list(_config("t"))}
    assert listed == {
        head["configurable"]["checkpoint_id"]: [("t1", "ch", "head-1")],
        old["configurable"]["checkpoint_id"]: [("t1", "ch", "old-1"), ("t2", "ch", "old-2")],
    }


def test_concurrent_put_writes_lose_nothing(db) -> None:
    from concurrent.futures import ThreadPoolExecutor

    saver = AgentDBSaver(db)
    stored = saver.put(_config("t"), _checkpoint(), {"source": "loop", "step": 0}, {})
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda i: saver.put_writes(stored, [("ch", i)], f"task-{i:03d}"), range(64)))
    writes = saver.get_tuple(_config("t")).pending_writes
    assert sorted(w[2] for w in writes) == list(range(64))


def test_writes_put_before_their_checkpoint_are_kept(tmp_path: Path) -> None:
    # LangGraph's background puts let a checkpoint's writes arrive before the
    # checkpoint itself; neither the put nor a reopen may lose them.
    db = open_db(tmp_path / "db")
    saver = AgentDBSaver(db)
    first = saver.put(_config("t"), _checkpoint(), {"source": "input", "step": -1}, {})
    ahead = _checkpoint({"x": 1})
    ahead_config = _config("t", checkpoint_id=ahead["id"])
    saver.put_writes(ahead_config, [("x", "early")], "task-a")
    saver.put(first, ahead, {"source": "loop", "step": 0}, {"x": 1})
    saver.put_writes(ahead_config, [("x", "late")], "task-b")
    want = [("task-a", "x", "early"), ("task-b", "x", "late")]
    assert saver.get_tuple(_config("t")).pending_writes == want
    # Putting the same checkpoint again keeps its writes.
    saver.put(first, ahead, {"source": "loop", "step": 0}, {"x": 1})
    assert saver.get_tuple(ahead_config).pending_writes == want
    db.flush()
    db.close()
    db = open_db(tmp_path / "db")
    try:
        saver = AgentDBSaver(db)
        assert saver.get_tuple(_config("t")).pending_writes == want
        assert [t.pending_writes for t in saver.list(_config("t"), limit=1)] == [want]
    finally:
        db.close()


def test_a_long_thread_reads_only_pages(db, monkeypatch: pytest.MonkeyPatch) -> None:
    # Every call on a graph's path is keyed: the engine's whole-history read
    # (`history`) is never used for a thread, however long.
    saver = AgentDBSaver(db)
    calls: list[str] = []
    states_cls = type(db.states)
    real_history = states_cls.history

    def counting_history(self, *args, **kwargs):
        calls.append("history")
        return real_history(self, *args, **kwargs)

    parent = _config("t")
    for step in range(300):
        parent = saver.put(parent, _checkpoint({"s": step}), {"source": "loop", "step": step}, {"s": 1})
        saver.put_writes(parent, [("s", step)], "task")
    db.flush()
    monkeypatch.setattr(states_cls, "history", counting_history)
    assert saver.get_tuple(_config("t")).checkpoint["channel_values"] == {"s": 299}
    page = list(saver.list(_config("t"), limit=10))
    assert [t.checkpoint["channel_values"]["s"] for t in page] == list(range(299, 289, -1))
    old = saver.get_tuple(page[-1].config)
    assert old.pending_writes == [("task", "s", 290)]
    older = list(saver.list(_config("t"), before=page[-1].config, limit=3))
    assert [t.checkpoint["channel_values"]["s"] for t in older] == [289, 288, 287]
    saver.put_writes(older[-1].config, [("s", "again")], "task-2")
    assert saver.get_tuple(older[-1].config).pending_writes == [("task", "s", 287), ("task-2", "s", "again")]
    assert calls == []
