"""Races between processes over one database (API.md §7), with real servers on 127.0.0.1: servers
starting together with --demo load the demo data once, and event.create calls racing on one trigger
open one problem, whichever process each reached.

Each store starts its servers as both topologies do: three `rpcserver serve` instances at once, and
one `serve --workers 2`. Rounds and waits are bounded: a few seconds per test when the servers work.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest

from rpcserver.domain.lifetime import Lifetime
from rpcserver.storage.copy import TABLES
from rpcserver.storage.events import OPENED, UNCHANGED, Ingest, ingest_counting, ingest_one
from rpcserver.storage.postgresql import PostgresDb

from .server_process import running_server, running_servers
from .stores import Postgres
from .test_workers import answer, call, login, new_connections

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


# --- event.create: one open problem per trigger -------------------------------------------------------


ROUNDS = 12
CALLS = 6
"""Per round, value-1 events for one trigger sent at once, spread over the processes."""


@pytest.mark.parametrize("topology", TOPOLOGIES)
async def test_racing_problem_events_open_one_problem_per_trigger(store: str, topology: str, postgres: Postgres,
                                                                 tmp_path: Path) -> None:
    # Before the fix, on PostgreSQL: a round's first events on a new trigger failed with -32603 (each
    # server inserted the group, host or trigger, and all but one met the unique key), and the events
    # reopening a trigger opened two or three problems. SQLite had neither: a unit of event.create runs
    # inside the one writer's transaction (BEGIN IMMEDIATE, under a flock between processes), so no
    # other process writes between its look for the open problem and its insert.
    with new_database(store, postgres, tmp_path, "ingest") as db, \
            started(topology, tmp_path, db, env={"RPCSERVER_ADMIN_PASSWORD": "races-admin"}) as urls:
        async with new_connections() as http:
            admin = await login(http, urls[0], "Admin", "races-admin")
            deadline = time.monotonic() + 30
            for n in range(ROUNDS):
                # a new trigger each round (made by the race itself), and one trigger reopened round after round
                for name in (f"new {n}", "again"):
                    event = {"host": "races-01", "name": name, "groups": ["Races"]}
                    replies = await asyncio.gather(*(
                        answer(http, urls[k % len(urls)], "event.create", [event], admin) for k in range(CALLS)
                    ))
                    assert all("result" in reply for reply in replies), replies
                    opened = {reply["result"]["eventids"][0] for reply in replies}
                    assert len(opened) == 1, f"round {n}, {name!r}: {CALLS} events opened problems {sorted(opened)}"
                await call(http, urls[n % len(urls)], "event.create", [{"host": "races-01", "name": "again", "value": 0}], admin)
                assert time.monotonic() < deadline, f"only {n} rounds within 30 s"
            problems = await call(http, urls[1], "problem.get", {"output": ["eventid", "objectid", "r_eventid"]}, admin)
            per_trigger: dict[str, int] = {}
            for problem in problems:
                per_trigger[problem["objectid"]] = per_trigger.get(problem["objectid"], 0) + 1
            assert len(per_trigger) == ROUNDS and set(per_trigger.values()) == {1}, per_trigger
            again = await call(http, urls[0], "event.get", {"value": 1, "search": {"name": "again"}, "output": ["eventid"]}, admin)
            assert len(again) == ROUNDS  # one problem a round: each round's opened, then resolved


# --- the Alertmanager hook: the same ingestion, the same lock -----------------------------------------


def test_the_hooks_ingestion_waits_for_a_problem_being_opened_on_its_trigger(postgres: Postgres) -> None:
    # PostgreSQL only: on SQLite one writer holds the whole database while it ingests (see ingest_one).
    # One connection opens the trigger's problem and holds its transaction; ingest_counting (what POST
    # /hooks/alertmanager runs) of the same alert through another connection waits for it, then finds
    # the problem open, instead of opening a second one beside the uncommitted first.
    firing = Ingest("hook-01", "Alert firing", severity=3, groups=("Hooks",))
    with postgres.database() as url, psycopg.connect(url, autocommit=True) as first, \
            psycopg.connect(url, autocommit=True) as second:
        ingest_one(PostgresDb(first), firing, 1_700_000_000, 1, True, Lifetime())  # the trigger, its first problem
        ingest_one(PostgresDb(first), Ingest("hook-01", "Alert firing", value=0), 1_700_000_001, 1, True, Lifetime())
        outcome: dict[str, Any] = {}

        def hook() -> None:
            with second.transaction():
                outcome["counts"] = ingest_counting(PostgresDb(second), [firing], 1_700_000_003, 1, True, Lifetime())

        with first.transaction():
            change, eventid = ingest_one(PostgresDb(first), firing, 1_700_000_002, 1, True, Lifetime())
            assert change == OPENED
            racing = threading.Thread(target=hook)
            racing.start()
            racing.join(0.5)
            assert racing.is_alive(), f"the hook's ingestion did not wait for the open problem: {outcome}"
        racing.join(10)
        assert outcome["counts"] == {OPENED: 0, "resolved": 0, UNCHANGED: 1}
        open_problems = first.execute("SELECT eventid FROM problem WHERE r_eventid IS NULL").fetchall()
        assert open_problems == [(eventid,)]


def test_events_naming_a_new_host_and_trigger_at_once_make_them_once(postgres: Postgres) -> None:
    # PostgreSQL only, as above. One connection makes the group, host and trigger an event names and
    # holds its transaction; the same event through another connection waits for it, then finds all
    # three made (it failed on their unique keys, -32603 through the API, before the fix).
    firing = Ingest("made-01", "Made at once", severity=2, groups=("Made together",))
    with postgres.database() as url, psycopg.connect(url, autocommit=True) as first, \
            psycopg.connect(url, autocommit=True) as second:
        outcome: dict[str, Any] = {}

        def hook() -> None:
            try:
                with second.transaction():
                    outcome["counts"] = ingest_counting(PostgresDb(second), [firing], 1_700_000_001, 1, True, Lifetime())
            except psycopg.Error as exc:
                outcome["error"] = exc

        with first.transaction():
            assert ingest_one(PostgresDb(first), firing, 1_700_000_000, 1, True, Lifetime())[0] == OPENED
            racing = threading.Thread(target=hook)
            racing.start()
            racing.join(0.5)
            assert racing.is_alive(), f"the second ingestion did not wait for the first: {outcome}"
        racing.join(10)
        assert outcome.get("counts") == {OPENED: 0, "resolved": 0, UNCHANGED: 1}, outcome
        made = [first.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]
                for table in ("hstgrp WHERE name = 'Made together'", "hosts", "triggers", "problem")]
        assert made == [1, 1, 1, 1]
