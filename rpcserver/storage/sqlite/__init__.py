"""The SQLite backend, the embedded default: one file, WAL, one writer connection, read-only readers.

aiosqlite runs each connection on a thread of its own; the writer hands its thread a whole batch of
units at once (`run_batch`), a reader a whole read function, so a call costs one thread hop.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import aiosqlite

from ...domain.errors import Unavailable
from .._writer import READ_FAILED, STORAGE_FAILED, Failed, Outcomes, Unit, run_unit, run_units
from ..engine import SQLITE, Engine
from .migrations import MIGRATIONS, Migration, SchemaError, migrate

T = TypeVar("T")

log = logging.getLogger("rpcserver.storage")

SYNCHRONOUS_MODES = ("OFF", "NORMAL", "FULL", "EXTRA")
BUSY_TIMEOUT_MS = 5000
CORRUPT = "the file is not an SQLite database, or it is corrupt"

FAULT_CODES = frozenset({
    sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_NOMEM, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_IOERR,
    sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_FULL, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PROTOCOL, sqlite3.SQLITE_NOTADB,
})
"""SQLite's primary result codes for a database the server cannot use right now (locked, read-only,
full, failing or corrupt), as opposed to a mistake in a unit's SQL or a violated constraint."""
READ_FAULT_CODES = FAULT_CODES - {sqlite3.SQLITE_READONLY}
"""Readers are query-only: SQLITE_READONLY there is a read function that tried to write, a bug."""


def is_fault(exc: BaseException, codes: frozenset[int] = FAULT_CODES) -> bool:
    """Whether `exc` is SQLite reporting a fault of the database (one of `codes`) rather than of the statement."""
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(exc, sqlite3.Error) and code is not None and code & 0xFF in codes


class SqliteDb(sqlite3.Connection):
    """sqlite3's connection, as every unit and read function receives it, carrying its engine."""

    engine: Engine = SQLITE


@contextmanager
def _writers_turn(writers_lock: int) -> Iterator[None]:
    """This process's turn at the file among the writers of every process on it (see `SqliteBackend.open`)."""
    fcntl.flock(writers_lock, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(writers_lock, fcntl.LOCK_UN)


def run_batch(conn: SqliteDb, units: list[Unit], writers_lock: int) -> tuple[bool, Outcomes]:
    """One `BEGIN IMMEDIATE` transaction of `units` (see `_writer.run_units`), on the writer's thread,
    in its turn among the writers (`writers_lock`)."""
    with _writers_turn(writers_lock):
        return _run_unguarded(conn, units) or run_units(
            conn, units, begin="BEGIN IMMEDIATE", is_fault=is_fault, transaction_error=sqlite3.Error)


def _run_unguarded(conn: SqliteDb, units: list[Unit]) -> tuple[bool, Outcomes] | None:
    """`run_units`' outcome without its savepoint per unit, which costs a sixth of an acknowledge's work
    on the writer's thread; None, with nothing kept, where one is needed: then `run_units` runs them all
    again, each in its savepoint.

    A savepoint is there to undo a failed unit's writes. A unit that fails having changed no row
    (the connection's `total_changes` as before it: SQLite has undone the failing statement itself)
    left nothing to undo, and is failed alone as `run_units` would fail it. Where a failed unit had
    changed rows, met a fault of the database or ended the transaction, or the transaction could not
    begin or commit, everything is rolled back and left to `run_units`. Units are plain functions of the connection,
    so running one again does what it did the first time."""
    outcomes: Outcomes = []
    try:
        conn.execute("BEGIN IMMEDIATE")
        for unit in units:
            changed = conn.total_changes
            try:
                outcomes.append(unit(conn))
            except Exception as exc:
                if is_fault(exc) or conn.total_changes != changed or not conn.in_transaction:
                    break
                outcomes.append(Failed(exc))
        else:
            conn.execute("COMMIT")
            return True, outcomes
    except sqlite3.Error:
        pass
    if conn.in_transaction:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass  # `run_units` meets the connection as it is, and says so
    return None


def _in_request(conn: SqliteDb, unit: Unit) -> Any:
    """One unit of a request transaction (`Storage.transaction`), in a savepoint of its own, as in a batch."""
    outcome = run_unit(conn, unit, is_fault=is_fault, retry=lambda exc: False)
    if isinstance(outcome, Failed):
        raise outcome.exc
    return outcome


WRITER_CACHE_KIB = 16 * 1024
"""The writer's page cache (SQLite's default is 2 MiB): the index pages random acknowledges touch stay
in memory instead of being read again (pread) from the OS's cache. Readers keep the default."""


def _configure(conn: sqlite3.Connection, synchronous: str, query_only: bool) -> None:
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    # Savepoint and statement journals (one per unit of a batch) in memory, not a temporary file:
    # otherwise every page a unit first changes is copied out with a pwrite.
    conn.execute("PRAGMA temp_store = MEMORY")
    if query_only:
        conn.execute("PRAGMA query_only = ON")


def _prepare_writer(conn: sqlite3.Connection, synchronous: str, migrations: Sequence[Migration], writers_lock: int) -> int:
    """Configure the writer connection, check the file, migrate it and switch it to WAL; the schema
    version reached. Under the writers' lock (see `SqliteBackend.open`): servers starting together on
    one file, or starting beside running ones, take turns as batches do, instead of polling SQLite's
    lock, where one can be starved past busy_timeout and fail to start while the others ping-pong."""
    with _writers_turn(writers_lock):
        _configure(conn, synchronous, False)
        conn.execute(f"PRAGMA cache_size = -{WRITER_CACHE_KIB}")
        _probe_tables(conn)
        version = migrate(conn, migrations)
        _use_wal(conn)
        _check_writable(conn)
        return version


def _probe_tables(conn: sqlite3.Connection) -> None:
    # Before anything is written, and in a time that does not grow with the data: the first row of
    # every table, the pages start-up itself would read (a file cut short, a table's root page
    # overwritten). Reading every page is `rpcserver check`'s job; a damaged page deeper down is
    # met by the call that reads it, which answers -32500 and logs it.
    for (table,) in conn.execute("SELECT name FROM sqlite_schema WHERE type = 'table'").fetchall():
        quoted = '"' + table.replace('"', '""') + '"'
        conn.execute(f"SELECT * FROM {quoted} NOT INDEXED LIMIT 1").fetchall()


def _check_writable(conn: sqlite3.Connection) -> None:
    # Start-up writes next (the first Admin, expiry): find a lock held by another program or a
    # read-only file here, where it is refused with one clear line.
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("ROLLBACK")


def _use_wal(conn: sqlite3.Connection) -> None:
    # Only once `migrate` has found the file to be ours: the switch rewrites the file's header.
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if mode.lower() != "wal":
        raise SchemaError(f"it refused WAL mode (journal_mode is {mode})")


def _read_snapshot(conn: sqlite3.Connection, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
    # One read transaction, so every query of `fn` sees the same committed state.
    conn.execute("BEGIN")
    try:
        return fn(conn, *args)
    finally:
        conn.execute("COMMIT")


def connect(path: str) -> SqliteDb:
    """A plain synchronous connection (for `rpcserver copy`), configured as the writer's."""
    conn = sqlite3.connect(path, isolation_level=None, factory=SqliteDb)
    _configure(conn, "FULL", False)
    return conn


def begin_snapshot(conn: sqlite3.Connection) -> None:
    conn.execute("BEGIN")


def begin_write(conn: sqlite3.Connection) -> None:
    conn.execute("BEGIN IMMEDIATE")


def _begin_request(conn: sqlite3.Connection, writers_lock: int) -> None:
    """A request transaction's `BEGIN IMMEDIATE`, under the writers' flock until `_end_request`: it takes
    its turn with other processes' batches as they do, instead of polling SQLite's lock past busy_timeout."""
    fcntl.flock(writers_lock, fcntl.LOCK_EX)
    try:
        begin_write(conn)
    except BaseException:
        fcntl.flock(writers_lock, fcntl.LOCK_UN)
        raise


def _end_request(conn: sqlite3.Connection, commit: bool, writers_lock: int) -> None:
    try:
        _end(conn, commit)
    finally:
        fcntl.flock(writers_lock, fcntl.LOCK_UN)


def _end(conn: sqlite3.Connection, commit: bool) -> None:
    """Commit or roll back a request transaction. Raises Unavailable if a commit keeps nothing."""
    if not conn.in_transaction:  # SQLite rolled it back itself, after a fault: nothing of it was kept
        if commit:
            raise Unavailable(STORAGE_FAILED)
        return
    try:
        conn.execute("COMMIT" if commit else "ROLLBACK")
    except sqlite3.Error:
        log.exception("a request transaction could not end; it was rolled back")
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        if commit:
            raise Unavailable(STORAGE_FAILED) from None


def ids_copied(conn: sqlite3.Connection) -> None:
    """Nothing to do: AUTOINCREMENT moves past every id written, whoever chose it."""


async def _connect(path: str) -> aiosqlite.Connection:
    # isolation_level=None: no implicit transactions; the writer and readers issue their own.
    conn = aiosqlite.connect(path, isolation_level=None, factory=SqliteDb)
    try:
        return await conn
    except BaseException:
        # aiosqlite stops its thread after a failed connect but does not wait for it; wait here,
        # while the event loop can still take the thread's last message.
        await asyncio.to_thread(conn._thread.join, 5)
        raise


class SqliteBackend:
    engine: Engine = SQLITE
    warnings: tuple[str, ...] = ()

    def __init__(self, path: str, writer: aiosqlite.Connection, readers: list[aiosqlite.Connection], version: int,
                 writers_lock: int) -> None:
        self.path = path
        self._writers_lock = writers_lock
        self.description = path
        self.schema_version = version
        self._writer = writer
        self._readers = readers
        self._idle: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        for reader in readers:
            self._idle.put_nowait(reader)

    @classmethod
    async def open(cls, path: str, *, synchronous: str, readers: int,
                   migrations: Sequence[Migration] = MIGRATIONS) -> SqliteBackend:
        """Open (creating if needed) and migrate the database file at `path`.

        Raises:
            SchemaError: the file cannot be opened or written, is not ours, is corrupt, is newer
                than this code, or another program holds it locked (the text says which).
        """
        if synchronous.upper() not in SYNCHRONOUS_MODES:
            raise SchemaError(f"synchronous must be one of {', '.join(SYNCHRONOUS_MODES)}")
        opened: list[aiosqlite.Connection] = []
        writers_lock = -1
        try:
            writer = await _connect(path)  # creates the file if there is none
            opened.append(writer)
            # The writers of several processes (--workers, instances) take turns through a lock of their
            # own on the file: the kernel wakes a waiter the moment it is released, where SQLite's busy
            # handler polls in sleeps of up to 100 ms and can let one process starve another past
            # busy_timeout. A flock, unlike SQLite's POSIX locks, belongs to this descriptor alone and
            # ends with the process.
            writers_lock = os.open(path, os.O_RDONLY)
            version = await writer._execute(_prepare_writer, writer._conn, synchronous.upper(), migrations, writers_lock)
            for _ in range(readers):
                reader = await _connect(path)
                opened.append(reader)
                await reader._execute(_configure, reader._conn, synchronous.upper(), True)
        except (SchemaError, sqlite3.DatabaseError, OSError) as exc:
            await _close_all(opened)
            if writers_lock != -1:
                os.close(writers_lock)
            raise SchemaError(_explain(exc) if isinstance(exc, sqlite3.DatabaseError) else str(exc)) from None
        return cls(path, writer, opened[1:], version, writers_lock)

    async def run_batch(self, units: list[Unit]) -> tuple[bool, Outcomes]:
        # `run_batch` is looked up at each call, so a test can put a faulty database under a running server.
        return await self._writer._execute(run_batch, self._writer._conn, units, self._writers_lock)

    async def begin_request(self) -> None:
        await self._on_writer(_begin_request, self._writers_lock)

    async def run_in_request(self, unit: Unit) -> Any:
        return await self._on_writer(_in_request, unit)

    async def end_request(self, commit: bool) -> None:
        await self._on_writer(_end_request, commit, self._writers_lock)

    async def _on_writer(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(writer connection, *args)` on the writer's thread; a fault of the database as `Unavailable`."""
        try:
            return await self._writer._execute(fn, self._writer._conn, *args)
        except sqlite3.Error as exc:
            if not is_fault(exc):
                raise
            log.exception("a request transaction met a database fault")
            raise Unavailable(STORAGE_FAILED) from None

    async def read(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        reader = await self._idle.get()
        try:
            return await reader._execute(_read_snapshot, reader._conn, fn, args)
        except sqlite3.Error as exc:
            if not is_fault(exc, READ_FAULT_CODES):
                raise
            log.exception("a read met a database fault")
            raise Unavailable(READ_FAILED) from None
        finally:
            self._idle.put_nowait(reader)

    async def close(self) -> None:
        await _close_all([*self._readers, self._writer])
        os.close(self._writers_lock)


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
