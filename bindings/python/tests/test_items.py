"""db.items: JSON values by namespace and key (SPEC.md, "Items"), through the real engine."""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections import OrderedDict

import pytest

import agentdb


def test_put_get_round_trips_json_values(db):
    value = {"s": "日本語 'q' \"dq\"", "i": -(2**63), "u": 2**64 - 1, "f": 1.5, "t": True, "n": None,
             "l": [1, [2, {"x": []}]], "tuple": (1, 2), "od": OrderedDict(b=1, a=2)}  # fmt: skip
    item = db.items.put(("users", "u1"), "prefs", value, metadata={"source": "ui"})
    want = dict(value, tuple=[1, 2], od={"b": 1, "a": 2})
    assert item.value == want and list(item.value["od"]) == ["b", "a"]  # key order kept
    assert (item.namespace, item.key, item.metadata) == (("users", "u1"), "prefs", {"source": "ui"})
    assert item.ttl_ms is None and item.expires_at_ms is None
    assert item.created_at_ms == item.updated_at_ms > 0
    got = db.items.get(["users", "u1"], "prefs")  # a list of labels works as well as a tuple
    assert got == item and got.value == want
    assert isinstance(got.value["f"], float) and isinstance(got.value["u"], int)
    assert got.value is not got.value  # a fresh copy on each read
    for scalar in ["text", 3, 2.5, True, None, []]:
        assert db.items.put(("scalars",), repr(scalar), scalar).value == scalar
    assert db.items.get(("users", "u1"), "other") is None
    assert db.items.get(("users",), "prefs") is None
    assert "Item(namespace=('users', 'u1'), key='prefs'" in repr(got)


def test_upsert_keeps_created_and_delete_reports(db):
    first = db.items.put(("n",), "k", {"v": 1})
    time.sleep(0.005)
    second = db.items.put(("n",), "k", {"v": 2})
    assert second.created_at_ms == first.created_at_ms < second.updated_at_ms
    assert db.items.delete(("n",), "k") is True
    assert db.items.delete(("n",), "k") is False
    assert db.items.get(("n",), "k") is None
    third = db.items.put(("n",), "k", {"v": 3})
    assert third.created_at_ms > first.created_at_ms  # a put over a deleted item starts a new one


def test_write_applies_in_order_all_or_nothing(db):
    db.items.put(("a",), "old", 0)
    report = db.items.write([
        {"namespace": ("a",), "key": "x", "value": {"n": 1}, "metadata": {"m": "1"}},
        {"namespace": ("a",), "key": "y", "value": {"n": 2}, "ttl_ms": 60_000},
        {"namespace": ("a",), "key": "x", "value": {"n": 3}},
        {"namespace": ("a",), "key": "old", "delete": True},
        {"namespace": ("a",), "key": "never", "delete": True},
    ])  # fmt: skip
    assert (report.put, report.deleted) == (3, 1)
    assert repr(report) == "ItemWriteReport(put=3, deleted=1)"
    assert db.items.get(("a",), "x").value == {"n": 3} and db.items.get(("a",), "x").metadata == {}
    y = db.items.get(("a",), "y")
    assert y.ttl_ms == 60_000 and y.expires_at_ms == y.updated_at_ms + 60_000
    assert db.items.get(("a",), "old") is None
    # One bad write refuses the whole batch.
    with pytest.raises(agentdb.InvalidArgumentError):
        db.items.write([{"namespace": ("a",), "key": "z", "value": 1}, {"namespace": ("a", ""), "key": "k", "value": 1}])
    assert db.items.get(("a",), "z") is None


def test_get_many_in_order_with_gaps(db):
    db.items.write([{"namespace": ("g", str(i)), "key": "k", "value": i} for i in range(5)])
    got = db.items.get_many([(("g", "3"), "k"), (["g", "9"], "k"), (("g", "0"), "k"), (("g", "3"), "k")])
    assert [None if i is None else i.value for i in got] == [3, None, 0, 3]
    assert db.items.get_many([]) == []


def test_search_filters_pages_and_totals(db):
    db.items.write([
        {"namespace": ("users", "u1"), "key": "a", "value": {"n": 1, "tag": "red"}},
        {"namespace": ("users", "u1"), "key": "b", "value": {"n": 5, "tag": "blue", "deep": {"x": [1, 2]}}},
        {"namespace": ("users", "u2"), "key": "a", "value": {"n": 7, "tag": "red"}, "metadata": {"src": "ui"}},
        {"namespace": ("users2",), "key": "a", "value": {"n": 1, "tag": "red"}},
    ])  # fmt: skip
    page = db.items.search(("users",), filter={"tag": "red"})
    assert [(i.namespace, i.key) for i in page.items] == [(("users", "u1"), "a"), (("users", "u2"), "a")]
    assert page.total == 2 and repr(page) == "ItemPage(total=2, items=<2 items>)"
    assert [i.key for i in db.items.search(("users",), filter={"n": {"$gt": 1, "$lte": 7}}).items] == ["b", "a"]
    assert [i.key for i in db.items.search(("users",), filter={"deep": {"x": [1, 2]}}).items] == ["b"]
    assert db.items.search(("users",), filter={"n": 1.0}).total == 1  # numbers by value
    assert db.items.search(("users",), metadata={"src": "ui"}).total == 1
    assert db.items.search().total == 4  # every item
    assert db.items.search(("users",), limit=1, offset=1).total == 3
    assert len(db.items.search(("users",), limit=1, offset=1).items) == 1
    assert db.items.search(("users",), filter={}).total == 3


def test_search_refresh_ttl_and_get_many_refresh(db):
    db.items.put(("t",), "k", {"v": 1}, ttl_ms=600_000)
    before = db.items.get(("t",), "k").expires_at_ms
    time.sleep(0.01)
    [refreshed] = db.items.get_many([(("t",), "k")], refresh_ttl=True)
    assert refreshed.expires_at_ms > before
    assert db.items.get(("t",), "k").expires_at_ms == refreshed.expires_at_ms
    time.sleep(0.01)
    [again] = db.items.search(("t",), refresh_ttl=True).items
    assert again.expires_at_ms > refreshed.expires_at_ms


def test_ttl_expiry_and_sweep(db):
    db.items.put(("t",), "short", 1, ttl_ms=1)
    db.items.put(("t",), "long", 2, ttl_ms=3_600_000)
    db.items.put(("gone",), "short", 3, ttl_ms=1)
    time.sleep(0.01)
    assert db.items.get(("t",), "short") is None
    assert [i.key for i in db.items.search(("t",)).items] == ["long"]
    assert db.items.list_namespaces() == [("t",)]
    assert db.items.sweep_expired() == 2
    assert db.items.sweep_expired() == 0


def test_list_namespaces(db):
    for ns in [("users", "u1"), ("users", "u2"), ("users", "u2", "notes"), ("teams", "t1")]:
        db.items.put(ns, "k", 1)
    assert db.items.list_namespaces() == [("teams", "t1"), ("users", "u1"), ("users", "u2"), ("users", "u2", "notes")]
    assert db.items.list_namespaces(("users",), max_depth=2) == [("users", "u1"), ("users", "u2")]
    assert db.items.list_namespaces(suffix=("notes",)) == [("users", "u2", "notes")]
    assert db.items.list_namespaces(("*", "u2")) == [("users", "u2"), ("users", "u2", "notes")]
    assert db.items.list_namespaces(max_depth=1, limit=1, offset=1) == [("users",)]
    db.items.delete(("users", "u2", "notes"), "k")
    assert ("users", "u2", "notes") not in db.items.list_namespaces()


def test_persists_across_flush_and_reopen(db_path, make_db):
    db = make_db(db_path)
    db.items.put(("p",), "k", {"v": [1, 2]}, metadata={"m": "x"}, ttl_ms=3_600_000)
    db.flush()
    db.items.put(("p",), "k2", {"v": 2})
    db.close()
    db = make_db(db_path)
    got = db.items.get(("p",), "k")
    assert (got.value, got.metadata, got.ttl_ms) == ({"v": [1, 2]}, {"m": "x"}, 3_600_000)
    assert db.items.search(("p",)).total == 2
    assert db.items.list_namespaces() == [("p",)]


@pytest.mark.parametrize(
    "namespace, key",
    [((), "k"), (("a", ""), "k"), (("a\0b",), "k"), (("a",), "k\0"), (("a",) * 65, "k"), (("x" * 1025,), "k"),
     (("a",), "k" * 1025)],  # fmt: skip
)
def test_bad_addresses_are_invalid_argument(db, namespace, key):
    with pytest.raises(agentdb.InvalidArgumentError):
        db.items.put(namespace, key, 1)
    with pytest.raises(agentdb.InvalidArgumentError):
        db.items.get(namespace, key)
    with pytest.raises(agentdb.InvalidArgumentError):
        db.items.get_many([(namespace, key)])
    with pytest.raises(agentdb.InvalidArgumentError):
        db.items.delete(namespace, key)
    with pytest.raises(agentdb.InvalidArgumentError):
        db.items.write([{"namespace": namespace, "key": key, "delete": True}])
    assert db.items.search().total == 0


def test_wrong_python_types_are_type_errors(db):
    with pytest.raises(TypeError):
        db.items.put("users", "k", 1)  # a str is not a tuple of labels
    with pytest.raises(TypeError):
        db.items.search("users")
    with pytest.raises(TypeError):
        db.items.list_namespaces(suffix="users")
    with pytest.raises(TypeError):
        db.items.put(("a",), 7, 1)
    with pytest.raises(TypeError):
        db.items.put(("a", 1), "k", 1)
    with pytest.raises(TypeError):
        db.items.write([("a", "k", 1)])


@pytest.mark.parametrize(
    "value, error",
    [({1, 2}, TypeError), (b"bytes", TypeError), ({1: "int key"}, TypeError), ({"d": object()}, TypeError),
     ([1, {"x": float("nan")}], agentdb.InvalidArgumentError), (math.inf, agentdb.InvalidArgumentError),
     (2**64, agentdb.InvalidArgumentError), (-(2**63) - 1, agentdb.InvalidArgumentError)],  # fmt: skip
)
def test_values_that_are_not_json_are_refused(db, value, error):
    with pytest.raises(error):
        db.items.put(("a",), "k", value)
    with pytest.raises(error):
        db.items.write([{"namespace": ("a",), "key": "k", "value": value}])
    with pytest.raises(error):
        db.items.search(("a",), filter={"f": value})
    assert db.items.get(("a",), "k") is None


def test_deep_nesting_is_refused_not_a_crash(db):
    ok = []
    for _ in range(126):
        ok = [ok]
    assert db.items.put(("a",), "deep", ok).value == ok  # 127 containers: readable back
    assert db.items.get(("a",), "deep").value == ok
    too_deep = [ok]
    with pytest.raises(agentdb.InvalidArgumentError):
        db.items.put(("a",), "deeper", too_deep)
    very = []
    for _ in range(100_000):
        very = {"x": very}
    with pytest.raises(agentdb.InvalidArgumentError):
        db.items.put(("a",), "deepest", very)


@pytest.mark.parametrize(
    "flt",
    [{"n": {"$regex": "1"}}, {"n": {"$gt": [1]}}, {"n": {"$lt": None}}, {"n": {"$gte": {"a": 1}}}, ["n"], "n", 3,
     {"a": {"b": {"$in": [1]}}}],  # fmt: skip
)
def test_bad_filters_are_invalid_argument_never_no_match(db, flt):
    db.items.put(("a",), "k", {"n": 1})
    with pytest.raises(agentdb.InvalidArgumentError):
        db.items.search(("a",), filter=flt)


def test_bad_pages_and_writes(db):
    for kwargs in [{"limit": 0}, {"limit": 10_001}, {"offset": 1_000_001}]:
        with pytest.raises(agentdb.InvalidArgumentError):
            db.items.search(**kwargs)
    for kwargs in [{"limit": 0}, {"max_depth": 0}]:
        with pytest.raises(agentdb.InvalidArgumentError):
            db.items.list_namespaces(**kwargs)
    with pytest.raises(agentdb.InvalidArgumentError):
        db.items.search(limit=-1)
    with pytest.raises(agentdb.InvalidArgumentError):
        db.items.put(("a",), "k", 1, ttl_ms=0)
    with pytest.raises(agentdb.InvalidArgumentError):
        db.items.put(("a",), "k", 1, ttl_ms=-5)
    with pytest.raises(agentdb.InvalidArgumentError):
        db.items.put(("a",), "k", 1, metadata={"": "empty key"})
    bad_writes = [
        [],
        [{"namespace": ("a",), "key": "k"}],  # neither a value nor a delete
        [{"namespace": ("a",), "key": "k", "value": 1, "colour": "red"}],  # unknown key
        [{"namespace": ("a",), "key": "k", "value": 1, "delete": True}],  # both
        [{"namespace": ("a",), "key": "k", "delete": True, "ttl_ms": 5}],
        [{"key": "k", "value": 1}],
        [{"namespace": ("a",), "value": 1}],
    ]
    for writes in bad_writes:
        with pytest.raises(agentdb.InvalidArgumentError):
            db.items.write(writes)
    assert db.items.search().total == 0


def test_payload_limit_counts_the_value(db_path, make_db):
    db = make_db(db_path, max_payload_bytes=1024)
    db.items.put(("a",), "k", "x" * 900)
    with pytest.raises(agentdb.PayloadTooLargeError):
        db.items.put(("a",), "k", "x" * 2000)
    assert db.items.get(("a",), "k").value == "x" * 900


def test_read_only_and_closed(db_path, make_db):
    db = make_db(db_path)
    db.items.put(("a",), "k", 1, ttl_ms=3_600_000)
    db.flush()
    ro = make_db(db_path, read_only=True)
    assert ro.items.get(("a",), "k").value == 1
    assert ro.items.search(("a",)).total == 1
    with pytest.raises(agentdb.ReadOnlyError):
        ro.items.put(("a",), "k", 2)
    with pytest.raises(agentdb.ReadOnlyError):
        ro.items.sweep_expired()
    with pytest.raises(agentdb.ReadOnlyError):
        ro.items.get_many([(("a",), "k")], refresh_ttl=True)
    db.close()
    with pytest.raises(agentdb.ClosedError):
        db.items.get(("a",), "k")


def test_threads_share_one_database(db):
    def writer(t: int) -> None:
        for i in range(50):
            db.items.put(("t", str(t)), f"k{i}", {"t": t, "i": i})

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert db.items.search(("t",), limit=1000).total == 200
    assert db.items.search(("t",), filter={"i": {"$gte": 45}}).total == 20


def test_async_items(db_path):
    async def main() -> None:
        async with await agentdb.connect_async(db_path, maintenance_interval_ms=None) as adb:
            item = await adb.items.put(("a",), "k", {"v": 1}, metadata={"m": "1"})
            assert item.value == {"v": 1}
            report = await adb.items.write([{"namespace": ("a",), "key": "j", "value": 2}])
            assert report.put == 1
            assert (await adb.items.get(("a",), "j")).value == 2
            assert [i and i.value for i in await adb.items.get_many([(("a",), "k"), (("b",), "k")])] == [{"v": 1}, None]
            page = await adb.items.search(("a",), filter={"v": 1})
            assert page.total == 1 and page.items[0].key == "k"
            assert await adb.items.list_namespaces() == [("a",)]
            assert await adb.items.delete(("a",), "k") is True
            assert await adb.items.sweep_expired() == 0
            results = await asyncio.gather(*(adb.items.put(("c",), f"k{i}", i) for i in range(20)))
            assert sorted(r.value for r in results) == list(range(20))

    asyncio.run(main())


def test_item_filter_matches_is_the_engines_search_filter(db):
    """_item_filter_matches (the LangGraph store's check of k-NN candidates) agrees
    with the engine's search on every value and filter."""
    from agentdb._native import _item_filter_matches

    values = [{"n": 1}, {"n": 1.0}, {"n": 2.5, "s": "b"}, {"s": "a", "t": [1, 2]}, {"o": {"a": 1, "b": {"c": True}}},
              {"n": None}, {}, {"t": [1, 2, 3]}, {"n": True}, {"s": "é"}]  # fmt: skip
    db.items.write([{"namespace": ("f",), "key": str(i), "value": v} for i, v in enumerate(values)])
    items = [db.items.get(("f",), str(i)) for i in range(len(values))]
    filters = [{}, {"n": 1}, {"n": {"$gte": 1}}, {"n": {"$ne": 1}}, {"s": {"$lt": "b"}}, {"s": {"$gt": 1}},
               {"t": [1, 2]}, {"o": {"b": {"c": True}}}, {"o": {"a": {"$eq": 1}}}, {"missing": None},
               {"n": None}, {"n": True}, {"s": {"$gte": "é"}}]  # fmt: skip
    for flt in filters:
        engine = {i.key for i in db.items.search(("f",), filter=flt, limit=100).items}
        ours = {i.key for i, ok in zip(items, _item_filter_matches(items, flt)) if ok}
        assert ours == engine, flt
    with pytest.raises(agentdb.InvalidArgumentError):
        _item_filter_matches(items, {"n": {"$in": [1]}})
    with pytest.raises(agentdb.InvalidArgumentError):
        _item_filter_matches([], ["n"])
