"""Acknowledgement spans (API.md §5), as pure functions of an injected clock reading `now`.

A span acknowledges its event from `start` (acknowledged_on) until `end` (acknowledged_until), to
the second: active while `end` is None (indefinite) or still ahead of now. An event is
acknowledged exactly while one of its spans is active.

`parse_end` reads an `acknowledged_until` as sent (epoch seconds, `"<n>s|m|h|d"`, `"recovery"` or null);
`resolve` turns it into the stored end, a time in the past becoming now. `unacknowledging_ends`
is the expiry arithmetic: which ends left their event without an active span, and when.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from .acknowledge import ACKNOWLEDGE, MESSAGE

MAX_EPOCH = 2**31 - 1
"""The last second an end may be (Zabbix's timestamps are int32)."""
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"([0-9]{1,12})([smhd])", re.ASCII)
"""At most 12 digits: anything longer is out of range anyway, and int() of thousands of digits is refused."""

NOT_AN_END = 'expected epoch seconds, a duration such as "30s", "5m", "2h" or "1d", or null'
"""The one reason for every malformed or out-of-range acknowledged_until."""


class NotAnEnd(ValueError):
    """The value is not an acknowledged_until this server can store."""

    def __init__(self) -> None:
        super().__init__(NOT_AN_END)


@dataclass(frozen=True)
class End:
    """A parsed acknowledged_until: epoch seconds, seconds from now (`relative`), or the problem's
    recovery (API.md §9)."""

    seconds: int
    relative: bool = False
    until_recovery: bool = False


RECOVERY = "recovery"
UNTIL_RECOVERY = End(0, until_recovery=True)


def parse_end(value: object) -> End | None:
    """An acknowledged_until as sent; None for null (indefinite).

    Epochs are JSON integers only: a string of digits could mean seconds from now as well.

    Raises:
        NotAnEnd: anything else ("5x", "-5m", "m", 1.5, true, "300", a time past MAX_EPOCH).
    """
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        if not 0 <= value <= MAX_EPOCH:
            raise NotAnEnd()
        return End(value)
    if value == RECOVERY:
        return UNTIL_RECOVERY
    if isinstance(value, str):
        match = _DURATION.fullmatch(value)
        if match:
            seconds = int(match.group(1)) * UNITS[match.group(2)]
            if seconds <= MAX_EPOCH:
                return End(seconds, relative=True)
    raise NotAnEnd()


def format_duration(seconds: int) -> str:
    """`seconds` in the largest unit that divides it: 300 → "5m"; what `parse_end` reads back."""
    for unit, size in sorted(UNITS.items(), key=lambda item: -item[1]):
        if seconds % size == 0 and seconds:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def resolve(end: End | None, now: int) -> int | None:
    """The end to store: None stays indefinite (so does "until recovery": the recovery ends it);
    a relative end counts from now; past becomes now.

    Raises:
        NotAnEnd: a relative end beyond MAX_EPOCH.
    """
    if end is None or end.until_recovery:
        return None
    at = now + end.seconds if end.relative else end.seconds
    if at > MAX_EPOCH:
        raise NotAnEnd()
    return max(at, now)


def is_active(end: int | None, now: int) -> bool:
    return end is None or end > now


@dataclass(frozen=True)
class Span:
    spanid: int
    start: int
    end: int | None
    pending: bool = True
    """Its end has not been recorded yet (the expiry sweep's work)."""


def acknowledged_at(spans: Iterable[Span], second: int) -> bool:
    """Whether any span is active at `second` (started by then, not ended by then)."""
    return any(span.start <= second and is_active(span.end, second) for span in spans)


def unacknowledging_ends(spans: Iterable[Span], now: int) -> list[tuple[int, Span]]:
    """The pending ends up to `now` at which the event went from acknowledged to not, oldest first:
    each second with the span that ended then (of several ending in the same second, the newest)."""
    spans = list(spans)
    due: dict[int, Span] = {}
    for span in spans:
        if span.pending and span.end is not None and span.end <= now:
            latest = due.get(span.end)
            if latest is None or span.spanid > latest.spanid:
                due[span.end] = span
    return [
        (second, span) for second, span in sorted(due.items())
        if acknowledged_at(spans, second - 1) and not acknowledged_at(spans, second)
    ]


def creation_action(newly_acknowledges: bool, notes: str) -> int:
    """The history row's action for a new span: 2 when it newly acknowledges the event (+4 with
    notes), 4 with notes otherwise (the event was acknowledged already, or the span ended at once);
    0: no row."""
    return (ACKNOWLEDGE if newly_acknowledges else 0) | (MESSAGE if notes else 0)
