"""`rpcserver copy`: everything in one database into a new one, on either store, ids kept.

Both are opened through `Storage` first, so each is checked (ours, not newer than this code) and
migrated to the same schema version; then the rows go table by table, parents first, streamed from
one snapshot of the source into one transaction on the target, which must hold nothing yet but the
built-in rows every new database starts with (they are replaced by the source's).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from . import Storage, StorageOpenError, describe, is_postgresql_url
from .engine import Db

TABLES = (
    "role", "role_rule", "users", "usrgrp", "users_groups", "hstgrp", "rights", "sessions", "token",
    "hosts", "hosts_groups", "triggers", "events", "problem", "event_recovery", "event_tag", "problem_tag",
    "acknowledges", "event_suppress", "event_symptom", "event_page", "incident_state", "incident_note",
    "mass_call", "acknowledgement", "idempotent_request", "webhook", "webhook_delivery", "webhook_lease",
    "credentials_generation",
)
"""Every table of the schema, each after the tables its rows refer to."""

CHUNK = 5000


class CopyRefused(Exception):
    """The copy cannot be made; the text says why, for a person."""


def _backend(db: str | Path) -> Any:
    """The backend module of `db`: its `connect`, `begin_snapshot`, `begin_write` and `ids_copied`."""
    if is_postgresql_url(db):
        from . import postgresql

        return postgresql
    from . import sqlite

    return sqlite


def _rows(source: Db, table: str) -> Iterator[tuple[list[str], list[tuple[Any, ...]]]]:
    cursor = source.execute(f"SELECT * FROM {table}")
    columns = [column[0] for column in cursor.description]
    while chunk := cursor.fetchmany(CHUNK):
        yield columns, chunk


def copy_rows(source: Db, target: Db) -> dict[str, int]:
    """Copy every table's rows; the caller holds a snapshot of `source` and a transaction on `target`."""
    if target.execute("SELECT EXISTS (SELECT 1 FROM users) OR EXISTS (SELECT 1 FROM events)").fetchone()[0]:
        raise CopyRefused("the target database is not empty (it has users or events); give an empty one")
    for table in reversed(TABLES):
        target.execute(f"DELETE FROM {table}")  # the built-in rows of a new database: the source has its own
    counts = {}
    for table in TABLES:
        counts[table] = 0
        for columns, chunk in _rows(source, table):
            marks = ", ".join("?" * len(columns))
            target.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", chunk)
            counts[table] += len(chunk)
    return counts


async def _check(db: str | Path) -> None:
    """Open `db` as `serve` would: refused if it is not ours or newer; created or migrated otherwise."""
    await (await Storage.open(db, readers=0)).close()


async def copy(source: str | Path, target: str | Path) -> dict[str, int]:
    """Copy `source` into the empty `target`; returns the rows copied per table.

    Raises:
        StorageOpenError: either cannot be used.
        CopyRefused: the target is not empty.
    """
    if not is_postgresql_url(source) and not Path(source).exists():
        raise StorageOpenError(f"cannot use database {describe(source)}: there is no such file")
    await _check(source)
    await _check(target)
    source_backend, target_backend = _backend(source), _backend(target)
    source_db, target_db = source_backend.connect(str(source)), target_backend.connect(str(target))
    try:
        source_backend.begin_snapshot(source_db)
        target_backend.begin_write(target_db)
        try:
            counts = copy_rows(source_db, target_db)
            target_backend.ids_copied(target_db)
        except BaseException:
            target_db.execute("ROLLBACK")
            raise
        target_db.execute("COMMIT")
        source_db.execute("COMMIT")
        return counts
    finally:
        source_db.close()
        target_db.close()
