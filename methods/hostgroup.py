"""hostgroup.*: creating, reading and deleting host groups.

As in Zabbix 7.0, creating is for super admins and deleting for admins and super admins (checked
before the params); an admin deletes only groups they may write.
"""

from __future__ import annotations

import uuid
from typing import Any

from rpcserver.caller import USER
from rpcserver.context import Context
from rpcserver.dispatch import ApiMethod, ByName, ByPosition
from rpcserver.errors import ApplicationError
from rpcserver.storage import hosts
from schemas._fields import Id, load_id_array
from schemas._get import selected
from schemas._results import ids_result
from schemas.hostgroup import (
    HOSTGROUP_GET_RESULT,
    HostGroupCreate,
    HostGroupGetParams,
    load_create_params,
)

from ._get import get_query, shape

ID_PARAMS = ("groupids", "hostids")

_get_params = HostGroupGetParams()


async def create(ctx: Context, params: Any) -> dict[str, list[str]]:
    """Create host groups (super admins only) by name; a name is a path like "Linux/Web", no empty part."""
    if not ctx.caller.is_super_admin:
        raise ApplicationError('No permissions to call "hostgroup.create".')
    names = load_create_params(params)
    groupids = await ctx.storage.write(hosts.create_host_groups, [(name, uuid.uuid4().hex) for name in names])
    return {"groupids": [str(groupid) for groupid in groupids]}


async def get(ctx: Context, params: Any) -> Any:
    """Host groups the caller has read rights on (with `editable`: write rights).

    `selectHosts` adds the group's hosts the caller may read as `hosts`, or their number with "count".
    """
    p = _get_params.load_params(params)
    select_hosts = p["selectHosts"] if selected(p["selectHosts"]) else None
    rows = await ctx.storage.read(hosts.host_groups, get_query(p, ID_PARAMS), ctx.caller, p["editable"], select_hosts)
    if isinstance(rows, list) and select_hosts not in (None, "count"):
        for row in rows:
            row["hosts"] = shape(row["hosts"], {"output": select_hosts}, "hostid")
    return shape(rows, p, "groupid")


async def delete(ctx: Context, params: Any) -> dict[str, list[str]]:
    """Delete host groups the caller may write (admins and super admins).

    Not the group for discovered hosts, nor a host's last group.
    """
    if ctx.caller.type == USER:
        raise ApplicationError('No permissions to call "hostgroup.delete".')
    groupids = load_id_array(params)
    await ctx.storage.write(hosts.delete_host_groups, groupids, ctx.caller)
    return {"groupids": [str(groupid) for groupid in groupids]}


_groupids = ids_result("groupids")

METHODS = {
    "hostgroup.create": ApiMethod(
        create, params=ByName(HostGroupCreate, many=True), result=_groupids,
        example={"name": "Linux servers/Web"},
    ),
    "hostgroup.get": ApiMethod(
        get, params=ByName(HostGroupGetParams), result=HOSTGROUP_GET_RESULT,
        example={"output": ["groupid", "name"], "selectHosts": ["host"]},
    ),
    "hostgroup.delete": ApiMethod(delete, params=ByPosition("groupid", Id()), result=_groupids, example=["7"]),
}
