"""The remote client (agentdb.connect("http://…")) against the real server binary.

The server runs on an ephemeral loopback port with a temp data dir and a key
per role (server_support.py); every call is real HTTP. The client must be the
embedded API: the same signatures (compared here, so they cannot drift), the
same result classes with the same values, and the same exception classes.
"""

from __future__ import annotations

import inspect

import numpy
import pytest

import agentdb
from agentdb import _db, _remote
from server_support import Server

DIM = 3

PAIRS = [
    (_db.AgentDB, _remote.RemoteAgentDB),
    (_db.States, _remote.RemoteStates),
    (_db.Memories, _remote.RemoteMemories),
    (_db.Rag, _remote.RemoteRag),
    (_db.Vectors, _remote.RemoteVectors),
    (_db.Items, _remote.RemoteItems),
]


def _public(cls: type) -> dict[str, object]:
    return {n: v for n, v in vars(cls).items() if not n.startswith("_") or n in ("__enter__", "__exit__")}


def _shape(fn) -> tuple:
    sig = inspect.signature(fn)
    params = [(p.name, p.kind, p.default, str(p.annotation)) for p in sig.parameters.values()]
    return params, str(sig.return_annotation)


@pytest.mark.parametrize(("embedded", "remote"), PAIRS, ids=[e.__name__ for e, _ in PAIRS])
def test_remote_signatures_are_the_embedded_ones(embedded: type, remote: type) -> None:
    """One protocol: every public method and property, with the same parameters (names,
    kinds, defaults, annotations) and return annotation; nothing more, nothing less."""
    ours, theirs = _public(embedded), _public(remote)
    assert ours.keys() == theirs.keys()
    for name, member in ours.items():
        if isinstance(member, property):
            assert isinstance(theirs[name], property), name
            continue
        if not callable(member):
            continue
        want, got = _shape(member), _shape(theirs[name])
        if embedded is _db.AgentDB and name == "__enter__":
            # Each returns its own class.
            want, got = want[0], got[0]
        assert got == want, f"{remote.__name__}.{name}"


def test_connect_signature_takes_api_key_and_the_async_twin_matches() -> None:
    p = inspect.signature(agentdb.connect).parameters
    assert p["api_key"].kind is inspect.Parameter.KEYWORD_ONLY and p["api_key"].default is None
    assert inspect.signature(agentdb.connect_async).parameters.keys() == p.keys()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("remote") / "db", memory_dimension=DIM)
    yield s
    s.stop()


@pytest.fixture
def remote(server):
    db = server.connect("admin")
    yield db
    db.close()


def test_connect_url_gives_the_remote_client(server) -> None:
    with agentdb.connect(server.url, api_key="test-admin-key") as db:
        assert isinstance(db, agentdb.RemoteAgentDB)
        assert db.path == server.url and not db.closed
        assert "RemoteAgentDB" in repr(db)
    assert db.closed
    with pytest.raises(agentdb.ClosedError):
        db.states.load(1)


def test_local_options_and_api_key_are_refused_where_they_do_not_apply(server, tmp_path) -> None:
    with pytest.raises(TypeError, match="memory_dimension"):
        agentdb.connect(server.url, memory_dimension=8)
    with pytest.raises(TypeError, match="api_key"):
        agentdb.connect(tmp_path / "db", api_key="k")


def test_states_round_trip_with_the_native_classes(remote, db) -> None:
    agent = 101
    for handle in (remote, db):
        assert handle.states.save(agent, 1, b'{"step": 1}', metadata={"m": "1"}) == 1
        assert handle.states.save(agent, 1, b"\xff\x00 binary", state_type="task_state", key="ck-1") == 2
        handle.states.create_snapshot(agent, 1, "first")
    got, want = remote.states.load(agent, 1), db.states.load(agent, 1)
    assert type(got) is agentdb.AgentState
    assert (got.data, got.state_type, got.key, got.checksum, got.version) == (
        want.data, want.state_type, want.key, want.checksum, want.version,
    )  # fmt: skip
    assert remote.states.load_by_key(agent, 1, "ck-1").data == b"\xff\x00 binary"
    assert remote.states.load_version(agent, 1, 1).metadata == {"m": "1"}
    assert [s.version for s in remote.states.history_page(agent, 1, limit=1)] == [2]
    assert [s.version for s in remote.states.history(agent)] == [2, 1]
    snaps = remote.states.list_snapshots(agent)
    assert type(snaps[0]) is agentdb.Snapshot and [s.name for s in snaps] == ["first"]
    restored = remote.states.restore_snapshot(agent, "first")
    assert restored.version == 3 and restored.data == b"\xff\x00 binary"
    table = remote.states.history_arrow(agent)
    assert table.schema == db.states.history_arrow(agent).schema and table.num_rows == 3
    remote.states.delete_agent(agent)
    with pytest.raises(agentdb.NotFoundError):
        remote.states.load(agent)


def test_memories_vectors_documents_items(remote, db) -> None:
    agent = 102
    for handle in (remote, db):
        handle.memories.store(agent, "likes tea", embedding=[1.0, 0.0, 0.0], metadata={"k": "v"})
        maps = numpy.array([0, 1, 0], dtype=numpy.float32)
        handle.memories.store_many([{"agent_id": agent, "content": "likes maps", "embedding": maps}])
    got = remote.memories.retrieve(agent, vector=[1.0, 0.1, 0.0], limit=2, record_access=False)
    want = db.memories.retrieve(agent, vector=[1.0, 0.1, 0.0], limit=2, record_access=False)
    assert type(got[0]) is agentdb.ScoredMemory and type(got[0].memory) is agentdb.Memory
    assert [(h.memory.content, h.memory.embedding, h.memory.metadata) for h in got] == [
        (h.memory.content, h.memory.embedding, h.memory.metadata) for h in want
    ]
    assert remote.memories.retrieve_arrow(agent, vector=[1.0, 0.0, 0.0]).schema == db.memories.retrieve_arrow(
        agent, vector=[1.0, 0.0, 0.0]
    ).schema
    first = got[0].memory.memory_id
    remote.memories.update_importance(first, 0.9)
    remote.memories.pin(first)
    m = remote.memories.get(first)
    assert m.importance == pytest.approx(0.9) and m.pinned
    remote.memories.unpin(first)
    assert len(remote.memories.list(agent)) == 2
    assert remote.memories.forget(agent) == db.memories.forget(agent)
    assert type(remote.memories.consolidate(agent)) is agentdb.ConsolidationReport
    remote.memories.delete(first)
    with pytest.raises(agentdb.NotFoundError):
        remote.memories.get(first)

    for handle in (remote, db):
        handle.vectors.create_collection("docs", DIM, "cosine")
        handle.vectors.insert_many("docs", ["a", "b"], numpy.eye(2, DIM, dtype=numpy.float32), [{"t": "x"}, None])
        handle.vectors.insert("docs", "c", [0.0, 0.0, 1.0])
    assert remote.vectors.list_collections() == db.vectors.list_collections()
    assert remote.vectors.search("docs", [1.0, 0.2, 0.0], 2) == db.vectors.search("docs", [1.0, 0.2, 0.0], 2)
    assert remote.vectors.search_range("docs", [1.0, 0.0, 0.0], 0.5) == db.vectors.search_range(
        "docs", [1.0, 0.0, 0.0], 0.5
    )
    assert remote.vectors.get("docs", "a") == db.vectors.get("docs", "a")
    assert remote.vectors.count("docs") == 3
    assert remote.vectors.search_arrow("docs", [1, 0, 0]).equals(db.vectors.search_arrow("docs", [1, 0, 0]))
    remote.vectors.delete("docs", "c")
    with pytest.raises(agentdb.NotFoundError):
        remote.vectors.get("docs", "c")
    with pytest.raises(agentdb.DimensionMismatchError):
        remote.vectors.insert("docs", "d", [1.0, 2.0])
    with pytest.raises(agentdb.AlreadyExistsError):
        remote.vectors.create_collection("docs", DIM)

    text = "Tea is a drink. Maps show places. " * 3
    info = remote.rag.index_document("d/1 x", text, title="t", chunk_vectors=[[1.0, 0.0, 0.0]])
    assert type(info) is agentdb.DocumentInfo and remote.rag.get_document("d/1 x") == info
    hits = remote.rag.full_text_search("tea")
    assert type(hits[0]) is agentdb.ChunkHit and hits[0].doc_id == "d/1 x"
    assert remote.rag.semantic_search(vector=[1.0, 0.0, 0.0])[0].doc_id == "d/1 x"
    assert remote.rag.hybrid_search("maps", vector=[1.0, 0.0, 0.0], fusion="rrf")[0].doc_id == "d/1 x"
    assert remote.rag.full_text_search_arrow("tea").num_rows == len(hits)
    remote.rag.delete_document("d/1 x")
    with pytest.raises(agentdb.NotFoundError):
        remote.rag.get_document("d/1 x")

    ns = ("users", "u/1")
    item = remote.items.put(ns, "k", {"a": [1, 2.5, None, True]}, metadata={"m": "x"}, ttl_ms=60_000)
    assert type(item) is agentdb.Item and item.namespace == ns and item.value == {"a": [1, 2.5, None, True]}
    assert remote.items.get(ns, "k") == item
    assert remote.items.get(ns, "absent") is None
    report = remote.items.write([
        {"namespace": ns, "key": "k2", "value": {"n": 2}},
        {"namespace": ns, "key": "k", "delete": True},
    ])  # fmt: skip
    assert (report.put, report.deleted) == (1, 1)
    page = remote.items.search(("users",), filter={"n": {"$gte": 2}}, limit=5)
    assert type(page) is agentdb.ItemPage and page.total == 1 and page.items[0].key == "k2"
    assert remote.items.get_many([(ns, "k2"), (ns, "k")])[1] is None
    assert remote.items.list_namespaces(prefix=("users",)) == [ns]
    assert remote.items.delete(ns, "k2") is True and remote.items.delete(ns, "k2") is False
    assert remote.items.sweep_expired() == 0
    with pytest.raises(TypeError):
        remote.items.get("users", "k")  # a str is not a namespace, as embedded


def test_admin_calls(remote) -> None:
    assert isinstance(remote.stats(), dict)
    assert isinstance(remote.flush(), dict)
    assert isinstance(remote.compact(), dict)
    report = remote.gc(keep_last=1)
    assert type(report) is agentdb.GcReport and isinstance(report.maintenance, dict)


def test_errors_are_the_embedded_classes(server, remote) -> None:
    with pytest.raises(agentdb.NotFoundError) as e:
        remote.states.load(999_999)
    assert e.value.code == "not_found" and isinstance(e.value, LookupError)
    with pytest.raises(agentdb.InvalidArgumentError):
        remote.states.create_snapshot(1, 1, "bad name with spaces")
    with pytest.raises(agentdb.InvalidArgumentError):
        remote.memories.retrieve(1, "text", vector=[1.0, 0.0, 0.0])  # not both
    with pytest.raises(agentdb.InvalidArgumentError):
        remote.items.put(("a",), "k", float("nan"))
    with pytest.raises(agentdb.InvalidArgumentError):
        remote.rag.hybrid_search("q", fusion="nope")  # type: ignore[arg-type]


def test_bad_or_missing_key_is_unauthenticated(server) -> None:
    for client in (agentdb.connect(server.url, api_key="wrong"), agentdb.connect(server.url)):
        with client, pytest.raises(agentdb.UnauthenticatedError) as e:
            client.states.load(1)
        assert e.value.code == "unauthenticated" and isinstance(e.value, PermissionError)


def test_read_only_and_scoped_keys_are_refused(server, remote) -> None:
    remote.states.save(7, 1, b"x")
    with server.connect("reader") as reader:
        assert reader.states.load(7).data == b"x"  # reads work
        with pytest.raises(agentdb.ForbiddenError) as e:
            reader.states.save(7, 1, b"y")
        assert e.value.code == "forbidden"
        with pytest.raises(agentdb.ForbiddenError):
            reader.stats()  # admin only
    with server.connect("tenant") as tenant:
        assert tenant.states.save(42, 1, b"mine") == 1
        with pytest.raises(agentdb.ForbiddenError):
            tenant.states.load(7)
        with pytest.raises(agentdb.ForbiddenError):
            tenant.items.put(("other",), "k", 1)
        tenant.items.put(("tenant_a", "x"), "k", 1)
    assert remote.states.load(7).data == b"x"


def test_async_wraps_the_remote_client(server) -> None:
    import asyncio

    async def main() -> bytes:
        async with await agentdb.connect_async(server.url, api_key="test-admin-key") as adb:
            await adb.states.save(55, 1, b"async")
            return (await adb.states.load(55)).data

    assert asyncio.run(main()) == b"async"


def test_threads_share_one_client(remote) -> None:
    from concurrent.futures import ThreadPoolExecutor

    for _ in range(5):
        remote.states.list_snapshots(77)
    assert len(remote._http._open) == 1  # one keep-alive connection for this thread
    with ThreadPoolExecutor(4) as pool:
        versions = list(pool.map(lambda i: remote.states.save(77, i % 4, b"t"), range(40)))
    assert sorted(versions) == sorted([v for s in range(4) for v in range(1, 11)])
    assert len(remote._http._open) <= 5  # at most one more per worker thread


BAD_CALLS = {
    "store_many unknown key": lambda db: db.memories.store_many(
        [{"agent_id": 1, "content": "x", "embedding": [1, 0, 0], "bogus": 1}]
    ),
    "write without value": lambda db: db.items.write([{"namespace": ("a",), "key": "k"}]),
    "write delete with value": lambda db: db.items.write([{"namespace": ("a",), "key": "k", "delete": True, "value": 1}]),
    "negative agent id": lambda db: db.states.load(-1),
    "filter not a dict": lambda db: db.items.search(("a",), filter=[1]),
    "empty namespace": lambda db: db.items.put((), "k", 1),
    "ttl 0": lambda db: db.items.put(("a",), "k", 1, ttl_ms=0),
    "unknown state type": lambda db: db.states.save(1, 1, b"x", state_type="nope"),
    "unknown metric": lambda db: db.vectors.create_collection("c", 3, "manhattan"),  # type: ignore[arg-type]
    "limit 0": lambda db: db.states.history(1, limit=0),
    "str as state data": lambda db: db.states.save(1, 1, "text"),  # type: ignore[arg-type]
    "neither query nor vector": lambda db: db.memories.retrieve(1),
    "unknown memory type": lambda db: db.memories.store(1, "x", memory_type="nope", embedding=[1, 0, 0]),
    "unknown collection": lambda db: db.vectors.count("absent"),
}


@pytest.mark.parametrize("name", sorted(BAD_CALLS))
def test_bad_calls_raise_the_embedded_class(name, remote, db) -> None:
    """The engine judges both (no rule is restated in the client): the same class either way."""
    raised = []
    for handle in (db, remote):
        with pytest.raises(Exception) as e:
            BAD_CALLS[name](handle)
        raised.append(type(e.value))
    assert raised[1] is raised[0], name
