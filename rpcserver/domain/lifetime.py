"""How long an acknowledgement lasts (API.md §9): the server's policy, as pure functions.

`Lifetime` is the policy (`--ack-default-duration`, `--ack-max-duration`, `--flap-guard`), the same
in every dialect. `span_end` turns an `acknowledged_until` as sent (or left out) into the span to
store; `carries_over` is the flap guard's test.
"""

from __future__ import annotations

from dataclasses import dataclass

from .spans import MAX_EPOCH, End, resolve

DEFAULT_FLAP_GUARD = 300


@dataclass(frozen=True)
class Duration:
    seconds: int
    text: str
    """As configured ("7d"): how refusals name it."""


@dataclass(frozen=True)
class Lifetime:
    default: Duration | None = None
    """The length of an acknowledgement opened without an end; None: indefinite."""
    maximum: Duration | None = None
    """The longest end from now one may be given; it also caps `default`. None: no limit."""
    flap_guard: int = DEFAULT_FLAP_GUARD
    """Seconds after a recovery within which the trigger's new problem inherits its "recovery"
    acknowledgements; 0: never."""


@dataclass(slots=True)  # made per call: not frozen, whose __init__ is four times as slow
class SpanEnd:
    """A span's end as stored: `until` (None: none set) and whether the problem's recovery ends it."""

    until: int | None
    until_recovery: bool = False


class TooLong(ValueError):
    """An explicit end beyond the maximum; the text is the reason, naming the maximum as configured."""

    def __init__(self, maximum: Duration) -> None:
        super().__init__(f"at most {maximum.text} from now")


def _from_now(seconds: int | None, now: int) -> int | None:
    return None if seconds is None else min(now + seconds, MAX_EPOCH)


def default_end(lifetime: Lifetime, now: int) -> int | None:
    """The end of an acknowledgement opened at `now` without one: the default, capped by the maximum."""
    lengths = [d.seconds for d in (lifetime.default, lifetime.maximum) if d is not None]
    return _from_now(min(lengths) if lengths else None, now)


def until_recovery(lifetime: Lifetime, now: int) -> SpanEnd:
    """A span opened at `now` that lasts until its problem resolves, and at the maximum at the latest."""
    return SpanEnd(_from_now(lifetime.maximum.seconds if lifetime.maximum else None, now), until_recovery=True)


def span_end(sent: End | None, lifetime: Lifetime, now: int) -> SpanEnd:
    """The end to store for `acknowledged_until` as sent (None: left out or null, i.e. the default).

    "recovery" ends when the problem resolves, and at the maximum from now at the latest.

    Raises:
        TooLong: an explicit end further from now than the maximum.
        NotAnEnd: a relative end beyond the last storable second.
    """
    if sent is None:
        return SpanEnd(default_end(lifetime, now))
    if sent.until_recovery:
        return until_recovery(lifetime, now)
    maximum = lifetime.maximum
    until = resolve(sent, now)
    if maximum is not None and until is not None and until > now + maximum.seconds:
        raise TooLong(maximum)
    return SpanEnd(until)


def carries_over(resolved_at: int, reopened_at: int, lifetime: Lifetime) -> bool:
    """Whether a problem reopened at `reopened_at` inherits the "recovery" acknowledgements of its
    trigger's problem that resolved at `resolved_at`: within the flap guard (inclusive)."""
    return lifetime.flap_guard > 0 and 0 <= reopened_at - resolved_at <= lifetime.flap_guard


def carry_over_message(old_eventid: int, lifetime: Lifetime) -> str:
    return f"Acknowledgement carried over from problem {old_eventid} (reopened within {lifetime.flap_guard} s)."
