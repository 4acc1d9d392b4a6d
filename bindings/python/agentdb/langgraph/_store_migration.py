"""One-time migration of a store written by the states-based ``AgentDBStore``
(before ``db.items`` existed) to items.

That store kept every item as agent-state versions: the namespace ``NS`` was
the agent ``stable_id(key_prefix, "store-namespace", *NS)``, a key the session
``stable_id("item", key)``, each put a version (value as JSON data; namespace,
key, times, TTL, vector stamp and ids in metadata), each delete a ``deleted``
version; a catalog agent ``stable_id(key_prefix, "store-catalog")`` listed the
namespaces. Its vectors used the layout and collection the item store uses
now, so they stay where they are and keep matching their items' stamps.

On open, :func:`migrate_states_store` looks for that catalog (one lookup; a
database without one costs nothing more). If found, it reads the old store
once, writes its live items as items (one ``write`` per 100,000), then
deletes the old agents, the catalog last. It is idempotent: a run cut short
before the catalog is deleted runs again on the next open and writes the
same items again. What does not carry over: created/updated times become the
migration's time (the engine sets them), and an item with a TTL gets its
full TTL again from the migration (as if read with ``refresh_ttl``).
"""

from __future__ import annotations

import json
import time
import warnings
from typing import Any

from agentdb import NotFoundError, ReadOnlyError

from ._common import history_all, load_or_none, stable_id

__all__ = ["migrate_states_store"]

K_ROLE = "ls.role"
K_NS = "ls.namespace"
K_KEY = "ls.key"
K_EXPIRES = "ls.expires_ms"
K_TTL = "ls.ttl_minutes"
K_STAMP = "ls.stamp"
K_VECTORS = "ls.vectors"
ROLE_ITEM = "item"
ROLE_NAMESPACE = "namespace"
#: ``items.write`` takes at most this many writes per call (SPEC.md, Limits).
WRITE_BATCH_MAX = 100_000
MS_PER_MINUTE = 60_000


def _live_items(db: Any, key_prefix: str, namespace: tuple[str, ...], now_ms: int) -> list[tuple[str, Any]]:
    """The newest record of each key of one old namespace, if it is a live item."""
    ns_json = json.dumps(list(namespace), ensure_ascii=False, separators=(",", ":"))
    newest: dict[str, Any] = {}
    agent = stable_id(key_prefix, "store-namespace", *namespace)
    for r in history_all(db.states, agent):
        # Records of another namespace or key that hashed here carry their own strings.
        if r.metadata.get(K_NS) != ns_json or K_KEY not in r.metadata:
            continue
        key = r.metadata[K_KEY]
        if key not in newest or r.version > newest[key].version:
            newest[key] = r
    out = []
    for key, r in newest.items():
        expires = r.metadata.get(K_EXPIRES)
        if r.metadata.get(K_ROLE) == ROLE_ITEM and (expires is None or int(expires) > now_ms):
            out.append((key, r))
    return out


def migrate_states_store(db: Any, key_prefix: str, root: tuple[str, ...]) -> int:
    """Moves a states-based store under ``key_prefix`` to items under ``root``;
    returns how many items it wrote (0 when there was nothing to migrate)."""
    catalog = stable_id(key_prefix, "store-catalog")
    if load_or_none(db.states, catalog) is None:
        return 0
    namespaces = sorted(
        {
            tuple(json.loads(r.metadata[K_NS]))
            for r in history_all(db.states, catalog)
            if r.metadata.get(K_ROLE) == ROLE_NAMESPACE and K_NS in r.metadata
        }
    )
    now_ms = time.time_ns() // 1_000_000
    writes: list[dict[str, Any]] = []
    for namespace in namespaces:
        for key, r in _live_items(db, key_prefix, namespace, now_ms):
            metadata = {K_VECTORS: r.metadata.get(K_VECTORS, "[]")}
            if K_STAMP in r.metadata:
                metadata[K_STAMP] = r.metadata[K_STAMP]
            write: dict[str, Any] = {
                "namespace": (*root, *namespace),
                "key": key,
                "value": json.loads(r.data),
                "metadata": metadata,
            }
            if K_TTL in r.metadata:
                write["ttl_ms"] = max(1, round(float(r.metadata[K_TTL]) * MS_PER_MINUTE))
            writes.append(write)
    try:
        for start in range(0, len(writes), WRITE_BATCH_MAX):
            db.items.write(writes[start : start + WRITE_BATCH_MAX])
        for namespace in namespaces:
            try:
                db.states.delete_agent(stable_id(key_prefix, "store-namespace", *namespace))
            except NotFoundError:
                pass
        db.states.delete_agent(catalog)
    except ReadOnlyError:
        warnings.warn(
            f"the LangGraph store {key_prefix!r} in {db.path} was written by an older AgentDBStore and is "
            "migrated to items on the first writable open; until then this read-only store sees none of it",
            stacklevel=3,
        )
        return 0
    return len(writes)
