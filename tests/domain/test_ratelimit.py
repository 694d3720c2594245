"""The sliding-window rate limit, with the clock passed in."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from rpcserver.domain.ratelimit import retry_after


def accept(times: list[float], limit: int) -> list[float]:
    """The calls a caller sending at `times` gets accepted (refused ones are not counted)."""
    counted: list[float] = []
    for t in sorted(times):
        if retry_after(counted, t, limit) is None:
            counted.append(t)
    return counted


def test_the_limit_holds_and_says_when_to_retry() -> None:
    counted = [0, 10, 20]
    assert retry_after(counted[:2], 30, 3) is None
    assert retry_after(counted, 30, 3) == 30  # the call at 0 leaves the window at 60
    assert retry_after(counted, 59.5, 3) == 1  # rounded up, never 0
    assert retry_after(counted, 60, 3) is None  # the first one has left


def test_refused_calls_do_not_count() -> None:
    assert accept([0, *range(1, 60), 60], 1) == [0, 60]


@given(st.lists(st.floats(min_value=0, max_value=600, allow_nan=False), max_size=80), st.integers(1, 10))
def test_never_more_than_limit_accepted_within_a_window(times: list[float], limit: int) -> None:
    accepted = accept(times, limit)
    for i, t in enumerate(accepted):
        assert sum(1 for u in accepted[i:] if u < t + 60) <= limit


@given(st.lists(st.floats(min_value=0, max_value=600, allow_nan=False), max_size=20), st.floats(0, 700))
def test_retry_is_between_1_and_60_seconds(counted: list[float], now: float) -> None:
    retry = retry_after(counted, now, 2)
    assert retry is None or 1 <= retry <= 60
