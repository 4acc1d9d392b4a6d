"""AgentDBStore against LangGraph's InMemoryStore: the same operation sequences on
both, every result compared (semantic ranking with one deterministic embedding
given to both, filters, namespace listing, deletes), plus TTL, persistence,
crash-ordering and collision checks on a real AgentDB."""

from __future__ import annotations

import hashlib
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from langgraph.store.base import GetOp, InvalidNamespaceError, PutOp, SearchOp
from langgraph.store.memory import InMemoryStore
from langgraph.store.sqlite import SqliteStore

import agentdb
from agentdb.langgraph import AgentDBStore
from integration_support import backend, ReferenceStore, open_db  # noqa: F401 (backend: every test per backend)

DIMS = 8


def embed(texts: list[str]) -> list[list[float]]:
    """Letter counts plus a small hash-derived term: deterministic, no ties."""
    out = []
    for text in texts:
        digest = hashlib.sha256(text.encode()).digest()
        out.append([text.count(c) + digest[i] / 2550 for i, c in enumerate("aeiouthn")])
    return out


INDEX = {"dims": DIMS, "embed": embed, "fields": ["text", "tags[*]"]}


NAMESPACES = [
    ("users", "alice"),
    ("users", "bob"),
    ("users", "alice", "prefs"),
    ("docs",),
    ("docs", "v1"),
    ("a", "b", "c"),
]
WORDS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "theta", "omicron"]
FILTERS = [
    None,
    {"tag": "x"},
    {"n": {"$gte": 5}},
    {"nested": {"level": 2}},
    {"n": {"$ne": 3}, "tag": "y"},
    {"n": {"$lt": 4, "$gt": 1}},
]
NS_QUERIES = [
    {},
    {"prefix": ("users",)},
    {"prefix": ("users", "*")},
    {"suffix": ("prefs",)},
    {"suffix": ("*",), "max_depth": 1},
    {"max_depth": 2},
    {"limit": 2, "offset": 1},
    {"prefix": ("docs",), "max_depth": 1},
]


def _value(rng: random.Random, serial: int) -> dict[str, Any]:
    # Unique words per put keep every embedding distinct, so rankings have no ties.
    return {
        "text": " ".join(rng.sample(WORDS, rng.randint(1, 3))) + f" w{serial}",
        "tags": [f"{rng.choice(WORDS)}{serial}-{i}" for i in range(rng.randint(0, 2))],
        "n": rng.randint(0, 9),
        "tag": rng.choice(["x", "y"]),
        "nested": {"level": rng.randint(0, 3)},
    }


def _plain(items: list[Any]) -> list[tuple[Any, ...]]:
    return [(i.namespace, i.key, i.value) for i in items]


def _compare_search(ours: list[Any], ref: list[Any]) -> None:
    scored_ours = [i for i in ours if i.score is not None]
    scored_ref = [i for i in ref if i.score is not None]
    assert _plain(scored_ours) == _plain(scored_ref)
    # The engine computes in f32; InMemoryStore in f64.
    assert [i.score for i in scored_ours] == pytest.approx([i.score for i in scored_ref], abs=1e-5)
    # Unscored tail (items without vectors): InMemoryStore keeps insertion
    # order, AgentDBStore newest first; compare what can be compared.
    tail_ours = sorted(map(repr, _plain([i for i in ours if i.score is None])))
    tail_ref = sorted(map(repr, _plain([i for i in ref if i.score is None])))
    assert len(tail_ours) == len(tail_ref)


def _run_sequence(ours: AgentDBStore, ref: InMemoryStore, seed: int, steps: int) -> None:
    rng = random.Random(seed)
    for serial in range(steps):
        ns = rng.choice(NAMESPACES)
        key = f"k{rng.randint(0, 4)}"
        roll = rng.random()
        if roll < 0.45:
            index = rng.choice([None, None, None, False, ["text"]])
            value = _value(rng, serial)
            ours.put(ns, key, value, index=index)
            ref.put(ns, key, value, index=index)
        elif roll < 0.55:
            ours.delete(ns, key)
            ref.delete(ns, key)
        elif roll < 0.65:
            got, want = ours.get(ns, key), ref.get(ns, key)
            assert (got is None) == (want is None)
            if got is not None:
                assert (got.namespace, got.key, got.value) == (want.namespace, want.key, want.value)
        elif roll < 0.85:
            prefix = rng.choice([(), ns[:1], ns])
            flt = rng.choice(FILTERS)
            query = " ".join(rng.sample(WORDS, 2))
            limit, offset = rng.randint(1, 6), rng.randint(0, 3)
            _compare_search(
                ours.search(prefix, query=query, filter=flt, limit=limit, offset=offset),
                ref.search(prefix, query=query, filter=flt, limit=limit, offset=offset),
            )
            # Without a query: the same items (orders differ by design).
            got = ours.search(prefix, filter=flt, limit=1000)
            want = ref.search(prefix, filter=flt, limit=1000)
            assert sorted(map(repr, _plain(got))) == sorted(map(repr, _plain(want)))
        else:
            kwargs = rng.choice(NS_QUERIES)
            assert ours.list_namespaces(**kwargs) == ref.list_namespaces(**kwargs), kwargs
    everything = sorted(map(repr, _plain(ours.search((), limit=10_000))))
    assert everything == sorted(map(repr, _plain(ref.search((), limit=10_000))))
    assert ours.list_namespaces() == ref.list_namespaces()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_sequences_match_in_memory_store(db, seed: int) -> None:
    _run_sequence(AgentDBStore(db, index=INDEX), ReferenceStore(index=INDEX), seed, steps=150)


def test_random_sequence_without_index_matches(db) -> None:
    _run_sequence(AgentDBStore(db), ReferenceStore(), seed=7, steps=120)


async def test_async_api_matches(db) -> None:
    ours, ref = AgentDBStore(db, index=INDEX), ReferenceStore(index=INDEX)
    rng = random.Random(11)
    for serial in range(40):
        ns, key = rng.choice(NAMESPACES), f"k{rng.randint(0, 3)}"
        value = _value(rng, serial)
        await ours.aput(ns, key, value)
        await ref.aput(ns, key, value)
    await ours.adelete(("docs",), "k0")
    await ref.adelete(("docs",), "k0")
    for prefix in [(), ("users",), ("docs", "v1")]:
        _compare_search(
            await ours.asearch(prefix, query="alpha beta", limit=5),
            await ref.asearch(prefix, query="alpha beta", limit=5),
        )
    assert await ours.alist_namespaces(prefix=("users",)) == await ref.alist_namespaces(prefix=("users",))
    got, want = await ours.aget(("users", "bob"), "k1"), await ref.aget(("users", "bob"), "k1")
    assert (got and got.value) == (want and want.value)


def test_batch_reads_see_the_state_before_the_batch(db) -> None:
    ours, ref = AgentDBStore(db), ReferenceStore()
    for store in (ours, ref):
        store.put(("n",), "k", {"v": 0})
    ops = [
        PutOp(("n",), "k", {"v": 1}),
        GetOp(("n",), "k"),
        PutOp(("n",), "k", {"v": 2}),
        SearchOp(("n",)),
        PutOp(("n",), "new", {"v": 3}),
    ]
    got, want = ours.batch(ops), ref.batch(ops)
    assert got[1].value == want[1].value == {"v": 0}
    assert _plain(got[3]) == _plain(want[3])
    assert ours.get(("n",), "k").value == ref.get(("n",), "k").value == {"v": 2}
    assert ours.get(("n",), "new").value == {"v": 3}


def test_search_pages_are_newest_update_first(db) -> None:
    store = AgentDBStore(db)
    for i in range(7):
        store.put(("p",), f"k{i}", {"i": i})
    store.put(("p",), "k2", {"i": 20})  # updated last: first
    full = store.search(("p",), limit=100)
    assert [i.key for i in full] == ["k2", "k6", "k5", "k4", "k3", "k1", "k0"]
    pages = [store.search(("p",), limit=3, offset=o) for o in (0, 3, 6)]
    assert [i.key for page in pages for i in page] == [i.key for i in full]
    assert all(i.created_at <= i.updated_at for i in full)
    k2 = store.get(("p",), "k2")
    assert k2.created_at < k2.updated_at  # created_at survives the update


def test_emptied_namespace_is_not_listed_as_in_sqlite_store(db) -> None:
    ours = AgentDBStore(db)
    with SqliteStore.from_conn_string(":memory:") as sqlite_store:
        sqlite_store.setup()
        for store in (ours, sqlite_store):
            store.put(("gone",), "k", {"v": 1})
            store.put(("kept",), "k", {"v": 1})
            store.delete(("gone",), "k")
            store.get(("never", "written"), "k")
        assert ours.list_namespaces() == sqlite_store.list_namespaces() == [("kept",)]


def test_semantic_search_widens_past_filtered_out_neighbours(db) -> None:
    ours, ref = AgentDBStore(db, index=INDEX), ReferenceStore(index=INDEX)
    for i in range(120):
        value = {"text": f"alpha alpha w{i}", "rare": i % 40 == 0}
        ours.put(("bulk",), f"k{i}", value)
        ref.put(("bulk",), f"k{i}", value)
    args = dict(query="alpha alpha", filter={"rare": True}, limit=3)
    got, want = ours.search(("bulk",), **args), ref.search(("bulk",), **args)
    assert len(got) == 3
    _compare_search(got, want)


def _sleep_until(ms: int) -> None:
    time.sleep(max(0.0, ms / 1000 - time.time()))


def test_ttl_expiry_refresh_and_sweep(db) -> None:
    # The engine's clock decides expiry, so this runs in real time: a 3 s TTL,
    # each step placed against the expiry times the engine reports.
    ttl_minutes = 0.05
    store = AgentDBStore(db, ttl={"refresh_on_read": True})

    def expires(key: str) -> int:
        return db.items.get(("langgraph", "t"), key).expires_at_ms

    store.put(("t",), "short", {"v": 1}, ttl=ttl_minutes)  # expires at +3 s
    store.put(("t",), "fixed", {"v": 2}, ttl=ttl_minutes)
    store.put(("t",), "forever", {"v": 3})
    fixed_expires = expires("fixed")
    _sleep_until(fixed_expires - 1500)
    assert store.get(("t",), "short").value == {"v": 1}  # refreshes: now expires at +4.5 s
    assert store.get(("t",), "fixed", refresh_ttl=False).value == {"v": 2}
    short_expires = expires("short")
    assert short_expires >= fixed_expires + 1400
    _sleep_until(fixed_expires + 100)
    assert store.get(("t",), "short", refresh_ttl=False) is not None
    assert store.get(("t",), "fixed") is None
    assert {i.key for i in store.search(("t",), refresh_ttl=False)} == {"short", "forever"}
    _sleep_until(short_expires + 100)
    assert store.get(("t",), "short") is None
    assert store.sweep_ttl() == 2
    assert store.sweep_ttl() == 0
    assert [i.key for i in store.search(("t",))] == ["forever"]
    store.put(("gone",), "k", {"v": 1}, ttl=0.01)
    _sleep_until(db.items.get(("langgraph", "gone"), "k").expires_at_ms + 100)
    assert ("gone",) not in store.list_namespaces()


def test_persists_across_reopen(tmp_path: Path) -> None:
    db = open_db(tmp_path / "db")
    AgentDBStore(db, index=INDEX).put(("u", "1"), "k", {"text": "theta omicron"})
    AgentDBStore(db, index=INDEX).put(("u", "2"), "k", {"text": "alpha beta"})
    db.close()
    db = open_db(tmp_path / "db")
    try:
        store = AgentDBStore(db, index=INDEX)
        assert store.get(("u", "1"), "k").value == {"text": "theta omicron"}
        assert store.list_namespaces() == [("u", "1"), ("u", "2")]
        [best] = store.search(("u",), query="theta omicron", limit=1)
        assert best.namespace == ("u", "1") and best.score == pytest.approx(1.0)
    finally:
        db.close()


def test_failed_put_leaves_the_previous_version_searchable(db, monkeypatch: pytest.MonkeyPatch) -> None:
    store = AgentDBStore(db, index=INDEX)
    store.put(("c",), "k", {"text": "theta theta"})
    store.put(("c",), "other", {"text": "alpha alpha"})
    def failing_write(self, writes):
        raise agentdb.StorageError("simulated crash before the item write")

    monkeypatch.setattr(type(db.items), "write", failing_write)
    with pytest.raises(agentdb.StorageError):
        store.put(("c",), "k", {"text": "alpha alpha alpha"})  # its vectors were written
    monkeypatch.undo()
    assert store.get(("c",), "k").value == {"text": "theta theta"}
    ranked = store.search(("c",), query="alpha alpha alpha", limit=2)
    assert [i.key for i in ranked] == ["other", "k"]
    assert ranked[1].value == {"text": "theta theta"}


def test_colliding_namespaces_and_keys_stay_apart(db, monkeypatch: pytest.MonkeyPatch) -> None:
    # Items are addressed by their strings; hashes name only their vectors.
    monkeypatch.setattr(AgentDBStore, "_ns_hash", lambda self, namespace: 77)
    monkeypatch.setattr(AgentDBStore, "_key_hash", staticmethod(lambda key: 5))
    store = AgentDBStore(db)
    store.put(("a",), "k1", {"v": "a1"})
    store.put(("b",), "k2", {"v": "b2"})
    store.put(("a",), "k2", {"v": "a2"})
    assert store.get(("a",), "k1").value == {"v": "a1"}
    assert store.get(("b",), "k2").value == {"v": "b2"}
    assert store.get(("b",), "k1") is None
    assert sorted(i.key for i in store.search(("a",))) == ["k1", "k2"]
    store.delete(("a",), "k1")
    assert store.get(("a",), "k1") is None and store.get(("a",), "k2").value == {"v": "a2"}
    assert store.list_namespaces() == [("a",), ("b",)]
    indexed = AgentDBStore(db, index=INDEX, key_prefix="indexed")
    indexed.put(("a",), "k1", {"text": "theta theta"})
    indexed.put(("b",), "k2", {"text": "alpha alpha"})
    indexed.put(("a",), "k1", {"text": "theta omicron"})
    ranked = indexed.search((), query="alpha alpha", limit=5)
    assert [(i.namespace, i.key, i.value) for i in ranked] == [
        (("b",), "k2", {"text": "alpha alpha"}),
        (("a",), "k1", {"text": "theta omicron"}),
    ]


def test_namespace_rules_and_dimension_check(db) -> None:
    store = AgentDBStore(db, index=INDEX)
    with pytest.raises(InvalidNamespaceError):
        store.put(("langgraph",), "k", {"v": 1})
    with pytest.raises(InvalidNamespaceError):
        store.put(("a.b",), "k", {"v": 1})
    with pytest.raises(InvalidNamespaceError):
        store.batch([GetOp(("a.b",), "k")])
    with pytest.raises(ValueError):
        AgentDBStore(db, index={**INDEX, "dims": DIMS + 1})


def test_every_operation_is_a_bounded_number_of_engine_calls(db, monkeypatch: pytest.MonkeyPatch) -> None:
    """No store operation reads a namespace or a log whole: each is a fixed
    number of engine calls, whatever the store holds, and none touches states."""
    store = AgentDBStore(db, index=INDEX)
    for b in range(4):
        store.batch([PutOp(("n", str(b % 2)), f"k{b}-{i}", {"text": f"alpha w{b}-{i}", "i": i}) for i in range(250)])
    calls: Counter[str] = Counter()
    for cls in (type(db.items), type(db.states), type(db.vectors)):  # embedded or remote
        for name, fn in list(vars(cls).items()):
            if callable(fn) and not name.startswith("_"):
                def counted(self, *args, _fn=fn, _name=f"{cls.__name__.removeprefix('Remote')}.{name}", **kwargs):
                    calls[_name] += 1
                    return _fn(self, *args, **kwargs)

                monkeypatch.setattr(cls, name, counted)

    def engine_calls(run) -> dict[str, int]:
        calls.clear()
        run()
        return dict(calls)

    gets = [GetOp(("n", "0"), f"k0-{i}") for i in range(100)] + [GetOp(("n", "1"), "absent")]
    assert engine_calls(lambda: store.batch(gets)) == {"Items.get_many": 1}
    page = lambda: store.search(("n",), filter={"i": {"$gte": 100}}, limit=20, offset=30)  # noqa: E731
    assert engine_calls(page) == {"Items.search": 1}
    assert len(page()) == 20
    assert engine_calls(lambda: store.list_namespaces(prefix=("n",))) == {"Items.list_namespaces": 1}
    assert engine_calls(lambda: store.search(("n",), query="alpha", limit=5)) == {
        "Vectors.search": 1,
        "Items.get_many": 1,
    }
    puts = [PutOp(("n", "0"), f"k0-{i}", {"text": "beta", "i": i}) for i in range(100)]
    puts.append(PutOp(("n", "0"), "k0-100", None))
    assert engine_calls(lambda: store.batch(puts)) == {
        "Items.get_many": 1,  # the old vectors to delete after the write
        "Vectors.insert_many": 1,
        "Items.write": 1,
        "Vectors.delete": 101,
    }
    assert engine_calls(lambda: AgentDBStore(db).put(("m",), "k", {"v": 1})) == {
        "States.load": 1,  # the one-time migration's check
        "Items.write": 1,
    }


def test_a_states_based_store_is_migrated_once_on_open(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import legacy_states_store

    from agentdb.langgraph._common import stable_id

    db = open_db(tmp_path / "db")
    try:
        old = legacy_states_store.AgentDBStore(db, index=INDEX)
        old.put(("u", "1"), "a", {"text": "theta omicron", "n": 1})
        old.put(("u", "1"), "a", {"text": "alpha beta", "n": 2})  # supersedes
        old.put(("u", "2"), "b", {"text": "gamma delta", "n": 3}, ttl=60)
        old.put(("u", "2"), "gone", {"text": "epsilon", "n": 4})
        old.delete(("u", "2"), "gone")
        old.put(("v",), "plain", {"text": "zeta", "n": 5}, index=False)
        old.put(("v",), "expired", {"n": 6}, ttl=0.0001)
        legacy_states_store.AgentDBStore(db, key_prefix="other").put(("x",), "k", {"n": 7})
        want_namespaces = old.list_namespaces()
        want_items = sorted(map(repr, _plain(old.search((), limit=100))))
        assert len(want_items) == 3 and want_namespaces == [("u", "1"), ("u", "2"), ("v",)]
        db.flush()
        catalog = stable_id("langgraph", "store-catalog")

        # A run cut short before the old catalog is deleted runs again on the next open.
        real_delete = type(db.states).delete_agent

        def crash_at_the_catalog(self, agent_id):
            if agent_id == catalog:
                raise agentdb.StorageError("simulated crash")
            return real_delete(self, agent_id)

        monkeypatch.setattr(type(db.states), "delete_agent", crash_at_the_catalog)
        with pytest.raises(agentdb.StorageError):
            AgentDBStore(db, index=INDEX)
        monkeypatch.undo()

        store = AgentDBStore(db, index=INDEX)
        assert sorted(map(repr, _plain(store.search((), limit=100)))) == want_items
        assert store.list_namespaces() == want_namespaces
        assert store.get(("u", "1"), "a").value == {"text": "alpha beta", "n": 2}
        assert store.get(("u", "2"), "gone") is None and store.get(("v",), "expired") is None
        assert db.items.get(("langgraph", "u", "2"), "b").ttl_ms == 3_600_000
        # The old vectors carried over with their stamps: semantic search finds them.
        ranked = store.search(("u",), query="alpha beta", limit=3)
        assert [(i.namespace, i.key) for i in ranked] == [(("u", "1"), "a"), (("u", "2"), "b")]
        assert ranked[0].score == pytest.approx(1.0)
        assert [i.key for i in store.search((), query="zeta", limit=3) if i.score is None] == ["plain"]
        # The old records are gone; another key_prefix waits for its own store.
        with pytest.raises(agentdb.NotFoundError):
            db.states.load(catalog)
        assert db.items.search(("other",)).total == 0
        assert AgentDBStore(db, key_prefix="other").get(("x",), "k").value == {"n": 7}
        # Opening again (here after a reopen) writes nothing.
        stamp = db.items.get(("langgraph", "u", "1"), "a").updated_at_ms
        db.close()
        db = open_db(tmp_path / "db")
        AgentDBStore(db, index=INDEX)
        assert db.items.get(("langgraph", "u", "1"), "a").updated_at_ms == stamp
    finally:
        db.close()
