"""event.*: ingesting events (event.create; ours, Zabbix has no such call)."""

from __future__ import annotations

from typing import Any

from rpcserver.caller import USER
from rpcserver.context import Context
from rpcserver.dispatch import ApiMethod
from rpcserver.errors import NO_PERMISSION_FOR_OPERATION, ApplicationError
from rpcserver.storage import events
from schemas.event import EventCreateParams

_create_params = EventCreateParams()


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


METHODS = {
    "event.create": ApiMethod(create),
}
