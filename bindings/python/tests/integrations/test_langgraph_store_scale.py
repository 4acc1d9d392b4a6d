"""AgentDBStore at scale, side by side with SqliteStore and InMemoryStore on the
same operations: 100,000 items in 1,000 namespaces written through ``batch``
(1,000 puts per batch), then updates and deletes, then get (sampled), search
without a query (prefixes, filters, offsets, limits), search with a query
(one deterministic embedding for AgentDBStore and InMemoryStore) and
list_namespaces (prefix, suffix, wildcards, max_depth, limit/offset). The
database is compacted between the load and the changes (as background
maintenance would: its B-tree indexes serve the changes' point reads), so
the reads see indexed Lance rows, unindexed ones and the memtable.
Functional, not timed: every observable result must be the peers'.

Orders. Search without a query is newest update first. AgentDBStore breaks
ties by namespace then key, so its lists are checked exactly: the matches are
InMemoryStore's (same items, same values), ordered by AgentDBStore's own
``updated_at`` then namespace and key, and those times follow the write
order (one time per batch). SqliteStore stamps ``updated_at`` to the second
and leaves ties in any order, so against it results are compared exactly
except for the order of items that share its timestamp: the same items,
and the same set before every position where both stores' times change.

Semantic search ranks by cosine similarity; the engine computes in f32 and
InMemoryStore in f64, so items whose scores are within 1e-5 may trade
places (never seen with these vectors, but not promised). The engine builds
an approximate (ANN) index on a vector collection past
``ann_index_threshold`` vectors during maintenance; this test opens the
database with maintenance off and the threshold above its 100,000 vectors, so
every k-NN here is exact (with a namespace prefix the search is a filtered,
always-exact one anyway).
"""

from __future__ import annotations

import hashlib
import itertools
import random
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from langgraph.store.base import GetOp, PutOp, SearchOp
from langgraph.store.sqlite import SqliteStore

import agentdb
from agentdb.langgraph import AgentDBStore
from integration_support import ReferenceStore

N_NAMESPACES = 1_000
ITEMS_PER_NAMESPACE = 100
BATCH = 1_000
DIMS = 16
WORDS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "theta", "omicron", "sigma", "omega"]
TAGS = ["red", "green", "blue"]
SCORE_TIE = 1e-5


def embed(texts: list[str]) -> list[list[float]]:
    """Deterministic 16-dim vectors from a text's SHA-256 (distinct per text)."""
    out = []
    for text in texts:
        d = hashlib.sha256(text.encode()).digest()
        out.append([(d[i] - 127.5) / 127.5 for i in range(DIMS)])
    return out


INDEX = {"dims": DIMS, "embed": embed, "fields": ["text"]}


def namespace(i: int) -> tuple[str, ...]:
    """900 namespaces of 3 labels, and 100 of 4 under the first 100 of those."""
    if i < 900:
        return ("acme", f"team{i % 9}", f"user{i // 9:03d}")
    j = i - 900
    return ("acme", f"team{j % 9}", f"user{j // 9:03d}", "archive")


def value(ns_index: int, key_index: int, version: int) -> dict[str, Any]:
    h = int.from_bytes(hashlib.blake2b(f"{ns_index}/{key_index}/{version}".encode(), digest_size=8).digest(), "little")
    return {
        "text": f"{WORDS[h % 10]} {WORDS[(h >> 8) % 10]} {ns_index}-{key_index}-{version}",
        "n": h % 100,
        "tag": TAGS[(h >> 16) % 3],
        "rank": ((h >> 24) % 1000) / 1000,
        "nested": {"level": (h >> 40) % 4},
    }


def put_op(ns_index: int, key_index: int, version: int) -> PutOp:
    # One item in ten has no vectors (it fills the tail of semantic searches).
    index = False if (ns_index + key_index + version) % 10 == 0 else None
    return PutOp(namespace(ns_index), f"k{key_index:03d}", value(ns_index, key_index, version), index=index)


def load() -> Iterator[list[PutOp]]:
    """Batch ``j`` puts key ``j`` in every namespace."""
    for key_index in range(ITEMS_PER_NAMESPACE):
        yield [put_op(ns, key_index, 0) for ns in range(N_NAMESPACES)]


def changes() -> Iterator[list[PutOp]]:
    """Updates (new values, some gaining or losing their vectors), then deletes."""
    rng = random.Random(5)
    for version in (1, 2):
        picked = rng.sample(range(N_NAMESPACES * ITEMS_PER_NAMESPACE), BATCH)
        yield [put_op(g % N_NAMESPACES, g // N_NAMESPACES, version) for g in picked]
    doomed = rng.sample(range(N_NAMESPACES * ITEMS_PER_NAMESPACE), 500)
    deletes = [PutOp(namespace(g % N_NAMESPACES), f"k{g // N_NAMESPACES:03d}", None) for g in doomed]
    # Namespace 17 loses every item: no store lists it any more.
    deletes += [PutOp(namespace(17), f"k{k:03d}", None) for k in range(ITEMS_PER_NAMESPACE)]
    yield deletes


def address(item: Any) -> tuple[tuple[str, ...], str]:
    return (tuple(item.namespace), item.key)


def plain(items: list[Any]) -> list[tuple[Any, ...]]:
    return [(tuple(i.namespace), i.key, i.value) for i in items]


def search_all(store: Any, prefix: tuple[str, ...], flt: dict[str, Any] | None) -> list[Any]:
    return store.search(prefix, filter=flt, limit=200_000)


def check_ours(full: list[Any], reference: list[Any], write_seq: dict[tuple[tuple[str, ...], str], int]) -> None:
    """AgentDBStore's full result: the reference's items and values, newest update
    first with ties by namespace then key, its times following the write order."""
    assert sorted(map(repr, plain(full))) == sorted(map(repr, plain(reference)))
    assert [address(i) for i in full] == [
        address(i) for i in sorted(full, key=lambda i: (-i.updated_at.timestamp(), tuple(i.namespace), i.key))
    ]
    seqs = [write_seq[address(i)] for i in full]
    assert seqs == sorted(seqs, reverse=True)
    for a, b in zip(full, full[1:]):
        if write_seq[address(a)] == write_seq[address(b)]:
            assert a.updated_at == b.updated_at  # one batch, one time
        else:
            assert a.updated_at > b.updated_at


def boundaries(items: list[Any]) -> set[int]:
    """Positions where the timestamp changes (and both ends)."""
    return {0, len(items)} | {k for k in range(1, len(items)) if items[k - 1].updated_at != items[k].updated_at}


def check_same_up_to_ties(ours: list[Any], theirs: list[Any]) -> None:
    """Same items and values, and the same items before every position where both stores' times change."""
    assert sorted(map(repr, plain(ours))) == sorted(map(repr, plain(theirs)))
    times = [i.updated_at for i in theirs]
    assert times == sorted(times, reverse=True)
    common = boundaries(ours) & boundaries(theirs)
    # Walk both lists once: at every common boundary, the items before it are the same.
    balance: dict[tuple[tuple[str, ...], str], int] = {}
    for k in range(len(ours) + 1):
        if k in common:
            assert not balance, (k, sorted(balance)[:5])
        if k < len(ours):
            for item, step in ((ours[k], 1), (theirs[k], -1)):
                slot = address(item)
                balance[slot] = balance.get(slot, 0) + step
                if balance[slot] == 0:
                    del balance[slot]


def check_page(page: list[Any], full: list[Any], offset: int, limit: int, exact: bool) -> None:
    """``page`` is ``full[offset:offset + limit]`` (up to the order of equal timestamps unless ``exact``)."""
    want = full[offset : offset + limit]
    if exact:
        assert plain(page) == plain(want)
        return
    assert [i.updated_at for i in page] == [i.updated_at for i in want]
    edges = {want[0].updated_at, want[-1].updated_at} if want else set()
    assert {address(i) for i in page if i.updated_at not in edges} == {
        address(i) for i in want if i.updated_at not in edges
    }
    same_time = {address(i) for i in full if i.updated_at in edges}
    assert {address(i) for i in page if i.updated_at in edges} <= same_time


def check_semantic(ours: list[Any], ref: list[Any]) -> None:
    """Same scored items in the same order (items within 1e-5 may trade places) and scores;
    the unscored tail (items without vectors) as a set."""
    scored_ours = [i for i in ours if i.score is not None]
    scored_ref = [i for i in ref if i.score is not None]
    assert [i.score for i in scored_ours] == pytest.approx([i.score for i in scored_ref], abs=SCORE_TIE)
    assert len(scored_ours) == len(scored_ref)
    k = 0
    while k < len(scored_ref):
        end = k + 1
        while end < len(scored_ref) and scored_ref[end - 1].score - scored_ref[end].score < SCORE_TIE:
            end += 1
        assert sorted(map(repr, plain(scored_ours[k:end]))) == sorted(map(repr, plain(scored_ref[k:end])))
        k = end
    tail_ours = sorted(map(repr, plain([i for i in ours if i.score is None])))
    tail_ref = sorted(map(repr, plain([i for i in ref if i.score is None])))
    assert tail_ours == tail_ref


PREFIXES = [(), ("acme", "team3"), ("acme", "team3", "user021"), ("acme", "team4", "user005", "archive"), ("acme",)]
FILTERS = [
    None,
    {"tag": "red"},
    {"n": {"$gte": 90}},
    {"n": {"$lt": 5}, "tag": "blue"},
    {"rank": {"$gt": 0.25, "$lte": 0.5}},
    {"tag": {"$ne": "green"}, "n": 7},
]
# (prefix, filter) pairs run in full; every engine search reads the rows under its
# prefix, so the store-wide ones (100,000 rows each time) get fewer pages.
FULL_QUERIES = [(p, f) for p in PREFIXES[1:4] for f in FILTERS]
WIDE_QUERIES = [((), {"n": {"$gte": 90}}), ((), {"tag": {"$ne": "green"}, "n": 7}), (("acme",), {"n": {"$lt": 5}, "tag": "blue"})]
PAGES = [(0, 10), (3, 7), (95, 40), (250, 250)]
WIDE_PAGES = [(0, 10), (95, 40)]
NS_QUERIES: list[dict[str, Any]] = [
    {},
    {"limit": 1000},
    {"limit": 50, "offset": 900},
    {"prefix": ("acme", "team3"), "limit": 1000},
    {"prefix": ("acme", "*", "user005"), "limit": 1000},
    {"suffix": ("archive",), "limit": 1000},
    {"suffix": ("*", "archive"), "limit": 20, "offset": 10},
    {"prefix": ("acme", "team2"), "suffix": ("archive",), "limit": 1000},
    {"max_depth": 2},
    {"max_depth": 3, "limit": 1000, "offset": 850},
    {"prefix": ("*", "team1"), "max_depth": 3, "limit": 1000},
    {"prefix": ("acme", "team0", "user001"), "max_depth": 4},
    {"prefix": ("nobody",)},
]
SEMANTIC = [
    ((), None, 10, 0),
    ((), {"tag": "red"}, 10, 5),
    (("acme",), {"n": {"$gte": 50}}, 25, 0),
    (("acme", "team3"), None, 10, 0),
    (("acme", "team3", "user021"), None, 200, 0),  # every item: the tail holds those without vectors
    (("acme", "team4", "user005", "archive"), {"tag": {"$ne": "red"}}, 50, 3),
]


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, ...]]:
    path = tmp_path_factory.mktemp("store-scale")
    db = agentdb.connect(str(path / "db"), maintenance_interval_ms=None, ann_index_threshold=1_000_000)
    ours = AgentDBStore(db, index=INDEX)
    ref = ReferenceStore(index=INDEX)
    write_seq: dict[tuple[tuple[str, ...], str], int] = {}
    deleted: set[tuple[tuple[str, ...], str]] = set()
    with SqliteStore.from_conn_string(str(path / "store.sqlite")) as sqlite_store:
        sqlite_store.setup()
        for seq, ops in enumerate(itertools.chain(load(), [None], changes())):
            if ops is None:
                # Between the load and the changes, what maintenance does in the background:
                # compaction and the B-tree indexes (point reads of 100,000 rows stop being scans).
                db.compact()
                continue
            for store in (ours, sqlite_store, ref):
                store.batch(ops)
            for op in ops:
                slot = (tuple(op.namespace), op.key)
                if op.value is None:
                    deleted.add(slot)
                else:
                    write_seq[slot] = seq
                    deleted.discard(slot)
        try:
            yield db, ours, sqlite_store, ref, write_seq, deleted
        finally:
            db.close()


def test_store_at_scale_matches_sqlite_and_in_memory_stores(stores) -> None:
    db, ours, sqlite_store, ref, write_seq, deleted = stores
    live = ref.search((), limit=200_000)
    assert len(live) == N_NAMESPACES * ITEMS_PER_NAMESPACE - len(deleted) > 99_000

    # get: a sample of live, deleted and never written addresses, in one batch each.
    rng = random.Random(11)
    sample = [address(i) for i in rng.sample(live, 1_500)]
    sample += rng.sample(sorted(deleted), 300)
    sample += [(namespace(rng.randrange(N_NAMESPACES)), f"k{rng.randrange(100, 200)}") for _ in range(200)]
    gets = [GetOp(ns, key) for ns, key in sample]
    got, from_sqlite, from_ref = ours.batch(gets), sqlite_store.batch(gets), ref.batch(gets)
    assert [None if i is None else (address(i), i.value) for i in got] == [
        None if i is None else (address(i), i.value) for i in from_ref
    ]
    assert [None if i is None else (address(i), i.value) for i in got] == [
        None if i is None else (address(i), i.value) for i in from_sqlite
    ]
    assert sum(i is not None for i in got) == 1_500

    # search without a query: whole result lists, then pages of them.
    for prefix, flt in FULL_QUERIES + WIDE_QUERIES:
        full = search_all(ours, prefix, flt)
        check_ours(full, search_all(ref, prefix, flt), write_seq)
        theirs = search_all(sqlite_store, prefix, flt)
        check_same_up_to_ties(full, theirs)
        assert len(full) > 0 or flt is not None
        for offset, limit in PAGES if prefix in PREFIXES[1:4] else WIDE_PAGES:
            check_page(ours.search(prefix, filter=flt, offset=offset, limit=limit), full, offset, limit, exact=True)
            check_page(sqlite_store.search(prefix, filter=flt, offset=offset, limit=limit), theirs, offset, limit, exact=False)
    # The widest query: every item (the store pages the engine 10,000 at a time).
    full = search_all(ours, (), None)
    check_ours(full, live, write_seq)
    check_same_up_to_ties(full, search_all(sqlite_store, (), None))

    # list_namespaces
    for kwargs in NS_QUERIES:
        got_ns = ours.list_namespaces(**kwargs)
        assert got_ns == sqlite_store.list_namespaces(**kwargs) == ref.list_namespaces(**kwargs), kwargs
    assert namespace(17) not in ours.list_namespaces(limit=1000)
    assert len(ours.list_namespaces(limit=1000)) == N_NAMESPACES - 1

    # search with a query (exact k-NN on both sides); a second query on the narrower prefixes
    semantic = [("alpha beta", *q) for q in SEMANTIC] + [("omega sigma theta", *q) for q in SEMANTIC[3:]]
    for query, prefix, flt, limit, offset in semantic:
        op = SearchOp(prefix, filter=flt, limit=limit, offset=offset, query=query)
        [mine], [theirs_sem] = ours.batch([op]), ref.batch([op])
        check_semantic(mine, theirs_sem)
        assert len(mine) == len(theirs_sem) > 0
    # The tail case really has unscored items.
    [everything] = ours.batch([SearchOp(("acme", "team3", "user021"), limit=200, query="alpha")])
    assert 0 < sum(i.score is None for i in everything) < len(everything) == len(
        ref.search(("acme", "team3", "user021"), limit=200)
    )
    assert isinstance(everything[0].updated_at, datetime)
