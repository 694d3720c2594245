"""Storage: the only place that talks to SQLite.

One writer connection behind a group-commit writer (see `_writer`), a small pool of read-only
connections that never wait for it (WAL), and the schema migrations. Units of work and read
functions are plain functions of a `sqlite3.Connection`; they run on the connection's thread.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from ..errors import ApplicationError
from ._writer import FAULT_CODES, GroupCommitWriter, WriterStats, is_fault
from .migrations import MIGRATIONS, Migration, SchemaError, migrate

__all__ = ["Storage", "StorageOpenError", "WriterStats"]

T = TypeVar("T")

log = logging.getLogger("rpcserver.storage")

SYNCHRONOUS_MODES = ("OFF", "NORMAL", "FULL", "EXTRA")
BUSY_TIMEOUT_MS = 5000
READ_FAILED = "The database could not be read; try again later. If it persists, the server log says why."
READ_FAULT_CODES = FAULT_CODES - {sqlite3.SQLITE_READONLY}
"""Readers are query-only: SQLITE_READONLY there is a read function that tried to write, a bug."""


class StorageOpenError(Exception):
    """The database cannot be opened or used; the message says why, for a person."""


def _configure(conn: sqlite3.Connection, synchronous: str, query_only: bool) -> None:
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    if query_only:
        conn.execute("PRAGMA query_only = ON")


CORRUPT = "the file is not an SQLite database, or it is corrupt"


def _check_integrity(conn: sqlite3.Connection) -> None:
    # Before anything is written: a damaged page found later would fail start-up half way (or a
    # call much later). quick_check reads every page once, without the slower index checks.
    verdict = conn.execute("PRAGMA quick_check(1)").fetchone()[0]
    if verdict != "ok":
        raise StorageOpenError(CORRUPT)


def _check_writable(conn: sqlite3.Connection) -> None:
    # Start-up writes next (the first Admin, expiry): find a lock held by another program or a
    # read-only file here, where it is refused with one clear line.
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("ROLLBACK")


def _use_wal(conn: sqlite3.Connection) -> None:
    # Only once `migrate` has found the file to be ours: the switch rewrites the file's header.
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if mode.lower() != "wal":
        raise StorageOpenError(f"it refused WAL mode (journal_mode is {mode})")


def _read_snapshot(conn: sqlite3.Connection, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
    # One read transaction, so every query of `fn` sees the same committed state.
    conn.execute("BEGIN")
    try:
        return fn(conn, *args)
    finally:
        conn.execute("COMMIT")


async def _connect(path: str) -> aiosqlite.Connection:
    # isolation_level=None: no implicit transactions; the writer and readers issue their own.
    conn = aiosqlite.connect(path, isolation_level=None)
    try:
        return await conn
    except BaseException:
        # aiosqlite stops its thread after a failed connect but does not wait for it; wait here,
        # while the event loop can still take the thread's last message.
        await asyncio.to_thread(conn._thread.join, 5)
        raise


class Storage:
    def __init__(
        self, path: str, writer_conn: aiosqlite.Connection, readers: list[aiosqlite.Connection]
    ) -> None:
        self.path = path
        self._writer_conn = writer_conn
        self._writer = GroupCommitWriter(writer_conn)
        self._readers = readers
        self._idle: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        for reader in readers:
            self._idle.put_nowait(reader)
        self.schema_version = 0

    @property
    def stats(self) -> WriterStats:
        return self._writer.stats

    @classmethod
    async def open(
        cls,
        path: str | Path,
        *,
        synchronous: str = "FULL",
        readers: int = 2,
        migrations: Sequence[Migration] = MIGRATIONS,
    ) -> Storage:
        """Open (creating if needed) and migrate the database at `path`.

        Raises:
            StorageOpenError: the file cannot be opened or written, is not ours, is corrupt, is
                newer than this code, or another program holds it locked.
        """
        path = str(path)
        if synchronous.upper() not in SYNCHRONOUS_MODES:
            raise StorageOpenError(f"synchronous must be one of {', '.join(SYNCHRONOUS_MODES)}")
        opened: list[aiosqlite.Connection] = []
        try:
            writer = await _connect(path)
            opened.append(writer)
            await writer._execute(_configure, writer._conn, synchronous.upper(), False)
            await writer._execute(_check_integrity, writer._conn)
            version = await writer._execute(migrate, writer._conn, migrations)
            await writer._execute(_use_wal, writer._conn)
            await writer._execute(_check_writable, writer._conn)
            for _ in range(readers):
                reader = await _connect(path)
                opened.append(reader)
                await reader._execute(_configure, reader._conn, synchronous.upper(), True)
        except (SchemaError, StorageOpenError, sqlite3.DatabaseError) as exc:
            await _close_all(opened)
            reason = _explain(exc) if isinstance(exc, sqlite3.DatabaseError) else str(exc)
            raise StorageOpenError(f"cannot use database {path}: {reason}") from None
        storage = cls(path, writer, opened[1:])
        storage.schema_version = version
        return storage

    async def write(self, unit: Callable[..., T], *args: Any) -> T:
        """Run `unit(conn, *args)` in the next group-committed transaction, atomically.

        Returns only after the transaction has committed. If `unit` raises, its changes are
        rolled back (alone) and the exception is raised here.
        """
        if args:
            return await self._writer.submit(lambda conn: unit(conn, *args))
        return await self._writer.submit(unit)

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(conn, *args)` on a read-only connection, in one snapshot of committed data.

        Raises:
            ApplicationError: the database cannot be read (locked, failing or corrupt).
        """
        reader = await self._idle.get()
        try:
            return await reader._execute(_read_snapshot, reader._conn, fn, args)
        except sqlite3.Error as exc:
            if not is_fault(exc, READ_FAULT_CODES):
                raise
            log.exception("a read met a database fault")
            raise ApplicationError(READ_FAILED) from None
        finally:
            self._idle.put_nowait(reader)

    async def close(self) -> None:
        """Finish queued writes, then close every connection (which checkpoints the WAL)."""
        await self._writer.close()
        await _close_all([*self._readers, self._writer_conn])


async def _close_all(connections: list[aiosqlite.Connection]) -> None:
    for conn in connections:
        await conn.close()


def _explain(exc: sqlite3.DatabaseError) -> str:
    text = str(exc)
    if "unable to open" in text:
        return "unable to open the file (does its folder exist, and may this user write there?)"
    if "not a database" in text or "malformed" in text:
        return CORRUPT
    if "readonly" in text:
        return "the file is read-only for this user"
    if "locked" in text:
        return "another program holds a lock on it (is another rpcserver using it?); try again once it lets go"
    if "full" in text:
        return "the disk is full"
    return text
