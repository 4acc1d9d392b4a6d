"""``AgentDBSaver``: a LangGraph checkpointer over AgentDB's agent-state subsystem.

Every record is a *keyed* state version (SPEC.md, "Agent state"), so every
call on a graph's path is a constant number of keyed engine calls, whatever
the thread's length: recent data is served from memory, older data by one
B-tree lookup (``load_by_key``) or one index range read (``history_page``).

* thread ``T``     -> agent ``A = stable_id(prefix, "thread", T)``
* namespace ``NS`` -> checkpoint session ``stable_id("checkpoints", NS)``:
  one version per ``put``, keyed by the checkpoint id, holding the checkpoint
  (with its whole ``channel_values``) and its metadata, serialized with
  ``self.serde``. A deletion is a version keyed by the same id with role
  ``deleted``. The session's latest version is the namespace's latest
  checkpoint; LangGraph's ids are uuid6 values from a monotonic clock, so
  put order is id order, which ``list`` returns (descending, as every
  LangGraph saver does) by paging the session newest first.
* namespace ``NS`` -> writes session ``stable_id("writes", NS)``: versions
  keyed by checkpoint id, each holding *all* pending writes of that
  checkpoint so far. ``put_writes`` loads the current one by key, merges and
  saves; ``put`` saves an empty one for a new checkpoint, so the latest
  checkpoint's writes are always found in memory (a key that was never
  saved would cost a Lance lookup to rule out).
* thread ``T``     -> namespaces session ``stable_id("namespaces")`` of ``A``:
  one version per namespace, keyed by it, for ``list`` without a namespace.
* catalog agent ``stable_id(prefix, "catalog")``, session 0: one record per
  thread agent (the agent id and a second, independent hash of the thread
  id), so ``list(None)`` and ``delete_for_runs`` reach every thread and
  ``delete_thread`` can refuse an agent that two thread ids share.

Every record carries the thread id, namespace and checkpoint id in its
metadata and readers skip records whose strings differ, so a 63-bit hash
collision never serves one thread's data as another's.

Only the calls that are about whole threads read whole threads:
``list(None)``, ``delete_for_runs``, ``copy_thread`` and ``prune``. Deleting
single checkpoints (``delete_for_runs``, ``prune(strategy="keep_latest")``)
saves deletion markers and then re-saves the surviving latest checkpoint, so
the latest stays one load; the deleted payloads stay on disk, unreachable,
until the thread is deleted (the engine deletes state only per agent).
``delete_thread`` and ``prune(strategy="delete")`` free the space at once.

Pending writes keep the first write per ``(task_id, idx)`` and the last one
for special channels (negative idx), as ``InMemorySaver`` does, and come back
in ``writes_sort_key`` order. Async methods run the sync ones in a worker
thread (the engine releases the GIL while it works).
"""

from __future__ import annotations

import asyncio
import hashlib
import heapq
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

from ._common import SharedCache, SharedRegistry, history_all, load_or_none, stable_id

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
ROLE_NAMESPACE = "namespace"

#: History pages grow from PAGE_MIN to PAGE_MAX versions while a read goes on.
PAGE_MIN = 16
PAGE_MAX = 1024

#: Checkpoints whose current writes this process remembers (see ``put_writes``).
KNOWN_WRITES = 4096

#: Writes looked up one by one per namespace in a ``list`` before it reads them all at once.
WRITES_LOOKUPS_PER_LIST = 64

#: Striped locks serializing the load-merge-save of a checkpoint's writes
#: within this process (the engine admits one writer process).
_WRITE_LOCKS = [threading.Lock() for _ in range(64)]

# (task_id, task_path, idx, channel, type, bytes)
WriteRow = tuple[str, str, int, str, str, bytes]
NO_WRITES = ormsgpack.packb([])


def _checkpoint_session(ns: str) -> int:
    return stable_id("checkpoints", ns)


def _writes_session(ns: str) -> int:
    return stable_id("writes", ns)


NAMESPACES_SESSION = stable_id("namespaces")


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


def _is(record: Any, role: str, thread_id: str, ns: str, checkpoint_id: str | None = None) -> bool:
    md = record.metadata
    return (
        md.get(K_ROLE) == role
        and md.get(K_THREAD) == thread_id
        and md.get(K_NS) == ns
        and record.key is not None
        and (checkpoint_id is None or (record.key == checkpoint_id and md.get(K_ID) == checkpoint_id))
    )


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
        self._namespaced = SharedRegistry.for_db(db, key_prefix, "checkpoint-namespaces")
        # (agent, ns, checkpoint id) -> the packed writes this process last saved for it.
        self._known = SharedCache(db, key_prefix, "checkpoint-writes", KNOWN_WRITES)

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

    def _save(self, agent: int, session: int, data: bytes, metadata: dict[str, str], key: str | None = None) -> int:
        return self._states.save(agent, session, data, state_type=STATE_TYPE, metadata=metadata, key=key)

    def _by_key(self, agent: int, session: int, key: str) -> Any:
        try:
            return self._states.load_by_key(agent, session, key)
        except NotFoundError:
            return None

    def _versions(self, agent: int, session: int, before_version: int | None = None) -> Iterator[Any]:
        """A session's versions, newest first, read a page at a time."""
        page = PAGE_MIN
        while True:
            records = self._states.history_page(agent, session, before_version=before_version, limit=page)
            yield from records
            # A short page is the last one (SPEC.md, state_history_page).
            if len(records) < page:
                return
            before_version = records[-1].version
            page = min(page * 4, PAGE_MAX)

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

    def _register_namespace(self, thread_id: str, agent: int, ns: str) -> None:
        """The thread's namespace list gets ``ns``, once per process."""
        if (thread_id, ns) in self._namespaced:
            return
        # Keyed "ns:<name>": the root namespace is "" and keys are never empty.
        self._save(agent, NAMESPACES_SESSION, b"", {K_ROLE: ROLE_NAMESPACE, K_THREAD: thread_id, K_NS: ns}, key=f"ns:{ns}")
        with SharedRegistry.lock():
            self._namespaced.add((thread_id, ns))

    def _catalog(self) -> dict[int, set[str]]:
        """Thread agent id -> the thread-id hashes registered for it."""
        out: dict[int, set[str]] = defaultdict(set)
        for r in history_all(self._states, self._catalog_agent, CATALOG_SESSION):
            if r.metadata.get(K_ROLE) == ROLE_THREAD:
                out[int(r.metadata[K_AGENT])].add(r.metadata[K_CHECK])
        return out

    def _namespaces(self, agent: int, thread_id: str) -> list[str]:
        """The namespaces a thread has written, in no promised order."""
        found: dict[str, None] = {}
        for r in self._versions(agent, NAMESPACES_SESSION):
            if r.metadata.get(K_ROLE) == ROLE_NAMESPACE and r.metadata.get(K_THREAD) == thread_id:
                found.setdefault(r.metadata[K_NS])
        return list(found)

    def _threads_of(self, agent: int) -> list[str]:
        """The thread ids stored under a thread agent (more than one only on a hash collision)."""
        found: dict[str, None] = {}
        for r in self._versions(agent, NAMESPACES_SESSION):
            thread_id = r.metadata.get(K_THREAD)
            if thread_id is not None and self._thread_agent(thread_id) == agent:
                found.setdefault(thread_id)
        return list(found)

    # --------------------------------------------------------------- decode

    def _checkpoint(self, agent: int, thread_id: str, ns: str, checkpoint_id: str) -> Any:
        record = self._by_key(agent, _checkpoint_session(ns), checkpoint_id)
        return record if record is not None and _is(record, ROLE_CHECKPOINT, thread_id, ns, checkpoint_id) else None

    def _writes(self, agent: int, thread_id: str, ns: str, checkpoint_id: str) -> bytes | None:
        """A checkpoint's packed pending writes: what this process last saved, else the engine's."""
        known = self._known.get((agent, thread_id, ns, checkpoint_id))
        if known is not None:
            return known
        record = self._by_key(agent, _writes_session(ns), checkpoint_id)
        if record is None or not _is(record, ROLE_WRITES, thread_id, ns, checkpoint_id):
            return None
        return record.data

    def _live(self, agent: int, thread_id: str, ns: str, before_version: int | None = None) -> Iterator[Any]:
        """Live checkpoint records of a namespace, latest put first, each id once."""
        seen: set[str] = set()
        for r in self._versions(agent, _checkpoint_session(ns), before_version):
            md = r.metadata
            if r.key is None or md.get(K_THREAD) != thread_id or md.get(K_NS) != ns or r.key in seen:
                continue
            seen.add(r.key)
            if md.get(K_ROLE) == ROLE_CHECKPOINT and md.get(K_ID) == r.key:
                yield r

    def _tuple(self, thread_id: str, ns: str, record: Any, writes: bytes | None) -> CheckpointTuple:
        c_type, c_bytes, m_type, m_bytes = ormsgpack.unpackb(record.data)
        checkpoint_id = record.metadata[K_ID]
        parent_id = record.metadata.get(K_PARENT)
        rows: list[WriteRow] = ormsgpack.unpackb(writes) if writes is not None else []
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

    # ---------------------------------------------------------------- reads

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        configurable = config["configurable"]
        thread_id = str(configurable["thread_id"])
        ns = configurable.get("checkpoint_ns", "")
        wanted = get_checkpoint_id(config)
        agent = self._thread_agent(thread_id)

        if wanted is None:
            record = load_or_none(self._states, agent, _checkpoint_session(ns))
            if record is None:
                return None
            if not _is(record, ROLE_CHECKPOINT, thread_id, ns, record.key):
                # A deletion marker or another thread's record on top: walk down.
                record = next(self._live(agent, thread_id, ns), None)
                if record is None:
                    return None
        else:
            record = self._checkpoint(agent, thread_id, ns, wanted)
            if record is None:
                return None
        return self._tuple(thread_id, ns, record, self._writes(agent, thread_id, ns, record.key))

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        if limit is not None and limit <= 0:
            return
        before_id = get_checkpoint_id(before) if before else None
        if config is None:
            spaces = [
                (thread_id, ns)
                for agent in self._catalog()
                for thread_id in self._threads_of(agent)
                for ns in self._namespaces(agent, thread_id)
            ]
            id_filter = None
        else:
            thread_id = str(config["configurable"]["thread_id"])
            ns = config["configurable"].get("checkpoint_ns")
            id_filter = get_checkpoint_id(config)
            namespaces = self._namespaces(self._thread_agent(thread_id), thread_id) if ns is None else [ns]
            spaces = [(thread_id, n) for n in namespaces]

        def stream(thread_id: str, ns: str) -> Iterator[tuple[str, str, str, Any]]:
            agent = self._thread_agent(thread_id)
            start = None
            if id_filter is not None:
                record = self._checkpoint(agent, thread_id, ns, id_filter)
                records: Iterator[Any] = iter([record] if record is not None else [])
            else:
                if before_id is not None:
                    # Start the page walk at the cursor's version (put order is id order).
                    cursor = self._by_key(agent, _checkpoint_session(ns), before_id)
                    start = cursor.version if cursor is not None and cursor.metadata.get(K_THREAD) == thread_id else None
                records = self._live(agent, thread_id, ns, start)
            for record in records:
                if before_id is not None and record.key >= before_id:
                    continue
                if start is not None:
                    # Below the cursor, a newer marker or copy of this id may sit
                    # above it, unseen: the id's newest record decides.
                    record = self._checkpoint(agent, thread_id, ns, record.key)
                    if record is None:
                        continue
                if filter:
                    metadata = self._metadata(record)
                    if not all(metadata.get(k) == v for k, v in filter.items()):
                        continue
                yield (record.key, thread_id, ns, record)

        merged = heapq.merge(*(stream(t, n) for t, n in spaces), key=lambda c: c[0], reverse=True)
        # A namespace's writes are looked up by key for the first few of its
        # checkpoints (a page of history); a long listing reads them all in
        # one walk of the writes session instead of one lookup each.
        lookups: dict[tuple[str, str], int] = defaultdict(int)
        walked: dict[tuple[str, str], dict[str, Any]] = {}
        for count, (checkpoint_id, thread_id, ns, record) in enumerate(merged):
            if limit is not None and count >= limit:
                return
            agent = self._thread_agent(thread_id)
            space = (thread_id, ns)
            if space in walked:
                writes = walked[space].get(checkpoint_id)
            elif lookups[space] < WRITES_LOOKUPS_PER_LIST:
                lookups[space] += 1
                writes = self._writes(agent, thread_id, ns, checkpoint_id)
            else:
                walked[space] = self._all_writes(agent, thread_id, ns)
                writes = walked[space].get(checkpoint_id)
            yield self._tuple(thread_id, ns, record, writes)

    # --------------------------------------------------------------- writes

    def _newer_than_latest(self, agent: int, ns: str, checkpoint_id: str) -> bool:
        """Whether an id is greater than the namespace's latest checkpoint's (uuid6: not put yet)."""
        latest = load_or_none(self._states, agent, _checkpoint_session(ns))
        return latest is None or latest.key is None or checkpoint_id > latest.key

    def _lock(self, agent: int, ns: str) -> threading.Lock:
        return _WRITE_LOCKS[(agent ^ _writes_session(ns)) % len(_WRITE_LOCKS)]

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
        self._register_namespace(thread_id, agent, ns)

        c_type, c_bytes = self.serde.dumps_typed(checkpoint)
        m_type, m_bytes = self.serde.dumps_typed(get_checkpoint_metadata(config, metadata))
        keys = {K_ROLE: ROLE_CHECKPOINT, K_THREAD: thread_id, K_NS: ns, K_ID: checkpoint_id}
        if parent_id:
            keys[K_PARENT] = parent_id
        known = (agent, thread_id, ns, checkpoint_id)
        with self._lock(agent, ns):
            latest = load_or_none(self._states, agent, _checkpoint_session(ns))
            self._save(agent, _checkpoint_session(ns), ormsgpack.packb([c_type, c_bytes, m_type, m_bytes]), keys, checkpoint_id)
            # Give the checkpoint an (empty) writes record unless it has one, so
            # reading its writes never has to ask Lance about a key never saved.
            # LangGraph may put a checkpoint's writes before the checkpoint
            # itself (its puts run behind, in the background): those are known
            # here. A new id (greater than the latest: uuid6) has no others; an
            # id put again is asked about.
            if self._known.get(known) is None:
                new = latest is None or latest.key is None or checkpoint_id > latest.key
                if new or self._writes(agent, thread_id, ns, checkpoint_id) is None:
                    self._save(agent, _writes_session(ns), NO_WRITES, self._writes_keys(thread_id, ns, checkpoint_id), checkpoint_id)
                    self._known.put(known, NO_WRITES)
        return _config(thread_id, ns, checkpoint_id)

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
        with self._lock(agent, ns):
            known = self._known.get((agent, thread_id, ns, checkpoint_id))
            if known is None and self._newer_than_latest(agent, ns, checkpoint_id):
                # Writes that run ahead of their checkpoint's put (LangGraph puts
                # in the background): nothing is stored for it but what this
                # process wrote, which it knows.
                current: bytes | None = None
            else:
                current = known if known is not None else self._writes(agent, thread_id, ns, checkpoint_id)
            rows = [tuple(r) for r in ormsgpack.unpackb(current)] if current is not None else []
            packed = ormsgpack.packb(_merge(rows, new_rows))
            self._save(agent, _writes_session(ns), packed, self._writes_keys(thread_id, ns, checkpoint_id), checkpoint_id)
            self._known.put((agent, thread_id, ns, checkpoint_id), packed)

    def _delete_checkpoints(self, agent: int, thread_id: str, ns: str, checkpoint_ids: Sequence[str]) -> None:
        """Markers for these checkpoints, then the surviving latest re-saved on top."""
        if not checkpoint_ids:
            return
        with self._lock(agent, ns):
            for checkpoint_id in checkpoint_ids:
                keys = self._writes_keys(thread_id, ns, checkpoint_id, ROLE_DELETED)
                self._save(agent, _checkpoint_session(ns), b"", keys, checkpoint_id)
                self._save(agent, _writes_session(ns), b"", keys, checkpoint_id)
                self._known.discard((agent, thread_id, ns, checkpoint_id))
            latest = next(self._live(agent, thread_id, ns), None)
            if latest is not None:
                self._save(agent, _checkpoint_session(ns), latest.data, dict(latest.metadata), latest.key)

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
            for done in [n for n in self._namespaced if n[0] == thread_id]:
                self._namespaced.discard(done)
        self._known.discard_where(lambda k: k[0] == agent)
        try:
            self._states.delete_agent(agent)
        except NotFoundError:  # nothing stored for this thread
            pass

    def _all_spaces(self) -> Iterator[tuple[int, str, str]]:
        for agent in self._catalog():
            for thread_id in self._threads_of(agent):
                for ns in self._namespaces(agent, thread_id):
                    yield agent, thread_id, ns

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        wanted = set(run_ids)
        if not wanted:
            return
        for agent, thread_id, ns in list(self._all_spaces()):
            doomed = [r.key for r in self._live(agent, thread_id, ns) if self._metadata(r).get("run_id") in wanted]
            self._delete_checkpoints(agent, thread_id, ns, doomed)

    def _all_writes(self, agent: int, thread_id: str, ns: str) -> dict[str, bytes]:
        """Checkpoint id -> its current packed writes, from one walk of the writes session."""
        out: dict[str, Any] = {}
        seen: set[str] = set()
        for r in self._versions(agent, _writes_session(ns)):
            if r.key is None or r.key in seen or r.metadata.get(K_THREAD) != thread_id or r.metadata.get(K_NS) != ns:
                continue
            seen.add(r.key)
            if _is(r, ROLE_WRITES, thread_id, ns, r.key):
                out[r.key] = r.data
        return out

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        source_thread_id = str(source_thread_id)
        target_thread_id = str(target_thread_id)
        source = self._thread_agent(source_thread_id)
        target = self._thread_agent(target_thread_id)
        for ns in self._namespaces(source, source_thread_id):
            live = list(self._live(source, source_thread_id, ns))
            if not live:
                continue
            writes = self._all_writes(source, source_thread_id, ns)
            self._register_thread(target_thread_id, target)
            self._register_namespace(target_thread_id, target, ns)
            with self._lock(target, ns):
                # Oldest first: the copy's latest ends up on top.
                for record in reversed(live):
                    self._save(
                        target,
                        _checkpoint_session(ns),
                        record.data,
                        {**record.metadata, K_THREAD: target_thread_id},
                        record.key,
                    )
                    w = writes.get(record.key)
                    self._save(
                        target,
                        _writes_session(ns),
                        w if w is not None else NO_WRITES,
                        self._writes_keys(target_thread_id, ns, record.key),
                        record.key,
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
            for ns in self._namespaces(agent, thread_id):
                doomed = [r.key for r in list(self._live(agent, thread_id, ns))[1:]]
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
