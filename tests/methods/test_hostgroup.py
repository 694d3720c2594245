"""hostgroup.create / hostgroup.get / hostgroup.delete through the endpoint.

`build_world` (also used by test_host_trigger_get) sets up host groups, hosts, triggers and four
users with SQL: hosts and triggers come from event.create, users and rights from other methods.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from rpcserver.passwords import hash_password_sync
from rpcserver.storage._sql import inserted_id

from ..conftest import error_of, storage_of

PASSWORD = "secret-password"
USER_ROLE, ADMIN_ROLE = 1, 2
READ, READ_WRITE, DENY = 2, 3, 0
NO_PERMISSIONS = "No permissions to referred object or it does not exist!"

GROUPS = ("Linux servers", "Databases", "Secret", "Misc")
HOSTS = {  # host -> (visible name, status, groups)
    "web-01": ("Web server", 0, ("Linux servers", "Misc")),
    "db-01": ("Database server", 1, ("Linux servers", "Databases")),
    "vault": ("Vault", 0, ("Secret",)),
}
TRIGGERS = {  # description -> (host, priority, value, manual_close, opdata, lastchange)
    "High CPU utilization": ("web-01", 2, 0, 1, "", 1000),
    "Replication lag is too high": ("db-01", 4, 1, 0, "lag: 5s", 3000),
    "Door is open": ("vault", 5, 1, 1, "", 2000),
}
USER_GROUPS = {  # user group -> rights (host group -> permission)
    "Readers": {"Linux servers": READ, "Databases": READ},
    "No databases": {"Databases": DENY},
    "Writers": {"Linux servers": READ_WRITE, "Databases": READ, "Misc": READ_WRITE},
    "Nobody": {},
}
USERS = {  # username -> (role, user groups)
    "reader": (USER_ROLE, ("Readers",)),  # reads web-01 and db-01
    "denied": (USER_ROLE, ("Readers", "No databases")),  # the deny on Databases hides db-01
    "nobody": (USER_ROLE, ("Nobody",)),  # no rights at all
    "writer": (ADMIN_ROLE, ("Writers",)),  # writes web-01 and db-01
}


@dataclass
class World:
    groups: dict[str, str]
    hosts: dict[str, str]
    triggers: dict[str, str]
    sessions: dict[str, str]


def _seed(conn: sqlite3.Connection, passwd: str) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
    groups = {name: inserted_id(conn.execute("INSERT INTO hstgrp (name) VALUES (?) RETURNING groupid", (name,))) for name in GROUPS}
    hosts = {
        host: inserted_id(conn.execute("INSERT INTO hosts (host, name, status) VALUES (?, ?, ?) RETURNING hostid", (host, name, status)))
        for host, (name, status, _) in HOSTS.items()
    }
    # Links newest host first, so that results in id order prove the SQL sorts them.
    for host, (_, _, host_groups) in reversed(HOSTS.items()):
        conn.executemany("INSERT INTO hosts_groups (hostid, groupid) VALUES (?, ?)", [(hosts[host], groups[g]) for g in host_groups])
    triggers = {
        description: inserted_id(conn.execute(
            "INSERT INTO triggers (hostid, description, priority, value, manual_close, opdata, lastchange)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING triggerid",
            (hosts[host], description, *rest),
        ))
        for description, (host, *rest) in TRIGGERS.items()
    }
    usrgrps = {}
    for usrgrp, rights in USER_GROUPS.items():
        usrgrps[usrgrp] = inserted_id(conn.execute("INSERT INTO usrgrp (name) VALUES (?) RETURNING usrgrpid", (usrgrp,)))
        conn.executemany(
            "INSERT INTO rights (groupid, permission, id) VALUES (?, ?, ?)",
            [(usrgrps[usrgrp], permission, groups[group]) for group, permission in rights.items()],
        )
    for username, (roleid, user_groups) in USERS.items():
        userid = inserted_id(conn.execute(
            "INSERT INTO users (username, passwd, roleid) VALUES (?, ?, ?) RETURNING userid", (username, passwd, roleid)
        ))
        conn.executemany("INSERT INTO users_groups (usrgrpid, userid) VALUES (?, ?)", [(usrgrps[g], userid) for g in user_groups])
    return groups, hosts, triggers


async def build_world(client: Any, login: Callable[..., Awaitable[str]]) -> World:
    groups, hosts, triggers = await storage_of(client).write(_seed, hash_password_sync(PASSWORD, 4))
    sessions = {username: await login(username, PASSWORD) for username in USERS}
    as_text = lambda ids: {name: str(i) for name, i in ids.items()}  # noqa: E731
    return World(as_text(groups), as_text(hosts), as_text(triggers), sessions)


@pytest.fixture
async def world(client: Any, login: Callable[..., Awaitable[str]]) -> World:
    return await build_world(client, login)


def table_rows(conn: sqlite3.Connection) -> dict[str, list[tuple[Any, ...]]]:
    """Everything hostgroup.* may touch, to prove a failed call changed nothing."""
    return {
        table: conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
        for table in ("hstgrp", "hosts_groups", "rights", "hosts", "triggers")
    }


async def assert_fails_unchanged(client: Any, rpc: Any, method: str, params: Any, auth: str, expected: tuple[int, str]) -> None:
    """`method` fails with (code, data) and leaves every related row as it was."""
    before = await storage_of(client).read(table_rows)
    response = await rpc(method, params, headers={"Authorization": f"Bearer {auth}"})
    code, message, data = error_of(response)
    assert (code, data) == expected
    assert message == {-32602: "Invalid params.", -32500: "Application error."}[code]
    assert await storage_of(client).read(table_rows) == before


def names(groups: list[dict[str, str]]) -> list[str]:
    return [group["name"] for group in groups]


# --- hostgroup.create ---


async def test_create_one_object_and_read_it_back(call: Any, admin: str) -> None:
    created = await call("hostgroup.create", {"name": "Linux servers"}, auth=admin)
    assert created == {"groupids": ["6"]}
    [group] = await call("hostgroup.get", {"groupids": "6"}, auth=admin)
    assert set(group) == {"groupid", "name", "flags", "uuid"}
    assert (group["groupid"], group["name"], group["flags"]) == ("6", "Linux servers", "0")
    assert re.fullmatch(r"[0-9a-f]{32}", group["uuid"])


async def test_create_an_array_gives_ids_in_order(call: Any, admin: str) -> None:
    created = await call("hostgroup.create", [{"name": "B"}, {"name": "A/sub group"}, {"name": "Ünïcode"}], auth=admin)
    assert created == {"groupids": ["6", "7", "8"]}
    groups = await call("hostgroup.get", {"output": ["name"], "groupids": created["groupids"]}, auth=admin)
    assert names(groups) == ["B", "A/sub group", "Ünïcode"]
    uuids = {g["uuid"] for g in await call("hostgroup.get", {"output": ["uuid"], "groupids": created["groupids"]}, auth=admin)}
    assert len(uuids) == 3


async def test_a_name_of_255_characters_is_accepted(call: Any, admin: str) -> None:
    created = await call("hostgroup.create", {"name": "é" * 255}, auth=admin)
    assert names(await call("hostgroup.get", {"groupids": created["groupids"]}, auth=admin)) == ["é" * 255]


@pytest.mark.parametrize(
    ("params", "data"),
    [
        ({"name": ""}, 'Invalid parameter "/1/name": cannot be empty.'),
        ({"name": " x"}, 'Invalid parameter "/1/name": invalid host group name.'),
        ({"name": "x "}, 'Invalid parameter "/1/name": invalid host group name.'),
        ({"name": "a//b"}, 'Invalid parameter "/1/name": invalid host group name.'),
        ({"name": "/a"}, 'Invalid parameter "/1/name": invalid host group name.'),
        ({"name": "a/"}, 'Invalid parameter "/1/name": invalid host group name.'),
        ({"name": "x" * 256}, 'Invalid parameter "/1/name": value is too long.'),
        ({"name": 5}, 'Invalid parameter "/1/name": a character string is expected.'),
        ({"name": None}, 'Invalid parameter "/1/name": a character string is expected.'),
        ({"name": ["a"]}, 'Invalid parameter "/1/name": a character string is expected.'),
        ({"name": "a", "flags": 4}, 'Invalid parameter "/1": unexpected parameter "flags".'),
        ([{"flags": 4, "name": 5}], 'Invalid parameter "/1": unexpected parameter "flags".'),
        ([{}], 'Invalid parameter "/1": the parameter "name" is missing.'),
        ([{"name": "ok"}, {"name": "a//b"}], 'Invalid parameter "/2/name": invalid host group name.'),
        ([{"name": "ok"}, "Misc"], 'Invalid parameter "/2": an array is expected.'),
        # Repeats are a second pass, after every object's types; names compare exactly.
        ([{"name": "Twice"}, {"name": "Other"}, {"name": "Twice"}], 'Invalid parameter "/3": value (name)=(Twice) already exists.'),
        ([{"name": "Twice"}, {"name": "Twice"}, {"name": 5}], 'Invalid parameter "/3/name": a character string is expected.'),
        ([5], 'Invalid parameter "/1": an array is expected.'),
        ([], 'Invalid parameter "/": cannot be empty.'),
        ({}, 'Invalid parameter "/": cannot be empty.'),
    ],
)
async def test_create_refuses_bad_input(client: Any, rpc: Any, admin: str, params: Any, data: str) -> None:
    await assert_fails_unchanged(client, rpc, "hostgroup.create", params, admin, (-32602, data))


async def test_create_refuses_an_existing_name(client: Any, rpc: Any, admin: str) -> None:
    await assert_fails_unchanged(
        client, rpc, "hostgroup.create", [{"name": "New"}, {"name": "Discovered hosts"}], admin,
        (-32602, 'Host group "Discovered hosts" already exists.'),
    )


async def test_names_differing_in_case_are_different_groups(call: Any, admin: str) -> None:
    assert await call("hostgroup.create", [{"name": "discovered hosts"}, {"name": "DISCOVERED HOSTS"}], auth=admin) == {
        "groupids": ["6", "7"]
    }


@pytest.mark.parametrize("username", ["reader", "writer"])
@pytest.mark.parametrize("params", [{"name": "Mine"}, {"bad": "params are not even looked at"}])
async def test_only_super_admins_create(client: Any, rpc: Any, world: World, username: str, params: Any) -> None:
    await assert_fails_unchanged(
        client, rpc, "hostgroup.create", params, world.sessions[username],
        (-32500, 'No permissions to call "hostgroup.create".'),
    )


# --- hostgroup.get ---


async def test_get_extend_returns_every_group_as_strings(call: Any, admin: str, world: World) -> None:
    groups = await call("hostgroup.get", {}, auth=admin)
    assert [(g["groupid"], g["name"], g["flags"]) for g in groups] == [
        ("5", "Discovered hosts", "0"),
        *((world.groups[name], name, "0") for name in GROUPS),
    ]


async def test_get_output_fields(call: Any, admin: str, world: World) -> None:
    # As in 7.0, the id is in the objects only when `output` asks for it.
    groups = await call("hostgroup.get", {"output": ["name"], "groupids": [world.groups["Secret"]]}, auth=admin)
    assert groups == [{"name": "Secret"}]
    groups = await call("hostgroup.get", {"output": ["groupid", "name"], "groupids": [world.groups["Secret"]]}, auth=admin)
    assert groups == [{"groupid": world.groups["Secret"], "name": "Secret"}]


async def test_get_by_hostids(call: Any, admin: str, world: World) -> None:
    hostids = [world.hosts["db-01"], world.hosts["vault"]]
    groups = await call("hostgroup.get", {"output": ["name"], "hostids": hostids}, auth=admin)
    assert names(groups) == ["Linux servers", "Databases", "Secret"]


async def test_get_filter_and_search(call: Any, admin: str, world: World) -> None:
    async def get(**params: Any) -> list[str]:
        return names(await call("hostgroup.get", {"output": ["name"], **params}, auth=admin))

    assert await get(filter={"name": ["Secret", "Misc", "Nothing"]}) == ["Secret", "Misc"]
    assert await get(filter={"groupid": world.groups["Databases"]}) == ["Databases"]
    assert await get(search={"name": "SE"}) == ["Linux servers", "Databases", "Secret"]
    assert await get(search={"name": "se"}, startSearch=True) == ["Secret"]
    assert await get(search={"name": "s"}, excludeSearch=True) == []
    assert await get(search={"name": "i"}, excludeSearch=True) == ["Databases", "Secret"]
    assert await get(search={"name": ["Misc", "Secret"]}, searchByAny=True) == ["Secret", "Misc"]
    assert await get(search={"name": ["Misc", "Secret"]}) == []
    assert await get(search={"name": "L*x"}, searchWildcardsEnabled=True) == ["Linux servers"]
    assert await get(search={"name": "L*x"}) == []


async def test_get_sort_limit_count_preservekeys(call: Any, admin: str, world: World) -> None:
    get = lambda **params: call("hostgroup.get", {"output": ["name"], **params}, auth=admin)  # noqa: E731
    assert names(await get(sortfield="name")) == sorted(["Discovered hosts", *GROUPS])
    assert names(await get(sortfield=["name"], sortorder="DESC", limit=2)) == ["Secret", "Misc"]
    assert names(await get(sortfield=["groupid"], sortorder=["DESC"], limit=1)) == ["Misc"]
    assert await call("hostgroup.get", {"countOutput": True}, auth=admin) == "5"
    assert await call("hostgroup.get", {"countOutput": True, "search": {"name": "s"}, "startSearch": True}, auth=admin) == "1"
    keyed = await get(preservekeys=True, groupids=[world.groups["Misc"], "5"])
    assert keyed == {"5": {"name": "Discovered hosts"}, world.groups["Misc"]: {"name": "Misc"}}


async def test_get_select_hosts(call: Any, admin: str, world: World) -> None:
    [linux] = await call("hostgroup.get", {"output": ["name"], "groupids": world.groups["Linux servers"], "selectHosts": "extend"}, auth=admin)
    assert linux["hosts"] == [
        {"hostid": world.hosts["web-01"], "host": "web-01", "name": "Web server", "status": "0"},
        {"hostid": world.hosts["db-01"], "host": "db-01", "name": "Database server", "status": "1"},
    ]
    groups = await call("hostgroup.get", {"output": ["name"], "selectHosts": ["host"]}, auth=admin)
    assert {g["name"]: [h["host"] for h in g["hosts"]] for g in groups} == {
        "Discovered hosts": [], "Linux servers": ["web-01", "db-01"], "Databases": ["db-01"], "Secret": ["vault"], "Misc": ["web-01"],
    }
    assert groups[3] == {"name": "Secret", "hosts": [{"host": "vault"}]}  # the sub-select's id only when asked for
    counted = await call("hostgroup.get", {"output": ["name"], "selectHosts": "count"}, auth=admin)
    assert {g["name"]: g["hosts"] for g in counted} == {"Discovered hosts": "0", "Linux servers": "2", "Databases": "1", "Secret": "1", "Misc": "1"}
    plain = await call("hostgroup.get", {"output": ["name"], "selectHosts": [], "groupids": "5"}, auth=admin)
    assert plain == [{"name": "Discovered hosts"}]


@pytest.mark.parametrize(
    ("params", "data"),
    [
        ({"output": ["name", "hosts"]}, 'Invalid parameter "/output/2": value must be one of "groupid", "name", "flags", "uuid".'),
        ({"output": "count"}, 'Invalid parameter "/output": value must be "extend".'),
        ({"groupids": ["x"]}, 'Invalid parameter "/groupids/1": a number is expected.'),
        ({"hostids": {"a": 1}}, 'Invalid parameter "/hostids": an array is expected.'),
        ({"filter": {"host": "x"}}, 'Invalid parameter "/filter": unexpected parameter "host".'),
        ({"search": {"groupid": "5"}}, 'Invalid parameter "/search": unexpected parameter "groupid".'),
        ({"sortfield": "flags"}, 'Invalid parameter "/sortfield/1": value must be one of "groupid", "name".'),
        ({"sortorder": "UP"}, 'Invalid parameter "/sortorder/1": value must be one of "ASC", "DESC".'),
        ({"limit": 0}, 'Invalid parameter "/limit": value must be one of 1-2147483647.'),
        ({"limit": "many"}, 'Invalid parameter "/limit": an integer is expected.'),
        ({"startSearch": 1}, 'Invalid parameter "/startSearch": a boolean is expected.'),
        ({"selectHosts": ["host", "ip"]}, 'Invalid parameter "/selectHosts/2": value must be one of "hostid", "host", "name", "status".'),
        ({"selectHosts": 1}, 'Invalid parameter "/selectHosts": an array or a character string is expected.'),
        ({"selectGroups": "extend"}, 'Invalid parameter "/": unexpected parameter "selectGroups".'),
        ({"nopermissions": True}, 'Invalid parameter "/": unexpected parameter "nopermissions".'),
    ],
)
async def test_get_refuses_bad_input(rpc: Any, admin: str, params: Any, data: str) -> None:
    response = await rpc("hostgroup.get", params, headers={"Authorization": f"Bearer {admin}"})
    assert error_of(response) == (-32602, "Invalid params.", data)


async def test_a_reader_sees_the_groups_it_has_rights_on(call: Any, world: World) -> None:
    session = world.sessions["reader"]
    assert names(await call("hostgroup.get", {}, auth=session)) == ["Linux servers", "Databases"]
    assert await call("hostgroup.get", {"editable": True}, auth=session) == []
    assert await call("hostgroup.get", {"countOutput": True, "editable": True}, auth=session) == "0"
    assert await call("hostgroup.get", {"groupids": world.groups["Secret"]}, auth=session) == []


async def test_a_deny_hides_the_group_and_its_hosts(call: Any, world: World) -> None:
    groups = await call("hostgroup.get", {"selectHosts": ["host"]}, auth=world.sessions["denied"])
    assert [(g["name"], [h["host"] for h in g["hosts"]]) for g in groups] == [("Linux servers", ["web-01"])]


async def test_select_hosts_shows_only_readable_hosts(call: Any, world: World) -> None:
    # Writers read Linux servers, Databases and Misc: all hosts but vault.
    groups = await call("hostgroup.get", {"output": ["name"], "selectHosts": ["host"]}, auth=world.sessions["writer"])
    assert {g["name"]: [h["host"] for h in g["hosts"]] for g in groups} == {
        "Linux servers": ["web-01", "db-01"], "Databases": ["db-01"], "Misc": ["web-01"],
    }
    counted = await call("hostgroup.get", {"output": ["name"], "selectHosts": "count"}, auth=world.sessions["denied"])
    assert counted == [{"name": "Linux servers", "hosts": "1"}]


async def test_editable_gives_the_read_write_groups(call: Any, world: World) -> None:
    groups = await call("hostgroup.get", {"output": ["name"], "editable": True}, auth=world.sessions["writer"])
    assert names(groups) == ["Linux servers", "Misc"]


async def test_a_user_without_rights_sees_no_groups(call: Any, world: World) -> None:
    assert await call("hostgroup.get", {}, auth=world.sessions["nobody"]) == []
    assert await call("hostgroup.get", {"countOutput": True}, auth=world.sessions["nobody"]) == "0"


# --- hostgroup.delete ---


def links_and_rights(conn: sqlite3.Connection, groupid: str) -> tuple[int, int, int]:
    return conn.execute(
        "SELECT (SELECT COUNT(*) FROM hstgrp WHERE groupid = :g), (SELECT COUNT(*) FROM hosts_groups WHERE groupid = :g),"
        " (SELECT COUNT(*) FROM rights WHERE id = :g)",
        {"g": groupid},
    ).fetchone()


async def test_delete_takes_the_groups_links_and_rights(client: Any, call: Any, admin: str, world: World) -> None:
    misc, databases = world.groups["Misc"], world.groups["Databases"]
    assert await storage_of(client).read(links_and_rights, misc) == (1, 1, 1)
    assert await call("hostgroup.delete", [misc, int(databases)], auth=admin) == {"groupids": [misc, databases]}
    for groupid in (misc, databases):
        assert await storage_of(client).read(links_and_rights, groupid) == (0, 0, 0)
    assert names(await call("hostgroup.get", {}, auth=admin)) == ["Discovered hosts", "Linux servers", "Secret"]
    hosts = await call("host.get", {"output": ["host"], "selectHostGroups": ["name"]}, auth=admin)
    assert {h["host"]: names(h["hostgroups"]) for h in hosts} == {"web-01": ["Linux servers"], "db-01": ["Linux servers"], "vault": ["Secret"]}


async def test_delete_a_group_just_created(call: Any, admin: str) -> None:
    created = await call("hostgroup.create", {"name": "Short-lived"}, auth=admin)
    assert await call("hostgroup.delete", created["groupids"], auth=admin) == created
    assert await call("hostgroup.get", {"groupids": created["groupids"]}, auth=admin) == []


@pytest.mark.parametrize(
    ("params", "data"),
    [
        ([], 'Invalid parameter "/": cannot be empty.'),
        ({}, 'Invalid parameter "/": cannot be empty.'),
        (["abc"], 'Invalid parameter "/1": a number is expected.'),
        ([6, -1], 'Invalid parameter "/2": a number is expected.'),
        ([None], 'Invalid parameter "/1": a number is expected.'),
        (["6", "6"], 'Invalid parameter "/2": value (6) already exists.'),
        ({"groupids": [6]}, 'Invalid parameter "/": an array is expected.'),
    ],
)
async def test_delete_refuses_bad_input(client: Any, rpc: Any, admin: str, world: World, params: Any, data: str) -> None:
    await assert_fails_unchanged(client, rpc, "hostgroup.delete", params, admin, (-32602, data))


async def test_delete_of_an_unknown_group_deletes_nothing(client: Any, rpc: Any, admin: str, world: World) -> None:
    await assert_fails_unchanged(client, rpc, "hostgroup.delete", [world.groups["Misc"], "999"], admin, (-32500, NO_PERMISSIONS))


async def test_delete_refuses_to_leave_a_host_without_groups(client: Any, rpc: Any, admin: str, world: World) -> None:
    await assert_fails_unchanged(
        client, rpc, "hostgroup.delete", [world.groups["Secret"]], admin, (-32602, 'Host "vault" cannot be without host group.')
    )
    # web-01 is in Linux servers and Misc: deleting both would leave it with none.
    await assert_fails_unchanged(
        client, rpc, "hostgroup.delete", [world.groups["Misc"], world.groups["Linux servers"]], admin,
        (-32602, 'Host "web-01" cannot be without host group.'),
    )


async def test_delete_refuses_the_discovered_hosts_group(client: Any, rpc: Any, admin: str) -> None:
    await assert_fails_unchanged(
        client, rpc, "hostgroup.delete", ["5"], admin,
        (-32602, 'Host group "Discovered hosts" is group for discovered hosts and cannot be deleted.'),
    )


@pytest.mark.parametrize("username", ["reader", "nobody", "denied"])
@pytest.mark.parametrize("params", [["Databases"], ["not even looked at"]])
async def test_users_may_not_delete_host_groups(client: Any, rpc: Any, world: World, username: str, params: list[str]) -> None:
    groupids = [world.groups.get(name, name) for name in params]
    await assert_fails_unchanged(
        client, rpc, "hostgroup.delete", groupids, world.sessions[username], (-32500, 'No permissions to call "hostgroup.delete".')
    )


@pytest.mark.parametrize("username", ["reader", "nobody", "denied"])
async def test_delete_needs_read_write(client: Any, rpc: Any, world: World, username: str) -> None:
    # As an admin (a User may not call hostgroup.delete at all): a read right, none, or a deny is not enough.
    await storage_of(client).write(lambda conn: conn.execute("UPDATE users SET roleid = ? WHERE username = ?", (ADMIN_ROLE, username)))
    await assert_fails_unchanged(client, rpc, "hostgroup.delete", [world.groups["Databases"]], world.sessions[username], (-32500, NO_PERMISSIONS))


async def test_a_writer_deletes_a_read_write_group_only(client: Any, rpc: Any, call: Any, world: World) -> None:
    session = world.sessions["writer"]
    for groupid in (world.groups["Databases"], world.groups["Secret"]):  # read only; no rights at all
        await assert_fails_unchanged(client, rpc, "hostgroup.delete", [world.groups["Misc"], groupid], session, (-32500, NO_PERMISSIONS))
    assert await call("hostgroup.delete", [world.groups["Misc"]], auth=session) == {"groupids": [world.groups["Misc"]]}
    assert await storage_of(client).read(links_and_rights, world.groups["Misc"]) == (0, 0, 0)
