"""Acknowledgement spans' pure rules: reading acknowledged_until, resolving it against an injected
clock, and the expiry arithmetic, checked against a second-by-second timeline."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rpcserver.domain.acknowledge import ACKNOWLEDGE, MESSAGE
from rpcserver.domain.spans import (
    MAX_EPOCH,
    UNITS,
    End,
    NotAnEnd,
    Span,
    acknowledged_at,
    creation_action,
    format_duration,
    is_active,
    parse_end,
    resolve,
    unacknowledging_ends,
)

NOW = 1_700_000_000
nows = st.integers(min_value=0, max_value=MAX_EPOCH)


@given(st.integers(min_value=0, max_value=MAX_EPOCH))
def test_a_formatted_duration_reads_back(seconds: int) -> None:
    assert parse_end(format_duration(seconds)) == End(seconds, relative=True)


@given(st.integers(min_value=0, max_value=20_000), st.sampled_from(sorted(UNITS)))
def test_units_multiply(n: int, unit: str) -> None:
    assert parse_end(f"{n}{unit}") == End(n * UNITS[unit], relative=True)


def test_examples_of_the_contract() -> None:
    assert resolve(parse_end("5m"), NOW) == NOW + 300
    assert resolve(parse_end("30s"), NOW) == NOW + 30
    assert resolve(parse_end("2h"), NOW) == NOW + 7200
    assert resolve(parse_end("1d"), NOW) == NOW + 86400
    assert resolve(parse_end("0s"), NOW) == NOW
    assert resolve(parse_end(NOW + 5), NOW) == NOW + 5
    assert resolve(parse_end(0), NOW) == NOW  # the past, as Circonus' Go client sends to cancel
    assert resolve(parse_end(None), NOW) is None
    assert format_duration(300) == "5m" and format_duration(90) == "90s" and format_duration(0) == "0s"


@pytest.mark.parametrize(
    "value",
    ["5x", "-5m", "m", "", "5", "300", " 5m", "5m ", "5M", "1.5h", "5mm", "٥m", "+5m", 1.5, 1.0, -1, True, False,
     MAX_EPOCH + 1, 32_503_680_000, "2147483648s", "24856d", "99999999999999999999d", "9" * 5000 + "s", [], {}],
)
def test_anything_else_is_refused(value: object) -> None:
    with pytest.raises(NotAnEnd):
        parse_end(value)


@given(st.one_of(st.none(), st.integers(min_value=0, max_value=MAX_EPOCH).map(End),
                 st.integers(min_value=0, max_value=10**7).map(lambda s: End(s, relative=True))), nows)
def test_resolving_never_gives_a_past_time(end: End | None, now: int) -> None:
    try:
        at = resolve(end, now)
    except NotAnEnd:
        assert end is not None and end.relative and now + end.seconds > MAX_EPOCH
        return
    if end is None:
        assert at is None
    else:
        assert at is not None and now <= at <= MAX_EPOCH
        assert at == max(now, now + end.seconds if end.relative else end.seconds)


@given(st.one_of(st.none(), nows), nows)
def test_active_until_the_second_it_ends(end: int | None, now: int) -> None:
    assert is_active(end, now) == (end is None or now < end)


def test_creation_action() -> None:
    assert creation_action(True, "") == ACKNOWLEDGE
    assert creation_action(True, "on it") == ACKNOWLEDGE | MESSAGE
    assert creation_action(False, "on it") == MESSAGE
    assert creation_action(False, "") == 0


# --- the expiry arithmetic ---


@st.composite
def span_sets(draw: st.DrawFn) -> tuple[list[Span], int]:
    """Spans over a short stretch of time, some indefinite, some already recorded; and a now."""
    spans = []
    for spanid in range(1, draw(st.integers(min_value=0, max_value=6)) + 1):
        start = draw(st.integers(min_value=0, max_value=20))
        end = draw(st.one_of(st.none(), st.integers(min_value=start, max_value=30)))
        spans.append(Span(spanid, start, end, pending=draw(st.booleans())))
    return spans, draw(st.integers(min_value=0, max_value=35))


@given(span_sets())
def test_an_end_is_recorded_exactly_when_the_timeline_drops(case: tuple[list[Span], int]) -> None:
    spans, now = case
    found = unacknowledging_ends(spans, now)
    pending_ends = {span.end for span in spans if span.pending and span.end is not None and span.end <= now}
    drops = [t for t in sorted(pending_ends) if acknowledged_at(spans, t - 1) and not acknowledged_at(spans, t)]
    assert [second for second, _ in found] == drops
    for second, span in found:
        assert span.pending and span.end == second <= now
        assert span.spanid == max(s.spanid for s in spans if s.pending and s.end == second)


def test_an_end_covered_by_another_span_records_nothing() -> None:
    first, longer = Span(1, 0, 100), Span(2, 50, 200)
    assert unacknowledging_ends([first, longer], 150) == []
    assert unacknowledging_ends([first, longer], 200) == [(200, longer)]
    assert unacknowledging_ends([first, Span(2, 50, None)], 10**6) == []


def test_spans_ending_in_the_same_second_make_one_end() -> None:
    spans = [Span(1, 0, 100), Span(2, 10, 100), Span(3, 20, 100, pending=False)]
    assert unacknowledging_ends(spans, 100) == [(100, spans[1])]


def test_nothing_is_due_before_its_second() -> None:
    assert unacknowledging_ends([Span(1, 0, 100)], 99) == []
    assert unacknowledging_ends([Span(1, 0, 100)], 100) == [(100, Span(1, 0, 100))]
    assert unacknowledging_ends([Span(1, 0, 100, pending=False)], 100) == []
