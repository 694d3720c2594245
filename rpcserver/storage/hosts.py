"""SQL of host groups, hosts and triggers: their gets (permission-filtered, with sub-selects),
and creating and deleting host groups.

Reads take the `Caller`: a super admin sees everything; anyone else sees a host group they hold
a right on, a host one of whose groups grants enough while none denies, and a trigger whose host
they see (`permissions`). Sub-selected objects are filtered the same way, at read level.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from ..caller import Caller
from ..domain.errors import Conflict, NotFound
from ._sql import id_list, inserted_id
from .engine import Db
from .permissions import READ, READ_WRITE, permitted_groupids, permitted_hostids
from .query import GetQuery, ObjectTable, output_fields, select_objects

DISCOVERED_HOSTS = 5
"""The group for discovered hosts (Zabbix's default discovery_groupid); it cannot be deleted."""

HOST_GROUPS = ObjectTable(
    source="hstgrp g",
    key="groupid",
    columns={"groupid": "g.groupid", "name": "g.name", "flags": "g.flags", "uuid": "g.uuid"},
    id_filters={
        "groupids": "g.groupid IN ({ids})",
        "hostids": "g.groupid IN (SELECT groupid FROM hosts_groups WHERE hostid IN ({ids}))",
    },
)
HOSTS = ObjectTable(
    source="hosts h",
    key="hostid",
    columns={"hostid": "h.hostid", "host": "h.host", "name": "h.name", "status": "h.status"},
    id_filters={
        "hostids": "h.hostid IN ({ids})",
        "groupids": "h.hostid IN (SELECT hostid FROM hosts_groups WHERE groupid IN ({ids}))",
        "triggerids": "h.hostid IN (SELECT hostid FROM triggers WHERE triggerid IN ({ids}))",
    },
)
TRIGGERS = ObjectTable(
    source="triggers t",
    key="triggerid",
    columns={
        "triggerid": "t.triggerid",
        "description": "t.description",
        "priority": "t.priority",
        "manual_close": "t.manual_close",
        "value": "t.value",
        "opdata": "t.opdata",
        "lastchange": "t.lastchange",
    },
    id_filters={
        "triggerids": "t.triggerid IN ({ids})",
        "hostids": "t.hostid IN ({ids})",
        "groupids": "t.hostid IN (SELECT hostid FROM hosts_groups WHERE groupid IN ({ids}))",
    },
)

Output = str | Sequence[str]
"""A sub-select's output: "extend", "count" where allowed, or field names."""


def _level(editable: bool) -> int:
    return READ_WRITE if editable else READ


def _restriction(caller: Caller, condition: str) -> tuple[str, dict[str, Any]]:
    """`condition` (which uses `:perm_userid`) and its params; nothing for a super admin."""
    if caller.is_super_admin:
        return "", {}
    return condition, {"perm_userid": caller.userid}


def _permitted(query: GetQuery, caller: Caller, condition: str) -> GetQuery:
    """`query`, also requiring `condition` unless the caller is a super admin."""
    restriction, params = _restriction(caller, condition)
    if not restriction:
        return query
    return dataclasses.replace(query, where=[*query.where, restriction], params={**query.params, **params})


def _attach(
    conn: Db,
    rows: list[dict[str, Any]],
    *,
    parent_key: str,
    name: str,
    child: ObjectTable,
    output: Output,
    link: str,
    link_id: str,
    condition: str = "",
    params: dict[str, Any] | None = None,
) -> None:
    """Give each row, under `name`, its linked `child` objects (or their number for "count").

    `link` is a FROM clause joining the child's table (under its usual alias) to `link_id`, the
    SQL of the parent's id; `condition` (with `params`) narrows the children further.
    """
    ids = id_list([row[parent_key] for row in rows])
    where = f"{link_id} IN ({ids})" + (f" AND {condition}" if condition else "")
    if output == "count":
        counts = dict(conn.execute(f"SELECT {link_id}, COUNT(*) FROM {link} WHERE {where} GROUP BY {link_id}", params or {}))
        for row in rows:
            row[name] = counts.get(row[parent_key], 0)
        return
    names = output_fields(child.columns, output, child.key)
    select = ", ".join(f"{child.columns[n]} AS {n}" for n in names)
    found: dict[int, list[dict[str, Any]]] = {row[parent_key]: [] for row in rows}
    cursor = conn.execute(f"SELECT {link_id}, {select} FROM {link} WHERE {where} ORDER BY {child.columns[child.key]}", params or {})
    for parent_id, *values in cursor:
        found[parent_id].append(dict(zip(names, values)))
    for row in rows:
        row[name] = found[row[parent_key]]


def host_groups(
    conn: Db, query: GetQuery, caller: Caller, editable: bool, select_hosts: Output | None
) -> list[dict[str, Any]] | int:
    """hostgroup.get: the groups, with `hosts` (those the caller may read) when `select_hosts`."""
    query = _permitted(query, caller, f"g.groupid IN ({permitted_groupids(_level(editable))})")
    rows = select_objects(conn, HOST_GROUPS, query)
    if isinstance(rows, list) and rows and select_hosts is not None:
        condition, params = _restriction(caller, f"h.hostid IN ({permitted_hostids(READ)})")
        _attach(
            conn, rows, parent_key="groupid", name="hosts", child=HOSTS, output=select_hosts,
            link="hosts_groups hg JOIN hosts h ON h.hostid = hg.hostid", link_id="hg.groupid",
            condition=condition, params=params,
        )
    return rows


def hosts(
    conn: Db, query: GetQuery, caller: Caller, editable: bool, select_groups: dict[str, Output]
) -> list[dict[str, Any]] | int:
    """host.get: the hosts, with their groups (those the caller may read) under each name of `select_groups`."""
    query = _permitted(query, caller, f"h.hostid IN ({permitted_hostids(_level(editable))})")
    rows = select_objects(conn, HOSTS, query)
    if isinstance(rows, list) and rows:
        condition, params = _restriction(caller, f"g.groupid IN ({permitted_groupids(READ)})")
        for name, output in select_groups.items():
            _attach(
                conn, rows, parent_key="hostid", name=name, child=HOST_GROUPS, output=output,
                link="hosts_groups hg JOIN hstgrp g ON g.groupid = hg.groupid", link_id="hg.hostid",
                condition=condition, params=params,
            )
    return rows


def triggers(
    conn: Db, query: GetQuery, caller: Caller, editable: bool, select_hosts: Output | None
) -> list[dict[str, Any]] | int:
    """trigger.get: the triggers of hosts the caller may read (or write), with `hosts` when `select_hosts`."""
    query = _permitted(query, caller, f"t.hostid IN ({permitted_hostids(_level(editable))})")
    rows = select_objects(conn, TRIGGERS, query)
    if isinstance(rows, list) and rows and select_hosts is not None:
        # A trigger is readable only through its host: no further condition.
        _attach(
            conn, rows, parent_key="triggerid", name="hosts", child=HOSTS, output=select_hosts,
            link="triggers t JOIN hosts h ON h.hostid = t.hostid", link_id="t.triggerid",
        )
    return rows


def create_host_groups(conn: Db, groups: Sequence[tuple[str, str]]) -> list[int]:
    """Insert (name, uuid) pairs of distinct names; a name already taken refuses them all."""
    for name, _ in groups:
        if conn.execute("SELECT 1 FROM hstgrp WHERE name = ?", (name,)).fetchone():
            raise Conflict(f'Host group "{name}" already exists.')
    return [inserted_id(conn.execute("INSERT INTO hstgrp (name, uuid) VALUES (?, ?) RETURNING groupid", group)) for group in groups]


def delete_host_groups(conn: Db, groupids: Sequence[int], caller: Caller) -> None:
    """Delete groups the caller may write; their host links and rights go with them (ON DELETE CASCADE).

    Refused when a group is unknown or not writable (-32500), is the discovered hosts group, or is
    the last group of a host (-32602).
    """
    ids = id_list(groupids)
    restriction, params = _restriction(caller, f"groupid IN ({permitted_groupids(READ_WRITE)})")
    writable = f" AND {restriction}" if restriction else ""
    names = dict(conn.execute(f"SELECT groupid, name FROM hstgrp WHERE groupid IN ({ids}){writable}", params))
    if len(names) != len(groupids):
        raise NotFound()
    if DISCOVERED_HOSTS in names:
        raise Conflict(f'Host group "{names[DISCOVERED_HOSTS]}" is group for discovered hosts and cannot be deleted.')
    orphan = conn.execute(
        f"""SELECT h.host FROM hosts h
            WHERE h.hostid IN (SELECT hostid FROM hosts_groups WHERE groupid IN ({ids}))
              AND NOT EXISTS (SELECT 1 FROM hosts_groups hg WHERE hg.hostid = h.hostid AND hg.groupid NOT IN ({ids}))
            ORDER BY h.hostid LIMIT 1"""
    ).fetchone()
    if orphan:
        raise Conflict(f'Host "{orphan[0]}" cannot be without host group.')
    conn.execute(f"DELETE FROM hstgrp WHERE groupid IN ({ids})")
