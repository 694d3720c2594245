"""role.*: user roles and their rules (problem actions, API methods).

Only super admins write roles; everyone may read, but a non-super-admin sees only their own role.
Refusals about the request (a name taken, the readonly role, a role in use) are -32602, as in
Zabbix; a missing role or a caller without the right is -32500.
A role's rules are a `RoleRules`: params are turned into one, and one is turned into get's `rules`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from methods._get import get_query, shape
from rpcserver.caller import ACTIONS, Caller, RoleRules
from rpcserver.context import Context
from rpcserver.dispatch import ApiMethod, ByName, ByPosition
from rpcserver.errors import NO_PERMISSIONS, ApplicationError, InvalidParams
from rpcserver.storage import identity, roles
from rpcserver.storage.engine import Db
from rpcserver.storage.query import GetQuery
from schemas._fields import Id, load_id_array
from schemas._get import selected
from schemas._results import ids_result
from schemas.role import (
    ROLE_GET_RESULT,
    RULE_KEYS,
    USER_FIELDS,
    RoleCreateParams,
    RoleGetParams,
    RoleUpdateParams,
    load_create,
    load_update,
)

ID_PARAMS = ("roleids", "userids")

_get_params = RoleGetParams()


def _require_super_admin(caller: Caller, method: str) -> None:
    if not caller.is_super_admin:
        raise ApplicationError(f'No permissions to call "{method}".')


def _with_rules(rules: RoleRules, given: dict[str, Any]) -> RoleRules:
    """`rules` with the keys of a loaded `rules` param replaced; the others are kept."""
    changes: dict[str, Any] = {}
    if "api_access" in given:
        changes["api_access"] = bool(given["api_access"])
    if "api_mode" in given:
        changes["api_mode"] = given["api_mode"]
    if "api" in given:
        changes["api_methods"] = tuple(given["api"])
    if "actions" in given:
        changes["actions"] = tuple(sorted((action["name"], bool(action["status"])) for action in given["actions"]))
    if "actions_default_access" in given:
        changes["actions_default_access"] = bool(given["actions_default_access"])
    return replace(rules, **changes)


def _check_name_free(conn: Db, name: str, roleid: int | None = None) -> None:
    holder = roles.roleid_named(conn, name)
    if holder is not None and holder != roleid:
        raise InvalidParams(f'Role "{name}" already exists.')


def _create(conn: Db, new_roles: list[dict[str, Any]]) -> list[int]:
    roleids = []
    for role in new_roles:
        _check_name_free(conn, role["name"])
        rules = _with_rules(RoleRules(), role.get("rules", {}))
        roleids.append(roles.insert_role(conn, role["name"], role["type"], rules))
    return roleids


async def create(ctx: Context, params: Any) -> dict[str, list[str]]:
    """Create roles (super admins only): a name, a user type and the rules this server enforces.

    `rules`: API access and its method list (`api.mode` 0 deny the listed methods, 1 allow only
    them) and the problem actions. Rules left out allow, as in Zabbix: every method, every action.
    """
    _require_super_admin(ctx.caller, "role.create")
    roleids = await ctx.storage.write(_create, load_create(params))
    return {"roleids": [str(roleid) for roleid in roleids]}


def _existing(conn: Db, roleid: int) -> roles.RoleRow:
    role = roles.role_by_id(conn, roleid)
    if role is None:
        raise ApplicationError(NO_PERMISSIONS)
    return role


def _update(conn: Db, changes: list[dict[str, Any]], caller: Caller) -> None:
    current: dict[int, roles.RoleRow] = {}
    for change in changes:
        role = _existing(conn, change["roleid"])
        if role.readonly:
            raise InvalidParams(f'Cannot update readonly role "{role.name}".')
        if role.roleid == caller.roleid and change.get("type", role.type) != role.type:
            raise InvalidParams("Cannot change the user type of own role.")
        current[role.roleid] = role
    for change in changes:
        role = current[change["roleid"]]
        if "name" in change:
            _check_name_free(conn, change["name"], role.roleid)
        roles.update_role(conn, role.roleid, change.get("name", role.name), change.get("type", role.type))
        if "rules" in change:
            roles.replace_rules(conn, role.roleid, _with_rules(identity.role_rules(conn, role.roleid), change["rules"]))


async def update(ctx: Context, params: Any) -> dict[str, list[str]]:
    """Change roles (super admins only); rules left out of `rules` stay as they are.

    The built-in Super admin role is read-only, and nobody changes the user type of their own role.
    """
    _require_super_admin(ctx.caller, "role.update")
    changes = load_update(params)
    await ctx.storage.write(_update, changes, ctx.caller)
    return {"roleids": [str(change["roleid"]) for change in changes]}


def _delete(conn: Db, roleids: list[int]) -> None:
    for roleid in roleids:
        role = _existing(conn, roleid)
        if role.readonly:
            raise InvalidParams(f'Cannot delete readonly role "{role.name}".')
        if roles.has_users(conn, roleid):
            raise InvalidParams(f'The role "{role.name}" is assigned to at least one user and cannot be deleted.')
    roles.delete_roles(conn, roleids)


async def delete(ctx: Context, params: Any) -> dict[str, list[str]]:
    """Delete roles (super admins only): not the read-only one, nor a role a user has."""
    _require_super_admin(ctx.caller, "role.delete")
    roleids = load_id_array(params, object_values=True)
    await ctx.storage.write(_delete, roleids)
    return {"roleids": [str(roleid) for roleid in roleids]}


def _rules_object(rules: RoleRules, keys: list[str]) -> dict[str, Any]:
    """get's `rules`: every action with its effective status, values as strings."""
    every = {
        "api.access": str(int(rules.api_access)),
        "api.mode": str(rules.api_mode),
        "api": list(rules.api_methods),
        "actions": [{"name": action, "status": str(int(rules.allows_action(action)))} for action in ACTIONS],
        "actions.default_access": str(int(rules.actions_default_access)),
    }
    return {key: every[key] for key in keys}


def _add_rules(conn: Db, rows: list[dict[str, Any]], select: str | list[str]) -> None:
    keys = select if isinstance(select, list) else list(RULE_KEYS)  # the one string it may be is "extend"
    rules = roles.rules_of(conn, [row["roleid"] for row in rows])
    for row in rows:
        row["rules"] = _rules_object(rules[row["roleid"]], keys)


def _add_users(conn: Db, rows: list[dict[str, Any]], select: str | list[str], viewer: int | None) -> None:
    columns = list(USER_FIELDS) if select in ("extend", "count") else select
    by_role: dict[int, list[dict[str, str]]] = {row["roleid"]: [] for row in rows}
    for roleid, user in roles.users_of(conn, list(by_role), columns, viewer):
        by_role[roleid].append({name: str(user[name]) for name in columns})
    for row in rows:
        users = by_role[row["roleid"]]
        row["users"] = str(len(users)) if select == "count" else users


def _read(conn: Db, query: GetQuery, params: dict[str, Any], viewer: int | None) -> list[dict[str, Any]] | int:
    rows = roles.select_roles(conn, query)
    if isinstance(rows, int):
        return rows
    if selected(params["selectRules"]):
        _add_rules(conn, rows, params["selectRules"])
    if selected(params["selectUsers"]):
        _add_users(conn, rows, params["selectUsers"], viewer)
    return rows


async def get(ctx: Context, params: Any) -> Any:
    """Roles: all for a super admin, otherwise the caller's own.

    `selectRules` adds `rules` (every problem action with its effective status), `selectUsers` the
    users who have the role (those the caller may see), or their number with "count".
    """
    p = _get_params.load_params(params)
    query = get_query(p, ID_PARAMS)
    viewer = None
    if not ctx.caller.is_super_admin:
        viewer = ctx.caller.userid
        query.where.append(roles.OWN_ROLE)
        query.params["perm_userid"] = viewer
    return shape(await ctx.storage.read(_read, query, p, viewer), p, "roleid")


_roleids = ids_result("roleids")

METHODS = {
    "role.create": ApiMethod(
        create, params=ByName(RoleCreateParams, many=True), result=_roleids,
        example={"name": "Acknowledger", "type": 1, "rules": {"actions": [{"name": "close_problems", "status": 0}]}},
    ),
    "role.get": ApiMethod(
        get, params=ByName(RoleGetParams), result=ROLE_GET_RESULT,
        example={"output": ["roleid", "name", "type"], "selectRules": ["actions", "api"]},
    ),
    "role.update": ApiMethod(
        update, params=ByName(RoleUpdateParams, many=True), result=_roleids,
        example={"roleid": "4", "rules": {"api.access": 0}},
    ),
    "role.delete": ApiMethod(delete, params=ByPosition("roleid", Id()), result=_roleids, example=["4"]),
}
