"""SQL of acknowledgement spans (API.md §5): the one test of "acknowledged", opening and ending
spans, recording ends as history (the expiry sweep), and reading spans for acknowledgement.get.

An event is acknowledged exactly while it has an active span: `acknowledged_sql` is that test for
every read and decision, with the call's clock bound as `:now`. Nothing else stores it (schema v2
dropped the events/problem `acknowledged` mirrors: two far-apart pages written per acknowledge).

A span's end is "recorded" once it is history: an end made by a call (bit 16, a cancelling update,
a span created already ended) is recorded by that call; an end that merely arrives is recorded by
`record_ends`, which writes the action-16 row when it left the event unacknowledged. Every write on
an event records its due ends first, so history rows stay in the order things happened. A span
"until recovery" (API.md §9) is ended and recorded by the transaction that resolves its problem
(`end_at_recovery`), which also marks it as one the flap guard may carry over (`recovered_spans`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..domain.acknowledge import UNACKNOWLEDGE
from ..domain.lifetime import SpanEnd
from ..domain.spans import Span, is_active, unacknowledging_ends
from . import webhooks
from ._sql import inserted_id, json_ids, order_at
from .engine import Db
from .permissions import READ, permitted_hostids

INDEFINITE = 2**63 - 1
"""How a NULL (indefinite) end compares and sorts: after every time."""


def active_sql(alias: str) -> str:
    """Whether the span under `alias` is active at `:now`."""
    return f"({alias}.acknowledged_until IS NULL OR {alias}.acknowledged_until > :now)"


def _has_active_span(eventid: str) -> str:
    return f"EXISTS (SELECT 1 FROM acknowledgement ak WHERE ak.eventid = {eventid} AND {active_sql('ak')})"


def acknowledged_sql(alias: str) -> str:
    """Whether the event (or problem) under `alias` has an active span at `:now`: 1 or 0."""
    return _has_active_span(f"{alias}.eventid")


def acknowledged_events(conn: Db, eventids: Iterable[int], now: int) -> set[int]:
    """Those of `eventids` that are acknowledged at `now`."""
    rows = conn.execute(f"SELECT j.value FROM {conn.engine.ids('ids')} j WHERE {_has_active_span('j.value')}",
                        {"ids": json_ids(eventids), "now": now})
    return {eventid for (eventid,) in rows}


def span_events(conn: Db, spanids: Sequence[int]) -> list[int]:
    """The events of the spans `spanids` (a span never moves to another event)."""
    return [eventid for (eventid,) in conn.execute(
        f"SELECT DISTINCT a.eventid FROM {conn.engine.ids('ids')} j JOIN acknowledgement a ON a.acknowledgementid = j.value",
        {"ids": json_ids(spanids)},
    )]


def write_history(conn: Db, rows: Sequence[tuple[int, int, int, str, int]], now: int, *, expired: bool = False) -> None:
    """acknowledges rows of (userid, eventid, clock, message, action), and their webhook deliveries;
    `expired`: the rows record ends that arrived (the expiry sweep), not a caller's unacknowledge."""
    conn.executemany("INSERT INTO acknowledges (userid, eventid, clock, message, action) VALUES (?, ?, ?, ?, ?)", rows)
    webhooks.enqueue(conn, rows, now, expired=expired)


_SPAN_COLUMNS = ("INSERT INTO acknowledgement (eventid, userid, acknowledged_on, acknowledged_until, until_recovery, notes,"
                 " last_modified, last_modified_by, end_recorded)")
_INSERT_SPAN = _SPAN_COLUMNS + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
_INSERT_SPAN_RETURNING_ID = _INSERT_SPAN + " RETURNING acknowledgementid"
"""Whole, made once: the driver's statement cache hashes the text of every new string it is given."""


def _end_columns(end: SpanEnd, now: int) -> tuple[int | None, int, int]:
    """A new span's acknowledged_until, until_recovery and end_recorded (a span not active from the start
    is recorded as ended at once)."""
    return end.until, int(end.until_recovery), int(not is_active(end.until, now))


def _span_params(userid: int, now: int, end: SpanEnd, notes: str) -> dict[str, Any]:
    until, until_recovery, recorded = _end_columns(end, now)
    return {"userid": userid, "now": now, "until": until, "notes": notes, "until_recovery": until_recovery, "recorded": recorded}


def _span_row(eventid: int, userid: int, now: int, end: SpanEnd, notes: str) -> tuple[Any, ...]:
    """`_INSERT_SPAN`'s parameters, in `_SPAN_COLUMNS`' order: by position, as sqlite3 binds a name by
    making it a string and looking it up (a third of the row's cost)."""
    until, until_recovery, recorded = _end_columns(end, now)
    return (eventid, userid, now, until, until_recovery, notes, now, userid, recorded)


def open_spans(conn: Db, eventids: Sequence[int], userid: int, now: int, end: SpanEnd, notes: str) -> None:
    """One span per event from now, their ids in the order of `eventids` (one not active from the start
    is recorded as ended at once)."""
    # One event (nearly every call): a plain VALUES row. With SQLite, json_each, its ORDER BY and a
    # RETURNING cost two to three times as much as the row itself (bench/README.md).
    if len(eventids) == 1:
        conn.execute(_INSERT_SPAN, _span_row(eventids[0], userid, now, end, notes))
        return
    conn.execute(
        _SPAN_COLUMNS + " SELECT j.value, CAST(:userid AS BIGINT), CAST(:now AS BIGINT), CAST(:until AS BIGINT),"
        " CAST(:until_recovery AS INTEGER), CAST(:notes AS TEXT), CAST(:now AS BIGINT), CAST(:userid AS BIGINT),"
        f" CAST(:recorded AS INTEGER) FROM {conn.engine.ids('ids')} j ORDER BY j.key",
        {**_span_params(userid, now, end, notes), "ids": json_ids(eventids)},
    )


def open_each(conn: Db, spans: Sequence[tuple[int, int, int, SpanEnd, str]]) -> None:
    """A span for each (eventid, userid, now, end, notes), in that order: `open_spans` of several calls at once."""
    conn.executemany(_INSERT_SPAN, [_span_row(*span) for span in spans])


def open_span(conn: Db, eventid: int, userid: int, now: int, end: SpanEnd, notes: str) -> int:
    """`open_spans` of one event, returning the new span's id."""
    return inserted_id(conn.execute(_INSERT_SPAN_RETURNING_ID, _span_row(eventid, userid, now, end, notes)))


def end_active_spans(conn: Db, eventids: Sequence[int], userid: int, now: int) -> None:
    """End every active span of the events now, by `userid` (bit 16); the caller writes the history."""
    conn.execute(
        "UPDATE acknowledgement AS a SET acknowledged_until = :now, last_modified = :now, last_modified_by = :userid,"
        f" end_recorded = 1 WHERE a.eventid IN (SELECT value FROM {conn.engine.ids('ids')}) AND {active_sql('a')}",
        {"now": now, "userid": userid, "ids": json_ids(eventids)},
    )


def change_span(conn: Db, spanid: int, end: SpanEnd, notes: str, userid: int, now: int) -> None:
    """Set a span's end and notes, modified now by `userid`; an end not ahead of now is recorded."""
    conn.execute(
        "UPDATE acknowledgement SET acknowledged_until = ?, until_recovery = ?, notes = ?, last_modified = ?,"
        " last_modified_by = ?, end_recorded = ? WHERE acknowledgementid = ?",
        (end.until, int(end.until_recovery), notes, now, userid, int(not is_active(end.until, now)), spanid),
    )


# --- "until recovery" (API.md §9) ---------------------------------------------------------------


def end_at_recovery(conn: Db, eventid: int, clock: int) -> None:
    """End the problem's active "until recovery" spans at its recovery (`clock`, or a span's own start
    if later), inside the transaction that resolves it: so the ends are made and recorded once, whoever
    resolves, with one action-16 row (by the newest span's user) when they leave the problem unacknowledged."""
    record_ends(conn, clock, [eventid])  # ends already due are history first
    ended = conn.execute(
        "UPDATE acknowledgement AS a SET ended_by_recovery = 1, end_recorded = 1, acknowledged_until ="
        " CASE WHEN a.acknowledged_on > :now THEN a.acknowledged_on ELSE CAST(:now AS BIGINT) END"
        f" WHERE a.eventid = :eventid AND a.until_recovery = 1 AND {active_sql('a')}"
        " RETURNING acknowledgementid, userid",
        {"eventid": eventid, "now": clock},
    ).fetchall()
    if ended and not acknowledged_events(conn, [eventid], clock):
        _, userid = max(ended)
        # delivered as "expired": the acknowledgement ran its course, as one reaching its end time does
        write_history(conn, [(userid, eventid, clock, "", UNACKNOWLEDGE)], clock, expired=True)


def end_on(conn: Db, eventid: int, end: SpanEnd, now: int) -> SpanEnd:
    """`end` for a span of `eventid`: "until recovery" on a problem that has recovered ends now, as a past end does."""
    if end.until_recovery and conn.execute("SELECT 1 FROM event_recovery WHERE eventid = ?", (eventid,)).fetchone():
        return SpanEnd(now, until_recovery=True)
    return end


def recovered_spans(conn: Db, eventid: int) -> list[tuple[int, str]]:
    """(userid, notes) of the problem's spans its recovery ended: one per user, in the order they acknowledged."""
    rows = conn.execute(
        "SELECT userid, notes FROM acknowledgement WHERE eventid = ? AND ended_by_recovery = 1 ORDER BY acknowledgementid",
        (eventid,),
    ).fetchall()
    return list({userid: notes for userid, notes in rows}.items())  # a user's newest notes


# --- the expiry sweep ---------------------------------------------------------------------------


def next_due(conn: Db) -> int | None:
    """The earliest end not recorded yet (None: no timed span is waiting)."""
    return conn.execute(
        "SELECT min(acknowledged_until) FROM acknowledgement WHERE end_recorded = 0 AND acknowledged_until IS NOT NULL"
    ).fetchone()[0]


def record_ends(conn: Db, now: int, eventids: Sequence[int] | None = None) -> int:
    """Record every end up to `now` not recorded yet (of `eventids` only, when given): an action-16
    row by the span's user at the second it ended, where that left the event unacknowledged.
    Returns how many spans' ends were recorded."""
    due = "end_recorded = 0 AND acknowledged_until <= :now"
    params: dict[str, Any] = {"now": now}
    if eventids is not None:
        due += f" AND eventid IN (SELECT value FROM {conn.engine.ids('ids')})"
        params["ids"] = json_ids(eventids)
    # deduplicated here: SELECT DISTINCT would read every span through the eventid index
    events = list(dict.fromkeys(eventid for (eventid,) in conn.execute(f"SELECT eventid FROM acknowledgement WHERE {due}", params)))
    lock = conn.engine.lock_events("locked")
    if events and lock is not None:
        # Another server may be recording the same ends: lock their events, then look again at what is due.
        conn.execute(lock, {"locked": json_ids(events)})
        events = list(dict.fromkeys(eventid for (eventid,) in conn.execute(f"SELECT eventid FROM acknowledgement WHERE {due}", params)))
    if not events:
        return 0
    spans, authors = _spans_of(conn, events)
    write_history(conn, sorted(
        ((authors[span.spanid], eventid, second, "", UNACKNOWLEDGE)
         for eventid, of_event in spans.items() for second, span in unacknowledging_ends(of_event, now)),
        key=lambda row: (row[2], row[1]),
    ), now, expired=True)
    return conn.execute(f"UPDATE acknowledgement SET end_recorded = 1 WHERE {due}", params).rowcount


def _spans_of(conn: Db, eventids: list[int]) -> tuple[dict[int, list[Span]], dict[int, int]]:
    """Every span of the events, by event; and each span's author (its userid) by span id."""
    spans: dict[int, list[Span]] = {}
    authors: dict[int, int] = {}
    for eventid, spanid, start, end, recorded, userid in conn.execute(
        "SELECT eventid, acknowledgementid, acknowledged_on, acknowledged_until, end_recorded, userid"
        f" FROM acknowledgement WHERE eventid IN (SELECT value FROM {conn.engine.ids('ids')})",
        {"ids": json_ids(eventids)},
    ):
        spans.setdefault(eventid, []).append(Span(spanid, start, end, pending=not recorded))
        authors[spanid] = userid
    return spans, authors


# --- acknowledgement.get ------------------------------------------------------------------------

COLUMNS = {
    "acknowledgementid": "a.acknowledgementid",
    "eventid": "a.eventid",
    "acknowledged_by": "u.username",
    "acknowledged_on": "a.acknowledged_on",
    "acknowledged_until": "a.acknowledged_until",
    "until_recovery": "a.until_recovery",
    "active": active_sql("a"),
    "notes": "a.notes",
    "last_modified": "a.last_modified",
    "last_modified_by": "m.username",
}
SORTABLE = {
    "acknowledgementid": "a.acknowledgementid",
    "eventid": "a.eventid",
    "acknowledged_on": "a.acknowledged_on",
    "acknowledged_until": f"coalesce(a.acknowledged_until, {INDEFINITE})",
    "last_modified": "a.last_modified",
}
BOUNDS = {"lt": "<", "le": "<=", "gt": ">", "ge": ">="}
BOUNDED = ("acknowledged_until", "acknowledged_on")


@dataclass
class SpanQuery:
    acknowledgementids: list[int] | None = None
    eventids: list[int] | None = None
    active: bool | None = None
    acknowledged_by: list[str] | None = None
    bounds: list[tuple[str, str, int]] = field(default_factory=list)
    """(field of BOUNDED, key of BOUNDS, epoch seconds): e.g. ("acknowledged_until", "le", 1700000000)."""
    sortfield: list[str] = field(default_factory=list)
    sortorder: list[str] = field(default_factory=list)
    limit: int | None = None


def _conditions(conn: Db, query: SpanQuery, viewer: int | None, params: dict[str, Any]) -> list[str]:
    where = []
    if viewer is not None:
        where.append(
            "EXISTS (SELECT 1 FROM events e JOIN triggers t ON t.triggerid = e.objectid"
            f" WHERE e.eventid = a.eventid AND t.hostid IN ({permitted_hostids(READ)}))"
        )
        params["perm_userid"] = viewer
    for name, column in (("acknowledgementids", "a.acknowledgementid"), ("eventids", "a.eventid")):
        ids = getattr(query, name)
        if ids is not None:
            where.append(f"{column} IN (SELECT value FROM {conn.engine.ids(name)})")
            params[name] = json_ids(ids)
    if query.active is not None:
        where.append(("" if query.active else "NOT ") + COLUMNS["active"])
    if query.acknowledged_by is not None:
        key = conn.engine.nocase_order  # usernames compare as NOCASE, as user.login does
        where.append(f"{key('u.username')} IN (SELECT {key('j.value')} FROM {conn.engine.texts('acknowledged_by', 'j')})")
        params["acknowledged_by"] = json.dumps(query.acknowledged_by)
    for n, (name, bound, value) in enumerate(query.bounds):
        condition = f"a.{name} {BOUNDS[bound]} :bound{n}"
        if name == "acknowledged_until" and bound in ("gt", "ge"):
            condition = f"(a.{name} IS NULL OR {condition})"  # indefinite is after every time (NULL < x is not true)
        where.append(condition)
        params[f"bound{n}"] = value
    return where


def _order(query: SpanQuery) -> str:
    orders = []
    for index, name in enumerate(query.sortfield):
        order = order_at(query.sortorder, index)
        orders.append(f"{SORTABLE[name]} {order}")
    return ", ".join([*orders, "a.acknowledgementid"])


def get_spans(conn: Db, query: SpanQuery, viewer: int | None, now: int) -> list[dict[str, Any]]:
    """The spans matching `query` on events `viewer` may read (every event for None: a super admin),
    as dicts of COLUMNS with SQLite's values."""
    params: dict[str, Any] = {"now": now}
    where = _conditions(conn, query, viewer, params)
    select = ", ".join(f"{sql} AS {name}" for name, sql in COLUMNS.items())
    sql = (
        f"SELECT {select} FROM acknowledgement a JOIN users u ON u.userid = a.userid"
        " LEFT JOIN users m ON m.userid = a.last_modified_by"
        + (f" WHERE {' AND '.join(where)}" if where else "")
        + f" ORDER BY {_order(query)}"
        + (f" LIMIT {int(query.limit)}" if query.limit else "")
    )
    return [dict(zip(COLUMNS, row)) for row in conn.execute(sql, params)]


def span_by_id(conn: Db, spanid: int, viewer: int | None, now: int) -> dict[str, Any] | None:
    """The span if it exists and `viewer` may read its event."""
    found = get_spans(conn, SpanQuery(acknowledgementids=[spanid]), viewer, now)
    return found[0] if found else None


def stored_span(conn: Db, spanid: int, now: int) -> dict[str, Any]:
    """A span this transaction has just written."""
    return get_spans(conn, SpanQuery(acknowledgementids=[spanid]), None, now)[0]
