"""Helpers shared by the integration tests (a module of its own, since two
conftest.py files in this tree would shadow each other on import)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from langgraph.store.memory import InMemoryStore

import agentdb

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from server_support import ServedDatabase  # noqa: E402

#: Where the integrations' database lives: in process, or behind the real
#: server (agentdb.connect("http://…")); set per test by the `backend` fixture.
BACKENDS = ("embedded", "remote")
_backend = "embedded"


@pytest.fixture(params=BACKENDS, autouse=True)
def backend(request: pytest.FixtureRequest):
    """Runs a test module's every test once per backend (import it into the module)."""
    global _backend
    _backend = request.param
    try:
        yield request.param
    finally:
        _backend = "embedded"


def open_db(path: Path) -> agentdb.AgentDB:
    # No background maintenance: the tests assert on reads, never on timing.
    if _backend == "remote":
        # A server on this directory, stopped when the handle closes, so a
        # test that closes and reopens the path restarts the server on it.
        return ServedDatabase(Path(path), memory_dimension=384)  # type: ignore[return-value]
    return agentdb.connect(str(path), maintenance_interval_ms=None)


class ReferenceStore(InMemoryStore):
    """InMemoryStore with two of its quirks taken out.

    * It keeps a namespace listed after its last item is deleted (and lists
      one that was merely read); AgentDBStore lists namespaces that hold
      items, as SqliteStore does (checked in test_emptied_namespace_*).
    * It keeps an item's old vectors when the item is put again, so a re-put
      with ``index=False`` or other fields stays searchable by its old
      content; AgentDBStore searches the current version's vectors only.
    """

    def _extract_texts(self, put_ops):
        # Called after the batch's searches ran and before its puts apply.
        for namespace, key in put_ops:
            self._vectors[namespace].pop(key, None)
        return super()._extract_texts(put_ops)

    def _handle_list_namespaces(self, op):
        for ns in [ns for ns, items in self._data.items() if not items]:
            del self._data[ns]
        return super()._handle_list_namespaces(op)
