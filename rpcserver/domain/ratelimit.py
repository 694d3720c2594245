"""A sliding-window rate limit per caller (the incident mass calls' 60 calls a minute). Pure: the
caller passes the time."""

from __future__ import annotations

import math
from collections import deque
from typing import Hashable


class SlidingWindow:
    def __init__(self, limit: int, window: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self._calls: dict[Hashable, deque[float]] = {}

    def _recent(self, key: Hashable, now: float) -> deque[float]:
        calls = self._calls.setdefault(key, deque())
        while calls and calls[0] <= now - self.window:
            calls.popleft()
        return calls

    def acquire(self, key: Hashable, now: float) -> int | None:
        """Count a call now and return None, or refuse it (not counted) and return the whole
        seconds until the oldest counted call leaves the window (1 to the window's length)."""
        calls = self._recent(key, now)
        if len(calls) >= self.limit:
            return min(max(math.ceil(calls[0] + self.window - now), 1), math.ceil(self.window))
        calls.append(now)
        return None

    def release(self, key: Hashable, at: float) -> None:
        """Forget a counted call (it failed before it was accepted)."""
        calls = self._calls.get(key)
        if calls and at in calls:
            calls.remove(at)
