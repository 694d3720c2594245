"""user.*: logging in and out, checking sessions, and managing users."""

from __future__ import annotations

import secrets
import sqlite3
from typing import Any

from rpcserver import auth
from rpcserver.caller import Caller
from rpcserver.context import Context
from rpcserver.dispatch import ApiMethod
from rpcserver.errors import ApplicationError, InvalidParams
from rpcserver.passwords import verify_password
from rpcserver.storage import identity
from schemas._base import require_empty
from schemas.user import CheckAuthenticationParams, LoginParams

LOGIN_FAILED = "Incorrect user name or password or account is temporarily blocked."
NO_SYSTEM_ACCESS = "No permissions for system access."

_login_params = LoginParams()
_check_params = CheckAuthenticationParams()


def user_data(conn: sqlite3.Connection, userid: int, client_ip: str) -> dict[str, Any]:
    """The user object `user.login` with userData and `user.checkAuthentication` return."""
    row = conn.execute(
        "SELECT u.userid, u.username, u.name, u.surname, u.autologout, u.attempt_failed, u.attempt_ip,"
        " u.attempt_clock, u.roleid, r.type,"
        " (SELECT MAX(g.debug_mode) FROM users_groups ug JOIN usrgrp g ON g.usrgrpid = ug.usrgrpid WHERE ug.userid = u.userid),"
        " (SELECT MAX(g.gui_access) FROM users_groups ug JOIN usrgrp g ON g.usrgrpid = ug.usrgrpid WHERE ug.userid = u.userid)"
        " FROM users u JOIN role r ON r.roleid = u.roleid WHERE u.userid = ?",
        (userid,),
    ).fetchone()
    (userid, username, name, surname, autologout, failed, attempt_ip, attempt_clock, roleid, type_, debug, gui) = row
    return {
        "userid": str(userid), "username": username, "name": name, "surname": surname, "url": "",
        "autologin": "0", "autologout": autologout, "lang": "en_US", "refresh": "30s", "theme": "default",
        "attempt_failed": str(failed), "attempt_ip": attempt_ip, "attempt_clock": str(attempt_clock),
        "rows_per_page": "50", "timezone": "UTC", "roleid": str(roleid), "userdirectoryid": "0",
        "ts_provisioned": "0", "type": type_, "userip": client_ip, "debug_mode": debug or 0,
        "deprovisioned": False, "gui_access": gui or 0, "mfaid": "0", "auth_type": 0,
    }


def _start_session(conn: sqlite3.Connection, userid: int, now: int) -> tuple[str, str]:
    sessionid, secret = secrets.token_hex(16), secrets.token_hex(16)
    identity.reset_failed_logins(conn, userid)
    identity.create_session(conn, sessionid, userid, now, secret)
    return sessionid, secret


async def login(ctx: Context, params: Any) -> Any:
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
    sessionid, secret = await ctx.storage.write(_start_session, user.userid, ctx.now)
    if not p["userData"]:
        return sessionid
    data = await ctx.storage.read(user_data, user.userid, ctx.client_ip)
    return {**data, "sessionid": sessionid, "secret": secret}


async def logout(ctx: Context, params: Any) -> bool:
    require_empty(params)
    caller: Caller = ctx.caller
    if caller.sessionid is None or not await ctx.storage.write(identity.log_out, caller.sessionid, caller.userid):
        raise InvalidParams("Cannot log out.")
    return True


async def check_authentication(ctx: Context, params: Any) -> dict[str, Any]:
    p = _check_params.load_params(params)
    if "token" in p:
        caller = await auth.token_caller(ctx.storage, p["token"], ctx.now)
        return await ctx.storage.read(user_data, caller.userid, ctx.client_ip)
    caller = await auth.session_caller(ctx.storage, p["sessionid"], ctx.now, extend=p["extend"])
    data = await ctx.storage.read(user_data, caller.userid, ctx.client_ip)
    return {**data, "sessionid": p["sessionid"]}


METHODS = {
    "user.login": ApiMethod(login, open=True),
    "user.logout": ApiMethod(logout),
    "user.checkauthentication": ApiMethod(check_authentication, open=True),
}
