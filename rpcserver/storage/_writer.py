"""Group commit: one writer connection, every queued unit of work in one transaction.

Callers submit a unit (a plain function of the sqlite3 connection) and await its result. The
writer takes everything queued, runs it on the connection's thread as
`BEGIN IMMEDIATE; SAVEPOINT; unit; RELEASE; ... COMMIT`, and only then answers each caller:
an answered write is a committed write. A unit that raises is rolled back to its savepoint
alone; the others commit. If the transaction itself fails (BEGIN or COMMIT: a locked, read-only
or full database), every unit of the batch fails and nothing of it is kept. A unit that meets such
a fault itself fails with the same clear -32500, never with SQLite's text.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiosqlite

from ..errors import ApplicationError

log = logging.getLogger("rpcserver.storage")

Unit = Callable[[sqlite3.Connection], Any]

STORAGE_FAILED = (
    "The database could not store the change, so nothing was changed; try again later. "
    "If it persists, the server log says why."
)

FAULT_CODES = frozenset({
    sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_NOMEM, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_IOERR,
    sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_FULL, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PROTOCOL, sqlite3.SQLITE_NOTADB,
})
"""SQLite's primary result codes for a database the server cannot use right now (locked, read-only,
full, failing or corrupt), as opposed to a mistake in a unit's SQL or a violated constraint."""


def is_fault(exc: BaseException, codes: frozenset[int] = FAULT_CODES) -> bool:
    """Whether `exc` is SQLite reporting a fault of the database (one of `codes`) rather than of the statement."""
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(exc, sqlite3.Error) and code is not None and code & 0xFF in codes


@dataclass
class WriterStats:
    """Counters for tests and benchmarks: `commits` < `units` means writes shared transactions."""

    units: int = 0
    commits: int = 0
    failed_batches: int = 0


class _Failed:
    __slots__ = ("exc",)

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def run_batch(conn: sqlite3.Connection, units: list[Unit]) -> tuple[bool, list[Any]]:
    """Apply `units` in one transaction; return whether it committed, and each unit's result
    or `_Failed`. Runs on the writer connection's thread.
    """
    outcomes: list[Any] = []
    try:
        conn.execute("BEGIN IMMEDIATE")
        for unit in units:
            conn.execute("SAVEPOINT unit")
            try:
                outcome = unit(conn)
            except Exception as exc:
                conn.execute("ROLLBACK TO unit")
                outcome = _Failed(_fault_as_error(exc))
            conn.execute("RELEASE unit")
            outcomes.append(outcome)
        conn.execute("COMMIT")
    except sqlite3.Error:
        log.exception("write transaction of %d units failed; all were rolled back", len(units))
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        return False, [_Failed(ApplicationError(STORAGE_FAILED)) for _ in units]
    return True, outcomes


def _fault_as_error(exc: Exception) -> Exception:
    if not is_fault(exc):
        return exc
    log.error("a unit of work met a database fault and was rolled back: %s", exc, exc_info=exc)
    return ApplicationError(STORAGE_FAILED)


class GroupCommitWriter:
    def __init__(self, conn: aiosqlite.Connection, max_batch: int = 512) -> None:
        self._conn = conn
        self._max_batch = max_batch
        self._queue: list[tuple[Unit, asyncio.Future[Any]]] = []
        self._wakeup = asyncio.Event()
        self._closing = False
        self._task = asyncio.create_task(self._run(), name="rpcserver-writer")
        self.stats = WriterStats()

    async def submit(self, unit: Unit) -> Any:
        if self._closing:
            raise ApplicationError("The server is shutting down; the change was not made.")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.append((unit, future))
        self._wakeup.set()
        return await future

    async def close(self) -> None:
        """Refuse new units, finish the queued ones, stop."""
        self._closing = True
        self._wakeup.set()
        await self._task

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queue:
                batch = [(u, f) for u, f in self._queue[: self._max_batch] if not f.cancelled()]
                del self._queue[: self._max_batch]
                if batch:
                    await self._commit(batch)
            if self._closing:
                return

    async def _commit(self, batch: list[tuple[Unit, asyncio.Future[Any]]]) -> None:
        units = [unit for unit, _ in batch]
        try:
            # aiosqlite runs everything on the connection's own thread; `_execute` hands it one
            # function, so a whole batch costs one thread hop instead of one per statement.
            committed, outcomes = await self._conn._execute(run_batch, self._conn._conn, units)
        except Exception:
            log.exception("writer thread failed")
            committed, outcomes = False, [_Failed(ApplicationError(STORAGE_FAILED)) for _ in units]
        self.stats.units += len(units)
        if committed:
            self.stats.commits += 1
        else:
            self.stats.failed_batches += 1
        for (_, future), outcome in zip(batch, outcomes):
            if future.done():
                continue
            if isinstance(outcome, _Failed):
                future.set_exception(outcome.exc)
            else:
                future.set_result(outcome)
