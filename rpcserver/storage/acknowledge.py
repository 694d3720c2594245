"""SQL of event.acknowledge: the permission counts, the events' state, and applying a plan.

"Acknowledged" is the spans' one test (`spans.acknowledged_sql`); bit 2 opens a span, bit 16 ends them.

Set-based: a call on 10,000 events is a handful of statements over the ids as rows (`engine.ids`).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from ..domain import acknowledge as ack
from ..domain.acknowledge import (
    ACKNOWLEDGE,
    CLOSE,
    MESSAGE,
    RANK_TO_CAUSE,
    RANK_TO_SYMPTOM,
    SEVERITY,
    SUPPRESS,
    UNACKNOWLEDGE,
    UNSUPPRESS,
    EventState,
    Request,
    Row,
)
from ..domain.errors import DomainError, Forbidden, InvalidValue, NotFound
from ..domain.lifetime import SpanEnd
from . import spans, webhooks
from ._sql import json_ids
from ._writer import Failed, runs_together
from .engine import Db, Engine
from .events import resolve_problem
from .permissions import READ, READ_WRITE, host_permitted, permitted_hostids
from .spans import acknowledged_sql

FEW_IDS = 100
"""Up to this many ids, permissions are checked host by host (measured in bench/README.md)."""


def lock_events(conn: Db, ids: Sequence[int]) -> None:
    """Lock the events `ids` (in id order) until the transaction ends, where other servers may write
    at once (PostgreSQL): a unit locks the events it will change before it reads their state."""
    sql = conn.engine.lock_events("ids")
    if sql is not None:
        conn.execute(sql, {"ids": json_ids(ids)})


def problem_events(conn: Db, ids: Sequence[int], userid: int | None, min_permission: int = READ,
                   problems_only: bool = True) -> dict[int, int]:
    """The trigger problem events among `ids` the user may see (every event for userid None: a
    super admin), mapped to their trigger's manual_close."""
    params: dict[str, object] = {"ids": json_ids(ids)}
    if userid is not None:
        params["perm_userid"] = userid
    sql = _problem_events_sql(conn.engine, min_permission, problems_only, userid is not None, len(ids) <= FEW_IDS)
    return dict(conn.execute(sql, params).fetchall())


@functools.cache
def _problem_events_sql(engine: Engine, min_permission: int, problems_only: bool, checked: bool, few: bool) -> str:
    # Made once per kind: the driver's statement cache finds a statement by its text, hashed again
    # for every new string.
    # CROSS JOIN keeps the ids first: without statistics SQLite would otherwise walk every event
    # through events_2 (source, object) and probe the ids, half a second on a million events.
    sql = (
        f"SELECT e.eventid, t.manual_close FROM {engine.ids('ids')} j"
        " CROSS JOIN events e JOIN triggers t ON t.triggerid = e.objectid"
        " WHERE e.eventid = j.value AND e.source = 0 AND e.object = 0"
    )
    if problems_only:
        sql += " AND e.value = 1"
    if checked:
        sql += " AND " + _permitted_sql(min_permission, few)
    return sql


def _permitted_sql(min_permission: int, few: bool) -> str:
    # Few ids: ask about their own hosts; many: one pass over every host the user may see.
    return host_permitted("t.hostid", min_permission) if few else f"t.hostid IN ({permitted_hostids(min_permission)})"


def editable_count(conn: Db, ids: Sequence[int], userid: int | None) -> int:
    return len(problem_events(conn, ids, userid, READ_WRITE, problems_only=False))


def event_states(conn: Db, ids: Sequence[int], now: int) -> tuple[list[EventState], list[int]]:
    """The state the skipping rules look at, at `now`, in the order of `ids`; and those of `ids` with a
    span end due that is not history yet (`spans.record_ends`' to write: asked here, as nearly every
    call has none, instead of in a statement of its own)."""
    rows = conn.execute(_event_states_sql(conn.engine), {"ids": json_ids(ids), "now": now}).fetchall()
    return _states(rows)


def readable_states(conn: Db, ids: Sequence[int], userid: int | None, now: int
                    ) -> tuple[dict[int, int], list[EventState], list[int]]:
    """`problem_events(conn, ids, userid)` and `event_states(conn, ids, now)` in one statement (`ids`
    without repeats): a statement fewer for nearly every acknowledge."""
    one = len(ids) == 1
    params: dict[str, object] = {"id": ids[0]} if one else {"ids": json_ids(ids)}
    params["now"] = now
    if userid is not None:
        params["perm_userid"] = userid
    rows = conn.execute(_readable_states_sql(conn.engine, userid is not None, len(ids) <= FEW_IDS, one), params).fetchall()
    readable = {row[0]: row[2] for row in rows if row[1]}
    states, ends_due = _states([(row[0], *row[3:]) for row in rows])
    return readable, states, ends_due


def _states(rows: Sequence[Sequence[Any]]) -> tuple[list[EventState], list[int]]:
    states = [EventState(eventid, bool(ack), severity, bool(closed), bool(suppressed), cause)
              for eventid, ack, severity, closed, suppressed, cause, _ in rows]
    return states, [row[0] for row in rows if row[6]]


_STATE_COLUMNS = (
    f"{acknowledged_sql('e')}, e.severity,"
    " EXISTS (SELECT 1 FROM event_recovery r WHERE r.eventid = e.eventid)"
    "  OR EXISTS (SELECT 1 FROM acknowledges a WHERE a.eventid = e.eventid AND a.action & 1 <> 0),"
    " EXISTS (SELECT 1 FROM event_suppress s WHERE s.eventid = e.eventid AND s.maintenanceid IS NULL),"
    " (SELECT cause_eventid FROM event_symptom es WHERE es.eventid = e.eventid),"
    " EXISTS (SELECT 1 FROM acknowledgement d WHERE d.eventid = e.eventid AND d.end_recorded = 0"
    "  AND d.acknowledged_until <= :now)"
)
"""What `_states` reads of the event `e`: acknowledged, severity, closed, suppressed, cause, an end due."""


@functools.cache
def _event_states_sql(engine: Engine) -> str:
    return f"SELECT e.eventid, {_STATE_COLUMNS} FROM {engine.ids('ids')} j JOIN events e ON e.eventid = j.value ORDER BY j.key"


@functools.cache
def _readable_states_sql(engine: Engine, checked: bool, few: bool, one: bool) -> str:
    # As _problem_events_sql's condition, as a column: the events that are not readable are still rows.
    readable = "e.source = 0 AND e.object = 0 AND e.value = 1 AND t.triggerid IS NOT NULL"
    if checked:
        readable += " AND " + _permitted_sql(READ, few)
    select = f"SELECT e.eventid, {readable}, t.manual_close, {_STATE_COLUMNS}"
    if one:  # nearly every call: the event by its key, without a table of ids (a fifth of the statement on SQLite)
        return f"{select} FROM events e LEFT JOIN triggers t ON t.triggerid = e.objectid WHERE e.eventid = :id"
    return (f"{select} FROM {engine.ids('ids')} j CROSS JOIN events e LEFT JOIN triggers t ON t.triggerid = e.objectid"
            " WHERE e.eventid = j.value ORDER BY j.key")


def causes_of(conn: Db, ids: Sequence[int]) -> dict[int, int | None]:
    return dict(conn.execute(
        f"SELECT j.value, es.cause_eventid FROM {conn.engine.ids('ids')} j"
        " LEFT JOIN event_symptom es ON es.eventid = j.value",
        {"ids": json_ids(ids)},
    ).fetchall())


def _with(rows: Sequence[Row], bit: int) -> list[int]:
    return [row.eventid for row in rows if row.action & bit]


def _rank_as_cause(conn: Db, eventid: int) -> None:
    conn.execute("UPDATE problem SET cause_eventid = NULL WHERE eventid = ?", (eventid,))
    conn.execute("DELETE FROM event_symptom WHERE eventid = ?", (eventid,))


def _rank_as_symptom(conn: Db, eventid: int, requested_cause: int) -> None:
    """As the Zabbix server does it: a symptom named as the cause stands for its own cause; naming
    one's own symptom swaps the two; the event's symptoms follow it to the new cause."""
    cause_of = lambda e: (conn.execute("SELECT cause_eventid FROM event_symptom WHERE eventid = ?", (e,)).fetchone() or (None,))[0]  # noqa: E731
    target = cause_of(requested_cause) or requested_cause
    if target == eventid:
        target, old_cause = requested_cause, None
        _rank_as_cause(conn, requested_cause)
    else:
        old_cause = cause_of(eventid)
    conn.execute("UPDATE problem SET cause_eventid = ? WHERE eventid = ? OR cause_eventid = ?", (target, eventid, eventid))
    conn.execute("UPDATE event_symptom SET cause_eventid = ? WHERE eventid = ? OR cause_eventid = ?", (target, eventid, eventid))
    if old_cause is None:
        conn.execute("INSERT INTO event_symptom (eventid, cause_eventid) VALUES (?, ?)", (eventid, target))


_INSERT_HISTORY = ("INSERT INTO acknowledges (userid, eventid, clock, message, action, old_severity, new_severity,"
                   " suppress_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")


def _history_row(userid: int, now: int, r: Row) -> tuple[Any, ...]:
    return userid, r.eventid, now, r.message, r.action, r.old_severity, r.new_severity, r.suppress_until


def _span_notes(request: Request) -> str:
    return request.message if request.action & MESSAGE else ""


def apply(conn: Db, rows: Sequence[Row], request: Request, userid: int, now: int) -> None:
    """Write the history rows and apply their effects at once (Zabbix's server would do the
    effects later, from tasks): acknowledgement spans (which the acknowledged flags follow),
    severity, close, suppression, rank."""
    conn.executemany(_INSERT_HISTORY, [_history_row(userid, now, r) for r in rows])
    present = 0  # every bit some row carries: the effects of the others are not looked for
    for row in rows:
        present |= row.action
    if present & ACKNOWLEDGE:
        end = SpanEnd(request.acknowledged_until, request.until_recovery)
        spans.open_spans(conn, _with(rows, ACKNOWLEDGE), userid, now, end, _span_notes(request))
    if present & UNACKNOWLEDGE:
        spans.end_active_spans(conn, _with(rows, UNACKNOWLEDGE), userid, now)
    if present & SEVERITY:
        severity_rows = [row for row in rows if row.action & SEVERITY]
        for table in ("events", "problem"):
            conn.execute(f"UPDATE {table} SET severity = :severity WHERE eventid IN (SELECT value FROM {conn.engine.ids('ids')})",
                         {"severity": severity_rows[0].new_severity, "ids": json_ids(r.eventid for r in severity_rows)})
    if present & CLOSE:
        for eventid in _with(rows, CLOSE):
            resolve_problem(conn, eventid, now, userid)
    if present & (SUPPRESS | UNSUPPRESS):
        conn.execute("DELETE FROM event_suppress WHERE maintenanceid IS NULL"
                     f" AND eventid IN (SELECT value FROM {conn.engine.ids('ids')})",
                     {"ids": json_ids(_with(rows, SUPPRESS | UNSUPPRESS))})
        conn.executemany(
            "INSERT INTO event_suppress (eventid, maintenanceid, suppress_until, userid) VALUES (?, NULL, ?, ?)",
            [(r.eventid, r.suppress_until, userid) for r in rows if r.action & SUPPRESS],
        )
    if present & RANK_TO_CAUSE:
        for eventid in _with(rows, RANK_TO_CAUSE):
            _rank_as_cause(conn, eventid)
    if present & RANK_TO_SYMPTOM and request.cause_eventid is not None:
        for eventid in _with(rows, RANK_TO_SYMPTOM):
            _rank_as_symptom(conn, eventid, request.cause_eventid)
    webhooks.enqueue(conn, [(userid, r.eventid, now, r.message, r.action) for r in rows], now)


CANNOT_CLOSE = "Cannot close problem: trigger does not allow manual closing."


def acknowledge_together(conn: Db, calls: list[tuple[Any, ...]]) -> list[Any]:
    """`acknowledge` of each of `calls` (its arguments after the connection), queued side by side: each
    call's outcome (None, or `Failed` with the domain error it raised), as running each alone gives.

    Neighbouring calls of one event each that acknowledge or comment, on events all different, by one
    viewer in one second (nearly every batch under load) share their statements: one state read, one
    INSERT of all their history rows, one of their spans, one webhook look-up (bench/README.md). Any
    other call runs alone, in a savepoint. Anything but a domain error is raised: the writer then runs
    each call alone."""
    outcomes: list[Any] = []
    for run in _sharing(calls):
        outcomes += _shared(conn, run) if len(run) > 1 else [_alone(conn, run[0])]
    return outcomes


def _sharing(calls: list[tuple[Any, ...]]) -> list[list[tuple[Any, ...]]]:
    """`calls` cut, in order, into runs that can share their statements (a call that cannot: a run of its own)."""
    runs: list[list[tuple[Any, ...]]] = []
    shared_by: tuple[Any, ...] | None = None  # what the last run's calls have in common, None if it cannot grow
    events: set[int] = set()
    for call in calls:
        request, eventids, userid, super_admin, now = call
        simple = len(eventids) == 1 and not request.action & ~(ACKNOWLEDGE | MESSAGE)
        key = (None if super_admin else userid, now) if simple else None
        if key is not None and key == shared_by and eventids[0] not in events:
            runs[-1].append(call)
            events.add(eventids[0])
        else:
            runs.append([call])
            shared_by, events = key, set(eventids)
    return runs


def _shared(conn: Db, calls: list[tuple[Any, ...]]) -> list[Any]:
    """Calls `_sharing` put in one run, their statements shared."""
    _, _, userid, super_admin, now = calls[0]
    viewer = None if super_admin else userid
    ids = [eventids[0] for _, eventids, *_ in calls]
    lock_events(conn, ids)
    readable, states, ends_due = readable_states(conn, ids, viewer, now)
    if ends_due:  # ends due are history before a call's rows: as `acknowledge` writes them
        return [_alone(conn, call) for call in calls]
    state_of = {state.eventid: state for state in states}
    outcomes: list[Any] = []
    history: list[tuple[Any, ...]] = []
    opened: list[tuple[int, int, int, SpanEnd, str]] = []
    for (request, (eventid,), userid, _, _) in calls:
        if eventid not in readable:
            outcomes.append(Failed(NotFound()))
            continue
        if request.action & MESSAGE and request.message == "":
            outcomes.append(Failed(InvalidValue("message", "cannot be empty")))
            continue
        for row in ack.plan([state_of[eventid]], request):
            history.append(_history_row(userid, now, row))
            if row.action & ACKNOWLEDGE:
                opened.append((eventid, userid, now, SpanEnd(request.acknowledged_until, request.until_recovery),
                               _span_notes(request)))
        outcomes.append(None)
    conn.executemany(_INSERT_HISTORY, history)
    if opened:
        spans.open_each(conn, opened)
    webhooks.enqueue(conn, [row[:5] for row in history], now)
    return outcomes


def _alone(conn: Db, call: tuple[Any, ...]) -> Any:
    """One call by itself, in a savepoint: a domain error is its outcome, anything it wrote undone."""
    conn.execute("SAVEPOINT one_call")
    try:
        outcome = acknowledge(conn, *call)
    except DomainError as exc:
        conn.execute("ROLLBACK TO SAVEPOINT one_call")
        outcome = Failed(exc)
    conn.execute("RELEASE SAVEPOINT one_call")
    return outcome


@runs_together(acknowledge_together)
def acknowledge(conn: Db, request: ack.Request, eventids: list[int], userid: int,
                      super_admin: bool, now: int) -> None:
    """event.acknowledge's steps 5-10 (ZA §1.3) and its writes, as one unit of work: checked against
    the state the writes will change, nothing written if a check fails. Every dialect that
    acknowledges, comments or closes goes through here (the incident dialect too)."""
    viewer = None if super_admin else userid
    # The schema requires cause_eventid with bit 256 and refuses it without.
    cause = request.cause_eventid if request.action & ack.RANK_TO_SYMPTOM else None
    checked = list(dict.fromkeys(eventids if cause is None else [*eventids, cause]))
    lock_events(conn, checked)
    read_at_once = cause is None and len(checked) == len(eventids)  # the state of `eventids` is read with them
    if read_at_once:
        readable, states, ends_due = readable_states(conn, checked, viewer, now)
    else:
        readable = problem_events(conn, checked, viewer)
    if len(readable) != len(checked):
        raise NotFound()
    needs_write = request.action & (ack.CLOSE | ack.SEVERITY)
    editable = editable_count(conn, checked, viewer) if needs_write else len(checked)
    if request.action & ack.CLOSE:
        if editable != len(checked):
            raise NotFound()
        if any(readable[eventid] != 1 for eventid in eventids):
            raise Forbidden(CANNOT_CLOSE)
    if request.action & ack.MESSAGE and request.message == "":
        raise InvalidValue("message", "cannot be empty")
    if request.action & ack.SEVERITY:
        if editable != len(checked):
            raise NotFound()
        if not 0 <= request.severity <= 5:
            raise InvalidValue("severity", f'unexpected value "{request.severity}"')
    if request.action & ack.SUPPRESS and request.suppress_until != 0 and request.suppress_until <= now:
        raise InvalidValue("suppress_until", f'unexpected value "{request.suppress_until}"')
    allowed: Sequence[int] = ()
    if cause is not None:
        allowed = ack.rank_to_symptom_allowed(eventids, cause, causes_of(conn, checked))
    if not read_at_once:
        states, ends_due = event_states(conn, eventids, now)
    if ends_due:
        spans.record_ends(conn, now, ends_due)  # ends already due are history before this call's rows
    rows = ack.plan(states, request, allowed)
    apply(conn, rows, request, userid, now)
