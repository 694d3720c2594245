"""`rpcserver check` and `rpcserver backup`: whole-database work that start-up no longer does, or never did.

Start-up reads only what it needs (its cost does not grow with the data); a damaged page is found
by the call that meets it (-32500 and a log line) or by `check`, which reads every page.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from . import StorageOpenError, describe, is_postgresql_url
from .copy import TABLES
from .sqlite import CORRUPT
from .sqlite.migrations import APPLICATION_ID

MAX_INTEGRITY_LINES = 1000
"""integrity_check stops after this many problems: enough to judge a file, not a flood."""


class BackupRefused(Exception):
    """The backup cannot be made; the text says why, for a person."""


def _open_existing(path: str | Path) -> sqlite3.Connection:
    """A connection to our SQLite file at `path`, which must exist (never created here).

    Raises:
        StorageOpenError: no such file, not a database, or another program's.
    """
    if not Path(path).is_file():
        raise StorageOpenError(f"cannot use database {path}: there is no such file")
    try:
        conn = sqlite3.connect(f"file:{quote(str(path))}?mode=rw", uri=True, isolation_level=None)
    except sqlite3.Error as exc:
        raise StorageOpenError(f"cannot use database {path}: {exc}") from None
    try:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    except sqlite3.DatabaseError:
        conn.close()
        raise StorageOpenError(f"cannot use database {path}: {CORRUPT}") from None
    if app_id != APPLICATION_ID:
        conn.close()
        raise StorageOpenError(f"cannot use database {path}: it is not an rpcserver database")
    return conn


@dataclass
class CheckReport:
    problems: list[str]
    """One line per problem found; empty: none."""
    unchecked: str | None = None
    """What could not be checked, and how to check it, if anything."""


def check(db: str | Path) -> CheckReport:
    """Check the whole database `db`.

    SQLite: `PRAGMA integrity_check` (every page, every index against its table) and
    `PRAGMA foreign_key_check`. PostgreSQL: every table read through (the server reports a damaged
    page or a failed checksum where it meets one) and, where the amcheck extension is installed,
    every index checked against its own structure (`bt_index_check`).

    Raises:
        StorageOpenError: the database cannot be checked at all (missing, unreachable, not ours).
    """
    if is_postgresql_url(db):
        return _check_postgresql(str(db))
    conn = _open_existing(db)
    try:
        try:
            problems = [row[0] for row in conn.execute(f"PRAGMA integrity_check({MAX_INTEGRITY_LINES})") if row[0] != "ok"]
        except sqlite3.DatabaseError as exc:  # so damaged the check itself cannot go on
            return CheckReport([f"the check stopped: {exc}"])
        for table, rowid, parent, _ in conn.execute("PRAGMA foreign_key_check"):
            problems.append(f"{table} row {rowid}: refers to a row of {parent} that does not exist")
        return CheckReport(problems)
    finally:
        conn.close()


def _check_postgresql(url: str) -> CheckReport:
    import psycopg

    from .postgresql import connect

    try:
        conn: Any = connect(url)  # its cursors' rows are untyped, as sqlite3's
    except psycopg.Error as exc:
        raise StorageOpenError(f"cannot use database {describe(url)}: {_first_line(exc)}") from None
    try:
        if not conn.execute("SELECT to_regclass('rpcserver_schema') IS NOT NULL").fetchone()[0]:
            raise StorageOpenError(f"cannot use database {describe(url)}: it is not an rpcserver database")
        # A sequential scan reads every page of the table; an index-only scan would skip them.
        for setting in ("enable_indexscan", "enable_indexonlyscan", "enable_bitmapscan"):
            conn.execute(f"SET {setting} = off")
        problems = []
        for table in TABLES:
            try:
                conn.execute(f"SELECT count(*) FROM {table}").fetchone()
            except psycopg.Error as exc:
                problems.append(f"table {table}: {_first_line(exc)}")
        if not conn.execute("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'amcheck')").fetchone()[0]:
            return CheckReport(problems, "indexes: install PostgreSQL's amcheck extension (CREATE EXTENSION amcheck) "
                                         "to have them checked, or run pg_amcheck")
        indexes = conn.execute(
            "SELECT i.indexrelid::regclass::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
            " JOIN pg_am a ON a.oid = c.relam WHERE a.amname = 'btree' AND i.indrelid::regclass::text = ANY(?)",
            (list(TABLES),),
        ).fetchall()
        for (index,) in indexes:
            try:
                conn.execute("SELECT bt_index_check(CAST(? AS regclass))", (index,))
            except psycopg.Error as exc:
                problems.append(f"index {index}: {_first_line(exc)}")
        return CheckReport(problems)
    finally:
        conn.close()


def _first_line(exc: Exception) -> str:
    return str(exc).strip().split("\n", 1)[0]


def backup(db: str | Path, dest: str | Path) -> int:
    """Write a consistent copy of the SQLite database `db`, live or not, to the new file `dest`;
    returns its size in pages.

    SQLite's online backup in one step: one read transaction, so the copy is the database as of its
    start (every change answered before it), while the server goes on writing (WAL: a reader never
    blocks the writer). In steps it would start over at each write and might never finish under load.
    The copy is written beside `dest` and renamed into place once complete and on disk.

    Raises:
        BackupRefused: `db` is a PostgreSQL URL (pg_dump's job), or `dest` exists.
        StorageOpenError: `db` cannot be used.
    """
    if is_postgresql_url(db):
        raise BackupRefused(
            f"{describe(db)} is a PostgreSQL database: back it up with pg_dump "
            f"(e.g. pg_dump --format=custom --file {dest} '{describe(db)}'), restore it with pg_restore"
        )
    target = Path(dest)
    if target.exists():
        raise BackupRefused(f"{target} already exists; give a new file (a backup never overwrites one)")
    if not target.parent.is_dir():
        raise BackupRefused(f"cannot write {target}: there is no folder {target.parent}")
    partial = target.with_name(f".{target.name}.partial")
    source = _open_existing(db)
    try:
        copy = sqlite3.connect(partial)
        try:
            source.backup(copy)
            pages: int = copy.execute("PRAGMA page_count").fetchone()[0]
        finally:
            copy.close()
        _sync(partial)
        os.replace(partial, target)
        _sync(target.parent)
        return pages
    except sqlite3.Error as exc:
        raise BackupRefused(f"the backup of {db} failed, no copy was kept: {exc}") from None
    finally:
        source.close()
        partial.unlink(missing_ok=True)


def _sync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
