"""SQL of user groups: their rows, their members (users_groups) and their host-group rights
(rights: `groupid` is the user group, `id` the host group); and the units of work of usergroup.*."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..domain.errors import Conflict, NotFound
from . import users
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
GUI_ACCESS_DISABLED = 3
USERS_STATUS_DISABLED = 1
LOCKS_ONESELF_OUT = "User cannot add himself to a disabled group or a group with disabled GUI access."


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


def delete_usergroup_rows(conn: Db, usrgrpids: list[int]) -> None:
    """Delete the groups; their memberships and rights go with them (ON DELETE CASCADE)."""
    conn.execute(f"DELETE FROM usrgrp WHERE usrgrpid IN ({marks(usrgrpids)})", usrgrpids)


# Units of work of usergroup.*: every check and change of a call in one transaction,
# the checks in Zabbix's order (names, users, oneself, host groups).

def _check_names(conn: Db, names: list[tuple[int | None, str]]) -> None:
    """Names, as (usrgrpid or None for a new group, name), free in the database (the schema
    has refused a name repeated within the call)."""
    for usrgrpid, name in names:
        taken = name_taken(conn, name, usrgrpid)
        if taken is not None:
            raise Conflict(f'User group "{taken}" already exists.')


def _listed(groups: list[dict[str, Any]], field: str, key: str) -> list[int]:
    """Every id named under `field` in the groups, once each, in order."""
    return list(dict.fromkeys(item[key] for group in groups for item in group.get(field, [])))


def _check_users(conn: Db, groups: list[dict[str, Any]]) -> None:
    userids = _listed(groups, "users", "userid")
    if userids and missing_userids(conn, userids):
        raise NotFound()


def _check_hostgroups(conn: Db, groups: list[dict[str, Any]]) -> None:
    groupids = _listed(groups, "hostgroup_rights", "id")
    if groupids and missing_hostgroupids(conn, groupids):
        raise NotFound()


def _check_oneself(conn: Db, group: dict[str, Any], current: UserGroupRow | None, caller_userid: int) -> None:
    """The caller may not end up in a group that disables its members or their GUI access."""
    gui_access = group.get("gui_access", current.gui_access if current else 0)
    users_status = group.get("users_status", current.users_status if current else 0)
    if gui_access != GUI_ACCESS_DISABLED and users_status != USERS_STATUS_DISABLED:
        return
    if "users" in group:
        members = {user["userid"] for user in group["users"]}
    else:
        members = member_ids(conn, current.usrgrpid) if current else set()
    if caller_userid in members:
        raise Conflict(LOCKS_ONESELF_OUT)


def _write_rights_and_members(conn: Db, usrgrpid: int, group: dict[str, Any]) -> set[int]:
    """Replace the rights and members the call gives; returns the ids of users who left the group."""
    if "hostgroup_rights" in group:
        rights = [(right["id"], right["permission"]) for right in group["hostgroup_rights"]]
        set_hostgroup_rights(conn, usrgrpid, rights)
    if "users" in group:
        return set_members(conn, usrgrpid, [user["userid"] for user in group["users"]])
    return set()


def _insert(conn: Db, groups: list[dict[str, Any]]) -> list[int]:
    usrgrpids = []
    for group in groups:
        usrgrpid = insert_usergroup(conn, group)
        _write_rights_and_members(conn, usrgrpid, group)
        usrgrpids.append(usrgrpid)
    return usrgrpids


def create_usergroups(conn: Db, groups: list[dict[str, Any]], caller_userid: int) -> list[int]:
    _check_names(conn, [(None, group["name"]) for group in groups])
    _check_users(conn, groups)
    for group in groups:
        _check_oneself(conn, group, None, caller_userid)
    _check_hostgroups(conn, groups)
    # A new disabled group can disable its members: the last super admin too.
    return users.keeping_an_active_super_admin(conn, lambda: _insert(conn, groups))


def update_usergroups(conn: Db, groups: list[dict[str, Any]], caller_userid: int) -> list[int]:
    usrgrpids = [group["usrgrpid"] for group in groups]
    current = usergroups_by_id(conn, usrgrpids)
    if len(current) != len(usrgrpids):
        raise NotFound()
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
        update_usergroup(conn, group["usrgrpid"], group)
        left |= _write_rights_and_members(conn, group["usrgrpid"], group)
    # Checked on the result, so a user moved from one group of the call to another may go.
    stranded = first_user_without_group(conn, left) if left else None
    if stranded is not None:
        raise Conflict(f'User "{stranded}" cannot be without user group.')


def delete_usergroups(conn: Db, usrgrpids: list[int]) -> None:
    if len(usergroups_by_id(conn, usrgrpids)) != len(usrgrpids):
        raise NotFound()
    stranded = only_group_of(conn, usrgrpids)
    if stranded is not None:
        raise Conflict(f'User group "{stranded[0]}" is the only group of user "{stranded[1]}".')
    delete_usergroup_rows(conn, usrgrpids)


def _attach(rows: list[dict[str, Any]], key: str, related: list[dict[str, Any]], fields: list[str]) -> None:
    """Give each group row the list `key` of its related objects, with `fields` as strings."""
    by_group: dict[int, list[dict[str, str]]] = defaultdict(list)
    for item in related:
        by_group[item["usrgrpid"]].append({name: str(item[name]) for name in fields})
    for row in rows:
        row[key] = by_group.get(row["usrgrpid"], [])


def read_usergroups(
    conn: Db, query: GetQuery, user_fields: list[str] | None, right_fields: list[str] | None, with_denials: bool
) -> list[dict[str, Any]] | int:
    """usergroup.get's groups; with `user_fields` their `users`, with `right_fields` their `hostgroup_rights`."""
    rows = select_usergroups(conn, query)
    if isinstance(rows, int) or not rows:
        return rows
    usrgrpids = [row["usrgrpid"] for row in rows]
    if user_fields is not None:
        _attach(rows, "users", members(conn, usrgrpids), user_fields)
    if right_fields is not None:
        rights = hostgroup_rights(conn, usrgrpids, with_denials=with_denials)
        _attach(rows, "hostgroup_rights", rights, right_fields)
    return rows
