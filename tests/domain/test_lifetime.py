"""The acknowledgement lifetime policy's pure rules (API.md §9): defaults, maxima, "recovery", the flap guard."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rpcserver.config import Config, ConfigError
from rpcserver.domain.lifetime import (
    Duration,
    Lifetime,
    SpanEnd,
    TooLong,
    carries_over,
    carry_over_message,
    default_end,
    span_end,
)
from rpcserver.domain.spans import MAX_EPOCH, NotAnEnd, parse_end

NOW = 1_700_000_000
FOUR_HOURS = Duration(4 * 3600, "4h")
ONE_DAY = Duration(86400, "1d")
lengths = st.integers(min_value=1, max_value=10 * 365 * 86400)


def test_without_a_policy_an_acknowledgement_sent_without_an_end_is_indefinite() -> None:
    assert span_end(None, Lifetime(), NOW) == SpanEnd(None)
    assert span_end(parse_end("5m"), Lifetime(), NOW) == SpanEnd(NOW + 300)


def test_the_default_ends_one_sent_without_an_end_and_the_maximum_caps_it() -> None:
    assert span_end(None, Lifetime(default=FOUR_HOURS), NOW) == SpanEnd(NOW + 4 * 3600)
    assert span_end(None, Lifetime(default=ONE_DAY, maximum=FOUR_HOURS), NOW) == SpanEnd(NOW + 4 * 3600)
    assert span_end(None, Lifetime(maximum=FOUR_HOURS), NOW) == SpanEnd(NOW + 4 * 3600)
    assert span_end(None, Lifetime(default=FOUR_HOURS, maximum=ONE_DAY), NOW) == SpanEnd(NOW + 4 * 3600)


@given(lengths, lengths)
def test_an_explicit_end_up_to_the_maximum_is_kept_and_beyond_it_refused(maximum: int, asked: int) -> None:
    lifetime = Lifetime(maximum=Duration(maximum, f"{maximum}s"))
    for sent in (parse_end(f"{asked}s"), parse_end(NOW + asked)):
        if asked <= maximum:
            assert span_end(sent, lifetime, NOW) == SpanEnd(NOW + asked)
        else:
            with pytest.raises(TooLong, match=f"^at most {maximum}s from now$"):
                span_end(sent, lifetime, NOW)


def test_the_refusal_names_the_maximum_as_configured() -> None:
    with pytest.raises(TooLong) as refused:
        span_end(parse_end("8d"), Lifetime(maximum=Duration(7 * 86400, "7d")), NOW)
    assert str(refused.value) == "at most 7d from now"


def test_a_past_end_is_now_whatever_the_maximum() -> None:
    assert span_end(parse_end(5), Lifetime(maximum=FOUR_HOURS), NOW) == SpanEnd(NOW)


def test_recovery_lasts_until_the_problem_resolves_and_the_maximum_at_the_latest() -> None:
    assert span_end(parse_end("recovery"), Lifetime(default=FOUR_HOURS), NOW) == SpanEnd(None, until_recovery=True)
    assert span_end(parse_end("recovery"), Lifetime(maximum=ONE_DAY), NOW) == SpanEnd(NOW + 86400, until_recovery=True)


def test_recovery_is_read_only_as_the_exact_word() -> None:
    for sent in ("Recovery", "recovery ", "recover", ["recovery"]):
        with pytest.raises(NotAnEnd):
            parse_end(sent)


def test_a_default_never_goes_past_the_last_storable_second() -> None:
    assert default_end(Lifetime(default=ONE_DAY), MAX_EPOCH - 5) == MAX_EPOCH


@given(st.integers(min_value=0, max_value=3600), st.integers(min_value=-10, max_value=4000))
def test_the_flap_guard_is_inclusive_and_zero_turns_it_off(guard: int, after: int) -> None:
    lifetime = Lifetime(flap_guard=guard)
    assert carries_over(NOW, NOW + after, lifetime) == (guard > 0 and 0 <= after <= guard)


def test_the_carry_over_message() -> None:
    assert carry_over_message(41, Lifetime()) == "Acknowledgement carried over from problem 41 (reopened within 300 s)."


def test_config_reads_durations_as_zabbix_time_units() -> None:
    lifetime = Config(ack_default_duration="4h", ack_max_duration="604800", flap_guard=60).lifetime
    assert lifetime == Lifetime(Duration(14400, "4h"), Duration(604800, "604800s"), 60)
    assert Config().lifetime == Lifetime()


@pytest.mark.parametrize("value", ["0", "0s", "4x", "-5m", "", "1.5h"])
def test_config_refuses_what_is_not_a_duration(value: str) -> None:
    with pytest.raises(ConfigError, match="ack-max-duration must be a duration of at least 1 second"):
        Config(ack_max_duration=value)


def test_config_refuses_a_negative_flap_guard() -> None:
    with pytest.raises(ConfigError, match="flap-guard must not be negative"):
        Config(flap_guard=-1)
