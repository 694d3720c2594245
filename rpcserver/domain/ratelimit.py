"""A sliding-window rate limit per caller (the incident mass calls' 60 calls a minute). Pure: the
counted calls' times and the time now come in, the verdict goes out."""

from __future__ import annotations

import math
from collections.abc import Iterable


def retry_after(counted: Iterable[float], now: float, limit: int, window: float = 60.0) -> int | None:
    """None when one more call fits in the window ending now; otherwise the whole seconds until the
    oldest counted call leaves it (1 to the window's length). Refused calls are not counted."""
    recent = [t for t in counted if t > now - window]
    if len(recent) < limit:
        return None
    return min(max(math.ceil(min(recent) + window - now), 1), math.ceil(window))
