"""The exception hierarchy and the engine-code mapping."""

from __future__ import annotations

import pytest

import agentdb
from agentdb import errors

EXPECTED = {
    "invalid_argument": (agentdb.InvalidArgumentError, ValueError),
    "dimension_mismatch": (agentdb.DimensionMismatchError, agentdb.InvalidArgumentError),
    "payload_too_large": (agentdb.PayloadTooLargeError, agentdb.AgentDBError),
    "not_found": (agentdb.NotFoundError, LookupError),
    "already_exists": (agentdb.AlreadyExistsError, agentdb.AgentDBError),
    "corrupted": (agentdb.CorruptedError, agentdb.AgentDBError),
    "locked": (agentdb.LockedError, agentdb.AgentDBError),
    "read_only": (agentdb.ReadOnlyError, agentdb.AgentDBError),
    "closed": (agentdb.ClosedError, agentdb.AgentDBError),
    "cancelled": (agentdb.CancelledError, agentdb.AgentDBError),
    "model_unavailable": (agentdb.ModelUnavailableError, agentdb.AgentDBError),
    "embedding": (agentdb.EmbeddingError, agentdb.AgentDBError),
    "io": (agentdb.StorageError, agentdb.AgentDBError),
    "storage": (agentdb.StorageError, agentdb.AgentDBError),
}
# The server's own refusals, raised by the remote client (agentdb.connect("http://…")).
SERVER = {
    "unauthenticated": (agentdb.UnauthenticatedError, PermissionError),
    "forbidden": (agentdb.ForbiddenError, PermissionError),
}


@pytest.mark.parametrize("code", sorted(EXPECTED | SERVER))
def test_every_engine_code_has_its_class(code):
    cls, also = (EXPECTED | SERVER)[code]
    e = errors._from_engine(code, f"message for {code}")
    assert type(e) is cls and isinstance(e, also) and isinstance(e, agentdb.AgentDBError)
    assert e.code == code and str(e) == e.message == f"message for {code}"


def test_the_mapping_covers_exactly_the_engine_codes():
    assert set(errors._BY_CODE) == set(EXPECTED) | set(SERVER)


def test_an_unknown_future_code_is_still_an_agentdb_error():
    e = errors._from_engine("brand_new", "m")
    assert type(e) is agentdb.AgentDBError and e.code == "brand_new"


def test_class_codes_are_defaults():
    assert agentdb.NotFoundError("x").code == "not_found"
    assert agentdb.AgentDBError("x").code == "agentdb"
    assert agentdb.StorageError("x", "io").code == "io"


def test_engine_errors_raised_through_the_native_module_carry_the_message(db):
    db.vectors.create_collection("c", 2)
    with pytest.raises(agentdb.DimensionMismatchError) as e:
        db.vectors.insert("c", "a", [1, 2, 3])
    assert e.value.code == "dimension_mismatch" and "expected 2, got 3" in str(e.value)
