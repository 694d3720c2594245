"""SQL of identity: callers, sessions, tokens, login attempts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..caller import Caller, RoleRules
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
