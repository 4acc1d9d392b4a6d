"""db.vectors: collections, upserts, k-NN and range search."""

from __future__ import annotations

import numpy as np
import pytest

import agentdb


@pytest.fixture
def pts(db):
    db.vectors.create_collection("pts", 2, "l2")
    db.vectors.insert("pts", "a", [0, 0])
    db.vectors.insert("pts", "b", [3, 4], {"k": "v"})
    return db


def test_create_and_list_collections(db):
    info = db.vectors.create_collection("emb", 4)
    assert isinstance(info, agentdb.CollectionInfo)
    assert (info.name, info.dimension, info.metric) == ("emb", 4, "cosine")
    db.vectors.create_collection("a-first", 2, metric="dot")
    assert [(c.name, c.metric) for c in db.vectors.list_collections()] == [("a-first", "dot"), ("emb", "cosine")]
    assert repr(info) == "CollectionInfo(name='emb', dimension=4, metric='cosine')"


def test_insert_get_upsert_delete_count(pts):
    rec = pts.vectors.get("pts", "b")
    assert isinstance(rec, agentdb.VectorRecord)
    assert (rec.id, rec.vector, rec.metadata) == ("b", [3.0, 4.0], {"k": "v"})
    assert pts.vectors.count("pts") == 2
    pts.vectors.insert("pts", "a", [10, 10])
    assert pts.vectors.get("pts", "a").vector == [10.0, 10.0]
    assert pts.vectors.count("pts") == 2
    pts.flush()
    pts.vectors.delete("pts", "b")
    assert pts.vectors.count("pts") == 1
    with pytest.raises(agentdb.NotFoundError):
        pts.vectors.get("pts", "b")
    with pytest.raises(agentdb.NotFoundError):
        pts.vectors.delete("pts", "b")


def test_insert_many_from_numpy_and_lists(db):
    db.vectors.create_collection("m", 3, "cosine")
    vecs = np.eye(3, dtype=np.float32)
    db.vectors.insert_many("m", ["x", "y", "z"], vecs, [{"axis": "x"}, None, {"axis": "z"}])
    assert db.vectors.count("m") == 3
    assert db.vectors.get("m", "z").metadata == {"axis": "z"}
    assert db.vectors.get("m", "y").metadata == {}
    db.vectors.insert_many("m", ("p", "q"), [[1, 1, 0], np.array([0, 1, 1], dtype=np.float64)])
    assert db.vectors.get("m", "q").vector == [0.0, 1.0, 1.0]
    hits = db.vectors.search("m", [1, 0, 0], k=2)
    assert [h.id for h in hits] == ["x", "p"]
    assert hits[0].distance == pytest.approx(0.0, abs=1e-6)
    assert hits[1].distance == pytest.approx(1 - 1 / np.sqrt(2), rel=1e-5)


def test_insert_many_is_all_or_nothing(db):
    db.vectors.create_collection("m", 2, "l2")
    with pytest.raises(agentdb.DimensionMismatchError):
        db.vectors.insert_many("m", ["ok", "bad"], [[1, 2], [1, 2, 3]])
    with pytest.raises(agentdb.InvalidArgumentError):
        db.vectors.insert_many("m", ["ok", "bad"], [[1, 2], [float("nan"), 0]])
    with pytest.raises(agentdb.InvalidArgumentError, match="2 ids but 1 vectors"):
        db.vectors.insert_many("m", ["a", "b"], [[1, 2]])
    with pytest.raises(agentdb.InvalidArgumentError, match="metadatas"):
        db.vectors.insert_many("m", ["a"], [[1, 2]], [None, None])
    with pytest.raises(agentdb.InvalidArgumentError):
        db.vectors.insert_many("m", [], np.zeros((0, 2), np.float32))
    assert db.vectors.count("m") == 0


def test_knn_search_distances_filters_and_ties(pts):
    hits = pts.vectors.search("pts", [0, 0], 2)
    assert [(h.id, h.distance) for h in hits] == [("a", 0.0), ("b", 5.0)]
    assert isinstance(hits[0], agentdb.VectorHit) and hits[1].vector == [3.0, 4.0] and hits[1].metadata == {"k": "v"}
    assert [h.id for h in pts.vectors.search("pts", [0, 0], 5, metadata={"k": "v"})] == ["b"]
    pts.vectors.insert("pts", "c", [0, 0])
    assert [h.id for h in pts.vectors.search("pts", [0, 0], 2)] == ["a", "c"]
    assert [h.id for h in pts.vectors.search("pts", np.array([3, 4], np.float32), 1, nprobes=4, refine_factor=2)] == ["b"]


def test_range_search(pts):
    assert [h.id for h in pts.vectors.search_range("pts", [0, 0], 4.9)] == ["a"]
    assert [h.id for h in pts.vectors.search_range("pts", [0, 0], 5.0, max_results=10)] == ["a", "b"]
    assert [h.id for h in pts.vectors.search_range("pts", [0, 0], 5.0, max_results=1)] == ["a"]
    assert [h.id for h in pts.vectors.search_range("pts", [0, 0], 100, metadata={"k": "v"})] == ["b"]


def test_create_index_keeps_results(db):
    db.vectors.create_collection("big", 8, "l2")
    rng = np.random.default_rng(7)
    vecs = rng.standard_normal((300, 8)).astype(np.float32)
    db.vectors.insert_many("big", [f"v{i}" for i in range(300)], vecs)
    db.vectors.create_index("big")
    assert db.stats()["tables"]  # the index build left a readable database
    hits = db.vectors.search("big", vecs[17], 1, nprobes=8, refine_factor=10)
    assert hits[0].id == "v17"
    assert db.vectors.count("big") == 300


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda db: db.vectors.create_collection("pts", 2, "l2"), agentdb.AlreadyExistsError),
        (lambda db: db.vectors.create_collection("bad name", 2), agentdb.InvalidArgumentError),
        (lambda db: db.vectors.create_collection("x", 0), agentdb.InvalidArgumentError),
        (lambda db: db.vectors.create_collection("x", 2, "manhattan"), agentdb.InvalidArgumentError),
        (lambda db: db.vectors.insert("pts", "c", [1, 2, 3]), agentdb.DimensionMismatchError),
        (lambda db: db.vectors.insert("pts", "", [1, 2]), agentdb.InvalidArgumentError),
        (lambda db: db.vectors.insert("pts", "c", [1, float("nan")]), agentdb.InvalidArgumentError),
        (lambda db: db.vectors.insert("pts", "c", np.zeros((1, 2), np.float32)), agentdb.InvalidArgumentError),
        (lambda db: db.vectors.insert("nope", "c", [1, 2]), agentdb.NotFoundError),
        (lambda db: db.vectors.get("pts", "zz"), agentdb.NotFoundError),
        (lambda db: db.vectors.count("nope"), agentdb.NotFoundError),
        (lambda db: db.vectors.search("pts", [0, 0, 0], 1), agentdb.DimensionMismatchError),
        (lambda db: db.vectors.search("pts", [0, 0], 0), agentdb.InvalidArgumentError),
        (lambda db: db.vectors.search("pts", [0, 0], -1), agentdb.InvalidArgumentError),
        (lambda db: db.vectors.search("nope", [0, 0], 1), agentdb.NotFoundError),
        (lambda db: db.vectors.search_range("pts", [0, 0], float("inf")), agentdb.InvalidArgumentError),
        (lambda db: db.vectors.search_range("pts", [0, 0], 1.0, max_results=0), agentdb.InvalidArgumentError),
        (lambda db: db.vectors.create_index("nope"), agentdb.NotFoundError),
    ],
    ids=["exists", "bad_name", "dim_0", "metric", "dim_mismatch", "empty_id", "nan", "2d_vector", "no_collection",
         "missing_id", "count_missing", "query_dim", "k_0", "k_negative", "search_missing", "radius_inf",
         "max_results_0", "index_missing"],
)  # fmt: skip
def test_errors(pts, call, error):
    with pytest.raises(error) as e:
        call(pts)
    assert e.value.code == error.code
    assert pts.vectors.count("pts") == 2


@pytest.mark.parametrize(
    "call",
    [
        lambda db: db.vectors.insert("pts", None, [1, 2]),
        lambda db: db.vectors.insert(None, "c", [1, 2]),
        lambda db: db.vectors.insert("pts", "c", None),
        lambda db: db.vectors.insert("pts", "c", {"x": 1}),
        lambda db: db.vectors.insert_many("pts", "cd", [[1, 2], [3, 4]]),
        lambda db: db.vectors.search("pts", [0, 0], 1.5),
        lambda db: db.vectors.create_collection("x", "2"),
    ],
    ids=["none_id", "none_collection", "none_vector", "dict_vector", "str_ids", "float_k", "str_dimension"],
)
def test_wrong_python_types_are_type_errors(pts, call):
    with pytest.raises(TypeError):
        call(pts)
    assert pts.vectors.count("pts") == 2
