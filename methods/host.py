"""host.get: the hosts the caller may see, with their host groups."""

from __future__ import annotations

from typing import Any

from rpcserver.context import Context
from rpcserver.dispatch import ApiMethod, ByName
from rpcserver.storage import hosts
from schemas._get import selected
from schemas.host import HOST_GET_RESULT, HostGetParams

from ._get import get_query, shape

ID_PARAMS = ("hostids", "groupids", "triggerids")
GROUP_SELECTS = {"selectHostGroups": "hostgroups", "selectGroups": "groups"}
"""Each group sub-select and the name its objects come under (selectGroups is the 6.x name)."""

_get_params = HostGetParams()


async def get(ctx: Context, params: Any) -> Any:
    """Hosts the caller may read (with `editable`: write) through their host groups.

    `selectHostGroups` adds the host's groups the caller may read as `hostgroups`; `selectGroups`,
    its 6.x name, as `groups`.
    """
    p = _get_params.load_params(params)
    select_groups = {name: p[param] for param, name in GROUP_SELECTS.items() if selected(p[param])}
    rows = await ctx.storage.read(hosts.hosts, get_query(p, ID_PARAMS), ctx.caller, p["editable"], select_groups)
    if isinstance(rows, list):
        for row in rows:
            for name, output in select_groups.items():
                row[name] = shape(row[name], {"output": output}, "groupid")
    return shape(rows, p, "hostid")


METHODS = {
    "host.get": ApiMethod(
        get, params=ByName(HostGetParams), result=HOST_GET_RESULT,
        example={"output": ["hostid", "host"], "selectHostGroups": ["name"]},
    ),
}
