"""Shared pieces of the side-by-side benchmark: result rows, timing, footprint probes, synthetic data.

Every workload module records rows through a ``Recorder``; a peer's row names
the AgentDB row it is compared with (``vs``), so the report can print the
ratio AgentDB ÷ peer next to both absolute figures.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import psutil

HIGHER = "higher"
LOWER = "lower"


@dataclass
class Row:
    workload: str
    metric: str
    system: str
    value: float
    unit: str
    better: str  # HIGHER or LOWER
    vs: list[str] | None = None  # the AgentDB system(s) this peer row is compared with
    note: str = ""


@dataclass
class Recorder:
    rows: list[Row] = field(default_factory=list)
    curves: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # ANN: system -> [{label, recall, qps}]
    notes: list[str] = field(default_factory=list)

    def add(self, workload: str, metric: str, system: str, value: float, unit: str, better: str,
            vs: str | list[str] | None = None, note: str = "") -> None:
        if isinstance(vs, str):
            vs = [vs]
        self.rows.append(Row(workload, metric, system, float(value), unit, better, vs, note))
        shown = f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"
        print(f"    {workload} | {metric} | {system}: {shown} {unit}" + (f"  ({note})" if note else ""), flush=True)

    def to_json(self) -> dict[str, Any]:
        return {"rows": [asdict(r) for r in self.rows], "curves": self.curves, "notes": self.notes}


def say(msg: str) -> None:
    print(msg, flush=True)


class Stopwatch:
    def __enter__(self) -> Stopwatch:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start


def timed_calls(fn: Callable[[Any], Any], args: Iterable[Any], budget_s: float | None = None) -> np.ndarray:
    """Calls ``fn(arg)`` for each arg, one at a time; returns per-call seconds.

    With a budget, stops after the call that crosses it (a slow peer then
    reports percentiles over fewer calls instead of stretching the run).
    """
    lat = []
    begin = time.perf_counter()
    for a in args:
        t = time.perf_counter()
        fn(a)
        lat.append(time.perf_counter() - t)
        if budget_s is not None and time.perf_counter() - begin > budget_s:
            break
    return np.asarray(lat)


def pct_us(lat: np.ndarray, q: float) -> float:
    return float(np.percentile(lat, q) * 1e6)


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def anon_mb() -> float:
    """Anonymous (heap) resident memory: RSS without the pages of mapped files such as a library's code."""
    try:
        for line in open("/proc/self/smaps_rollup"):
            if line.startswith("Anonymous:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return rss_mb()


def dir_mb(path: str | os.PathLike[str]) -> float:
    p = Path(path)
    if p.is_file():
        files = [p]
    else:
        files = [f for f in p.rglob("*") if f.is_file()]
    # SQLite's -wal/-shm live beside the database file.
    if p.is_file():
        files += [Path(str(p) + s) for s in ("-wal", "-shm") if Path(str(p) + s).exists()]
    return sum(f.stat().st_size for f in files) / 2**20


def remove(path: str | os.PathLike[str]) -> None:
    p = Path(path)
    if p.is_dir():
        shutil.rmtree(p, ignore_errors=True)
    else:
        for s in ("", "-wal", "-shm"):
            Path(str(p) + s).unlink(missing_ok=True)


def reopen_probe(kind: str, path: str, arg: str = "") -> dict[str, float]:
    """Reopens a store in a fresh process (``compare.py --reopen``) and returns
    ``{open_ms, first_read_ms, rss_mb, anon_mb}``: the time to open it, the
    time of one representative read, and the resident memory (all of it, and
    its anonymous part: heap rather than mapped code) the open and read added
    to a process that had already imported every client library."""
    cmd = [sys.executable, str(Path(__file__).with_name("compare.py")), "--reopen", kind, path, arg]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    for line in reversed(out.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise RuntimeError(f"reopen probe {kind} failed:\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}")


def footprint(rec: Recorder, label: str, system: str, vs: str | list[str] | None, path: str, kind: str, arg: str,
              heap_growth_mb: float) -> None:
    """Footprint rows of one loaded store: disk, heap growth while loading it, reopen time, RSS and heap."""
    probe = reopen_probe(kind, path, arg)
    rec.add("5 footprint", f"{label}: on-disk size", system, dir_mb(path), "MB", LOWER, vs)
    rec.add("5 footprint", f"{label}: heap growth during load", system, max(heap_growth_mb, 0.0), "MB", LOWER, vs,
            note="anonymous memory, in the benchmark process")
    rec.add("5 footprint", f"{label}: reopen (open + first read)", system,
            probe["open_ms"] + probe["first_read_ms"], "ms", LOWER, vs,
            note=f"open {probe['open_ms']:.1f} ms + read {probe['first_read_ms']:.1f} ms, fresh process")
    rec.add("5 footprint", f"{label}: RSS after reopen + first read", system, probe["rss_mb"], "MB", LOWER, vs,
            note="fresh process, above its baseline; includes library code paged in")
    rec.add("5 footprint", f"{label}: heap after reopen + first read", system, probe["anon_mb"], "MB", LOWER, vs,
            note="anonymous memory, fresh process, above its baseline")


# --- synthetic data ---------------------------------------------------------------------------------------------

_SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "to", "sa", "vi", "de", "po", "ba", "ri", "gu", "fe", "zo", "an", "el",
              "or", "ti", "mu", "qua", "ster", "bri", "dan"]


def vocabulary(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    words: set[str] = set()
    while len(words) < n:
        k = int(rng.integers(2, 5))
        words.add("".join(_SYLLABLES[int(i)] for i in rng.integers(0, len(_SYLLABLES), k)))
    return sorted(words)


def zipf_sentences(rng: np.random.Generator, vocab: list[str], lengths: np.ndarray) -> list[list[str]]:
    """Word lists of the given lengths, words drawn with a Zipf-like law (rank^-1.1), as in natural text."""
    ranks = np.arange(1, len(vocab) + 1, dtype=np.float64)
    p = ranks ** -1.1
    p /= p.sum()
    idx = rng.choice(len(vocab), size=int(lengths.sum()), p=p)
    out, at = [], 0
    for n in lengths:
        out.append([vocab[i] for i in idx[at : at + n]])
        at += n
    return out


def unit_vectors(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    v = rng.standard_normal((n, dim), dtype=np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return v


def near(rng: np.random.Generator, v: np.ndarray, noise: float) -> np.ndarray:
    """A query close to stored vectors ``v`` (rows): v + gaussian noise, renormalised."""
    q = v + rng.standard_normal(v.shape, dtype=np.float32) * noise
    q /= np.linalg.norm(q, axis=-1, keepdims=True)
    return q.astype(np.float32)
