"""The two stores the suite runs on: a new SQLite file, or a new PostgreSQL database per test.

SQLite files are copies of a template migrated once per test process (`SqliteTemplate`): migrating a
new file costs about 50 ms, copying the migrated one a tenth of that, and start-up then finds every
migration done, as it does on a PostgreSQL database copied from its template.

PostgreSQL databases are made on the server at `RPCSERVER_TEST_POSTGRES` (a maintenance URL; by
default the local server that development and CI machines run) from a template migrated once per
test process, and dropped after the test. Where no server answers, the PostgreSQL half is skipped
with one line saying how to enable it; with `RPCSERVER_TEST_REQUIRE_POSTGRES=1` (CI) it fails instead.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from rpcserver.storage import Storage, credentials
from rpcserver.storage.copy import TABLES
from rpcserver.storage.postgresql import PostgresDb
from rpcserver.storage.postgresql.schema import LATEST_VERSION, advance_sequences, migrate
from rpcserver.storage.sqlite.schema_v1 import DEFAULT_ROWS

STORES = ("sqlite", "postgresql")
MAINTENANCE_URL = os.environ.get("RPCSERVER_TEST_POSTGRES", "postgresql://root@127.0.0.1:5432/postgres")
REQUIRED = os.environ.get("RPCSERVER_TEST_REQUIRE_POSTGRES") == "1"
HOW_TO_ENABLE = (f"PostgreSQL half skipped: no server answers at {urlsplit(MAINTENANCE_URL).hostname}; set "
                 "RPCSERVER_TEST_POSTGRES to a maintenance URL (postgresql://user@host:port/postgres) to run it")


def url_of(database: str) -> str:
    """The URL of `database` on the maintenance URL's server."""
    return urlunsplit(urlsplit(MAINTENANCE_URL)._replace(path=f"/{database}"))


class SqliteTemplate:
    """New SQLite files holding the schema and built-in rows (no users yet), as start-up makes them:
    copies of one file migrated at first use, closed (so checkpointed: no -wal or -shm beside it)."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._template: Path | None = None

    def _template_path(self) -> Path:
        if self._template is None:
            path = self._folder / "template.db"
            with ThreadPoolExecutor(max_workers=1) as thread:  # apart from any event loop of the test's
                thread.submit(asyncio.run, self._migrate(path)).result()
            leftovers = sorted(p.name for p in self._folder.iterdir() if p != path)
            assert not leftovers, f"the closed template left {leftovers} beside it"
            self._template = path
        return self._template

    @staticmethod
    async def _migrate(path: Path) -> None:
        await (await Storage.open(path)).close()

    def new_file(self, path: Path) -> Path:
        """`path`, a new file at the latest schema version."""
        shutil.copyfile(self._template_path(), path)
        return path


def _admin(sql: str) -> None:
    with psycopg.connect(MAINTENANCE_URL, autocommit=True, connect_timeout=3) as conn:
        conn.execute(sql)


class Postgres:
    """Databases for tests on one server: each new one copied from a template made at first use.

    A test's database is emptied afterwards (every row deleted, the built-in rows and the id
    sequences as new) and given to the next test: a DROP waits for the server to remove the files,
    a quarter to half a second each. One that cannot be emptied, and an `empty` one (no schema), is
    dropped on a thread of its own while the next test runs. The emptying keeps its connection to
    each database from one test to the next: a new connection's server process reads the catalogs
    afresh, which made an emptying 30 ms instead of 6.
    """

    def __init__(self) -> None:
        self._template: str | None = None
        self._unavailable: str | None = None
        self._free: list[str] = []
        self._emptying: dict[str, psycopg.Connection[Any]] = {}
        """The connection that empties each database, kept while the database is."""
        self._dropper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="drop-test-database")

    def require(self) -> None:
        """Skip (or, where PostgreSQL is required, fail) when no server answers."""
        if self._unavailable is None and self._template is None:
            try:
                _admin("SELECT 1")
            except psycopg.Error as exc:
                self._unavailable = f"{HOW_TO_ENABLE} ({str(exc).strip().splitlines()[0]})"
        if self._unavailable is not None:
            if REQUIRED:
                pytest.fail(self._unavailable)
            pytest.skip(self._unavailable)

    def _template_name(self) -> str:
        if self._template is None:
            name = f"rpcserver_test_template_{uuid.uuid4().hex[:12]}"
            _admin(f"CREATE DATABASE {name}")
            with psycopg.connect(url_of(name), autocommit=True) as conn:
                migrate(conn, DEFAULT_ROWS)  # the schema and built-in rows; the first Admin comes at start-up
            self._template = name
        return self._template

    def new_database(self) -> str:
        """A new database holding the empty schema (no users yet); returns its name."""
        self.require()
        name = f"rpcserver_test_{uuid.uuid4().hex[:16]}"
        _admin(f"CREATE DATABASE {name} TEMPLATE {self._template_name()}")
        return name

    def _reused(self, name: str) -> bool:
        """Empty `name` for the next test; False if it cannot be (a test changed more than rows)."""
        try:
            conn = self._emptying.get(name) or psycopg.connect(url_of(name), autocommit=True, connect_timeout=3)
            self._emptying[name] = conn
            with conn.transaction():
                tables = conn.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")
                if {table for (table,) in tables} != {*TABLES, "rpcserver_schema"}:
                    return False  # a test made tables of its own
                if conn.execute("SELECT version FROM rpcserver_schema").fetchone() != (LATEST_VERSION,):
                    return False
                for table in reversed(TABLES):
                    if table != credentials.TABLE:  # its one row is the schema's, as the migration made it
                        conn.execute(f"DELETE FROM {table}")
                conn.execute(DEFAULT_ROWS)
                advance_sequences(conn)
        except psycopg.Error:
            return False
        self._free.append(name)
        return True

    def run(self, url: str, unit: Callable[..., Any], *args: Any) -> Any:
        """`unit(db, *args)` in one transaction on the connection that empties the database at `url` (one
        of `database`'s): its server process has read the catalogs already."""
        name = urlsplit(url).path.lstrip("/")
        conn = self._emptying.get(name) or psycopg.connect(url, autocommit=True, connect_timeout=3)
        self._emptying[name] = conn
        with conn.transaction():
            return unit(PostgresDb(conn), *args)

    def _disconnect(self, name: str) -> None:
        if (conn := self._emptying.pop(name, None)) is not None:
            conn.close()

    def empty_database(self) -> str:
        """A new database with nothing in it; returns its name."""
        self.require()
        name = f"rpcserver_test_{uuid.uuid4().hex[:16]}"
        _admin(f"CREATE DATABASE {name}")
        return name

    @staticmethod
    def drop(name: str) -> None:
        _admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    @contextmanager
    def database(self, *, empty: bool = False) -> Iterator[str]:
        """The URL of a database for one test: the schema and built-in rows only (or, `empty`, nothing at all);
        afterwards emptied for the next test, or dropped."""
        if empty:
            name = self.empty_database()
        else:
            self.require()
            name = self._free.pop() if self._free else self.new_database()
        try:
            yield url_of(name)
        finally:
            if empty or not self._reused(name):
                self._disconnect(name)
                self._dropper.submit(self.drop, name)

    def close(self) -> None:
        self._dropper.shutdown(wait=True)
        for name in list(self._emptying):
            self._disconnect(name)
        for name in self._free:
            self.drop(name)
        if self._template is not None:
            self.drop(self._template)
            self._template = None
