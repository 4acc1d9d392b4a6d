"""Load benchmark of `agentdb serve` over loopback HTTP, and the same memory add/query workload on Chroma's server.

One run has three phases, each with CLIENTS concurrent clients (default 64)
for DURATION seconds (default 30) after a short warm-up, every client a
closed loop (send a request, wait for the whole answer, send the next):

1. ``mixed`` (AgentDB only): the agent workload of issue 16. Each request is
   drawn at random (``--mix``, default save 45, load 45, retrieve 10) for a
   random agent among the seeded ones: ``state save`` (``POST
   /v1/agents/{a}/sessions/1/states``, a fresh 256-byte JSON payload),
   ``state load`` (``GET /v1/agents/{a}/state?session_id=1``, the latest
   version) and ``memory retrieve`` (``POST
   /v1/agents/{a}/memories/retrieve`` with a text ``query``, top 10: the
   server embeds the query with its built-in model, then searches). Seeded
   first: every agent's first state, and memories stored as text (embedded by
   the server's model). Server defaults otherwise (``record_access`` true).
2. ``memory`` on AgentDB and 3. ``memory`` on Chroma: the same memory
   add/query workload on both servers, with the same precomputed 384-dim
   vectors (random unit vectors, seeded; no embedding model on either side:
   the comparison is about the database servers). Seeded first with
   ``--memories`` memories of ``--memory-agents`` agents (batches of 1000),
   then each request is drawn (``--memory-mix``, default add 20, query 80):
   ``add`` one memory of a random agent with a fresh vector, ``query`` the
   top 10 of one agent for a vector near one of its seeded memories.
   AgentDB: ``POST /v1/memories`` (``embedding`` given, default merge policy:
   it checks near-duplicates, random vectors have none) and ``POST
   /v1/agents/{a}/memories/retrieve`` with ``vector``, ``record_access``
   false (a read, as Chroma's query is). Chroma (``chroma run``, its defaults,
   collection with ``hnsw.space=cosine``): ``.../collections/{id}/add`` and
   ``.../query`` with ``where={"agent_id": a}``, bodies in the wire format of
   chromadb's own HTTP client (base64 float32 embeddings on add, float lists
   on query, ``include`` = its default: metadatas, documents, distances).
   AgentDB's retrieve answer also carries each memory's embedding as JSON
   (its API has no switch to leave it out): ~50 KB per top-10 answer against
   Chroma's ~1 KB (the "response size" rows).
   Before the timed load, ``--check-queries`` sequential queries on each side
   measure how often the targeted memory is in the top 10 (hit rate: both
   answer the same question).

Both servers listen on 127.0.0.1 (ephemeral ports), keep their data in a
temp dir, and run one at a time (the other is stopped), with their default
durability (AgentDB ``fsync = "batch:10"``; Chroma's defaults), logging at
``warn`` (both log every request at their default INFO level, Chroma
several lines each; ``--server-log info`` keeps those defaults; logs go to
files). The order of the two memory phases alternates between runs. The
load generator is this process (asyncio on uvloop, aiohttp, one keep-alive
connection per client; request bodies built with orjson), or ``--procs``
forked copies of it sharing the clients: it shares the machine's cores
with the server, so every phase reports the CPU both used. Latencies are
per request, from send to the last byte of the answer, closed loop (no
coordinated-omission correction: they are service times under 64 requests
in flight, not an open-loop arrival rate). Any failed request (non-2xx,
connection error, timeout) fails the run: nothing is written to --out then.

``--runs N`` repeats the whole run N times (fresh servers and data each
time; default 3 with a release server, else 1) and reports, per figure, the
median and the range; a ratio is the median of the per-run ratios. Claims
need 3 runs or more on a quiet machine with a release build.

    ~/.cache/agentdb-bench-venv/bin/python bench/load_server.py                 # release server, 3 runs, writes bench/results/
    ~/.cache/agentdb-bench-venv/bin/python bench/load_server.py --quick --dev-build --out /tmp/ls   # smoke run
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import bisect
import datetime as dt
import json
import os
import platform
import random
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import aiohttp  # noqa: E402
import numpy as np  # noqa: E402
import orjson  # noqa: E402
import psutil  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import harness  # noqa: E402

TARGET_DIR = Path(os.environ.get("CARGO_TARGET_DIR", Path.home() / ".cache" / "agentdb-target"))
DIM = 384
SEED_BATCH = 1000
STATE_PAYLOAD_BYTES = 256
CHROMA_TENANT_DB = "/api/v2/tenants/default_tenant/databases/default_database"
CHROMA_COLLECTION = "memories"
READY_TIMEOUT_S = 120.0
REQUEST_TIMEOUT_S = 60.0  # per request, client side; the server's own limit is 30 s (limits.request_timeout_ms)
STOP_GRACE_S = 30.0
# --server-log: "warn" on both servers (default), or each one's shipped default ("info": both log every request).
AGENTDB_LOG_LEVELS = {"warn": "warn", "info": "info,lance=warn,lance_core=warn,lancedb=warn"}

FULL = {"duration_s": 30.0, "warmup_s": 3.0, "state_agents": 1000, "text_memory_agents": 100,
        "text_memories_per_agent": 10, "memories": 20_000, "memory_agents": 100, "check_queries": 200}
QUICK = {"duration_s": 3.0, "warmup_s": 0.5, "state_agents": 50, "text_memory_agents": 10,
         "text_memories_per_agent": 4, "memories": 1000, "memory_agents": 10, "check_queries": 20}

# Text for the mixed phase's memories and queries: plain English, so the built-in model sees what an agent stores.
_SUBJECTS = ["The user", "The customer", "My manager", "The team", "Alice", "Bob", "The client", "Our landlord"]
_VERBS = ["prefers", "dislikes", "asked about", "is allergic to", "wants to book", "complained about", "recommended",
          "forgot about", "is planning", "needs help with"]
_OBJECTS = ["peanuts", "window seats", "the quarterly report", "Italian food", "early meetings", "a trip to Lisbon",
            "dark mode", "the new pricing plan", "jazz concerts", "the broken heater", "vegan recipes",
            "a refund for order 1182", "hiking on weekends", "the Python migration", "a dentist appointment",
            "the hotel near the station"]
_WHEN = ["last week", "yesterday", "every Monday", "since March", "during the call", "this morning", "in the email",
         "at the meeting"]
_QUESTIONS = ["what food should I avoid?", "travel preferences?", "any complaints?", "what does the user like?",
              "upcoming appointments?", "work topics to follow up", "hobbies and free time", "billing problems?"]


# --- servers --------------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[bytes]
    url: str
    log_path: Path
    stop_signal: int
    ps: psutil.Process = field(init=False)

    def __post_init__(self) -> None:
        self.ps = psutil.Process(self.proc.pid)

    def cpu_s(self) -> float:
        """CPU seconds (user + system) of the server process and its children so far."""
        total = 0.0
        for p in [self.ps] + self.ps.children(recursive=True):
            try:
                t = p.cpu_times()
                total += t.user + t.system
            except psutil.Error:
                pass
        return total

    def rss_mb(self) -> float:
        return self.ps.memory_info().rss / 2**20

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(self.stop_signal)
            try:
                self.proc.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log_tail(self, n: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


def agentdb_command(binary: Path) -> list[str]:
    return [str(binary)] if binary.name == "agentdb-server" else [str(binary), "serve"]


def agentdb_config(data_dir: Path, clients: int, log_level: str) -> str:
    # Default limits already admit 64 engine calls at once and queue 1024; they are written out (and raised to
    # the client count if --clients is larger) so that no request of this benchmark can get 429.
    return f"""# written by bench/load_server.py
[server]
listen = "127.0.0.1:0"
data_dir = "{data_dir}"

[limits]
max_concurrent_requests = {max(64, clients)}
max_queued_requests = {max(1024, 4 * clients)}
request_timeout_ms = 30000

[log]
level = "{AGENTDB_LOG_LEVELS[log_level]}"
"""


def start_agentdb(binary: Path, work: Path, clients: int, log_level: str) -> Server:
    work.mkdir(parents=True, exist_ok=True)
    cfg = work / "agentdb.toml"
    cfg.write_text(agentdb_config(work / "data", clients, log_level))
    log = work / "agentdb-server.log"
    proc = subprocess.Popen(agentdb_command(binary) + ["--config", str(cfg)], stdout=subprocess.PIPE,
                            stderr=open(log, "wb"), stdin=subprocess.DEVNULL)
    assert proc.stdout is not None
    deadline = time.monotonic() + READY_TIMEOUT_S
    line = proc.stdout.readline().decode(errors="replace").strip()  # "listening on http://127.0.0.1:PORT"
    if not line.startswith("listening on "):
        proc.kill()
        raise RuntimeError(f"agentdb server did not start: {line!r}\n{log.read_text(errors='replace')[-3000:]}")
    url = line.removeprefix("listening on ")
    srv = Server("AgentDB", proc, url, log, signal.SIGTERM)
    wait_ready(srv, url + "/readyz", deadline)
    return srv


def chroma_binary() -> Path:
    return Path(sys.executable).with_name("chroma")


def start_chroma(work: Path, log_level: str) -> Server:
    work.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = work / "chroma.log"
    env = dict(os.environ)
    if log_level == "warn":
        env["RUST_LOG"] = "warn"  # its default logs several INFO lines per request
    proc = subprocess.Popen([str(chroma_binary()), "run", "--path", str(work / "data"), "--host", "127.0.0.1",
                             "--port", str(port)], stdout=open(log, "wb"), stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, env=env)
    url = f"http://127.0.0.1:{port}"
    srv = Server("Chroma", proc, url, log, signal.SIGINT)  # its Ctrl-C path; it did not stop on SIGTERM
    wait_ready(srv, url + "/api/v2/heartbeat", time.monotonic() + READY_TIMEOUT_S)
    return srv


def wait_ready(srv: Server, url: str, deadline: float) -> None:
    import urllib.request

    while time.monotonic() < deadline:
        if srv.proc.poll() is not None:
            raise RuntimeError(f"{srv.name} server exited with {srv.proc.returncode}:\n{srv.log_tail()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    srv.stop()
    raise RuntimeError(f"{srv.name} server not ready after {READY_TIMEOUT_S:.0f} s:\n{srv.log_tail()}")


# --- the load generator ---------------------------------------------------------------------------------------

@dataclass
class Request:
    method: str
    path: str
    body: bytes | None = None


class Failure(Exception):
    pass


@dataclass
class OpStats:
    lat_ns: list[int] = field(default_factory=list)
    errors: int = 0
    response_bytes: int = 0  # of the requests counted in lat_ns


@dataclass
class PhaseResult:
    ops: dict[str, OpStats]
    seconds: float
    client_cpu_s: float
    server_cpu_s: float
    errors: list[str]

    def summary(self, clients: int) -> dict[str, Any]:
        out: dict[str, Any] = {"seconds": self.seconds, "clients": clients, "ops": {}}
        total = 0
        for name, st in self.ops.items():
            lat = np.asarray(st.lat_ns, dtype=np.float64) / 1e6
            total += len(lat)
            out["ops"][name] = {
                "count": len(lat), "per_s": len(lat) / self.seconds, "errors": st.errors,
                "p50_ms": float(np.percentile(lat, 50)) if len(lat) else None,
                "p99_ms": float(np.percentile(lat, 99)) if len(lat) else None,
                "mean_ms": float(lat.mean()) if len(lat) else None,
                "max_ms": float(lat.max()) if len(lat) else None,
                "response_bytes_mean": st.response_bytes / len(lat) if len(lat) else None,
            }
        out["total_per_s"] = total / self.seconds
        out["errors"] = sum(st.errors for st in self.ops.values())
        out["error_samples"] = self.errors[:10]
        # CPU as a share of one core over the measured window (2 cores = 200%).
        out["client_cpu_pct"] = 100 * self.client_cpu_s / self.seconds
        out["server_cpu_pct"] = 100 * self.server_cpu_s / self.seconds
        return out


def process_cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def drive(base_url: str, server: Server, clients: int, warmup_s: float, duration_s: float,
                make: dict[str, Any], weights: dict[str, float], seed: int) -> PhaseResult:
    """CLIENTS closed-loop clients for warm-up + duration; counts requests that complete inside the measured window.

    ``make[op](rng)`` returns the next ``Request`` of that operation. Every failure is counted, warm-up or not.
    """
    names = [n for n, w in weights.items() if w > 0]
    cum = [float(c) for c in np.cumsum([weights[n] for n in names]) / sum(weights[n] for n in names)]
    json_headers = {"content-type": "application/json"}
    ops = {n: OpStats() for n in names}
    errors: list[str] = []
    loop = asyncio.get_running_loop()
    t_start = loop.time()
    w0, w1 = t_start + warmup_s, t_start + warmup_s + duration_s
    marks: dict[str, float] = {}

    async def window() -> None:
        """CPU of this process and of the server over exactly the measured window."""
        await asyncio.sleep(max(w0 - loop.time(), 0))
        marks["cpu0"], marks["srv0"] = process_cpu_s(), server.cpu_s()
        await asyncio.sleep(max(w1 - loop.time(), 0))
        marks["cpu1"], marks["srv1"] = process_cpu_s(), server.cpu_s()

    async def client(i: int, session: aiohttp.ClientSession) -> None:
        rng = random.Random(seed * 1000 + i)
        while True:
            now = loop.time()
            if now >= w1:
                return
            op = names[min(bisect.bisect_right(cum, rng.random()), len(names) - 1)]
            req = make[op](rng)
            t0 = time.perf_counter_ns()
            try:
                async with session.request(req.method, base_url + req.path, data=req.body,
                                           headers=json_headers if req.body else None) as r:
                    body = await r.read()
                    if r.status >= 300:
                        raise Failure(f"{op}: HTTP {r.status} {req.method} {req.path}: {body[:300]!r}")
            except (aiohttp.ClientError, asyncio.TimeoutError, Failure) as e:
                ops[op].errors += 1
                if len(errors) < 50:
                    errors.append(f"{type(e).__name__}: {e}"[:500])
                continue
            t1 = time.perf_counter_ns()
            done = loop.time()
            if w0 <= done <= w1:
                ops[op].lat_ns.append(t1 - t0)
                ops[op].response_bytes += len(body)

    connector = aiohttp.TCPConnector(limit=clients, force_close=False)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await asyncio.gather(window(), *(client(i, session) for i in range(clients)))
    return PhaseResult(ops, duration_s, marks["cpu1"] - marks["cpu0"], marks["srv1"] - marks["srv0"], errors)


def drive_sync(server: Server, clients: int, procs: int, warmup_s: float, duration_s: float,
               factory: Any, weights: dict[str, float], seed: int) -> PhaseResult:
    """``drive`` in this process, or split over PROCS forked processes (clients divided among them).

    ``factory(p)`` builds process p's request makers (so that generated ids stay unique per process). Each
    process measures the server's CPU over its own window; the merged result takes their mean, and sums the
    generator processes' CPU.
    """
    if procs <= 1:
        return asyncio.run(drive(server.url, server, clients, warmup_s, duration_s, factory(0), weights, seed))
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    q = ctx.Queue()
    share = [clients // procs + (1 if p < clients % procs else 0) for p in range(procs)]

    def child(p: int) -> None:
        try:
            q.put(asyncio.run(drive(server.url, server, share[p], warmup_s, duration_s, factory(p), weights,
                                    seed * 100 + p)))
        except BaseException as e:  # the parent must not wait for a result that will never come
            q.put(f"load generator process {p}: {type(e).__name__}: {e}")

    kids = [ctx.Process(target=child, args=(p,)) for p in range(procs) if share[p]]
    for k in kids:
        k.start()
    results = [q.get(timeout=warmup_s + duration_s + 10 * REQUEST_TIMEOUT_S) for _ in kids]
    for k in kids:
        k.join()
    broken = [r for r in results if isinstance(r, str)]
    if broken:
        raise RuntimeError("; ".join(broken))
    ops: dict[str, OpStats] = {}
    for r in results:
        for name, st in r.ops.items():
            o = ops.setdefault(name, OpStats())
            o.lat_ns += st.lat_ns
            o.errors += st.errors
            o.response_bytes += st.response_bytes
    return PhaseResult(ops, duration_s, sum(r.client_cpu_s for r in results),
                       statistics.mean(r.server_cpu_s for r in results), [e for r in results for e in r.errors])


async def post_json(session: aiohttp.ClientSession, url: str, body: Any) -> Any:
    async with session.post(url, data=orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY),
                            headers={"content-type": "application/json"}) as r:
        raw = await r.read()
        if r.status >= 300:
            raise Failure(f"HTTP {r.status} POST {url}: {raw[:500]!r}")
        return orjson.loads(raw) if raw else None


async def run_many(coros: list[Any], concurrency: int) -> list[Any]:
    sem = asyncio.Semaphore(concurrency)

    async def one(c: Any) -> Any:
        async with sem:
            return await c

    return await asyncio.gather(*(one(c) for c in coros))


# --- phase 1: the mixed agent workload on AgentDB --------------------------------------------------------------

def state_payload(rng: random.Random, agent: int, step: int) -> str:
    """A 256-byte JSON state (the agent's step, and filler text), as UTF-8 text."""
    head = f'{{"agent": {agent}, "step": {step}, "notes": "'
    filler = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz ") for _ in range(STATE_PAYLOAD_BYTES - len(head) - 2))
    return head + filler + '"}'


def memory_text(rng: random.Random) -> str:
    return f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {rng.choice(_OBJECTS)} {rng.choice(_WHEN)}."


async def seed_mixed(srv: Server, sizes: dict[str, Any], clients: int, rng: random.Random) -> dict[str, Any]:
    agents = sizes["state_agents"]
    t = time.perf_counter()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=600)) as s:
        await run_many([post_json(s, f"{srv.url}/v1/agents/{a}/sessions/1/states",
                                  {"state_type": "task_state", "data": state_payload(rng, a, 0)})
                        for a in range(agents)], clients)
        seed_states_s = time.perf_counter() - t
        t = time.perf_counter()
        texts = [(a, memory_text(rng)) for a in range(sizes["text_memory_agents"])
                 for _ in range(sizes["text_memories_per_agent"])]
        for lo in range(0, len(texts), 100):  # the server embeds them: 100 per request keeps each call short
            await post_json(s, f"{srv.url}/v1/memories/batch",
                            {"memories": [{"agent_id": a, "memory_type": "semantic", "content": c}
                                          for a, c in texts[lo:lo + 100]]})
        seed_memories_s = time.perf_counter() - t
    return {"states": agents, "states_s": seed_states_s, "text_memories": len(texts),
            "text_memories_s": seed_memories_s}


def phase_mixed(srv: Server, sizes: dict[str, Any], clients: int, procs: int, mix: dict[str, float],
                seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    seeded = asyncio.run(seed_mixed(srv, sizes, clients, rng))
    agents, mem_agents = sizes["state_agents"], sizes["text_memory_agents"]
    # Bodies: a pool of payloads (each save still writes a new version); query texts from a small fixed list.
    payloads = [orjson.dumps({"state_type": "task_state", "data": state_payload(rng, 0, i)}) for i in range(512)]
    queries = [orjson.dumps({"query": q, "limit": 10}) for q in _QUESTIONS]
    make = {
        "state save": lambda r: Request("POST", f"/v1/agents/{r.randrange(agents)}/sessions/1/states",
                                        r.choice(payloads)),
        "state load": lambda r: Request("GET", f"/v1/agents/{r.randrange(agents)}/state?session_id=1"),
        "memory retrieve (text)": lambda r: Request("POST", f"/v1/agents/{r.randrange(mem_agents)}/memories/retrieve",
                                                    r.choice(queries)),
    }
    weights = {"state save": mix["save"], "state load": mix["load"], "memory retrieve (text)": mix["retrieve"]}
    res = drive_sync(srv, clients, procs, sizes["warmup_s"], sizes["duration_s"], lambda p: make, weights, seed)
    out = res.summary(clients)
    out["seed"] = seeded
    out["server_rss_mb"] = srv.rss_mb()
    return out


# --- phases 2 and 3: memory add/query, AgentDB and Chroma ---------------------------------------------------------

class MemoryData:
    """Seeded memories (agent, content, vector) and queries near some of them; identical for both servers."""

    def __init__(self, n: int, agents: int, check_queries: int, seed: int):
        rng = np.random.default_rng(seed)
        self.n, self.agents = n, agents
        self.agent = np.arange(n) % agents
        self.vectors = harness.unit_vectors(rng, n, DIM)
        self.content = [f"memory {i} of agent {self.agent[i]}" for i in range(n)]
        pool = max(check_queries, 1000)
        self.targets = rng.choice(n, size=pool, replace=n < pool)
        self.qvec = harness.near(rng, self.vectors[self.targets], 0.05)
        self.check = min(check_queries, pool)


def fresh_vector(r: random.Random) -> np.ndarray:
    v = np.random.default_rng(r.getrandbits(63)).standard_normal(DIM, dtype=np.float32)
    return v / np.linalg.norm(v)


class AgentDBMemorySide:
    name = "AgentDB"

    def __init__(self, srv: Server, d: MemoryData):
        self.srv, self.d = srv, d

    async def seed(self, s: aiohttp.ClientSession) -> dict[int, int]:
        """Stores every memory; returns engine memory_id -> row of the data."""
        ids: dict[int, int] = {}
        for lo in range(0, self.d.n, SEED_BATCH):
            hi = min(lo + SEED_BATCH, self.d.n)
            out = await post_json(s, f"{self.srv.url}/v1/memories/batch", {"memories": [
                {"agent_id": int(self.d.agent[i]), "memory_type": "semantic", "content": self.d.content[i],
                 "embedding": self.d.vectors[i]} for i in range(lo, hi)]})
            for i, o in zip(range(lo, hi), out["outcomes"]):
                if o["kind"] != "stored":
                    raise Failure(f"AgentDB seed: memory {i} was {o['kind']}, not stored")
                ids[o["memory_id"]] = i
        # Build the indexes now rather than in background maintenance during the load (as wl_memory.py does).
        await post_json(s, f"{self.srv.url}/v1/admin/compact", {})
        return ids

    def query_body(self, j: int) -> bytes:
        return orjson.dumps({"vector": self.d.qvec[j], "limit": 10, "record_access": False},
                            option=orjson.OPT_SERIALIZE_NUMPY)

    def query_request(self, j: int, body: bytes) -> Request:
        return Request("POST", f"/v1/agents/{int(self.d.agent[self.d.targets[j]])}/memories/retrieve", body)

    async def hits(self, s: aiohttp.ClientSession, ids: dict[int, int]) -> float:
        hit = 0
        for j in range(self.d.check):
            req = self.query_request(j, self.query_body(j))
            out = await post_json(s, self.srv.url + req.path, orjson.loads(req.body or b"{}"))
            hit += any(ids.get(m["memory"]["memory_id"]) == self.d.targets[j] for m in out)
        return hit / self.d.check

    def add_request(self, r: random.Random, counter: list[int]) -> Request:
        counter[0] += 1
        a = r.randrange(self.d.agents)
        body = orjson.dumps({"agent_id": a, "memory_type": "semantic", "content": f"added memory {counter[0]} of {a}",
                             "embedding": fresh_vector(r)}, option=orjson.OPT_SERIALIZE_NUMPY)
        return Request("POST", "/v1/memories", body)


class ChromaMemorySide:
    name = "Chroma"

    def __init__(self, srv: Server, d: MemoryData):
        self.srv, self.d = srv, d
        self.base = ""

    async def seed(self, s: aiohttp.ClientSession) -> dict[int, int]:
        col = await post_json(s, f"{self.srv.url}{CHROMA_TENANT_DB}/collections",
                              {"name": CHROMA_COLLECTION, "configuration": {"hnsw": {"space": "cosine"}}})
        self.base = f"{CHROMA_TENANT_DB}/collections/{col['id']}"
        for lo in range(0, self.d.n, SEED_BATCH):
            hi = min(lo + SEED_BATCH, self.d.n)
            await post_json(s, self.srv.url + self.base + "/add", {
                "ids": [str(i) for i in range(lo, hi)],
                "embeddings": [b64(self.d.vectors[i]) for i in range(lo, hi)],
                "metadatas": [{"agent_id": int(self.d.agent[i]), "memory_type": "semantic"} for i in range(lo, hi)],
                "documents": self.d.content[lo:hi], "uris": None})
        return {i: i for i in range(self.d.n)}

    def query_body(self, j: int) -> bytes:
        return orjson.dumps({"ids": None, "query_embeddings": [self.d.qvec[j]], "n_results": 10,
                             "where": {"agent_id": int(self.d.agent[self.d.targets[j]])}, "where_document": None,
                             "include": ["metadatas", "documents", "distances"]}, option=orjson.OPT_SERIALIZE_NUMPY)

    def query_request(self, j: int, body: bytes) -> Request:
        return Request("POST", self.base + "/query", body)

    async def hits(self, s: aiohttp.ClientSession, ids: dict[int, int]) -> float:
        hit = 0
        for j in range(self.d.check):
            out = await post_json(s, self.srv.url + self.base + "/query", orjson.loads(self.query_body(j)))
            hit += str(int(self.d.targets[j])) in out["ids"][0]
        return hit / self.d.check

    def add_request(self, r: random.Random, counter: list[int]) -> Request:
        counter[0] += 1
        a = r.randrange(self.d.agents)
        body = orjson.dumps({"ids": [f"added-{counter[0]}"], "embeddings": [b64(fresh_vector(r))],
                             "metadatas": [{"agent_id": a, "memory_type": "semantic"}],
                             "documents": [f"added memory {counter[0]} of {a}"], "uris": None})
        return Request("POST", self.base + "/add", body)


def b64(v: np.ndarray) -> str:
    """chromadb's own client sends embeddings as base64 of little-endian float32 (pack_embedding_safely)."""
    return base64.b64encode(np.asarray(v, dtype="<f4").tobytes()).decode()


async def seed_memory(side: AgentDBMemorySide | ChromaMemorySide) -> tuple[float, float]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=600)) as s:
        t = time.perf_counter()
        ids = await side.seed(s)
        seed_s = time.perf_counter() - t
        return seed_s, await side.hits(s, ids)


def phase_memory(side: AgentDBMemorySide | ChromaMemorySide, sizes: dict[str, Any], clients: int, procs: int,
                 mix: dict[str, float], seed: int) -> dict[str, Any]:
    seed_s, hit_rate = asyncio.run(seed_memory(side))
    bodies = [side.query_body(j) for j in range(len(side.d.targets))]

    def factory(p: int) -> dict[str, Any]:
        counter = [p * 1_000_000_000]  # ids of added memories stay unique across generator processes
        return {
            "add": lambda r: side.add_request(r, counter),
            "query": lambda r: (lambda j: side.query_request(j, bodies[j]))(r.randrange(len(bodies))),
        }

    res = drive_sync(side.srv, clients, procs, sizes["warmup_s"], sizes["duration_s"], factory,
                     {"add": mix["add"], "query": mix["query"]}, seed)
    out = res.summary(clients)
    out["seed"] = {"memories": side.d.n, "seconds": seed_s, "per_s": side.d.n / seed_s}
    out["hit_rate"] = hit_rate
    out["server_rss_mb"] = side.srv.rss_mb()
    return out


# --- one run, several runs, the report -------------------------------------------------------------------------

def run_once(k: int, binary: Path, work: Path, sizes: dict[str, Any], clients: int, procs: int, only: list[str],
             mix: dict[str, float], memory_mix: dict[str, float], log_level: str) -> dict[str, Any]:
    out: dict[str, Any] = {"load_average_at_start": " ".join(f"{x:.2f}" for x in os.getloadavg())}
    run_dir = work / f"run{k}"
    seed = 1000 + k
    if "mixed" in only:
        srv = start_agentdb(binary, run_dir / "agentdb-mixed", clients, log_level)
        try:
            harness.say(f"  [run {k + 1}] mixed: AgentDB at {srv.url}")
            out["mixed"] = phase_mixed(srv, sizes, clients, procs, mix, seed)
            print_phase("mixed", "AgentDB", out["mixed"])
        finally:
            srv.stop()
    if "memory" in only:
        d = MemoryData(sizes["memories"], sizes["memory_agents"], sizes["check_queries"], seed)
        out["memory"] = {}
        order = ["AgentDB", "Chroma"] if k % 2 == 0 else ["Chroma", "AgentDB"]
        for name in order:
            srv = (start_agentdb(binary, run_dir / "agentdb-memory", clients, log_level) if name == "AgentDB"
                   else start_chroma(run_dir / "chroma", log_level))
            try:
                harness.say(f"  [run {k + 1}] memory: {name} at {srv.url}")
                side = AgentDBMemorySide(srv, d) if name == "AgentDB" else ChromaMemorySide(srv, d)
                out["memory"][name] = phase_memory(side, sizes, clients, procs, memory_mix, seed)
                print_phase("memory", name, out["memory"][name])
            finally:
                srv.stop()
        out["memory"]["order"] = order
    shutil.rmtree(run_dir, ignore_errors=True)
    return out


def print_phase(phase: str, system: str, r: dict[str, Any]) -> None:
    harness.say(f"    {phase} · {system}: {r['total_per_s']:,.0f} requests/s, {r['errors']} errors; "
                f"CPU: server {r['server_cpu_pct']:.0f}%, load generator {r['client_cpu_pct']:.0f}% (of one core)"
                + (f"; hit rate {r['hit_rate']:.3f}" if "hit_rate" in r else ""))
    for name, o in r["ops"].items():
        if o["count"]:
            harness.say(f"      {name:<24} {o['per_s']:>9,.0f}/s  p50 {o['p50_ms']:8.2f} ms  p99 {o['p99_ms']:8.2f} ms"
                        f"  ({o['count']} requests, {o['errors']} errors)")
        else:
            harness.say(f"      {name:<24} no request completed ({o['errors']} errors)")
    for e in r.get("error_samples", []):
        harness.say(f"      error: {e}")


HIGHER, LOWER = "higher", "lower"


def figures(run: dict[str, Any]) -> list[tuple[str, str, str, float, str, str]]:
    """(phase, metric, system, value, unit, better) of one run."""
    rows = []
    if "mixed" in run:
        m = run["mixed"]
        rows.append(("mixed", "all requests: throughput", "AgentDB", m["total_per_s"], "requests/s", HIGHER))
        for op, o in m["ops"].items():
            rows += [("mixed", f"{op}: throughput", "AgentDB", o["per_s"], "requests/s", HIGHER),
                     ("mixed", f"{op}: p50", "AgentDB", o["p50_ms"], "ms", LOWER),
                     ("mixed", f"{op}: p99", "AgentDB", o["p99_ms"], "ms", LOWER)]
        rows += [("mixed", "server CPU", "AgentDB", m["server_cpu_pct"], "% of a core", LOWER),
                 ("mixed", "load generator CPU", "AgentDB", m["client_cpu_pct"], "% of a core", LOWER)]
    for system, m in run.get("memory", {}).items():
        if system == "order":
            continue
        rows.append(("memory", "add + query: throughput", system, m["total_per_s"], "requests/s", HIGHER))
        for op, o in m["ops"].items():
            rows += [("memory", f"{op}: throughput", system, o["per_s"], "requests/s", HIGHER),
                     ("memory", f"{op}: p50", system, o["p50_ms"], "ms", LOWER),
                     ("memory", f"{op}: p99", system, o["p99_ms"], "ms", LOWER),
                     ("memory", f"{op}: response size (mean)", system, o["response_bytes_mean"], "bytes", LOWER)]
        rows += [("memory", "bulk load before the run (batches of 1000)", system, m["seed"]["per_s"], "memories/s",
                  HIGHER),
                 ("memory", "top-10 hit rate (sequential check)", system, m["hit_rate"], "", HIGHER),
                 ("memory", "server CPU", system, m["server_cpu_pct"], "% of a core", LOWER),
                 ("memory", "load generator CPU", system, m["client_cpu_pct"], "% of a core", LOWER),
                 ("memory", "server RSS at the end", system, m["server_rss_mb"], "MB", LOWER)]
    return rows


def summarize(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per figure: the value of each run, median, min, max; memory figures also AgentDB ÷ Chroma per run and its median."""
    table: dict[tuple[str, str, str], dict[str, Any]] = {}
    for run in runs:
        for phase, metric, system, value, unit, better in figures(run):
            row = table.setdefault((phase, metric, system), {"phase": phase, "metric": metric, "system": system,
                                                             "unit": unit, "better": better, "runs": []})
            row["runs"].append(value)
    out = []
    for (phase, metric, system), row in table.items():
        vals = [v for v in row["runs"] if v is not None]
        row["median"] = statistics.median(vals) if vals else None
        row["min"], row["max"] = (min(vals), max(vals)) if vals else (None, None)
        if phase == "memory" and system == "Chroma":
            a = table.get((phase, metric, "AgentDB"))
            if a:
                ratios = [x / y for x, y in zip(a["runs"], row["runs"]) if x is not None and y]
                if ratios:
                    row["ratio_agentdb_over_chroma_runs"] = ratios
                    row["ratio_agentdb_over_chroma_median"] = statistics.median(ratios)
        out.append(row)
    return out


def fmt(v: float | None) -> str:
    if v is None:
        return "—"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.3g}"


def spread(row: dict[str, Any]) -> str:
    if len(row["runs"]) < 2:
        return fmt(row["median"])
    return f"{fmt(row['median'])} ({fmt(row['min'])}–{fmt(row['max'])})"


def markdown(data: dict[str, Any]) -> str:
    rows = data["summary"]
    n = len(data["runs"])
    head = [f"# AgentDB server under load ({data['mode']} run, {n} run{'s' if n != 1 else ''})", ""]
    if data["comparable"] and n < 3:
        head += [f"**{n} run{'s' if n != 1 else ''} only: not a claim** (claims are medians of 3 or more runs).", ""]
    if not data["comparable"]:
        head += [f"**Not comparable: {data['agentdb_build']}.** A dev build is 10-50× slower; these figures check "
                 "the harness, they measure nothing.", ""]
    head += [f"`{data['command']}` — {data['started_utc'][:16].replace('T', ' ')} UTC, {data['seconds'] / 60:.1f} min.",
             "", f"{data['clients']} concurrent clients, {data['sizes']['duration_s']:.0f} s per phase after "
             f"{data['sizes']['warmup_s']:.1f} s of warm-up; medians of {n} run{'s' if n != 1 else ''}, "
             "range in brackets. See bench/load_server.py for what each phase does.", "", "## Machine", ""]
    head += [f"- {k}: {v}" for k, v in data["machine"].items()]
    head += ["- load average at the start of each run: " + "; ".join(r["load_average_at_start"] for r in data["runs"]),
             f"- agentdb server: {data['agentdb_build']} ({data['agentdb_binary']})",
             f"- load generator: {data['generator_processes']} Python process(es) (asyncio + uvloop + aiohttp) on "
             f"the same {os.cpu_count()} cores as the server; the CPU rows say how much each side used", "", "## Versions", ""]
    head += [f"- {k} {v}" for k, v in data["versions"].items()]
    head += ["", "## Sizes", "", "- " + ", ".join(f"{k} {v}" for k, v in data["sizes"].items()),
             f"- mix: {data['mix']}; memory mix: {data['memory_mix']}", ""]
    body = ["## 1. Mixed agent workload (AgentDB)", "", "| metric | value | unit |", "|---|---:|---|"]
    body += [f"| {r['metric']} | {spread(r)} | {r['unit']} |" for r in rows if r["phase"] == "mixed"]
    body += ["", "## 2. Memory add/query: AgentDB and Chroma servers, same vectors", "",
             "Ratio = AgentDB ÷ Chroma, the median of the per-run ratios (for ms, lower is better: below 1 is "
             "AgentDB ahead; for requests/s and memories/s above 1 is).", "",
             "| metric | AgentDB | Chroma | unit | AgentDB ÷ Chroma (per-run range) |", "|---|---:|---:|---|---:|"]
    chroma = {r["metric"]: r for r in rows if r["phase"] == "memory" and r["system"] == "Chroma"}
    for r in rows:
        if r["phase"] != "memory" or r["system"] != "AgentDB":
            continue
        c = chroma.get(r["metric"])
        ratio = "—"
        if c and "ratio_agentdb_over_chroma_median" in c:
            rr = c["ratio_agentdb_over_chroma_runs"]
            ratio = f"{c['ratio_agentdb_over_chroma_median']:.3g}×" + (
                f" ({min(rr):.3g}–{max(rr):.3g})" if len(rr) > 1 else "")
        body.append(f"| {r['metric']} | {spread(r)} | {spread(c) if c else '—'} | {r['unit']} | {ratio} |")
    notes = ["", "## Notes", ""] + [f"- {x}" for x in data["notes"]]
    return "\n".join(head + body + notes) + "\n"


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for p in ["chromadb", "aiohttp", "uvloop", "orjson", "numpy"]:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            out[p] = "not installed"
    return out


def build_of(binary: Path) -> tuple[str, bool]:
    """("profile=... commit=...", comparable) of the server binary."""
    cmd = agentdb_command(binary)
    v = subprocess.run([cmd[0], "--version"], capture_output=True, text=True).stdout.strip()
    commit = v.split("commit ")[-1].rstrip(")") if "commit " in v else "unknown"
    profile = binary.parent.name if binary.parent.name in ("release", "debug") else "unknown"
    return f"profile={profile} commit={commit}", profile == "release"


def default_binary(profile: str) -> Path | None:
    for name in ("agentdb-server", "agentdb"):
        p = TARGET_DIR / profile / name
        if p.exists():
            return p
    return None


def parse_mix(text: str, keys: list[str]) -> dict[str, float]:
    out = dict.fromkeys(keys, 0.0)
    for part in text.split(","):
        k, _, v = part.partition("=")
        if k.strip() not in out:
            raise ValueError(f"unknown operation {k!r} in mix; choose from {keys}")
        out[k.strip()] = float(v)
    if sum(out.values()) <= 0 or min(out.values()) < 0:
        raise ValueError(f"mix {text!r}: weights must be >= 0 with a positive sum")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", help="agentdb-server (or agentdb, run as `agentdb serve`); default: the release "
                                     f"build in {TARGET_DIR}/release")
    ap.add_argument("--dev-build", action="store_true",
                    help=f"use the debug build in {TARGET_DIR}/debug; the results are marked not comparable")
    ap.add_argument("--quick", action="store_true", help="a few seconds per phase and small seeds: a smoke run")
    ap.add_argument("--duration", type=float, help="measured seconds per phase (default 30; --quick 3)")
    ap.add_argument("--warmup", type=float, help="seconds of load before measuring (default 3; --quick 0.5)")
    ap.add_argument("--clients", type=int, default=64, help="concurrent clients (default 64)")
    ap.add_argument("--procs", type=int, default=1,
                    help="load generator processes sharing the clients (default 1; 2 if one Python process "
                         "saturates a core before the server does)")
    ap.add_argument("--server-log", choices=sorted(AGENTDB_LOG_LEVELS), default="warn",
                    help="both servers' log level: warn (default) or info (each one's shipped default, a line or "
                         "more per request)")
    ap.add_argument("--runs", type=int, help="repeat the whole run; report medians and ranges (default 3 with a "
                                            "release server, 1 with --quick or another build)")
    ap.add_argument("--only", default="mixed,memory", help="phases: mixed, memory (AgentDB and Chroma)")
    ap.add_argument("--mix", default="save=45,load=45,retrieve=10", help="mixed phase weights")
    ap.add_argument("--memory-mix", default="add=20,query=80", help="memory phase weights")
    ap.add_argument("--memories", type=int, help="memories seeded for the memory phase (default 20000)")
    ap.add_argument("--out", help="where load_server.json and load_server.md go (default bench/results; with "
                                  "--dev-build or --quick a temp dir)")
    ap.add_argument("--work", help="scratch directory for the servers' data (default: a temp dir)")
    args = ap.parse_args()

    only = [x.strip() for x in args.only.split(",") if x.strip()]
    if set(only) - {"mixed", "memory"}:
        ap.error(f"--only: unknown phases {sorted(set(only) - {'mixed', 'memory'})}")
    try:
        mix = parse_mix(args.mix, ["save", "load", "retrieve"])
        memory_mix = parse_mix(args.memory_mix, ["add", "query"])
    except ValueError as e:
        ap.error(str(e))
    if args.clients < 1 or (args.runs is not None and args.runs < 1) or not 1 <= args.procs <= args.clients:
        ap.error("--clients and --runs must be at least 1, --procs between 1 and --clients")
    sizes = dict(QUICK if args.quick else FULL)
    if args.duration is not None:
        sizes["duration_s"] = args.duration
    if args.warmup is not None:
        sizes["warmup_s"] = args.warmup
    if args.memories is not None:
        sizes["memories"] = args.memories

    if args.binary:
        binary: Path | None = Path(args.binary)
    else:
        binary = default_binary("debug" if args.dev_build else "release")
    if binary is None or not binary.exists():
        ap.error(f"no server binary at {binary or TARGET_DIR / ('debug' if args.dev_build else 'release')}: build "
                 "it with `cargo build --release --locked --workspace` (or pass --binary, or --dev-build for the "
                 "debug one, whose numbers are not comparable)")
    binary = binary.resolve()
    build, comparable = build_of(binary)
    if args.runs is None:
        args.runs = 3 if comparable and not args.quick else 1
    if "memory" in only and not chroma_binary().exists():
        ap.error(f"no {chroma_binary()}: run this with the bench venv's python (scripts/setup_bench.sh)")
    out_dir = Path(args.out) if args.out else (
        HERE / "results" if comparable and not args.quick else Path(tempfile.mkdtemp(prefix="agentdb-load-out-")))
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="agentdb-load-"))

    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass

    import compare  # machine() is shared with the side-by-side benchmark

    mach = compare.machine()
    started = dt.datetime.now(dt.timezone.utc)
    command = "python bench/load_server.py " + " ".join(sys.argv[1:])
    harness.say(f"load_server.py: {build} ({binary}); {args.clients} clients, {sizes['duration_s']:.0f} s per phase, "
                f"{args.runs} run(s), phases {', '.join(only)}; scratch {work}")
    if not comparable:
        harness.say("  NOT COMPARABLE: not a release build; these figures check the harness only")
    head = subprocess.run(["git", "-C", str(HERE), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    if head and not head.startswith(build.split("commit=")[-1]):
        harness.say(f"  note: the server binary was built from {build.split('commit=')[-1]}, the checkout is at "
                    f"{head[:9]}: rebuild it if that is not what you mean to measure")
    dirty = subprocess.run(["git", "-C", str(HERE.parent), "status", "--porcelain", "--", "crates", "Cargo.toml",
                            "Cargo.lock"], capture_output=True, text=True).stdout.strip()
    if dirty:
        harness.say("  note: the checkout has uncommitted changes under crates/ or Cargo.*: a server built from it "
                    "is not exactly its commit (recorded in the results)")
    harness.say("  machine: " + "; ".join(f"{k}: {v}" for k, v in mach.items()))
    t_all = time.perf_counter()
    runs = []
    try:
        for k in range(args.runs):
            harness.say(f"[run {k + 1}/{args.runs}]")
            runs.append(run_once(k, binary, work, sizes, args.clients, args.procs, only, mix, memory_mix,
                                 args.server_log))
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)

    errors = sum(run["mixed"]["errors"] for run in runs if "mixed" in run) + sum(
        m["errors"] for run in runs for s, m in run.get("memory", {}).items() if s != "order")
    notes = [
        *(["The checkout had uncommitted changes under crates/ or Cargo.* when this ran: the server binary may "
           "include them."] if dirty else []),
        "Closed loop: each client sends its next request when the previous answer is complete; latencies are "
        "per request, send to last byte, measured by the load generator.",
        f"The load generator ({args.procs} Python process{'es' if args.procs > 1 else ''}) and the server share the machine's cores; the CPU rows are "
        "each process's CPU time over the measured window as a % of one core.",
        "Memory phase: both servers get the same precomputed 384-dim unit vectors; AgentDB's retrieve answers "
        "carry each memory's embedding (its API always returns it), Chroma's carry metadatas, documents and "
        "distances (chromadb's default include).",
        f"Server logs: {'warn on both' if args.server_log == 'warn' else 'each server at its default INFO level'}, "
        "written to files in the scratch dir.",
        "AgentDB: default engine options (fsync batch:10, merge policy keep_newest), compact after the seed; "
        "limits max_concurrent_requests/max_queued_requests written out at >= 64/1024 (the defaults) so no "
        "request can be refused with 429. Chroma: `chroma run` defaults, collection hnsw.space=cosine.",
    ]
    data = {"mode": "--quick" if args.quick else "full", "command": command, "started_utc": started.isoformat(),
            "seconds": time.perf_counter() - t_all, "comparable": comparable, "agentdb_build": build,
            "agentdb_binary": str(binary), "checkout_head": head, "checkout_dirty_at_start": bool(dirty), "clients": args.clients, "generator_processes": args.procs,
            "server_log": args.server_log, "only": only, "mix": mix,
            "memory_mix": memory_mix, "machine": mach, "versions": versions(), "sizes": sizes,
            "errors": errors, "runs": runs, "summary": summarize(runs), "notes": notes}
    if errors:
        failed = Path(tempfile.gettempdir()) / "agentdb-load-server.failed.json"
        failed.write_text(json.dumps(data, indent=1))
        harness.say(f"\nFAILED: {errors} request(s) failed; nothing written to {out_dir}; details in {failed}")
        return 1
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "load_server.json").write_text(json.dumps(data, indent=1))
    (out_dir / "load_server.md").write_text(markdown(data))
    harness.say("")
    harness.say(markdown(data).split("## 1. ", 1)[1].split("## Notes")[0])
    harness.say(f"wrote {out_dir / 'load_server.json'} and {out_dir / 'load_server.md'} "
                f"in {data['seconds'] / 60:.1f} min")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
