"""Units of work of acknowledgement.*: opening and changing acknowledgement spans, each with its
event locked. Kept apart from `spans` because they lock through `acknowledge`, which builds on `spans`."""

from __future__ import annotations

from typing import Any

from ..caller import Caller
from ..domain import spans as rules
from ..domain.acknowledge import MESSAGE, UNACKNOWLEDGE
from ..domain.errors import Forbidden, NotFound
from ..domain.lifetime import SpanEnd
from . import spans
from .acknowledge import lock_events, problem_events
from .engine import Db

NO_LONGER_ACTIVE = 'Acknowledgement "{}" is no longer active; create a new one.'


def create_span(conn: Db, eventid: int, end: SpanEnd, notes: str, caller: Caller, now: int) -> dict[str, Any]:
    lock_events(conn, [eventid])
    if not problem_events(conn, [eventid], caller.viewer):
        raise NotFound()
    spans.record_ends(conn, now, [eventid])  # ends already due are history before this call's row
    end = spans.end_on(conn, eventid, end, now)
    newly = rules.is_active(end.until, now) and not spans.acknowledged_events(conn, [eventid], now)
    spanid = spans.open_span(conn, eventid, caller.userid, now, end, notes)
    action = rules.creation_action(newly, notes)
    if action:
        spans.write_history(conn, [(caller.userid, eventid, now, notes if action & MESSAGE else "", action)], now)
    return spans.stored_span(conn, spanid, now)


def update_span(conn: Db, spanid: int, changes: dict[str, Any], caller: Caller,
                now: int) -> dict[str, Any]:
    lock_events(conn, spans.span_events(conn, [spanid]))
    span = spans.span_by_id(conn, spanid, caller.viewer, now)
    if span is None:
        raise NotFound()
    if not span["active"]:
        raise Forbidden(NO_LONGER_ACTIVE.format(spanid))
    current = SpanEnd(span["acknowledged_until"], bool(span["until_recovery"]))
    end = spans.end_on(conn, span["eventid"], changes.get("acknowledged_until", current), now)
    notes = changes.get("notes", span["notes"])
    if (end, notes) == (current, span["notes"]):
        return span  # the current values change nothing, not even last_modified
    eventid = span["eventid"]
    spans.record_ends(conn, now, [eventid])
    spans.change_span(conn, spanid, end, notes, caller.userid, now)
    if not rules.is_active(end.until, now) and not spans.acknowledged_events(conn, [eventid], now):
        spans.write_history(conn, [(caller.userid, eventid, now, "", UNACKNOWLEDGE)], now)  # ended the last one
    return spans.stored_span(conn, spanid, now)
