"""The sliding-window rate limit, with the clock passed in."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from rpcserver.domain.ratelimit import SlidingWindow


def test_the_limit_holds_in_any_sliding_window_and_says_when_to_retry() -> None:
    limit = SlidingWindow(3, 60)
    assert [limit.acquire("u", t) for t in (0, 10, 20)] == [None, None, None]
    assert limit.acquire("u", 30) == 30  # the call at 0 leaves the window at 60
    assert limit.acquire("u", 59.5) == 1  # rounded up, never 0
    assert limit.acquire("u", 60) is None  # the first one has left
    assert limit.acquire("v", 60) is None  # per caller


def test_refused_calls_do_not_count() -> None:
    limit = SlidingWindow(1, 60)
    assert limit.acquire("u", 0) is None
    for t in range(1, 59):
        assert limit.acquire("u", t) is not None
    assert limit.acquire("u", 60) is None


def test_released_calls_do_not_count() -> None:
    limit = SlidingWindow(1, 60)
    assert limit.acquire("u", 5) is None
    limit.release("u", 5)
    assert limit.acquire("u", 6) is None


@given(st.lists(st.floats(min_value=0, max_value=600, allow_nan=False), max_size=80), st.integers(1, 10))
def test_never_more_than_limit_accepted_within_a_window(times: list[float], n: int) -> None:
    limit = SlidingWindow(n, 60)
    accepted = [t for t in sorted(times) if limit.acquire("u", t) is None]
    for i, t in enumerate(accepted):
        assert sum(1 for u in accepted[i:] if u < t + 60) <= n


@given(st.lists(st.floats(min_value=0, max_value=600, allow_nan=False), min_size=1, max_size=80))
def test_retry_is_between_1_and_60_seconds(times: list[float]) -> None:
    limit = SlidingWindow(2, 60)
    for t in sorted(times):
        retry = limit.acquire("u", t)
        assert retry is None or 1 <= retry <= 60
