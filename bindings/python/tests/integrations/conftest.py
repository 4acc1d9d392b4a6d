"""Fixtures for the LangGraph/LangChain integration tests: a real AgentDB in a temp dir."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from pathlib import Path

import pytest

import agentdb

HERE = Path(__file__).parent


def open_db(path: Path) -> agentdb.AgentDB:
    # No background maintenance: the tests assert on reads, never on timing.
    return agentdb.connect(str(path), maintenance_interval_ms=None)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[agentdb.AgentDB]:
    handle = open_db(tmp_path / "db")
    try:
        yield handle
    finally:
        handle.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # When these files run under a parent pytest config (strict asyncio mode),
    # mark their coroutine tests the way `asyncio_mode = auto` would.
    for item in items:
        fn = getattr(item, "function", None)
        if fn is not None and inspect.iscoroutinefunction(fn) and HERE in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.asyncio)
