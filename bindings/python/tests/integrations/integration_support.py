"""Helpers shared by the integration tests (a module of its own, since two
conftest.py files in this tree would shadow each other on import)."""

from __future__ import annotations

from pathlib import Path

import agentdb


def open_db(path: Path) -> agentdb.AgentDB:
    # No background maintenance: the tests assert on reads, never on timing.
    return agentdb.connect(str(path), maintenance_interval_ms=None)
