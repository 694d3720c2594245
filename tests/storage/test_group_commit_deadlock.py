"""Group commit over one PostgreSQL database shared by several writers (--workers, several hosts).

Each unit locks the events it changes in id order, but a batch is one transaction: it keeps the locks
of its first units while a later one waits, so two writers' batches can lock the same events in
opposite orders. PostgreSQL breaks such a deadlock by failing one statement; the writer must then
let go of what its earlier units hold, not retry inside the same transaction (where the same cycle
forms again). Two Storages here are two writers with their own connections, as two processes have.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from rpcserver.storage import Storage
from rpcserver.storage.engine import Db

from ..stores import Postgres

BARRIER_TIMEOUT = 10


def two_events(db: Db) -> list[int]:
    return [row[0] for row in db.execute("INSERT INTO events (objectid, clock, value) VALUES (1, 0, 1), (2, 0, 1) RETURNING eventid")]


def locking(eventid: int, barrier: threading.Barrier | None = None) -> Any:
    """A unit that locks one event (as every acknowledge does), then waits for the other writer to lock its own."""

    def unit(db: Db) -> int:
        sql = db.engine.lock_events("ids")
        assert sql is not None
        db.execute(sql, {"ids": f"[{eventid}]"})
        if barrier is not None:
            barrier.wait(BARRIER_TIMEOUT)
        return eventid

    return unit


async def test_two_writers_locking_in_opposite_orders_both_commit(postgres: Postgres) -> None:
    with postgres.database() as url:
        first, second = await Storage.open(url), await Storage.open(url)
        try:
            a, b = await first.write(two_events)
            both_hold_one = threading.Barrier(2)
            # first's batch: lock a, wait, lock b; second's: lock b, wait, lock a
            batches = [
                asyncio.gather(first.write(locking(a, both_hold_one)), first.write(locking(b))),
                asyncio.gather(second.write(locking(b, both_hold_one)), second.write(locking(a))),
            ]
            assert await asyncio.gather(*batches) == [[a, b], [b, a]]
            assert (first.stats.commits, second.stats.commits) == (2, 1)  # one batch each (and first's that made the events)
        finally:
            await first.close()
            await second.close()
