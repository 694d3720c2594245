"""rpcserver's benchmark suite: one command, loopback only, a few minutes, a table and the ratios.

    python bench/run.py                  # from the clone's root, with the venv's Python
    python bench/run.py --only get       # just part 3 (under a minute); --only may be repeated

1. single `event.acknowledge` (1 id, action 6, API token as Bearer, synchronous=FULL) at 1, 16 and
   64 connections, next to a bare aiohttp + orjson endpoint (bench/bare.py) run the same way;
2. one bulk `event.acknowledge` of 10,000 ids, next to raw sqlite3 applying the same rows;
3. `problem.get` of the newest 100 problems with selectAcknowledges, next to the raw SQL;
4. the server's RSS while it holds 1,000,000 events.

Servers run pinned to CPU 0 (`taskset -c 0`), the load generator (wrk if installed, else
bench/loadgen.py) to CPU 1; the raw SQLite measurements run on CPU 0 like the servers. The
database is built fresh by bench/make_db.py for each run. See bench/README.md for the results.
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
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import make_db  # noqa: E402
import orjson  # noqa: E402

SERVER_CPU, CLIENT_CPU = "0", "1"
READY = re.compile(r"listening on http://127\.0\.0\.1:(\d+)/")
CONNECTIONS = (1, 16, 64)
BULK_SIZE = 10_000
TICKS = os.sysconf("SC_CLK_TCK")
TARGETS = {"single": 0.40, "bulk": 1.5, "problem_get": 2.0, "rss_mb": 100}
PARTS = ("single", "bulk", "get")
"""What --only picks from; memory is read from whichever servers the chosen parts start."""
STOP_TIMEOUT = 10
DRAIN_TIMEOUT = 10
"""Seconds to wait, after the load generator stops, for the calls it left in flight to be stored. A
server that needs longer is far behind its load: its figures mean nothing, and the rest is skipped."""
PROBLEM_GET = {"output": "extend", "selectAcknowledges": "extend", "sortfield": ["eventid"], "sortorder": "DESC",
               "limit": 100}


# --- processes -----------------------------------------------------------------------------------


PINNING = len(os.sched_getaffinity(0)) >= 2 and shutil.which("taskset") is not None


def pinned(cpu: str, command: list[str]) -> list[str]:
    return ["taskset", "-c", cpu, *command] if PINNING else command


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime, all threads

    def memory_kib(self) -> dict[str, int]:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return {key: int(re.search(rf"{key}:\s+(\d+) kB", status).group(1)) for key in ("VmRSS", "VmHWM")}  # type: ignore[union-attr]


@contextmanager
def server(name: str, command: list[str], workdir: Path) -> Iterator[Server]:
    """Start a server pinned to the server CPU; wait for its `listening on` line; SIGTERM it after."""
    log_path = workdir / f"{name}.log"
    with open(log_path, "wb") as log:
        # the code of the tree this script is in, whatever is installed
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(BENCH.parent), os.environ.get("PYTHONPATH")]))}
        process = subprocess.Popen(pinned(SERVER_CPU, command), cwd=workdir, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, env=env)
    try:
        deadline = time.monotonic() + 30
        while not (match := READY.search(log_path.read_text())):
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{name} did not start:\n{log_path.read_text()}")
            time.sleep(0.05)
        yield Server(name, process, int(match.group(1)), log_path)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:  # a call still running (a timed-out bulk call): no point waiting
            process.kill()
            process.wait()


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


def count_acknowledges(db: Path) -> int:
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        return conn.execute("SELECT MAX(acknowledgeid) FROM acknowledges").fetchone()[0]


class Saturated(Exception):
    """The server still had calls in flight DRAIN_TIMEOUT seconds after the load stopped."""


def drained(db: Path, target: Server) -> int:
    """The acknowledgements stored once the calls left in flight are done: the server idle (under
    2 % of a CPU) and no new acknowledgement for 0.5 s.

    Raises:
        Saturated: they were not done within DRAIN_TIMEOUT seconds.
    """
    count, cpu, deadline = count_acknowledges(db), target.cpu_seconds(), time.monotonic() + DRAIN_TIMEOUT
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now_count, now_cpu = count_acknowledges(db), target.cpu_seconds()
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


def raw_connection(db: Path) -> sqlite3.Connection:
    """sqlite3 as rpcserver's writer has it: WAL, foreign keys, synchronous=FULL."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA synchronous = FULL")
    return conn


def last_rowids(db: Path) -> dict[str, int]:
    """Every table's highest rowid."""
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        tables = [name for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        return {table: conn.execute(f"SELECT coalesce(max(rowid), 0) FROM {table}").fetchone()[0] for table in tables}


Changes = dict[str, list[tuple[Any, ...]]]
"""What one call wrote: the rows it added, per table (an acknowledge changes no existing row)."""


def changes_since(db: Path, before: dict[str, int]) -> Changes:
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        added = {table: conn.execute(f"SELECT * FROM {table} WHERE rowid > ?", (last,)).fetchall()
                 for table, last in before.items()}
    return {table: rows for table, rows in added.items() if rows}


def apply_raw(conn: sqlite3.Connection, changes: Changes) -> None:
    """The same rows, written with plain sqlite3 in one transaction."""
    conn.execute("BEGIN IMMEDIATE")
    for table, rows in changes.items():
        conn.executemany(f"INSERT INTO {table} VALUES ({','.join('?' * len(rows[0]))})", rows)
    conn.execute("COMMIT")


RAW_PERMITTED = (
    " AND p.objectid IN (SELECT t.triggerid FROM triggers t WHERE t.hostid IN ("
    "SELECT hg.hostid FROM hosts_groups hg JOIN rights r ON r.id = hg.groupid"
    " JOIN users_groups ug ON ug.usrgrpid = r.groupid WHERE ug.userid = :userid AND r.permission >= 2))"
)


def raw_problem_get(conn: sqlite3.Connection, userid: int | None) -> list[Any]:
    """The newest 100 unresolved problems with what problem.get's `extend` shows (the trigger's
    opdata, whether suppressed now, whether acknowledged now: an acknowledgement span without an end or
    ending later, the server's one rule, written out here so the yardstick stays independent of it) and
    their acknowledgements, as one would write it by hand."""
    permitted = RAW_PERMITTED if userid is not None else ""
    problems = conn.execute(
        "SELECT p.*, coalesce((SELECT t.opdata FROM triggers t WHERE t.triggerid = p.objectid), ''),"
        " EXISTS (SELECT 1 FROM event_suppress es WHERE es.eventid = p.eventid"
        "  AND (es.suppress_until = 0 OR es.suppress_until > :now)),"
        " EXISTS (SELECT 1 FROM acknowledgement ak WHERE ak.eventid = p.eventid"
        "  AND (ak.acknowledged_until IS NULL OR ak.acknowledged_until > :now))"
        " FROM problem p WHERE p.source = 0 AND p.object = 0 AND p.r_eventid IS NULL"
        f"{permitted} ORDER BY p.eventid DESC LIMIT 100", {"userid": userid, "now": int(time.time())}
    ).fetchall()
    ids = json.dumps([row[0] for row in problems])
    acks = conn.execute("SELECT a.* FROM acknowledges a WHERE a.eventid IN (SELECT value FROM json_each(?))"
                        " ORDER BY a.clock DESC, a.acknowledgeid DESC", (ids,)).fetchall()
    return [problems, acks]


# --- the four measurements -----------------------------------------------------------------------


@dataclass
class Results:
    loadgen: str = ""
    single: dict[str, dict[int, list[dict[str, Any]]]] = field(default_factory=lambda: {"bare": {}, "rpc": {}})
    bulk: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    """Per id shape: seconds of the rpcserver call and of raw sqlite3, and the rows each wrote."""
    problem_get: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    get_floor: dict[str, list[float]] = field(default_factory=dict)
    """apiinfo.version timed as problem.get is, next to the super admin's raw SQL: what any call costs over HTTP."""
    memory: dict[str, dict[str, int]] = field(default_factory=dict)
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


def measure_bulk(api: Api, served: Path, raw: sqlite3.Connection, id_sets: dict[str, list[list[int]]],
                 results: Results) -> None:
    """Each bulk call on the server, then the rows it wrote applied by raw sqlite3 to the other copy.
    After a call that timed out the server is still busy with it: the remaining calls are skipped."""
    for shape, sets in id_sets.items():
        results.bulk[shape] = {"rpc": [], "raw": [], "rows": []}
        for eventids in sets:
            before = last_rowids(served)
            params = {"eventids": [str(e) for e in eventids], "action": 6, "message": "Problem resolved."}
            try:
                results.bulk[shape]["rpc"].append(timed(partial(api.call, make_db.BENCH_TOKEN, "event.acknowledge", params)))
            except TimeoutError:
                results.checks.append(f"bulk acknowledge ({shape} ids) did not answer within {api.timeout:g} s; "
                                      "the other bulk calls were skipped")
                return
            changes = changes_since(served, before)
            with on_server_cpu():
                results.bulk[shape]["raw"].append(timed(partial(apply_raw, raw, changes)))
            results.bulk[shape]["rows"].append(sum(len(rows) for rows in changes.values()))


def measure_problem_get(api: Api, raw: sqlite3.Connection, results: Results, userid: int, reps: int) -> None:
    """Each caller's problem.get, each call followed by the raw SQL; then apiinfo.version the same way."""
    for who, token, raw_userid in (("super admin", make_db.ADMIN_TOKEN, None), ("permission-checked user", make_db.BENCH_TOKEN, userid)):
        answer = api.call(token, "problem.get", PROBLEM_GET)
        problems, _ = raw_problem_get(raw, raw_userid)
        # eventid first and acknowledged last in the raw rows; the answer has both as strings
        found = [(row["eventid"], row["acknowledged"]) for row in answer]
        if found != [(str(row[0]), str(row[-1])) for row in problems]:
            results.checks.append(f"problem.get as {who}: not the problems, or not their acknowledged, "
                                  "the raw SQL finds")
        results.problem_get[who] = next_to_raw(api, raw, token, "problem.get", PROBLEM_GET, raw_userid, reps)
    results.get_floor = next_to_raw(api, raw, None, "apiinfo.version", {}, None, reps)


def next_to_raw(api: Api, raw: sqlite3.Connection, token: str | None, method: str, params: Any, raw_userid: int | None,
                reps: int) -> dict[str, list[float]]:
    """Seconds of each call and of the raw problem.get SQL run after it (on the server's CPU)."""
    rpc, sql = [], []
    request = api.request(token, method, params)
    for _ in range(3):  # warm-up
        api.round_trip(request)
        raw_problem_get(raw, raw_userid)
    for _ in range(reps):
        rpc.append(timed(lambda: api.round_trip(request)))
        with on_server_cpu():
            sql.append(timed(lambda: raw_problem_get(raw, raw_userid)))
    return {"rpc": rpc, "raw": sql}


def measure_single(bare: Server, rpc: Server, db: Path, command: Callable[[str, int, float], list[str]],
                   results: Results, reps: int, seconds: float, problems: int) -> None:
    """Every point, or as many as come before the server stops keeping up (see `drained`)."""
    try:
        single_points(bare, rpc, db, command, results, reps, seconds, problems)
    except Saturated:
        results.checks.append(f"rpcserver still had calls in flight {DRAIN_TIMEOUT} s after the load stopped: "
                              "the remaining single-ack points were not measured")


def single_points(bare: Server, rpc: Server, db: Path, command: Callable[[str, int, float], list[str]],
                  results: Results, reps: int, seconds: float, problems: int) -> None:
    for target in (bare, rpc):  # warm-up, discarded
        drive(command(target.url, 16, 2), make_db.BENCH_TOKEN, problems)
    drained(db, rpc)
    for rep in range(reps):
        for connections in CONNECTIONS:
            for target in (bare, rpc):
                before_cpu = target.cpu_seconds()
                before_rows = count_acknowledges(db) if target is rpc else 0
                result = drive(command(target.url, connections, seconds), make_db.BENCH_TOKEN, problems)
                result["cpu_us"] = (target.cpu_seconds() - before_cpu) / result["requests"] * 1e6 if result["requests"] else None
                if target is rpc:
                    added = drained(db, rpc) - before_rows
                    if not result["requests"] <= added <= result["requests"] + connections + result["errors"]:
                        results.checks.append(f"c={connections} rep {rep + 1}: {result['requests']} answers "
                                              f"but {added} acknowledgements stored")
                if result["errors"] or result["non2xx"]:
                    results.checks.append(f"{target.name} c={connections} rep {rep + 1}: {result['errors']} socket errors, "
                                          f"{result['non2xx']} non-2xx")
                results.single[target.name].setdefault(connections, []).append(result)
                print(f"  {target.name:4} c={connections:<3} rep {rep + 1}: {result['rps']:8.0f} req/s", file=sys.stderr)


# --- report --------------------------------------------------------------------------------------


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def verdict(value: float, target: float, at_least: bool) -> str:
    if value != value:  # nan: not measured
        return "not measured"
    return "met" if (value >= target if at_least else value <= target) else "MISSED"


def single_table(results: Results) -> tuple[list[str], dict[int, float]]:
    lines = ["| server | conns | req/s (each rep) | req/s median | p50 ms | p99 ms | server CPU µs/req | errors |",
             "|---|---:|---|---:|---:|---:|---:|---:|"]
    for connections in CONNECTIONS:
        for name in ("bare", "rpc"):
            label = "bare aiohttp+orjson" if name == "bare" else "rpcserver"
            runs = results.single[name].get(connections, [])
            if not runs:
                lines.append(f"| {label} | {connections} | not measured | | | | | |")
                continue
            cpu = [r["cpu_us"] for r in runs if r["cpu_us"] is not None]
            lines.append(
                f"| {label} | {connections} | {' / '.join(str(round(r['rps'])) for r in runs)} | "
                f"{median([r['rps'] for r in runs]):.0f} | {median([r['p50_us'] for r in runs]) / 1000:.2f} | "
                f"{median([r['p99_us'] for r in runs]) / 1000:.2f} | {median(cpu):.0f} | "
                f"{sum(r['errors'] + r['non2xx'] for r in runs)} |")
    ratios = {connections: median([r["rps"] for r in results.single["rpc"].get(connections, [])])
              / median([r["rps"] for r in results.single["bare"].get(connections, [])] or [1.0])
              for connections in CONNECTIONS}
    return lines, ratios


def report(results: Results, args: argparse.Namespace, db_mib: float) -> str:
    out = [f"load generator: {results.loadgen}",
           f"pinning: {'servers on CPU 0, load generator on CPU 1' if PINNING else 'none (fewer than 2 CPUs or no taskset)'}",
           f"database: {args.events:,} events ({db_mib:.0f} MiB), synchronous=FULL; "
           f"{args.reps} reps x {args.duration:g} s per point, interleaved, every rep shown, ratios of medians",
           f"machine load average before / after: {results.load_before[0]:.2f} / {results.load[0]:.2f} "
           "(other work on the machine skews every figure)", ""]
    targets = ["", "ratios and targets"]
    if "single" in args.only:
        lines, ratios = single_table(results)
        out += ["1. single event.acknowledge (1 id, action 6, Bearer token, permission-checked user)", "", *lines, ""]
        targets.append("  single ack / bare:    " + ", ".join(f"c={c}: {r:.2f}" for c, r in ratios.items())
                       + f"   (target >= {TARGETS['single']:.2f} at c=64: {verdict(ratios[64], TARGETS['single'], True)})")
    if "bulk" in args.only:
        out += ["2. bulk event.acknowledge of 10,000 ids (one call, permission-checked user) vs raw sqlite3 writing "
                "the same rows in one transaction", "",
                "| ids | rows added | rpcserver ms (each rep) | raw sqlite3 ms (each rep) | ratio of medians |",
                "|---|---:|---|---|---:|"]
        for shape, times in results.bulk.items():
            out.append(f"| {shape} | {median(times['rows']):,.0f} | {' / '.join(ms(t) for t in times['rpc']) or 'timed out'} | "
                       f"{' / '.join(ms(t) for t in times['raw']) or '-'} | {median(times['rpc']) / median(times['raw']):.2f} |")
        out.append("")
        scattered = results.bulk["scattered"]
        bulk = median(scattered["rpc"]) / median(scattered["raw"])
        targets.append(f"  bulk / raw sqlite3:   {bulk:.2f} (scattered ids)   (target <= {TARGETS['bulk']}: "
                       f"{verdict(bulk, TARGETS['bulk'], False)})")
    if "get" in args.only:
        out += [f"3. problem.get, newest 100 problems + selectAcknowledges ({args.get_reps} calls) vs the raw SQL", "",
                "| caller | rpcserver ms median (p90) | raw SQL ms median (p90) | ratio of medians |", "|---|---|---|---:|"]
        for who, times in results.problem_get.items():
            p90 = lambda values: sorted(values)[int(0.9 * (len(values) - 1))]  # noqa: E731
            out.append(f"| {who} | {median(times['rpc']) * 1000:.2f} ({p90(times['rpc']) * 1000:.2f}) | "
                       f"{median(times['raw']) * 1000:.2f} ({p90(times['raw']) * 1000:.2f}) | "
                       f"{median(times['rpc']) / median(times['raw']):.2f} |")
        floor = results.get_floor
        out += [f"| (floor: apiinfo.version, no credentials or SQL) | {median(floor['rpc']) * 1000:.2f} | "
                f"{median(floor['raw']) * 1000:.2f} (super admin's) | {median(floor['rpc']) / median(floor['raw']):.2f} |", ""]
        gets = {who: median(t["rpc"]) / median(t["raw"]) for who, t in results.problem_get.items()}
        targets.append("  problem.get / raw:    " + ", ".join(f"{r:.2f} {who}" for who, r in gets.items())
                       + f"   (target <= {TARGETS['problem_get']}: {verdict(max(gets.values()), TARGETS['problem_get'], False)})")
    out += ["4. rpcserver's memory holding the database", "", "| when | RSS MiB | peak (VmHWM) MiB |", "|---|---:|---:|"]
    for when, memory in results.memory.items():
        out.append(f"| {when} | {memory['VmRSS'] / 1024:.1f} | {memory['VmHWM'] / 1024:.1f} |")
    peak_mb = max(memory["VmHWM"] for memory in results.memory.values()) * 1024 / 1e6
    targets += [f"  peak RSS:             {peak_mb:.0f} MB = {peak_mb * 1e6 / 2**20:.1f} MiB   (target <= {TARGETS['rss_mb']} MB: "
                f"{verdict(peak_mb, TARGETS['rss_mb'], False)})",
                "  checks: " + ("all passed (no socket errors or non-2xx, one stored acknowledgement per answered call, "
                                "problem.get finds the problems, and their acknowledged, the raw SQL finds)"
                                if not results.checks else "; ".join(results.checks))]
    return "\n".join(out + targets)


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
                        help="run only this part (repeatable; default: all): single, bulk or get (problem.get)")
    args = parser.parse_args()
    args.only = tuple(args.only or PARTS)
    started = time.monotonic()
    if PINNING:
        os.sched_setaffinity(0, {int(CLIENT_CPU)})
    results = Results()
    results.loadgen, command = load_generator(args.python_loadgen)
    print(f"load generator: {results.loadgen}", file=sys.stderr)
    results.load_before = os.getloadavg()

    args.workdir.mkdir(parents=True, exist_ok=True)
    template, served, raw_db = (args.workdir / name for name in ("template.db", "server.db", "raw.db"))
    print(f"building {args.events:,} events into {template} ...", file=sys.stderr)
    make_db.build(template, args.events)
    for copy in (served, raw_db):
        for suffix in ("-wal", "-shm"):
            Path(f"{copy}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(template, copy)
    problems = args.events * 4 // 5
    with closing(sqlite3.connect(template)) as conn:
        bench_userid = conn.execute("SELECT userid FROM users WHERE username = 'bench'").fetchone()[0]

    rpc_command = [sys.executable, "-m", "rpcserver", "serve", "--db", str(served), "--port", "0", "--synchronous", "FULL"]
    raw = raw_connection(raw_db)
    if "get" in args.only or "bulk" in args.only:
        with server("rpc-reads-and-bulk", rpc_command, args.workdir) as rpc:
            if "get" in args.only:
                print("problem.get ...", file=sys.stderr)
                with closing(Api(rpc.url, args.bulk_timeout)) as api:
                    measure_problem_get(api, raw, results, bench_userid, args.get_reps)
            if "bulk" in args.only:
                print("bulk acknowledge ...", file=sys.stderr)
                with closing(Api(rpc.url, args.bulk_timeout)) as api:
                    measure_bulk(api, served, raw, bulk_id_sets(problems, args.reps, seed=7), results)
            done = " and ".join(what for part, what in (("get", "problem.get"), ("bulk", "the bulk calls")) if part in args.only)
            results.memory[f"first server, after {done}"] = rpc.memory_kib()
    raw.close()
    if "single" in args.only:
        # a fresh server, as a restarted one holds the database: its memory from the start
        bare_command = [sys.executable, str(BENCH / "bare.py")]
        with server("rpc", rpc_command, args.workdir) as rpc, server("bare", bare_command, args.workdir) as bare:
            results.memory["second server, after start"] = rpc.memory_kib()
            print("single acknowledge ...", file=sys.stderr)
            measure_single(bare, rpc, served, command, results, args.reps, args.duration, problems)
            results.memory["second server, after the single acknowledges"] = rpc.memory_kib()
    results.load = os.getloadavg()
    text = report(results, args, template.stat().st_size / 2**20)
    print(text)
    print(f"\n(took {time.monotonic() - started:.0f} s; server log: {args.workdir / 'rpc.log'})")
    if args.json:
        args.json.write_text(json.dumps(results.__dict__, indent=1, default=str))


if __name__ == "__main__":
    main()
