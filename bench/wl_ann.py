"""Workload 4: ANN quality and speed — recall@10 against queries/s on fashion-mnist (60,000 × 784, L2).

The vectors are Debian's ``dataset-fashion-mnist`` (IDX files, pixels
scaled to 0..1); queries are the first images of its test set; the ground
truth is exact, by brute force in numpy. One query at a time, k = 10.

- AgentDB vector collection (``metric="l2"``), maintenance off so the flat
  (exact) search is measured before ``create_index`` builds its
  IVF-HNSW-SQ index; then a sweep of ``nprobes`` / ``refine_factor``.
- lancedb (Python): the same, flat then ``create_index("vector",
  config=HnswSq())`` (IVF-HNSW-SQ with LanceDB's defaults) and the same sweep.
- Chroma (embedded): HNSW with its defaults (one point; see ``run``).
- Qdrant local mode: exact search (local mode has no HNSW), on the first
  5,000 vectors only (it commits every point on its own; ground truth for
  that subset computed the same way).
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import numpy as np

import agentdb
from harness import (HIGHER, LOWER, Recorder, Stopwatch, footprint, remove, anon_mb, say, timed_calls)

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
AGENTDB = "AgentDB"
LANCE = "lancedb"
CHROMA = "Chroma (embedded)"
QDRANT = "Qdrant local mode"
SWEEP: list[tuple[int | None, int | None]] = [(1, None), (5, None), (20, None), (20, 2), (50, 5)]
BATCH = 5000


def read_idx(path: Path) -> np.ndarray:
    raw = gzip.decompress(path.read_bytes())
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * d : 8 + 4 * d], "big") for d in range(ndim))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_dataset(rows: int, queries: int) -> tuple[np.ndarray, np.ndarray]:
    train = read_idx(FASHION_MNIST_DIR / "train-images-idx3-ubyte.gz")[:rows]
    test = read_idx(FASHION_MNIST_DIR / "t10k-images-idx3-ubyte.gz")[:queries]
    as_vec = lambda a: (a.reshape(len(a), -1).astype(np.float32) / 255.0)  # noqa: E731
    return as_vec(train), as_vec(test)


def ground_truth(data: np.ndarray, qs: np.ndarray, k: int = 10) -> np.ndarray:
    norms = (data.astype(np.float64) ** 2).sum(axis=1)
    out = []
    for lo in range(0, len(qs), 100):
        q = qs[lo : lo + 100].astype(np.float64)
        d2 = norms[None, :] - 2 * q @ data.T.astype(np.float64)
        part = np.argpartition(d2, k, axis=1)[:, :k]
        out.append(np.take_along_axis(part, np.argsort(np.take_along_axis(d2, part, 1), 1), 1))
    return np.vstack(out)


class AgentDBAnn:
    def __init__(self, path: str, create: bool = True):
        self.db = agentdb.connect(path, maintenance_interval_ms=None)
        self.opts: dict[str, Any] = {}
        if create:
            self.db.vectors.create_collection("fmnist", 784, "l2")

    def load(self, data: np.ndarray, lo: int, hi: int) -> None:
        self.db.vectors.insert_many("fmnist", [str(i) for i in range(lo, hi)], data[lo:hi])

    def loaded(self) -> None:
        self.db.flush()

    def index(self) -> None:
        self.db.vectors.create_index("fmnist")

    def tune(self, nprobes: int | None, refine: int | None) -> None:
        self.opts = {"nprobes": nprobes, "refine_factor": refine}

    def query(self, q: np.ndarray) -> list[int]:
        return [int(h.id) for h in self.db.vectors.search("fmnist", q, k=10, **self.opts)]

    def close(self) -> None:
        self.db.close()


class LanceAnn:
    def __init__(self, path: str, create: bool = True):
        import lancedb

        self.db = lancedb.connect(path)
        self.table = None if create else self.db.open_table("fmnist")
        self.nprobes: int | None = None
        self.refine: int | None = None

    def load(self, data: np.ndarray, lo: int, hi: int) -> None:
        import pyarrow as pa

        batch = pa.table({"id": pa.array(np.arange(lo, hi, dtype=np.int64)),
                          "vector": pa.FixedSizeListArray.from_arrays(pa.array(data[lo:hi].ravel()), 784)})
        if self.table is None:
            self.table = self.db.create_table("fmnist", batch, mode="overwrite")
        else:
            self.table.add(batch)

    def loaded(self) -> None:
        pass

    def index(self) -> None:
        from lancedb.index import HnswSq

        self.table.create_index("vector", config=HnswSq(distance_type="l2"))

    def tune(self, nprobes: int | None, refine: int | None) -> None:
        self.nprobes, self.refine = nprobes, refine

    def query(self, q: np.ndarray) -> list[int]:
        s = self.table.search(q).limit(10).select(["id"])
        if self.nprobes is not None:
            s = s.nprobes(self.nprobes)
        if self.refine is not None:
            s = s.refine_factor(self.refine)
        return s.to_arrow()["id"].to_pylist()

    def close(self) -> None:
        self.table = None


class ChromaAnn:
    def __init__(self, path: str, create: bool = True):
        import chromadb
        from chromadb.config import Settings

        self.client = chromadb.PersistentClient(path=path, settings=Settings(anonymized_telemetry=False))
        get = self.client.create_collection if create else self.client.get_collection
        self.col = get("fmnist", embedding_function=None)

    def load(self, data: np.ndarray, lo: int, hi: int) -> None:
        self.col.add(ids=[str(i) for i in range(lo, hi)], embeddings=data[lo:hi])

    def loaded(self) -> None:
        pass

    def query(self, q: np.ndarray) -> list[int]:
        return [int(i) for i in self.col.query(query_embeddings=[q], n_results=10, include=[])["ids"][0]]

    def close(self) -> None:
        self.col = None
        self.client = None


class QdrantAnn:
    def __init__(self, path: str, create: bool = True):
        from qdrant_client import QdrantClient, models

        self.models = models
        self.client = QdrantClient(path=path)
        if create:
            self.client.create_collection(
                "fmnist", vectors_config=models.VectorParams(size=784, distance=models.Distance.EUCLID))

    def load(self, data: np.ndarray, lo: int, hi: int) -> None:
        m = self.models
        self.client.upsert("fmnist", points=[m.PointStruct(id=i, vector=data[i].tolist()) for i in range(lo, hi)])

    def loaded(self) -> None:
        pass

    def query(self, q: np.ndarray) -> list[int]:
        return [int(p.id) for p in self.client.query_points("fmnist", query=q, limit=10).points]

    def close(self) -> None:
        self.client.close()


def measure(rec: Recorder, store: Any, system: str, vs: str | None, label: str, qs: np.ndarray, truth: np.ndarray,
            budget_s: float, curve: bool = True) -> None:
    hits = 0

    def one(k: int) -> None:
        nonlocal hits
        hits += len(set(store.query(qs[k])) & set(truth[k].tolist()))

    lat = timed_calls(one, range(len(qs)), budget_s=budget_s)
    recall = hits / (10 * len(lat))
    qps = len(lat) / lat.sum()
    rec.curves.setdefault(system, []).append({"label": label, "recall": recall, "qps": qps, "queries": len(lat)})
    print(f"      {system} {label}: recall@10 {recall:.3f}, {qps:.1f} QPS ({len(lat)} queries)", flush=True)


def best_at(curve: list[dict[str, Any]], min_recall: float) -> dict[str, Any] | None:
    ok = [p for p in curve if p["recall"] >= min_recall]
    return max(ok, key=lambda p: p["qps"]) if ok else None


def run(rec: Recorder, work: Path, sizes: dict[str, Any]) -> None:
    wl = "4 ANN fashion-mnist"
    if not (FASHION_MNIST_DIR / "train-images-idx3-ubyte.gz").exists():
        rec.notes.append(f"ANN skipped: {FASHION_MNIST_DIR} missing (Debian package dataset-fashion-mnist)")
        say("  [ann] skipped: dataset-fashion-mnist is not installed")
        return
    data, qs = load_dataset(sizes["ann_rows"], sizes["ann_queries"])
    with Stopwatch() as gt:
        truth = ground_truth(data, qs)
    label = f"{len(data) // 1000}K×784"
    say(f"  [ann] {len(data)}×784, {len(qs)} queries; exact ground truth in {gt.seconds:.1f} s")
    rec.notes.append(f"ANN: exact ground truth for {len(qs)} queries over {len(data)}×784 by numpy brute force in "
                     f"{gt.seconds:.1f} s")
    budget = sizes["query_budget_s"]
    for system, vs, cls, kind in (
        (AGENTDB, None, AgentDBAnn, "agentdb-ann"),
        (LANCE, AGENTDB, LanceAnn, "lancedb-ann"),
        (CHROMA, AGENTDB, ChromaAnn, "chroma-ann"),
        (QDRANT, AGENTDB, QdrantAnn, "qdrant-ann"),
    ):
        path = str(work / f"ann-{kind}")
        remove(path)
        say(f"    {system}")
        rss0 = anon_mb()
        store = cls(path)
        rows = len(data) if system != QDRANT else min(len(data), sizes["qdrant_max_points"])
        with Stopwatch() as sw:
            for lo in range(0, rows, BATCH):
                store.load(data, lo, min(rows, lo + BATCH))
            store.loaded()
        rec.add(wl, f"insert {label}", system, rows / sw.seconds, "vectors/s", HIGHER, vs,
                note="" if rows == len(data) else f"first {rows} only")
        if system in (AGENTDB, LANCE):
            measure(rec, store, system, vs, "flat (exact)", qs, truth, budget)
            flat = rec.curves[system][-1]
            rec.add(wl, "flat (exact) search QPS", system, flat["qps"], "queries/s", HIGHER, vs,
                    note=f"recall@10 {flat['recall']:.3f}")
            with Stopwatch() as ix:
                store.index()
            rec.add(wl, "build IVF-HNSW-SQ index", system, ix.seconds, "s", LOWER, vs)
            for nprobes, refine in SWEEP:
                store.tune(nprobes, refine)
                measure(rec, store, system, vs, f"nprobes={nprobes}" + (f", refine={refine}" if refine else ""),
                        qs, truth, budget)
        elif system == CHROMA:
            # No ef_search sweep: chromadb 1.5.9's collection.modify(configuration=...) records a new
            # ef_search but the loaded index keeps searching with the old one (checked: recall@10 stayed
            # 1.000 at ef_search=10, against 0.957 for a collection created with it), and rebuilding
            # the collection per setting costs minutes.
            measure(rec, store, system, vs, "HNSW defaults (ef_search=100)", qs, truth, budget)
        else:
            sub_truth = truth if rows == len(data) else ground_truth(data[:rows], qs)
            measure(rec, store, system, vs, f"exact (local mode, {rows} vectors)", qs, sub_truth, budget)
        curve = rec.curves[system]
        indexed = [p for p in curve if p["label"] != "flat (exact)"]
        for floor in (0.9, 0.95):
            best = best_at(indexed, floor)
            if best is not None:
                rec.add(wl, f"best QPS at recall@10 ≥ {floor}", system, best["qps"], "queries/s", HIGHER, vs,
                        note=f"{best['label']}, recall {best['recall']:.3f}")
        growth = anon_mb() - rss0
        store.close()
        del store
        footprint(rec, f"ANN {label}" if rows == len(data) else f"ANN {rows // 1000}K×784", system, vs, path, kind,
                  "", growth)
        remove(path)


def reopen(kind: str, path: str, arg: str) -> tuple[Any, Any]:
    q = np.full(784, 0.5, dtype=np.float32)
    h: dict[str, Any] = {}
    cls = {"agentdb-ann": AgentDBAnn, "lancedb-ann": LanceAnn, "chroma-ann": ChromaAnn, "qdrant-ann": QdrantAnn}[kind]
    return (lambda: h.setdefault("s", cls(path, create=False)), lambda: h["s"].query(q))
