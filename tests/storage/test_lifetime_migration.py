"""The lifetime migration (6, API.md §9) with those before it, on a database of schema version 2, on each store: the spans it holds keep
their rows and become ordinary spans (neither "until recovery" nor ended by one)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rpcserver.storage import Storage, is_postgresql_url
from rpcserver.storage.postgresql import schema
from rpcserver.storage.sqlite.migrations import MIGRATIONS

from ..stores import Postgres


def _acknowledged_problem(conn: Any) -> None:
    conn.execute("INSERT INTO users (userid, username) VALUES (10, 'ops')")
    conn.execute("INSERT INTO hosts (hostid, host, name) VALUES (1, 'h', 'h')")
    conn.execute("INSERT INTO triggers (triggerid, hostid, description) VALUES (1, 1, 't')")
    conn.execute("INSERT INTO events (eventid, objectid, clock, value, name) VALUES (7, 1, 100, 1, 'disk full')")
    conn.execute("INSERT INTO problem (eventid, objectid, clock, name) VALUES (7, 1, 100, 'disk full')")
    conn.execute("INSERT INTO acknowledgement (eventid, userid, acknowledged_on, acknowledged_until, last_modified)"
                 " VALUES (7, 10, 100, 200, 100)")


@pytest.fixture
def new_db(store: str, tmp_path: Path, postgres: Postgres) -> Iterator[str | Path]:
    """A database with nothing in it yet, on the test's store."""
    if store == "sqlite":
        yield tmp_path / "v2.db"
        return
    with postgres.database(empty=True) as url:
        yield url


async def test_migrating_keeps_the_spans_of_a_version_2_database(new_db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    if is_postgresql_url(new_db):
        with monkeypatch.context() as at_version_2:  # PostgreSQL's schema is version 2 before its migrations
            at_version_2.setattr(schema, "MIGRATIONS", {})
            at_version_2.setattr(schema, "LATEST_VERSION", 2)
            later = ("webhook", "webhook_delivery")  # made by migration 4: no sequences to move yet
            at_version_2.setattr(schema, "TABLES_WITH_IDENTITY",
                                 {table: key for table, key in schema.TABLES_WITH_IDENTITY.items() if table not in later})
            v2 = await Storage.open(new_db)
    else:
        v2 = await Storage.open(new_db, migrations=MIGRATIONS[:2])
    assert v2.schema_version == 2
    await v2.write(_acknowledged_problem)
    await v2.close()
    v3 = await Storage.open(new_db)
    try:
        assert v3.schema_version == len(MIGRATIONS) == schema.LATEST_VERSION
        spans = await v3.read(lambda c: c.execute(
            "SELECT eventid, userid, acknowledged_until, until_recovery, ended_by_recovery FROM acknowledgement").fetchall())
        assert [tuple(span) for span in spans] == [(7, 10, 200, 0, 0)]
    finally:
        await v3.close()
