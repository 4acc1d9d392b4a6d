"""``AgentDBSaver``: a LangGraph checkpointer over AgentDB's agent-state subsystem.

Mapping (every record is an append-only state version; strings are kept in
the record's metadata and checked on every read, see ``_common.stable_id``):

* thread ``T``            -> agent ``A = stable_id(prefix, "thread", T)``
* session 0 of ``A``       -> owner records ``{role: owner, thread: T}``: one per
  process that wrote to the thread; ``delete_thread`` reads them to refuse
  deleting an agent that two thread ids hash to.
* namespace ``NS``         -> index session ``stable_id("index", NS)``: one small
  record per ``put`` (checkpoint id, parent id, serialized CheckpointMetadata)
  and one per deletion. ``load`` of this session is the namespace's latest
  checkpoint, so ``get_tuple`` without an id is two engine calls.
* checkpoint ``(NS, C)``   -> checkpoint session ``stable_id("checkpoint", NS, C)``:
  version 1 is the checkpoint (serialized with ``self.serde``, whole
  ``channel_values`` included), later versions are ``put_writes`` batches and
  deletion markers. ``get_tuple`` with an id reads this one session.
* catalog agent ``stable_id(prefix, "catalog")``: one record per thread agent
  (the agent id only, no thread string), so ``list(None)`` and
  ``delete_for_runs`` can reach every thread.

Writes go checkpoint record first, index record second: an index entry is the
commit point of a ``put`` and always has its checkpoint behind it. Deleting a
single checkpoint (``delete_for_runs``, ``prune(strategy="keep_latest")``)
appends a deletion marker to its checkpoint session (the commit point, seen by
``get_tuple``) and then to its index session (so ``list`` skips it without
loading it). Records after the last marker belong to a re-put of the same id.
The engine deletes state only per agent, so ``delete_thread`` and
``prune(strategy="delete")`` free space at once, while single checkpoints
removed by ``delete_for_runs``/``prune(keep_latest)`` stay on disk, invisible,
until their thread is deleted.

"Latest" in a namespace is the most recently put checkpoint that is not
deleted; LangGraph's checkpoint ids are uuid6 values from a monotonic clock,
so this is also the greatest id, which is what ``list`` sorts by (descending,
like every LangGraph saver). ``put_writes`` keeps the first write per
``(task_id, idx)`` and the last one for the special channels (negative idx),
as ``InMemorySaver`` does; pending writes come back in ``writes_sort_key``
order.

Async methods run the sync ones in a worker thread (the engine releases the
GIL while it works).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import ormsgpack
from agentdb import NotFoundError
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    SerializerProtocol,
    get_checkpoint_id,
    get_checkpoint_metadata,
    writes_sort_key,
)

from ._common import SharedRegistry, history_all, load_or_none, ordered, stable_id

__all__ = ["AgentDBSaver"]

OWNER_SESSION = 0
STATE_TYPE = "task_state"

# Metadata keys of our records (string -> string).
K_ROLE = "lg.role"
K_THREAD = "lg.thread_id"
K_NS = "lg.checkpoint_ns"
K_ID = "lg.checkpoint_id"
K_PARENT = "lg.parent_id"
K_OP = "lg.op"

ROLE_OWNER = "owner"
ROLE_INDEX = "index"
ROLE_CHECKPOINT = "checkpoint"
ROLE_WRITES = "writes"
ROLE_DELETED = "deleted"
OP_PUT = "put"
OP_DELETE = "delete"


def _index_session(ns: str) -> int:
    return stable_id("index", ns)


def _checkpoint_session(ns: str, checkpoint_id: str) -> int:
    return stable_id("checkpoint", ns, checkpoint_id)


def _config(thread_id: str, ns: str, checkpoint_id: str) -> RunnableConfig:
    return {
        "configurable": {
            "thread_id": thread_id,
            "checkpoint_ns": ns,
            "checkpoint_id": checkpoint_id,
        }
    }


class AgentDBSaver(BaseCheckpointSaver[int]):
    """LangGraph checkpointer storing checkpoints and pending writes in AgentDB.

    ``db`` is an open ``agentdb.AgentDB``; the saver does not close it.
    ``key_prefix`` separates independent checkpoint spaces inside one database
    (it feeds every agent id the saver derives).

    >>> with agentdb.connect("./state") as db:
    ...     graph = builder.compile(checkpointer=AgentDBSaver(db))
    """

    def __init__(
        self,
        db: Any,
        *,
        serde: SerializerProtocol | None = None,
        key_prefix: str = "langgraph",
    ) -> None:
        super().__init__(serde=serde)
        self.db = db
        self.key_prefix = key_prefix
        self._catalog_agent = stable_id(key_prefix, "catalog")
        self._registered = SharedRegistry.for_db(db, key_prefix, "checkpoint-threads")

    @classmethod
    @contextmanager
    def from_path(cls, path: str, **connect_options: Any) -> Iterator[AgentDBSaver]:
        """Open (creating if needed) the database at ``path``; close it on exit."""
        import agentdb

        with agentdb.connect(path, **connect_options) as db:
            yield cls(db)

    # ------------------------------------------------------------------ ids

    def _thread_agent(self, thread_id: str) -> int:
        return stable_id(self.key_prefix, "thread", thread_id)

    @property
    def _states(self) -> Any:
        return self.db.states

    def _register_thread(self, thread_id: str, agent: int) -> None:
        """Owner record + catalog entry, once per thread per process."""
        if thread_id in self._registered:
            return
        self._states.save(
            agent,
            OWNER_SESSION,
            b"",
            state_type=STATE_TYPE,
            metadata={K_ROLE: ROLE_OWNER, K_THREAD: thread_id},
        )
        self._states.save(
            self._catalog_agent,
            agent,
            b"",
            state_type=STATE_TYPE,
            metadata={K_ROLE: ROLE_OWNER},
        )
        with SharedRegistry.lock():
            self._registered.add(thread_id)

    # --------------------------------------------------------------- decode

    def _resolve(
        self, records: Sequence[Any], thread_id: str, ns: str, checkpoint_id: str
    ) -> CheckpointTuple | None:
        """The live checkpoint in one checkpoint session's records, or None."""
        mine = [
            r
            for r in ordered(records)
            if r.metadata.get(K_THREAD) == thread_id
            and r.metadata.get(K_NS) == ns
            and r.metadata.get(K_ID) == checkpoint_id
        ]
        last_delete = max(
            (i for i, r in enumerate(mine) if r.metadata.get(K_ROLE) == ROLE_DELETED),
            default=-1,
        )
        live = mine[last_delete + 1 :]
        checkpoint_records = [r for r in live if r.metadata.get(K_ROLE) == ROLE_CHECKPOINT]
        if not checkpoint_records:
            return None
        record = checkpoint_records[-1]
        c_type, c_bytes, m_type, m_bytes = ormsgpack.unpackb(record.data)
        checkpoint: Checkpoint = self.serde.loads_typed((c_type, c_bytes))
        metadata: CheckpointMetadata = self.serde.loads_typed((m_type, m_bytes))
        parent_id = record.metadata.get(K_PARENT)

        merged: dict[tuple[str, int], tuple[str, str, int, str, str, bytes]] = {}
        for r in live:
            if r.metadata.get(K_ROLE) != ROLE_WRITES:
                continue
            for task_id, task_path, idx, channel, v_type, v_bytes in ormsgpack.unpackb(r.data):
                key = (task_id, idx)
                if idx >= 0 and key in merged:
                    continue
                merged[key] = (task_id, task_path, idx, channel, v_type, v_bytes)
        pending = [
            (task_id, channel, self.serde.loads_typed((v_type, v_bytes)))
            for task_id, task_path, idx, channel, v_type, v_bytes in sorted(
                merged.values(), key=lambda w: writes_sort_key(w[1], w[0], w[2])
            )
        ]
        return CheckpointTuple(
            config=_config(thread_id, ns, checkpoint_id),
            checkpoint=checkpoint,
            metadata=metadata,
            parent_config=_config(thread_id, ns, parent_id) if parent_id else None,
            pending_writes=pending,
        )

    def _index_entries(
        self, records: Sequence[Any], thread_id: str, ns: str | None
    ) -> list[tuple[int, str, str, Any]]:
        """Live index entries as ``(index version, ns, checkpoint_id, record)``.

        The newest index record of a checkpoint id decides whether it is live.
        """
        latest: dict[tuple[str, str], Any] = {}
        for r in records:
            md = r.metadata
            if md.get(K_ROLE) != ROLE_INDEX or md.get(K_THREAD) != thread_id:
                continue
            if ns is not None and md.get(K_NS) != ns:
                continue
            key = (md[K_NS], md[K_ID])
            prev = latest.get(key)
            if prev is None or r.version > prev.version:
                latest[key] = r
        return [
            (r.version, key[0], key[1], r)
            for key, r in latest.items()
            if r.metadata.get(K_OP) == OP_PUT
        ]

    def _index_metadata(self, record: Any) -> CheckpointMetadata:
        m_type, m_bytes = ormsgpack.unpackb(record.data)
        return self.serde.loads_typed((m_type, m_bytes))

    # ---------------------------------------------------------------- reads

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        configurable = config["configurable"]
        thread_id = str(configurable["thread_id"])
        ns = configurable.get("checkpoint_ns", "")
        agent = self._thread_agent(thread_id)
        if checkpoint_id := get_checkpoint_id(config):
            records = history_all(self._states, agent, _checkpoint_session(ns, checkpoint_id))
            return self._resolve(records, thread_id, ns, checkpoint_id)

        head = load_or_none(self._states, agent, _index_session(ns))
        if head is None:
            return None
        md = head.metadata
        if (
            md.get(K_ROLE) == ROLE_INDEX
            and md.get(K_OP) == OP_PUT
            and md.get(K_THREAD) == thread_id
            and md.get(K_NS) == ns
        ):
            records = history_all(self._states, agent, _checkpoint_session(ns, md[K_ID]))
            found = self._resolve(records, thread_id, ns, md[K_ID])
            if found is not None:
                return found
        # The head was deleted or belongs to a colliding thread: walk the index.
        entries = self._index_entries(
            history_all(self._states, agent, _index_session(ns)), thread_id, ns
        )
        for _, _, checkpoint_id, _ in sorted(entries, key=lambda e: e[0], reverse=True):
            records = history_all(self._states, agent, _checkpoint_session(ns, checkpoint_id))
            found = self._resolve(records, thread_id, ns, checkpoint_id)
            if found is not None:
                return found
        return None

    def _thread_ids(self) -> list[str]:
        """Every thread that has data, from the catalog."""
        agents = {r.session_id for r in history_all(self._states, self._catalog_agent)}
        thread_ids: set[str] = set()
        for agent in agents:
            for r in history_all(self._states, agent, OWNER_SESSION):
                if r.metadata.get(K_ROLE) == ROLE_OWNER and K_THREAD in r.metadata:
                    thread_ids.add(r.metadata[K_THREAD])
        return sorted(thread_ids)

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        if config is None:
            thread_ids = self._thread_ids()
            ns_filter: str | None = None
            id_filter: str | None = None
        else:
            thread_ids = [str(config["configurable"]["thread_id"])]
            ns_filter = config["configurable"].get("checkpoint_ns")
            id_filter = get_checkpoint_id(config)
        before_id = get_checkpoint_id(before) if before else None

        # (checkpoint id, thread, ns, index record, records of the thread or None)
        candidates: list[tuple[str, str, str, Any, dict[int, list[Any]] | None]] = []
        for thread_id in thread_ids:
            agent = self._thread_agent(thread_id)
            by_session: dict[int, list[Any]] | None
            if ns_filter is not None:
                records = history_all(self._states, agent, _index_session(ns_filter))
                by_session = None
            else:
                # All namespaces: one read of the whole thread serves them all.
                records = history_all(self._states, agent)
                by_session = defaultdict(list)
                for r in records:
                    by_session[r.session_id].append(r)
            for _, ns, checkpoint_id, index_record in self._index_entries(
                records, thread_id, ns_filter
            ):
                if id_filter is not None and checkpoint_id != id_filter:
                    continue
                if before_id is not None and checkpoint_id >= before_id:
                    continue
                if filter:
                    metadata = self._index_metadata(index_record)
                    if not all(metadata.get(k) == v for k, v in filter.items()):
                        continue
                candidates.append((checkpoint_id, thread_id, ns, index_record, by_session))

        candidates.sort(key=lambda c: c[0], reverse=True)
        remaining = limit
        for checkpoint_id, thread_id, ns, _, by_session in candidates:
            if remaining is not None and remaining <= 0:
                return
            session = _checkpoint_session(ns, checkpoint_id)
            if by_session is not None:
                records = by_session.get(session, [])
            else:
                records = history_all(self._states, self._thread_agent(thread_id), session)
            found = self._resolve(records, thread_id, ns, checkpoint_id)
            if found is None:
                continue
            if remaining is not None:
                remaining -= 1
            yield found

    # --------------------------------------------------------------- writes

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        configurable = config["configurable"]
        thread_id = str(configurable["thread_id"])
        ns = configurable.get("checkpoint_ns", "")
        checkpoint_id = checkpoint["id"]
        parent_id = configurable.get("checkpoint_id")
        agent = self._thread_agent(thread_id)
        self._register_thread(thread_id, agent)

        c_type, c_bytes = self.serde.dumps_typed(checkpoint)
        m_type, m_bytes = self.serde.dumps_typed(get_checkpoint_metadata(config, metadata))
        keys = {K_THREAD: thread_id, K_NS: ns, K_ID: checkpoint_id}
        if parent_id:
            keys[K_PARENT] = parent_id
        self._states.save(
            agent,
            _checkpoint_session(ns, checkpoint_id),
            ormsgpack.packb([c_type, c_bytes, m_type, m_bytes]),
            state_type=STATE_TYPE,
            metadata={K_ROLE: ROLE_CHECKPOINT, **keys},
        )
        self._states.save(
            agent,
            _index_session(ns),
            ormsgpack.packb([m_type, m_bytes]),
            state_type=STATE_TYPE,
            metadata={K_ROLE: ROLE_INDEX, K_OP: OP_PUT, **keys},
        )
        return _config(thread_id, ns, checkpoint_id)

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        if not writes:
            return
        configurable = config["configurable"]
        thread_id = str(configurable["thread_id"])
        ns = configurable.get("checkpoint_ns", "")
        checkpoint_id = configurable["checkpoint_id"]
        rows = []
        for idx, (channel, value) in enumerate(writes):
            v_type, v_bytes = self.serde.dumps_typed(value)
            rows.append(
                [task_id, task_path, WRITES_IDX_MAP.get(channel, idx), channel, v_type, v_bytes]
            )
        self._states.save(
            self._thread_agent(thread_id),
            _checkpoint_session(ns, checkpoint_id),
            ormsgpack.packb(rows),
            state_type=STATE_TYPE,
            metadata={
                K_ROLE: ROLE_WRITES,
                K_THREAD: thread_id,
                K_NS: ns,
                K_ID: checkpoint_id,
            },
        )

    def _delete_checkpoint(self, agent: int, thread_id: str, ns: str, checkpoint_id: str) -> None:
        keys = {K_THREAD: thread_id, K_NS: ns, K_ID: checkpoint_id}
        # The marker in the checkpoint session is the commit point.
        self._states.save(
            agent,
            _checkpoint_session(ns, checkpoint_id),
            b"",
            state_type=STATE_TYPE,
            metadata={K_ROLE: ROLE_DELETED, **keys},
        )
        self._states.save(
            agent,
            _index_session(ns),
            b"",
            state_type=STATE_TYPE,
            metadata={K_ROLE: ROLE_INDEX, K_OP: OP_DELETE, **keys},
        )

    def delete_thread(self, thread_id: str) -> None:
        thread_id = str(thread_id)
        agent = self._thread_agent(thread_id)
        owners = {
            r.metadata.get(K_THREAD)
            for r in history_all(self._states, agent, OWNER_SESSION)
            if r.metadata.get(K_ROLE) == ROLE_OWNER
        }
        owners.discard(thread_id)
        if owners:
            raise RuntimeError(
                f"thread {thread_id!r} shares AgentDB agent {agent} with threads "
                f"{sorted(owners)!r} (a 63-bit hash collision); refusing to delete"
            )
        with SharedRegistry.lock():
            self._registered.discard(thread_id)
        try:
            self._states.delete_agent(agent)
        except NotFoundError:  # nothing stored for this thread
            pass

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        wanted = set(run_ids)
        if not wanted:
            return
        for thread_id in self._thread_ids():
            agent = self._thread_agent(thread_id)
            entries = self._index_entries(
                history_all(self._states, agent), thread_id, None
            )
            for _, ns, checkpoint_id, record in entries:
                if self._index_metadata(record).get("run_id") in wanted:
                    self._delete_checkpoint(agent, thread_id, ns, checkpoint_id)

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        source_thread_id = str(source_thread_id)
        target_thread_id = str(target_thread_id)
        source = self._thread_agent(source_thread_id)
        target = self._thread_agent(target_thread_id)
        records = history_all(self._states, source)
        entries = self._index_entries(records, source_thread_id, None)
        if not entries:
            return
        self._register_thread(target_thread_id, target)
        by_session: dict[int, list[Any]] = defaultdict(list)
        for r in records:
            by_session[r.session_id].append(r)
        # Oldest put first, so the copy's latest per namespace is the source's.
        for _, ns, checkpoint_id, index_record in sorted(entries, key=lambda e: e[0]):
            session = _checkpoint_session(ns, checkpoint_id)
            mine = [
                r
                for r in ordered(by_session.get(session, []))
                if r.metadata.get(K_THREAD) == source_thread_id
                and r.metadata.get(K_NS) == ns
                and r.metadata.get(K_ID) == checkpoint_id
            ]
            last_delete = max(
                (i for i, r in enumerate(mine) if r.metadata.get(K_ROLE) == ROLE_DELETED),
                default=-1,
            )
            live = mine[last_delete + 1 :]
            if not any(r.metadata.get(K_ROLE) == ROLE_CHECKPOINT for r in live):
                continue
            for r in live:
                self._states.save(
                    target,
                    session,
                    r.data,
                    state_type=STATE_TYPE,
                    metadata={**r.metadata, K_THREAD: target_thread_id},
                )
            self._states.save(
                target,
                _index_session(ns),
                index_record.data,
                state_type=STATE_TYPE,
                metadata={**index_record.metadata, K_THREAD: target_thread_id},
            )

    def prune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        if strategy not in ("keep_latest", "delete"):
            raise ValueError(f"unknown prune strategy {strategy!r}")
        for thread_id in thread_ids:
            thread_id = str(thread_id)
            if strategy == "delete":
                self.delete_thread(thread_id)
                continue
            agent = self._thread_agent(thread_id)
            records = history_all(self._states, agent)
            by_session: dict[int, list[Any]] = defaultdict(list)
            for r in records:
                by_session[r.session_id].append(r)
            per_ns: dict[str, list[tuple[int, str]]] = defaultdict(list)
            for version, ns, checkpoint_id, _ in self._index_entries(records, thread_id, None):
                session = _checkpoint_session(ns, checkpoint_id)
                if self._resolve(by_session.get(session, []), thread_id, ns, checkpoint_id):
                    per_ns[ns].append((version, checkpoint_id))
            for ns, entries in per_ns.items():
                entries.sort(reverse=True)
                for _, checkpoint_id in entries[1:]:
                    self._delete_checkpoint(agent, thread_id, ns, checkpoint_id)

    # ---------------------------------------------------------------- async

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return await asyncio.to_thread(self.get_tuple, config)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        def collect() -> list[CheckpointTuple]:
            return list(self.list(config, filter=filter, before=before, limit=limit))

        for item in await asyncio.to_thread(collect):
            yield item

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return await asyncio.to_thread(self.put, config, checkpoint, metadata, new_versions)

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        await asyncio.to_thread(self.put_writes, config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        await asyncio.to_thread(self.delete_thread, thread_id)

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        await asyncio.to_thread(self.delete_for_runs, run_ids)

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        await asyncio.to_thread(self.copy_thread, source_thread_id, target_thread_id)

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        await asyncio.to_thread(self.prune, thread_ids, strategy=strategy)
