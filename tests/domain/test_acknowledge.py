"""event.acknowledge's pure decisions: the action checks, the skip table, the rank rule."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rpcserver.caller import ACTIONS
from rpcserver.domain.acknowledge import (
    ACKNOWLEDGE,
    CLOSE,
    MESSAGE,
    RANK_TO_CAUSE,
    RANK_TO_SYMPTOM,
    SEVERITY,
    SUPPRESS,
    UNACKNOWLEDGE,
    UNSUPPRESS,
    ActionRefused,
    EventState,
    Request,
    Row,
    check_action,
    plan,
    rank_to_symptom_allowed,
)

EVERYTHING = lambda action: True  # noqa: E731


def refusal(action: int, allowed: set[str] | None = None) -> str:
    with pytest.raises(ActionRefused) as info:
        check_action(action, EVERYTHING if allowed is None else allowed.__contains__)
    return str(info.value)


@pytest.mark.parametrize("action", [0, 1, 2, 4, 6, 8, 15, 16, 28, 32, 64, 128, 256, 1 | 2, 1 | 16, 8 | 16, 4 | 32])
def test_allowed_actions_pass(action: int) -> None:
    check_action(action, EVERYTHING)


@pytest.mark.parametrize("action", [512, 513, 1024, -1, -2, 2**31 - 1])
def test_the_mask_refuses_other_bits(action: int) -> None:
    assert refusal(action) == f'unexpected value "{action}"'


@pytest.mark.parametrize(
    "action, reason",
    [
        (2 | 16, "value must be one of 2, 16"),
        (32 | 64, "value must be one of 32, 64"),
        (1 | 32, "value must be one of 1, 32"),
        (1 | 64, "value must be one of 1, 64"),
        (1 | 32 | 64, "value must be one of 32, 64"),  # the 32/64 pair is checked first
        (128 | 256, "value must be one of 128, 256"),
        (2 | 16 | 32 | 64, "value must be one of 2, 16"),
    ],
)
def test_forbidden_pairs(action: int, reason: str) -> None:
    assert refusal(action) == reason


@pytest.mark.parametrize(
    "action, missing, reason",
    [
        (1, "close_problems", "no permissions to close problems"),
        (4, "add_problem_comments", "no permissions to add problem comments"),
        (8, "change_severity", "no permissions to change problem severity"),
        (2, "acknowledge_problems", "no permissions to acknowledge problems"),
        (16, "acknowledge_problems", "no permissions to unacknowledge problems"),
        (32, "suppress_problems", "no permissions to suppress problems"),
        (64, "suppress_problems", "no permissions to unsuppress problems"),
        (128, "change_problem_ranking", "no permissions to convert symptom problems to cause problems"),
        (256, "change_problem_ranking", "no permissions to convert cause problems to symptom problems"),
    ],
)
def test_each_role_action(action: int, missing: str, reason: str) -> None:
    assert refusal(action, set(ACTIONS) - {missing}) == reason


def test_role_checks_come_in_zabbix_order_and_before_pairs() -> None:
    nothing: set[str] = set()
    assert refusal(31, nothing) == "no permissions to close problems"
    assert refusal(4 | 8 | 2, nothing) == "no permissions to add problem comments"
    assert refusal(8 | 2, nothing) == "no permissions to change problem severity"
    assert refusal(2 | 16, nothing) == "no permissions to acknowledge problems"  # role before the 2/16 pair
    assert refusal(2 | 16, set(ACTIONS)) == "value must be one of 2, 16"
    assert refusal(512 | 1, nothing) == 'unexpected value "513"'  # the mask before the role


def state(eventid: int = 1, *, acknowledged: bool = False, severity: int = 3, closed: bool = False,
          suppressed: bool = False, cause: int | None = None) -> EventState:
    return EventState(eventid, acknowledged, severity, closed, suppressed, cause)


@pytest.mark.parametrize(
    "requested, event, effective",
    [
        (CLOSE, state(), CLOSE),
        (CLOSE, state(closed=True), 0),
        (ACKNOWLEDGE, state(), ACKNOWLEDGE),
        (ACKNOWLEDGE, state(acknowledged=True), 0),
        (UNACKNOWLEDGE, state(acknowledged=True), UNACKNOWLEDGE),
        (UNACKNOWLEDGE, state(), 0),
        (MESSAGE, state(closed=True, acknowledged=True), MESSAGE),
        (SEVERITY, state(severity=1), SEVERITY),
        (SEVERITY, state(severity=5), 0),
        (SUPPRESS, state(), SUPPRESS),
        (SUPPRESS, state(suppressed=True), SUPPRESS),  # no "already suppressed" check, as in Zabbix
        (SUPPRESS, state(closed=True), 0),
        (UNSUPPRESS, state(suppressed=True), UNSUPPRESS),
        (UNSUPPRESS, state(), 0),
        (UNSUPPRESS, state(suppressed=True, closed=True), 0),
        (RANK_TO_CAUSE, state(cause=9), RANK_TO_CAUSE),
        (RANK_TO_CAUSE, state(), 0),
        (ACKNOWLEDGE | MESSAGE, state(acknowledged=True), MESSAGE),
        (CLOSE | ACKNOWLEDGE, state(closed=True), ACKNOWLEDGE),
        (ACKNOWLEDGE | SEVERITY, state(closed=True, severity=1), ACKNOWLEDGE | SEVERITY),  # resolved: ack and severity apply
    ],
)
def test_the_skip_table(requested: int, event: EventState, effective: int) -> None:
    rows = plan([event], Request(requested, "note", 5, 0))
    assert [row.action for row in rows] == ([effective] if effective else [])


def test_rows_carry_data_only_for_the_bits_that_apply() -> None:
    (row,) = plan([state(severity=2)], Request(ACKNOWLEDGE | MESSAGE | SEVERITY, "done", 4))
    assert row == Row(1, ACKNOWLEDGE | MESSAGE | SEVERITY, "done", 2, 4, 0)
    (row,) = plan([state(severity=4, acknowledged=True)], Request(ACKNOWLEDGE | SEVERITY | MESSAGE, "same", 4))
    assert row == Row(1, MESSAGE, "same", 0, 0, 0)  # severity unchanged: 0/0
    (row,) = plan([state()], Request(ACKNOWLEDGE | SUPPRESS, "ignored", 0, 1_800_000_000))
    assert row == Row(1, ACKNOWLEDGE | SUPPRESS, "", 0, 0, 1_800_000_000)


def test_an_acknowledgement_that_would_end_at_once_applies_nowhere() -> None:
    assert plan([state()], Request(ACKNOWLEDGE, acknowledged_until=1_700_000_000, ends_at_once=True)) == []
    (row,) = plan([state()], Request(ACKNOWLEDGE | MESSAGE, "m", acknowledged_until=1_700_000_000, ends_at_once=True))
    assert row.action == MESSAGE
    (row,) = plan([state()], Request(ACKNOWLEDGE, acknowledged_until=1_700_000_300))
    assert row.action == ACKNOWLEDGE


def test_an_acknowledgement_until_recovery_applies_only_to_problems_not_yet_over() -> None:
    rows = plan([state(1), state(2, closed=True)], Request(ACKNOWLEDGE | MESSAGE, "m", until_recovery=True))
    assert [(row.eventid, row.action) for row in rows] == [(1, ACKNOWLEDGE | MESSAGE), (2, MESSAGE)]


def test_rank_to_symptom_only_for_allowed_events() -> None:
    events = [state(1), state(2)]
    assert [r.eventid for r in plan(events, Request(RANK_TO_SYMPTOM, cause_eventid=3), symptom_allowed=[2])] == [2]


# validateEventRankChangeToSymptom: causes maps each event to its cause (None: it is a cause).
@pytest.mark.parametrize(
    "eventids, cause, causes, allowed",
    [
        ([1], 2, {1: None, 2: None}, [1]),  # a cause becomes a symptom of another cause
        ([1], 1, {1: None}, []),  # the only id is the cause itself
        ([1, 2], 1, {1: None, 2: None}, [2]),  # a cause moved to itself is skipped
        ([5], 2, {5: 2, 2: None}, []),  # a symptom already of that cause
        ([5], 3, {5: 2, 3: None}, [5]),  # a symptom moves to another cause
        ([5], 6, {5: 2, 6: 2}, []),  # onto a symptom: only if the own cause is moved too
        ([2, 5], 6, {2: None, 5: 2, 6: 2}, [2, 5]),  # onto a symptom, with its own cause moving too
        ([6, 5], 6, {5: 2, 6: 2}, []),  # a symptom onto itself; then 5's cause (2) is not in the list
        ([1], 4, {1: None, 4: 1}, [1]),  # a cause onto its own symptom: allowed (they swap)
        ([1], 9, {1: None}, []),  # the cause cannot be read
    ],
)
def test_rank_to_symptom_rule(eventids: list[int], cause: int, causes: dict[int, int | None], allowed: list[int]) -> None:
    assert rank_to_symptom_allowed(eventids, cause, causes) == allowed


events = st.builds(
    state,
    eventid=st.integers(1, 50),
    acknowledged=st.booleans(),
    severity=st.integers(0, 5),
    closed=st.booleans(),
    suppressed=st.booleans(),
    cause=st.none() | st.integers(51, 60),
)
requests = st.builds(
    Request,
    action=st.integers(0, 0x1FF).filter(lambda a: not (a & 2 and a & 16) and not (a & 32 and a & 64) and not (a & 128 and a & 256)),
    message=st.text(min_size=1, max_size=5),
    severity=st.integers(0, 5),
    suppress_until=st.integers(0, 2**31 - 1),
)


def after(event: EventState, row: Row | None) -> EventState:
    """The event's state once a row's effects are applied."""
    if row is None:
        return event
    acknowledged = event.acknowledged
    if row.action & ACKNOWLEDGE:
        acknowledged = True
    if row.action & UNACKNOWLEDGE:
        acknowledged = False
    return EventState(
        event.eventid, acknowledged, row.new_severity if row.action & SEVERITY else event.severity,
        event.closed or bool(row.action & CLOSE),
        (event.manually_suppressed or bool(row.action & SUPPRESS)) and not row.action & UNSUPPRESS,
        None if row.action & RANK_TO_CAUSE else event.cause_eventid,
    )


@given(event=events, request=requests)
def test_rows_only_hold_requested_bits(event: EventState, request: Request) -> None:
    for row in plan([event], request):
        assert row.action and row.action & request.action == row.action


@given(event=events, request=requests)
def test_applying_the_same_request_twice_writes_nothing_new_but_messages(event: EventState, request: Request) -> None:
    first = plan([event], request)
    second = plan([after(event, first[0] if first else None)], request)
    for row in second:
        # Only what applies again by nature: a message, and (re)suppressing an open problem.
        assert row.action & ~(MESSAGE | SUPPRESS) == 0


@given(st.lists(events, unique_by=lambda e: e.eventid, max_size=20), requests)
def test_one_row_per_event_at_most_in_request_order(batch: list[EventState], request: Request) -> None:
    rows = plan(batch, request)
    positions = [next(i for i, e in enumerate(batch) if e.eventid == row.eventid) for row in rows]
    assert positions == sorted(set(positions))
