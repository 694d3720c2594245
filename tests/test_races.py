"""Races between processes over one database (API.md §7), with real servers on 127.0.0.1: servers
starting together with --demo load the demo data once.

Each store starts its servers as both topologies do: three `rpcserver serve` instances at once, and
one `serve --workers 2`. Rounds and waits are bounded: a few seconds per test when the servers work.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from rpcserver.storage.copy import TABLES

from .server_process import running_server, running_servers
from .stores import Postgres

ENV = {"RPCSERVER_PASSWORD_COST": "4"}
TOPOLOGIES = ("instances", "workers")


@contextmanager
def new_database(store: str, postgres: Postgres, tmp_path: Path, name: str) -> Iterator[str]:
    """A database with nothing in it yet, no schema even: a new SQLite file, or an empty PostgreSQL database."""
    if store == "sqlite":
        yield str(tmp_path / f"{name}.db")
        return
    with postgres.database(empty=True) as url:
        yield url


@contextmanager
def started(topology: str, tmp_path: Path, db: str, *args: str, env: dict[str, str] | None = None) -> Iterator[list[str]]:
    """Three instances started at once over `db`, or one --workers 2 server; the URLs to call."""
    env = {**ENV, **(env or {})}
    if topology == "workers":
        with running_server(tmp_path, "--db", db, "--workers", "2", *args, env=env) as server:
            yield [server.url, server.url]
    else:
        with running_servers(tmp_path, 3, "--db", db, *args, env=env) as servers:
            yield [server.url for server in servers]


def row_counts(db: str) -> dict[str, int]:
    """Rows per table of the schema, read straight from the database."""
    if db.startswith("postgresql://"):
        with psycopg.connect(db) as pg:
            return {table: pg.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in TABLES}  # type: ignore[index]
    lite = sqlite3.connect(db)
    try:
        return {table: lite.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in TABLES}
    finally:
        lite.close()


_single_demo: dict[str, dict[str, int]] = {}


def single_demo_counts(store: str, postgres: Postgres, tmp_path: Path) -> dict[str, int]:
    """What one server alone makes of a new database with --demo, per table (once per store)."""
    if store not in _single_demo:
        with new_database(store, postgres, tmp_path, "single") as db:
            with running_server(tmp_path, "--db", db, "--demo", env=ENV):
                pass
            _single_demo[store] = row_counts(db)
    return _single_demo[store]


# --- --demo: loaded once ----------------------------------------------------------------------------


@pytest.mark.parametrize("topology", TOPOLOGIES)
def test_servers_starting_together_with_demo_load_it_once(store: str, topology: str, postgres: Postgres, tmp_path: Path) -> None:
    # Before the fix, three instances all read the new database empty, and all but the first to write
    # failed at start on the demo's unique names (the database's constraints kept the rows single).
    # Under --workers the parent loads it before any worker starts, so that topology had no race.
    alone = single_demo_counts(store, postgres, tmp_path)
    assert alone["hosts"] and alone["problem"] and alone["users"] == 3  # Admin, operator and viewer
    # The passwords hashed at the default cost, as a user runs it: each server reads the database
    # empty, then hashes the demo users' passwords before it writes (the window of the race).
    env = {"RPCSERVER_PASSWORD_COST": "14"}
    with new_database(store, postgres, tmp_path, "together") as db:
        with started(topology, tmp_path, db, "--demo", env=env):
            pass  # every server started: none failed on what another one loaded
        together = row_counts(db)
    assert together == alone
