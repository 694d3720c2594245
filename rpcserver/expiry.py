"""Expiry that needs no client: the server records acknowledgement spans' ends as they arrive.

Reads need no help: they compare every span with the call's clock, so an event stops being
acknowledged at the very second its last span ends. What a clock cannot do is write history: this
task records each end due (`storage.spans.record_ends`: the action-16 row by the span's user at the
second it ended, and the events/problem flags) within a second of it, and once at start-up for the
spans that ended while the server was stopped. `run_once(now)` is the sweep itself; tests call it
with their own clock instead of waiting.
"""

from __future__ import annotations

import asyncio
import logging

from .context import Clock
from .storage import Storage
from .storage.spans import next_due, record_ends

log = logging.getLogger("rpcserver")

POLL_SECONDS = 1.0
"""The longest the task sleeps: a span opened meanwhile that ends sooner waits at most this long."""
MIN_SLEEP = 0.01


class Expiry:
    def __init__(self, storage: Storage, clock: Clock, poll: float = POLL_SECONDS) -> None:
        self._storage = storage
        self._clock = clock
        self._poll = poll
        self._task: asyncio.Task[None] | None = None

    async def run_once(self, now: int) -> int:
        """Record every end up to `now`; returns how many spans' ends were recorded."""
        recorded = await self._storage.write(record_ends, now)
        if recorded:
            log.debug("recorded the end of %d acknowledgement(s)", recorded)
        return recorded

    async def start(self) -> None:
        """Record what ended while the server was stopped, then keep recording in the background."""
        await self.run_once(int(self._clock()))
        self._task = asyncio.create_task(self._run(), name="rpcserver-expiry")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                due = await self._storage.read(next_due)
                await asyncio.sleep(self._delay(due))
                if due is not None and due <= int(self._clock()):
                    await self.run_once(int(self._clock()))
            except Exception:  # a full disk must not end expiry for good: log it, try again later
                log.exception("recording the ends of acknowledgements failed; retrying")
                await asyncio.sleep(self._poll)

    def _delay(self, due: int | None) -> float:
        """Until the next end is due, at most one poll."""
        if due is None:
            return self._poll
        return min(self._poll, max(MIN_SLEEP, due - self._clock()))
