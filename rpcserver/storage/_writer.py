"""Group commit: one writer connection, every queued unit of work in one transaction.

Callers submit a unit (a plain function of the connection, see `engine.Db`) and await its result.
The writer takes everything queued and has its backend run it on the connection's thread as
`BEGIN; SAVEPOINT; unit; RELEASE; ... COMMIT` (`run_units`), and only then answers each caller:
an answered write is a committed write. A unit that raises is rolled back to its savepoint
alone; the others commit. If the transaction itself fails (BEGIN or COMMIT: a locked, read-only,
full or unreachable database), every unit of the batch fails and nothing of it is kept. A unit that
meets such a fault itself fails with the same clear -32500, never with the database's text.
SQLite's backend first tries a batch without the savepoints, which only a unit that fails having
written needs (`sqlite._run_unguarded`).

Units of one kind queued side by side may run as one (`runs_together`): the acknowledges of a batch
then share their statements. If that one unit fails as a whole, each of its calls runs again alone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from ..domain.errors import Unavailable
from .engine import Db

log = logging.getLogger("rpcserver.storage")

Unit = Callable[[Db], Any]
Many = Callable[[Db, list[tuple[Any, ...]]], list[Any]]
"""Runs several calls of one unit function as one unit: given each call's arguments (after the
connection), in the order queued, it returns each call's outcome in that order (its result, or `Failed`
with what it raised) as running each alone would have, and raises only where that would not hold."""
Merge = tuple[Many, tuple[Any, ...]]
"""How a queued unit may join its neighbours: the function that runs them together, and its call's arguments."""
Queued = tuple[Unit, "asyncio.Future[Any]", Merge | None]

TOGETHER: dict[Callable[..., Any], Many] = {}
"""Unit functions whose calls may run together, and the function that runs them (`runs_together`)."""

F = TypeVar("F", bound=Callable[..., Any])


def runs_together(many: Many) -> Callable[[F], F]:
    """Mark a unit function whose calls, queued side by side, `many` runs as one unit (`Storage.write` looks)."""
    def mark(unit: F) -> F:
        TOGETHER[unit] = many
        return unit
    return mark

READ_FAILED = "The database could not be read; try again later. If it persists, the server log says why."
STORAGE_FAILED = (
    "The database could not store the change, so nothing was changed; try again later. "
    "If it persists, the server log says why."
)

SHUTTING_DOWN = "The server is shutting down; the change was not made."

UNREACHABLE = "The database cannot be reached; try again later."
"""A call that met a lost connection to a database server (PostgreSQL)."""


@dataclass
class WriterStats:
    """Counters for tests and benchmarks: `commits` < `units` means writes shared transactions."""

    units: int = 0
    commits: int = 0
    failed_batches: int = 0


class WriterObserver(Protocol):
    """Told of the writer's queue as each batch starts, and of every batch (the /metrics series); called
    on the event loop. Not at each write queued: that gauge update was 5,100 instructions a call, a sixth
    of what the metrics cost (bench/metrics_cost.py); whoever shows the depth reads `GroupCommitWriter.depth` too."""

    def queued(self, depth: int) -> None: ...

    def committed(self, units: int) -> None: ...


class Failed:
    """A unit's outcome that is an exception, to be raised to the unit's caller."""

    __slots__ = ("exc",)

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


Outcomes = list[Any]
"""Per unit, its result or `Failed`."""


def run_units(
    conn: Any,
    units: list[Unit],
    *,
    begin: str | None,
    is_fault: Callable[[BaseException], bool],
    transaction_error: type[Exception] | tuple[type[Exception], ...],
    retry: Callable[[BaseException], bool] = lambda exc: False,
    begin_again: str = "BEGIN",
) -> tuple[bool, Outcomes]:
    """Apply `units` in one transaction; return whether it committed, and each unit's outcome.

    `begin` starts the transaction (None: the caller has started it). `is_fault` tells a fault of the
    database from a unit's own error; `transaction_error` is what the
    driver raises when the transaction as a whole fails; a unit whose error `retry` accepts (a
    deadlock, say) is rolled back to its savepoint and run once more, in a new transaction (begun
    with `begin_again`) once the units before it are committed: what it waited for may be waiting
    for their locks, in another process's transaction. Runs on the writer's thread.
    """
    outcomes: Outcomes = []
    settled = 0
    """How many outcomes are committed already."""
    try:
        if begin is not None:  # None: the backend has begun it
            conn.execute(begin)
        for unit in units:
            def settle() -> None:
                # Before a retry: commit the units before this one, so the locks they hold are released.
                nonlocal settled
                if len(outcomes) > settled:
                    conn.execute("COMMIT")
                    settled = len(outcomes)
                    conn.execute(begin_again)

            outcomes.append(run_unit(conn, unit, is_fault=is_fault, retry=retry, before_retry=settle))
        conn.execute("COMMIT")
    except transaction_error:
        log.exception("write transaction of %d units failed; all were rolled back", len(units) - settled)
        try:
            conn.execute("ROLLBACK")
        except transaction_error:
            pass  # no transaction left to end, or the connection is gone: nothing was kept either way
        return False, outcomes[:settled] + [Failed(Unavailable(STORAGE_FAILED)) for _ in units[settled:]]
    return True, outcomes


def run_unit(
    conn: Any,
    unit: Unit,
    *,
    is_fault: Callable[[BaseException], bool],
    retry: Callable[[BaseException], bool],
    before_retry: Callable[[], None] = lambda: None,
) -> Any:
    """One unit inside the open transaction, in a savepoint of its own: its result, or `Failed` (its
    changes rolled back alone); a unit whose error `retry` accepts runs again (up to three times in
    all), after `before_retry`. The savepoint statements' own errors are raised: the transaction failed."""
    for attempt in range(3):
        conn.execute("SAVEPOINT unit")
        try:
            outcome = unit(conn)
        except Exception as exc:
            conn.execute("ROLLBACK TO SAVEPOINT unit")
            if attempt < 2 and retry(exc):
                conn.execute("RELEASE SAVEPOINT unit")
                before_retry()
                continue
            outcome = Failed(_fault_as_error(exc, is_fault))
        conn.execute("RELEASE SAVEPOINT unit")
        return outcome
    raise AssertionError("unreachable: the last attempt returns")


def _fault_as_error(exc: Exception, is_fault: Callable[[BaseException], bool]) -> Exception:
    if not is_fault(exc):
        return exc
    log.error("a unit of work met a database fault and was rolled back: %s", exc, exc_info=exc)
    return Unavailable(STORAGE_FAILED)


BatchRunner = Callable[[list[Unit]], Awaitable[tuple[bool, Outcomes]]]


class GroupCommitWriter:
    def __init__(self, run_batch: BatchRunner, max_batch: int = 512) -> None:
        self._run_batch = run_batch
        self._max_batch = max_batch
        self._queue: list[Queued] = []
        self._wakeup = asyncio.Event()
        self._closing = False
        self._exclusive = asyncio.Lock()
        """Held while a batch runs, and by a request transaction (`exclusive`) for its whole length."""
        self._task = asyncio.create_task(self._run(), name="rpcserver-writer")
        self.stats = WriterStats()
        self.observer: WriterObserver | None = None

    async def submit(self, unit: Unit, merge: Merge | None = None) -> Any:
        """`unit`'s result once its batch has committed; with `merge`, it may run together with the
        units of the same kind queued next to it."""
        if self._closing:
            raise Unavailable(SHUTTING_DOWN)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.append((unit, future, merge))
        self._wakeup.set()
        return await future

    @property
    def depth(self) -> int:
        """Writes waiting for the writer (not those of the batch running)."""
        return len(self._queue)

    @asynccontextmanager
    async def exclusive(self) -> AsyncIterator[None]:
        """The writer connection for the caller alone: batches wait until it is given back."""
        if self._closing:
            raise Unavailable(SHUTTING_DOWN)
        async with self._exclusive:
            yield

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
                batch = [queued for queued in self._queue[: self._max_batch] if not queued[1].cancelled()]
                del self._queue[: self._max_batch]
                if self.observer is not None:
                    self.observer.queued(len(self._queue))
                if batch:
                    await self._commit(batch)
            if self._closing:
                return

    async def _commit(self, batch: list[Queued]) -> None:
        groups = _together(batch)
        units = [unit for unit, _ in groups]
        try:
            async with self._exclusive:
                committed, outcomes = await self._run_batch(units)
        except Exception:
            log.exception("writer thread failed")
            committed, outcomes = False, [Failed(Unavailable(STORAGE_FAILED)) for _ in units]
        self.stats.units += len(batch)
        if committed:
            self.stats.commits += 1
            if self.observer is not None:
                self.observer.committed(len(batch))
        else:
            self.stats.failed_batches += 1
        alone: list[Queued] = []
        for (_, members), outcome in zip(groups, outcomes):
            if len(members) == 1:
                _settle(members[0][1], outcome)
            elif not isinstance(outcome, Failed):
                for (_, future, _), each in zip(members, outcome):
                    _settle(future, each)
            elif committed:  # the calls run together failed as one: each runs again alone, first in line
                alone += [(unit, future, None) for unit, future, _ in members]
            else:  # the transaction failed: every call of it with it
                for _, future, _ in members:
                    _settle(future, outcome)
        self._queue[:0] = alone


def _together(batch: list[Queued]) -> list[tuple[Unit, list[Queued]]]:
    """The units to run for `batch`, each with the queued calls it runs: neighbours that may run
    together (the same `Many`) as one unit."""
    groups: list[list[Queued]] = []
    for queued in batch:
        merge, previous = queued[2], groups[-1][-1][2] if groups else None
        if merge is not None and previous is not None and merge[0] is previous[0]:
            groups[-1].append(queued)
        else:
            groups.append([queued])
    return [(members[0][0], members) if len(members) == 1 else (_run_together(members), members) for members in groups]


def _run_together(members: list[Queued]) -> Unit:
    merges = [merge for _, _, merge in members if merge is not None]  # all of them: `_together` grouped them by it
    many, calls = merges[0][0], [args for _, args in merges]
    return lambda db: many(db, calls)


def _settle(future: asyncio.Future[Any], outcome: Any) -> None:
    if future.done():
        return
    if isinstance(outcome, Failed):
        future.set_exception(outcome.exc)
    else:
        future.set_result(outcome)
