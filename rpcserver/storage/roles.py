"""SQL of roles: the `role` rows, their `role_rule` rows (written through `RoleRules`), and who has them;
and the units of work of role.*."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..caller import Caller, RoleRules
from ..domain.errors import Conflict, NotFound
from . import identity
from ._sql import inserted_id
from .engine import Db
from .query import GetQuery, ObjectTable, select_objects

ROLES = ObjectTable(
    source="role r",
    key="roleid",
    columns={"roleid": "r.roleid", "name": "r.name", "type": "r.type", "readonly": "r.readonly"},
    nocase=frozenset({"name"}),
    id_filters={
        "roleids": "r.roleid IN ({ids})",
        "userids": "r.roleid IN (SELECT roleid FROM users WHERE userid IN ({ids}))",
    },
)

OWN_ROLE = "r.roleid IN (SELECT roleid FROM users WHERE userid = :perm_userid)"
"""The condition that shows a non-super-admin only their own role."""

# Users a non-super-admin may see (as user.get shows them): themselves and the members of their user groups.
_VISIBLE_USER = """
    (u.userid = :viewer OR u.userid IN (
        SELECT ug.userid FROM users_groups ug JOIN users_groups mine ON mine.usrgrpid = ug.usrgrpid
        WHERE mine.userid = :viewer))
"""

USER_COLUMNS = {"userid": "u.userid", "username": "u.username", "name": "u.name", "surname": "u.surname"}


@dataclass(frozen=True)
class RoleRow:
    roleid: int
    name: str
    type: int
    readonly: bool


def select_roles(conn: Db, query: GetQuery) -> list[dict[str, object]] | int:
    return select_objects(conn, ROLES, query)


def rules_of(conn: Db, roleids: Sequence[int]) -> dict[int, RoleRules]:
    """The rules of each of `roleids`."""
    rows: dict[int, list[tuple[str, int, str]]] = {roleid: [] for roleid in roleids}
    cursor = conn.execute(
        f"SELECT roleid, name, value_int, value_str FROM role_rule WHERE roleid IN ({_placeholders(roleids)})",
        _numbered(roleids),
    )
    for roleid, name, value_int, value_str in cursor:
        rows[roleid].append((name, value_int, value_str))
    return {roleid: RoleRules.from_rows(role_rows) for roleid, role_rows in rows.items()}


def users_of(
    conn: Db, roleids: Sequence[int], columns: Iterable[str], viewer: int | None
) -> list[tuple[int, dict[str, object]]]:
    """(roleid, user) for the users who have one of `roleids`, by userid; `viewer` limits them to
    the users that user may see (None: all). `columns` are among USER_COLUMNS."""
    names = ["userid", *(c for c in columns if c != "userid")]
    select = ", ".join(USER_COLUMNS[n] for n in names)
    visible = f" AND {_VISIBLE_USER}" if viewer is not None else ""
    cursor = conn.execute(
        f"SELECT u.roleid, {select} FROM users u WHERE u.roleid IN ({_placeholders(roleids)}){visible} ORDER BY u.userid",
        {**_numbered(roleids), "viewer": viewer},
    )
    return [(row[0], dict(zip(names, row[1:]))) for row in cursor]


def role_by_id(conn: Db, roleid: int) -> RoleRow | None:
    row = conn.execute("SELECT roleid, name, type, readonly FROM role WHERE roleid = ?", (roleid,)).fetchone()
    return RoleRow(row[0], row[1], row[2], bool(row[3])) if row else None


def roleid_named(conn: Db, name: str) -> int | None:
    """The role called `name`, compared as the unique index compares (ASCII case-insensitively)."""
    row = conn.execute(f"SELECT roleid FROM role WHERE {conn.engine.nocase_equals('name', '?')}", (name,)).fetchone()
    return row[0] if row else None


def has_users(conn: Db, roleid: int) -> bool:
    return conn.execute("SELECT 1 FROM users WHERE roleid = ? LIMIT 1", (roleid,)).fetchone() is not None


def insert_role(conn: Db, name: str, type_: int, rules: RoleRules) -> int:
    roleid = inserted_id(conn.execute("INSERT INTO role (name, type) VALUES (?, ?) RETURNING roleid", (name, type_)))
    assert roleid is not None
    _insert_rules(conn, roleid, rules)
    return roleid


def update_role(conn: Db, roleid: int, name: str, type_: int) -> None:
    conn.execute("UPDATE role SET name = ?, type = ? WHERE roleid = ?", (name, type_, roleid))


def replace_rules(conn: Db, roleid: int, rules: RoleRules) -> None:
    conn.execute("DELETE FROM role_rule WHERE roleid = ?", (roleid,))
    _insert_rules(conn, roleid, rules)


def delete_role_rows(conn: Db, roleids: Sequence[int]) -> None:
    """Their rules go with them (ON DELETE CASCADE)."""
    conn.executemany("DELETE FROM role WHERE roleid = ?", [(roleid,) for roleid in roleids])


def _insert_rules(conn: Db, roleid: int, rules: RoleRules) -> None:
    conn.executemany(
        "INSERT INTO role_rule (roleid, name, value_int, value_str) VALUES (?, ?, ?, ?)",
        [(roleid, *row) for row in rules.to_rows()],
    )


def _placeholders(values: Sequence[object]) -> str:
    return ",".join(f":r{i}" for i in range(len(values))) or "NULL"


def _numbered(values: Sequence[object]) -> dict[str, object]:
    """The named parameters `_placeholders` refers to."""
    return {f"r{i}": value for i, value in enumerate(values)}


# Units of work of role.*

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
    holder = roleid_named(conn, name)
    if holder is not None and holder != roleid:
        raise Conflict(f'Role "{name}" already exists.')


def create_roles(conn: Db, new_roles: list[dict[str, Any]]) -> list[int]:
    roleids = []
    for role in new_roles:
        _check_name_free(conn, role["name"])
        rules = _with_rules(RoleRules(), role.get("rules", {}))
        roleids.append(insert_role(conn, role["name"], role["type"], rules))
    return roleids


def _existing(conn: Db, roleid: int) -> RoleRow:
    role = role_by_id(conn, roleid)
    if role is None:
        raise NotFound()
    return role


def update_roles(conn: Db, changes: list[dict[str, Any]], caller: Caller) -> None:
    current: dict[int, RoleRow] = {}
    for change in changes:
        role = _existing(conn, change["roleid"])
        if role.readonly:
            raise Conflict(f'Cannot update readonly role "{role.name}".')
        if role.roleid == caller.roleid and change.get("type", role.type) != role.type:
            raise Conflict("Cannot change the user type of own role.")
        current[role.roleid] = role
    for change in changes:
        role = current[change["roleid"]]
        if "name" in change:
            _check_name_free(conn, change["name"], role.roleid)
        update_role(conn, role.roleid, change.get("name", role.name), change.get("type", role.type))
        if "rules" in change:
            replace_rules(conn, role.roleid, _with_rules(identity.role_rules(conn, role.roleid), change["rules"]))


def delete_roles(conn: Db, roleids: list[int]) -> None:
    for roleid in roleids:
        role = _existing(conn, roleid)
        if role.readonly:
            raise Conflict(f'Cannot delete readonly role "{role.name}".')
        if has_users(conn, roleid):
            raise Conflict(f'The role "{role.name}" is assigned to at least one user and cannot be deleted.')
    delete_role_rows(conn, roleids)


def _add_rules(conn: Db, rows: list[dict[str, Any]]) -> None:
    rules = rules_of(conn, [row["roleid"] for row in rows])
    for row in rows:
        row["rules"] = rules[row["roleid"]]


def _add_users(conn: Db, rows: list[dict[str, Any]], columns: list[str], viewer: int | None) -> None:
    by_role: dict[int, list[dict[str, str]]] = {row["roleid"]: [] for row in rows}
    for roleid, user in users_of(conn, list(by_role), columns, viewer):
        by_role[roleid].append({name: str(user[name]) for name in columns})
    for row in rows:
        row["users"] = by_role[row["roleid"]]


def read_roles(
    conn: Db, query: GetQuery, with_rules: bool, user_columns: list[str] | None, viewer: int | None
) -> list[dict[str, Any]] | int:
    """role.get's roles; `with_rules` adds each one's `rules` (a RoleRules), `user_columns` its
    `users` (those `viewer` may see; None: all), values as strings."""
    rows = select_roles(conn, query)
    if isinstance(rows, int):
        return rows
    if with_rules:
        _add_rules(conn, rows)
    if user_columns is not None:
        _add_users(conn, rows, user_columns, viewer)
    return rows
