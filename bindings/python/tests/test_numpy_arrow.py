"""numpy inputs (zero-copy for contiguous float32) and pyarrow outputs (Arrow PyCapsule stream)."""

from __future__ import annotations

import array
import json

import numpy as np
import pyarrow as pa
import pytest

import agentdb
from agentdb import _native


@pytest.mark.parametrize(
    "vector, borrowed",
    [
        (np.array([1, 2, 3], dtype=np.float32), True),
        (np.zeros((4, 3), dtype=np.float32)[1], True),  # a C-contiguous row of a matrix
        (array.array("f", [1, 2, 3]), True),
        (memoryview(np.ones(3, dtype=np.float32)), True),
        (np.zeros(6, dtype=np.float32)[::2], False),  # strided: copied
        (np.array([1, 2, 3], dtype=np.float64), False),
        (np.array([1, 2, 3], dtype=np.int64), False),
        (np.array([1, 2, 3], dtype=">f4"), False),  # byte-swapped: converted, never read raw
        (np.array([1, 2, 3], dtype=">f8"), False),
        (np.array([1, 2, 3], dtype=np.float16), False),
        ([1.0, 2.0, 3.0], False),
        ((1, 2, 3), False),
    ],
    ids=["f32", "f32_row", "array_f", "memoryview", "strided", "f64", "int64", "big_endian_f32", "big_endian_f64",
         "f16", "list", "tuple"],
)
def test_vector_inputs(db, vector, borrowed):
    assert _native._vector_is_borrowed(vector) is borrowed
    db.vectors.create_collection("c", 3, "l2")
    db.vectors.insert("c", "v", vector)
    assert db.vectors.get("c", "v").vector == [float(x) for x in np.asarray(vector, dtype=np.float32)]
    assert db.vectors.search("c", vector, 1)[0].distance == pytest.approx(0.0, abs=1e-6)


def test_a_borrowed_array_is_read_in_place_not_snapshotted_at_conversion(db):
    # The query buffer is the caller's: mutating it between calls changes the next result.
    db.vectors.create_collection("c", 3, "l2")
    db.vectors.insert_many("c", ["x", "y"], np.eye(3, dtype=np.float32)[:2])
    q = np.array([1, 0, 0], dtype=np.float32)
    assert db.vectors.search("c", q, 1)[0].id == "x"
    q[:] = [0, 1, 0]
    assert db.vectors.search("c", q, 1)[0].id == "y"


def test_matrix_inputs(db):
    db.vectors.create_collection("c", 2, "l2")
    db.vectors.insert_many("c", ["a", "b"], np.array([[1, 2], [3, 4]], dtype=np.float32))
    db.vectors.insert_many("c", ["c", "d"], np.array([[5, 6], [7, 8]], dtype=np.float64))
    db.vectors.insert_many("c", ["e", "f"], np.asfortranarray(np.array([[9, 10], [11, 12]], dtype=np.float32)))
    db.vectors.insert_many("c", ["g"], [np.array([13, 14], dtype=np.float32)])
    db.vectors.insert_many("c", ["h", "i"], np.array([[15, 16], [17, 18]], dtype=">f4"))
    db.vectors.insert_many("c", ["j"], (np.full(2, 19.0) for _ in range(1)))
    got = {i: db.vectors.get("c", i).vector for i in "abcdefghij"}
    assert got == {"a": [1, 2], "b": [3, 4], "c": [5, 6], "d": [7, 8], "e": [9, 10], "f": [11, 12], "g": [13, 14],
                   "h": [15, 16], "i": [17, 18], "j": [19, 19]}  # fmt: skip
    with pytest.raises(agentdb.InvalidArgumentError, match="1-dimensional"):
        db.vectors.insert("c", "z", np.zeros((1, 2), np.float32))


def test_history_arrow(db):
    db.states.save(1, 1, b"one", metadata={"k": "v"})
    db.states.save(1, 1, b"two", state_type="task_state", key="ck/2")
    t = db.states.history_arrow(1)
    assert isinstance(t, pa.Table) and t.num_rows == 2
    assert t.schema.names == ["agent_id", "session_id", "version", "timestamp_ms", "state_type", "data", "metadata",
                              "checksum", "key"]  # fmt: skip
    assert t.schema.field("key").type == pa.utf8() and t.column("key").to_pylist() == ["ck/2", None]
    assert t.schema.field("data").type == pa.binary() and t.schema.field("agent_id").type == pa.uint64()
    assert t.column("version").to_pylist() == [2, 1]
    assert t.column("data").to_pylist() == [b"two", b"one"]
    assert [json.loads(m) for m in t.column("metadata").to_pylist()] == [{}, {"k": "v"}]
    rows = db.states.history(1)
    assert t.column("checksum").to_pylist() == [r.checksum for r in rows]
    assert t.column("timestamp_ms").to_pylist() == [r.timestamp_ms for r in rows]
    empty = db.states.history_arrow(99)
    assert empty.num_rows == 0 and empty.schema == t.schema


def test_retrieve_arrow(db):
    mid = db.memories.store(1, "likes tea", embedding=[1, 0, 0], ttl_ms=60_000, metadata={"k": "v"})
    db.memories.store(1, "met Ana", embedding=[0, 1, 0])
    t = db.memories.retrieve_arrow(1, vector=np.array([1, 0, 0], np.float32), record_access=False)
    assert t.num_rows == 2
    first = t.to_pylist()[0]
    assert first["memory_id"] == mid and first["content"] == "likes tea" and json.loads(first["metadata"]) == {"k": "v"}
    assert first["embedding"] == [1.0, 0.0, 0.0] and first["expires_at_ms"] is not None
    assert t.to_pylist()[1]["expires_at_ms"] is None
    assert t.schema.field("embedding").type == pa.list_(pa.field("item", pa.float32()), 3)
    listed = db.memories.retrieve(1, vector=[1, 0, 0], record_access=False)
    assert t.column("score").to_pylist() == pytest.approx([h.score for h in listed], rel=1e-6)


def test_rag_arrow(db):
    db.rag.index_document("tea", "Green tea is brewed cool.", chunk_vectors=[[1, 0, 0]])
    db.rag.index_document("coffee", "Espresso is brewed hot.", chunk_vectors=[[0, 1, 0]])
    sem = db.rag.semantic_search_arrow(vector=[1, 0, 0], limit=2)
    assert sem.column("doc_id").to_pylist() == ["tea", "coffee"]
    assert sem.schema.names == ["chunk_id", "doc_id", "position", "start_char", "end_char", "content", "score"]
    fts = db.rag.full_text_search_arrow("espresso")
    assert fts.column("chunk_id").to_pylist() == ["coffee#0"]
    hyb = db.rag.hybrid_search_arrow("espresso", vector=[0, 1, 0], fusion="rrf", limit=1)
    assert hyb.column("doc_id").to_pylist() == ["coffee"]


def test_vector_search_arrow(db):
    db.vectors.create_collection("c", 2, "l2")
    db.vectors.insert_many("c", ["a", "b"], [[0, 0], [3, 4]], [None, {"k": "v"}])
    t = db.vectors.search_arrow("c", [0, 0], 2)
    assert t.column("id").to_pylist() == ["a", "b"]
    assert t.column("distance").to_pylist() == [0.0, 5.0]
    assert t.column("vector").to_pylist() == [[0.0, 0.0], [3.0, 4.0]]
    assert [json.loads(m) for m in t.column("metadata").to_pylist()] == [{}, {"k": "v"}]
    assert db.vectors.search_arrow("c", [0, 0], 2, metadata={"k": "v"}).column("id").to_pylist() == ["b"]


def test_the_capsule_protocol_directly(db):
    db.states.save(1, 1, b"x")
    stream = db._db.query_history_arrow(1, None, None, None, 10)
    assert isinstance(stream, _native.ArrowStream) and len(stream) == stream.num_rows == 1
    assert "1 rows" in repr(stream)
    capsule = stream.__arrow_c_stream__()
    assert type(capsule).__name__ == "PyCapsule" and "arrow_array_stream" in repr(capsule)
    # Each export is independent: consume one, drop one unconsumed, read again.
    assert pa.RecordBatchReader._import_from_c_capsule(capsule).read_all().num_rows == 1
    del capsule
    stream.__arrow_c_stream__()  # dropped unconsumed: released by its destructor
    assert pa.table(stream).num_rows == 1
    assert pa.table(stream).num_rows == 1
