"""rpcserver's benchmark suite: one command, loopback only, a few minutes, a table and the ratios.

    python bench/run.py                  # from the clone's root, with the venv's Python
    python bench/run.py --only get       # just part 3 (under a minute); --only may be repeated
    python bench/run.py --store sqlite   # one store only (default both, side by side)

1. single `event.acknowledge` (1 id, action 6, API token as Bearer, durable commits) at 1, 16 and
   64 connections, next to a bare aiohttp + orjson endpoint (bench/bare.py) run the same way;
2. one bulk `event.acknowledge` of 10,000 ids, next to raw SQL applying the same rows;
3. `problem.get` of the newest 100 problems with selectAcknowledges, next to the raw SQL;
4. the server's RSS while it holds 1,000,000 events;
5. start-up: from starting `rpcserver serve` to its first 200 from /healthz, on the database built,
   cold (SQLite: the file dropped from the page cache first) and warm.

With `--standin PATH` (the workplace's `../shared/bench/standin.py`, not part of this repository), part 1
also runs the stand-in issue 17 set its per-core target by, pinned and driven as the others, on a database
its own make_db.py builds: its ratio to bare and its p50, and rpcserver's throughput over its.

Part 1 also runs each store's server with --no-metrics beside it: what GET /metrics's series cost
per call, as req/s and server CPU per call (a few per cent, within these measurements' noise:
bench/metrics_cost.py counts it in instructions).

Each on SQLite (a file, synchronous=FULL) and on PostgreSQL (`--pg-url`'s server, a database of
our own, synchronous_commit on), the same way in the same run, with the PostgreSQL/SQLite ratios.
Servers run pinned to CPU 0 (`taskset -c 0`; PostgreSQL's backends serving them too), the load
generator (wrk if installed, else bench/loadgen.py) to CPU 1; the raw SQL measurements run on CPU 0
like the servers. The database is built fresh by bench/make_db.py for each run and copied into
PostgreSQL by `rpcserver copy` (bench/stores.py). See bench/README.md for the results.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import make_db  # noqa: E402
import orjson  # noqa: E402
from stores import PostgresStore, RawPostgres, RawSqlite, SqliteStore, StandinStore  # noqa: E402

Store = SqliteStore | PostgresStore
Raw = RawSqlite | RawPostgres
STORES: dict[str, type[Store]] = {"sqlite": SqliteStore, "postgresql": PostgresStore}
STORE_METHOD = {"sqlite": "SQLite (WAL, synchronous=FULL)",
                "postgresql": "PostgreSQL (loopback, synchronous_commit on, vacuumed and analyzed after the copy)"}
BARE = "bare aiohttp+orjson"
UNGROUPED = "1 call per commit"
STANDIN = "the stand-in (no credentials)"
"""Part 1's name for the workplace's stand-in (`--standin`)."""
NO_METRICS = "--no-metrics"
"""Part 1's name for a server without GET /metrics (and so without counting anything for it)."""
STARTUP_REPS = 3
STARTUP_TIMEOUT = 120
"""Part 1's name for a server whose writer commits every call alone (bench/serve.py --max-batch 1)."""


def rpc_name(store: type[Store] | Store) -> str:
    return f"rpcserver {store.label}"

SERVER_CPU, CLIENT_CPU = "0", "1"
READY = re.compile(r"listening on http://127\.0\.0\.1:(\d+)/")
CONNECTIONS = (1, 16, 64)
BULK_SIZE = 10_000
TICKS = os.sysconf("SC_CLK_TCK")
TARGETS = {"single": 0.25, "p50_ms": 8.0, "bulk": 1.5, "problem_get": 2.0, "rss_mb": 100}
"""single: the acknowledge's req/s over the bare endpoint's at 64 connections; p50_ms: its median latency
at 16 connections (both issue 17's)."""
PARTS = ("single", "bulk", "get", "startup")
"""What --only picks from; memory is read from whichever servers the chosen parts start."""
STOP_TIMEOUT = 10
DRAIN_TIMEOUT = 10
"""Seconds to wait, after the load generator stops, for the calls it left in flight to be stored. A
server that needs longer is far behind its load: its figures mean nothing, and the rest is skipped."""
PROBLEM_GET = {"output": "extend", "selectAcknowledges": "extend", "sortfield": ["eventid"], "sortorder": "DESC",
               "limit": 100}


# --- processes -----------------------------------------------------------------------------------


PINNING = len(os.sched_getaffinity(0)) >= 2 and shutil.which("taskset") is not None


STANDIN_READY = re.compile(r"^READY \d+$", re.MULTILINE)
"""What the workplace's stand-in prints once it listens (on the port it was given)."""


def standin_command(standin: Path, db: str, port: int, sync: str = "FULL") -> list[str]:
    """The workplace's stand-in (`standin`: its standin.py, not part of this repository), as its README
    runs it: group commit, orjson, uvloop, jsonrpcserver's validation off; on `db` (its make_db.py builds one)."""
    return [sys.executable, str(standin), "--mode", "group", "--sync", sync, "--json", "orjson", "--loop", "uvloop",
            "--validator", "noop", "--db", db, "--port", str(port)]


def free_port() -> int:
    """A port free on loopback now, for a server that must be told where to listen."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pinned(cpu: str, command: list[str]) -> list[str]:
    return ["taskset", "-c", cpu, *command] if PINNING else command


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, all threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    database_pids: list[int] = field(default_factory=list)
    """Processes of its database outside it (PostgreSQL's backends): pinned and counted with it."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cpu_seconds(self) -> float:
        """utime + stime of the server, all threads, and of its database's backends."""
        return self.database_cpu_seconds() + cpu_seconds(self.process.pid)

    def database_cpu_seconds(self) -> float:
        return sum(cpu_seconds(pid) for pid in self.database_pids)

    def memory_kib(self) -> dict[str, int]:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return {key: int(re.search(rf"{key}:\s+(\d+) kB", status).group(1)) for key in ("VmRSS", "VmHWM")}  # type: ignore[union-attr]

    def writer_stats(self) -> dict[str, int]:
        """Its writer's counters so far (bench/serve.py prints them on SIGUSR1)."""
        count = self.log_path.read_text().count("\nWRITER ")
        self.process.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + 5
        while (text := self.log_path.read_text()).count("\nWRITER ") == count:
            if time.monotonic() > deadline:
                raise SystemExit(f"{self.name} did not print its writer's counters:\n{text[-2000:]}")
            time.sleep(0.01)
        return json.loads(text.rsplit("\nWRITER ", 1)[1].split("\n", 1)[0])


@contextmanager
def server(name: str, command: list[str], workdir: Path, database_pids: Callable[[], list[int]] = list,
           ready: re.Pattern[str] = READY, port: int | None = None) -> Iterator[Server]:
    """Start a server pinned to the server CPU; wait for its `listening on` line; SIGTERM it after.
    `database_pids` finds its database's own processes once it has started: they are pinned with it.
    A server that says it is ready otherwise (`ready`) and was told its `port` is waited for so too."""
    log_path = workdir / f"{name}.log"
    with open(log_path, "wb") as log:
        # the code of the tree this script is in, whatever is installed
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(BENCH.parent), os.environ.get("PYTHONPATH")]))}
        process = subprocess.Popen(pinned(SERVER_CPU, command), cwd=workdir, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, env=env)
    try:
        deadline = time.monotonic() + 30
        while not (match := ready.search(log_path.read_text())):
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{name} did not start:\n{log_path.read_text()}")
            time.sleep(0.05)
        pids = database_pids()
        for pid in pids if PINNING else ():
            os.sched_setaffinity(pid, {int(SERVER_CPU)})
        yield Server(name, process, port if port is not None else int(match.group(1)), log_path, pids)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:  # a call still running (a timed-out bulk call): no point waiting
            process.kill()
            process.wait()


def rpc_command(store: Store, max_batch: int | None = None, *flags: str) -> list[str]:
    """rpcserver serve on the store's database, through bench/serve.py (the same server, its writer's counters shown)."""
    batch = [] if max_batch is None else ["--max-batch", str(max_batch)]
    return [sys.executable, str(BENCH / "serve.py"), *batch, "--db", store.db, "--port", "0", "--synchronous", "FULL", *flags]


# --- load ----------------------------------------------------------------------------------------


def load_generator(forced_python: bool) -> tuple[str, Callable[[str, int, float], list[str]]]:
    """(description, command builder) of the load generator to use."""
    wrk = shutil.which("wrk")
    if wrk and not forced_python:
        version = subprocess.run([wrk, "-v"], capture_output=True, text=True).stdout.split("[")[0].strip()
        return f"{version} (-t1, closed loop, keep-alive)", lambda url, c, s: [
            wrk, "-t1", f"-c{c}", f"-d{round(s)}s", "--timeout", "5s", "-s", str(BENCH / "ack.lua"), f"{url}/api_jsonrpc"]
    reason = "forced by --python-loadgen" if wrk else "wrk is not installed"
    return f"bench/loadgen.py, Python ({reason}; it may limit the bare endpoint's figures)", lambda url, c, s: [
        sys.executable, str(BENCH / "loadgen.py"), url, "-c", str(c), "-d", str(s)]


def drive(command: list[str], token: str, problems: int) -> dict[str, Any]:
    env = {**os.environ, "BENCH_TOKEN": token, "BENCH_PROBLEMS": str(problems)}
    out = subprocess.run(pinned(CLIENT_CPU, command), capture_output=True, text=True, env=env, timeout=600)
    line = next((line for line in out.stdout.splitlines() if line.startswith("BENCH ")), None)
    if line is None:
        raise SystemExit(f"load generator failed:\n{out.stdout}\n{out.stderr}")
    result = json.loads(line[len("BENCH "):])
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


class Saturated(Exception):
    """A server still had calls in flight DRAIN_TIMEOUT seconds after the load stopped."""


def drained(store: Store | StandinStore, target: Server) -> int:
    """The acknowledgements stored once the calls left in flight are done: the server idle (under
    2 % of a CPU) and no new acknowledgement for 0.5 s.

    Raises:
        Saturated: they were not done within DRAIN_TIMEOUT seconds.
    """
    count, cpu, deadline = store.count_acknowledges(), target.cpu_seconds(), time.monotonic() + DRAIN_TIMEOUT
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now_count, now_cpu = store.count_acknowledges(), target.cpu_seconds()
        if now_count == count and now_cpu - cpu < 0.01:
            return count
        count, cpu = now_count, now_cpu
    raise Saturated


# --- in-process timing (raw SQL runs on the server's CPU) ----------------------------------------


@contextmanager
def on_server_cpu() -> Iterator[None]:
    previous = os.sched_getaffinity(0)
    if PINNING:
        os.sched_setaffinity(0, {int(SERVER_CPU)})
    try:
        yield
    finally:
        os.sched_setaffinity(0, previous)


def timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


class Api:
    """A minimal keep-alive HTTP/1.1 JSON-RPC client on a plain socket, one call at a time. http.client's
    own Python (building headers, parsing them with the email package) costs 0.1-0.25 ms a call: that
    is the client's time, not the server's, so the timed path is only a send and a read of exactly
    Content-Length bytes. A call over `timeout` seconds raises TimeoutError."""

    def __init__(self, url: str, timeout: float) -> None:
        self.address = url.removeprefix("http://")
        host, port = self.address.rsplit(":", 1)
        self.timeout = timeout
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.pending = b""
        """What the server sent past the answer read last (nothing, as calls come one at a time)."""

    def close(self) -> None:
        self.sock.close()

    def request(self, token: str | None, method: str, params: Any) -> bytes:
        """The whole POST of one call, to build before timing; no token for the methods that refuse one
        (apiinfo.version)."""
        body = orjson.dumps({"jsonrpc": "2.0", "method": method, "params": params, "id": 1})
        bearer = f"Authorization: Bearer {token}\r\n" if token else ""
        return (f"POST /api_jsonrpc HTTP/1.1\r\nHost: {self.address}\r\nContent-Type: application/json-rpc\r\n"
                f"Content-Length: {len(body)}\r\n{bearer}\r\n").encode() + body

    def round_trip(self, request: bytes) -> bytes:
        """The answer's body, unparsed (timings should not include the client's JSON decoding)."""
        self.sock.sendall(request)
        while (head_end := self.pending.find(b"\r\n\r\n")) < 0:
            self._receive()
        head, self.pending = self.pending[:head_end], self.pending[head_end + 4:]
        status, *headers = head.decode("latin-1").split("\r\n")
        length = next((int(value) for name, _, value in (line.partition(":") for line in headers)
                       if name.strip().lower() == "content-length"), None)
        if length is None:
            raise SystemExit(f"an answer without Content-Length:\n{head.decode('latin-1')}")
        while len(self.pending) < length:
            self._receive()
        body, self.pending = self.pending[:length], self.pending[length:]
        if status.split(" ", 2)[1] != "200":
            raise SystemExit(f"an answer that is not 200 OK:\n{head.decode('latin-1')}\n\n"
                             f"{body.decode(errors='replace')}")
        return body

    def _receive(self) -> None:
        chunk = self.sock.recv(1 << 16)
        if not chunk:
            raise SystemExit(f"the server closed the connection mid-answer, after: {self.pending[:500]!r}")
        self.pending += chunk

    def call(self, token: str, method: str, params: Any) -> Any:
        answer = orjson.loads(self.round_trip(self.request(token, method, params)))
        if "result" not in answer:
            raise SystemExit(f"{method} failed: {answer}")
        return answer["result"]


# --- the four measurements -----------------------------------------------------------------------


@dataclass
class Results:
    loadgen: str = ""
    stores: list[str] = field(default_factory=list)
    single: dict[str, dict[int, list[dict[str, Any]]]] = field(default_factory=dict)
    """Per target (bare, then each store's rpcserver), per connection count, each rep's load generator result."""
    bulk: dict[str, dict[str, dict[str, list[float]]]] = field(default_factory=dict)
    """Per store, per id shape: seconds of the rpcserver call and of the raw SQL, and the rows each wrote."""
    problem_get: dict[str, dict[str, dict[str, list[float]]]] = field(default_factory=dict)
    get_floor: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    """Per store: apiinfo.version timed as problem.get is, next to the super admin's raw SQL: what any call costs over HTTP."""
    memory: dict[str, dict[str, int]] = field(default_factory=dict)
    startup: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    """Per store, cold and warm: seconds from starting the server to its first 200 from /healthz."""
    checks: list[str] = field(default_factory=list)
    load_before: tuple[float, float, float] = (0.0, 0.0, 0.0)
    load: tuple[float, float, float] = (0.0, 0.0, 0.0)
    """The machine's load averages before and after: other work running at the same time skews every figure."""


def bulk_id_sets(problems: int, reps: int, seed: int) -> dict[str, list[list[int]]]:
    """Disjoint sets of open problems (none is acknowledged yet): scattered over all events, or consecutive."""
    fresh = [make_db.problem_eventid(n) for n in range(problems)]
    fresh = [eventid for eventid in fresh if make_db.is_open_problem(eventid)]
    rng = random.Random(seed)
    half = len(fresh) // 2
    scattered = rng.sample(fresh[:half], BULK_SIZE * reps)  # the first half of the ids...
    consecutive = fresh[half:]  # ...and runs from the second half
    return {
        "scattered": [sorted(scattered[i * BULK_SIZE:(i + 1) * BULK_SIZE]) for i in range(reps)],
        "consecutive": [consecutive[i * 2 * BULK_SIZE:i * 2 * BULK_SIZE + BULK_SIZE] for i in range(reps)],
    }


def measure_bulk(api: Api, store: Store, raw: Raw, id_sets: dict[str, list[list[int]]], results: Results) -> None:
    """Each bulk call on the server, then the rows it wrote applied by raw SQL to the other copy.
    After a call that timed out the server is still busy with it: the remaining calls are skipped."""
    bulk = results.bulk.setdefault(store.name, {})
    for shape, sets in id_sets.items():
        bulk[shape] = {"rpc": [], "raw": [], "rows": []}
        for eventids in sets:
            mark = store.mark()
            params = {"eventids": [str(e) for e in eventids], "action": 6, "message": "Problem resolved."}
            try:
                bulk[shape]["rpc"].append(timed(partial(api.call, make_db.BENCH_TOKEN, "event.acknowledge", params)))
            except TimeoutError:
                results.checks.append(f"{store.label}: bulk acknowledge ({shape} ids) did not answer within {api.timeout:g} s; "
                                      "the other bulk calls were skipped")
                return
            changes = store.changes_since(mark)
            with on_server_cpu():
                bulk[shape]["raw"].append(timed(partial(raw.apply, changes)))
            bulk[shape]["rows"].append(sum(len(rows) for _, rows in changes.values()))


def measure_problem_get(api: Api, store: Store, raw: Raw, results: Results, userid: int, reps: int) -> None:
    """Each caller's problem.get, each call followed by the raw SQL; then apiinfo.version the same way."""
    gets = results.problem_get.setdefault(store.name, {})
    for who, token, raw_userid in (("super admin", make_db.ADMIN_TOKEN, None), ("permission-checked user", make_db.BENCH_TOKEN, userid)):
        answer = api.call(token, "problem.get", PROBLEM_GET)
        problems, _ = raw.problem_get(raw_userid)
        # eventid first and acknowledged last in the raw rows; the answer has both as strings
        found = [(row["eventid"], row["acknowledged"]) for row in answer]
        if found != [(str(row[0]), str(row[-1])) for row in problems]:
            results.checks.append(f"{store.label}: problem.get as {who}: not the problems, or not their acknowledged, "
                                  "the raw SQL finds")
        gets[who] = next_to_raw(api, raw, token, "problem.get", PROBLEM_GET, raw_userid, reps)
    results.get_floor[store.name] = next_to_raw(api, raw, None, "apiinfo.version", {}, None, reps)


def next_to_raw(api: Api, raw: Raw, token: str | None, method: str, params: Any, raw_userid: int | None,
                reps: int) -> dict[str, list[float]]:
    """Seconds of each call and of the raw problem.get SQL run after it (on the server's CPU)."""
    rpc, sql = [], []
    request = api.request(token, method, params)
    for _ in range(3):  # warm-up
        api.round_trip(request)
        raw.problem_get(raw_userid)
    for _ in range(reps):
        rpc.append(timed(lambda: api.round_trip(request)))
        with on_server_cpu():
            sql.append(timed(lambda: raw.problem_get(raw_userid)))
    return {"rpc": rpc, "raw": sql}


@dataclass
class Target:
    """One server part 1 drives: the bare endpoint (no store) or rpcserver on a store."""

    name: str
    server: Server
    store: Store | StandinStore | None = None
    counts_commits: bool = True
    """It prints its writer's counters (bench/serve.py); the stand-in does not."""


def measure_single(targets: list[Target], command: Callable[[str, int, float], list[str]],
                   results: Results, reps: int, seconds: float, problems: int) -> None:
    """Every point of every target, interleaved; a server that stops keeping up (see `drained`) is
    measured no further, the others go on."""
    for target in targets:  # warm-up, discarded
        drive(command(target.server.url, 16, 2), make_db.BENCH_TOKEN, problems)
    running = list(targets)
    for target in targets:
        if target.store is not None:
            try:
                drained(target.store, target.server)
            except Saturated:
                running.remove(target)
                results.checks.append(f"{target.name} still had calls in flight {DRAIN_TIMEOUT} s after the warm-up: not measured")
    for store in {id(target.store): target.store for target in targets if isinstance(target.store, PostgresStore)}.values():
        store.analyze()
    for rep in range(reps):
        for connections in CONNECTIONS:
            for target in list(running):
                try:
                    single_point(target, connections, rep, command, results, seconds, problems)
                except Saturated:
                    running.remove(target)
                    results.checks.append(f"{target.name} still had calls in flight {DRAIN_TIMEOUT} s after the load stopped "
                                          f"at c={connections}: its remaining single-ack points were not measured")


def single_point(target: Target, connections: int, rep: int, command: Callable[[str, int, float], list[str]],
                 results: Results, seconds: float, problems: int) -> None:
    server, store = target.server, target.store
    before_cpu, before_database_cpu = server.cpu_seconds(), server.database_cpu_seconds()
    before_rows = store.count_acknowledges() if store else 0
    before_writer = server.writer_stats() if store and target.counts_commits else {}
    result = drive(command(server.url, connections, seconds), make_db.BENCH_TOKEN, problems)
    result["cpu_us"] = (server.cpu_seconds() - before_cpu) / result["requests"] * 1e6 if result["requests"] else None
    if server.database_pids and result["requests"]:
        result["database_cpu_us"] = (server.database_cpu_seconds() - before_database_cpu) / result["requests"] * 1e6
    if store is not None:
        added = drained(store, server) - before_rows
        if target.counts_commits:
            writer = server.writer_stats()
            result["units"], result["commits"] = (writer[key] - before_writer[key] for key in ("units", "commits"))
        if not result["requests"] <= added <= result["requests"] + connections + result["errors"]:
            results.checks.append(f"{target.name} c={connections} rep {rep + 1}: {result['requests']} answers "
                                  f"but {added} acknowledgements stored")
    if result["errors"] or result["non2xx"]:
        results.checks.append(f"{target.name} c={connections} rep {rep + 1}: {result['errors']} socket errors, "
                              f"{result['non2xx']} non-2xx")
    results.single.setdefault(target.name, {}).setdefault(connections, []).append(result)
    print(f"  {target.name:28} c={connections:<3} rep {rep + 1}: {result['rps']:8.0f} req/s", file=sys.stderr)


# --- report --------------------------------------------------------------------------------------


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else float("nan")


def verdict(value: float, target: float, at_least: bool) -> str:
    if value != value:  # nan: not measured
        return "not measured"
    return "met" if (value >= target if at_least else value <= target) else "MISSED"


def p90(values: list[float]) -> float:
    return sorted(values)[int(0.9 * (len(values) - 1))] if values else float("nan")


def median_rps(results: Results, target: str, connections: int) -> float:
    return median([r["rps"] for r in results.single.get(target, {}).get(connections, [])])


def median_p50_ms(results: Results, target: str, connections: int) -> float:
    return median([r["p50_us"] for r in results.single.get(target, {}).get(connections, [])]) / 1000


def median_cpu_us(results: Results, target: str, connections: int) -> float:
    return median([r["cpu_us"] for r in results.single.get(target, {}).get(connections, []) if r.get("cpu_us")])


def store_ratios(pair: dict[str, dict[str, list[float]] | None]) -> str:
    """PostgreSQL / SQLite of the medians, rpcserver's and the raw SQL's."""
    pg, lite = ({"rpc": [], "raw": [], **(pair.get(name) or {})} for name in ("postgresql", "sqlite"))
    return f"rpcserver {ratio(median(pg['rpc']), median(lite['rpc'])):.2f}, raw {ratio(median(pg['raw']), median(lite['raw'])):.2f}"


def single_table(results: Results) -> list[str]:
    lines = ["| server | conns | req/s (each rep) | req/s median | p50 ms | p99 ms | server CPU µs/req (of it PostgreSQL's) "
             "| calls per commit | errors |", "|---|---:|---|---:|---:|---:|---:|---:|---:|"]
    for connections in CONNECTIONS:
        for name, points in results.single.items():
            runs = points.get(connections, [])
            if not runs:
                lines.append(f"| {name} | {connections} | not measured | | | | | | |")
                continue
            cpu = [r["cpu_us"] for r in runs if r["cpu_us"] is not None]
            database_cpu = [r["database_cpu_us"] for r in runs if "database_cpu_us" in r]
            of_it = f" ({median(database_cpu):.0f})" if database_cpu else ""
            per_commit = (f"{sum(r['units'] for r in runs) / max(1, sum(r['commits'] for r in runs)):.1f}"
                          if "units" in runs[0] else "")
            lines.append(
                f"| {name} | {connections} | {' / '.join(str(round(r['rps'])) for r in runs)} | "
                f"{median([r['rps'] for r in runs]):.0f} | {median([r['p50_us'] for r in runs]) / 1000:.2f} | "
                f"{median([r['p99_us'] for r in runs]) / 1000:.2f} | {median(cpu):.0f}{of_it} | {per_commit} | "
                f"{sum(r['errors'] + r['non2xx'] for r in runs)} |")
    return lines


def report(results: Results, args: argparse.Namespace, db_mib: float) -> str:
    stores = [STORES[name] for name in results.stores]
    out = [f"load generator: {results.loadgen}",
           "pinning: " + ("servers on CPU 0 (with their PostgreSQL backends), load generator on CPU 1" if PINNING
                          else "none (fewer than 2 CPUs or no taskset)"),
           f"database: {args.events:,} events ({db_mib:.0f} MiB as SQLite), stores: "
           + ", ".join(STORE_METHOD[name] for name in results.stores) + "; "
           f"{args.reps} reps x {args.duration:g} s per point, interleaved, every rep shown, ratios of medians",
           f"machine load average before / after: {results.load_before[0]:.2f} / {results.load[0]:.2f} "
           "(other work on the machine skews every figure)", ""]
    targets = ["", "ratios and targets"]
    both = len(stores) == 2
    if "single" in args.only:
        out += ["1. single event.acknowledge (1 id, action 6, Bearer token, permission-checked user)", "",
                *single_table(results), ""]
        for store in stores:
            ratios = {c: ratio(median_rps(results, rpc_name(store), c), median_rps(results, BARE, c)) for c in CONNECTIONS}
            targets.append(f"  single ack / bare, {store.label + ':':12}" + ", ".join(f"c={c}: {r:.2f}" for c, r in ratios.items())
                           + f"   (target >= {TARGETS['single']:.2f} at c=64: {verdict(ratios[64], TARGETS['single'], True)})")
            p50 = median_p50_ms(results, rpc_name(store), 16)
            targets.append(f"  single ack p50, {store.label + ':':15}c=16: {p50:.2f} ms (bare's {median_p50_ms(results, BARE, 16):.2f})"
                           f"   (target <= {TARGETS['p50_ms']:g} ms: {verdict(p50, TARGETS['p50_ms'], False)})")
        if STANDIN in results.single:
            standin_ratio = ratio(median_rps(results, STANDIN, 64), median_rps(results, BARE, 64))
            targets.append(f"  the stand-in / bare:         c=64: {standin_ratio:.2f}, p50 at c=16: "
                           f"{median_p50_ms(results, STANDIN, 16):.2f} ms   (issue 17's premise: 0.34 of bare)")
            for store in stores:
                targets.append(f"  single ack / the stand-in, {store.label + ':':12}" + ", ".join(
                    f"c={c}: {ratio(median_rps(results, rpc_name(store), c), median_rps(results, STANDIN, c)):.2f}"
                    for c in CONNECTIONS) + " (req/s)")
        if both:
            targets.append("  single ack, PostgreSQL / SQLite req/s: " + ", ".join(
                f"c={c}: {ratio(median_rps(results, rpc_name(PostgresStore), c), median_rps(results, rpc_name(SqliteStore), c)):.2f}"
                for c in CONNECTIONS))
        for store in stores:
            without = f"{rpc_name(store)}, {NO_METRICS}"
            if without in results.single:
                rps = [1 - ratio(median_rps(results, rpc_name(store), c), median_rps(results, without, c)) for c in CONNECTIONS]
                cpu = [ratio(median_cpu_us(results, rpc_name(store), c), median_cpu_us(results, without, c)) - 1
                       for c in CONNECTIONS]
                targets.append(f"  {store.label}, cost of /metrics per call (vs {NO_METRICS}): req/s " + ", ".join(
                    f"c={c}: {r:+.1%}" for c, r in zip(CONNECTIONS, rps)) + "; server CPU per call " + ", ".join(
                    f"c={c}: {r:+.1%}" for c, r in zip(CONNECTIONS, cpu))
                               + "   (within the noise; the 3 % target is checked by bench/metrics_cost.py)")
        for store in stores:
            ungrouped = f"{rpc_name(store)}, {UNGROUPED}"
            if ungrouped in results.single:
                targets.append(f"  {store.label}, group commit / {UNGROUPED} req/s: " + ", ".join(
                    f"c={c}: {ratio(median_rps(results, rpc_name(store), c), median_rps(results, ungrouped, c)):.2f}"
                    for c in CONNECTIONS))
    if "bulk" in args.only:
        out += ["2. bulk event.acknowledge of 10,000 ids (one call, permission-checked user) vs raw SQL writing "
                "the same rows in one transaction (sqlite3 / psycopg executemany)", "",
                "| ids | store | rows added | rpcserver ms (each rep) | raw ms (each rep) | rpcserver / raw |",
                "|---|---|---:|---|---|---:|"]
        for shape in ("scattered", "consecutive"):
            for store in stores:
                times = results.bulk.get(store.name, {}).get(shape)
                if times is None:
                    continue
                out.append(f"| {shape} | {store.label} | {median(times['rows']):,.0f} | "
                           f"{' / '.join(ms(t) for t in times['rpc']) or 'timed out'} | {' / '.join(ms(t) for t in times['raw']) or '-'} | "
                           f"{ratio(median(times['rpc']), median(times['raw'])):.2f} |")
        out.append("")
        for store in stores:
            scattered = results.bulk.get(store.name, {}).get("scattered", {"rpc": [], "raw": []})
            bulk = ratio(median(scattered["rpc"]), median(scattered["raw"]))
            targets.append(f"  bulk / raw, {store.label + ':':12} {bulk:.2f} (scattered ids)   (target <= {TARGETS['bulk']}: "
                           f"{verdict(bulk, TARGETS['bulk'], False)})")
        if both:
            for shape in ("scattered", "consecutive"):
                pair = {name: results.bulk.get(name, {}).get(shape) for name in ("postgresql", "sqlite")}
                targets.append(f"  bulk ({shape}), PostgreSQL / SQLite ms: {store_ratios(pair)}")
    if "get" in args.only:
        out += [f"3. problem.get, newest 100 problems + selectAcknowledges ({args.get_reps} calls) vs the raw SQL", "",
                "| caller | store | rpcserver ms median (p90) | raw SQL ms median (p90) | rpcserver / raw |", "|---|---|---|---|---:|"]
        for who in ("super admin", "permission-checked user"):
            for store in stores:
                times = results.problem_get.get(store.name, {}).get(who, {"rpc": [], "raw": []})
                out.append(f"| {who} | {store.label} | {median(times['rpc']) * 1000:.2f} ({p90(times['rpc']) * 1000:.2f}) | "
                           f"{median(times['raw']) * 1000:.2f} ({p90(times['raw']) * 1000:.2f}) | "
                           f"{ratio(median(times['rpc']), median(times['raw'])):.2f} |")
        for store in stores:
            floor = results.get_floor.get(store.name, {"rpc": [], "raw": []})
            out.append(f"| (floor: apiinfo.version, no credentials or SQL) | {store.label} | {median(floor['rpc']) * 1000:.2f} | "
                       f"{median(floor['raw']) * 1000:.2f} (super admin's) | {ratio(median(floor['rpc']), median(floor['raw'])):.2f} |")
        out.append("")
        for store in stores:
            gets = {who: ratio(median(t["rpc"]), median(t["raw"])) for who, t in results.problem_get.get(store.name, {}).items()}
            worst = max(gets.values(), default=float("nan"))
            targets.append(f"  problem.get / raw, {store.label + ':':12}" + ", ".join(f"{r:.2f} {who}" for who, r in gets.items())
                           + f"   (target <= {TARGETS['problem_get']}: {verdict(worst, TARGETS['problem_get'], False)})")
        if both:
            for who in ("super admin", "permission-checked user"):
                pair = {name: results.problem_get.get(name, {}).get(who) for name in ("postgresql", "sqlite")}
                targets.append(f"  problem.get ({who}), PostgreSQL / SQLite ms: {store_ratios(pair)}")
    out += ["4. rpcserver's memory holding the database (the server process; PostgreSQL's own memory is not in it)", "",
            "| when | RSS MiB | peak (VmHWM) MiB |", "|---|---:|---:|"]
    for when, memory in results.memory.items():
        out.append(f"| {when} | {memory['VmRSS'] / 1024:.1f} | {memory['VmHWM'] / 1024:.1f} |")
    out.append("")
    if "startup" in args.only:
        out += [f"5. start-up on {args.events:,} events: seconds from starting `rpcserver serve` to its first 200 from "
                "/healthz (each rep)", "", "| store | cold | warm |", "|---|---|---|"]
        for store in stores:
            times = results.startup.get(store.name, {})
            out.append(f"| {store.label} | " + " | ".join(" / ".join(f"{t:.2f}" for t in times.get(kind, [])) or "-"
                                                        for kind in ("cold", "warm")) + " |")
        out.append("")
        for store in stores:
            worst = max((t for kind in results.startup.get(store.name, {}).values() for t in kind), default=float("nan"))
            targets.append(f"  start-up, {store.label + ':':12} {worst:.2f} s at worst   (target <= 2 s: {verdict(worst, 2.0, False)})")
    peak_mb = max((memory["VmHWM"] for memory in results.memory.values()), default=0) * 1024 / 1e6
    targets += [f"  peak RSS:             {peak_mb:.0f} MB = {peak_mb * 1e6 / 2**20:.1f} MiB   (target <= {TARGETS['rss_mb']} MB: "
                f"{verdict(peak_mb, TARGETS['rss_mb'], False)})",
                "  checks: " + ("all passed (no socket errors or non-2xx, one stored acknowledgement per answered call, "
                                "problem.get finds the problems, and their acknowledged, the raw SQL finds)"
                                if not results.checks else "; ".join(results.checks))]
    return "\n".join(out + targets)


def open_stores(names: tuple[str, ...], args: argparse.Namespace, template: Path, opened: list[Store]) -> None:
    """Each store's two copies of the template, appended to `opened` as soon as each exists (to be closed)."""
    for name in names:
        started = time.monotonic()
        if name == "sqlite":
            opened.append(SqliteStore(args.workdir, template))
        else:
            print(f"copying it into PostgreSQL ({args.pg_url}, databases {args.pg_prefix}_*) ...", file=sys.stderr)
            opened.append(PostgresStore(args.pg_url, template, args.pg_prefix))
        print(f"  {opened[-1].label}: ready in {time.monotonic() - started:.0f} s", file=sys.stderr)


def reads_and_bulk(store: Store, args: argparse.Namespace, results: Results, bench_userid: int, problems: int) -> None:
    """Parts 3 and 2 on one store: one server, and the raw SQL on the store's other copy."""
    with server(f"rpc-reads-and-bulk-{store.name}", rpc_command(store), args.workdir, store.backend_pids) as rpc, \
            closing(store.raw()) as raw:
        for pid in raw.backend_pids() if PINNING else ():
            os.sched_setaffinity(pid, {int(SERVER_CPU)})  # the raw SQL's database work on the server's CPU, as SQLite's is
        if "get" in args.only:
            print(f"problem.get, {store.label} ...", file=sys.stderr)
            with closing(Api(rpc.url, args.bulk_timeout)) as api:
                measure_problem_get(api, store, raw, results, bench_userid, args.get_reps)
        if "bulk" in args.only:
            print(f"bulk acknowledge, {store.label} ...", file=sys.stderr)
            with closing(Api(rpc.url, args.bulk_timeout)) as api:
                measure_bulk(api, store, raw, bulk_id_sets(problems, args.reps, seed=7), results)
        done = " and ".join(what for part, what in (("get", "problem.get"), ("bulk", "the bulk calls")) if part in args.only)
        results.memory[f"{store.label}: first server, after {done}"] = rpc.memory_kib()


def evict(path: Path) -> None:
    """Drop `path` (and its WAL) from the page cache, as after a reboot, without touching other files'."""
    for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        if file.exists():
            fd = os.open(file, os.O_RDONLY)
            try:
                os.fsync(fd)  # dirty pages are not dropped
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def time_to_healthy(store: Store, workdir: Path) -> float:
    """Seconds from starting the server on the store's database to its first 200 from /healthz."""
    log_path = workdir / f"startup-{store.name}.log"
    with open(log_path, "wb") as log:
        started = time.perf_counter()
        process = subprocess.Popen(pinned(SERVER_CPU, rpc_command(store)), cwd=workdir, stdout=log,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        while True:
            if process.poll() is not None or time.perf_counter() - started > STARTUP_TIMEOUT:
                raise SystemExit(f"the server did not start within {STARTUP_TIMEOUT} s:\n{log_path.read_text()}")
            match = READY.search(log_path.read_text())
            if match:
                try:
                    with socket.create_connection(("127.0.0.1", int(match.group(1))), timeout=5) as conn:
                        conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                        if conn.recv(64).startswith(b"HTTP/1.1 200"):
                            return time.perf_counter() - started
                except OSError:
                    pass
            time.sleep(0.005)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(STOP_TIMEOUT)


def measure_startup(store: Store, args: argparse.Namespace, results: Results) -> None:
    """Part 5: cold (SQLite only: PostgreSQL's cache is the server's) and warm start-ups, interleaved."""
    times = results.startup.setdefault(store.name, {"cold": [], "warm": []})
    for _ in range(STARTUP_REPS):
        if store.name == "sqlite":
            evict(Path(store.db))
            times["cold"].append(time_to_healthy(store, args.workdir))
        times["warm"].append(time_to_healthy(store, args.workdir))
    print(f"  start-up, {store.label}: cold {times['cold']}, warm {times['warm']}", file=sys.stderr)


def single_acknowledges(stores: list[Store], args: argparse.Namespace, results: Results, problems: int,
                        command: Callable[[str, int, float], list[str]]) -> None:
    """Part 1: the bare endpoint and a fresh rpcserver per store (and per store one without group commit,
    with --ungrouped), all running at once, driven in turn."""
    with ExitStack() as running:
        targets = [Target(BARE, running.enter_context(server("bare", [sys.executable, str(BENCH / "bare.py")], args.workdir)))]
        claimed: set[int] = set()  # backends of servers already started on the same database

        def own_backends(store: Store) -> list[int]:
            pids = [pid for pid in store.backend_pids() if pid not in claimed]
            claimed.update(pids)
            return pids

        for store in stores:
            variants = [(rpc_name(store), None, ()), (f"{rpc_name(store)}, {NO_METRICS}", None, (NO_METRICS,))]
            if args.ungrouped:
                variants.append((f"{rpc_name(store)}, {UNGROUPED}", 1, ()))
            for name, max_batch, flags in variants:
                log_name = name.replace(" ", "-").replace(",", "").lower()
                rpc = running.enter_context(server(log_name, rpc_command(store, max_batch, *flags), args.workdir,
                                                   partial(own_backends, store)))
                targets.append(Target(name, rpc, store))
                # a restarted server holds the database as this one does: its memory from the start
                results.memory[f"{name}: second server, after start"] = rpc.memory_kib()
        if args.standin:
            targets.append(standin_target(args, running))
        print("single acknowledge ...", file=sys.stderr)
        measure_single(targets, command, results, args.reps, args.duration, problems)
        for target in targets[1:]:
            if target.counts_commits:  # rpcserver's: the RSS target is its
                results.memory[f"{target.name}: second server, after the single acknowledges"] = target.server.memory_kib()


def standin_target(args: argparse.Namespace, running: ExitStack) -> Target:
    """The workplace's stand-in, started as its README says, on a database its own make_db.py builds."""
    standin, port = args.standin.resolve(), free_port()  # resolved: the servers run in the workdir
    store = StandinStore.built(standin, args.workdir / "standin.db", args.events)
    standin_server = running.enter_context(server("standin", standin_command(standin, store.db, port), args.workdir,
                                                  ready=STANDIN_READY, port=port))
    return Target(STANDIN, standin_server, store, counts_commits=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per single-ack point (default 10)")
    parser.add_argument("--reps", type=int, default=3, help="repetitions of every point, interleaved (default 3)")
    parser.add_argument("--events", type=int, default=1_000_000, help="events in the database (default 1,000,000)")
    parser.add_argument("--get-reps", type=int, default=30, help="timed problem.get calls (default 30)")
    parser.add_argument("--bulk-timeout", type=float, default=60, help="seconds a bulk call may take (default 60)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/rpcserver-bench"))
    parser.add_argument("--python-loadgen", action="store_true", help="use bench/loadgen.py even if wrk is installed")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument("--only", action="append", choices=PARTS,
                        help="run only this part (repeatable; default: all): single, bulk, get (problem.get) or startup")
    parser.add_argument("--store", choices=("sqlite", "postgresql", "both"), default="both",
                        help="the store(s) to measure rpcserver on, side by side (default both)")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", "postgresql://root@127.0.0.1:5432/postgres"),
                        help="a PostgreSQL database to connect to for creating and dropping the suite's own "
                             "(default $BENCH_PG_URL or postgresql://root@127.0.0.1:5432/postgres)")
    parser.add_argument("--pg-prefix", default=f"rpcserver_bench_{os.getpid()}",
                        help="name prefix of the two PostgreSQL databases made and dropped (default rpcserver_bench_<pid>)")
    parser.add_argument("--standin", type=Path,
                        help="part 1 also on the workplace's stand-in: the path of its standin.py (its make_db.py beside it)")
    parser.add_argument("--ungrouped", action="store_true",
                        help="part 1 also on a server per store whose writer commits every call alone (no group commit)")
    args = parser.parse_args()
    args.only = tuple(args.only or PARTS)
    store_names = ("sqlite", "postgresql") if args.store == "both" else (args.store,)
    started = time.monotonic()
    if PINNING:
        os.sched_setaffinity(0, {int(CLIENT_CPU)})
    results = Results(stores=list(store_names))
    results.loadgen, command = load_generator(args.python_loadgen)
    print(f"load generator: {results.loadgen}", file=sys.stderr)
    results.load_before = os.getloadavg()

    args.workdir.mkdir(parents=True, exist_ok=True)
    template = args.workdir / "template.db"
    print(f"building {args.events:,} events into {template} ...", file=sys.stderr)
    make_db.build(template, args.events)
    problems = args.events * 4 // 5
    with closing(sqlite3.connect(template)) as conn:
        bench_userid = conn.execute("SELECT userid FROM users WHERE username = 'bench'").fetchone()[0]

    stores: list[Store] = []
    try:
        open_stores(store_names, args, template, stores)
        if "get" in args.only or "bulk" in args.only:
            for store in stores:
                reads_and_bulk(store, args, results, bench_userid, problems)
        if "startup" in args.only:
            print("start-up ...", file=sys.stderr)
            for store in stores:
                measure_startup(store, args, results)
        if "single" in args.only:
            single_acknowledges(stores, args, results, problems, command)
    finally:
        for store in stores:
            store.close()
    results.load = os.getloadavg()
    text = report(results, args, template.stat().st_size / 2**20)
    print(text)
    print(f"\n(took {time.monotonic() - started:.0f} s; server logs: {args.workdir}/*.log)")
    if args.json:
        args.json.write_text(json.dumps(results.__dict__, indent=1, default=str))


if __name__ == "__main__":
    main()
