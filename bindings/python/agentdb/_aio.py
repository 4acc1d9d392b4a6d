"""The asyncio API: :func:`connect_async` and :class:`AsyncAgentDB`.

The same namespaces and arguments as :class:`~agentdb.AgentDB`, every method a
coroutine. Each call runs the synchronous call in a worker thread
(:func:`asyncio.to_thread`); the engine releases the GIL while it works, so
the event loop and other calls proceed.
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from ._db import _OPTIONS, AgentDB, Items, Memories, MergePolicy, Rag, States, Vectors, connect

if TYPE_CHECKING:
    from collections.abc import Coroutine

    from ._native import GcReport

__all__ = ["AsyncAgentDB", "connect_async"]

T = TypeVar("T")


async def connect_async(
    path: str | os.PathLike[str],
    *,
    read_only: bool = _OPTIONS["read_only"],
    fsync: Literal["always", "batch", "never"] = _OPTIONS["fsync"],
    fsync_batch_ms: int = _OPTIONS["fsync_batch_ms"],
    flush_interval_ms: int = _OPTIONS["flush_interval_ms"],
    memory_dimension: int = _OPTIONS["memory_dimension"],
    model_dir: str | os.PathLike[str] | None = None,
    maintenance_interval_ms: int | None = _OPTIONS["maintenance_interval_ms"],
    max_payload_bytes: int = _OPTIONS["max_payload_bytes"],
    ann_index_threshold: int = _OPTIONS["ann_index_threshold"],
    chunk_chars: int = _OPTIONS["chunk_chars"],
    chunk_overlap: int = _OPTIONS["chunk_overlap"],
    memory_merge_threshold: float = _OPTIONS["memory_merge_threshold"],
    memory_merge_policy: MergePolicy = _OPTIONS["memory_merge_policy"],
    max_memories_per_agent_type: int | None = _OPTIONS["max_memories_per_agent_type"],
    state_keep_last: int | None = _OPTIONS["state_keep_last"],
    state_keep_newer_than_ms: int | None = _OPTIONS["state_keep_newer_than_ms"],
    api_key: str | None = None,
) -> AsyncAgentDB:
    """:func:`agentdb.connect`, opened in a worker thread (opening replays the WAL); a server
    URL gives the remote client, wrapped the same way."""
    db = await asyncio.to_thread(
        connect,
        path,
        read_only=read_only,
        fsync=fsync,
        fsync_batch_ms=fsync_batch_ms,
        flush_interval_ms=flush_interval_ms,
        memory_dimension=memory_dimension,
        model_dir=model_dir,
        maintenance_interval_ms=maintenance_interval_ms,
        max_payload_bytes=max_payload_bytes,
        ann_index_threshold=ann_index_threshold,
        chunk_chars=chunk_chars,
        chunk_overlap=chunk_overlap,
        memory_merge_threshold=memory_merge_threshold,
        memory_merge_policy=memory_merge_policy,
        max_memories_per_agent_type=max_memories_per_agent_type,
        state_keep_last=state_keep_last,
        state_keep_newer_than_ms=state_keep_newer_than_ms,
        api_key=api_key,
    )
    return AsyncAgentDB(db)


def _in_thread(method: Callable[..., T]) -> Callable[..., Coroutine[Any, Any, T]]:
    """The coroutine twin of a namespace method: same name, signature and docs."""
    name = method.__name__

    @functools.wraps(method)
    async def call(self: _AsyncNamespace, *args: Any, **kwargs: Any) -> T:
        return await asyncio.to_thread(getattr(self._sync, name), *args, **kwargs)

    return call


class _AsyncNamespace:
    __slots__ = ("_sync",)

    def __init__(self, sync: Any) -> None:
        self._sync = sync


def _async_namespace(sync_cls: type, doc: str) -> type:
    methods = {
        name: _in_thread(fn)
        for name, fn in vars(sync_cls).items()
        if callable(fn) and not name.startswith("_")
    }
    return type(f"Async{sync_cls.__name__}", (_AsyncNamespace,), {"__doc__": doc, "__slots__": (), **methods})


if TYPE_CHECKING:  # the static view: see _aio.pyi for the coroutine signatures
    AsyncStates = States
    AsyncMemories = Memories
    AsyncRag = Rag
    AsyncVectors = Vectors
    AsyncItems = Items
else:
    AsyncStates = _async_namespace(States, "Versioned agent state (coroutines): ``db.states``.")
    AsyncMemories = _async_namespace(Memories, "Agent memories (coroutines): ``db.memories``.")
    AsyncRag = _async_namespace(Rag, "Documents and search (coroutines): ``db.rag``.")
    AsyncVectors = _async_namespace(Vectors, "Vector collections (coroutines): ``db.vectors``.")
    AsyncItems = _async_namespace(Items, "JSON items by namespace and key (coroutines): ``db.items``.")


class AsyncAgentDB:
    """An open AgentDB database for asyncio code; see :class:`~agentdb.AgentDB`.

    ``AsyncAgentDB(db)`` also wraps an already open :class:`~agentdb.AgentDB` (or a
    :class:`~agentdb.RemoteAgentDB`); ``.sync`` is the synchronous handle (the same database).
    """

    __slots__ = ("_sync", "states", "memories", "rag", "vectors", "items")

    def __init__(self, db: AgentDB) -> None:
        from ._remote import RemoteAgentDB

        if not isinstance(db, (AgentDB, RemoteAgentDB)):
            raise TypeError(f"AsyncAgentDB wraps an agentdb.AgentDB, not {type(db).__name__}")
        self._sync = db
        self.states = AsyncStates(db.states)
        self.memories = AsyncMemories(db.memories)
        self.rag = AsyncRag(db.rag)
        self.vectors = AsyncVectors(db.vectors)
        self.items = AsyncItems(db.items)

    @property
    def sync(self) -> AgentDB:
        return self._sync

    @property
    def closed(self) -> bool:
        return self._sync.closed

    @property
    def path(self) -> str:
        return self._sync.path

    async def close(self) -> None:
        await asyncio.to_thread(self._sync.close)

    async def flush(self) -> dict[str, Any]:
        return await asyncio.to_thread(self._sync.flush)

    async def compact(self) -> dict[str, Any]:
        return await asyncio.to_thread(self._sync.compact)

    async def gc(self, *, keep_last: int | None = None, keep_newer_than_ms: int | None = None) -> GcReport:
        return await asyncio.to_thread(self._sync.gc, keep_last=keep_last, keep_newer_than_ms=keep_newer_than_ms)

    async def stats(self) -> dict[str, Any]:
        return await asyncio.to_thread(self._sync.stats)

    async def embed(self, texts: Any) -> Any:
        return await asyncio.to_thread(self._sync.embed, texts)

    async def __aenter__(self) -> AsyncAgentDB:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"<agentdb.AsyncAgentDB path={self.path!r} {'closed' if self.closed else 'open'}>"
