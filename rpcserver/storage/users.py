"""SQL of users: what user.get reads, and the write units of user.create, user.update and user.delete.

Each write unit checks everything it needs inside its own transaction and raises before (or
instead of) writing, so a refused call leaves the database as it was. The one check made after
writing (that an active user keeps the built-in Super admin role) raises too, which rolls back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from ..caller import SUPER_ADMIN
from ..domain.errors import Conflict, NotFound
from ._sql import id_list, inserted_id
from .engine import Db
from .query import GetQuery, ObjectTable, output_fields, select_objects

# Zabbix's column order for "extend", less the columns we do not keep.
USERS = ObjectTable(
    source="users u",
    key="userid",
    columns={
        "userid": "u.userid",
        "username": "u.username",
        "name": "u.name",
        "surname": "u.surname",
        "autologout": "u.autologout",
        "attempt_failed": "u.attempt_failed",
        "attempt_ip": "u.attempt_ip",
        "attempt_clock": "u.attempt_clock",
        "roleid": "u.roleid",
    },
    id_filters={
        "userids": "u.userid IN ({ids})",
        "usrgrpids": "u.userid IN (SELECT userid FROM users_groups WHERE usrgrpid IN ({ids}))",
    },
    nocase=frozenset({"username"}),
)
USRGRP_COLUMNS = {
    "usrgrpid": "g.usrgrpid",
    "name": "g.name",
    "gui_access": "g.gui_access",
    "users_status": "g.users_status",
    "debug_mode": "g.debug_mode",
}
ROLE_COLUMNS = {"roleid": "r.roleid", "name": "r.name", "type": "r.type", "readonly": "r.readonly"}

OWN_ROLE_OR_GROUPS = "User cannot change own role or user groups."
WRONG_CURRENT_PASSWORD = "Incorrect current password."
DELETES_HIMSELF = "User is not allowed to delete himself."

T = TypeVar("T")


# --- user.get -----------------------------------------------------------------------------------


def limit_to_visible(query: GetQuery, userid: int) -> None:
    """Who a user other than a super admin sees: themselves and the members of their user groups."""
    query.where.append(
        "(u.userid = :perm_userid OR u.userid IN ("
        " SELECT mate.userid FROM users_groups mate JOIN users_groups mine ON mine.usrgrpid = mate.usrgrpid"
        " WHERE mine.userid = :perm_userid))"
    )
    query.params["perm_userid"] = userid


def get_users(
    conn: Db, query: GetQuery, usrgrp_output: str | list[str] | None, role_output: str | list[str] | None
) -> list[dict[str, Any]] | int:
    """user.get's rows (or count), with `usrgrps` and `role` attached when asked for."""
    rows = select_objects(conn, USERS, query)
    if isinstance(rows, int) or not rows:
        return rows
    userids = [row["userid"] for row in rows]
    if usrgrp_output is not None:
        groups = _groups_of(conn, userids, output_fields(USRGRP_COLUMNS, usrgrp_output))
        for row in rows:
            row["usrgrps"] = groups.get(row["userid"], [])
    if role_output is not None:
        roles = _roles_of(conn, userids, output_fields(ROLE_COLUMNS, role_output))
        for row in rows:
            # Zabbix gives an empty array to a user without a role.
            row["role"] = roles.get(row["userid"], [])
    return rows


def _groups_of(conn: Db, userids: list[int], names: list[str]) -> dict[int, list[dict[str, Any]]]:
    select = ", ".join(f"{USRGRP_COLUMNS[n]} AS {n}" for n in names)
    cursor = conn.execute(
        f"SELECT ug.userid, {select} FROM users_groups ug JOIN usrgrp g ON g.usrgrpid = ug.usrgrpid"
        f" WHERE ug.userid IN ({id_list(userids)}) ORDER BY ug.userid, g.usrgrpid"
    )
    groups: dict[int, list[dict[str, Any]]] = {}
    for userid, *values in cursor:
        groups.setdefault(userid, []).append(dict(zip(names, values)))
    return groups


def _roles_of(conn: Db, userids: list[int], names: list[str]) -> dict[int, dict[str, Any]]:
    select = ", ".join(f"{ROLE_COLUMNS[n]} AS {n}" for n in names)
    cursor = conn.execute(
        f"SELECT u.userid, {select} FROM users u JOIN role r ON r.roleid = u.roleid"
        f" WHERE u.userid IN ({id_list(userids)})"
    )
    return {userid: dict(zip(names, values)) for userid, *values in cursor}


def stored_password_hash(conn: Db, userid: int) -> str | None:
    row = conn.execute("SELECT passwd FROM users WHERE userid = ?", (userid,)).fetchone()
    return row[0] if row else None


# --- checks shared by create and update ---------------------------------------------------------


def _check_usernames_free(conn: Db, names: Sequence[tuple[str, int | None]]) -> None:
    """No other user may have any of the (username, its own userid or None) pairs' names, in any
    case (the column is NOCASE). Names repeated within the call are the schema's to refuse."""
    for username, userid in names:
        row = conn.execute(
            f"SELECT username FROM users WHERE {conn.engine.nocase_equals('username', '?')} AND userid <> coalesce(?, 0)",
            (username, userid),
        ).fetchone()
        if row:
            raise Conflict(f'User with username "{row[0]}" already exists.')


# The built-in Super admin role (roleid 3 in a new database) is the readonly role of that type.
_BUILT_IN_SUPER_ADMIN_ROLE = f"r.type = {SUPER_ADMIN} AND r.readonly = 1"


def has_active_super_admin(conn: Db) -> bool:
    """Whether some user with the built-in Super admin role is active: a member of a user group
    and of no disabled one (a disabled group disables its members, as `identity` has it)."""
    row = conn.execute(
        f"SELECT 1 FROM users u JOIN role r ON r.roleid = u.roleid WHERE {_BUILT_IN_SUPER_ADMIN_ROLE}"
        " AND EXISTS (SELECT 1 FROM users_groups ug WHERE ug.userid = u.userid)"
        " AND NOT EXISTS (SELECT 1 FROM users_groups ug JOIN usrgrp g ON g.usrgrpid = ug.usrgrpid"
        "  WHERE ug.userid = u.userid AND g.users_status = 1)"
        " LIMIT 1"
    ).fetchone()
    return row is not None


def keeping_an_active_super_admin(conn: Db, write: Callable[[], T]) -> T:
    """Run `write` (part of the caller's write unit) and refuse it, which rolls the unit back, if it
    leaves no active user with the built-in Super admin role where there was one."""
    had_one = has_active_super_admin(conn)
    result = write()
    if had_one and not has_active_super_admin(conn):
        [name] = conn.execute(f"SELECT r.name FROM role r WHERE {_BUILT_IN_SUPER_ADMIN_ROLE}").fetchone()
        raise Conflict(f'At least one active user must exist with role "{name}".')
    return result


def _check_exist(conn: Db, table: str, key: str, ids: Iterable[int]) -> None:
    wanted = set(ids)
    if not wanted:
        return
    found = {row[0] for row in conn.execute(f"SELECT {key} FROM {table} WHERE {key} IN ({id_list(wanted)})")}
    if wanted - found:
        raise NotFound()


def _set_groups(conn: Db, userid: int, usrgrpids: Sequence[int]) -> None:
    conn.execute(
        f"DELETE FROM users_groups WHERE userid = ? AND usrgrpid NOT IN ({id_list(usrgrpids)})", (userid,)
    )
    conn.executemany(
        "INSERT INTO users_groups (usrgrpid, userid) VALUES (?, ?) ON CONFLICT DO NOTHING",
        [(usrgrpid, userid) for usrgrpid in usrgrpids],
    )


# --- user.create --------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewUser:
    username: str
    passwd: str
    """The hash, never the password."""
    roleid: int
    usrgrpids: tuple[int, ...]
    name: str = ""
    surname: str = ""
    autologout: str = "15m"


def create_users(conn: Db, users: Sequence[NewUser]) -> list[int]:
    """Insert the users with their groups; the new ids, in order."""
    _check_usernames_free(conn, [(user.username, None) for user in users])
    _check_exist(conn, "role", "roleid", (user.roleid for user in users))
    _check_exist(conn, "usrgrp", "usrgrpid", (g for user in users for g in user.usrgrpids))
    userids = []
    for user in users:
        userid = inserted_id(conn.execute(
            "INSERT INTO users (username, name, surname, passwd, roleid, autologout) VALUES (?, ?, ?, ?, ?, ?)"
            " RETURNING userid",
            (user.username, user.name, user.surname, user.passwd, user.roleid, user.autologout),
        ))
        _set_groups(conn, userid, user.usrgrpids)
        userids.append(userid)
    return userids


# --- user.update --------------------------------------------------------------------------------

UPDATABLE_COLUMNS = ("username", "name", "surname", "passwd", "autologout", "roleid")


@dataclass(frozen=True)
class UserChange:
    userid: int
    values: dict[str, Any]
    """Column -> new value, columns from UPDATABLE_COLUMNS; `passwd` is a hash."""
    usrgrpids: tuple[int, ...] | None = None
    """The user's new set of groups; None leaves them."""
    verified_passwd: str | None = None
    """For a change of one's own password: the stored hash the current password was checked
    against. If the hash has changed since, the check no longer holds."""


@dataclass(frozen=True)
class Actor:
    """Who makes the change: what they may edit, their own role and groups are protected, their
    session survives."""

    userid: int
    is_super_admin: bool
    sessionid: str | None


def update_users(conn: Db, changes: Sequence[UserChange], actor: Actor) -> None:
    stored = {
        row[0]: row[1:]
        for row in conn.execute(
            f"SELECT userid, roleid, passwd FROM users WHERE userid IN ({id_list(c.userid for c in changes)})"
        )
    }
    for change in changes:
        if change.userid not in stored:
            raise NotFound()
    for change in changes:
        if change.userid == actor.userid:
            _check_own_change(conn, change, stored[change.userid][0], actor)
    _check_usernames_free(conn, [(c.values["username"], c.userid) for c in changes if "username" in c.values])
    _check_exist(conn, "role", "roleid", (c.values["roleid"] for c in changes if "roleid" in c.values))
    _check_exist(conn, "usrgrp", "usrgrpid", (g for c in changes for g in c.usrgrpids or ()))
    for change in changes:
        if change.verified_passwd is not None and stored[change.userid][1] != change.verified_passwd:
            raise Conflict(WRONG_CURRENT_PASSWORD)
    keeping_an_active_super_admin(conn, lambda: _apply_all(conn, changes, actor))


def _apply_all(conn: Db, changes: Sequence[UserChange], actor: Actor) -> None:
    for change in changes:
        _apply(conn, change, actor)


def _check_own_change(conn: Db, change: UserChange, roleid: int | None, actor: Actor) -> None:
    # Nobody changes their own role (Zabbix: not even a super admin, who could demote the last one);
    # only a super admin changes their own groups.
    if "roleid" in change.values and change.values["roleid"] != roleid:
        raise Conflict(OWN_ROLE_OR_GROUPS)
    if change.usrgrpids is not None and not actor.is_super_admin:
        current = {row[0] for row in conn.execute("SELECT usrgrpid FROM users_groups WHERE userid = ?", (change.userid,))}
        if set(change.usrgrpids) != current:
            raise Conflict(OWN_ROLE_OR_GROUPS)


def _apply(conn: Db, change: UserChange, actor: Actor) -> None:
    columns = [column for column in UPDATABLE_COLUMNS if column in change.values]
    if columns:
        assignments = ", ".join(f"{column} = ?" for column in columns)
        values = [change.values[column] for column in columns]
        conn.execute(f"UPDATE users SET {assignments} WHERE userid = ?", (*values, change.userid))
    if change.usrgrpids is not None:
        _set_groups(conn, change.userid, change.usrgrpids)
    if "passwd" in change.values:
        # A new password ends every other session of the user: whoever knew the old one is out.
        conn.execute("DELETE FROM sessions WHERE userid = ? AND sessionid <> coalesce(?, '')", (change.userid, actor.sessionid))


# --- user.delete --------------------------------------------------------------------------------


def delete_users(conn: Db, userids: Sequence[int], actor: Actor) -> None:
    """Delete the users; their groups, sessions and tokens go with them (ON DELETE CASCADE).

    Checked per user, in order: it exists and the actor may edit it (a super admin anyone, anyone
    else only themselves), and it is not the actor.
    """
    existing = {row[0] for row in conn.execute(f"SELECT userid FROM users WHERE userid IN ({id_list(userids)})")}
    for userid in userids:
        if userid not in existing or not (actor.is_super_admin or userid == actor.userid):
            raise NotFound()
        if userid == actor.userid:
            raise Conflict(DELETES_HIMSELF)
    keeping_an_active_super_admin(conn, lambda: conn.execute(f"DELETE FROM users WHERE userid IN ({id_list(userids)})"))


# Units of the server's own setup: the first Admin, and `rpcserver passwd`

ADMINISTRATORS_GROUP = 7
SUPER_ADMIN_ROLE = 3


def has_users(conn: Db) -> bool:
    return conn.execute("SELECT 1 FROM users LIMIT 1").fetchone() is not None


def create_admin(conn: Db, passwd: str) -> bool:
    """Make the first user of a new database; False if another server starting on it made it first.
    Its id is 1 on both stores, as Zabbix's Admin's is."""
    row = conn.execute(
        "INSERT INTO users (username, name, surname, passwd, roleid, autologout)"
        " VALUES ('Admin', 'Zabbix', 'Administrator', ?, ?, '0') ON CONFLICT DO NOTHING RETURNING userid",
        (passwd, SUPER_ADMIN_ROLE),
    ).fetchone()
    if row is None:
        return False
    conn.execute("INSERT INTO users_groups (usrgrpid, userid) VALUES (?, ?)", (ADMINISTRATORS_GROUP, row[0]))
    return True


def set_password(conn: Db, username: str, passwd: str) -> bool:
    """Give the user `username` the password hash `passwd`, unblock them and end their sessions;
    False if there is no such user."""
    row = conn.execute(f"SELECT userid FROM users WHERE {conn.engine.nocase_equals('username', '?')}", (username,)).fetchone()
    if row is None:
        return False
    conn.execute("UPDATE users SET passwd = ?, attempt_failed = 0 WHERE userid = ?", (passwd, row[0]))
    conn.execute("DELETE FROM sessions WHERE userid = ?", (row[0],))
    return True
