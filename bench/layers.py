"""Where a single event.acknowledge spends its time: CPU per layer, and every SQL statement of its unit.

    python bench/layers.py              # from the clone's root, with the venv's Python; about a minute

Part 1 times each layer of the request path in-process (CPU µs per call, median of rounds), on
CPU 0 when there are two. Part 2 records the statements one real acknowledge (action 6, one open
problem, through the endpoint) runs on the writer connection, then times each one alone on a copy
of the database (inside a transaction that is rolled back) and shows the first steps of its plan.
It reads only public entry points (the endpoint, Storage), so it follows the code as it changes.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import shutil
import sqlite3
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

import make_db  # noqa: E402
import orjson  # noqa: E402

from methods import METHODS  # noqa: E402
from rpcserver import auth  # noqa: E402
from rpcserver.config import Config  # noqa: E402
from rpcserver.dispatch import Dispatcher, RequestScope  # noqa: E402
from rpcserver.envelope import parse_call  # noqa: E402
from rpcserver.storage import Storage  # noqa: E402
from rpcserver.transport import Endpoint, Outcome  # noqa: E402
from schemas.event import EventAcknowledgeParams  # noqa: E402

ROUNDS = 5
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "PRAGMA")


def ack_body(eventid: int) -> bytes:
    return (b'{"jsonrpc":"2.0","method":"event.acknowledge","params":{"eventids":["%d"],"action":6,'
            b'"message":"Problem resolved."},"id":1}' % eventid)


def open_problem(rng: random.Random, problems: int) -> int:
    while not make_db.is_open_problem(eventid := make_db.problem_eventid(rng.randrange(problems))):
        pass
    return eventid


async def cpu_per_call(fn: Callable[[], Awaitable[Any]], budget: float = 0.3) -> float:
    """Median over rounds of CPU µs per call (the whole process: threads a call uses count too);
    each round calls `fn` until `budget` seconds have passed, at least once."""
    await fn()
    rounds = []
    for _ in range(ROUNDS):
        calls, started, deadline = 0, time.process_time(), time.perf_counter() + budget
        while calls == 0 or time.perf_counter() < deadline:
            await fn()
            calls += 1
        rounds.append((time.process_time() - started) / calls * 1e6)
    return statistics.median(rounds)


def sync(fn: Callable[[], Any]) -> Callable[[], Awaitable[Any]]:
    async def run() -> Any:
        return fn()

    return run


async def layers(db: Path, problems: int) -> list[tuple[str, float]]:
    storage = await Storage.open(db, synchronous="FULL")
    config = Config(db=db)
    dispatcher = Dispatcher(METHODS, storage, time.time, config)
    endpoint = Endpoint(dispatcher, config)
    now = int(time.time())
    token = auth.Credential(make_db.BENCH_TOKEN, from_header=True)
    body = ack_body(12)
    response = {"jsonrpc": "2.0", "result": {"eventids": ["12"]}, "id": 1}
    schema = EventAcknowledgeParams()
    params = orjson.loads(body)["params"]
    log_file = open(os.devnull, "w")
    handler = logging.StreamHandler(log_file)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger = logging.getLogger("bench.layers")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    rng = random.Random(1)

    async def apiinfo() -> Any:
        return await endpoint.process(b'{"jsonrpc":"2.0","method":"apiinfo.version","params":{},"id":1}',
                                      RequestScope(None, "bench", ""), Outcome())

    async def acknowledge(credential: str) -> Any:
        return await endpoint.process(ack_body(open_problem(rng, problems)), RequestScope(credential, "bench", ""), Outcome())

    def log_line() -> None:
        logger.info("req=%s %s %s -> %s %.1fms", "0123abcd", "/api_jsonrpc", "event.acknowledge", "ok", 1.0)

    measured = [
        ("orjson: decode the request, encode the response", sync(lambda: orjson.dumps(response) and orjson.loads(body))),
        ("envelope (parse_call)", sync(lambda: parse_call(orjson.loads(body)))),
        ("endpoint, apiinfo.version (envelope, dispatch, jsonrpcserver; no auth, no DB)", apiinfo),
        ("auth, cached (auth.Callers: in memory, the generation read at most every 0.5 s)",
         lambda: dispatcher._callers.authenticate(token, now)),
        ("auth, uncached (auth.authenticate: a reader thread, five queries)", lambda: auth.authenticate(storage, token, now)),
        ("params schema (EventAcknowledgeParams.load_params)", sync(lambda: schema.load_params(params))),
        ("one log line (INFO, formatted, written to /dev/null)", sync(log_line)),
        ("storage.write of a no-op unit (writer thread, empty commit)", lambda: storage.write(lambda conn: None)),
        ("endpoint, event.acknowledge, super admin, one at a time", lambda: acknowledge(make_db.ADMIN_TOKEN)),
        ("endpoint, event.acknowledge, permission-checked user, one at a time", lambda: acknowledge(make_db.BENCH_TOKEN)),
    ]
    try:
        rows = [(name, await cpu_per_call(fn)) for name, fn in measured]
    finally:
        await storage.close()
        log_file.close()
    return rows


async def unit_statements(db: Path, credential: str, eventid: int) -> list[str]:
    """The statements one event.acknowledge runs on the writer connection (transaction control left out)."""
    storage = await Storage.open(db, synchronous="FULL")
    config = Config(db=db)
    dispatcher = Dispatcher(METHODS, storage, time.time, config)
    endpoint = Endpoint(dispatcher, config)
    seen: list[str] = []
    try:
        # resolved (and lastaccess written) first, so the traced call is an ordinary one
        await endpoint.process(b'{"jsonrpc":"2.0","method":"apiinfo.version","params":{},"id":1}', RequestScope(None, "", ""), Outcome())
        await dispatcher._callers.authenticate(auth.Credential(credential, True), int(time.time()))
        await storage.write(lambda conn: conn.set_trace_callback(seen.append))
        answer = orjson.loads(await endpoint.process(ack_body(eventid), RequestScope(credential, "bench", ""), Outcome()))
        await storage.write(lambda conn: conn.set_trace_callback(None))
        if "result" not in answer:
            raise SystemExit(f"event.acknowledge failed: {answer}")
    finally:
        await storage.close()
    return [sql for sql in seen if not sql.lstrip().upper().startswith(TRANSACTION_CONTROL)
            and "set_trace_callback" not in sql]


def time_statement(conn: sqlite3.Connection, sql: str) -> float:
    """Median µs of `sql` run alone in a rolled-back transaction (up to 20 runs or ~1 s)."""
    runs: list[float] = []
    spent = 0.0
    while len(runs) < 20 and (spent < 1.0 or len(runs) < 3):
        conn.execute("BEGIN IMMEDIATE")
        started = time.perf_counter()
        conn.execute(sql).fetchall()
        runs.append(time.perf_counter() - started)
        conn.execute("ROLLBACK")
        spent += runs[-1]
    return statistics.median(runs) * 1e6


def plan(conn: sqlite3.Connection, sql: str) -> str:
    steps = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql)]
    return "; ".join(steps[:2]) + ("; ..." if len(steps) > 2 else "")


def short(sql: str, width: int = 110) -> str:
    flat = " ".join(sql.split())
    return flat if len(flat) <= width else flat[: width - 3] + "..."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/rpcserver-bench"))
    args = parser.parse_args()
    if len(os.sched_getaffinity(0)) >= 2:
        os.sched_setaffinity(0, {0})
    args.workdir.mkdir(parents=True, exist_ok=True)
    template, db, copy = (args.workdir / name for name in ("layers-template.db", "layers.db", "layers-copy.db"))
    make_db.build(template, args.events)
    problems = args.events * 4 // 5
    shutil.copyfile(template, db)

    print("1. CPU per call, in-process (µs, median of rounds)\n")
    print("| layer | µs |\n|---|---:|")
    for name, micros in asyncio.run(layers(db, problems)):
        print(f"| {name} | {micros:.1f} |")

    eventid = open_problem(random.Random(2), problems)
    for who, credential in (("permission-checked user", make_db.BENCH_TOKEN), ("super admin", make_db.ADMIN_TOKEN)):
        shutil.copyfile(template, db)
        for suffix in ("-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        statements = asyncio.run(unit_statements(db, credential, eventid))
        shutil.copyfile(template, copy)
        conn = sqlite3.connect(copy, isolation_level=None)
        conn.execute("PRAGMA foreign_keys = ON")
        timed = [(time_statement(conn, sql), sql) for sql in statements]
        print(f"\n2. the SQL of one acknowledge unit, {who} (event {eventid}; each statement alone)\n")
        print("| µs | statement | plan (first steps) |\n|---:|---|---|")
        for micros, sql in timed:
            print(f"| {micros:,.0f} | `{short(sql)}` | {plan(conn, sql)} |")
        print(f"| **{sum(m for m, _ in timed):,.0f}** | total of {len(timed)} statements | |")
        conn.close()


if __name__ == "__main__":
    main()
