"""event.*: acknowledging and updating problems (event.acknowledge) and reading events (event.get),
Zabbix 7.0 exactly, plus our `acknowledged_until` (an acknowledgement that expires, API.md §3, §5);
ingesting events (event.create; ours, Zabbix has no such call)."""

from __future__ import annotations

import dataclasses
from typing import Any, cast

from marshmallow import fields

from rpcserver.caller import USER
from rpcserver.context import Context
from rpcserver.dispatch import ApiMethod, ByName
from rpcserver.domain import acknowledge as ack
from rpcserver.domain.errors import InvalidValue
from rpcserver.domain.spans import is_active
from rpcserver.errors import NO_PERMISSION_FOR_OPERATION, ApplicationError
from rpcserver.storage import acknowledge as store
from rpcserver.storage import event_reads, events
from rpcserver.storage.event_reads import EventFilters, EventRead, Selects, TagFilter
from rpcserver.storage.query import GetQuery
from schemas.acknowledgement import stored_end
from schemas.event import (
    EVENT_GET_RESULT,
    URLS,
    EventAcknowledgeParams,
    EventAcknowledgeResult,
    EventCreateParams,
    EventCreateResult,
    EventGetParams,
)

from ._get import as_text, get_query, json_result

_create_params = EventCreateParams()
_acknowledge_params = EventAcknowledgeParams()

async def acknowledge(ctx: Context, params: Any) -> dict[str, list[int]]:
    """Act on problems: acknowledge, comment, close, change severity, suppress, rank (Zabbix 7.0).

    `action` is a bitmask: 1 close, 2 acknowledge, 4 add a message, 8 change severity, 16 unacknowledge,
    32 suppress (until `suppress_until`, 0 for ever), 64 unsuppress, 128 change to cause, 256 change to symptom
    (of `cause_eventid`). With bit 2, `acknowledged_until` (ours: epoch seconds, "30m", or "recovery") says when
    the acknowledgement ends by itself; without it, the server's --ack-default-duration applies (none: never).
    Every check runs first, in Zabbix's order; then all effects apply at once, or none. The result holds every
    id asked for (once each, in the order sent), including those an action did not apply to.
    """
    p = _acknowledge_params.load_params(params)
    end = stored_end(p.get("acknowledged_until"), ctx.settings.lifetime, ctx.now)
    try:
        ack.check_action(p["action"], ctx.caller.may)
    except ack.ActionRefused as refused:
        raise InvalidValue("action", str(refused)) from None
    request = ack.Request(p["action"], p["message"], p["severity"], p["suppress_until"] or 0, p.get("cause_eventid"),
                          acknowledged_until=end.until, until_recovery=end.until_recovery,
                          ends_at_once=not is_active(end.until, ctx.now))
    eventids = list(dict.fromkeys(p["eventids"]))
    if eventids:
        await ctx.storage.write(store.acknowledge, request, eventids, ctx.caller.userid, ctx.caller.is_super_admin, ctx.now)
    return {"eventids": eventids}


def to_ingest(params: dict[str, Any]) -> events.Ingest:
    return events.Ingest(
        host=params["host"],
        name=params["name"],
        severity=params["severity"],
        value=params["value"],
        groups=tuple(params["groups"]) or ("Discovered hosts",),
        manual_close=params.get("manual_close"),
        tags=tuple((tag["tag"], tag["value"]) for tag in params["tags"]),
        opdata=params.get("opdata"),
        clock=params.get("clock"),
        paged_users=tuple(params["paged_users"]),
    )


async def create(ctx: Context, params: Any) -> dict[str, list[int]]:
    """Ingest events (ours, not Zabbix's): open or resolve the problem of a host's trigger.

    Takes one event or an array of them, applied in order, all or nothing. Host, groups (default
    "Discovered hosts") and the trigger (host + name) are found or created. `value` 1 opens a problem
    unless the trigger has one open already (then that problem's id is answered: ingesting is idempotent);
    `value` 0 resolves the open problem with an OK event, and does nothing when none is open.
    A problem reopening within the server's --flap-guard seconds of the last one's recovery inherits its
    "recovery" acknowledgements. `paged_users` are usernames that must exist. Admins and super admins only;
    an admin needs read-write rights on the host's groups and cannot create groups.
    """
    loaded = [to_ingest(one) for one in _create_params.load_many(params)]
    if ctx.caller.type == USER:
        raise ApplicationError(NO_PERMISSION_FOR_OPERATION)
    eventids = await ctx.storage.write(events.ingest, loaded, ctx.now, ctx.caller.userid, ctx.caller.is_super_admin,
                                       ctx.settings.lifetime)
    return {"eventids": eventids}


# --- event.get (ZA §4.1-4.3), and what problem.get shares with it: params to filters, query and
# sub-selects; rows to Zabbix's shape (ids only when `output` names them, `urls` always empty).

ID_PARAMS = ("eventids", "objectids", "hostids", "groupids")

_get_params = EventGetParams()


def first_given(p: dict[str, Any], name: str, alias: str) -> Any:
    """A param also known by its 6.x name: the 7.0 name wins when both are sent."""
    return p[name] if p[name] is not None else p[alias]


def query_of(p: dict[str, Any]) -> GetQuery:
    query = get_query(p, ID_PARAMS)
    if isinstance(query.output, list):
        query.output = [name for name in query.output if name != URLS]  # made here, not read
    return query


def filters_of(p: dict[str, Any]) -> EventFilters:
    """The filters both methods take."""
    return EventFilters(
        source=p["source"],
        object=p["object"],
        severities=p["severities"],
        time_from=p["time_from"],
        time_till=p["time_till"],
        eventid_from=p["eventid_from"],
        eventid_till=p["eventid_till"],
        acknowledged=p["acknowledged"],
        action=p["action"],
        action_userids=p["action_userids"],
        suppressed=p["suppressed"],
        symptom=p["symptom"],
        evaltype=p["evaltype"],
        tags=None if p["tags"] is None else [TagFilter(**tag) for tag in p["tags"]],
        editable=p["editable"],
    )


def selects_of(p: dict[str, Any], acknowledge_users: bool) -> Selects:
    """The sub-selects both methods take (and `urls`); event.get adds its own."""
    return Selects(
        acknowledges=first_given(p, "selectAcknowledges", "select_acknowledges"),
        acknowledge_users=acknowledge_users,
        suppression_data=p["selectSuppressionData"],
        tags=p["selectTags"],
        hosts=p["selectHosts"],
        urls=p["output"] == "extend" or URLS in p["output"],
    )


def finish(rows: event_reads.Rows | int, p: dict[str, Any]) -> Any:
    """The result as Zabbix gives it from the reads' rows (JSON already): keyed by event id with
    `preservekeys`, the count as a string."""
    if isinstance(rows, int):
        return str(rows)
    return json_result(rows, p["preservekeys"])


async def get(ctx: Context, params: Any) -> Any:
    """Read events the caller may see: Zabbix 7.0's event.get, every value as a string, NULL ids as "0".

    Trigger events only exist here. `acknowledged` and `suppressed` are computed at the time of the call
    (an acknowledgement may expire, see event.acknowledge's `acknowledged_until`). Sub-selects: acknowledges
    (with the author's username, name and surname where the caller may see that user), alerts (always empty),
    hosts, relatedObject (the trigger), suppression_data, tags. `urls` is always empty. The 6.x names
    `select_acknowledges` and `select_alerts` are still taken. With `groupBy: ["objectid"]` the answer is one
    object per trigger, with `rowscount` when `countOutput` is set.
    """
    p = _get_params.load_params(params)
    filters = dataclasses.replace(
        filters_of(p),
        values=p["value"],
        trigger_severities=p["trigger_severities"],
        problem_time_from=p["problem_time_from"],
        problem_time_till=p["problem_time_till"],
    )
    selects = dataclasses.replace(
        selects_of(p, acknowledge_users=True),
        related_object=p["selectRelatedObject"],
        alerts=first_given(p, "selectAlerts", "select_alerts") is not None,
    )
    read = EventRead(query_of(p), filters, selects, group_by=bool(p["groupBy"]))
    rows = await ctx.storage.read(event_reads.read_events, read, ctx.caller, ctx.now)
    if read.group_by:
        return [{name: as_text(value) for name, value in row.items()} for row in cast(list[dict[str, Any]], rows)]
    return finish(cast(event_reads.Rows | int, rows), p)


METHODS = {
    "event.acknowledge": ApiMethod(
        acknowledge, params=ByName(EventAcknowledgeParams), result=fields.Nested(EventAcknowledgeResult),
        example={"eventids": ["1"], "action": 6, "message": "Looking into it."},
    ),
    "event.create": ApiMethod(
        create, params=ByName(EventCreateParams, many=True), result=fields.Nested(EventCreateResult),
        example={
            "host": "web-03",
            "name": "Load average is too high",
            "severity": 3,
            "groups": ["Linux servers"],
            "tags": [{"tag": "service", "value": "web"}],
        },
    ),
    "event.get": ApiMethod(
        get, params=ByName(EventGetParams), result=EVENT_GET_RESULT,
        example={
            "output": ["eventid", "name", "severity", "acknowledged"],
            "selectAcknowledges": ["clock", "action", "message", "username"],
            "sortfield": "eventid",
            "sortorder": "DESC",
            "limit": 5,
        },
    ),
}
