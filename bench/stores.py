"""The two stores as bench/run.py drives them: the database a server is given, and raw SQL on a copy of it.

Each store holds two copies of make_db.py's database: `served` (the server's `--db`) and `raw` (where
the raw yardsticks write, so both start from the same rows). SQLite: two files. PostgreSQL: the SQLite
file copied in by `rpcserver copy`, vacuumed and analyzed (as a restored database would be), then
cloned as a template for the raw copy; both dropped by `close`. Raw connections write as the server
does: SQLite in WAL with synchronous=FULL, PostgreSQL with synchronous_commit on.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

BENCH = Path(__file__).resolve().parent

Changes = dict[str, tuple[list[str], list[tuple[Any, ...]]]]
"""What one call wrote: per table, its columns and the rows it added (an acknowledge changes no existing row)."""

# The hand-written problem.get of part 3: the newest 100 unresolved problems with what problem.get's
# `extend` shows (the trigger's opdata, whether suppressed now, whether acknowledged now: an
# acknowledgement span without an end or ending later, the server's one rule, written out here so the
# yardstick stays independent of it), then their acknowledgements. One text per store, the same SQL:
# PostgreSQL's differs only where SQLite's is not valid there (placeholders, EXISTS as 0/1, the id list).
RAW_PROBLEMS = (
    "SELECT p.*, coalesce((SELECT t.opdata FROM triggers t WHERE t.triggerid = p.objectid), ''),"
    " {exists}(SELECT 1 FROM event_suppress es WHERE es.eventid = p.eventid"
    "  AND (es.suppress_until = 0 OR es.suppress_until > {now})){as_int},"
    " {exists}(SELECT 1 FROM acknowledgement ak WHERE ak.eventid = p.eventid"
    "  AND (ak.acknowledged_until IS NULL OR ak.acknowledged_until > {now})){as_int}"
    " FROM problem p WHERE p.source = 0 AND p.object = 0 AND p.r_eventid IS NULL"
    "{permitted} ORDER BY p.eventid DESC LIMIT 100"
)
RAW_PERMITTED = (
    " AND p.objectid IN (SELECT t.triggerid FROM triggers t WHERE t.hostid IN ("
    "SELECT hg.hostid FROM hosts_groups hg JOIN rights r ON r.id = hg.groupid"
    " JOIN users_groups ug ON ug.usrgrpid = r.groupid WHERE ug.userid = {userid} AND r.permission >= 2))"
)
RAW_ACKNOWLEDGES = "SELECT a.* FROM acknowledges a WHERE a.eventid {in_ids} ORDER BY a.clock DESC, a.acknowledgeid DESC"


def raw_problems_sql(placeholder: str, checked: bool, postgresql: bool) -> str:
    """The problems' SQL for a permission-checked user or the super admin, with named `placeholder`s."""
    names = {name: placeholder.format(name) for name in ("now", "userid")}
    permitted = RAW_PERMITTED.format(userid=names["userid"]) if checked else ""
    return RAW_PROBLEMS.format(exists="(EXISTS " if postgresql else "EXISTS ", as_int=")::int" if postgresql else "",
                               now=names["now"], permitted=permitted)


# --- SQLite --------------------------------------------------------------------------------------


class RawSqlite:
    """sqlite3 as rpcserver's writer has it: WAL, foreign keys, synchronous=FULL."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("PRAGMA foreign_keys = ON")
        self.conn.execute("PRAGMA synchronous = FULL")
        self.problems_sql = {checked: raw_problems_sql(":{}", checked, False) for checked in (False, True)}
        self.acknowledges_sql = RAW_ACKNOWLEDGES.format(in_ids="IN (SELECT value FROM json_each(?))")

    def close(self) -> None:
        self.conn.close()

    def backend_pids(self) -> list[int]:
        return []  # sqlite3 runs in this process

    def apply(self, changes: Changes) -> None:
        """The same rows, written with plain sqlite3 in one transaction."""
        self.conn.execute("BEGIN IMMEDIATE")
        for table, (columns, rows) in changes.items():
            self.conn.executemany(f"INSERT INTO {table} ({','.join(columns)}) VALUES ({','.join('?' * len(columns))})", rows)
        self.conn.execute("COMMIT")

    def problem_get(self, userid: int | None) -> list[Any]:
        sql = self.problems_sql[userid is not None]
        problems = self.conn.execute(sql, {"userid": userid, "now": int(time.time())}).fetchall()
        ids = json.dumps([row[0] for row in problems])
        return [problems, self.conn.execute(self.acknowledges_sql, (ids,)).fetchall()]


def highest_acknowledgeid(db: Path | str) -> int:
    """The highest acknowledgeid in the SQLite database `db` (0 for none), read without writing: how many
    acknowledges a server has stored, rpcserver's or the stand-in's (bench/ack_floor.py)."""
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        return int(conn.execute("SELECT MAX(acknowledgeid) FROM acknowledges").fetchone()[0] or 0)


class StandinStore:
    """The workplace's stand-in's database (its make_db.py builds it), as far as `run.drained` looks at it."""

    def __init__(self, path: Path) -> None:
        self.db = str(path)

    @classmethod
    def built(cls, standin: Path, path: Path, events: int) -> StandinStore:
        """A new database of `events` events at `path`, built by the make_db.py beside `standin` (its standin.py)."""
        subprocess.run([sys.executable, str(standin.parent / "make_db.py"), str(path), str(events)],
                       check=True, stdout=subprocess.DEVNULL)
        return cls(path)

    def count_acknowledges(self) -> int:
        return highest_acknowledgeid(self.db)


class SqliteStore:
    name = "sqlite"
    label = "SQLite"

    def __init__(self, workdir: Path, template: Path) -> None:
        self.served, self.raw_path = workdir / "server.db", workdir / "raw.db"
        for copy in (self.served, self.raw_path):
            for suffix in ("-wal", "-shm"):
                Path(f"{copy}{suffix}").unlink(missing_ok=True)
            shutil.copyfile(template, copy)

    @property
    def db(self) -> str:
        return str(self.served)

    def _read(self) -> sqlite3.Connection:
        return sqlite3.connect(f"file:{self.served}?mode=ro", uri=True)

    def count_acknowledges(self) -> int:
        return highest_acknowledgeid(self.served)

    def mark(self) -> dict[str, int]:
        """Every table's highest rowid."""
        with closing(self._read()) as conn:
            tables = [name for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
            return {table: conn.execute(f"SELECT coalesce(max(rowid), 0) FROM {table}").fetchone()[0] for table in tables}

    def changes_since(self, mark: dict[str, int]) -> Changes:
        changes = {}
        with closing(self._read()) as conn:
            for table, last in mark.items():
                cursor = conn.execute(f"SELECT * FROM {table} WHERE rowid > ?", (last,))
                if rows := cursor.fetchall():
                    changes[table] = ([column[0] for column in cursor.description], rows)
        return changes

    def raw(self) -> RawSqlite:
        return RawSqlite(self.raw_path)

    def backend_pids(self) -> list[int]:
        return []  # SQLite runs inside the server's process

    def close(self) -> None:
        pass  # the files stay in the workdir for a look afterwards, replaced by the next run


# --- PostgreSQL ----------------------------------------------------------------------------------


class RawPostgres:
    """psycopg on the raw copy, autocommit (as sqlite3 with isolation_level=None), synchronous_commit on."""

    def __init__(self, url: str) -> None:
        import psycopg

        self.conn = psycopg.connect(url, autocommit=True, application_name="rpcserver-bench-raw")
        self.conn.execute("SET synchronous_commit = on")
        self.problems_sql = {checked: raw_problems_sql("%({})s", checked, True) for checked in (False, True)}
        self.acknowledges_sql = RAW_ACKNOWLEDGES.format(in_ids="= ANY(%s)")

    def close(self) -> None:
        self.conn.close()

    def backend_pids(self) -> list[int]:
        return [self.conn.info.backend_pid]

    def apply(self, changes: Changes) -> None:
        """The same new rows, written with plain psycopg in one transaction. `changes_since` also finds
        rows updated since the mark (a token's lastaccess, refreshed by the calls): those are in the raw
        copy already, and skipped, as SQLite's `changes_since` (new rowids only) never finds them."""
        with self.conn.transaction(), self.conn.cursor() as cursor:
            for table, (columns, rows) in changes.items():
                cursor.executemany(f"INSERT INTO {table} ({','.join(columns)}) VALUES ({','.join(['%s'] * len(columns))})"
                                   " ON CONFLICT DO NOTHING", rows)

    def problem_get(self, userid: int | None) -> list[Any]:
        sql = self.problems_sql[userid is not None]
        problems = self.conn.execute(sql, {"userid": userid, "now": int(time.time())}).fetchall()
        acks = self.conn.execute(self.acknowledges_sql, ([row[0] for row in problems],)).fetchall()
        return [problems, acks]


def database_url(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


class PostgresStore:
    name = "postgresql"
    label = "PostgreSQL"

    def __init__(self, admin_url: str, template: Path, prefix: str) -> None:
        import psycopg

        self.admin_url = admin_url
        self.served_name, self.raw_name = f"{prefix}_served", f"{prefix}_raw"
        self.admin = psycopg.connect(admin_url, autocommit=True, application_name="rpcserver-bench")
        self.monitor = None
        try:
            self._drop()
            self.admin.execute(f"CREATE DATABASE {self.served_name}")
            env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(BENCH.parent), os.environ.get("PYTHONPATH")]))}
            copied = subprocess.run([sys.executable, "-m", "rpcserver", "copy", str(template), self.db], cwd=BENCH.parent,
                                    capture_output=True, text=True, env=env, timeout=1800)
            if copied.returncode:
                raise SystemExit(f"rpcserver copy into PostgreSQL failed:\n{copied.stdout}\n{copied.stderr}")
            with psycopg.connect(self.db, autocommit=True) as conn:
                conn.execute("VACUUM ANALYZE")
            # a template must have no connections: the clone is made before anything else connects
            self.admin.execute(f"CREATE DATABASE {self.raw_name} TEMPLATE {self.served_name}")
            self.monitor = psycopg.connect(self.db, autocommit=True, application_name="rpcserver-bench-monitor")
        except BaseException:
            self.close()
            raise

    @property
    def db(self) -> str:
        return database_url(self.admin_url, self.served_name)

    def count_acknowledges(self) -> int:
        return self.monitor.execute("SELECT max(acknowledgeid) FROM acknowledges").fetchone()[0]

    def analyze(self) -> None:
        """Statistics of the tables as the warm-up left them, as autovacuum would gather them (it is off on
        some machines here). Analyzed after the copy, the tables an acknowledge writes were empty: PostgreSQL
        then plans their look-ups as sequential scans, and every call slows as they fill (bench/README.md)."""
        self.monitor.execute("ANALYZE")

    def mark(self) -> int:
        """The next transaction id: every row written from now on has an xmin at or after it."""
        return int(self.monitor.execute("SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint").fetchone()[0])

    def changes_since(self, mark: int) -> Changes:
        from rpcserver.storage.copy import TABLES

        # age() compares transaction ids across wraparound; frozen rows are the oldest of all
        xid = str(mark % 2**32)
        changes = {}
        for table in TABLES:
            cursor = self.monitor.execute(f"SELECT * FROM {table} WHERE age(xmin) <= age(%s::text::xid)", (xid,))
            if rows := cursor.fetchall():
                changes[table] = ([column.name for column in cursor.description], rows)
        return changes

    def raw(self) -> RawPostgres:
        return RawPostgres(database_url(self.admin_url, self.raw_name))

    def backend_pids(self) -> list[int]:
        """The PostgreSQL processes serving the rpcserver connected to the served database."""
        rows = self.admin.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s AND application_name = 'rpcserver'",
                                  (self.served_name,)).fetchall()
        return [pid for (pid,) in rows]

    def _drop(self) -> None:
        for name in (self.raw_name, self.served_name):
            self.admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def close(self) -> None:
        if self.monitor is not None:
            self.monitor.close()
            self.monitor = None
        if not self.admin.closed:
            self._drop()
            self.admin.close()
