"""usergroup.*: user groups, their members and their host-group rights.

Only super admins write; everyone may read, a non-super-admin only the groups they belong to.
Each write is one unit of work: every check and every change of a call in one transaction,
the checks in Zabbix's order (names, users, oneself, host groups). As in Zabbix, refusals about
the request are -32602 and missing objects -32500; a write may not leave the built-in Super
admin role without an active user.
"""

from __future__ import annotations

from typing import Any

from rpcserver.context import Context
from rpcserver.dispatch import ApiMethod, ByName, ByPosition
from rpcserver.errors import ApplicationError
from rpcserver.storage import usergroups
from schemas._fields import Id, load_id_array
from schemas._get import selected
from schemas._results import ids_result
from schemas.usergroup import (
    RIGHT_FIELDS,
    USER_FIELDS,
    USERGROUP_GET_RESULT,
    UserGroupCreateParams,
    UserGroupGetParams,
    UserGroupUpdateParams,
    load_create,
    load_update,
)

from ._get import get_query, shape

ID_PARAMS = ("usrgrpids", "userids")

_get_params = UserGroupGetParams()


def _require_super_admin(ctx: Context, method: str) -> None:
    """Checked before the params, as Zabbix checks a method's minimum user type."""
    if not ctx.caller.is_super_admin:
        raise ApplicationError(f'No permissions to call "usergroup.{method}".')


async def create(ctx: Context, params: Any) -> dict[str, list[str]]:
    """Create user groups (super admins only), with their members and host-group rights.

    A caller may not put themselves in a group that disables its members or their frontend access.
    """
    _require_super_admin(ctx, "create")
    groups = load_create(params)
    usrgrpids = await ctx.storage.write(usergroups.create_usergroups, groups, ctx.caller.userid)
    return {"usrgrpids": [str(usrgrpid) for usrgrpid in usrgrpids]}


async def update(ctx: Context, params: Any) -> dict[str, list[str]]:
    """Change user groups (super admins only); `users` and `hostgroup_rights` replace the current ones.

    A caller may not put themselves in a group that disables its members or their frontend access;
    every user must keep at least one group.
    """
    _require_super_admin(ctx, "update")
    groups = load_update(params)
    usrgrpids = await ctx.storage.write(usergroups.update_usergroups, groups, ctx.caller.userid)
    return {"usrgrpids": [str(usrgrpid) for usrgrpid in usrgrpids]}


async def delete(ctx: Context, params: Any) -> dict[str, list[str]]:
    """Delete user groups (super admins only); not the only group of a user."""
    _require_super_admin(ctx, "delete")
    usrgrpids = load_id_array(params, object_values=True)
    await ctx.storage.write(usergroups.delete_usergroups, usrgrpids)
    return {"usrgrpids": [str(usrgrpid) for usrgrpid in usrgrpids]}


def _fields_of(output: str | list[str], all_fields: tuple[str, ...]) -> list[str]:
    return list(all_fields) if output == "extend" else [name for name in all_fields if name in output]


async def get(ctx: Context, params: Any) -> Any:
    """User groups: all for a super admin, otherwise those the caller belongs to.

    `selectUsers` adds the members as `users`, `selectHostGroupRights` the host-group rights as
    `hostgroup_rights` (permission 0 deny, 2 read, 3 read-write; denials are shown to super admins only).
    """
    p = _get_params.load_params(params)
    query = get_query(p, ID_PARAMS)
    if not ctx.caller.is_super_admin:
        query.where.append(usergroups.MEMBER_OF)
        query.params["member_userid"] = ctx.caller.userid
    user_fields = _fields_of(p["selectUsers"], USER_FIELDS) if selected(p["selectUsers"]) else None
    right_fields = _fields_of(p["selectHostGroupRights"], RIGHT_FIELDS) if selected(p["selectHostGroupRights"]) else None
    # As in Zabbix, a non-super-admin is not shown which host groups are denied.
    rows = await ctx.storage.read(
        usergroups.read_usergroups, query, user_fields, right_fields, ctx.caller.is_super_admin
    )
    return shape(rows, p, "usrgrpid")


_usrgrpids = ids_result("usrgrpids")

METHODS = {
    "usergroup.create": ApiMethod(
        create, params=ByName(UserGroupCreateParams, many=True), result=_usrgrpids,
        example={"name": "Night shift", "hostgroup_rights": [{"id": "6", "permission": 3}], "users": [{"userid": "2"}]},
    ),
    "usergroup.get": ApiMethod(
        get, params=ByName(UserGroupGetParams), result=USERGROUP_GET_RESULT,
        example={"output": ["usrgrpid", "name"], "selectUsers": ["username"], "selectHostGroupRights": "extend"},
    ),
    "usergroup.update": ApiMethod(
        update, params=ByName(UserGroupUpdateParams, many=True), result=_usrgrpids,
        example={"usrgrpid": "11", "hostgroup_rights": [{"id": "6", "permission": 2}]},
    ),
    "usergroup.delete": ApiMethod(delete, params=ByPosition("usrgrpid", Id()), result=_usrgrpids, example=["8"]),
}
