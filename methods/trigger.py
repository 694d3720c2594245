"""trigger.get: the triggers of hosts the caller may see."""

from __future__ import annotations

from typing import Any

from rpcserver.context import Context
from rpcserver.dispatch import ApiMethod, ByName
from rpcserver.storage import hosts
from schemas._get import selected
from schemas.trigger import TRIGGER_GET_RESULT, TriggerGetParams

from ._get import get_query, shape

ID_PARAMS = ("triggerids", "hostids", "groupids")

_get_params = TriggerGetParams()


async def get(ctx: Context, params: Any) -> Any:
    """Triggers of hosts the caller may read (with `editable`: write); `selectHosts` adds their host."""
    p = _get_params.load_params(params)
    select_hosts = p["selectHosts"] if selected(p["selectHosts"]) else None
    rows = await ctx.storage.read(hosts.triggers, get_query(p, ID_PARAMS), ctx.caller, p["editable"], select_hosts)
    if isinstance(rows, list) and select_hosts is not None:
        for row in rows:
            row["hosts"] = shape(row["hosts"], {"output": select_hosts}, "hostid")
    return shape(rows, p, "triggerid")


METHODS = {
    "trigger.get": ApiMethod(
        get, params=ByName(TriggerGetParams), result=TRIGGER_GET_RESULT,
        example={"output": ["triggerid", "description", "priority", "manual_close"], "selectHosts": ["host"]},
    ),
}
