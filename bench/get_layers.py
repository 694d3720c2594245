"""Where one problem.get of run.py's part 3 spends its time, in-process: layer by layer, next to the raw SQL.

    python bench/get_layers.py          # from the clone's root, with the venv's Python; about 30 s

The call is run.py's (`output: extend, selectAcknowledges: extend, sortfield: eventid DESC, limit
100`) over the benchmark database (built by bench/make_db.py unless --db names one). Every figure is
CPU µs per call of the whole process (threads included), the median of rounds, on CPU 0 when there
are two; the SQL lines run the statements the read runs (recorded from it) alone, hop included. One reader
connection, as the calls come one at a time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

import make_db  # noqa: E402
import orjson  # noqa: E402
from layers import cpu_per_call, sync  # noqa: E402
from run import PROBLEM_GET, raw_problem_get  # noqa: E402

from methods import METHODS  # noqa: E402
from rpcserver.config import Config  # noqa: E402
from rpcserver.dispatch import Dispatcher, RequestScope  # noqa: E402
from rpcserver.storage import Storage  # noqa: E402
from rpcserver.transport import Endpoint, Outcome  # noqa: E402
from schemas.problem import ProblemGetParams  # noqa: E402


def body(method: str, params: Any) -> bytes:
    return orjson.dumps({"jsonrpc": "2.0", "method": method, "params": params, "id": 1})


async def layers(db: Path) -> list[tuple[str, float]]:
    storage = await Storage.open(db, synchronous="FULL", readers=1)
    config = Config(db=db)
    dispatcher = Dispatcher(METHODS, storage, time.time, config)
    endpoint = Endpoint(dispatcher, config)
    get, apiinfo = body("problem.get", PROBLEM_GET), body("apiinfo.version", {})
    answer = await endpoint.process(get, RequestScope(make_db.ADMIN_TOKEN, "bench", ""), Outcome())
    decoded = orjson.loads(answer)
    # the statements the read runs, as executed (parameters inlined by SQLite's trace)
    statements: list[str] = []
    await storage.read(lambda conn: conn.set_trace_callback(statements.append))
    await endpoint.process(get, RequestScope(make_db.ADMIN_TOKEN, "bench", ""), Outcome())
    await storage.read(lambda conn: conn.set_trace_callback(None))
    sql = [text for text in statements if text.lstrip().upper().startswith("SELECT")]
    raw = sqlite3.connect(db)
    schema = ProblemGetParams()

    def call(token: str | None, payload: bytes) -> Any:
        return lambda: endpoint.process(payload, RequestScope(token, "bench", ""), Outcome())

    measured = [
        ("endpoint, apiinfo.version (our layers without auth, schema or SQL)", call(None, apiinfo)),
        ("endpoint, problem.get, super admin", call(make_db.ADMIN_TOKEN, get)),
        ("endpoint, problem.get, permission-checked user", call(make_db.BENCH_TOKEN, get)),
        ("params schema (ProblemGetParams.load_params)", sync(lambda: schema.load_params(PROBLEM_GET))),
        ("storage.read of a no-op (the hop to a reader thread and back)", lambda: storage.read(lambda conn: None)),
        *((f"SQL alone, through storage.read: {' '.join(text.split())[:50]}...",
           lambda text=text: storage.read(lambda conn: conn.execute(text).fetchall())) for text in sql),
        ("JSON encoding of the answer (orjson)", sync(lambda: orjson.dumps(decoded))),
        ("raw SQL (run.py's yardstick, plain sqlite3 on this thread)", sync(lambda: raw_problem_get(raw, None))),
    ]
    try:
        return [(name, await cpu_per_call(fn)) for name, fn in measured]
    finally:
        raw.close()
        await storage.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, help="a database bench/make_db.py built (default: build one in --workdir)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/rpcserver-bench"))
    args = parser.parse_args()
    if len(os.sched_getaffinity(0)) >= 2:
        os.sched_setaffinity(0, {0})
    db = args.db
    if db is None:
        args.workdir.mkdir(parents=True, exist_ok=True)
        db = args.workdir / "get-layers.db"
        make_db.build(db, args.events)
    print("problem.get in-process: CPU µs per call (median of rounds)\n")
    print("| layer | µs |\n|---|---:|")
    for name, micros in asyncio.run(layers(db)):
        print(f"| {name} | {micros:.0f} |")


if __name__ == "__main__":
    main()
