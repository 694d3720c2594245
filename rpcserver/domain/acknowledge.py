"""event.acknowledge's decisions (ZA §1): which requests are refused, and which bits apply to which event.

`check_action` is steps 2-4 of Zabbix 7.0's validateAcknowledge (mask, role, forbidden pairs);
`plan` is the per-event skipping of `acknowledge()` (ZA §1.4); `rank_to_symptom_allowed` is
`validateEventRankChangeToSymptom`. The effects of a plan are applied by storage.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

CLOSE, ACKNOWLEDGE, MESSAGE, SEVERITY, UNACKNOWLEDGE = 1, 2, 4, 8, 16
SUPPRESS, UNSUPPRESS, RANK_TO_CAUSE, RANK_TO_SYMPTOM = 32, 64, 128, 256
ALL_ACTIONS = 0x1FF

# (bit, role action, refusal) in Zabbix's order of checks
_ROLE_CHECKS: tuple[tuple[int, str, str], ...] = (
    (CLOSE, "close_problems", "no permissions to close problems"),
    (MESSAGE, "add_problem_comments", "no permissions to add problem comments"),
    (SEVERITY, "change_severity", "no permissions to change problem severity"),
)
_FORBIDDEN_PAIRS = ((ACKNOWLEDGE, UNACKNOWLEDGE), (SUPPRESS, UNSUPPRESS), (CLOSE, SUPPRESS), (CLOSE, UNSUPPRESS),
                    (RANK_TO_CAUSE, RANK_TO_SYMPTOM))


class ActionRefused(Exception):
    """The action is refused: the text is the reason after `Incorrect value for field "action": `."""


def _role_refusal(action: int, may: Callable[[str], bool]) -> str | None:
    for bit, role_action, refusal in _ROLE_CHECKS:
        if action & bit and not may(role_action):
            return refusal
    if action & (ACKNOWLEDGE | UNACKNOWLEDGE) and not may("acknowledge_problems"):
        return "no permissions to acknowledge problems" if action & ACKNOWLEDGE else "no permissions to unacknowledge problems"
    if action & (SUPPRESS | UNSUPPRESS) and not may("suppress_problems"):
        return "no permissions to suppress problems" if action & SUPPRESS else "no permissions to unsuppress problems"
    if action & (RANK_TO_CAUSE | RANK_TO_SYMPTOM) and not may("change_problem_ranking"):
        return ("no permissions to convert symptom problems to cause problems" if action & RANK_TO_CAUSE
                else "no permissions to convert cause problems to symptom problems")
    return None


def check_action(action: int, may: Callable[[str], bool]) -> None:
    """Steps 2-4: the mask, the role's problem actions, the pairs that cannot go together.

    Raises:
        ActionRefused: with Zabbix's reason.
    """
    if action & ALL_ACTIONS != action:
        raise ActionRefused(f'unexpected value "{action}"')
    refusal = _role_refusal(action, may)
    if refusal:
        raise ActionRefused(refusal)
    for first, second in _FORBIDDEN_PAIRS:
        if action & first and action & second:
            raise ActionRefused(f"value must be one of {first}, {second}")


@dataclass(slots=True)  # made per call: not frozen, whose __init__ is four times as slow
class EventState:
    eventid: int
    acknowledged: bool
    """It has an active acknowledgement span."""
    severity: int
    closed: bool
    """Resolved, or a close was requested before (Zabbix: r_eventid, or a history row with bit 1)."""
    manually_suppressed: bool
    cause_eventid: int | None
    """The event's cause when it is a symptom."""


@dataclass(slots=True)  # made per call: not frozen, whose __init__ is four times as slow
class Request:
    action: int
    message: str = ""
    severity: int = 0
    suppress_until: int = 0
    cause_eventid: int | None = None
    acknowledged_until: int | None = None
    """Ours: when bit 2's acknowledgement span ends (None: indefinite), resolved and clamped to now."""
    until_recovery: bool = False
    """Ours: bit 2's span also ends when the problem resolves (API.md §9)."""
    ends_at_once: bool = False
    """The span would end as it begins (acknowledged_until was in the past): bit 2 applies nowhere."""


@dataclass(slots=True)  # made per call: not frozen, whose __init__ is four times as slow
class Row:
    """One history row: the effective bits for one event, and what they carry."""

    eventid: int
    action: int
    message: str
    old_severity: int
    new_severity: int
    suppress_until: int


def rank_to_symptom_allowed(eventids: Sequence[int], cause: int, causes: dict[int, int | None]) -> list[int]:
    """Zabbix's validateEventRankChangeToSymptom: which of `eventids` may become symptoms of `cause`.

    `causes` maps every event involved (the ids and the cause) to its current cause (None for a cause);
    an event missing from it is one the caller cannot read.
    """
    allowed = dict.fromkeys(eventids, True)
    if any(eventid not in causes for eventid in [*allowed, cause]):
        return []
    if len(allowed) == 1 and cause in allowed:
        return []
    destination_cause = causes[cause]
    for eventid in list(allowed):
        current = causes[eventid]
        if current is None:
            if destination_cause is None and eventid == cause:
                allowed.pop(eventid, None)
        elif destination_cause is None:
            if current == cause:
                allowed.pop(eventid, None)
        else:
            if eventid == cause:
                allowed.pop(eventid, None)
            if current not in allowed:  # the list as trimmed so far, as Zabbix checks it
                allowed.pop(eventid, None)
    return list(allowed)


def plan(events: Iterable[EventState], request: Request, symptom_allowed: Iterable[int] = ()) -> list[Row]:
    """The history rows to write: per event, the requested bits that apply (ZA §1.4); none when none apply."""
    may_become_symptom = set(symptom_allowed)
    rows = []
    for event in events:
        action = 0
        if request.action & CLOSE and not event.closed:
            action |= CLOSE
        # "until recovery" on a problem that has recovered ends as it begins, as a past end does
        ends_at_once = request.ends_at_once or (request.until_recovery and event.closed)
        if request.action & ACKNOWLEDGE and not event.acknowledged and not ends_at_once:
            action |= ACKNOWLEDGE
        if request.action & UNACKNOWLEDGE and event.acknowledged:
            action |= UNACKNOWLEDGE
        if request.action & MESSAGE:
            action |= MESSAGE
        if request.action & SEVERITY and request.severity != event.severity:
            action |= SEVERITY
        if request.action & SUPPRESS and not event.closed:
            action |= SUPPRESS
        if request.action & UNSUPPRESS and event.manually_suppressed and not event.closed:
            action |= UNSUPPRESS
        if request.action & RANK_TO_CAUSE and event.cause_eventid is not None:
            action |= RANK_TO_CAUSE
        if request.action & RANK_TO_SYMPTOM and event.eventid in may_become_symptom:
            action |= RANK_TO_SYMPTOM
        if action:
            changed = bool(action & SEVERITY)
            rows.append(Row(
                event.eventid,
                action,
                request.message if action & MESSAGE else "",
                event.severity if changed else 0,
                request.severity if changed else 0,
                request.suppress_until if action & SUPPRESS else 0,
            ))
    return rows
