"""Per-machine scaling of `rpcserver serve --workers`: 1 and 2 workers next to the bare aiohttp endpoint
(bench/bare.py) with as many processes, on each store, in one run. Loopback only, about 3 minutes.

    .venv/bin/python bench/workers.py                    # both stores
    .venv/bin/python bench/workers.py --store sqlite     # SQLite alone, no PostgreSQL needed

Two loads, each from one closed-loop Python load generator (this file's `drive`) with --connections
keep-alive connections: `write`, one `event.acknowledge` (action 4, a message, 1 id, API token as
Bearer: a durable commit per call) and `read`, one `problem.get` of 20 problems with their
acknowledges. Nothing is pinned: the servers, their PostgreSQL backends and the load generator share
the machine's cores, as the processes of a real host do. Points run interleaved, bare 1, rpcserver 1,
bare 2, rpcserver 2, --reps times; the table gives each rep and the median, and the ratios of
2 processes to 1 are of medians. Every answer is checked: a JSON-RPC error or an HTTP or connection
error counts in `errors` (lock waits between workers must never reach a client).

The writer counters (calls per commit, per worker) come from bench/serve.py's SIGUSR1 line, sent to
each worker.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

BENCH = Path(__file__).resolve().parent
READY = re.compile(r"listening on http://127\.0\.0\.1:(\d+)/")
WORKER_STARTED = re.compile(r"worker (\d+) started \(pid (\d+)\)")
ADMIN_PASSWORD = "bench-workers"
PROBLEMS = 1000
LOADS = ("write", "read")
TICKS = os.sysconf("SC_CLK_TCK")


# --- the load generator (run as `workers.py drive`, a process of its own) --------------------------


def body(load: str, request_id: int, eventids: list[str]) -> bytes:
    if load == "write":
        params = {"eventids": [random.choice(eventids)], "action": 4, "message": f"bench {request_id}"}
        call = {"jsonrpc": "2.0", "method": "event.acknowledge", "params": params, "id": request_id}
    else:
        params = {"output": "extend", "selectAcknowledges": "extend", "sortfield": ["eventid"], "sortorder": "DESC", "limit": 20}
        call = {"jsonrpc": "2.0", "method": "problem.get", "params": params, "id": request_id}
    return json.dumps(call).encode()


async def connection(url: str, load: str, token: str, eventids: list[str], deadline: float, latencies: list[float],
                     errors: list[str], first_id: int) -> None:
    parts = urlsplit(url)
    try:
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    except OSError as exc:
        errors.append(f"connect: {exc}")
        return
    request_id = first_id
    try:
        while time.perf_counter() < deadline:
            request_id += 1
            data = body(load, request_id, eventids)
            head = (f"POST /api_jsonrpc HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json-rpc\r\n"
                    f"Authorization: Bearer {token}\r\nContent-Length: {len(data)}\r\n\r\n").encode()
            started = time.perf_counter()
            writer.write(head + data)
            response_head = await reader.readuntil(b"\r\n\r\n")
            length = int(re.search(rb"(?i)content-length: *(\d+)", response_head).group(1))  # type: ignore[union-attr]
            answer = await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if response_head[9:12] != b"200" or b'"error"' in answer:
                errors.append(answer[:300].decode(errors="replace"))
    except (OSError, asyncio.IncompleteReadError) as exc:
        errors.append(f"connection: {exc!r}")
    finally:
        writer.close()


async def drive_load(url: str, load: str, connections: int, seconds: float, token: str, eventids: list[str]) -> dict[str, Any]:
    latencies: list[float] = []
    errors: list[str] = []
    started = time.perf_counter()
    await asyncio.gather(*(connection(url, load, token, eventids, started + seconds, latencies, errors, n * 10**9)
                           for n in range(connections)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {"requests": len(latencies), "rps": len(latencies) / elapsed,
            "p50_ms": latencies[len(latencies) // 2] * 1000 if latencies else 0,
            "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000 if latencies else 0,
            "errors": len(errors), "first_errors": errors[:3]}


# --- servers ---------------------------------------------------------------------------------------


def python_env() -> dict[str, str]:
    # the code of the tree this script is in, whatever is installed
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(BENCH.parent), os.environ.get("PYTHONPATH")])),
            "RPCSERVER_ADMIN_PASSWORD": ADMIN_PASSWORD}


class Server:
    def __init__(self, name: str, command: list[str], workdir: Path) -> None:
        self.name = name
        self.log_path = workdir / f"{name.replace(' ', '-')}-{time.monotonic_ns()}.log"
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(command, cwd=workdir, stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, env=python_env())
        deadline = time.monotonic() + 60
        while not (match := READY.search(self.log_path.read_text())):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{name} did not start:\n{self.log_path.read_text()}")
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{match.group(1)}"

    def processes(self) -> list[int]:
        """The server's processes: it and its children (the workers)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        return [self.process.pid, *map(int, children)]

    def writer_stats(self) -> list[dict[str, int]]:
        """Per worker (or of the one process): its writer's counters, from bench/serve.py's SIGUSR1 line."""
        pids = [int(pid) for _, pid in WORKER_STARTED.findall(self.log_path.read_text())] or [self.process.pid]
        before = self.log_path.read_text().count("WRITER ")
        for pid in pids:
            os.kill(pid, signal.SIGUSR1)
        deadline = time.monotonic() + 10
        while (text := self.log_path.read_text()).count("WRITER ") < before + len(pids):
            if time.monotonic() > deadline:
                raise SystemExit(f"{self.name} did not print its writers' counters:\n{text[-2000:]}")
            time.sleep(0.02)
        lines = [line.split("WRITER ", 1)[1] for line in text.splitlines() if "WRITER " in line]
        return [json.loads(line) for line in lines[before:]]

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@contextmanager
def server(name: str, command: list[str], workdir: Path) -> Iterator[Server]:
    started = Server(name, command, workdir)
    try:
        yield started
    finally:
        started.stop()


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of the processes, all threads (those gone count 0)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / TICKS


def backends(pg_url: str, db: str) -> list[int]:
    """The PostgreSQL backends serving the database `db` (a URL), on this machine; none for a SQLite file."""
    if not db.startswith("postgresql://"):
        return []
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (urlsplit(db).path[1:],)).fetchall()
    return [pid for (pid,) in rows]


def rpcserver_command(db: str, workers: int) -> list[str]:
    return [sys.executable, str(BENCH / "serve.py"), "--db", db, "--port", "0", "--workers", str(workers),
            "--synchronous", "FULL"]


def bare_command(workers: int) -> list[str]:
    return [sys.executable, str(BENCH / "bare.py"), "--port", "0", "--workers", str(workers)]


# --- the database ----------------------------------------------------------------------------------


def rpc(url: str, method: str, params: Any, auth: str | None = None) -> Any:
    import urllib.request

    request = urllib.request.Request(
        f"{url}/api_jsonrpc", data=json.dumps({"jsonrpc": "2.0", "method": method, "params": params, "id": 1}).encode(),
        headers={"Content-Type": "application/json-rpc", **({"Authorization": f"Bearer {auth}"} if auth else {})})
    with urllib.request.urlopen(request, timeout=60) as response:
        answer = json.loads(response.read())
    if "result" not in answer:
        raise SystemExit(f"{method} failed: {answer}")
    return answer["result"]


def populate(db: str, workdir: Path) -> tuple[str, list[str]]:
    """PROBLEMS open problems and an API token of Admin's in a new database; returns (token, eventids)."""
    with server("prepare", rpcserver_command(db, 1), workdir) as prep:
        session = rpc(prep.url, "user.login", {"username": "Admin", "password": ADMIN_PASSWORD})
        events = [{"host": f"bench-{n % 50:02d}", "name": f"problem {n}", "severity": n % 6, "groups": ["Bench"]}
                  for n in range(PROBLEMS)]
        eventids = [str(eventid) for eventid in rpc(prep.url, "event.create", events, session)["eventids"]]
        tokenid = rpc(prep.url, "token.create", {"name": "bench"}, session)["tokenids"][0]
        token = rpc(prep.url, "token.generate", [tokenid], session)[0]["token"]
    return token, eventids


@contextmanager
def database(store: str, workdir: Path, pg_url: str) -> Iterator[str]:
    if store == "sqlite":
        path = workdir / f"workers-{uuid.uuid4().hex[:8]}.db"
        yield str(path)
        return
    import psycopg

    name = f"rpcserver_bench_workers_{os.getpid()}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield urlunsplit(urlsplit(pg_url)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


# --- the run ---------------------------------------------------------------------------------------


def drive(url: str, load: str, args: argparse.Namespace, token: str, eventids: list[str]) -> dict[str, Any]:
    env = {**os.environ, "BENCH_TOKEN": token, "BENCH_EVENTIDS": ",".join(eventids)}
    out = subprocess.run([sys.executable, __file__, "drive", url, load, "-c", str(args.connections), "-d", str(args.duration)],
                         capture_output=True, text=True, env=env, timeout=args.duration + 120)
    line = next((line for line in out.stdout.splitlines() if line.startswith("BENCH ")), None)
    if line is None:
        raise SystemExit(f"load generator failed:\n{out.stdout}\n{out.stderr}")
    return json.loads(line[len("BENCH "):])


def measure_store(store: str, args: argparse.Namespace, workdir: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with database(store, workdir, args.pg_url) as db:
        token, eventids = populate(db, workdir)
        for load in LOADS:
            results: dict[tuple[str, int], list[dict[str, Any]]] = {}
            stats: dict[int, list[dict[str, int]]] = {}
            for _ in range(args.reps):
                for workers in (1, 2):
                    for kind in ("bare", "rpcserver"):
                        command = bare_command(workers) if kind == "bare" else rpcserver_command(db, workers)
                        with server(f"{kind} {workers}", command, workdir) as target:
                            pids = target.processes()
                            database_pids = backends(args.pg_url, db) if kind == "rpcserver" else []
                            cpu_before, database_before = cpu_seconds(pids), cpu_seconds(database_pids)
                            result = drive(target.url, load, args, token, eventids)
                            requests = max(1, result["requests"])
                            result["cpu_us"] = (cpu_seconds(pids) - cpu_before) / requests * 1e6
                            result["database_cpu_us"] = (cpu_seconds(database_pids) - database_before) / requests * 1e6
                            results.setdefault((kind, workers), []).append(result)
                            if kind == "rpcserver":
                                stats.setdefault(workers, []).extend(target.writer_stats())
            for (kind, workers), reps in results.items():
                units = sum(s["units"] for s in stats.get(workers, [])) if kind == "rpcserver" else 0
                commits = sum(s["commits"] for s in stats.get(workers, [])) if kind == "rpcserver" else 0
                rows.append({"store": store, "load": load, "server": kind, "workers": workers,
                             "rps": [round(r["rps"]) for r in reps], "median": statistics.median(r["rps"] for r in reps),
                             "p50_ms": statistics.median(r["p50_ms"] for r in reps),
                             "p99_ms": statistics.median(r["p99_ms"] for r in reps),
                             "cpu_us": statistics.median(r["cpu_us"] for r in reps),
                             "database_cpu_us": statistics.median(r["database_cpu_us"] for r in reps),
                             "errors": sum(r["errors"] for r in reps),
                             "first_errors": [e for r in reps for e in r["first_errors"]][:3],
                             "calls_per_commit": round(units / commits, 1) if commits else None})
            print_rows([row for row in rows if row["load"] == load and row["store"] == store])
    return rows


def print_rows(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        name = "bare aiohttp+orjson" if row["server"] == "bare" else f"rpcserver {row['store']}"
        per_commit = "" if row["calls_per_commit"] is None else row["calls_per_commit"]
        cpu = f"{row['cpu_us']:.0f}" + (f" ({row['database_cpu_us']:.0f})" if row["database_cpu_us"] else "")
        print(f"| {row['load']} | {name} | {row['workers']} | {' / '.join(map(str, row['rps']))} | {row['median']:.0f} "
              f"| {row['p50_ms']:.2f} | {row['p99_ms']:.2f} | {cpu} | {per_commit} | {row['errors']} |", flush=True)
        for error in row["first_errors"]:
            print(f"    error: {error}", flush=True)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "drive":
        parser = argparse.ArgumentParser(prog="workers.py drive")
        parser.add_argument("url")
        parser.add_argument("load", choices=LOADS)
        parser.add_argument("-c", "--connections", type=int, default=16)
        parser.add_argument("-d", "--seconds", type=float, default=5)
        args = parser.parse_args(sys.argv[2:])
        result = asyncio.run(drive_load(args.url, args.load, args.connections, args.seconds, os.environ["BENCH_TOKEN"],
                                        os.environ["BENCH_EVENTIDS"].split(",")))
        print("BENCH " + json.dumps(result), flush=True)
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--duration", type=float, default=5, help="seconds per point")
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/rpcserver-bench-workers"))
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", "postgresql://root@127.0.0.1:5432/postgres"))
    args = parser.parse_args()
    shutil.rmtree(args.workdir, ignore_errors=True)
    args.workdir.mkdir(parents=True)
    started = time.monotonic()
    load_before = os.getloadavg()[0]
    print(f"{os.cpu_count()} CPUs, nothing pinned: servers, PostgreSQL and the load generator share them; "
          f"load average {load_before:.2f}; {args.connections} connections, {args.reps} reps x {args.duration:g} s per point")
    print("| load | server | processes | req/s (each rep) | req/s median | p50 ms | p99 ms "
          "| server CPU µs/req (PostgreSQL's) | calls per commit | errors |")
    print("|---|---|---:|---|---:|---:|---:|---:|---:|---:|")
    rows = []
    for store in ("sqlite", "postgresql") if args.store == "both" else (args.store,):
        rows += measure_store(store, args, args.workdir)
    print(f"\nratios, 2 processes / 1 (medians); {time.monotonic() - started:.0f} s, "
          f"load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after")
    by_key = {(row["store"], row["load"], row["server"], row["workers"]): row["median"] for row in rows}
    for store, load, kind, workers in by_key:
        if workers == 2:
            ratio = by_key[(store, load, kind, 2)] / by_key[(store, load, kind, 1)]
            vs_bare = by_key[(store, load, kind, 2)] / by_key[(store, load, "bare", 2)]
            print(f"{store:10} {load:5} {kind:9} x{ratio:.2f}" + (f"  (2 workers: {vs_bare:.2f} of bare's 2)" if kind != "bare" else ""))


if __name__ == "__main__":
    main()
