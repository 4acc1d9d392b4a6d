"""AgentDB side by side with the stores agent builders use today.

Runs each workload on AgentDB and on each peer in this one process, on the
same data, and writes a markdown table (absolute figures and AgentDB ÷ peer),
the raw results as JSON and a PNG chart. See bench/README.md.

    python bench/compare.py                 # the full run (~25 min on 2 cores)
    python bench/compare.py --quick         # a small smoke run (~2 min)
    python bench/compare.py --only state,ann --out /tmp/r
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

os.environ.setdefault("LANCE_LOG", "error")
os.environ.setdefault("LANCEDB_LOG", "error")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import warnings  # noqa: E402

warnings.filterwarnings("ignore", category=DeprecationWarning)
warnings.filterwarnings("ignore", message=".*Local mode is not recommended.*")

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import harness  # noqa: E402
import report  # noqa: E402

FULL = {
    "state_agents": 1000, "state_steps_small": 100, "state_steps_large": 10, "state_steps_per_record": 5,
    "state_load_sample": 200,
    "memories": 100_000, "memory_agents": 100, "memory_queries": 500, "qdrant_max_points": 5000, "saver_steps_small": 10, "saver_steps_large": 5,
    "memory_default_tail": 2000,
    "chunks": 100_000, "rag_queries": 300,
    "ann_rows": 60_000, "ann_queries": 200,
    "query_budget_s": 30.0,
    "thread_steps": 10_050, "thread_calls": 100,
    "store_items": 100_000, "store_namespaces": 1_000, "store_calls": 200,
}
QUICK = {
    "state_agents": 50, "state_steps_small": 10, "state_steps_large": 4, "state_steps_per_record": 2,
    "state_load_sample": 20,
    "memories": 4000, "memory_agents": 20, "memory_queries": 40, "qdrant_max_points": 500, "saver_steps_small": 5, "saver_steps_large": 2,
    "memory_default_tail": 300,
    "chunks": 3000, "rag_queries": 30,
    "ann_rows": 5000, "ann_queries": 30,
    "query_budget_s": 5.0,
    "thread_steps": 1_050, "thread_calls": 10,
    "store_items": 5_000, "store_namespaces": 100, "store_calls": 20,
}
WORKLOADS = ["state", "memory", "rag", "ann", "thread", "store"]
PEER_PACKAGES = ["agentdb-engine", "lancedb", "chromadb", "qdrant-client", "langgraph", "langgraph-checkpoint-sqlite",
                 "langgraph-checkpoint", "numpy", "pyarrow", "matplotlib", "psutil"]


def versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "sqlite (library)": sqlite3.sqlite_version}
    for p in PEER_PACKAGES:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            out[p] = "not installed"
    return out


def agentdb_build() -> str:
    """What setup_bench.sh recorded about the installed agentdb wheel (profile, commit)."""
    marker = Path(sys.prefix) / "agentdb-build.txt"
    return marker.read_text().strip() if marker.exists() else "unknown (not installed by scripts/setup_bench.sh)"


def machine() -> dict[str, str]:
    cpu = platform.processor() or "?"
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                cpu = line.split(":", 1)[1].strip()
    except OSError:
        pass
    import psutil

    disk = shutil.disk_usage(tempfile.gettempdir())
    os_name = platform.platform()
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                os_name = line.split("=", 1)[1].strip('"') + f" (kernel {platform.release()})"
    except OSError:
        pass
    return {
        "cpu": f"{cpu}, {os.cpu_count()} cores",
        "memory": f"{psutil.virtual_memory().total / 2**30:.1f} GiB",
        "disk": f"{disk.total / 2**30:.0f} GiB volume, {disk.free / 2**30:.0f} GiB free at start",
        "os": os_name,
        "load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def reopen_child(kind: str, path: str, arg: str) -> int:
    """``--reopen``: the footprint probe's fresh process (see harness.reopen_probe)."""
    import agentdb  # noqa: F401
    import chromadb  # noqa: F401
    import lancedb  # noqa: F401
    import qdrant_client  # noqa: F401
    from langgraph.checkpoint.sqlite import SqliteSaver  # noqa: F401

    import wl_ann
    import wl_memory
    import wl_rag
    import wl_state

    module = {"state": wl_state, "saver": wl_state, "memory": wl_memory, "rag": wl_rag, "ann": wl_ann}[
        kind.split("-")[-1]]
    base, base_anon = harness.rss_mb(), harness.anon_mb()
    open_, read = module.reopen(kind, path, arg)
    t0 = time.perf_counter()
    open_()
    t1 = time.perf_counter()
    read()
    t2 = time.perf_counter()
    print(json.dumps({"open_ms": (t1 - t0) * 1000, "first_read_ms": (t2 - t1) * 1000,
                      "rss_mb": harness.rss_mb() - base, "anon_mb": harness.anon_mb() - base_anon}), flush=True)
    os._exit(0)  # skip interpreter teardown: its time and noise are not part of the probe


def write_report(out: Path, data: dict, rec: harness.Recorder) -> None:
    """results.md and chart.png from a run's data (also ``--render``: from a saved results.json)."""
    mode, only = data["mode"], data.get("only", WORKLOADS)
    started = dt.datetime.fromisoformat(data["started_utc"])
    mach, sizes = data["machine"], data["sizes"]
    header = [
        f"# AgentDB side by side ({mode} run)",
        "",
        f"`python bench/compare.py{' --quick' if mode != 'full' else ''}"
        f"{'' if only == WORKLOADS else ' --only ' + ','.join(only)}` — {started:%Y-%m-%d %H:%M} UTC, "
        f"{data['seconds'] / 60:.1f} min ({', '.join(f'{k} {v:.0f} s' for k, v in data['durations_s'].items())}).",
        "",
        "## Machine",
        "",
    ] + [f"- {k}: {v}" for k, v in mach.items()] + [
        f"- agentdb build: {data['agentdb_build']}",
        "",
        "## Versions",
        "",
    ] + [f"- {k} {v}" for k, v in data["versions"].items()] + [
        "",
        "## Sizes",
        "",
        "- " + ", ".join(f"{k} {v}" for k, v in sizes.items()),
    ]
    (out / "results.md").write_text(report.markdown(rec, header, "chart.png"))
    report.chart(rec, out / "chart.png", f"AgentDB side by side ({mode} run, {mach['cpu']}, {started:%Y-%m-%d})")


def render(path: Path) -> int:
    """``--render results.json``: rewrites results.md and chart.png beside it (no benchmark run)."""
    data = json.loads(path.read_text())
    rows = [harness.Row(**r) for r in data["rows"]]
    rec = harness.Recorder(rows=rows, curves=data.get("curves", {}), notes=data.get("notes", []))
    write_report(path.parent, data, rec)
    print(f"wrote {path.parent / 'results.md'} and {path.parent / 'chart.png'}")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes: checks the harness runs (CI)")
    ap.add_argument("--out", default=str(HERE / "results"), help="where results.md, results.json and chart.png go")
    ap.add_argument("--work", default=None, help="scratch directory for the stores (default: a temp dir)")
    ap.add_argument("--only", default=",".join(WORKLOADS), help=f"comma-separated subset of {','.join(WORKLOADS)}")
    ap.add_argument("--render", metavar="RESULTS_JSON", help="rewrite results.md and chart.png from a results.json")
    ap.add_argument("--reopen", nargs=3, metavar=("KIND", "PATH", "ARG"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.reopen:
        return reopen_child(*args.reopen)
    if args.render:
        return render(Path(args.render))

    only = [w.strip() for w in args.only.split(",") if w.strip()]
    unknown = set(only) - set(WORKLOADS)
    if unknown:
        ap.error(f"unknown workloads {sorted(unknown)}; choose from {WORKLOADS}")
    sizes = QUICK if args.quick else FULL
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work_root = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="agentdb-compare-"))
    work_root.mkdir(parents=True, exist_ok=True)

    import wl_ann
    import wl_memory
    import wl_rag
    import wl_state
    import wl_store
    import wl_thread

    modules = {"state": wl_state, "memory": wl_memory, "rag": wl_rag, "ann": wl_ann, "thread": wl_thread,
               "store": wl_store}
    vers, mach, build = versions(), machine(), agentdb_build()
    started = dt.datetime.now(dt.timezone.utc)
    harness.say(f"compare.py {'--quick' if args.quick else '(full)'}: {', '.join(only)}; scratch {work_root}")
    harness.say("versions: " + ", ".join(f"{k} {v}" for k, v in vers.items()))
    harness.say(f"agentdb build: {build}")
    harness.say("machine: " + "; ".join(f"{k}: {v}" for k, v in mach.items()))
    rec = harness.Recorder()
    t_all = time.perf_counter()
    durations = {}
    try:
        for name in only:
            harness.say(f"[{name}]")
            t = time.perf_counter()
            modules[name].run(rec, work_root, sizes)
            durations[name] = time.perf_counter() - t
            harness.say(f"[{name}] done in {durations[name]:.0f} s")
    finally:
        if not args.work:
            shutil.rmtree(work_root, ignore_errors=True)
    total = time.perf_counter() - t_all

    data = {"mode": "--quick" if args.quick else "full", "started_utc": started.isoformat(), "seconds": total,
            "durations_s": durations, "only": only, "machine": mach, "agentdb_build": build, "versions": vers,
            "sizes": sizes, **rec.to_json()}
    (out / "results.json").write_text(json.dumps(data, indent=1))
    write_report(out, data, rec)

    harness.say("")
    harness.say(f"{'metric':<56} {'AgentDB as':<26} {'value':>10} {'peer':<32} {'peer value':>10} {'ratio':>9}  ahead")
    for p in report.pairs(rec):
        harness.say(f"{(p.agentdb.workload[2:] + ' · ' + p.agentdb.metric)[:56]:<56} {p.agentdb.system[:26]:<26} "
                    f"{report.fmt(p.agentdb.value):>10} "
                    f"{p.peer.system[:32]:<32} {report.fmt(p.peer.value):>10} {report.ratio_text(p.ratio):>9}  "
                    f"{'yes' if p.ahead else 'NO'}  [{p.agentdb.unit}]")
    harness.say(f"\nwrote {out / 'results.md'}, {out / 'results.json'}, {out / 'chart.png'} in {total / 60:.1f} min")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
