"""The asyncio API: every namespace as coroutines, concurrent calls on one loop."""

from __future__ import annotations

import asyncio
import inspect

import pyarrow as pa
import pytest

import agentdb


@pytest.mark.asyncio
async def test_connect_async_and_every_namespace(db_path):
    async with await agentdb.connect_async(db_path, memory_dimension=3, maintenance_interval_ms=None) as db:
        assert isinstance(db, agentdb.AsyncAgentDB) and not db.closed and db.path == str(db_path)
        assert await db.states.save(1, 1, b"a", metadata={"k": "v"}) == 1
        assert (await db.states.load(1, 1)).metadata == {"k": "v"}
        assert [s.version for s in await db.states.history(1)] == [1]
        assert await db.states.save(1, 2, b"a") == 1
        assert await db.states.save(1, 2, b"b", key="ck-2") == 2
        assert (await db.states.load_by_key(1, 2, "ck-2")).data == b"b"
        assert [(s.version, s.key) for s in await db.states.history_page(1, 2, limit=5)] == [(2, "ck-2"), (1, None)]
        assert [s.version for s in await db.states.history_page(1, 2, before_version=2)] == [1]
        assert isinstance(await db.states.history_arrow(1), pa.Table)
        assert (await db.states.create_snapshot(1, 1, "s")).name == "s"
        assert (await db.states.restore_snapshot(1, "s")).version == 2

        mid = await db.memories.store(1, "tea", embedding=[1, 0, 0])
        assert (await db.memories.get(mid)).content == "tea"
        hits = await db.memories.retrieve(1, vector=[1, 0, 0])
        assert [h.memory.memory_id for h in hits] == [mid]

        await db.rag.index_document("d", "some text", chunk_vectors=[[0, 1, 0]])
        assert [h.doc_id for h in await db.rag.semantic_search(vector=[0, 1, 0])] == ["d"]

        await db.vectors.create_collection("c", 2, "l2")
        await db.vectors.insert("c", "a", [0, 0])
        assert [h.id for h in await db.vectors.search("c", [0, 0], 1)] == ["a"]
        assert await db.vectors.count("c") == 1

        assert (await db.flush())["flushed_lsn"] >= 1
        assert (await db.stats())["read_only"] is False
        assert db.sync.states.load(1, 1).version == 2  # the same database, synchronously
        with pytest.raises(agentdb.NotFoundError):
            await db.states.load(9)
    assert db.closed
    with pytest.raises(agentdb.ClosedError):
        await db.states.load(1)


@pytest.mark.asyncio
async def test_concurrent_saves_on_one_loop_get_distinct_versions(db_path):
    db = await agentdb.connect_async(db_path, memory_dimension=3)
    try:
        versions = await asyncio.gather(*(db.states.save(1, 1, str(i).encode()) for i in range(40)))
        assert sorted(versions) == list(range(1, 41))
        loads = await asyncio.gather(*(db.states.load(1, 1) for _ in range(10)))
        assert {s.version for s in loads} == {40}
    finally:
        await db.close()


@pytest.mark.asyncio
async def test_async_errors_keep_their_class(db_path):
    db = await agentdb.connect_async(db_path, memory_dimension=3)
    try:
        with pytest.raises(agentdb.DimensionMismatchError):
            await db.memories.store(1, "x", embedding=[1, 0])
        with pytest.raises(TypeError):
            await db.states.save(None, 1, b"x")
    finally:
        await db.close()


@pytest.mark.asyncio
async def test_async_memory_lifecycle_and_gc(db_path):
    async with await agentdb.connect_async(
        db_path, memory_dimension=3, maintenance_interval_ms=None, memory_merge_policy="keep_both",
        max_memories_per_agent_type=3, state_keep_last=1,
    ) as db:  # fmt: skip
        a = await db.memories.store_outcome(1, "tea", embedding=[1, 0, 0])
        b = await db.memories.store_outcome(1, "tea, hot", embedding=[1, 0.1, 0])
        assert (a.kind, b.kind) == ("stored", "stored")  # keep_both
        [dup] = await db.memories.store_many_outcome([{"agent_id": 1, "content": "TEA", "embedding": [0, 0, 1]}])
        assert (dup.kind, dup.memory_id) == ("duplicate", a.memory_id)
        await db.memories.pin(a.memory_id)
        assert (await db.memories.get(a.memory_id)).pinned
        await db.memories.unpin(a.memory_id)
        assert not (await db.memories.get(a.memory_id)).pinned
        report = await db.memories.consolidate(1)
        assert (report.examined, report.groups, report.remaining) == (2, [], 2)

        for _ in range(3):
            await db.states.save(1, 1, b"x")
        assert (await db.gc(keep_last=2)).state_versions_removed == 1
        assert (await db.gc()).state_versions_removed == 1  # the configured keep_last=1
        assert [s.version for s in await db.states.history(1)] == [3]
        with pytest.raises(agentdb.InvalidArgumentError):
            await db.gc(keep_last=0)


@pytest.mark.asyncio
async def test_connect_async_refuses_a_bad_merge_policy(db_path):
    with pytest.raises(agentdb.InvalidArgumentError):
        await agentdb.connect_async(db_path, memory_merge_policy="keep_all")


def test_async_namespaces_mirror_the_sync_ones():
    for sync_cls, async_name in [(agentdb.States, "AsyncStates"), (agentdb.Memories, "AsyncMemories"),
                                 (agentdb.Rag, "AsyncRag"), (agentdb.Vectors, "AsyncVectors")]:  # fmt: skip
        async_cls = getattr(agentdb._aio, async_name)
        public = [n for n, f in vars(sync_cls).items() if callable(f) and not n.startswith("_")]
        assert public, sync_cls
        for name in public:
            method = getattr(async_cls, name)
            assert inspect.iscoroutinefunction(method), (async_name, name)
            assert inspect.signature(method) == inspect.signature(getattr(sync_cls, name))


def test_async_wrapper_refuses_other_objects():
    with pytest.raises(TypeError):
        agentdb.AsyncAgentDB("not a db")
