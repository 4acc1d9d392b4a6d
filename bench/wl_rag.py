"""Workload 3: RAG — hybrid (vector + full-text) top-10 search over chunks.

Chunks are synthetic text (40–60 words drawn with a Zipf law from a
20,000-word vocabulary, under 512 characters, so one document is one chunk)
with random unit 384-dim vectors. A query targets one chunk: three of its
rarer words as text and a vector near its vector; ``hit rate`` is how often
that chunk came back in the top 10.

- AgentDB ``rag.index_document(doc_id, text, chunk_vectors=[v])`` per
  document, ``compact()`` (builds the full-text index now rather than in
  background maintenance), then ``rag.hybrid_search(text, vector=q,
  limit=10)`` with its defaults (weighted fusion, alpha 0.5).
- lancedb (Python): the same rows added in batches of 1000, an ``FTS()``
  index on the text, then ``search(query_type="hybrid").vector(q).text(t)
  .limit(10)`` with its defaults (RRF reranker).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

import agentdb
from harness import (HIGHER, LOWER, Recorder, Stopwatch, footprint, near, pct_us, remove, anon_mb, say, timed_calls,
                     unit_vectors, vocabulary, zipf_sentences)

AGENTDB = "AgentDB"
LANCE = "lancedb"
DIM = 384
BATCH = 1000


class Data:
    def __init__(self, n: int, queries: int, seed: int = 31):
        rng = np.random.default_rng(seed)
        vocab = vocabulary(20000, seed)
        rank = {w: i for i, w in enumerate(vocab)}
        self.n = n
        self.text = []
        for words in zipf_sentences(rng, vocab, rng.integers(40, 61, n)):
            text = " ".join(words)
            while len(text) > 500:
                words.pop()
                text = " ".join(words)
            self.text.append(text)
        self.vectors = unit_vectors(rng, n, DIM)
        self.targets = rng.choice(n, size=queries, replace=False)
        self.qvec = near(rng, self.vectors[self.targets], 0.05)
        self.qtext = []
        for t in self.targets:
            words = sorted(set(self.text[t].split()), key=lambda w: -rank[w])[:3]
            self.qtext.append(" ".join(words))


class AgentDBRag:
    def __init__(self, path: str):
        self.db = agentdb.connect(path)

    def load(self, d: Data, lo: int, hi: int) -> None:
        for i in range(lo, hi):
            self.db.rag.index_document(f"d{i}", d.text[i], chunk_vectors=[d.vectors[i]])

    def ready(self) -> None:
        self.db.compact()

    def query(self, text: str, q: np.ndarray) -> list[int]:
        return [int(h.doc_id[1:]) for h in self.db.rag.hybrid_search(text, vector=q, limit=10)]

    def close(self) -> None:
        self.db.close()


class LanceRag:
    def __init__(self, path: str, create: bool = True):
        import lancedb

        self.db = lancedb.connect(path)
        self.table = None if create else self.db.open_table("chunks")

    def load(self, d: Data, lo: int, hi: int) -> None:
        import pyarrow as pa

        batch = pa.table({
            "chunk_id": pa.array(np.arange(lo, hi, dtype=np.int64)),
            "doc_id": pa.array([f"d{i}" for i in range(lo, hi)]),
            "text": pa.array(d.text[lo:hi]),
            "vector": pa.FixedSizeListArray.from_arrays(pa.array(d.vectors[lo:hi].ravel()), DIM),
        })
        if self.table is None:
            self.table = self.db.create_table("chunks", batch, mode="overwrite")
        else:
            self.table.add(batch)

    def ready(self) -> None:
        from lancedb.index import FTS

        self.table.create_index("text", config=FTS())

    def query(self, text: str, q: np.ndarray) -> list[int]:
        t = (self.table.search(query_type="hybrid").vector(q).text(text).limit(10)
             .select(["chunk_id", "doc_id", "text"]).to_arrow())
        return t["chunk_id"].to_pylist()

    def close(self) -> None:
        self.table = None


def run(rec: Recorder, work: Path, sizes: dict[str, Any]) -> None:
    wl = "3 RAG"
    n = sizes["chunks"]
    say(f"  [rag] {n} chunks; generating data")
    d = Data(n, sizes["rag_queries"])
    label = f"{n // 1000}K chunks"
    for system, vs, make, kind in (
        (AGENTDB, None, lambda p: AgentDBRag(p), "agentdb-rag"),
        (LANCE, AGENTDB, lambda p: LanceRag(p), "lancedb-rag"),
    ):
        path = str(work / f"rag-{kind}")
        remove(path)
        say(f"    {system}")
        rss0 = anon_mb()
        store = make(path)
        with Stopwatch() as sw:
            for lo in range(0, n, BATCH):
                store.load(d, lo, min(n, lo + BATCH))
        how = "one index_document per chunk" if system == AGENTDB else f"adds of {BATCH}"
        rec.add(wl, f"ingest {label} (caller vectors)", system, n / sw.seconds, "chunks/s", HIGHER, vs, note=how)
        with Stopwatch() as ix:
            store.ready()
        rec.add(wl, "build full-text + indexes after ingest", system, ix.seconds, "s", LOWER, vs,
                note="compact()" if system == AGENTDB else "create_index(text, FTS())")
        hits = 0

        def one(k: int, s: Any = store) -> None:
            nonlocal hits
            hits += int(d.targets[k]) in s.query(d.qtext[k], d.qvec[k])

        lat = timed_calls(one, range(len(d.targets)), budget_s=sizes["query_budget_s"])
        note = f"{len(lat)} queries, hit rate {hits / len(lat):.2f}"
        rec.add(wl, f"hybrid top-10 over {label} p50", system, pct_us(lat, 50), "µs", LOWER, vs, note)
        rec.add(wl, f"hybrid top-10 over {label} p99", system, pct_us(lat, 99), "µs", LOWER, vs)
        rec.add(wl, f"hybrid top-10 over {label} QPS", system, len(lat) / lat.sum(), "queries/s", HIGHER, vs)
        growth = anon_mb() - rss0
        store.close()
        del store
        footprint(rec, f"RAG {label}", system, vs, path, kind, d.qtext[0], growth)
        remove(path)


def reopen(kind: str, path: str, arg: str) -> tuple[Any, Any]:
    q = unit_vectors(np.random.default_rng(5), 1, DIM)[0]
    h: dict[str, Any] = {}
    make = {"agentdb-rag": lambda: AgentDBRag(path), "lancedb-rag": lambda: LanceRag(path, create=False)}[kind]
    return (lambda: h.setdefault("s", make()), lambda: h["s"].query(arg, q))
