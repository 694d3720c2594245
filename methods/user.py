"""user.*: logging in and out, checking sessions, and managing users.

Managing users follows Zabbix 7.0's conventions: a user the caller may not edit (anyone but
themselves, for a non-super-admin) is -32500 NO_PERMISSIONS like a missing one; refusals about
the request (a username taken, one's own role, a wrong current password) are -32602.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

from marshmallow import fields

from rpcserver import auth
from rpcserver.caller import Caller
from rpcserver.context import Context
from rpcserver.dispatch import ApiMethod, ByName, ByPosition
from rpcserver.errors import NO_PERMISSIONS, ApplicationError, InvalidParams
from rpcserver.passwords import hash_password, verify_password
from rpcserver.storage import identity, users
from schemas._base import invalid, require_empty
from schemas._fields import Id, load_id_array
from schemas._get import selected
from schemas._results import ids_result
from schemas.user import (
    LOGIN_RESULT,
    USER_GET_RESULT,
    USER_ID_PARAMS,
    CheckAuthenticationParams,
    LoginParams,
    LoginParamsDescribed,
    UserCreateParams,
    UserData,
    UserGetParams,
    UserUpdateParams,
    load_create,
    load_update,
)

from ._get import as_text, get_query, shape

LOGIN_FAILED = "Incorrect user name or password or account is temporarily blocked."
NO_SYSTEM_ACCESS = "No permissions for system access."

PASSWORD_MIN_LENGTH = 8

_login_params = LoginParams()
_check_params = CheckAuthenticationParams()
_get_params = UserGetParams()


async def login(ctx: Context, params: Any) -> Any:
    """Log in with a username and password: a new session, its id the credential for further calls.

    With `userData` the answer is the user object, with the session id and its secret. After
    repeated wrong passwords the account is blocked for a while; the refusal does not say why.
    `user` is accepted as the pre-5.4 name of `username` (Zabbix 7.0 refuses it), not with it.
    """
    p = _login_params.load_params(params)
    settings = ctx.settings
    user = await ctx.storage.read(identity.user_by_name, p["username"])
    if user is None:
        raise ApplicationError(LOGIN_FAILED)
    if user.attempt_failed >= settings.login_attempts and ctx.now - user.attempt_clock < settings.login_block:
        raise ApplicationError(LOGIN_FAILED)
    if not await verify_password(p["password"], user.passwd):
        # Counted even though the call fails: the block must hold.
        await ctx.storage.write(identity.record_failed_login, user.userid, ctx.now, ctx.client_ip)
        raise ApplicationError(LOGIN_FAILED)
    if not user.may_log_in:
        raise InvalidParams(NO_SYSTEM_ACCESS)
    sessionid, secret = await ctx.storage.write(identity.start_session, user.userid, ctx.now)
    if not p["userData"]:
        return sessionid
    data = await ctx.storage.read(identity.user_data, user.userid, ctx.client_ip)
    return {**data, "sessionid": sessionid, "secret": secret}


async def logout(ctx: Context, params: Any) -> bool:
    """End the session that made the call; answers true. Takes no params; refused for an API token."""
    require_empty(params)
    caller: Caller = ctx.caller
    if caller.sessionid is None or not await ctx.storage.write(identity.log_out, caller.sessionid, caller.userid):
        raise InvalidParams("Cannot log out.")
    return True


async def check_authentication(ctx: Context, params: Any) -> dict[str, Any]:
    """The user of a session id or API token, if it is still valid (give exactly one of them).

    Checking a session counts as activity and extends it, unless `extend` is false (sessions only).
    """
    p = _check_params.load_params(params)
    if "token" in p:
        caller = await auth.token_caller(ctx.storage, p["token"], ctx.now)
        return await ctx.storage.read(identity.user_data, caller.userid, ctx.client_ip)
    caller = await auth.session_caller(ctx.storage, p["sessionid"], ctx.now, extend=p["extend"])
    data = await ctx.storage.read(identity.user_data, caller.userid, ctx.client_ip)
    return {**data, "sessionid": p["sessionid"]}


def _check_password(passwd: str | None) -> None:
    """Zabbix's password policy for internal authentication: set, and at least 8 characters."""
    if passwd is None:
        raise InvalidParams('Incorrect value for field "passwd": cannot be empty.')
    if len(passwd) < PASSWORD_MIN_LENGTH:
        raise InvalidParams(f'Incorrect value for field "passwd": must be at least {PASSWORD_MIN_LENGTH} characters long.')


async def _hashes(ctx: Context, passwords: list[str]) -> list[str]:
    return list(await asyncio.gather(*(hash_password(pw, ctx.settings.password_cost) for pw in passwords)))


def _super_admin_only(ctx: Context, method: str) -> None:
    """Zabbix 7.0's CUser refuses other users before it reads the params."""
    if not ctx.caller.is_super_admin:
        raise ApplicationError(f'No permissions to call "{method}".')


async def create(ctx: Context, params: Any) -> dict[str, list[str]]:
    """Create users (super admins only), each with a role, user groups and a password of 8+ characters."""
    _super_admin_only(ctx, "user.create")
    objects = load_create(params)
    for obj in objects:
        _check_password(obj.get("passwd"))
    # Hashing is slow: done before the write unit, which must stay short.
    hashes = await _hashes(ctx, [obj["passwd"] for obj in objects])
    new_users = [
        users.NewUser(
            username=obj["username"], passwd=passwd, roleid=obj["roleid"], usrgrpids=tuple(obj["usrgrps"]),
            **{field: obj[field] for field in ("name", "surname", "autologout") if field in obj},
        )
        for obj, passwd in zip(objects, hashes)
    ]
    userids = await ctx.storage.write(users.create_users, new_users)
    return {"userids": [str(userid) for userid in userids]}


def _nested_text(value: Any) -> Any:
    """`usrgrps` and `role` hold objects whose values are strings too."""
    if isinstance(value, list):
        return [_nested_text(item) for item in value]
    if isinstance(value, dict):
        return {name: as_text(item) for name, item in value.items()}
    return value


async def get(ctx: Context, params: Any) -> Any:
    """Users: all of them for a super admin, otherwise oneself and the members of one's user groups.

    `selectUsrgrps` adds each user's groups as `usrgrps`, `selectRole` their role as `role`.
    """
    p = _get_params.load_params(params)
    query = get_query(p, USER_ID_PARAMS)
    if not ctx.caller.is_super_admin:
        users.limit_to_visible(query, ctx.caller.userid)
    usrgrp_output = p["selectUsrgrps"] if selected(p.get("selectUsrgrps")) else None
    role_output = p["selectRole"] if selected(p.get("selectRole")) else None
    rows = await ctx.storage.read(users.get_users, query, usrgrp_output, role_output)
    if not isinstance(rows, int):
        for row in rows:
            for name in ("usrgrps", "role"):
                if name in row:
                    row[name] = _nested_text(row[name])
    return shape(rows, p, "userid")


async def _verified_own_hash(ctx: Context, objects: list[dict[str, Any]]) -> str | None:
    """For a change of the caller's own password: the stored hash `current_passwd` matches."""
    own = next((obj for obj in objects if obj["userid"] == ctx.caller.userid and "passwd" in obj), None)
    if own is None:
        return None
    stored = await ctx.storage.read(users.stored_password_hash, ctx.caller.userid)
    if stored is None or not await verify_password(own["current_passwd"], stored):
        raise InvalidParams(users.WRONG_CURRENT_PASSWORD)
    return stored


def _change_of(obj: dict[str, Any], hashes: Iterator[str], caller_userid: int, verified_hash: str | None) -> users.UserChange:
    """One loaded update object as a storage change; `hashes` yields the new passwords' hashes in order."""
    values = {column: obj[column] for column in users.UPDATABLE_COLUMNS if column in obj}
    if "passwd" in values:
        values["passwd"] = next(hashes)
    own_password = obj["userid"] == caller_userid and "passwd" in obj
    usrgrpids = tuple(obj["usrgrps"]) if "usrgrps" in obj else None
    return users.UserChange(obj["userid"], values, usrgrpids, verified_hash if own_password else None)


async def update(ctx: Context, params: Any) -> dict[str, list[str]]:
    """Change users: a super admin anyone, anyone else only themselves. Answers the ids changed.

    Nobody changes their own role, and only a super admin their own groups. Changing one's own
    password needs `current_passwd`; a new password ends the user's other sessions. No change may
    leave the built-in Super admin role without an active user.
    """
    caller: Caller = ctx.caller
    objects = load_update(params)
    if not caller.is_super_admin and any(obj["userid"] != caller.userid for obj in objects):
        raise ApplicationError(NO_PERMISSIONS)  # a non-super-admin may edit only themselves
    for index, obj in enumerate(objects):
        if "passwd" in obj:
            if obj["userid"] == caller.userid and "current_passwd" not in obj:
                raise invalid(f"/{index + 1}", 'the parameter "current_passwd" is missing')
            _check_password(obj["passwd"])
    verified_hash = await _verified_own_hash(ctx, objects)
    hashes = iter(await _hashes(ctx, [obj["passwd"] for obj in objects if "passwd" in obj]))
    changes = [_change_of(obj, hashes, caller.userid, verified_hash) for obj in objects]
    actor = users.Actor(caller.userid, caller.is_super_admin, caller.sessionid)
    await ctx.storage.write(users.update_users, changes, actor)
    return {"userids": [str(obj["userid"]) for obj in objects]}


async def delete(ctx: Context, params: Any) -> dict[str, list[str]]:
    """Delete users (super admins only), not oneself; their sessions and API tokens go with them.

    No deletion may leave the built-in Super admin role without an active user.
    """
    _super_admin_only(ctx, "user.delete")
    caller: Caller = ctx.caller
    userids = load_id_array(params)
    actor = users.Actor(caller.userid, caller.is_super_admin, caller.sessionid)
    await ctx.storage.write(users.delete_users, userids, actor)
    return {"userids": [str(userid) for userid in userids]}


_userids = ids_result("userids")

METHODS = {
    "user.login": ApiMethod(
        login, open=True, params=ByName(LoginParamsDescribed), result=LOGIN_RESULT,
        example={"username": "operator", "password": "operator"},
    ),
    "user.logout": ApiMethod(logout, result=fields.Boolean(metadata={"description": "true"}), example={}),
    "user.checkAuthentication": ApiMethod(
        check_authentication, open=True, params=ByName(CheckAuthenticationParams), result=fields.Nested(UserData)
    ),
    "user.create": ApiMethod(
        create, params=ByName(UserCreateParams, many=True), result=_userids,
        example={
            "username": "oncall",
            "name": "On-call",
            "passwd": "correct-horse-9",
            "roleid": "1",
            "usrgrps": [{"usrgrpid": "10"}],
        },
    ),
    "user.get": ApiMethod(
        get, params=ByName(UserGetParams), result=USER_GET_RESULT,
        example={"output": ["userid", "username", "name"], "selectUsrgrps": ["name"]},
    ),
    "user.update": ApiMethod(
        update, params=ByName(UserUpdateParams, many=True), result=_userids,
        example={"userid": "3", "name": "Dashboard viewer"},
    ),
    "user.delete": ApiMethod(delete, params=ByPosition("userid", Id()), result=_userids, example=["3"]),
}
