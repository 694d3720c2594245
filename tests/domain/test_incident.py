"""The incident transition table: every cell, allowed and refused, and the refusal's data."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rpcserver.domain.incident import (
    STATUSES,
    TRANSITIONS,
    TransitionRefused,
    check_transition,
    status_of,
)

ALLOWED = {("open", "acknowledged"), ("open", "resolved"), ("acknowledged", "open"), ("acknowledged", "resolved"),
           ("acknowledged", "closed"), ("resolved", "closed")}


@pytest.mark.parametrize("from_status, to_status", list(itertools.product(STATUSES, STATUSES)))
def test_every_cell_of_the_table(from_status: str, to_status: str) -> None:
    if (from_status, to_status) in ALLOWED:
        check_transition(from_status, to_status)
    else:
        with pytest.raises(TransitionRefused):
            check_transition(from_status, to_status)


def test_refusal_data_lists_valid_transitions_in_table_order() -> None:
    with pytest.raises(TransitionRefused) as info:
        check_transition("resolved", "acknowledged")
    assert info.value.data() == {
        "code": "VALIDATION_ERROR",
        "message": "Cannot transition from resolved to acknowledged. Valid transitions: closed",
        "fromStatus": "resolved",
        "toStatus": "acknowledged",
        "validTransitions": ["closed"],
    }
    with pytest.raises(TransitionRefused) as info:
        check_transition("acknowledged", "acknowledged")
    assert info.value.data()["message"] == "Cannot transition from acknowledged to acknowledged. Valid transitions: open, resolved, closed"
    with pytest.raises(TransitionRefused) as info:
        check_transition("closed", "open")
    assert info.value.data()["message"] == "Cannot transition from closed to open. Valid transitions: none"
    assert info.value.data()["validTransitions"] == []


@given(closed=st.booleans(), resolved=st.booleans(), acknowledged=st.booleans())
def test_status_precedence(closed: bool, resolved: bool, acknowledged: bool) -> None:
    status = status_of(closed=closed, resolved=resolved, acknowledged=acknowledged)
    assert status == ("closed" if closed else "resolved" if resolved else "acknowledged" if acknowledged else "open")


def test_no_transition_leads_back_from_closed_and_none_stays_put() -> None:
    assert TRANSITIONS["closed"] == ()
    assert all(status not in targets for status, targets in TRANSITIONS.items())
