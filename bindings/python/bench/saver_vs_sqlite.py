"""AgentDBSaver vs LangGraph's SqliteSaver: put and get_tuple throughput on the same checkpoints.

Both savers get identical checkpoints (same ids, values and metadata), put in
the same order (a chain per thread, as a graph run writes them), then read
back by id (a random sample), then read "latest" per thread (what a graph
run does when it starts). SqliteSaver
runs as documented (``SqliteSaver.from_conn_string("checkpoints.sqlite")``:
a file, WAL mode, Python's default ``synchronous=FULL``, so every put is
fsynced). AgentDBSaver runs on ``agentdb.connect(path)`` defaults
(``fsync="batch"``: a put is durable against process death at once and
against power loss within 10 ms) and, for like-for-like durability, with
``fsync="always"``.

    python bench/saver_vs_sqlite.py [--checkpoints 2000] [--threads 4] [--value-bytes 2048] [--id-reads 300]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver, empty_checkpoint
from langgraph.checkpoint.sqlite import SqliteSaver

import agentdb
from agentdb.langgraph import AgentDBSaver


def make_workload(n: int, threads: int, value_bytes: int, seed: int) -> list[tuple[str, dict, dict]]:
    """``(thread_id, checkpoint, metadata)`` in put order."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        thread = f"thread-{i % threads}"
        cp = empty_checkpoint()
        text = "".join(rng.choice("abcdefghij ") for _ in range(value_bytes))
        cp["channel_values"] = {"messages": [text[j : j + 256] for j in range(0, value_bytes, 256)], "step": i}
        cp["channel_versions"] = {"messages": i + 1, "step": i + 1}
        cp["versions_seen"] = {"agent": {"messages": i}}
        out.append((thread, cp, {"source": "loop", "step": i // threads, "run_id": f"run-{i % 7}"}))
    return out


def run_puts(saver: BaseCheckpointSaver, workload: list[tuple[str, dict, dict]]) -> list[dict]:
    parents: dict[str, dict] = {}
    stored = []
    for thread, cp, md in workload:
        config = parents.get(thread) or {"configurable": {"thread_id": thread, "checkpoint_ns": ""}}
        parents[thread] = saver.put(config, cp, md, cp["channel_versions"])
        stored.append(parents[thread])
    return stored


def timed(fn: Callable[[], Any], count: int) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return count / (time.perf_counter() - start), result


def measure(
    name: str, saver: BaseCheckpointSaver, workload: list, threads: int, id_reads: int, seed: int
) -> dict[str, float]:
    n = len(workload)
    put_rate, stored = timed(lambda: run_puts(saver, workload), n)
    order = random.Random(seed).sample(stored, min(id_reads, n))

    def get_all() -> None:
        for config in order:
            tup = saver.get_tuple(config)
            assert tup is not None and tup.checkpoint["id"] == config["configurable"]["checkpoint_id"]

    get_rate, _ = timed(get_all, len(order))
    latest_reads = max(n // 4, threads)

    def get_latest() -> None:
        for i in range(latest_reads):
            thread = f"thread-{i % threads}"
            tup = saver.get_tuple({"configurable": {"thread_id": thread, "checkpoint_ns": ""}})
            assert tup is not None

    latest_rate, _ = timed(get_latest, latest_reads)
    print(
        f"{name:<28} put {put_rate:>9.0f} ops/s   get_tuple(random id) {get_rate:>9.0f} ops/s   "
        f"get_tuple(latest) {latest_rate:>9.0f} ops/s",
        flush=True,
    )
    return {"put": put_rate, "get": get_rate, "latest": latest_rate}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoints", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--value-bytes", type=int, default=2048)
    parser.add_argument("--id-reads", type=int, default=300, help="get_tuple calls by a random stored id")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    workload = make_workload(args.checkpoints, args.threads, args.value_bytes, args.seed)
    print(
        f"{args.checkpoints} checkpoints over {args.threads} threads, ~{args.value_bytes} B of channel values each "
        f"(python {sys.version.split()[0]}, {os.cpu_count()} cpus)"
    )
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        with SqliteSaver.from_conn_string(os.path.join(tmp, "checkpoints.sqlite")) as saver:
            results["sqlite"] = measure("SqliteSaver (file, WAL)", saver, workload, args.threads, args.id_reads, args.seed)
        for fsync in ("batch", "always"):
            with agentdb.connect(os.path.join(tmp, f"agentdb-{fsync}"), fsync=fsync) as db:
                saver = AgentDBSaver(db)
                results[fsync] = measure(f"AgentDBSaver (fsync={fsync})", saver, workload, args.threads, args.id_reads, args.seed)

    base = results["sqlite"]
    for fsync in ("batch", "always"):
        r = results[fsync]
        print(
            f"ratio AgentDBSaver(fsync={fsync}) / SqliteSaver: put {r['put'] / base['put']:.2f}x, "
            f"get_tuple(random id) {r['get'] / base['get']:.3f}x, get_tuple(latest) {r['latest'] / base['latest']:.2f}x"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
