"""incident.*: problems seen as incidents (OmniCenter, UptimeIO, Splunk On-Call styles; API.md §4).

Every change runs through storage/acknowledge.py, the path event.acknowledge takes: the same
history rows, acknowledgement spans, permission and manual-close rules, so either dialect sees
the other's changes at once. Statuses are derived (domain/incident.py).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from marshmallow import fields

from rpcserver.context import Context
from rpcserver.dispatch import ApiMethod, ByName
from rpcserver.domain.errors import DomainError
from rpcserver.domain.incident import (
    ACKNOWLEDGED,
    CLOSED,
    OPEN,
    RESOLVED,
)
from rpcserver.domain.lifetime import default_end
from rpcserver.errors import api_error
from rpcserver.storage import incidents
from schemas.incident import (
    IncidentAcknowledgeParams,
    IncidentGetParams,
    IncidentMassParams,
    IncidentMassResult,
    IncidentObject,
    IncidentShorthandParams,
    IncidentUpdateParams,
)

_get_params = IncidentGetParams()
_acknowledge_params = IncidentAcknowledgeParams()
_update_params = IncidentUpdateParams()
_shorthand_params = IncidentShorthandParams()
_mass_params = IncidentMassParams()


def _refusal_message(refusal: DomainError) -> str:
    """A refused incident's message in a mass answer: the text its own call would answer with."""
    data = api_error(refusal).data
    return data["message"] if isinstance(data, dict) else str(data)


def _public(incident: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in incident.items() if not name.startswith("_")}



def _default_end(ctx: Context) -> int | None:
    """When an acknowledgement made here ends: the incident dialect sends no end, so the server's default."""
    return default_end(ctx.settings.lifetime, ctx.now)


async def _change(ctx: Context, change: incidents.Change) -> dict[str, Any]:
    change = replace(change, acknowledged_until=_default_end(ctx))
    return _public(await ctx.storage.write(incidents.apply_change, change, ctx.caller, ctx.now))


async def get(ctx: Context, params: Any) -> list[dict[str, Any]]:
    """List the incidents the caller may read, by incidentid (ascending unless sortorder is DESC).

    Filters, all optional and combined: `incidentids`, `status` (one or more of open, acknowledged,
    resolved, closed), `paged_user` (a username: the incidents that user was paged for; none for an
    unknown user), `severities` (names, e.g. "high", or Zabbix's numbers 0-5), `limit`.
    """
    p = _get_params.load_params(params)

    query = incidents.IncidentQuery(
        incidentids=p["incidentids"], statuses=p["status"], severities=p["severities"],
        limit=p["limit"], descending=p["sortorder"] == "DESC",
    )
    rows = await ctx.storage.read(incidents.read_incidents, query, p["paged_user"], ctx.caller.viewer, ctx.now)
    return [_public(incident) for incident in rows]


async def acknowledge(ctx: Context, params: Any) -> dict[str, Any]:
    """Acknowledge an open incident; returns it as it is now.

    Records an acknowledgement (seen by event.get too) whose message is `comment`, default "Incident
    acknowledged", and assigns the incident to the caller. The acknowledgement ends after the server's
    --ack-default-duration (none: when the incident moves on). `acknowledged_by` is free text shown as the
    acknowledger (e.g. "Ticketing System"), default the caller's username. Refused from any status but open.
    """
    p = _acknowledge_params.load_params(params)
    return await _change(ctx, incidents.Change(p["incidentid"], ACKNOWLEDGED, p.get("comment"), p.get("acknowledged_by")))


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
    return await _change(ctx, incidents.Change(p["incidentid"], p["status"], p.get("note")))


async def resolve(ctx: Context, params: Any) -> dict[str, Any]:
    """Resolve an incident: incident.update to "resolved", with `comment` as the note."""
    p = _shorthand_params.load_params(params)
    return await _change(ctx, incidents.Change(p["incidentid"], RESOLVED, p.get("comment")))


async def close(ctx: Context, params: Any) -> dict[str, Any]:
    """Close an incident: incident.update to "closed", with `comment` as the note."""
    p = _shorthand_params.load_params(params)
    return await _change(ctx, incidents.Change(p["incidentid"], CLOSED, p.get("comment")))


async def _mass(ctx: Context, params: Any, method: str, to_status: str, eligible: tuple[str, ...]) -> dict[str, Any]:
    p = _mass_params.load_params(params)
    answer = await ctx.storage.write(incidents.mass_change, p, method, to_status, eligible, ctx.caller, ctx.now,
                                     ctx.settings.mass_rate_limit, _default_end(ctx))
    for result in answer["results"]:
        refusal = result.pop("refusal")
        result["message"] = "" if refusal is None else _refusal_message(refusal)
    return answer


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
