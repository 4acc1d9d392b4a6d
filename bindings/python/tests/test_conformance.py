"""The language-neutral cases of tests/conformance/*.json, run through Python.

An argument a case leaves out is left out of the Python call too, so the
package's own default (the engine's, ``agentdb.defaults()``) applies.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import agentdb

CASES = Path(__file__).resolve().parents[3] / "tests" / "conformance"


def state_value(s: agentdb.AgentState) -> dict:
    return {"agent_id": s.agent_id, "session_id": s.session_id, "version": s.version, "state_type": s.state_type,
            "data": s.data.decode("utf-8", "replace"), "metadata": s.metadata, "key": s.key}  # fmt: skip


def snapshot_value(s: agentdb.Snapshot) -> dict:
    return {"agent_id": s.agent_id, "session_id": s.session_id, "name": s.name, "version": s.version}


def memory_value(m: agentdb.Memory) -> dict:
    return {"memory_id": m.memory_id, "content": m.content, "memory_type": m.memory_type,
            "importance": round(m.importance * 1000) / 1000, "access_count": m.access_count, "pinned": m.pinned,
            "metadata": m.metadata}  # fmt: skip


def given(a: dict, **names: str) -> dict:
    """The keyword arguments a case gives: ``given(a, limit="limit")``; absent ones are left to the defaults."""
    return {kw: a[key] for kw, key in names.items() if key in a}


def document_value(d: agentdb.DocumentInfo) -> dict:
    return {"doc_id": d.doc_id, "title": d.title, "metadata": d.metadata, "chunk_count": d.chunk_count,
            "char_count": d.char_count}  # fmt: skip


def hits_value(hits: list[agentdb.ChunkHit]) -> dict:
    """Ids and positions in order, never scores."""
    return {"count": len(hits), "doc_ids": [h.doc_id for h in hits], "docs": sorted({h.doc_id for h in hits}),
            "chunk_ids": [h.chunk_id for h in hits], "positions": [h.position for h in hits],
            "starts": [h.start_char for h in hits], "ends": [h.end_char for h in hits],
            "contents": [h.content for h in hits]}  # fmt: skip


def item_value(i: agentdb.Item | None) -> dict:
    if i is None:
        return {"found": False}
    return {"found": True, "namespace": list(i.namespace), "key": i.key, "value": i.value, "metadata": i.metadata,
            "ttl_ms": i.ttl_ms}  # fmt: skip


def item_write(w: dict) -> dict:
    """A write of items.json (``{"put": {...}}`` or ``{"delete": {...}}``) as ``db.items.write`` takes it."""
    if "put" in w:
        return {k: v for k, v in w["put"].items() if k in ("namespace", "key", "value", "metadata", "ttl_ms")}
    return {"namespace": w["delete"]["namespace"], "key": w["delete"]["key"], "delete": True}


def run_item_op(db: agentdb.AgentDB, op: str, a: dict) -> dict:
    if op == "put_item":
        return item_value(db.items.put(a.get("namespace", []), a.get("key", ""), a.get("value"),
                                       metadata=a.get("metadata"), ttl_ms=a.get("ttl_ms")))  # fmt: skip
    if op == "write_items":
        r = db.items.write([item_write(w) for w in a.get("writes", [])])
        return {"put": r.put, "deleted": r.deleted}
    if op == "get_item":
        return item_value(db.items.get(a.get("namespace", []), a.get("key", "")))
    if op == "delete_item":
        return {"deleted": db.items.delete(a.get("namespace", []), a.get("key", ""))}
    if op == "search_items":
        page = db.items.search(a.get("prefix", []), filter=a.get("filter"), metadata=a.get("metadata"),
                               **given(a, limit="limit", offset="offset"))  # fmt: skip
        return {"namespaces": [list(i.namespace) for i in page.items], "keys": [i.key for i in page.items],
                "values": [i.value for i in page.items], "total": page.total, "count": len(page.items)}  # fmt: skip
    if op == "list_item_namespaces":
        found = db.items.list_namespaces(a.get("prefix", []), suffix=a.get("suffix", []), max_depth=a.get("max_depth"),
                                         **given(a, limit="limit", offset="offset"))  # fmt: skip
        return {"namespaces": [list(ns) for ns in found]}
    if op == "sweep_expired_items":
        return {"deleted": db.items.sweep_expired()}
    raise AssertionError(f"unknown conformance op {op!r}")


ITEM_OPS = ("put_item", "write_items", "get_item", "delete_item", "search_items", "list_item_namespaces",
            "sweep_expired_items")  # fmt: skip


def memory_id(a: dict, names: dict[str, int]) -> int:
    """A memory named by an earlier step's ``"as"``, or given directly."""
    if "memory" in a:
        return names[a["memory"]]
    return a["memory_id"]


def run_op(db: agentdb.AgentDB, op: str, a: dict, names: dict[str, int]) -> dict:
    if op in ITEM_OPS:
        return run_item_op(db, op, a)
    if op == "save_state":
        v = db.states.save(a["agent_id"], a["session_id"], a.get("data", "").encode(), metadata=a.get("metadata"),
                           **given(a, state_type="state_type", key="key"))  # fmt: skip
        return {"version": v}
    if op == "load_state_by_key":
        return state_value(db.states.load_by_key(a["agent_id"], a["session_id"], a.get("key", "")))
    if op == "state_history_page":
        rows = db.states.history_page(a["agent_id"], a["session_id"], before_version=a.get("before_version"),
                                      **given(a, limit="limit"))  # fmt: skip
        return {"versions": [r.version for r in rows], "data": [r.data.decode() for r in rows],
                "keys": [r.key for r in rows]}  # fmt: skip
    if op == "load_state":
        return state_value(db.states.load(a["agent_id"], a.get("session_id")))
    if op == "load_state_version":
        return state_value(db.states.load_version(a["agent_id"], a["session_id"], a["version"]))
    if op == "query_history":
        rows = db.states.history(a["agent_id"], session_id=a.get("session_id"), from_ms=a.get("from_ms"),
                                 to_ms=a.get("to_ms"), **given(a, limit="limit"))  # fmt: skip
        return {"versions": [r.version for r in rows], "data": [r.data.decode() for r in rows]}
    if op == "create_snapshot":
        return snapshot_value(db.states.create_snapshot(a["agent_id"], a["session_id"], a.get("name", "")))
    if op == "list_snapshots":
        return {"names": [s.name for s in db.states.list_snapshots(a["agent_id"])]}
    if op == "restore_snapshot":
        return state_value(db.states.restore_snapshot(a["agent_id"], a.get("name", "")))
    if op == "delete_agent":
        db.states.delete_agent(a["agent_id"])
        return {}
    if op == "flush":
        db.flush()
        return {}
    if op == "compact":
        db.compact()
        return {}
    if op == "store_memory":
        o = db.memories.store_outcome(a["agent_id"], a.get("content", ""), embedding=a.get("embedding"),
                                      **given(a, memory_type="memory_type", importance="importance"))  # fmt: skip
        return {"stored": True, "memory_id": o.memory_id, "kind": o.kind, "absorbed_count": len(o.absorbed),
                "evicted_count": len(o.evicted)}  # fmt: skip
    if op == "get_memory":
        return memory_value(db.memories.get(memory_id(a, names)))
    if op == "pin_memory":
        db.memories.pin(memory_id(a, names))
        return {}
    if op == "unpin_memory":
        db.memories.unpin(memory_id(a, names))
        return {}
    if op == "forget":
        n = db.memories.forget(a["agent_id"], **given(a, older_than_ms="older_than_ms", min_importance="min_importance",
                                                      decay_half_life_ms="decay_half_life_ms"))  # fmt: skip
        return {"forgotten": n}
    if op == "gc":
        report = db.gc(keep_last=a.get("keep_last"), keep_newer_than_ms=a.get("keep_newer_than_ms"))
        return {"removed": report.state_versions_removed}
    if op == "retrieve_similar":
        hits = db.memories.retrieve(a["agent_id"], vector=a.get("vector", []), memory_types=a.get("memory_types"),
                                    **given(a, limit="limit"))  # fmt: skip
        return {"contents": [h.memory.content for h in hits], "count": len(hits)}
    if op == "create_collection":
        db.vectors.create_collection(a.get("name", ""), a["dimension"], **given(a, metric="metric"))
        return {}
    if op == "insert_vector":
        db.vectors.insert(a.get("collection", ""), a.get("id", ""), a.get("vector", []), a.get("metadata"))
        return {}
    if op == "delete_vector":
        db.vectors.delete(a.get("collection", ""), a.get("id", ""))
        return {}
    if op in ("search_knn", "search_range"):
        c, q, meta = a.get("collection", ""), a.get("vector", []), a.get("metadata")
        if op == "search_knn":
            hits = db.vectors.search(c, q, metadata=meta, **given(a, k="k"))
        else:
            hits = db.vectors.search_range(c, q, a.get("radius", 0.0), metadata=meta, **given(a, max_results="max_results"))
        return {"count": len(hits), "ids": [h.id for h in hits],
                "distances": [round(h.distance * 1000) / 1000 for h in hits]}  # fmt: skip
    if op == "defaults":
        return agentdb.defaults()
    if op == "index_document":
        return document_value(db.rag.index_document(a.get("doc_id", ""), a.get("text", ""), title=a.get("title", ""),
                                                    metadata=a.get("metadata")))  # fmt: skip
    if op == "get_document":
        return document_value(db.rag.get_document(a.get("doc_id", "")))
    if op == "delete_document":
        db.rag.delete_document(a.get("doc_id", ""))
        return {}
    if op in ("semantic_search", "full_text_search", "hybrid_search"):
        search = getattr(db.rag, op)
        extra = given(a, limit="limit", fusion="fusion", alpha="alpha") if op == "hybrid_search" else given(a, limit="limit")
        return hits_value(search(a.get("query", ""), doc_ids=a.get("doc_ids"), metadata=a.get("metadata"), **extra))
    raise AssertionError(f"unknown conformance op {op!r}")


def case_files() -> list[Path]:
    return sorted(CASES.glob("*.json"))


def test_the_cases_are_found():
    assert len(case_files()) >= 4, CASES


@pytest.mark.parametrize("path", case_files(), ids=lambda p: p.stem)
def test_conformance_case(path, tmp_path):
    case = json.loads(path.read_text())
    options = {"flush_interval_ms": 3_600_000, "maintenance_interval_ms": None}
    known = ("max_payload_bytes", "memory_dimension", "chunk_chars", "chunk_overlap")
    options.update({k: v for k, v in case.get("options", {}).items() if k in known})
    db = agentdb.connect(tmp_path, **options)
    names: dict[str, int] = {}
    try:
        for i, step in enumerate(case["steps"]):
            op, ctx = step["op"], f"{path.name} step {i} ({step['op']})"
            if op == "reopen":
                db.close()
                db = agentdb.connect(tmp_path, **options)
                continue
            want_error = step.get("expect_error")
            try:
                got = run_op(db, op, step.get("args", {}), names)
            except agentdb.AgentDBError as e:
                assert want_error == e.code, f"{ctx}: unexpected {e.code}: {e}"
                continue
            assert want_error is None, f"{ctx}: expected error {want_error}, got {got}"
            for key, want in step.get("expect", {}).items():
                if key == "same_as":
                    assert got.get("memory_id") == names.get(want), f"{ctx}: same memory as {want}"
                else:
                    assert got.get(key) == want, f"{ctx}: field {key} of {got}"
            if "as" in step:
                names[step["as"]] = got["memory_id"]
    finally:
        db.close()
