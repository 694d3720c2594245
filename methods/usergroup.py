"""usergroup.*: user groups, their members and their host-group rights.

Only super admins write; everyone may read, a non-super-admin only the groups they belong to.
Each write is one unit of work: every check and every change of a call in one transaction,
the checks in Zabbix's order (names, users, oneself, host groups). As in Zabbix, refusals about
the request are -32602 and missing objects -32500; a write may not leave the built-in Super
admin role without an active user.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from rpcserver.context import Context
from rpcserver.dispatch import ApiMethod, ByName, ByPosition
from rpcserver.errors import NO_PERMISSIONS, ApplicationError, InvalidParams
from rpcserver.storage import usergroups, users
from rpcserver.storage.engine import Db
from rpcserver.storage.query import GetQuery
from rpcserver.storage.usergroups import UserGroupRow
from schemas._fields import Id, load_id_array
from schemas._get import selected
from schemas._results import ids_result
from schemas.usergroup import (
    GUI_ACCESS_DISABLED,
    RIGHT_FIELDS,
    USER_FIELDS,
    USERGROUP_GET_RESULT,
    USERS_STATUS_DISABLED,
    UserGroupCreateParams,
    UserGroupGetParams,
    UserGroupUpdateParams,
    load_create,
    load_update,
)

from ._get import get_query, shape

ID_PARAMS = ("usrgrpids", "userids")
LOCKS_ONESELF_OUT = "User cannot add himself to a disabled group or a group with disabled GUI access."

_get_params = UserGroupGetParams()


def _require_super_admin(ctx: Context, method: str) -> None:
    """Checked before the params, as Zabbix checks a method's minimum user type."""
    if not ctx.caller.is_super_admin:
        raise ApplicationError(f'No permissions to call "usergroup.{method}".')


def _check_names(conn: Db, names: list[tuple[int | None, str]]) -> None:
    """Names, as (usrgrpid or None for a new group, name), free in the database (the schema
    has refused a name repeated within the call)."""
    for usrgrpid, name in names:
        taken = usergroups.name_taken(conn, name, usrgrpid)
        if taken is not None:
            raise InvalidParams(f'User group "{taken}" already exists.')


def _listed(groups: list[dict[str, Any]], field: str, key: str) -> list[int]:
    """Every id named under `field` in the groups, once each, in order."""
    return list(dict.fromkeys(item[key] for group in groups for item in group.get(field, [])))


def _check_users(conn: Db, groups: list[dict[str, Any]]) -> None:
    userids = _listed(groups, "users", "userid")
    if userids and usergroups.missing_userids(conn, userids):
        raise ApplicationError(NO_PERMISSIONS)


def _check_hostgroups(conn: Db, groups: list[dict[str, Any]]) -> None:
    groupids = _listed(groups, "hostgroup_rights", "id")
    if groupids and usergroups.missing_hostgroupids(conn, groupids):
        raise ApplicationError(NO_PERMISSIONS)


def _check_oneself(conn: Db, group: dict[str, Any], current: UserGroupRow | None, caller_userid: int) -> None:
    """The caller may not end up in a group that disables its members or their GUI access."""
    gui_access = group.get("gui_access", current.gui_access if current else 0)
    users_status = group.get("users_status", current.users_status if current else 0)
    if gui_access != GUI_ACCESS_DISABLED and users_status != USERS_STATUS_DISABLED:
        return
    if "users" in group:
        members = {user["userid"] for user in group["users"]}
    else:
        members = usergroups.member_ids(conn, current.usrgrpid) if current else set()
    if caller_userid in members:
        raise InvalidParams(LOCKS_ONESELF_OUT)


def _write_rights_and_members(conn: Db, usrgrpid: int, group: dict[str, Any]) -> set[int]:
    """Replace the rights and members the call gives; returns the ids of users who left the group."""
    if "hostgroup_rights" in group:
        rights = [(right["id"], right["permission"]) for right in group["hostgroup_rights"]]
        usergroups.set_hostgroup_rights(conn, usrgrpid, rights)
    if "users" in group:
        return usergroups.set_members(conn, usrgrpid, [user["userid"] for user in group["users"]])
    return set()


def _insert(conn: Db, groups: list[dict[str, Any]]) -> list[int]:
    usrgrpids = []
    for group in groups:
        usrgrpid = usergroups.insert_usergroup(conn, group)
        _write_rights_and_members(conn, usrgrpid, group)
        usrgrpids.append(usrgrpid)
    return usrgrpids


def _create(conn: Db, groups: list[dict[str, Any]], caller_userid: int) -> list[int]:
    _check_names(conn, [(None, group["name"]) for group in groups])
    _check_users(conn, groups)
    for group in groups:
        _check_oneself(conn, group, None, caller_userid)
    _check_hostgroups(conn, groups)
    # A new disabled group can disable its members: the last super admin too.
    return users.keeping_an_active_super_admin(conn, lambda: _insert(conn, groups))


def _update(conn: Db, groups: list[dict[str, Any]], caller_userid: int) -> list[int]:
    usrgrpids = [group["usrgrpid"] for group in groups]
    current = usergroups.usergroups_by_id(conn, usrgrpids)
    if len(current) != len(usrgrpids):
        raise ApplicationError(NO_PERMISSIONS)
    _check_names(conn, [(group["usrgrpid"], group["name"]) for group in groups if "name" in group])
    _check_users(conn, groups)
    for group in groups:
        _check_oneself(conn, group, current[group["usrgrpid"]], caller_userid)
    _check_hostgroups(conn, groups)
    users.keeping_an_active_super_admin(conn, lambda: _apply_updates(conn, groups))
    return usrgrpids


def _apply_updates(conn: Db, groups: list[dict[str, Any]]) -> None:
    left: set[int] = set()
    for group in groups:
        usergroups.update_usergroup(conn, group["usrgrpid"], group)
        left |= _write_rights_and_members(conn, group["usrgrpid"], group)
    # Checked on the result, so a user moved from one group of the call to another may go.
    stranded = usergroups.first_user_without_group(conn, left) if left else None
    if stranded is not None:
        raise InvalidParams(f'User "{stranded}" cannot be without user group.')


def _delete(conn: Db, usrgrpids: list[int]) -> None:
    if len(usergroups.usergroups_by_id(conn, usrgrpids)) != len(usrgrpids):
        raise ApplicationError(NO_PERMISSIONS)
    stranded = usergroups.only_group_of(conn, usrgrpids)
    if stranded is not None:
        raise InvalidParams(f'User group "{stranded[0]}" is the only group of user "{stranded[1]}".')
    usergroups.delete_usergroups(conn, usrgrpids)


async def create(ctx: Context, params: Any) -> dict[str, list[str]]:
    """Create user groups (super admins only), with their members and host-group rights.

    A caller may not put themselves in a group that disables its members or their frontend access.
    """
    _require_super_admin(ctx, "create")
    groups = load_create(params)
    usrgrpids = await ctx.storage.write(_create, groups, ctx.caller.userid)
    return {"usrgrpids": [str(usrgrpid) for usrgrpid in usrgrpids]}


async def update(ctx: Context, params: Any) -> dict[str, list[str]]:
    """Change user groups (super admins only); `users` and `hostgroup_rights` replace the current ones.

    A caller may not put themselves in a group that disables its members or their frontend access;
    every user must keep at least one group.
    """
    _require_super_admin(ctx, "update")
    groups = load_update(params)
    usrgrpids = await ctx.storage.write(_update, groups, ctx.caller.userid)
    return {"usrgrpids": [str(usrgrpid) for usrgrpid in usrgrpids]}


async def delete(ctx: Context, params: Any) -> dict[str, list[str]]:
    """Delete user groups (super admins only); not the only group of a user."""
    _require_super_admin(ctx, "delete")
    usrgrpids = load_id_array(params, object_values=True)
    await ctx.storage.write(_delete, usrgrpids)
    return {"usrgrpids": [str(usrgrpid) for usrgrpid in usrgrpids]}


def _fields_of(output: str | list[str], all_fields: tuple[str, ...]) -> list[str]:
    return list(all_fields) if output == "extend" else [name for name in all_fields if name in output]


def _attach(rows: list[dict[str, Any]], key: str, related: list[dict[str, Any]], fields: list[str]) -> None:
    """Give each group row the list `key` of its related objects, with `fields` as strings."""
    by_group: dict[int, list[dict[str, str]]] = defaultdict(list)
    for item in related:
        by_group[item["usrgrpid"]].append({name: str(item[name]) for name in fields})
    for row in rows:
        row[key] = by_group.get(row["usrgrpid"], [])


def _read(conn: Db, query: GetQuery, params: dict[str, Any], super_admin: bool) -> list[dict[str, Any]] | int:
    rows = usergroups.select_usergroups(conn, query)
    if isinstance(rows, int) or not rows:
        return rows
    usrgrpids = [row["usrgrpid"] for row in rows]
    if selected(params["selectUsers"]):
        _attach(rows, "users", usergroups.members(conn, usrgrpids), _fields_of(params["selectUsers"], USER_FIELDS))
    if selected(params["selectHostGroupRights"]):
        # As in Zabbix, a non-super-admin is not shown which host groups are denied.
        rights = usergroups.hostgroup_rights(conn, usrgrpids, with_denials=super_admin)
        _attach(rows, "hostgroup_rights", rights, _fields_of(params["selectHostGroupRights"], RIGHT_FIELDS))
    return rows


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
    rows = await ctx.storage.read(_read, query, p, ctx.caller.is_super_admin)
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
