"""The PostgreSQL backend: one database that several servers share (API.md §7).

psycopg 3's synchronous connections, each on a thread of its own, so the units of work stay the
plain synchronous functions SQLite runs, and a whole batch or read costs one thread hop: one writer
connection behind the group-commit writer, a few reader connections, each read in one
REPEATABLE READ snapshot. Every answer follows COMMIT with `synchronous_commit` on.

The shared SQL is written with sqlite3's placeholders (`?`, `:name`); `PostgresDb` translates them
to psycopg's once per statement text. A lost connection fails the calls it meets with
`UNREACHABLE` and is opened again by the next one.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import psycopg

from ...domain.errors import Unavailable
from .. import describe
from .._writer import READ_FAILED, STORAGE_FAILED, UNREACHABLE, Failed, Outcomes, Unit, run_unit, run_units
from ..engine import POSTGRESQL, Engine, Params
from ..sqlite.schema_v1 import DEFAULT_ROWS
from .schema import SchemaError, advance_sequences, migrate

T = TypeVar("T")

log = logging.getLogger("rpcserver.storage")

CONNECT_TIMEOUT = 5


_TOKENS = re.compile(r"'(?:[^']|'')*'|\"[^\"]*\"|::|\?|(?<![:\w]):([A-Za-z_]\w*)|%")


@functools.lru_cache(maxsize=4096)
def translate(sql: str) -> str:
    """sqlite3's placeholders as psycopg's: `?` -> `%s`, `:name` -> `%(name)s`, a literal `%` -> `%%`.
    Quoted texts and `::` casts are left as they are."""

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "?":
            return "%s"
        if token == "%":
            return "%%"
        if match.group(1):
            return f"%({match.group(1)})s"
        return token.replace("%", "%%") if token.startswith("'") else token

    return _TOKENS.sub(replace, sql)


class PostgresDb:
    """A psycopg connection as the shared SQL expects it: sqlite3's `execute`, `executemany` and `close`."""

    engine: Engine = POSTGRESQL

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    def close(self) -> None:
        self.conn.close()

    def execute(self, sql: str, params: Params = ()) -> psycopg.Cursor[Any]:
        return self.conn.execute(translate(sql), params or None)

    def executemany(self, sql: str, rows: Iterable[Params]) -> psycopg.Cursor[Any]:
        cursor = self.conn.cursor()
        rows = list(rows)
        if rows:
            cursor.executemany(translate(sql), rows)
        return cursor


def _retry(exc: BaseException) -> bool:
    """A deadlock or serialization failure (SQLSTATE class 40, transaction rollback): the unit is run
    again, never answered with it. By class, not by Python type: psycopg makes DeadlockDetected an
    OperationalError beside TransactionRollback, not under it."""
    return isinstance(exc, psycopg.Error) and (exc.sqlstate or "").startswith("40")


def _is_fault(exc: BaseException) -> bool:
    """A fault of the database (gone, shutting down, out of space), not of a statement."""
    return isinstance(exc, psycopg.OperationalError) and not _retry(exc)


def connect(url: str) -> PostgresDb:
    conn = psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT, application_name="rpcserver")
    conn.execute("SET synchronous_commit = on")
    return PostgresDb(conn)


def begin_snapshot(db: PostgresDb) -> None:
    db.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")


def begin_write(db: PostgresDb) -> None:
    db.execute("BEGIN")


def ids_copied(db: PostgresDb) -> None:
    """Move every id sequence past the ids the copy wrote."""
    advance_sequences(db)


AUTOVACUUM_OFF = ("autovacuum is off on the PostgreSQL server of {}: nothing keeps the tables' statistics up to date, "
                  "and the acknowledge slows as its tables grow past what they held when last analyzed. Turn "
                  "autovacuum on (PostgreSQL's default), or run ANALYZE regularly.")


def autovacuum_off(db: PostgresDb) -> bool:
    """Whether the server's autovacuum is off: then a table analyzed while empty keeps being planned as
    empty, its look-ups as sequential scans (bench/README.md, "PostgreSQL with autovacuum off")."""
    row = db.execute("SELECT current_setting('autovacuum') = 'off'").fetchone()
    return row is not None and bool(row[0])


class _Connection:
    """One connection and the one thread it is used on; opened again after it was lost."""

    def __init__(self, url: str, db: PostgresDb) -> None:
        self._url = url
        self.db: PostgresDb | None = db
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rpcserver-postgresql")

    def usable(self) -> PostgresDb:
        """The connection, opened again if it was lost. Raises psycopg.OperationalError if it cannot be."""
        if self.db is None or self.db.conn.broken or self.db.conn.closed:
            if self.db is not None:
                self.db.conn.close()
                self.db = None
            self.db = connect(self._url)
        return self.db

    def lost(self) -> bool:
        return self.db is None or self.db.conn.broken or self.db.conn.closed

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)

    async def close(self) -> None:
        def close() -> None:
            if self.db is not None:
                self.db.conn.close()

        await self.run(close)
        self._thread.shutdown()


def _begin(connection: _Connection, begin: str) -> PostgresDb:
    """The connection with a transaction begun. One found dead at BEGIN (the server restarted, or
    ended it while it was idle) is opened again once: nothing had run on it, so nothing is repeated.

    Raises psycopg.OperationalError if the database cannot be reached.
    """
    db = connection.usable()
    try:
        db.execute(begin)
    except psycopg.OperationalError:
        if not connection.lost():
            raise
        db = connection.usable()
        db.execute(begin)
    return db


def _run_batch(connection: _Connection, units: list[Unit]) -> tuple[bool, Outcomes]:
    try:
        db = _begin(connection, "BEGIN")
    except psycopg.OperationalError as exc:
        log.error("the database cannot be reached: %s", exc)
        return False, [Failed(Unavailable(UNREACHABLE)) for _ in units]
    committed, outcomes = run_units(db, units, begin=None, is_fault=_is_fault, transaction_error=psycopg.Error,
                                    retry=_retry)
    if not committed and connection.lost():  # the units it failed failed for that; those committed before a deadlock stay
        return False, [Failed(Unavailable(UNREACHABLE)) if isinstance(outcome, Failed) and isinstance(outcome.exc, Unavailable)
                       else outcome for outcome in outcomes]
    return committed, outcomes


def _read_snapshot(connection: _Connection, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
    try:
        db = _begin(connection, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    except psycopg.OperationalError as exc:
        log.error("the database cannot be reached: %s", exc)
        raise Unavailable(UNREACHABLE) from None
    try:
        try:
            return fn(db, *args)
        finally:
            if not connection.lost():
                db.execute("COMMIT")
    except psycopg.OperationalError:
        if connection.lost():
            log.exception("the database connection was lost during a read")
            raise Unavailable(UNREACHABLE) from None
        log.exception("a read met a database fault")
        raise Unavailable(READ_FAILED) from None


def _begin_request(connection: _Connection) -> None:
    try:
        _begin(connection, "BEGIN")
    except psycopg.OperationalError as exc:
        log.error("the database cannot be reached: %s", exc)
        raise Unavailable(UNREACHABLE) from None


def _in_request(connection: _Connection, unit: Unit) -> Any:
    """One unit of a request transaction (`Storage.transaction`), in a savepoint of its own, as in a batch."""
    if connection.db is None or connection.lost():
        raise Unavailable(UNREACHABLE)
    try:
        outcome = run_unit(connection.db, unit, is_fault=_is_fault, retry=_retry)
    except psycopg.Error:
        log.exception("a request transaction failed")
        raise Unavailable(UNREACHABLE if connection.lost() else STORAGE_FAILED) from None
    if isinstance(outcome, Failed):
        raise outcome.exc
    return outcome


def _end_request(connection: _Connection, commit: bool) -> None:
    """Commit or roll back a request transaction. Raises Unavailable if a commit keeps nothing."""
    if connection.db is None or connection.lost():
        if commit:
            raise Unavailable(UNREACHABLE)
        return
    try:
        connection.db.execute("COMMIT" if commit else "ROLLBACK")
    except psycopg.Error:
        log.exception("a request transaction could not end; it was rolled back")
        if not connection.lost():
            connection.db.execute("ROLLBACK")
        if commit:
            raise Unavailable(UNREACHABLE if connection.lost() else STORAGE_FAILED) from None


class PostgresBackend:
    engine: Engine = POSTGRESQL

    def __init__(self, url: str, writer: _Connection, readers: list[_Connection], version: int,
                 warnings: tuple[str, ...] = ()) -> None:
        self.description = describe(url)
        self.schema_version = version
        self.warnings = warnings
        self._writer = writer
        self._readers = readers
        self._idle: asyncio.Queue[_Connection] = asyncio.Queue()
        for reader in readers:
            self._idle.put_nowait(reader)

    @classmethod
    async def open(cls, url: str, *, readers: int) -> PostgresBackend:
        """Connect, create or migrate the schema (and the built-in rows), open the readers.

        Raises:
            SchemaError: the database cannot be reached, is another program's, or is newer than this code.
        """
        opened: list[_Connection] = []
        try:
            for _ in range(1 + readers):
                db = await asyncio.to_thread(connect, url)
                opened.append(_Connection(url, db))
            writer = opened[0]
            assert writer.db is not None
            version = await writer.run(migrate, writer.db.conn, DEFAULT_ROWS)
            warnings = (AUTOVACUUM_OFF.format(describe(url)),) if await writer.run(autovacuum_off, writer.db) else ()
        except psycopg.Error as exc:
            await _close_all(opened)
            raise SchemaError(_explain(exc)) from None
        except SchemaError:
            await _close_all(opened)
            raise
        return cls(url, opened[0], opened[1:], version, warnings)

    async def run_batch(self, units: list[Unit]) -> tuple[bool, Outcomes]:
        return await self._writer.run(_run_batch, self._writer, units)

    async def begin_request(self) -> None:
        await self._writer.run(_begin_request, self._writer)

    async def run_in_request(self, unit: Unit) -> Any:
        return await self._writer.run(_in_request, self._writer, unit)

    async def end_request(self, commit: bool) -> None:
        await self._writer.run(_end_request, self._writer, commit)

    async def read(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        reader = await self._idle.get()
        try:
            return await reader.run(_read_snapshot, reader, fn, args)
        finally:
            self._idle.put_nowait(reader)

    async def close(self) -> None:
        await _close_all([self._writer, *self._readers])


async def _close_all(connections: list[_Connection]) -> None:
    for connection in connections:
        await connection.close()


def _explain(exc: psycopg.Error) -> str:
    # psycopg's first line names the host and what went wrong, never the password.
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"cannot connect or set it up ({first_line})"
