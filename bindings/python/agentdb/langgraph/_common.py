"""Helpers shared by the LangGraph checkpointer and store: stable ids and history paging.

LangGraph names things with strings (thread ids, checkpoint namespaces, store
namespaces and keys) while AgentDB's state records are addressed by
``(agent_id: u64, session_id: u64)``. :func:`stable_id` maps a tuple of strings
to a 63-bit integer with BLAKE2b; every record also carries the original
strings in its metadata, and every reader compares them, so a hash collision
can never serve one thread's or item's data as another's (a colliding record
is treated as foreign and skipped). 63 rather than 64 bits keeps ids inside
the signed range that every surface (Arrow, SQL literals, JSON) handles.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from agentdb import NotFoundError

#: ``history()`` accepts at most this many records per call (SPEC.md).
HISTORY_LIMIT_MAX = 100_000
#: First page size when reading a whole session or agent; grows on dense pages.
HISTORY_PAGE_RECORDS = 4096
_ID_MASK_63 = (1 << 63) - 1


def stable_id(*parts: str) -> int:
    """A stable non-zero 63-bit id for a tuple of strings.

    Each part is length-prefixed so that ``("a", "bc")`` and ``("ab", "c")``
    hash differently. Zero is never returned (the catalog uses session 0).
    """
    h = hashlib.blake2b(digest_size=8, person=b"agentdb-lgraph")
    for part in parts:
        raw = part.encode("utf-8")
        h.update(len(raw).to_bytes(8, "little"))
        h.update(raw)
    value = int.from_bytes(h.digest(), "little") & _ID_MASK_63
    return value or 1


def load_or_none(states: Any, agent_id: int, session_id: int | None = None) -> Any:
    """``states.load`` that returns ``None`` where the engine says NotFound."""
    try:
        return states.load(agent_id, session_id)
    except NotFoundError:
        return None


def history_all(states: Any, agent_id: int, session_id: int | None = None) -> list[Any]:
    """Every record of an agent (or one of its sessions), in no promised order.

    ``history`` returns at most 100000 records per call, newest first by
    timestamp; pages walk backwards with an inclusive ``to_ms`` bound and drop
    records already seen, so records sharing a millisecond are never lost.
    """
    seen: set[tuple[int, int]] = set()
    out: list[Any] = []
    to_ms: int | None = None
    page = HISTORY_PAGE_RECORDS
    while True:
        records = states.history(agent_id, session_id=session_id, to_ms=to_ms, limit=page)
        fresh = [r for r in records if (r.session_id, r.version) not in seen]
        for r in fresh:
            seen.add((r.session_id, r.version))
            out.append(r)
        if len(records) < page:
            return out
        if not fresh:
            # A whole page inside one millisecond: only a larger page can pass it.
            if page >= HISTORY_LIMIT_MAX:
                raise RuntimeError(
                    f"more than {HISTORY_LIMIT_MAX} state records share one millisecond"
                )
            page = min(page * 8, HISTORY_LIMIT_MAX)
            continue
        to_ms = min(r.timestamp_ms for r in records)


class SharedRegistry:
    """A process-wide set of facts already written to one database.

    Keyed by the database directory and the integration's key prefix, so every
    saver or store instance over the same database in this process shares it
    (one writer process per database is the engine's rule). It only ever
    spares a write that is known to be on disk already.
    """

    _lock = threading.Lock()
    _sets: dict[tuple[str, str, str], set[Any]] = {}

    @classmethod
    def for_db(cls, db: Any, prefix: str, kind: str) -> set[Any]:
        import os

        key = (os.path.realpath(str(db.path)), prefix, kind)
        with cls._lock:
            return cls._sets.setdefault(key, set())

    @classmethod
    def lock(cls) -> threading.Lock:
        return cls._lock


class SharedCache:
    """A process-wide, bounded map of values known to be on disk in one database.

    Keyed like ``SharedRegistry``, so every saver or store instance over the
    same database in this process shares it. It holds only what this process
    wrote (or read) and may forget any entry at any time (least recently used
    first); a miss means "ask the engine", never "absent".
    """

    _lock = threading.Lock()
    _maps: dict[tuple[str, str, str], OrderedDict[Any, Any]] = {}

    def __init__(self, db: Any, prefix: str, kind: str, capacity: int) -> None:
        import os

        key = (os.path.realpath(str(db.path)), prefix, kind)
        with SharedCache._lock:
            self._map = SharedCache._maps.setdefault(key, OrderedDict())
        self._capacity = capacity

    def get(self, key: Any) -> Any:
        with SharedCache._lock:
            value = self._map.get(key)
            if value is not None:
                self._map.move_to_end(key)
            return value

    def put(self, key: Any, value: Any) -> None:
        with SharedCache._lock:
            self._map[key] = value
            self._map.move_to_end(key)
            while len(self._map) > self._capacity:
                self._map.popitem(last=False)

    def discard(self, key: Any) -> None:
        with SharedCache._lock:
            self._map.pop(key, None)

    def discard_where(self, doomed: Any) -> None:
        with SharedCache._lock:
            for key in [k for k in self._map if doomed(k)]:
                del self._map[key]


def ordered(records: Iterable[Any]) -> list[Any]:
    """Records of one session in save order."""
    return sorted(records, key=lambda r: r.version)
