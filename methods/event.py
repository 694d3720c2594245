"""event.*: acknowledging and updating problems (event.acknowledge) and reading events (event.get),
Zabbix 7.0 exactly, plus our `acknowledged_until` (an acknowledgement that expires, API.md §3, §5);
ingesting events (event.create; ours, Zabbix has no such call)."""

from __future__ import annotations

import dataclasses
from typing import Any, cast

from rpcserver.caller import USER
from rpcserver.context import Context
from rpcserver.dispatch import ApiMethod
from rpcserver.domain import acknowledge as ack
from rpcserver.domain.spans import is_active
from rpcserver.errors import NO_PERMISSION_FOR_OPERATION, ApplicationError
from rpcserver.storage import acknowledge as store
from rpcserver.storage import event_reads, events
from rpcserver.storage.event_reads import EventFilters, EventRead, Selects, TagFilter
from rpcserver.storage.query import GetQuery
from schemas.event import URLS, EventAcknowledgeParams, EventCreateParams, EventGetParams

from ._get import arrange, as_text, get_query
from .acknowledgement import resolved_end

_create_params = EventCreateParams()
_acknowledge_params = EventAcknowledgeParams()

async def acknowledge(ctx: Context, params: Any) -> dict[str, list[int]]:
    """Zabbix 7.0's event.acknowledge, with every check in its order (ZA §1.3) and the effects
    applied at once. Returns every requested id (deduplicated, first seen first), skipped ones too."""
    p = _acknowledge_params.load_params(params)
    until = resolved_end(p.get("acknowledged_until"), ctx.now)
    try:
        ack.check_action(p["action"], ctx.caller.may)
    except ack.ActionRefused as refused:
        raise store.incorrect("action", str(refused)) from None
    request = ack.Request(p["action"], p["message"], p["severity"], p["suppress_until"] or 0, p.get("cause_eventid"),
                          acknowledged_until=until, ends_at_once=not is_active(until, ctx.now))
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
    """One event or an array of them, applied in order, all or nothing."""
    loaded = [to_ingest(one) for one in _create_params.load_many(params)]
    if ctx.caller.type == USER:
        raise ApplicationError(NO_PERMISSION_FOR_OPERATION)
    eventids = await ctx.storage.write(events.ingest, loaded, ctx.now, ctx.caller.userid, ctx.caller.is_super_admin)
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
    """The sub-selects both methods take; event.get adds its own."""
    return Selects(
        acknowledges=first_given(p, "selectAcknowledges", "select_acknowledges"),
        acknowledge_users=acknowledge_users,
        suppression_data=p["selectSuppressionData"],
        tags=p["selectTags"],
    )


def finish(rows: list[dict[str, Any]] | int, p: dict[str, Any]) -> Any:
    """The result as Zabbix gives it from the reads' rows (strings already): `urls`, keyed by
    event id with `preservekeys`, the count as a string."""
    if isinstance(rows, int):
        return str(rows)
    if p["output"] == "extend" or URLS in p["output"]:
        for row in rows:
            row[URLS] = []
    return arrange(rows, p, "eventid")


async def get(ctx: Context, params: Any) -> Any:
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
        hosts=p["selectHosts"],
        related_object=p["selectRelatedObject"],
        alerts=first_given(p, "selectAlerts", "select_alerts") is not None,
    )
    read = EventRead(query_of(p), filters, selects, group_by=bool(p["groupBy"]))
    rows = await ctx.storage.read(event_reads.read_events, read, ctx.caller, ctx.now)
    if read.group_by:
        return [{name: as_text(value) for name, value in row.items()} for row in cast(list[dict[str, Any]], rows)]
    return finish(rows, p)


METHODS = {
    "event.acknowledge": ApiMethod(acknowledge),
    "event.create": ApiMethod(create),
    "event.get": ApiMethod(get),
}
