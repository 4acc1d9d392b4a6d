"""The names of bindings/python/API.md exist, and the stubs match the native module."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import agentdb
from agentdb import _native

PKG = Path(agentdb.__file__).parent

API = {
    "states": ["save", "load", "load_version", "history", "history_arrow", "create_snapshot", "list_snapshots",
               "restore_snapshot", "delete_agent"],
    "memories": ["store", "store_many", "get", "update_importance", "delete", "retrieve", "retrieve_arrow", "forget",
                 "list"],
    "rag": ["index_document", "get_document", "delete_document", "semantic_search", "full_text_search",
            "hybrid_search", "semantic_search_arrow", "full_text_search_arrow", "hybrid_search_arrow"],
    "vectors": ["create_collection", "list_collections", "insert", "insert_many", "get", "delete", "count", "search",
                "search_range", "search_arrow", "create_index"],
}  # fmt: skip

ATTRIBUTES = {
    "AgentState": ["agent_id", "session_id", "version", "timestamp_ms", "state_type", "data", "metadata", "checksum"],
    "Snapshot": ["agent_id", "session_id", "name", "version", "created_at_ms"],
    "Memory": ["memory_id", "agent_id", "memory_type", "content", "embedding", "importance", "access_count",
               "last_access_ms", "created_at_ms", "expires_at_ms", "metadata"],
    "ScoredMemory": ["memory", "score", "relevance", "recency"],
    "DocumentInfo": ["doc_id", "title", "metadata", "chunk_count", "char_count", "indexed_at_ms"],
    "ChunkHit": ["chunk_id", "doc_id", "position", "start_char", "end_char", "content", "score"],
    "CollectionInfo": ["name", "dimension", "metric"],
    "VectorRecord": ["id", "vector", "metadata"],
    "VectorHit": ["id", "distance", "metadata", "vector"],
}  # fmt: skip


def test_api_md_names_exist(db):
    for ns, methods in API.items():
        for m in methods:
            assert callable(getattr(getattr(db, ns), m)), f"db.{ns}.{m}"
    for name in ["close", "flush", "compact", "stats", "embed", "__enter__", "__exit__"]:
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
            "max_payload_bytes": 16 << 20, "ann_index_threshold": 20000, "chunk_chars": 512, "chunk_overlap": 50}  # fmt: skip
    assert {k: p[k].default for k in want} == want
    assert inspect.signature(agentdb.connect_async).parameters.keys() == p.keys()


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
    for sync_cls in (agentdb.States, agentdb.Memories, agentdb.Rag, agentdb.Vectors):
        public = {n for n, f in vars(sync_cls).items() if callable(f) and not n.startswith("_")}
        assert stubs[f"Async{sync_cls.__name__}"] == public, sync_cls.__name__
    assert "connect_async" in (PKG / "_aio.pyi").read_text()
