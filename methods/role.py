"""role.*: user roles and their rules (problem actions, API methods).

Only super admins write roles; everyone may read, but a non-super-admin sees only their own role.
Refusals about the request (a name taken, the readonly role, a role in use) are -32602, as in
Zabbix; a missing role or a caller without the right is -32500.
A role's rules are a `RoleRules`: params are turned into one, and one is turned into get's `rules`.
"""

from __future__ import annotations

from typing import Any

from methods._get import get_query, shape
from rpcserver.caller import ACTIONS, Caller, RoleRules
from rpcserver.context import Context
from rpcserver.dispatch import ApiMethod, ByName, ByPosition
from rpcserver.errors import ApplicationError
from rpcserver.storage import roles
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


async def create(ctx: Context, params: Any) -> dict[str, list[str]]:
    """Create roles (super admins only): a name, a user type and the rules this server enforces.

    `rules`: API access and its method list (`api.mode` 0 deny the listed methods, 1 allow only
    them) and the problem actions. Rules left out allow, as in Zabbix: every method, every action.
    """
    _require_super_admin(ctx.caller, "role.create")
    roleids = await ctx.storage.write(roles.create_roles, load_create(params))
    return {"roleids": [str(roleid) for roleid in roleids]}


async def update(ctx: Context, params: Any) -> dict[str, list[str]]:
    """Change roles (super admins only); rules left out of `rules` stay as they are.

    The built-in Super admin role is read-only, and nobody changes the user type of their own role.
    """
    _require_super_admin(ctx.caller, "role.update")
    changes = load_update(params)
    await ctx.storage.write(roles.update_roles, changes, ctx.caller)
    return {"roleids": [str(change["roleid"]) for change in changes]}


async def delete(ctx: Context, params: Any) -> dict[str, list[str]]:
    """Delete roles (super admins only): not the read-only one, nor a role a user has."""
    _require_super_admin(ctx.caller, "role.delete")
    roleids = load_id_array(params, object_values=True)
    await ctx.storage.write(roles.delete_roles, roleids)
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
    select_rules, select_users = p["selectRules"], p["selectUsers"]
    user_columns = None
    if selected(select_users):
        user_columns = list(USER_FIELDS) if select_users in ("extend", "count") else select_users
    rows = await ctx.storage.read(roles.read_roles, query, selected(select_rules), user_columns, viewer)
    if not isinstance(rows, int):
        rule_keys = select_rules if isinstance(select_rules, list) else list(RULE_KEYS)  # else "extend"
        for row in rows:
            if "rules" in row:
                row["rules"] = _rules_object(row["rules"], rule_keys)
            if select_users == "count":
                row["users"] = str(len(row["users"]))
    return shape(rows, p, "roleid")


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
