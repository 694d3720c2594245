"""SQL of the incident dialect: incidents read from problems, their extra state and notes, the
mass calls' targets and rate-limit log, and the units of work of incident.*. Changes to the
problem itself go through storage/acknowledge.py, the same path event.acknowledge takes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..caller import Caller
from ..domain import acknowledge as ack
from ..domain.errors import DomainError, Forbidden, NotFound
from ..domain.incident import (
    ACKNOWLEDGED,
    CLOSED,
    DEFAULT_NOTES,
    OPEN,
    RESOLVED,
    SEVERITY_NAMES,
    STATUSES,
    TransitionRefused,
    check_transition,
)
from ..domain.ratelimit import retry_after
from ._sql import json_ids
from .acknowledge import acknowledge, editable_count, lock_events
from .engine import Db
from .permissions import READ, permitted_hostids
from .spans import acknowledged_sql

STATUS_SQL = (
    "CASE WHEN st.closed_at IS NOT NULL THEN 'closed' WHEN p.r_eventid IS NOT NULL THEN 'resolved'"
    f" WHEN {acknowledged_sql('e')} THEN 'acknowledged' ELSE 'open' END"
)
# The span that dates the acknowledgement: the newest active one, or once resolved or closed the newest of all.
_SPAN = (
    "(SELECT a.acknowledgementid FROM acknowledgement a WHERE a.eventid = e.eventid"
    " AND (a.acknowledged_until IS NULL OR a.acknowledged_until > :now OR p.r_eventid IS NOT NULL"
    "      OR st.closed_at IS NOT NULL)"
    " ORDER BY a.acknowledged_on DESC, a.acknowledgementid DESC LIMIT 1)"
)
_BASE = f"""
    SELECT e.eventid, e.name, h.host, p.severity, {STATUS_SQL} AS status, e.clock, t.triggerid,
           span.acknowledged_on, coalesce(st.acknowledged_by, span_user.username), assigned.username,
           CASE WHEN p.r_eventid IS NOT NULL THEN p.r_clock END, st.closed_at
    FROM events e
    JOIN problem p ON p.eventid = e.eventid
    JOIN triggers t ON t.triggerid = e.objectid
    JOIN hosts h ON h.hostid = t.hostid
    LEFT JOIN incident_state st ON st.eventid = e.eventid
    LEFT JOIN acknowledgement span ON span.acknowledgementid = {_SPAN}
    LEFT JOIN users span_user ON span_user.userid = span.userid
    LEFT JOIN users assigned ON assigned.userid = st.assigned_to
    WHERE e.source = 0 AND e.object = 0 AND e.value = 1
"""


@dataclass
class IncidentQuery:
    incidentids: list[int] | None = None
    statuses: list[str] | None = None
    paged_userid: int | None = None
    severities: list[int] | None = None
    limit: int | None = None
    descending: bool = False


def _visible(viewer: int | None, params: dict[str, Any]) -> str:
    if viewer is None:
        return ""
    params["perm_userid"] = viewer
    return f" AND t.hostid IN ({permitted_hostids(READ)})"


def incidents(conn: Db, query: IncidentQuery, viewer: int | None, now: int) -> list[dict[str, Any]]:
    """Incident objects (API.md §4) the viewer may read (every one for None: a super admin)."""
    params: dict[str, Any] = {"now": now}
    sql = _BASE + _visible(viewer, params)
    if query.incidentids is not None:
        sql += f" AND e.eventid IN (SELECT value FROM {conn.engine.ids('incidentids')})"
        params["incidentids"] = json_ids(query.incidentids)
    if query.statuses is not None:
        sql += f" AND {STATUS_SQL} IN (SELECT j.value FROM {conn.engine.texts('statuses', 'j')})"
        params["statuses"] = json.dumps([s for s in query.statuses if s in STATUSES])
    if query.paged_userid is not None:
        sql += " AND EXISTS (SELECT 1 FROM event_page pg WHERE pg.eventid = e.eventid AND pg.userid = :paged)"
        params["paged"] = query.paged_userid
    if query.severities is not None:
        sql += f" AND p.severity IN (SELECT value FROM {conn.engine.ids('severities')})"
        params["severities"] = json_ids(query.severities)
    sql += f" ORDER BY e.eventid {'DESC' if query.descending else 'ASC'}"
    if query.limit:
        sql += f" LIMIT {int(query.limit)}"
    rows = conn.execute(sql, params).fetchall()
    ids = [row[0] for row in rows]
    paged = _paged(conn, ids)
    notes = _notes(conn, ids)
    return [
        {
            "incidentid": str(eventid), "title": name, "host": host, "severity": SEVERITY_NAMES[severity],
            "status": status, "started_at": started, "acknowledged_at": acknowledged_at,
            "acknowledged_by": acknowledged_by if acknowledged_at is not None else None,
            "assigned_to": assigned_to, "resolved_at": resolved_at, "closed_at": closed_at,
            "paged_users": paged.get(eventid, []), "notes": notes.get(eventid, []),
            "_triggerid": str(triggerid),
        }
        for eventid, name, host, severity, status, started, triggerid, acknowledged_at, acknowledged_by,
        assigned_to, resolved_at, closed_at in rows
    ]


def _paged(conn: Db, ids: Sequence[int]) -> dict[int, list[str]]:
    paged: dict[int, list[str]] = {}
    for eventid, username in conn.execute(
        f"SELECT pg.eventid, u.username FROM event_page pg JOIN users u ON u.userid = pg.userid"
        f" WHERE pg.eventid IN (SELECT value FROM {conn.engine.ids('ids')}) ORDER BY pg.eventid, {conn.engine.nocase_order('u.username')}",
        {"ids": json_ids(ids)},
    ):
        paged.setdefault(eventid, []).append(username)
    return paged


def _notes(conn: Db, ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    notes: dict[int, list[dict[str, Any]]] = {}
    for eventid, clock, username, status_from, status_to, text in conn.execute(
        f"SELECT n.eventid, n.clock, u.username, n.status_from, n.status_to, n.text FROM incident_note n"
        " LEFT JOIN users u ON u.userid = n.userid"
        f" WHERE n.eventid IN (SELECT value FROM {conn.engine.ids('ids')}) ORDER BY n.eventid, n.noteid",
        {"ids": json_ids(ids)},
    ):
        notes.setdefault(eventid, []).append(
            {"clock": clock, "username": username, "status_from": status_from, "status_to": status_to, "text": text}
        )
    return notes


def incident(conn: Db, eventid: int, viewer: int | None, now: int) -> dict[str, Any] | None:
    found = incidents(conn, IncidentQuery(incidentids=[eventid]), viewer, now)
    return found[0] if found else None


def add_note(conn: Db, eventid: int, now: int, userid: int, status_from: str, status_to: str,
             text: str) -> None:
    conn.execute(
        "INSERT INTO incident_note (eventid, clock, userid, status_from, status_to, text) VALUES (?, ?, ?, ?, ?, ?)",
        (eventid, now, userid, status_from, status_to, text),
    )


def set_acknowledger(conn: Db, eventid: int, acknowledged_by: str | None, assigned_to: int) -> None:
    conn.execute(
        "INSERT INTO incident_state (eventid, acknowledged_by, assigned_to) VALUES (?, ?, ?)"
        " ON CONFLICT (eventid) DO UPDATE SET acknowledged_by = excluded.acknowledged_by, assigned_to = excluded.assigned_to",
        (eventid, acknowledged_by, assigned_to),
    )


def forget_acknowledger(conn: Db, eventid: int) -> None:
    conn.execute("UPDATE incident_state SET acknowledged_by = NULL WHERE eventid = ?", (eventid,))


def set_closed(conn: Db, eventid: int, now: int, userid: int) -> None:
    conn.execute(
        "INSERT INTO incident_state (eventid, closed_at, closed_by) VALUES (?, ?, ?)"
        " ON CONFLICT (eventid) DO UPDATE SET closed_at = excluded.closed_at, closed_by = excluded.closed_by",
        (eventid, now, userid),
    )


def userid_of(conn: Db, username: str) -> int | None:
    row = conn.execute(f"SELECT userid FROM users WHERE {conn.engine.nocase_equals('username', '?')}", (username,)).fetchone()
    return row[0] if row else None


def mass_calls(conn: Db, userid: int, since: int) -> list[int]:
    """The caller's accepted mass calls after `since`; older ones are forgotten on the way."""
    conn.execute("DELETE FROM mass_call WHERE userid = ? AND clock <= ?", (userid, since))
    return [clock for (clock,) in conn.execute("SELECT clock FROM mass_call WHERE userid = ?", (userid,))]


def record_mass_call(conn: Db, userid: int, now: int) -> None:
    conn.execute("INSERT INTO mass_call (userid, clock) VALUES (?, ?)", (userid, now))


# Units of work of incident.*

RATE_WINDOW = 60


@dataclass(frozen=True)
class Change:
    """One requested transition of one incident."""

    eventid: int
    to_status: str
    text: str | None
    acknowledged_by: str | None = None
    acknowledged_until: int | None = None
    """When an acknowledgement this change opens ends: the server's default (API.md §9); None: never."""


def _role_allows(caller: Caller, action: int) -> None:
    try:
        ack.check_action(action, caller.may)
    except ack.ActionRefused as refused:
        reason = str(refused)
        raise Forbidden(reason[0].upper() + reason[1:] + ".") from None


def _request(caller: Caller, conn: Db, change: Change, action: int, now: int) -> None:
    """Apply bits of event.acknowledge to the incident's problem, with the transition's message."""
    _role_allows(caller, action)
    text = change.text or DEFAULT_NOTES[change.to_status]
    request = ack.Request(action, text, acknowledged_until=change.acknowledged_until)
    acknowledge(conn, request, [change.eventid], caller.userid, caller.is_super_admin, now)


def apply_change(conn: Db, change: Change, caller: Caller, now: int) -> dict[str, Any]:
    """Check and make one transition inside the current transaction; the incident as it is after."""
    viewer = caller.viewer
    lock_events(conn, [change.eventid])
    current = incident(conn, change.eventid, viewer, now)
    if current is None:
        raise NotFound()
    from_status = current["status"]
    try:
        check_transition(from_status, change.to_status)
    except TransitionRefused as refused:
        raise Forbidden(refused.data()) from None
    if change.to_status == ACKNOWLEDGED:
        _request(caller, conn, change, ack.ACKNOWLEDGE | ack.MESSAGE, now)
        set_acknowledger(conn, change.eventid, change.acknowledged_by or caller.username, caller.userid)
    elif change.to_status == OPEN:
        _request(caller, conn, change, ack.UNACKNOWLEDGE | ack.MESSAGE, now)
        forget_acknowledger(conn, change.eventid)
    elif change.to_status == RESOLVED or from_status == ACKNOWLEDGED:  # closing an acknowledged one resolves it first
        _request(caller, conn, change, ack.CLOSE | ack.MESSAGE, now)
    else:  # resolved -> closed: the problem is over already; closing the incident still needs write rights
        _role_allows(caller, ack.CLOSE | ack.MESSAGE)
        if editable_count(conn, [change.eventid], viewer) != 1:
            raise NotFound()
        _request(caller, conn, change, ack.MESSAGE, now)
    if change.to_status == CLOSED:
        set_closed(conn, change.eventid, now, caller.userid)
    add_note(conn, change.eventid, now, caller.userid, from_status, change.to_status,
             change.text or DEFAULT_NOTES[change.to_status])
    return incident(conn, change.eventid, viewer, now)  # type: ignore[return-value]


def mass_change(conn: Db, p: dict[str, Any], method: str, to_status: str, eligible: tuple[str, ...],
                caller: Caller, now: int, limit: int, acknowledged_until: int | None) -> dict[str, Any]:
    """Each incident applied or refused on its own (a savepoint each), Splunk On-Call style; a
    refused one's result holds its `refusal`, for the handler to word. Acknowledgements end at
    `acknowledged_until` (the server's default)."""
    retry = retry_after(mass_calls(conn, caller.userid, now - RATE_WINDOW), now, limit, RATE_WINDOW)
    if retry is not None:
        raise Forbidden(f"Rate limit exceeded: {limit} calls per minute for {method}. Retry in {retry} s.")
    viewer = caller.viewer
    if "paged_user" in p:
        paged = userid_of(conn, p["paged_user"])
        if paged is None:
            raise NotFound()
        query = IncidentQuery(paged_userid=paged, statuses=list(eligible))
        targets = [int(row["incidentid"]) for row in incidents(conn, query, viewer, now)]
    else:
        targets = p["incidentids"]
    lock_events(conn, targets)  # all at once, in id order: two mass calls cannot deadlock
    results = []
    for eventid in targets:
        visible = incident(conn, eventid, viewer, now)
        conn.execute("SAVEPOINT incident")
        try:
            apply_change(conn, Change(eventid, to_status, p.get("comment"), acknowledged_until=acknowledged_until), caller, now)
            refusal = None
        except DomainError as refused:
            conn.execute("ROLLBACK TO incident")
            refusal = refused
        conn.execute("RELEASE incident")
        results.append({"cmdAccepted": refusal is None, "entityId": visible["_triggerid"] if visible else "",
                        "incidentNumber": str(eventid), "refusal": refusal})
    record_mass_call(conn, caller.userid, now)
    return {"results": results}


def read_incidents(conn: Db, query: IncidentQuery, paged_user: str | None, viewer: int | None,
                   now: int) -> list[dict[str, Any]]:
    """incident.get: `query`, narrowed to the incidents `paged_user` was paged for (none for an unknown user)."""
    if paged_user is not None:
        paged = userid_of(conn, paged_user)
        if paged is None:
            return []
        query = replace(query, paged_userid=paged)
    return incidents(conn, query, viewer, now)
