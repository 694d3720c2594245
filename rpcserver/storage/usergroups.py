"""SQL of user groups: their rows, their members (users_groups) and their host-group rights
(rights: `groupid` is the user group, `id` the host group)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ._sql import inserted_id, marks
from .engine import Db
from .query import GetQuery, ObjectTable, select_objects

USERGROUPS = ObjectTable(
    source="usrgrp g",
    key="usrgrpid",
    columns={
        "usrgrpid": "g.usrgrpid",
        "name": "g.name",
        "gui_access": "g.gui_access",
        "users_status": "g.users_status",
        "debug_mode": "g.debug_mode",
    },
    id_filters={
        "usrgrpids": "g.usrgrpid IN ({ids})",
        "userids": "g.usrgrpid IN (SELECT usrgrpid FROM users_groups WHERE userid IN ({ids}))",
    },
    nocase=frozenset({"name"}),
)

MEMBER_OF = "g.usrgrpid IN (SELECT usrgrpid FROM users_groups WHERE userid = :member_userid)"
"""The groups a user belongs to, the only ones a non-super-admin sees; takes `:member_userid`."""

WRITABLE_FIELDS = ("name", "gui_access", "users_status", "debug_mode")


@dataclass(frozen=True)
class UserGroupRow:
    usrgrpid: int
    name: str
    gui_access: int
    users_status: int
    debug_mode: int


def select_usergroups(conn: Db, query: GetQuery) -> list[dict[str, Any]] | int:
    return select_objects(conn, USERGROUPS, query)


def members(conn: Db, usrgrpids: list[int]) -> list[dict[str, Any]]:
    """The users of the groups, as dicts of usrgrpid, userid, username, name, surname."""
    cursor = conn.execute(
        "SELECT ug.usrgrpid, u.userid, u.username, u.name, u.surname FROM users_groups ug"
        f" JOIN users u ON u.userid = ug.userid WHERE ug.usrgrpid IN ({marks(usrgrpids)}) ORDER BY u.userid",
        usrgrpids,
    )
    names = ("usrgrpid", "userid", "username", "name", "surname")
    return [dict(zip(names, row)) for row in cursor]


def hostgroup_rights(conn: Db, usrgrpids: list[int], *, with_denials: bool) -> list[dict[str, Any]]:
    """The rights of the groups, as dicts of usrgrpid, id (the host group), permission."""
    denials = "" if with_denials else " AND permission <> 0"
    cursor = conn.execute(
        f"SELECT groupid, id, permission FROM rights WHERE groupid IN ({marks(usrgrpids)}){denials} ORDER BY id",
        usrgrpids,
    )
    return [{"usrgrpid": groupid, "id": id_, "permission": permission} for groupid, id_, permission in cursor]


def usergroups_by_id(conn: Db, usrgrpids: list[int]) -> dict[int, UserGroupRow]:
    cursor = conn.execute(
        "SELECT usrgrpid, name, gui_access, users_status, debug_mode FROM usrgrp"
        f" WHERE usrgrpid IN ({marks(usrgrpids)})",
        usrgrpids,
    )
    return {row[0]: UserGroupRow(*row) for row in cursor}


def name_taken(conn: Db, name: str, usrgrpid: int | None) -> str | None:
    """The name of another group that `name` would clash with (names are unique regardless of
    ASCII case), or None. `usrgrpid` is the group being renamed, None for a new one."""
    row = conn.execute(
        f"SELECT name FROM usrgrp WHERE {conn.engine.nocase_equals('name', '?')} AND usrgrpid <> coalesce(?, 0)", (name, usrgrpid)
    ).fetchone()
    return row[0] if row else None


def missing_userids(conn: Db, userids: list[int]) -> list[int]:
    found = {row[0] for row in conn.execute(f"SELECT userid FROM users WHERE userid IN ({marks(userids)})", userids)}
    return [userid for userid in userids if userid not in found]


def missing_hostgroupids(conn: Db, groupids: list[int]) -> list[int]:
    found = {row[0] for row in conn.execute(f"SELECT groupid FROM hstgrp WHERE groupid IN ({marks(groupids)})", groupids)}
    return [groupid for groupid in groupids if groupid not in found]


def member_ids(conn: Db, usrgrpid: int) -> set[int]:
    return {row[0] for row in conn.execute("SELECT userid FROM users_groups WHERE usrgrpid = ?", (usrgrpid,))}


def insert_usergroup(conn: Db, values: Mapping[str, Any]) -> int:
    """A new group with the given fields (of WRITABLE_FIELDS; the others take their defaults)."""
    names = [name for name in WRITABLE_FIELDS if name in values]
    sql = f"INSERT INTO usrgrp ({', '.join(names)}) VALUES ({marks(names)}) RETURNING usrgrpid"
    return inserted_id(conn.execute(sql, [values[name] for name in names]))


def update_usergroup(conn: Db, usrgrpid: int, values: Mapping[str, Any]) -> None:
    names = [name for name in WRITABLE_FIELDS if name in values]
    if names:
        assignments = ", ".join(f"{name} = ?" for name in names)
        conn.execute(f"UPDATE usrgrp SET {assignments} WHERE usrgrpid = ?", [*(values[n] for n in names), usrgrpid])


def set_hostgroup_rights(conn: Db, usrgrpid: int, rights: list[tuple[int, int]]) -> None:
    """Replace the group's rights by `rights`, pairs of (host group id, permission)."""
    conn.execute("DELETE FROM rights WHERE groupid = ?", (usrgrpid,))
    conn.executemany(
        "INSERT INTO rights (groupid, id, permission) VALUES (?, ?, ?)",
        [(usrgrpid, groupid, permission) for groupid, permission in rights],
    )


def set_members(conn: Db, usrgrpid: int, userids: list[int]) -> set[int]:
    """Make `userids` the group's members; returns the ids of the users who left it."""
    before = member_ids(conn, usrgrpid)
    left = before - set(userids)
    conn.executemany("DELETE FROM users_groups WHERE usrgrpid = ? AND userid = ?", [(usrgrpid, u) for u in left])
    conn.executemany(
        "INSERT INTO users_groups (usrgrpid, userid) VALUES (?, ?)",
        [(usrgrpid, userid) for userid in userids if userid not in before],
    )
    return left


def first_user_without_group(conn: Db, userids: Iterable[int]) -> str | None:
    """The username of the first of `userids` that belongs to no group, or None."""
    ids = sorted(userids)
    row = conn.execute(
        f"SELECT username FROM users u WHERE userid IN ({marks(ids)})"
        " AND NOT EXISTS (SELECT 1 FROM users_groups ug WHERE ug.userid = u.userid) ORDER BY userid LIMIT 1",
        ids,
    ).fetchone()
    return row[0] if row else None


def only_group_of(conn: Db, usrgrpids: list[int]) -> tuple[str, str] | None:
    """(group name, username) of a user whose every group is among `usrgrpids`, or None."""
    these = marks(usrgrpids)
    row = conn.execute(
        "SELECT g.name, u.username FROM users_groups ug"
        " JOIN usrgrp g ON g.usrgrpid = ug.usrgrpid JOIN users u ON u.userid = ug.userid"
        f" WHERE ug.usrgrpid IN ({these}) AND NOT EXISTS (SELECT 1 FROM users_groups other"
        f"  WHERE other.userid = ug.userid AND other.usrgrpid NOT IN ({these}))"
        " ORDER BY ug.usrgrpid, u.userid LIMIT 1",
        [*usrgrpids, *usrgrpids],
    ).fetchone()
    return (row[0], row[1]) if row else None


def delete_usergroups(conn: Db, usrgrpids: list[int]) -> None:
    """Delete the groups; their memberships and rights go with them (ON DELETE CASCADE)."""
    conn.execute(f"DELETE FROM usrgrp WHERE usrgrpid IN ({marks(usrgrpids)})", usrgrpids)
