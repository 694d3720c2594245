"""incident.*: problems seen as incidents (OmniCenter, UptimeIO, Splunk On-Call styles; API.md §4).

Every change runs through storage/acknowledge.py, the path event.acknowledge takes: the same
history rows, acknowledgement spans, permission and manual-close rules, so either dialect sees
the other's changes at once. Statuses are derived (domain/incident.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from marshmallow import fields

from rpcserver.caller import Caller
from rpcserver.context import Context
from rpcserver.dispatch import ApiMethod, ByName
from rpcserver.domain import acknowledge as ack
from rpcserver.domain.incident import (
    ACKNOWLEDGED,
    CLOSED,
    DEFAULT_NOTES,
    OPEN,
    RESOLVED,
    TransitionRefused,
    check_transition,
)
from rpcserver.domain.ratelimit import retry_after
from rpcserver.errors import NO_PERMISSIONS, ApiError, ApplicationError
from rpcserver.storage import acknowledge as store
from rpcserver.storage import incidents
from rpcserver.storage.engine import Db
from schemas.incident import (
    IncidentAcknowledgeParams,
    IncidentGetParams,
    IncidentMassParams,
    IncidentMassResult,
    IncidentObject,
    IncidentShorthandParams,
    IncidentUpdateParams,
)

RATE_WINDOW = 60

_get_params = IncidentGetParams()
_acknowledge_params = IncidentAcknowledgeParams()
_update_params = IncidentUpdateParams()
_shorthand_params = IncidentShorthandParams()
_mass_params = IncidentMassParams()


@dataclass(frozen=True)
class Change:
    """One requested transition of one incident."""

    eventid: int
    to_status: str
    text: str | None
    acknowledged_by: str | None = None


def _public(incident: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in incident.items() if not name.startswith("_")}



def _role_allows(caller: Caller, action: int) -> None:
    try:
        ack.check_action(action, caller.may)
    except ack.ActionRefused as refused:
        reason = str(refused)
        raise ApplicationError(reason[0].upper() + reason[1:] + ".") from None


def _request(caller: Caller, conn: Db, change: Change, action: int, now: int) -> None:
    """Apply bits of event.acknowledge to the incident's problem, with the transition's message."""
    _role_allows(caller, action)
    text = change.text or DEFAULT_NOTES[change.to_status]
    store.acknowledge(conn, ack.Request(action, text), [change.eventid], caller.userid, caller.is_super_admin, now)


def apply_change(conn: Db, change: Change, caller: Caller, now: int) -> dict[str, Any]:
    """Check and make one transition inside the current transaction; the incident as it is after."""
    viewer = caller.viewer
    store.lock_events(conn, [change.eventid])
    incident = incidents.incident(conn, change.eventid, viewer, now)
    if incident is None:
        raise ApplicationError(NO_PERMISSIONS)
    from_status = incident["status"]
    try:
        check_transition(from_status, change.to_status)
    except TransitionRefused as refused:
        raise ApplicationError(refused.data()) from None
    if change.to_status == ACKNOWLEDGED:
        _request(caller, conn, change, ack.ACKNOWLEDGE | ack.MESSAGE, now)
        incidents.set_acknowledger(conn, change.eventid, change.acknowledged_by or caller.username, caller.userid)
    elif change.to_status == OPEN:
        _request(caller, conn, change, ack.UNACKNOWLEDGE | ack.MESSAGE, now)
        incidents.forget_acknowledger(conn, change.eventid)
    elif change.to_status == RESOLVED or from_status == ACKNOWLEDGED:  # closing an acknowledged one resolves it first
        _request(caller, conn, change, ack.CLOSE | ack.MESSAGE, now)
    else:  # resolved -> closed: the problem is over already; closing the incident still needs write rights
        _role_allows(caller, ack.CLOSE | ack.MESSAGE)
        if store.editable_count(conn, [change.eventid], viewer) != 1:
            raise ApplicationError(NO_PERMISSIONS)
        _request(caller, conn, change, ack.MESSAGE, now)
    if change.to_status == CLOSED:
        incidents.set_closed(conn, change.eventid, now, caller.userid)
    incidents.add_note(conn, change.eventid, now, caller.userid, from_status, change.to_status,
                       change.text or DEFAULT_NOTES[change.to_status])
    return incidents.incident(conn, change.eventid, viewer, now)  # type: ignore[return-value]


async def _change(ctx: Context, change: Change) -> dict[str, Any]:
    return _public(await ctx.storage.write(apply_change, change, ctx.caller, ctx.now))


async def get(ctx: Context, params: Any) -> list[dict[str, Any]]:
    """List the incidents the caller may read, by incidentid (ascending unless sortorder is DESC).

    Filters, all optional and combined: `incidentids`, `status` (one or more of open, acknowledged,
    resolved, closed), `paged_user` (a username: the incidents that user was paged for; none for an
    unknown user), `severities` (names, e.g. "high", or Zabbix's numbers 0-5), `limit`.
    """
    p = _get_params.load_params(params)

    def read(conn: Db) -> list[dict[str, Any]]:
        paged = None
        if p["paged_user"] is not None:
            paged = incidents.userid_of(conn, p["paged_user"])
            if paged is None:
                return []
        query = incidents.IncidentQuery(
            incidentids=p["incidentids"], statuses=p["status"], paged_userid=paged,
            severities=p["severities"],
            limit=p["limit"], descending=p["sortorder"] == "DESC",
        )
        return incidents.incidents(conn, query, ctx.caller.viewer, ctx.now)

    return [_public(incident) for incident in await ctx.storage.read(read)]


async def acknowledge(ctx: Context, params: Any) -> dict[str, Any]:
    """Acknowledge an open incident; returns it as it is now.

    Records an acknowledgement (seen by event.get too) whose message is `comment`, default "Incident
    acknowledged", and assigns the incident to the caller. `acknowledged_by` is free text shown as the
    acknowledger (e.g. "Ticketing System"), default the caller's username. Refused from any status but open.
    """
    p = _acknowledge_params.load_params(params)
    return await _change(ctx, Change(p["incidentid"], ACKNOWLEDGED, p.get("comment"), p.get("acknowledged_by")))


async def update(ctx: Context, params: Any) -> dict[str, Any]:
    """Move an incident to another status; returns it as it is now.

    Status is derived: closed once closed, else resolved once the problem is resolved, else acknowledged
    while acknowledged, else open. Allowed moves: open to acknowledged or resolved; acknowledged to open,
    resolved or closed (resolving it first); resolved to closed. Any other is refused with `data`
    {code: "VALIDATION_ERROR", message, fromStatus, toStatus, validTransitions}. Resolving closes the
    problem, so it needs read-write rights and a trigger that allows manual close. Each move adds a note
    and a history entry with `note`, or the target status's default ("Incident acknowledged", "Incident
    reopened", "Incident resolved", "Incident closed").
    """
    p = _update_params.load_params(params)
    return await _change(ctx, Change(p["incidentid"], p["status"], p.get("note")))


async def resolve(ctx: Context, params: Any) -> dict[str, Any]:
    """Resolve an incident: incident.update to "resolved", with `comment` as the note."""
    p = _shorthand_params.load_params(params)
    return await _change(ctx, Change(p["incidentid"], RESOLVED, p.get("comment")))


async def close(ctx: Context, params: Any) -> dict[str, Any]:
    """Close an incident: incident.update to "closed", with `comment` as the note."""
    p = _shorthand_params.load_params(params)
    return await _change(ctx, Change(p["incidentid"], CLOSED, p.get("comment")))


def _mass_unit(conn: Db, p: dict[str, Any], method: str, to_status: str, eligible: tuple[str, ...],
               caller: Caller, now: int, limit: int) -> dict[str, Any]:
    """Each incident applied or refused on its own (a savepoint each), Splunk On-Call style."""
    retry = retry_after(incidents.mass_calls(conn, caller.userid, now - RATE_WINDOW), now, limit, RATE_WINDOW)
    if retry is not None:
        raise ApplicationError(f"Rate limit exceeded: {limit} calls per minute for {method}. Retry in {retry} s.")
    viewer = caller.viewer
    if "paged_user" in p:
        paged = incidents.userid_of(conn, p["paged_user"])
        if paged is None:
            raise ApplicationError(NO_PERMISSIONS)
        query = incidents.IncidentQuery(paged_userid=paged, statuses=list(eligible))
        targets = [int(incident["incidentid"]) for incident in incidents.incidents(conn, query, viewer, now)]
    else:
        targets = p["incidentids"]
    store.lock_events(conn, targets)  # all at once, in id order: two mass calls cannot deadlock
    results = []
    for eventid in targets:
        visible = incidents.incident(conn, eventid, viewer, now)
        conn.execute("SAVEPOINT incident")
        try:
            apply_change(conn, Change(eventid, to_status, p.get("comment")), caller, now)
            accepted, message = True, ""
        except ApiError as refused:
            conn.execute("ROLLBACK TO incident")
            accepted = False
            message = refused.data["message"] if isinstance(refused.data, dict) else str(refused.data)
        conn.execute("RELEASE incident")
        results.append({"cmdAccepted": accepted, "entityId": visible["_triggerid"] if visible else "",
                        "incidentNumber": str(eventid), "message": message})
    incidents.record_mass_call(conn, caller.userid, now)
    return {"results": results}


async def _mass(ctx: Context, params: Any, method: str, to_status: str, eligible: tuple[str, ...]) -> dict[str, Any]:
    p = _mass_params.load_params(params)
    return await ctx.storage.write(_mass_unit, p, method, to_status, eligible, ctx.caller, ctx.now,
                                   ctx.settings.mass_rate_limit)


async def mass_acknowledge(ctx: Context, params: Any) -> dict[str, Any]:
    """Acknowledge many incidents, each accepted or refused on its own (Splunk On-Call style).

    Takes exactly one of `incidentids` and `paged_user` (an existing username: that user's open incidents),
    and an optional `comment`. Shares a per-caller rate limit with incident.massresolve (default 60
    accepted calls in any 60 s).
    """
    return await _mass(ctx, params, "incident.massacknowledge", ACKNOWLEDGED, (OPEN,))


async def mass_resolve(ctx: Context, params: Any) -> dict[str, Any]:
    """Resolve many incidents, each accepted or refused on its own (Splunk On-Call style).

    Takes exactly one of `incidentids` and `paged_user` (an existing username: that user's open and
    acknowledged incidents), and an optional `comment`. Shares a per-caller rate limit with
    incident.massacknowledge (default 60 accepted calls in any 60 s).
    """
    return await _mass(ctx, params, "incident.massresolve", RESOLVED, (OPEN, ACKNOWLEDGED))


_incident = fields.Nested(IncidentObject)
_mass_result = fields.Nested(IncidentMassResult)

METHODS = {
    "incident.get": ApiMethod(
        get, params=ByName(IncidentGetParams), result=fields.List(_incident),
        example={"status": ["open"], "severities": ["high", "disaster"], "limit": 3},
    ),
    "incident.acknowledge": ApiMethod(
        acknowledge, params=ByName(IncidentAcknowledgeParams), result=_incident,
        example={"incidentid": "4", "acknowledged_by": "Ticketing System", "comment": "Ticket OPS-1234"},
    ),
    "incident.update": ApiMethod(
        update, params=ByName(IncidentUpdateParams), result=_incident,
        example={"incidentid": "1", "status": "resolved", "note": "CPU back to normal after the rollback."},
    ),
    "incident.resolve": ApiMethod(
        resolve, params=ByName(IncidentShorthandParams), result=_incident,
        example={"incidentid": "3", "comment": "Old logs removed."},
    ),
    "incident.close": ApiMethod(
        close, params=ByName(IncidentShorthandParams), result=_incident,
        example={"incidentid": "8", "comment": "No action needed."},
    ),
    "incident.massacknowledge": ApiMethod(
        mass_acknowledge, params=ByName(IncidentMassParams), result=_mass_result,
        example={"paged_user": "operator", "comment": "Acknowledged from the phone."},
    ),
    "incident.massresolve": ApiMethod(
        mass_resolve, params=ByName(IncidentMassParams), result=_mass_result,
        example={"incidentids": ["1", "3"], "comment": "Fixed by the deploy."},
    ),
}
