"""SQL of identity: callers, sessions, tokens, login attempts; the lookups that authenticate a
call and the user object user.login and user.checkAuthentication answer with."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from ..caller import Caller, RoleRules
from . import credentials
from .engine import Db


@dataclass(frozen=True)
class UserRow:
    userid: int
    username: str
    passwd: str
    roleid: int | None
    role_type: int | None
    autologout: str
    attempt_failed: int
    attempt_clock: int
    disabled: bool
    """A member of a disabled user group: may not log in, sessions end."""

    @property
    def may_log_in(self) -> bool:
        return self.roleid is not None and not self.disabled


_USER = """
    SELECT u.userid, u.username, u.passwd, u.roleid, r.type, u.autologout, u.attempt_failed, u.attempt_clock,
           EXISTS (SELECT 1 FROM users_groups ug JOIN usrgrp g ON g.usrgrpid = ug.usrgrpid
                   WHERE ug.userid = u.userid AND g.users_status = 1)
    FROM users u LEFT JOIN role r ON r.roleid = u.roleid
"""


def _user_row(row: tuple[Any, ...]) -> UserRow:
    """A row of `_USER`; its last column, EXISTS, is 0 or 1."""
    return UserRow(*(*row[:-1], bool(row[-1])))  # one star: mypy reads `*a, b` as too many arguments


def user_by_name(conn: Db, username: str) -> UserRow | None:
    row = conn.execute(f"{_USER} WHERE {conn.engine.nocase_equals('u.username', '?')}", (username,)).fetchone()
    return _user_row(row) if row else None


def user_by_id(conn: Db, userid: int) -> UserRow | None:
    row = conn.execute(_USER + " WHERE u.userid = ?", (userid,)).fetchone()
    return _user_row(row) if row else None


def role_rules(conn: Db, roleid: int) -> RoleRules:
    return RoleRules.from_rows(conn.execute("SELECT name, value_int, value_str FROM role_rule WHERE roleid = ?", (roleid,)))


def caller_of(conn: Db, user: UserRow, *, sessionid: str | None = None, tokenid: int | None = None) -> Caller:
    assert user.roleid is not None and user.role_type is not None
    return Caller(user.userid, user.username, user.role_type, user.roleid, role_rules(conn, user.roleid), sessionid, tokenid)


@dataclass(frozen=True)
class SessionRow:
    sessionid: str
    userid: int
    lastaccess: int
    status: int


def session(conn: Db, sessionid: str) -> SessionRow | None:
    row = conn.execute("SELECT sessionid, userid, lastaccess, status FROM sessions WHERE sessionid = ?", (sessionid,)).fetchone()
    return SessionRow(*row) if row else None


def create_session(conn: Db, sessionid: str, userid: int, now: int, secret: str) -> None:
    conn.execute(
        "INSERT INTO sessions (sessionid, userid, lastaccess, status, secret) VALUES (?, ?, ?, 0, ?)",
        (sessionid, userid, now, secret),
    )


def touch_session(conn: Db, sessionid: str, now: int) -> None:
    conn.execute("UPDATE sessions SET lastaccess = ? WHERE sessionid = ? AND lastaccess < ?", (now, sessionid, now))


def end_session(conn: Db, sessionid: str) -> None:
    conn.execute("UPDATE sessions SET status = 1 WHERE sessionid = ?", (sessionid,))


def log_out(conn: Db, sessionid: str, userid: int) -> bool:
    """Mark the session passive and forget the user's other passive sessions; False if it was not active."""
    if conn.execute("UPDATE sessions SET status = 1 WHERE sessionid = ? AND status = 0", (sessionid,)).rowcount == 0:
        return False
    conn.execute("DELETE FROM sessions WHERE userid = ? AND status = 1 AND sessionid <> ?", (userid, sessionid))
    return True


@dataclass(frozen=True)
class TokenRow:
    tokenid: int
    userid: int
    status: int
    expires_at: int
    lastaccess: int


def token_by_hash(conn: Db, token_hash: str) -> TokenRow | None:
    row = conn.execute(
        "SELECT tokenid, userid, status, expires_at, lastaccess FROM token WHERE token = ?", (token_hash,)
    ).fetchone()
    return TokenRow(*row) if row else None


def touch_token(conn: Db, tokenid: int, now: int) -> None:
    conn.execute("UPDATE token SET lastaccess = ? WHERE tokenid = ? AND lastaccess < ?", (now, tokenid, now))


def record_failed_login(conn: Db, userid: int, now: int, ip: str) -> None:
    conn.execute(
        "UPDATE users SET attempt_failed = attempt_failed + 1, attempt_clock = ?, attempt_ip = ? WHERE userid = ?",
        (now, ip, userid),
    )


def reset_failed_logins(conn: Db, userid: int) -> None:
    conn.execute("UPDATE users SET attempt_failed = 0 WHERE userid = ? AND attempt_failed <> 0", (userid,))


# Units of authentication and login

def token_lookup(conn: Db, token_hash: str) -> tuple[TokenRow | None, Caller | None, int]:
    """The token of a hash, its owner as a caller if they may log in, and the credentials generation
    they were read at (the same snapshot)."""
    generation = credentials.generation(conn)
    token = token_by_hash(conn, token_hash)
    if token is None or token.status != 0:
        return None, None, generation
    user = user_by_id(conn, token.userid)
    if user is None or not user.may_log_in:
        return token, None, generation
    return token, caller_of(conn, user, tokenid=token.tokenid), generation


def session_lookup(conn: Db, sessionid: str) -> tuple[SessionRow | None, UserRow | None, Caller | None, int]:
    """A session, its user and caller if they may log in, and the credentials generation they were
    read at (the same snapshot)."""
    generation = credentials.generation(conn)
    found = session(conn, sessionid)
    if found is None or found.status != 0:
        return None, None, None, generation
    user = user_by_id(conn, found.userid)
    if user is None or not user.may_log_in:
        return found, None, None, generation
    return found, user, caller_of(conn, user, sessionid=sessionid), generation


def user_data(conn: Db, userid: int, client_ip: str) -> dict[str, Any]:
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


def start_session(conn: Db, userid: int, now: int) -> tuple[str, str]:
    """A new session of a user who gave the right password: its id and secret."""
    sessionid, secret = secrets.token_hex(16), secrets.token_hex(16)
    reset_failed_logins(conn, userid)
    create_session(conn, sessionid, userid, now, secret)
    return sessionid, secret
