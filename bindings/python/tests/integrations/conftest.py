"""Fixtures for the LangGraph/LangChain integration tests: a real AgentDB in a temp dir."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from pathlib import Path

import pytest

import agentdb
from integration_support import open_db

HERE = Path(__file__).parent


@pytest.fixture
def db(tmp_path: Path) -> Iterator[agentdb.AgentDB]:
    handle = open_db(tmp_path / "db")
    try:
        yield handle
    finally:
        handle.close()


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: object) -> None:
    # Under a parent pytest config in strict asyncio mode, mark the coroutine
    # tests of these files the way `asyncio_mode = auto` (pytest.ini here) would,
    # before pytest-asyncio looks at them. Collection itself goes on as usual.
    if (
        inspect.iscoroutinefunction(obj)
        and name.startswith("test")
        and HERE in Path(str(collector.path)).parents
    ):
        pytest.mark.asyncio(obj)
