"""The names of bindings/python/API.md exist, and the stubs match the native module."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import agentdb
from agentdb import _aio, _native

PKG = Path(agentdb.__file__).parent

API = {
    "states": ["save", "load", "load_version", "load_by_key", "history", "history_page", "history_arrow",
               "create_snapshot", "list_snapshots", "restore_snapshot", "delete_agent"],
    "memories": ["store", "store_many", "get", "update_importance", "delete", "retrieve", "retrieve_arrow", "forget",
                 "list", "store_outcome", "store_many_outcome", "pin", "unpin", "consolidate"],
    "rag": ["index_document", "get_document", "delete_document", "semantic_search", "full_text_search",
            "hybrid_search", "semantic_search_arrow", "full_text_search_arrow", "hybrid_search_arrow"],
    "vectors": ["create_collection", "list_collections", "insert", "insert_many", "get", "delete", "count", "search",
                "search_range", "search_arrow", "create_index"],
    "items": ["put", "write", "get", "get_many", "delete", "search", "list_namespaces", "sweep_expired"],
}  # fmt: skip

ATTRIBUTES = {
    "AgentState": ["agent_id", "session_id", "version", "timestamp_ms", "state_type", "data", "metadata", "checksum",
                   "key"],
    "Snapshot": ["agent_id", "session_id", "name", "version", "created_at_ms"],
    "Memory": ["memory_id", "agent_id", "memory_type", "content", "embedding", "importance", "access_count",
               "last_access_ms", "created_at_ms", "expires_at_ms", "metadata", "pinned", "absorbed_ids"],
    "ScoredMemory": ["memory", "score", "relevance", "recency"],
    "DocumentInfo": ["doc_id", "title", "metadata", "chunk_count", "char_count", "indexed_at_ms"],
    "ChunkHit": ["chunk_id", "doc_id", "position", "start_char", "end_char", "content", "score"],
    "CollectionInfo": ["name", "dimension", "metric"],
    "VectorRecord": ["id", "vector", "metadata"],
    "VectorHit": ["id", "distance", "metadata", "vector"],
    "StoreOutcome": ["memory_id", "kind", "absorbed", "evicted"],
    "MergeGroup": ["memory_type", "kept", "absorbed"],
    "ConsolidationReport": ["agent_id", "examined", "groups", "remaining"],
    "GcReport": ["state_versions_removed", "maintenance"],
    "Item": ["namespace", "key", "value", "metadata", "created_at_ms", "updated_at_ms", "expires_at_ms", "ttl_ms"],
    "ItemPage": ["items", "total"],
    "ItemWriteReport": ["put", "deleted"],
}  # fmt: skip


def test_keyed_state_signatures():
    """The signatures the LangGraph checkpointer codes against (API.md, keyed state versions)."""
    kw, pos = inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD

    def shape(fn):
        return [(n, p.kind, p.default) for n, p in inspect.signature(fn).parameters.items() if n != "self"]

    empty = inspect.Parameter.empty
    assert shape(agentdb.States.save)[-1] == ("key", kw, None)
    assert shape(agentdb.States.load_by_key) == [("agent_id", pos, empty), ("session_id", pos, empty), ("key", pos, empty)]
    assert shape(agentdb.States.history_page) == [
        ("agent_id", pos, empty), ("session_id", pos, empty), ("before_version", kw, None),
        ("limit", kw, agentdb.defaults()["history_limit"]),
    ]  # fmt: skip
    for name in ("save", "load_by_key", "history_page"):
        method = getattr(_aio.AsyncStates, name)
        assert inspect.iscoroutinefunction(method) and shape(method) == shape(getattr(agentdb.States, name)), name


def test_api_md_names_exist(db):
    for ns, methods in API.items():
        for m in methods:
            assert callable(getattr(getattr(db, ns), m)), f"db.{ns}.{m}"
    for name in ["close", "flush", "compact", "gc", "stats", "embed", "__enter__", "__exit__"]:
        assert callable(getattr(db, name)), name
    assert isinstance(db.closed, bool) and isinstance(db.path, str)
    for name in ["connect", "connect_async", "AgentDB", "AsyncAgentDB"]:
        assert hasattr(agentdb, name), name


def test_result_classes_have_the_listed_attributes():
    for cls_name, attrs in ATTRIBUTES.items():
        cls = getattr(agentdb, cls_name)
        for a in attrs:
            assert isinstance(inspect.getattr_static(cls, a), type(inspect.getattr_static(_native.AgentState, "version"))), (cls_name, a)


def test_connect_defaults_match_api_md():
    p = inspect.signature(agentdb.connect).parameters
    want = {"read_only": False, "fsync": "batch", "fsync_batch_ms": 10, "flush_interval_ms": 2000,
            "memory_dimension": 384, "model_dir": None, "maintenance_interval_ms": 60000,
            "max_payload_bytes": 16 << 20, "ann_index_threshold": 20000, "chunk_chars": 512, "chunk_overlap": 50,
            "memory_merge_threshold": 0.88, "memory_merge_policy": "keep_newest", "max_memories_per_agent_type": None,
            "state_keep_last": None, "state_keep_newer_than_ms": None}  # fmt: skip
    assert {k: p[k].default for k in want} == want
    assert inspect.signature(agentdb.connect_async).parameters.keys() == p.keys()
    assert {k: v.default for k, v in inspect.signature(agentdb.connect_async).parameters.items()} == {
        k: v.default for k, v in p.items()
    }


def test_gc_defaults_match_api_md():
    p = inspect.signature(agentdb.AgentDB.gc).parameters
    assert {k: (v.kind, v.default) for k, v in p.items() if k != "self"} == {
        "keep_last": (inspect.Parameter.KEYWORD_ONLY, None),
        "keep_newer_than_ms": (inspect.Parameter.KEYWORD_ONLY, None),
    }
    assert inspect.signature(agentdb.AsyncAgentDB.gc).parameters.keys() == p.keys()
    assert inspect.iscoroutinefunction(agentdb.AsyncAgentDB.gc)


def test_the_defaults_are_the_engines():
    """Every default of the package is the engine's (agentdb.defaults(), read by every surface)."""
    d = agentdb.defaults()
    assert d == _native.defaults() and d is not _native.defaults()
    o = d["options"]
    assert o["memory_merge_threshold"] == 0.88 and o["memory_dimension"] == 384
    connect = {k: p.default for k, p in inspect.signature(agentdb.connect).parameters.items() if k not in ("path", "model_dir", "api_key")}
    assert connect == {k: o[k] for k in connect}
    want = {
        (agentdb.States.save, "state_type"): d["state_type"],
        (agentdb.States.history, "limit"): d["history_limit"],
        (agentdb.States.history_arrow, "limit"): d["history_limit"],
        (agentdb.States.history_page, "limit"): d["history_limit"],
        (agentdb.Memories.store, "memory_type"): d["memory_type"],
        (agentdb.Memories.store, "importance"): d["importance"],
        (agentdb.Memories.store_outcome, "memory_type"): d["memory_type"],
        (agentdb.Memories.store_outcome, "importance"): d["importance"],
        (agentdb.Memories.forget, "older_than_ms"): d["forget"]["older_than_ms"],
        (agentdb.Memories.forget, "min_importance"): d["forget"]["min_importance"],
        (agentdb.Memories.forget, "decay_half_life_ms"): d["forget"]["decay_half_life_ms"],
        (agentdb.Rag.hybrid_search, "alpha"): d["hybrid_alpha"],
        (agentdb.Rag.hybrid_search, "fusion"): d["hybrid_fusion"],
        (agentdb.Rag.hybrid_search_arrow, "alpha"): d["hybrid_alpha"],
        (agentdb.Rag.hybrid_search_arrow, "fusion"): d["hybrid_fusion"],
        (agentdb.Vectors.create_collection, "metric"): d["metric"],
        (agentdb.Vectors.search, "k"): d["knn_k"],
        (agentdb.Vectors.search_arrow, "k"): d["knn_k"],
        (agentdb.Vectors.search_range, "max_results"): d["range_max_results"],
        (agentdb.Items.search, "limit"): d["item_search_limit"],
        (agentdb.Items.list_namespaces, "limit"): d["namespace_list_limit"],
    }
    for retrieve in (agentdb.Memories.retrieve, agentdb.Memories.retrieve_arrow):
        want[(retrieve, "limit")] = d["retrieve_limit"]
        for k in ("relevance_weight", "importance_weight", "recency_weight", "recency_half_life_ms", "record_access"):
            want[(retrieve, k)] = d["retrieve"][k]
    for search in ("semantic_search", "semantic_search_arrow", "full_text_search", "full_text_search_arrow",
                   "hybrid_search", "hybrid_search_arrow"):  # fmt: skip
        want[(getattr(agentdb.Rag, search), "limit")] = d["search_limit"]
    for (method, arg), value in want.items():
        assert inspect.signature(method).parameters[arg].default == value, (method.__qualname__, arg)


def test_the_async_stub_states_the_runtime_defaults():
    """_aio.pyi spells its defaults out; they are the sync methods' (the engine's) values."""
    tree = ast.parse((PKG / "_aio.pyi").read_text())
    checked = 0
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if node.name == "connect_async":
            runtime = inspect.signature(agentdb.connect)
        else:
            owner = next((c for c in tree.body if isinstance(c, ast.ClassDef) and node in c.body), None)
            sync = getattr(agentdb, owner.name.removeprefix("Async"), None) if owner else None
            if not callable(getattr(sync, node.name, None)):
                continue
            runtime = inspect.signature(getattr(sync, node.name))
        args = node.args.posonlyargs + node.args.args
        positional = list(zip(args[len(args) - len(node.args.defaults) :], node.args.defaults))
        keyword = [(a, d) for a, d in zip(node.args.kwonlyargs, node.args.kw_defaults) if d is not None]
        for arg, default in positional + keyword:
            assert ast.literal_eval(default) == runtime.parameters[arg.arg].default, (node.name, arg.arg)
            checked += 1
    assert checked > 40


def test_api_md_lists_every_public_name():
    text = (PKG.parent / "API.md").read_text()
    for ns, methods in API.items():
        for m in methods:
            assert re.search(rf"\b{m}\b", text), f"db.{ns}.{m} is not in API.md"
    for cls_name, attrs in ATTRIBUTES.items():
        assert f"{cls_name}:" in text, f"{cls_name} is not in API.md"
        for a in attrs:
            assert a in text, f"{cls_name}.{a} is not in API.md"
    for option in inspect.signature(agentdb.connect).parameters:
        assert f"{option}=" in text or option == "path", f"connect({option}=) is not in API.md"


def stub_classes(path: Path) -> dict[str, set[str]]:
    tree = ast.parse(path.read_text())
    out = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            out[node.name] = {n.name for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    return out


def public_members(cls: type) -> set[str]:
    return {n for n in dir(cls) if not n.startswith("_") or n in ("__arrow_c_stream__", "__len__")}


def test_native_stub_declares_exactly_the_native_classes_and_members():
    stubs = stub_classes(PKG / "_native.pyi")
    native_classes = {n for n, v in vars(_native).items() if isinstance(v, type)}
    assert set(stubs) == native_classes
    for name, members in stubs.items():
        assert {m for m in members if not m.startswith("_") or m in ("__arrow_c_stream__", "__len__")} == public_members(getattr(_native, name)), name


def test_async_stub_matches_the_runtime_namespaces():
    stubs = stub_classes(PKG / "_aio.pyi")
    for sync_cls in (agentdb.States, agentdb.Memories, agentdb.Rag, agentdb.Vectors, agentdb.Items):
        public = {n for n, f in vars(sync_cls).items() if callable(f) and not n.startswith("_")}
        assert stubs[f"Async{sync_cls.__name__}"] == public, sync_cls.__name__
    assert "connect_async" in (PKG / "_aio.pyi").read_text()
