"""usergroup.create / usergroup.get / usergroup.update / usergroup.delete through the endpoint,
and the host-group rights they set, as the permission SQL reads them."""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from rpcserver.storage.permissions import READ, READ_WRITE, permitted_hostids

from ..conftest import error_of, storage_of

Rpc = Callable[..., Awaitable[dict[str, Any]]]
Call = Callable[..., Awaitable[Any]]

ADMINISTRATORS, GUESTS, DISABLED = "7", "8", "9"
USER_ROLE, ADMIN_ROLE = 1, 2
DISCOVERED_HOSTS = 5
PASSWORD = "usergroup-pw"
NO_PERMISSIONS = "No permissions to referred object or it does not exist!"
ONESELF = "User cannot add himself to a disabled group or a group with disabled GUI access."
SUPER_ADMIN_GONE = 'At least one active user must exist with role "Super admin role".'
DEFAULT_GROUPS = [
    {"usrgrpid": "7", "name": "Zabbix administrators", "gui_access": "0", "users_status": "0", "debug_mode": "0"},
    {"usrgrpid": "8", "name": "Guests", "gui_access": "0", "users_status": "0", "debug_mode": "0"},
    {"usrgrpid": "9", "name": "Disabled", "gui_access": "0", "users_status": "1", "debug_mode": "0"},
]


def invalid_params(data: str) -> tuple[int, str, str]:
    return (-32602, "Invalid params.", data)


def application_error(data: str) -> tuple[int, str, str]:
    return (-32500, "Application error.", data)


@pytest.fixture
def api(rpc: Rpc, admin: str) -> Rpc:
    """A call as the super admin (or as `auth`), returning the whole response."""

    async def run(method: str, params: Any, *, auth: str | None = None) -> dict[str, Any]:
        return await rpc(method, params, headers={"Authorization": f"Bearer {auth or admin}"})

    return run


@pytest.fixture
def add_user(call: Call, admin: str) -> Callable[..., Awaitable[str]]:
    async def run(username: str, *usrgrpids: str, roleid: int = USER_ROLE) -> str:
        params = {"username": username, "passwd": PASSWORD, "roleid": roleid, "usrgrps": [{"usrgrpid": g} for g in usrgrpids or (GUESTS,)]}
        return (await call("user.create", params, auth=admin))["userids"][0]

    return run


@pytest.fixture
def add_group(call: Call, admin: str) -> Callable[..., Awaitable[str]]:
    async def run(name: str, **fields: Any) -> str:
        return (await call("usergroup.create", {"name": name, **fields}, auth=admin))["usrgrpids"][0]

    return run


def tables(conn: sqlite3.Connection) -> dict[str, list[Any]]:
    return {table: conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall() for table in ("usrgrp", "users_groups", "rights")}


async def snapshot(client: Any) -> dict[str, list[Any]]:
    """The user group tables: a failed call must leave them as they were."""
    return await storage_of(client).read(tables)


async def get_one(call: Call, admin: str, usrgrpid: str) -> dict[str, Any]:
    [group] = await call("usergroup.get", {"usrgrpids": usrgrpid, "selectUsers": ["userid"], "selectHostGroupRights": "extend"}, auth=admin)
    return group


# --- usergroup.create -------------------------------------------------------------------------


async def test_create_then_get_reads_back_every_field(call: Call, admin: str, add_user: Any) -> None:
    userid = await add_user("ops1")
    web = (await call("hostgroup.create", {"name": "Web"}, auth=admin))["groupids"][0]
    params = {
        "name": "Operators", "gui_access": 1, "users_status": "0", "debug_mode": 1,
        "hostgroup_rights": [{"id": web, "permission": 3}, {"id": DISCOVERED_HOSTS, "permission": 0}],
        "users": [{"userid": userid}, {"userid": "1"}],
    }
    result = await call("usergroup.create", params, auth=admin)
    assert result == {"usrgrpids": ["10"]}
    got = await call("usergroup.get", {"usrgrpids": ["10"], "selectUsers": "extend", "selectHostGroupRights": "extend"}, auth=admin)
    assert got == [{
        "usrgrpid": "10", "name": "Operators", "gui_access": "1", "users_status": "0", "debug_mode": "1",
        "users": [
            {"userid": "1", "username": "Admin", "name": "Zabbix", "surname": "Administrator"},
            {"userid": userid, "username": "ops1", "name": "", "surname": ""},
        ],
        "hostgroup_rights": [{"id": "5", "permission": "0"}, {"id": web, "permission": "3"}],
    }]


async def test_create_takes_defaults_and_one_object_or_many(call: Call, admin: str) -> None:
    assert await call("usergroup.create", [{"name": "A"}, {"name": "B"}], auth=admin) == {"usrgrpids": ["10", "11"]}
    assert await call("usergroup.create", {"name": "C"}, auth=admin) == {"usrgrpids": ["12"]}
    got = await call("usergroup.get", {"usrgrpids": ["10", "12"], "selectUsers": "extend", "selectHostGroupRights": "extend"}, auth=admin)
    defaults = {"gui_access": "0", "users_status": "0", "debug_mode": "0", "users": [], "hostgroup_rights": []}
    assert got == [{"usrgrpid": "10", "name": "A", **defaults}, {"usrgrpid": "12", "name": "C", **defaults}]


async def test_a_single_right_or_user_object_counts_as_an_array_of_one(call: Call, admin: str) -> None:
    [usrgrpid] = (await call("usergroup.create", {"name": "A", "hostgroup_rights": {"id": 5, "permission": 2}, "users": {"userid": 1}}, auth=admin))["usrgrpids"]
    assert await get_one(call, admin, usrgrpid) == {
        "usrgrpid": usrgrpid, "name": "A", "gui_access": "0", "users_status": "0", "debug_mode": "0",
        "users": [{"userid": "1"}], "hostgroup_rights": [{"id": "5", "permission": "2"}],
    }


@pytest.mark.parametrize(
    "params, data",
    [
        ({}, 'Invalid parameter "/": cannot be empty.'),
        ([], 'Invalid parameter "/": cannot be empty.'),
        ({"gui_access": 1}, 'Invalid parameter "/1": the parameter "name" is missing.'),
        ({"name": "A", "description": "x"}, 'Invalid parameter "/1": unexpected parameter "description".'),
        ({"name": ""}, 'Invalid parameter "/1/name": cannot be empty.'),
        ({"name": 5}, 'Invalid parameter "/1/name": a character string is expected.'),
        ({"name": None}, 'Invalid parameter "/1/name": a character string is expected.'),
        ({"name": "x" * 65}, 'Invalid parameter "/1/name": value is too long.'),
        ({"name": "A", "gui_access": 4}, 'Invalid parameter "/1/gui_access": value must be one of 0, 1, 2, 3.'),
        ({"name": "A", "users_status": 2}, 'Invalid parameter "/1/users_status": value must be one of 0, 1.'),
        ({"name": "A", "debug_mode": "on"}, 'Invalid parameter "/1/debug_mode": an integer is expected.'),
        ({"name": "A", "hostgroup_rights": "5"}, 'Invalid parameter "/1/hostgroup_rights": an array is expected.'),
        ({"name": "A", "hostgroup_rights": [5]}, 'Invalid parameter "/1/hostgroup_rights/1": an array is expected.'),
        ({"name": "A", "hostgroup_rights": [{"permission": 2}]}, 'Invalid parameter "/1/hostgroup_rights/1": the parameter "id" is missing.'),
        ({"name": "A", "hostgroup_rights": [{"id": 5}]}, 'Invalid parameter "/1/hostgroup_rights/1": the parameter "permission" is missing.'),
        ({"name": "A", "hostgroup_rights": [{"id": "five", "permission": 2}]}, 'Invalid parameter "/1/hostgroup_rights/1/id": a number is expected.'),
        ({"name": "A", "hostgroup_rights": [{"id": 5, "permission": 1}]}, 'Invalid parameter "/1/hostgroup_rights/1/permission": value must be one of 0, 2, 3.'),
        ({"name": "A", "hostgroup_rights": [{"id": 5, "permission": 2, "z": 1, "a": 1}]}, 'Invalid parameter "/1/hostgroup_rights/1": unexpected parameter "z".'),
        ({"name": "A", "hostgroup_rights": [{"id": 5, "permission": 2}, {"id": "5", "permission": 3}]}, 'Invalid parameter "/1/hostgroup_rights/2": value (id)=(5) already exists.'),
        ({"name": "A", "users": [{"id": 1}]}, 'Invalid parameter "/1/users/1": unexpected parameter "id".'),
        ({"name": "A", "users": [{"userid": -1}]}, 'Invalid parameter "/1/users/1/userid": a number is expected.'),
        ({"name": "A", "users": [{"userid": 1}, {"userid": 1}]}, 'Invalid parameter "/1/users/2": value (userid)=(1) already exists.'),
        ([{"name": "A"}, "B"], 'Invalid parameter "/2": an array is expected.'),
        ([{"name": "A"}, {"name": "B", "gui_access": 9}], 'Invalid parameter "/2/gui_access": value must be one of 0, 1, 2, 3.'),
        # Types first, repeats after (Zabbix's two passes).
        ([{"name": "A", "users": [{"userid": 1}, {"userid": 1}]}, {"name": 2}], 'Invalid parameter "/2/name": a character string is expected.'),
        ([{"name": "Ops"}, {"name": "OPS"}, {"name": 2}], 'Invalid parameter "/3/name": a character string is expected.'),
        # A name repeated in the call, compared as the database compares names; before the members' repeats.
        ([{"name": "Ops"}, {"name": "OPS"}], 'Invalid parameter "/2": value (name)=(OPS) already exists.'),
        ([{"name": "A", "users": [{"userid": 1}, {"userid": 1}]}, {"name": "a"}], 'Invalid parameter "/2": value (name)=(a) already exists.'),
    ],
)
async def test_create_refuses_bad_params_and_changes_nothing(api: Rpc, client: Any, params: Any, data: str) -> None:
    before = await snapshot(client)
    assert error_of(await api("usergroup.create", params)) == invalid_params(data)
    assert await snapshot(client) == before


@pytest.mark.parametrize(
    "params, error",
    [
        ({"name": "guests"}, invalid_params('User group "Guests" already exists.')),
        ([{"name": "New"}, {"name": "Disabled"}], invalid_params('User group "Disabled" already exists.')),
        ({"name": "A", "hostgroup_rights": [{"id": 5, "permission": 2}, {"id": 999, "permission": 2}]}, application_error(NO_PERMISSIONS)),
        ({"name": "A", "users": [{"userid": 1}, {"userid": 999}]}, application_error(NO_PERMISSIONS)),
        ([{"name": "A", "users": [{"userid": 1}]}, {"name": "B", "users_status": 1, "users": [{"userid": 1}]}], invalid_params(ONESELF)),
        ({"name": "A", "gui_access": 3, "users": [{"userid": 1}]}, invalid_params(ONESELF)),
        # Users are checked before oneself, oneself before host groups, as Zabbix does.
        ({"name": "A", "users_status": 1, "users": [{"userid": 1}, {"userid": 999}]}, application_error(NO_PERMISSIONS)),
        (
            {"name": "A", "users_status": 1, "users": [{"userid": 1}], "hostgroup_rights": [{"id": 999, "permission": 2}]},
            invalid_params(ONESELF),
        ),
    ],
)
async def test_create_refusals_change_nothing(api: Rpc, client: Any, params: Any, error: tuple[int, str, str]) -> None:
    before = await snapshot(client)
    assert error_of(await api("usergroup.create", params)) == error
    assert await snapshot(client) == before


async def test_a_disabled_group_may_hold_others(call: Call, admin: str, add_user: Any) -> None:
    userid = await add_user("someone")
    result = await call("usergroup.create", {"name": "Off", "users_status": 1, "gui_access": 3, "users": [{"userid": userid}]}, auth=admin)
    assert result == {"usrgrpids": ["10"]}


async def test_names_are_unique_regardless_of_case_only_for_ascii(call: Call, admin: str) -> None:
    # SQLite's NOCASE folds ASCII only: "É" and "é" are two names, in one call as in two.
    assert await call("usergroup.create", [{"name": "Équipe"}, {"name": "équipe"}], auth=admin) == {"usrgrpids": ["10", "11"]}


# --- permissions of writes --------------------------------------------------------------------


@pytest.mark.parametrize("roleid", [USER_ROLE, ADMIN_ROLE])
@pytest.mark.parametrize(
    "method, params, verb",
    [
        ("usergroup.create", {"name": "Mine"}, "create"),
        ("usergroup.update", {"usrgrpid": GUESTS, "name": "Mine"}, "update"),
        ("usergroup.delete", [GUESTS], "delete"),
        ("usergroup.create", {"bad": 1}, "create"),  # refused before its params are read
    ],
)
async def test_only_super_admins_write(api: Rpc, client: Any, login: Any, add_user: Any, roleid: int, method: str, params: Any, verb: str) -> None:
    await add_user("writer", GUESTS, ADMINISTRATORS, roleid=roleid)
    session = await login("writer", PASSWORD)
    before = await snapshot(client)
    assert error_of(await api(method, params, auth=session)) == application_error(f'No permissions to call "usergroup.{verb}".')
    assert await snapshot(client) == before


# --- usergroup.get ----------------------------------------------------------------------------


async def test_get_returns_every_group_to_a_super_admin(call: Call, admin: str) -> None:
    assert await call("usergroup.get", {}, auth=admin) == DEFAULT_GROUPS


@pytest.mark.parametrize(
    "params, expected",
    [
        # As in 7.0, the id is in the objects only when `output` asks for it.
        ({"output": ["name"]}, [{"name": "Zabbix administrators"}, {"name": "Guests"}, {"name": "Disabled"}]),
        ({"output": ["name", "usrgrpid"], "sortfield": "name"}, [{"usrgrpid": "9", "name": "Disabled"}, {"usrgrpid": "8", "name": "Guests"}, {"usrgrpid": "7", "name": "Zabbix administrators"}]),
        ({"output": ["name"], "sortfield": "name", "sortorder": "DESC", "limit": 1}, [{"name": "Zabbix administrators"}]),
        ({"output": ["usrgrpid"], "usrgrpids": ["8", "9", "99"]}, [{"usrgrpid": "8"}, {"usrgrpid": "9"}]),
        ({"output": ["usrgrpid"], "userids": "1"}, [{"usrgrpid": "7"}]),
        ({"output": ["usrgrpid"], "filter": {"users_status": 1}}, [{"usrgrpid": "9"}]),
        ({"output": ["usrgrpid"], "filter": {"name": ["Guests", "Disabled"]}}, [{"usrgrpid": "8"}, {"usrgrpid": "9"}]),
        ({"output": ["usrgrpid"], "search": {"name": "ADMIN"}}, [{"usrgrpid": "7"}]),
        ({"output": ["usrgrpid"], "search": {"name": "G"}, "startSearch": True}, [{"usrgrpid": "8"}]),
        ({"countOutput": True}, "3"),
        ({"countOutput": True, "filter": {"gui_access": 0}, "usrgrpids": [7, 8]}, "2"),
        ({"output": ["name"], "usrgrpids": 8, "preservekeys": True}, {"8": {"name": "Guests"}}),
        ({"output": ["usrgrpid", "name"], "usrgrpids": 8, "preservekeys": True}, {"8": {"usrgrpid": "8", "name": "Guests"}}),
        ({"output": [], "usrgrpids": 7, "selectUsers": ["username"]}, [{"users": [{"username": "Admin"}]}]),
        ({"output": ["usrgrpid"], "usrgrpids": 7, "selectUsers": ["username"]}, [{"usrgrpid": "7", "users": [{"username": "Admin"}]}]),
        ({"output": ["usrgrpid"], "usrgrpids": 8, "selectUsers": "extend"}, [{"usrgrpid": "8", "users": []}]),
        ({"output": ["usrgrpid"], "usrgrpids": 8, "selectUsers": []}, [{"usrgrpid": "8"}]),
        ({"output": ["usrgrpid"], "usrgrpids": 8, "selectHostGroupRights": "extend"}, [{"usrgrpid": "8", "hostgroup_rights": []}]),
        ({"usrgrpids": [99], "selectUsers": "extend"}, []),
    ],
)
async def test_get_params(call: Call, admin: str, params: dict[str, Any], expected: Any) -> None:
    assert await call("usergroup.get", params, auth=admin) == expected


@pytest.mark.parametrize(
    "params, data",
    [
        ({"groupids": [7]}, 'Invalid parameter "/": unexpected parameter "groupids".'),
        ({"output": ["name", "passwd"]}, 'Invalid parameter "/output/2": value must be one of "usrgrpid", "name", "gui_access", "users_status", "debug_mode".'),
        ({"selectUsers": ["passwd"]}, 'Invalid parameter "/selectUsers/1": value must be one of "userid", "username", "name", "surname".'),
        ({"selectUsers": "count"}, 'Invalid parameter "/selectUsers": value must be "extend".'),
        ({"selectHostGroupRights": ["groupid"]}, 'Invalid parameter "/selectHostGroupRights/1": value must be one of "id", "permission".'),
        ({"usrgrpids": ["x"]}, 'Invalid parameter "/usrgrpids/1": a number is expected.'),
        ({"filter": {"rights": 1}}, 'Invalid parameter "/filter": unexpected parameter "rights".'),
        ({"search": {"gui_access": "1"}}, 'Invalid parameter "/search": unexpected parameter "gui_access".'),
        ({"sortfield": "gui_access"}, 'Invalid parameter "/sortfield/1": value must be one of "usrgrpid", "name".'),
    ],
)
async def test_get_refuses_bad_params(api: Rpc, params: dict[str, Any], data: str) -> None:
    assert error_of(await api("usergroup.get", params)) == invalid_params(data)


async def test_a_non_super_admin_sees_only_their_groups_and_no_denials(
    call: Call, admin: str, login: Any, add_user: Any, add_group: Any
) -> None:
    web = (await call("hostgroup.create", {"name": "Web"}, auth=admin))["groupids"][0]
    rights = [{"id": DISCOVERED_HOSTS, "permission": 0}, {"id": web, "permission": 2}]
    mine = await add_group("Mine", hostgroup_rights=rights)
    await add_group("Not mine", hostgroup_rights=rights)
    await add_user("viewer", GUESTS, mine)
    session = await login("viewer", PASSWORD)

    got = await call("usergroup.get", {"output": ["name"], "selectHostGroupRights": "extend"}, auth=session)
    assert got == [
        {"name": "Guests", "hostgroup_rights": []},
        {"name": "Mine", "hostgroup_rights": [{"id": web, "permission": "2"}]},
    ]
    assert await call("usergroup.get", {"usrgrpids": [ADMINISTRATORS], "userids": ["1"]}, auth=session) == []
    assert await call("usergroup.get", {"countOutput": True}, auth=session) == "2"
    # The super admin still sees the denial.
    assert (await get_one(call, admin, mine))["hostgroup_rights"] == [{"id": "5", "permission": "0"}, {"id": web, "permission": "2"}]


# --- usergroup.update -------------------------------------------------------------------------


async def test_update_changes_what_it_is_given_and_keeps_the_rest(call: Call, admin: str, add_user: Any, add_group: Any) -> None:
    userid = await add_user("ops1")
    usrgrpid = await add_group("Ops", debug_mode=1, hostgroup_rights=[{"id": 5, "permission": 2}], users=[{"userid": userid}])

    assert await call("usergroup.update", {"usrgrpid": usrgrpid, "name": "Operations", "gui_access": "2"}, auth=admin) == {"usrgrpids": [usrgrpid]}
    assert await get_one(call, admin, usrgrpid) == {
        "usrgrpid": usrgrpid, "name": "Operations", "gui_access": "2", "users_status": "0", "debug_mode": "1",
        "users": [{"userid": userid}], "hostgroup_rights": [{"id": "5", "permission": "2"}],
    }

    update = {"usrgrpid": usrgrpid, "hostgroup_rights": [{"id": 5, "permission": 3}], "users": [{"userid": 1}]}
    assert await call("usergroup.update", update, auth=admin) == {"usrgrpids": [usrgrpid]}
    group = await get_one(call, admin, usrgrpid)
    assert (group["users"], group["hostgroup_rights"]) == ([{"userid": "1"}], [{"id": "5", "permission": "3"}])

    assert await call("usergroup.update", {"usrgrpid": usrgrpid, "hostgroup_rights": [], "users": []}, auth=admin) == {"usrgrpids": [usrgrpid]}
    group = await get_one(call, admin, usrgrpid)
    assert (group["users"], group["hostgroup_rights"]) == ([], [])


async def test_update_many_at_once(call: Call, admin: str, add_group: Any) -> None:
    a, b = await add_group("A"), await add_group("B")
    result = await call("usergroup.update", [{"usrgrpid": a, "debug_mode": 1}, {"usrgrpid": b, "users_status": 1}], auth=admin)
    assert result == {"usrgrpids": [a, b]}
    got = await call("usergroup.get", {"usrgrpids": [a, b], "output": ["usrgrpid", "debug_mode", "users_status"]}, auth=admin)
    assert got == [{"usrgrpid": a, "debug_mode": "1", "users_status": "0"}, {"usrgrpid": b, "debug_mode": "0", "users_status": "1"}]


async def test_a_group_may_keep_its_name_or_change_its_case(call: Call, admin: str, add_group: Any) -> None:
    usrgrpid = await add_group("Ops")
    assert await call("usergroup.update", {"usrgrpid": usrgrpid, "name": "Ops"}, auth=admin) == {"usrgrpids": [usrgrpid]}
    assert await call("usergroup.update", {"usrgrpid": usrgrpid, "name": "OPS"}, auth=admin) == {"usrgrpids": [usrgrpid]}
    assert (await get_one(call, admin, usrgrpid))["name"] == "OPS"


async def test_a_user_may_move_between_groups_in_one_call(call: Call, admin: str, add_user: Any, add_group: Any) -> None:
    a, b = await add_group("A"), await add_group("B")
    userid = await add_user("mover", a)
    update = [{"usrgrpid": a, "users": []}, {"usrgrpid": b, "users": [{"userid": userid}]}]
    assert await call("usergroup.update", update, auth=admin) == {"usrgrpids": [a, b]}
    assert await call("usergroup.get", {"userids": userid, "output": ["usrgrpid"]}, auth=admin) == [{"usrgrpid": b}]


@pytest.mark.parametrize(
    "params, data",
    [
        ({}, 'Invalid parameter "/": cannot be empty.'),
        ({"name": "A"}, 'Invalid parameter "/1": the parameter "usrgrpid" is missing.'),
        ({"usrgrpid": "ten"}, 'Invalid parameter "/1/usrgrpid": a number is expected.'),
        ({"usrgrpid": 8, "name": ""}, 'Invalid parameter "/1/name": cannot be empty.'),
        ({"usrgrpid": 8, "name": "y" * 65}, 'Invalid parameter "/1/name": value is too long.'),
        ({"usrgrpid": 8, "rights": []}, 'Invalid parameter "/1": unexpected parameter "rights".'),
        ({"usrgrpid": 8, "hostgroup_rights": [{"id": 5, "permission": 4}]}, 'Invalid parameter "/1/hostgroup_rights/1/permission": value must be one of 0, 2, 3.'),
        ({"usrgrpid": 8, "hostgroup_rights": [{"id": 5, "permission": 0}, {"id": 5, "permission": 2}]}, 'Invalid parameter "/1/hostgroup_rights/2": value (id)=(5) already exists.'),
        ([{"usrgrpid": 8}, {"usrgrpid": "8"}], 'Invalid parameter "/2": value (usrgrpid)=(8) already exists.'),
        # Ids repeat before names, names (as the database compares them) before members.
        ([{"usrgrpid": 8, "name": "X"}, {"usrgrpid": 8, "name": "x"}], 'Invalid parameter "/2": value (usrgrpid)=(8) already exists.'),
        ([{"usrgrpid": 8, "name": "Same"}, {"usrgrpid": 9, "name": "same"}], 'Invalid parameter "/2": value (name)=(same) already exists.'),
        (
            [{"usrgrpid": 8, "name": "X", "users": [{"userid": 1}, {"userid": 1}]}, {"usrgrpid": 9, "name": "x"}],
            'Invalid parameter "/2": value (name)=(x) already exists.',
        ),
    ],
)
async def test_update_refuses_bad_params_and_changes_nothing(api: Rpc, client: Any, params: Any, data: str) -> None:
    before = await snapshot(client)
    assert error_of(await api("usergroup.update", params)) == invalid_params(data)
    assert await snapshot(client) == before


@pytest.mark.parametrize(
    "params, error",
    [
        ({"usrgrpid": 99, "name": "A"}, application_error(NO_PERMISSIONS)),
        ([{"usrgrpid": 8, "debug_mode": 1}, {"usrgrpid": 99}], application_error(NO_PERMISSIONS)),
        ({"usrgrpid": 8, "name": "disabled"}, invalid_params('User group "Disabled" already exists.')),
        ({"usrgrpid": 8, "users": [{"userid": 999}]}, application_error(NO_PERMISSIONS)),
        ({"usrgrpid": 8, "hostgroup_rights": [{"id": 999, "permission": 2}]}, application_error(NO_PERMISSIONS)),
        # The super admin is in "Zabbix administrators": it may not be disabled, nor may they join a disabled group.
        ({"usrgrpid": 7, "users_status": 1}, invalid_params(ONESELF)),
        ({"usrgrpid": 7, "gui_access": 3}, invalid_params(ONESELF)),
        ({"usrgrpid": 9, "users": [{"userid": 1}]}, invalid_params(ONESELF)),
        ({"usrgrpid": 8, "users_status": 1, "users": [{"userid": 1}]}, invalid_params(ONESELF)),
        ([{"usrgrpid": 8, "debug_mode": 1}, {"usrgrpid": 7, "users": []}], invalid_params('User "Admin" cannot be without user group.')),
    ],
)
async def test_update_refusals_change_nothing(api: Rpc, client: Any, params: Any, error: tuple[int, str, str]) -> None:
    before = await snapshot(client)
    assert error_of(await api("usergroup.update", params)) == error
    assert await snapshot(client) == before


async def test_admins_group_may_be_disabled_once_they_left_it(call: Call, admin: str, add_group: Any) -> None:
    await add_group("Super", users=[{"userid": 1}])
    result = await call("usergroup.update", {"usrgrpid": ADMINISTRATORS, "users": [], "users_status": 1}, auth=admin)
    assert result == {"usrgrpids": [ADMINISTRATORS]}


# --- an active user keeps the built-in Super admin role ----------------------------------------


@pytest.fixture
async def root2(call: Call, admin: str, login: Any, add_user: Any) -> str:
    """A session of a second super admin, outside "Zabbix administrators", whose role is not the
    built-in Super admin role: Admin is the only active user with that one."""
    roleid = (await call("role.create", {"name": "Root too", "type": 3}, auth=admin))["roleids"][0]
    await add_user("root2", GUESTS, roleid=roleid)
    return await login("root2", PASSWORD)


@pytest.mark.parametrize(
    "method, params",
    [
        ("usergroup.update", {"usrgrpid": ADMINISTRATORS, "users_status": 1}),
        ("usergroup.update", {"usrgrpid": DISABLED, "users": [{"userid": 1}]}),  # a disabled group disables its members
        ("usergroup.update", [{"usrgrpid": GUESTS, "debug_mode": 1}, {"usrgrpid": DISABLED, "users": [{"userid": 1}]}]),
        ("usergroup.create", {"name": "Off", "users_status": 1, "users": [{"userid": 1}]}),
    ],
)
async def test_the_last_active_super_admin_may_not_be_disabled(api: Rpc, client: Any, root2: str, method: str, params: Any) -> None:
    before = await snapshot(client)
    assert error_of(await api(method, params, auth=root2)) == invalid_params(SUPER_ADMIN_GONE)
    assert await snapshot(client) == before


async def test_an_inactive_super_admin_does_not_count(api: Rpc, client: Any, root2: str, add_user: Any) -> None:
    await add_user("dormant", ADMINISTRATORS, DISABLED, roleid=3)
    before = await snapshot(client)
    response = await api("usergroup.update", {"usrgrpid": ADMINISTRATORS, "users_status": 1}, auth=root2)
    assert error_of(response) == invalid_params(SUPER_ADMIN_GONE)
    assert await snapshot(client) == before


async def test_with_another_active_super_admin_one_may_be_disabled(call: Call, client: Any, root2: str, add_user: Any) -> None:
    await add_user("backup", GUESTS, roleid=3)
    assert await call("usergroup.update", {"usrgrpid": ADMINISTRATORS, "users_status": 1}, auth=root2) == {"usrgrpids": [ADMINISTRATORS]}
    assert await call("usergroup.create", {"name": "Off", "users_status": 1, "users": [{"userid": 1}]}, auth=root2) == {"usrgrpids": ["10"]}


# --- usergroup.delete -------------------------------------------------------------------------


async def test_delete_removes_groups_with_their_rights_and_memberships(call: Call, admin: str, client: Any, add_user: Any, add_group: Any) -> None:
    userid = await add_user("ops1")  # also in Guests, so not left without a group
    a = await add_group("A", hostgroup_rights=[{"id": 5, "permission": 2}], users=[{"userid": userid}])
    b = await add_group("B")
    assert await call("usergroup.delete", [a, b], auth=admin) == {"usrgrpids": [a, b]}
    assert await call("usergroup.get", {"output": ["usrgrpid"]}, auth=admin) == [{"usrgrpid": g} for g in (ADMINISTRATORS, GUESTS, DISABLED)]
    state = await snapshot(client)
    assert [row for row in state["users_groups"] if str(row[1]) in (a, b)] == []
    assert state["rights"] == []


@pytest.mark.parametrize(
    "params, data",
    [
        ([], 'Invalid parameter "/": cannot be empty.'),
        ({}, 'Invalid parameter "/": cannot be empty.'),
        (["x"], 'Invalid parameter "/1": a number is expected.'),
        ([8, "8"], 'Invalid parameter "/2": value (8) already exists.'),
        ({"usrgrpids": [8]}, 'Invalid parameter "/1": a number is expected.'),
    ],
)
async def test_delete_refuses_bad_params_and_changes_nothing(api: Rpc, client: Any, params: Any, data: str) -> None:
    before = await snapshot(client)
    assert error_of(await api("usergroup.delete", params)) == invalid_params(data)
    assert await snapshot(client) == before


async def test_delete_refusals_change_nothing(api: Rpc, client: Any, add_user: Any, add_group: Any) -> None:
    a, b = await add_group("A"), await add_group("B")
    await add_user("twice", a, b)
    before = await snapshot(client)
    cases = [
        ([a, "99"], application_error(NO_PERMISSIONS)),
        ([GUESTS, ADMINISTRATORS], invalid_params('User group "Zabbix administrators" is the only group of user "Admin".')),
        ([a, b], invalid_params('User group "A" is the only group of user "twice".')),
    ]
    for params, error in cases:
        assert error_of(await api("usergroup.delete", params)) == error
    assert await snapshot(client) == before
    assert "result" in await api("usergroup.delete", [a])  # b is still a group of "twice"


# --- rights take effect -----------------------------------------------------------------------


def add_host(conn: sqlite3.Connection, host: str, *groupids: str) -> int:
    hostid = conn.execute("INSERT INTO hosts (host, name) VALUES (?, ?) RETURNING hostid", (host, host)).fetchone()[0]
    conn.executemany("INSERT INTO hosts_groups (hostid, groupid) VALUES (?, ?)", [(hostid, int(g)) for g in groupids])
    return hostid  # type: ignore[return-value]


def permitted(conn: sqlite3.Connection, userid: str, permission: int) -> list[int]:
    return sorted(row[0] for row in conn.execute(permitted_hostids(permission), {"perm_userid": int(userid)}))


async def test_rights_decide_which_hosts_a_user_reads(call: Call, admin: str, client: Any, add_user: Any, add_group: Any) -> None:
    storage = storage_of(client)
    web, db, spare = (await call("hostgroup.create", [{"name": "Web"}, {"name": "DB"}, {"name": "Spare"}], auth=admin))["groupids"]
    www = await storage.write(add_host, "www", web)
    sql = await storage.write(add_host, "sql", db)
    both = await storage.write(add_host, "both", web, db)
    await storage.write(add_host, "spare", spare)
    readers, deniers = await add_group("Readers"), await add_group("Deniers")
    userid = await add_user("reader", readers, deniers)

    async def hosts(permission: int = READ) -> list[int]:
        return await storage.read(permitted, userid, permission)

    assert await hosts() == []  # no right: nothing

    await call("usergroup.update", {"usrgrpid": readers, "hostgroup_rights": [{"id": web, "permission": 2}]}, auth=admin)
    assert await hosts() == [www, both]
    assert await hosts(READ_WRITE) == []

    await call("usergroup.update", {"usrgrpid": readers, "hostgroup_rights": [{"id": web, "permission": 3}, {"id": db, "permission": 2}]}, auth=admin)
    assert await hosts() == [www, sql, both]
    assert await hosts(READ_WRITE) == [www, both]

    # A deny from another group wins over the grant, for the group's hosts and those it shares.
    await call("usergroup.update", {"usrgrpid": deniers, "hostgroup_rights": [{"id": db, "permission": 0}]}, auth=admin)
    assert await hosts() == [www]

    # Leaving the denying group lifts the deny; an empty rights list takes every grant away.
    await call("usergroup.update", {"usrgrpid": deniers, "users": []}, auth=admin)
    assert await hosts() == [www, sql, both]
    await call("usergroup.update", {"usrgrpid": readers, "hostgroup_rights": []}, auth=admin)
    assert await hosts() == []


async def test_deleting_a_group_takes_its_rights_away(call: Call, admin: str, client: Any, add_user: Any, add_group: Any) -> None:
    storage = storage_of(client)
    [web] = (await call("hostgroup.create", {"name": "Web"}, auth=admin))["groupids"]
    www = await storage.write(add_host, "www", web)
    readers = await add_group("Readers", hostgroup_rights=[{"id": web, "permission": 2}])
    userid = await add_user("reader", GUESTS, readers)
    assert await storage.read(permitted, userid, READ) == [www]
    await call("usergroup.delete", [readers], auth=admin)
    assert await storage.read(permitted, userid, READ) == []
