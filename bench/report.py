"""The results as a markdown table (absolute figures and AgentDB ÷ peer) and a PNG chart."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import HIGHER, Recorder, Row


@dataclass
class Pair:
    agentdb: Row
    peer: Row

    @property
    def ratio(self) -> float:
        return floor(self.agentdb) / floor(self.peer)

    @property
    def ahead(self) -> bool:
        a, p = self.agentdb.value, self.peer.value
        return a > p if self.agentdb.better == HIGHER else a < p

    @property
    def advantage(self) -> float:
        """How many times better AgentDB is (> 1: ahead), whichever way the metric points."""
        a, p = floor(self.agentdb), floor(self.peer)
        return a / p if self.agentdb.better == HIGHER else p / a


#: Below these a figure is measurement noise (a heap delta of a few pages, a sub-10-µs open): ratios use the floor.
FLOORS = {"MB": 0.1, "ms": 0.01, "µs": 0.1, "s": 0.001}


def floor(r: Row) -> float:
    return max(r.value, FLOORS.get(r.unit, 1e-9))


NO_RATIO_NOTE = (
    "Heap growth during a load is measured inside the one benchmark process, where the allocator reuses memory"
    " that systems measured earlier freed (AgentDB always runs first), so it is listed under every measurement"
    " but not compared; the fresh-process figures after reopen are the comparable ones."
)


def pairs(rec: Recorder) -> list[Pair]:
    by_key = {(r.workload, r.metric, r.system): r for r in rec.rows}
    out = []
    for r in rec.rows:
        for vs in r.vs or []:
            a = by_key.get((r.workload, r.metric, vs))
            if a is None:
                continue
            if "growth during load" in r.metric:
                continue  # see NO_RATIO_NOTE
            out.append(Pair(a, r))
    return out


def fmt(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 100:
        return f"{v:.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    if abs(v) >= 1:
        return f"{v:.2f}"
    return f"{v:.3g}"


def ratio_text(x: float) -> str:
    return f"{x:.3g}×" if x < 100 else f"{x:,.0f}×"


def markdown(rec: Recorder, header: list[str], chart_name: str) -> str:
    lines = list(header)
    ps = pairs(rec)
    lines += [
        "",
        "## AgentDB against each peer",
        "",
        "Ratio = AgentDB ÷ peer on the metric as measured (for µs, ms, s and MB lower is better, so a ratio"
        " below 1 is AgentDB ahead). \"ahead\" reads the direction for you. " + NO_RATIO_NOTE,
        "",
        "| workload | metric | AgentDB (as) | AgentDB | peer | peer value | unit | AgentDB ÷ peer | AgentDB ahead? |",
        "|---|---|---|---:|---|---:|---|---:|:---:|",
    ]
    for p in ps:
        a, r = p.agentdb, p.peer
        lines.append(
            f"| {a.workload} | {a.metric} | {a.system} | {fmt(a.value)} | {r.system} | {fmt(r.value)} | {a.unit} "
            f"| {ratio_text(p.ratio)} | {'yes' if p.ahead else '**no**'} |"
        )
    lines += ["", "## Every measurement", "", "| workload | metric | system | value | unit | note |",
              "|---|---|---|---:|---|---|"]
    for r in rec.rows:
        lines.append(f"| {r.workload} | {r.metric} | {r.system} | {fmt(r.value)} | {r.unit} | {r.note} |")
    if rec.curves:
        lines += ["", "## ANN: recall@10 against queries/s", "", "| system | setting | recall@10 | QPS | queries |",
                  "|---|---|---:|---:|---:|"]
        for system, curve in rec.curves.items():
            for p in curve:
                lines.append(f"| {system} | {p['label']} | {p['recall']:.3f} | {fmt(p['qps'])} | {p['queries']} |")
    behind = [p for p in ps if not p.ahead]
    lines += ["", "## Where AgentDB is not ahead", ""]
    lines += [f"- {p.agentdb.workload} · {p.agentdb.metric}: {p.agentdb.system} {fmt(p.agentdb.value)} vs "
              f"{p.peer.system} {fmt(p.peer.value)} {p.agentdb.unit}" for p in behind] or ["- nowhere"]
    if rec.notes:
        lines += ["", "## Notes from the run", ""] + [f"- {n}" for n in rec.notes]
    lines += ["", f"![AgentDB against its peers]({chart_name})", ""]
    return "\n".join(lines)


CHART_SKIP = ("p99", "growth during load", "RSS after", "warm, p50")


def chart(rec: Recorder, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # The chart keeps the headline metrics (the table has every one): no p99s, no in-process heap growth.
    ps = [p for p in pairs(rec) if not any(k in p.agentdb.metric for k in CHART_SKIP)]
    speed = [p for p in ps if not p.agentdb.workload.startswith("5")]
    foot = [p for p in ps if p.agentdb.workload.startswith("5")]
    heights = [max(3.0, 0.22 * len(speed) + 1), max(2.5, 0.22 * len(foot) + 1), 5.0]
    fig, axes = plt.subplots(3, 1, figsize=(15, sum(heights)), gridspec_kw={"height_ratios": heights})

    def bars(ax: Any, group: list[Pair], subtitle: str) -> None:
        if not group:
            ax.set_axis_off()
            return
        labels = [f"{p.agentdb.metric} — {p.agentdb.system} vs {p.peer.system}" for p in group]
        vals = [p.advantage for p in group]
        colors = ["#2a9d55" if p.ahead else "#d1495b" for p in group]
        y = range(len(group))[::-1]
        ax.barh(list(y), vals, color=colors, left=0)
        ax.set_xscale("log")
        ax.axvline(1.0, color="black", linewidth=0.8)
        ax.set_yticks(list(y), labels, fontsize=7)
        for yi, v in zip(y, vals):
            ax.text(v, yi, f" {v:.3g}×" if v < 100 else f" {v:,.0f}×", va="center", fontsize=7)
        ax.set_xlabel("AgentDB advantage (× better; > 1 = AgentDB ahead, < 1 = peer ahead), log scale")
        ax.set_title(subtitle, fontsize=10)
        ax.set_xlim(min(0.5, min(vals) / 2), max(2.0, max(vals) * 4))

    bars(axes[0], speed, "Speed: agent state, memory, RAG, ANN (p50s and throughputs; p99s in the table)")
    bars(axes[1], foot, "Footprint: disk, heap after reopen, reopen time (fresh process)")
    ax = axes[2]
    if rec.curves:
        for system, curve in rec.curves.items():
            pts = sorted((p for p in curve if p["label"] != "flat (exact)"), key=lambda p: p["recall"])
            flat = [p for p in curve if p["label"] == "flat (exact)"]
            line = ax.plot([p["recall"] for p in pts], [p["qps"] for p in pts], marker="o", label=system)
            for p in flat:
                ax.scatter([p["recall"]], [p["qps"]], marker="x", color=line[0].get_color(),
                           label=f"{system} flat (exact)")
        ax.set_yscale("log")
        ax.set_xlabel("recall@10")
        ax.set_ylabel("queries/s (one at a time)")
        ax.set_title("ANN: fashion-mnist, recall@10 against queries/s", fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    else:
        ax.set_axis_off()
    fig.suptitle(title, fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.99))
    fig.savefig(path, dpi=110)
    plt.close(fig)
