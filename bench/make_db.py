"""Build the benchmark database: rpcserver's own schema holding 1,000,000 events, in seconds.

The schema comes from `rpcserver.storage.Storage` (migrations) and the `Admin` from the server's
bootstrap; everything else is bulk SQL (recursive CTEs), with the big tables' indexes dropped
during the load and recreated from their own definitions afterwards.

Shape (N events, N divisible by 5): every 5th event (eventid % 5 == 0) is a recovery that
resolves the problem just before it, so 4/5 of the events are problems and 1/5 of those are
resolved. 1,000 hosts in 10 host groups, 10 triggers per host. Every 10th event carries a
comment (an acknowledges row with action 4); none is acknowledged yet. Two API tokens: `bench`, an Admin-role user with read-write
rights on the 10 groups (every call is permission-checked), and the super admin `Admin`.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import sqlite3
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rpcserver.bootstrap import bootstrap
from rpcserver.config import Config
from rpcserver.storage import Storage

HOSTS, GROUPS, TRIGGERS_PER_HOST = 1000, 10, 10
BENCH_TOKEN = "b" * 64
ADMIN_TOKEN = "a" * 64
ADMIN_ROLE = 2
CLOCK_START = 1_700_000_000
"""Event i happens at CLOCK_START + i seconds."""
BULK_TABLES = ("events", "problem", "event_recovery", "acknowledges")


def problem_eventid(n: int) -> int:
    """The n-th problem event (0-based): the ids that are not multiples of 5."""
    return (n // 4) * 5 + n % 4 + 1


def is_open_problem(eventid: int) -> bool:
    return eventid % 5 in (1, 2, 3)


def sequence(count: int) -> str:
    """A CTE `n(i)` of 1..count."""
    return f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count}) "


def _identity(conn: sqlite3.Connection) -> None:
    conn.executemany("INSERT INTO hstgrp (name) VALUES (?)", [(f"Bench group {g}",) for g in range(GROUPS)])
    groupids = [row[0] for row in conn.execute("SELECT groupid FROM hstgrp WHERE name LIKE 'Bench group %' ORDER BY groupid")]
    conn.execute(sequence(HOSTS) + "INSERT INTO hosts (hostid, host, name) SELECT i, 'host-' || i, 'Host ' || i FROM n")
    conn.executemany(
        "INSERT INTO hosts_groups (hostid, groupid) SELECT hostid, ? FROM hosts WHERE hostid % ? = ?",
        [(groupid, GROUPS, index) for index, groupid in enumerate(groupids)],
    )
    conn.execute(
        sequence(HOSTS * TRIGGERS_PER_HOST)
        + f"INSERT INTO triggers (triggerid, hostid, description, priority, manual_close, value)"
        f" SELECT i, (i - 1) / {TRIGGERS_PER_HOST} + 1, 'Trigger ' || i, i % 6, i % 2, 1 FROM n"
    )
    usrgrpid = conn.execute("INSERT INTO usrgrp (name) VALUES ('Bench operators')").lastrowid
    conn.executemany("INSERT INTO rights (groupid, permission, id) VALUES (?, 3, ?)", [(usrgrpid, g) for g in groupids])
    userid = conn.execute(
        "INSERT INTO users (username, name, roleid, autologout) VALUES ('bench', 'Bench', ?, '0')", (ADMIN_ROLE,)
    ).lastrowid
    conn.execute("INSERT INTO users_groups (usrgrpid, userid) VALUES (?, ?)", (usrgrpid, userid))
    for name, owner, secret in (("bench", userid, BENCH_TOKEN), ("bench-admin", 1, ADMIN_TOKEN)):
        conn.execute(
            "INSERT INTO token (name, userid, token, created_at, creator_userid) VALUES (?, ?, ?, ?, 1)",
            (name, owner, hashlib.sha512(secret.encode()).hexdigest(), CLOCK_START),
        )


def _events(conn: sqlite3.Connection, count: int) -> None:
    trigger = f"((i / 5) % {HOSTS * TRIGGERS_PER_HOST} + 1)"  # a problem and its recovery share a trigger
    conn.execute(
        sequence(count)
        + "INSERT INTO events (eventid, source, object, objectid, clock, value, name, severity)"
        f" SELECT i, 0, 0, {trigger}, {CLOCK_START} + i, i % 5 <> 0,"
        f" CASE WHEN i % 5 = 0 THEN 'Trigger ' || {trigger} || ' resolved' ELSE 'Trigger ' || {trigger} END,"
        f" CASE WHEN i % 5 = 0 THEN 0 ELSE {trigger} % 6 END FROM n"
    )
    conn.execute(
        "INSERT INTO problem (eventid, source, object, objectid, clock, r_eventid, r_clock, name, severity)"
        " SELECT e.eventid, 0, 0, e.objectid, e.clock, CASE WHEN e.eventid % 5 = 4 THEN e.eventid + 1 END,"
        " CASE WHEN e.eventid % 5 = 4 THEN e.clock + 1 ELSE 0 END, e.name, e.severity"
        " FROM events e WHERE e.value = 1"
    )
    conn.execute("INSERT INTO event_recovery (eventid, r_eventid) SELECT eventid - 1, eventid FROM events WHERE value = 0")
    conn.execute(
        "INSERT INTO acknowledges (userid, eventid, clock, message, action)"
        " SELECT 1, eventid, clock + 60, 'Looking into it.', 4 FROM events WHERE eventid % 10 = 1"
    )


def _drop_indexes(conn: sqlite3.Connection) -> list[str]:
    """Drop the bulk tables' indexes; return their CREATE statements."""
    marks = ",".join("?" * len(BULK_TABLES))
    rows = conn.execute(
        f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ({marks})",
        BULK_TABLES,
    ).fetchall()
    for name, _ in rows:
        conn.execute(f"DROP INDEX {name}")
    return [sql for _, sql in rows]


async def _create_schema(path: Path) -> None:
    storage = await Storage.open(path)
    try:
        await bootstrap(storage, Config(db=path, admin_password="zabbix", password_cost=4), CLOCK_START)
    finally:
        await storage.close()


def build(path: Path, count: int) -> None:
    """Create `path` (replacing it) holding `count` events."""
    if count % 5:
        raise ValueError("the event count must be a multiple of 5")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    asyncio.run(_create_schema(path))
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        # A scratch build: no journal while loading, WAL again (as rpcserver runs it) at the end.
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA cache_size = -262144")
        conn.execute("BEGIN")
        indexes = _drop_indexes(conn)
        _identity(conn)
        _events(conn, count)
        for sql in indexes:
            conn.execute(sql)
        conn.execute("COMMIT")
        conn.execute("PRAGMA journal_mode = WAL")
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    started = time.perf_counter()
    build(args.path, args.events)
    size = args.path.stat().st_size / 2**20
    print(f"{args.path}: {args.events:,} events, {size:.0f} MiB, {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
