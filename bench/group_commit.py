"""What group commit buys on each store: durable one-row writes through rpcserver's writer, with and without it.

    python bench/group_commit.py [--seconds 5] [--reps 2] [--store sqlite|postgresql|both]

`Storage.write` of a one-row unit (a `hosts` row: one unique index, nothing to read first) by
1, 16 and 64 concurrent callers, for a few seconds each, on a fresh empty database per store (SQLite with
synchronous=FULL, PostgreSQL with synchronous_commit on; dropped after), once with the writer as the server
has it and once with one unit per transaction (`max_batch=1`). Prints writes per second and units per
commit: what the commit itself costs, without the acknowledge's own SQL. In-process, pinned to CPU 0
(PostgreSQL's backend too), the client's cost being one await per write.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg

import rpcserver.storage as storage_module
from rpcserver.storage import Storage, is_postgresql_url
from rpcserver.storage._writer import GroupCommitWriter

CALLERS = (1, 16, 64)
CPU = 0


HOST_NUMBERS = itertools.count()
"""Unique host names across every run of this process (the databases are kept between runs)."""


def one_row(db: Any, number: int) -> None:
    db.execute("INSERT INTO hosts (host, name) VALUES (?, ?)", (f"host-{number}", "bench"))


async def writes_per_second(db: str, max_batch: int | None, callers: int, seconds: float) -> tuple[float, float]:
    """(writes per second, units per commit) of `callers` writing in a loop for `seconds`."""
    extra = {} if max_batch is None else {"max_batch": max_batch}
    storage_module.GroupCommitWriter = lambda run_batch: GroupCommitWriter(run_batch, **extra)  # type: ignore[assignment,misc]
    storage = await Storage.open(db, readers=0)
    try:
        for pid in postgres_backends(db):
            os.sched_setaffinity(pid, {CPU})
        deadline = time.monotonic() + seconds
        count = 0

        async def caller() -> None:
            nonlocal count
            while time.monotonic() < deadline:
                await storage.write(one_row, next(HOST_NUMBERS))
                count += 1

        before = (storage.stats.units, storage.stats.commits)
        started = time.monotonic()
        await asyncio.gather(*(caller() for _ in range(callers)))
        elapsed = time.monotonic() - started
        units, commits = storage.stats.units - before[0], storage.stats.commits - before[1]
        return count / elapsed, units / max(1, commits)
    finally:
        await storage.close()
        storage_module.GroupCommitWriter = GroupCommitWriter  # type: ignore[misc]


def postgres_backends(db: str) -> list[int]:
    if not is_postgresql_url(db):
        return []
    with psycopg.connect(db, autocommit=True) as conn:
        return [pid for (pid,) in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'rpcserver'")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--store", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", "postgresql://root@127.0.0.1:5432/postgres"))
    args = parser.parse_args()
    if len(os.sched_getaffinity(0)) >= 2:
        os.sched_setaffinity(0, {CPU})
    scratch = Path(tempfile.mkdtemp(prefix="rpcserver-group-commit-"))
    pg_name = f"rpcserver_bench_{os.getpid()}_commit"
    dbs = {}
    if args.store in ("sqlite", "both"):
        dbs["SQLite"] = str(scratch / "commit.db")
    admin = None
    if args.store in ("postgresql", "both"):
        admin = psycopg.connect(args.pg_url, autocommit=True)
        admin.execute(f"CREATE DATABASE {pg_name}")
        dbs["PostgreSQL"] = f"{args.pg_url.rsplit('/', 1)[0]}/{pg_name}"
    print("| store | callers | writer | writes/s (each rep) | median | units per commit |")
    print("|---|---:|---|---|---:|---:|")
    try:
        for label, db in dbs.items():
            for callers in CALLERS:
                for writer, max_batch in (("group commit", None), ("1 unit per commit", 1)):
                    runs = [asyncio.run(writes_per_second(db, max_batch, callers, args.seconds)) for _ in range(args.reps)]
                    rates = [rate for rate, _ in runs]
                    print(f"| {label} | {callers} | {writer} | {' / '.join(f'{r:.0f}' for r in rates)} | "
                          f"{statistics.median(rates):.0f} | {statistics.median(u for _, u in runs):.1f} |", flush=True)
    finally:
        shutil.rmtree(scratch)
        if admin is not None:
            admin.execute(f"DROP DATABASE IF EXISTS {pg_name} WITH (FORCE)")
            admin.close()


if __name__ == "__main__":
    main()
