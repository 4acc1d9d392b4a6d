"""``AgentDBSaver``: a LangGraph checkpointer over AgentDB's agent-state subsystem.

The layout follows the engine's costs: appending a version to an existing
``(agent, session)`` and loading a session's latest version are served from
memory (tens of microseconds), while ``history``/``load_version`` and the
first save into a new session query Lance (milliseconds). So the hot path of
a graph run (``put``, ``put_writes``, ``get_tuple`` of the latest checkpoint)
only appends to and loads the latest of a few long-lived sessions:

* thread ``T``         -> agent ``A = stable_id(prefix, "thread", T)``
* namespace ``NS``     -> checkpoint log, session ``stable_id("checkpoints", NS)``:
  one version per ``put`` holding the checkpoint (with its whole
  ``channel_values``) and its metadata, serialized with ``self.serde``; and
  deletion markers. ``load`` of it is the namespace's latest checkpoint.
* namespace ``NS``     -> writes log, session ``stable_id("writes", NS)``: one
  version per ``put_writes`` holding *all* pending writes of that checkpoint
  so far (the previous version merged with the new writes), so ``load`` of it
  gives a checkpoint's complete writes. Invariant: if the namespace's latest
  checkpoint has writes, the writes log's latest version is them; whoever
  appends writes for another checkpoint re-appends the latest one's after.
  ``get_tuple`` of the latest checkpoint is therefore two ``load`` calls.
* catalog agent ``stable_id(prefix, "catalog")``, session 0: one record per
  thread agent (the agent id and a second, independent hash of the thread id,
  no thread string), so ``list(None)`` and ``delete_for_runs`` reach every
  thread and ``delete_thread`` can refuse an agent that two thread ids share.

Every record carries the thread id, namespace and checkpoint id in its
metadata and readers skip records whose strings differ, so a 63-bit hash
collision never serves one thread's data as another's.

A ``get_tuple`` with the id of an older checkpoint, ``list``, and the
maintenance calls read whole logs with ``history`` (each read one Lance query
plus the payloads). Deleting single checkpoints (``delete_for_runs``,
``prune(strategy="keep_latest")``) appends deletion markers to both logs and
then re-appends the namespace's latest live checkpoint and its writes, so the
fast path stays valid; the deleted payloads stay on disk, unreachable, until
the thread is deleted (the engine deletes state only per agent).
``delete_thread`` and ``prune(strategy="delete")`` free the space at once.

"Latest" in a namespace is the most recently put checkpoint that is not
deleted; LangGraph's ids are uuid6 values from a monotonic clock, so it is
also the greatest id, which ``list`` sorts by (descending, as every LangGraph
saver does). Pending writes keep the first write per ``(task_id, idx)`` and
the last one for special channels (negative idx), as ``InMemorySaver`` does,
and come back in ``writes_sort_key`` order. Async methods run the sync ones
in a worker thread (the engine releases the GIL while it works).
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import ormsgpack
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

from agentdb import NotFoundError

from ._common import SharedRegistry, history_all, load_or_none, ordered, stable_id

__all__ = ["AgentDBSaver"]

CATALOG_SESSION = 0
STATE_TYPE = "task_state"

# Metadata keys of our records (string -> string).
K_ROLE = "lg.role"
K_THREAD = "lg.thread_id"
K_NS = "lg.checkpoint_ns"
K_ID = "lg.checkpoint_id"
K_PARENT = "lg.parent_id"
K_AGENT = "lg.agent"
K_CHECK = "lg.thread_check"

ROLE_CHECKPOINT = "checkpoint"
ROLE_WRITES = "writes"
ROLE_DELETED = "deleted"
ROLE_THREAD = "thread"
ROLE_ANCHOR = "anchor"

#: Striped locks serializing the read-merge-append of a namespace's writes
#: log within this process (the engine admits one writer process).
_WRITE_LOCKS = [threading.Lock() for _ in range(64)]

# (task_id, task_path, idx, channel, type, bytes)
WriteRow = tuple[str, str, int, str, str, bytes]


def _checkpoint_session(ns: str) -> int:
    return stable_id("checkpoints", ns)


def _writes_session(ns: str) -> int:
    return stable_id("writes", ns)


def _thread_check(thread_id: str) -> str:
    """A second hash of the thread id, independent of ``stable_id``."""
    return hashlib.sha256(thread_id.encode("utf-8")).hexdigest()[:32]


def _config(thread_id: str, ns: str, checkpoint_id: str) -> RunnableConfig:
    return {
        "configurable": {
            "thread_id": thread_id,
            "checkpoint_ns": ns,
            "checkpoint_id": checkpoint_id,
        }
    }


def _merge(rows: list[WriteRow], new_rows: list[WriteRow]) -> list[WriteRow]:
    merged: dict[tuple[str, int], WriteRow] = {(r[0], r[2]): r for r in rows}
    for row in new_rows:
        key = (row[0], row[2])
        if row[2] >= 0 and key in merged:
            continue
        merged[key] = row
    return list(merged.values())


class _Log:
    """The records of one thread's namespace, as read by ``history``."""

    def __init__(self, thread_id: str, ns: str, checkpoint_records: list[Any], write_records: list[Any]):
        def mine(records: list[Any]) -> list[Any]:
            return [
                r
                for r in ordered(records)
                if r.metadata.get(K_THREAD) == thread_id
                and r.metadata.get(K_NS) == ns
                and K_ID in r.metadata  # not an anchor
            ]

        # checkpoint id -> its newest record in each log
        self.last_checkpoint: dict[str, Any] = {}
        for r in mine(checkpoint_records):
            self.last_checkpoint[r.metadata[K_ID]] = r
        self.last_writes: dict[str, Any] = {}
        for r in mine(write_records):
            self.last_writes[r.metadata[K_ID]] = r

    def live(self) -> list[Any]:
        """Live checkpoint records, most recently put first."""
        return sorted(
            (r for r in self.last_checkpoint.values() if r.metadata.get(K_ROLE) == ROLE_CHECKPOINT),
            key=lambda r: r.version,
            reverse=True,
        )

    def writes_record(self, checkpoint_id: str) -> Any:
        r = self.last_writes.get(checkpoint_id)
        return r if r is not None and r.metadata.get(K_ROLE) == ROLE_WRITES else None


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
        self._anchored = SharedRegistry.for_db(db, key_prefix, "checkpoint-writes-logs")

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

    def _save(self, agent: int, session: int, data: bytes, metadata: dict[str, str]) -> int:
        return self._states.save(agent, session, data, state_type=STATE_TYPE, metadata=metadata)

    def _register_thread(self, thread_id: str, agent: int) -> None:
        """A catalog entry, once per thread per process (entries are never removed)."""
        if thread_id in self._registered:
            return
        self._save(
            self._catalog_agent,
            CATALOG_SESSION,
            b"",
            {K_ROLE: ROLE_THREAD, K_AGENT: str(agent), K_CHECK: _thread_check(thread_id)},
        )
        with SharedRegistry.lock():
            self._registered.add(thread_id)

    def _catalog(self) -> dict[int, set[str]]:
        """Thread agent id -> the thread-id hashes registered for it."""
        out: dict[int, set[str]] = defaultdict(set)
        for r in history_all(self._states, self._catalog_agent, CATALOG_SESSION):
            if r.metadata.get(K_ROLE) == ROLE_THREAD:
                out[int(r.metadata[K_AGENT])].add(r.metadata[K_CHECK])
        return out

    # --------------------------------------------------------------- decode

    @staticmethod
    def _is(record: Any, role: str, thread_id: str, ns: str, checkpoint_id: str | None = None) -> bool:
        md = record.metadata
        return (
            md.get(K_ROLE) == role
            and md.get(K_THREAD) == thread_id
            and md.get(K_NS) == ns
            and (checkpoint_id is None or md.get(K_ID) == checkpoint_id)
        )

    def _tuple(self, thread_id: str, ns: str, record: Any, writes: Any) -> CheckpointTuple:
        c_type, c_bytes, m_type, m_bytes = ormsgpack.unpackb(record.data)
        checkpoint_id = record.metadata[K_ID]
        parent_id = record.metadata.get(K_PARENT)
        rows: list[WriteRow] = ormsgpack.unpackb(writes.data) if writes is not None else []
        pending = [
            (task_id, channel, self.serde.loads_typed((v_type, v_bytes)))
            for task_id, task_path, idx, channel, v_type, v_bytes in sorted(
                rows, key=lambda w: writes_sort_key(w[1], w[0], w[2])
            )
        ]
        return CheckpointTuple(
            config=_config(thread_id, ns, checkpoint_id),
            checkpoint=self.serde.loads_typed((c_type, c_bytes)),
            metadata=self.serde.loads_typed((m_type, m_bytes)),
            parent_config=_config(thread_id, ns, parent_id) if parent_id else None,
            pending_writes=pending,
        )

    def _metadata(self, record: Any) -> CheckpointMetadata:
        _, _, m_type, m_bytes = ormsgpack.unpackb(record.data)
        return self.serde.loads_typed((m_type, m_bytes))

    def _read_log(self, agent: int, thread_id: str, ns: str) -> _Log:
        return _Log(
            thread_id,
            ns,
            history_all(self._states, agent, _checkpoint_session(ns)),
            history_all(self._states, agent, _writes_session(ns)),
        )

    def _read_thread(self, thread_id: str) -> dict[str, _Log]:
        """Every namespace of a thread, from one read of the whole agent."""
        return self._logs_from(history_all(self._states, self._thread_agent(thread_id)), thread_id)

    @staticmethod
    def _logs_from(records: list[Any], thread_id: str) -> dict[str, _Log]:
        by_ns: dict[str, tuple[list[Any], list[Any]]] = defaultdict(lambda: ([], []))
        for r in records:
            md = r.metadata
            if md.get(K_THREAD) != thread_id or K_NS not in md:
                continue
            if r.session_id == _checkpoint_session(md[K_NS]):
                by_ns[md[K_NS]][0].append(r)
            elif r.session_id == _writes_session(md[K_NS]):
                by_ns[md[K_NS]][1].append(r)
        return {ns: _Log(thread_id, ns, c, w) for ns, (c, w) in by_ns.items()}

    # ---------------------------------------------------------------- reads

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        configurable = config["configurable"]
        thread_id = str(configurable["thread_id"])
        ns = configurable.get("checkpoint_ns", "")
        wanted = get_checkpoint_id(config)
        agent = self._thread_agent(thread_id)

        head = load_or_none(self._states, agent, _checkpoint_session(ns))
        if head is None:
            return None
        if self._is(head, ROLE_CHECKPOINT, thread_id, ns) and wanted in (None, head.metadata[K_ID]):
            writes = load_or_none(self._states, agent, _writes_session(ns))
            if writes is not None and not self._is(writes, ROLE_WRITES, thread_id, ns, head.metadata[K_ID]):
                writes = None  # the invariant: the head's writes, if any, are the newest
            return self._tuple(thread_id, ns, head, writes)

        log = self._read_log(agent, thread_id, ns)
        live = log.live()
        if wanted is not None:
            live = [r for r in live if r.metadata[K_ID] == wanted]
        if not live:
            return None
        record = live[0]
        return self._tuple(thread_id, ns, record, log.writes_record(record.metadata[K_ID]))

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        if config is None:
            logs = [(t, ns, log) for t, by_ns in self._all_thread_logs().items() for ns, log in by_ns.items()]
            id_filter = None
        else:
            thread_id = str(config["configurable"]["thread_id"])
            ns = config["configurable"].get("checkpoint_ns")
            id_filter = get_checkpoint_id(config)
            if ns is None:
                logs = [(thread_id, n, log) for n, log in self._read_thread(thread_id).items()]
            else:
                logs = [(thread_id, ns, self._read_log(self._thread_agent(thread_id), thread_id, ns))]
        before_id = get_checkpoint_id(before) if before else None

        candidates = []
        for thread_id, ns, log in logs:
            for record in log.live():
                checkpoint_id = record.metadata[K_ID]
                if id_filter is not None and checkpoint_id != id_filter:
                    continue
                if before_id is not None and checkpoint_id >= before_id:
                    continue
                if filter:
                    metadata = self._metadata(record)
                    if not all(metadata.get(k) == v for k, v in filter.items()):
                        continue
                candidates.append((checkpoint_id, thread_id, ns, record, log))
        candidates.sort(key=lambda c: c[0], reverse=True)
        if limit is not None:
            candidates = candidates[: max(limit, 0)]
        for checkpoint_id, thread_id, ns, record, log in candidates:
            yield self._tuple(thread_id, ns, record, log.writes_record(checkpoint_id))

    def _all_thread_logs(self) -> dict[str, dict[str, _Log]]:
        """Every thread with data (from the catalog) -> its namespaces' logs."""
        out: dict[str, dict[str, _Log]] = {}
        for agent in self._catalog():
            records = history_all(self._states, agent)
            thread_ids = {
                r.metadata[K_THREAD]
                for r in records
                if K_THREAD in r.metadata and self._thread_agent(r.metadata[K_THREAD]) == agent
            }
            for thread_id in thread_ids:
                logs = self._logs_from(records, thread_id)
                if logs:
                    out[thread_id] = logs
        return out

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
        keys = {K_ROLE: ROLE_CHECKPOINT, K_THREAD: thread_id, K_NS: ns, K_ID: checkpoint_id}
        if parent_id:
            keys[K_PARENT] = parent_id
        self._save(agent, _checkpoint_session(ns), ormsgpack.packb([c_type, c_bytes, m_type, m_bytes]), keys)
        self._anchor_writes_log(agent, thread_id, ns)
        return _config(thread_id, ns, checkpoint_id)

    def _anchor_writes_log(self, agent: int, thread_id: str, ns: str) -> None:
        """Give the namespace's writes log a version, once per process.

        Loading a session that was never written asks Lance (milliseconds);
        loading one that has a version is served from memory. The anchor
        belongs to no checkpoint, so it never reads as anyone's writes; it is
        written only into an empty log, never over a head's writes.
        """
        if (thread_id, ns) in self._anchored:
            return
        if load_or_none(self._states, agent, _writes_session(ns)) is None:
            self._save(agent, _writes_session(ns), b"", {K_ROLE: ROLE_ANCHOR, K_THREAD: thread_id, K_NS: ns})
        with SharedRegistry.lock():
            self._anchored.add((thread_id, ns))

    def _writes_keys(self, thread_id: str, ns: str, checkpoint_id: str, role: str = ROLE_WRITES) -> dict[str, str]:
        return {K_ROLE: role, K_THREAD: thread_id, K_NS: ns, K_ID: checkpoint_id}

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
        agent = self._thread_agent(thread_id)
        new_rows: list[WriteRow] = []
        for idx, (channel, value) in enumerate(writes):
            v_type, v_bytes = self.serde.dumps_typed(value)
            new_rows.append((task_id, task_path, WRITES_IDX_MAP.get(channel, idx), channel, v_type, v_bytes))

        with _WRITE_LOCKS[(agent ^ _writes_session(ns)) % len(_WRITE_LOCKS)]:
            newest = load_or_none(self._states, agent, _writes_session(ns))
            head_writes = None
            if newest is not None and self._is(newest, ROLE_WRITES, thread_id, ns, checkpoint_id):
                rows = [tuple(r) for r in ormsgpack.unpackb(newest.data)]
            else:
                head = load_or_none(self._states, agent, _checkpoint_session(ns))
                if head is not None and self._is(head, ROLE_CHECKPOINT, thread_id, ns, checkpoint_id):
                    rows = []  # the head's first writes: by the invariant it has none yet
                else:
                    # Writes for an older checkpoint: find its writes, and keep
                    # the head's writes newest afterwards.
                    log = self._read_log(agent, thread_id, ns)
                    current = log.writes_record(checkpoint_id)
                    rows = [tuple(r) for r in ormsgpack.unpackb(current.data)] if current is not None else []
                    live = log.live()
                    if live and live[0].metadata[K_ID] != checkpoint_id:
                        head_writes = log.writes_record(live[0].metadata[K_ID])
            self._save(
                agent,
                _writes_session(ns),
                ormsgpack.packb(_merge(rows, new_rows)),
                self._writes_keys(thread_id, ns, checkpoint_id),
            )
            if head_writes is not None:
                self._save(agent, _writes_session(ns), head_writes.data, dict(head_writes.metadata))

    def _delete_checkpoints(self, agent: int, thread_id: str, ns: str, checkpoint_ids: Sequence[str]) -> None:
        """Markers for these checkpoints, then the surviving head re-appended."""
        if not checkpoint_ids:
            return
        with _WRITE_LOCKS[(agent ^ _writes_session(ns)) % len(_WRITE_LOCKS)]:
            for checkpoint_id in checkpoint_ids:
                keys = self._writes_keys(thread_id, ns, checkpoint_id, ROLE_DELETED)
                self._save(agent, _checkpoint_session(ns), b"", keys)
                self._save(agent, _writes_session(ns), b"", keys)
            log = self._read_log(agent, thread_id, ns)
            live = log.live()
            if live:
                head = live[0]
                self._save(agent, _checkpoint_session(ns), head.data, dict(head.metadata))
                head_writes = log.writes_record(head.metadata[K_ID])
                if head_writes is not None:
                    self._save(agent, _writes_session(ns), head_writes.data, dict(head_writes.metadata))

    def delete_thread(self, thread_id: str) -> None:
        thread_id = str(thread_id)
        agent = self._thread_agent(thread_id)
        others = self._catalog().get(agent, set()) - {_thread_check(thread_id)}
        if others:
            raise RuntimeError(
                f"thread {thread_id!r} shares AgentDB agent {agent} with another thread id "
                "(a 63-bit hash collision); refusing to delete"
            )
        with SharedRegistry.lock():
            self._registered.discard(thread_id)
            for anchored in [a for a in self._anchored if a[0] == thread_id]:
                self._anchored.discard(anchored)
        try:
            self._states.delete_agent(agent)
        except NotFoundError:  # nothing stored for this thread
            pass

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        wanted = set(run_ids)
        if not wanted:
            return
        for thread_id, by_ns in self._all_thread_logs().items():
            agent = self._thread_agent(thread_id)
            for ns, log in by_ns.items():
                doomed = [
                    r.metadata[K_ID] for r in log.live() if self._metadata(r).get("run_id") in wanted
                ]
                self._delete_checkpoints(agent, thread_id, ns, doomed)

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        source_thread_id = str(source_thread_id)
        target_thread_id = str(target_thread_id)
        logs = self._read_thread(source_thread_id)
        if not any(log.live() for log in logs.values()):
            return
        target = self._thread_agent(target_thread_id)
        self._register_thread(target_thread_id, target)
        for ns, log in logs.items():
            with _WRITE_LOCKS[(target ^ _writes_session(ns)) % len(_WRITE_LOCKS)]:
                # Oldest first: the copy's head (and its writes) end up newest.
                for record in reversed(log.live()):
                    self._save(
                        target,
                        _checkpoint_session(ns),
                        record.data,
                        {**record.metadata, K_THREAD: target_thread_id},
                    )
                    writes = log.writes_record(record.metadata[K_ID])
                    if writes is not None:
                        self._save(
                            target,
                            _writes_session(ns),
                            writes.data,
                            {**writes.metadata, K_THREAD: target_thread_id},
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
            for ns, log in self._read_thread(thread_id).items():
                doomed = [r.metadata[K_ID] for r in log.live()[1:]]
                self._delete_checkpoints(agent, thread_id, ns, doomed)

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
