"""role.create / role.get / role.update / role.delete through the endpoint."""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from rpcserver.caller import ACTIONS
from rpcserver.passwords import hash_password_sync

from ..conftest import error_of, result_of, storage_of

Rpc = Callable[..., Awaitable[dict[str, Any]]]
Call = Callable[..., Awaitable[Any]]
Error = tuple[int, str, str]

PASSWORD = "role-test-pw"
NO_PERMISSIONS = "No permissions to referred object or it does not exist!"
ALL_ACTIONS_ON = [{"name": action, "status": "1"} for action in ACTIONS]
DEFAULT_RULES = {"api.access": "1", "api.mode": "0", "api": [], "actions": ALL_ACTIONS_ON, "actions.default_access": "1"}
NO_CALL_ROLE_GET = (-32500, "Application error.", 'No permissions to call "role.get".')


def bearer(session: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {session}"}


def invalid_params(data: str) -> Error:
    return (-32602, "Invalid params.", data)


def application_error(data: str) -> Error:
    return (-32500, "Application error.", data)


async def add_user(client: Any, username: str, roleid: int, usrgrpids: tuple[int, ...] = ()) -> int:
    """A user straight in the database (user.create is not this module's), password PASSWORD."""
    passwd = hash_password_sync(PASSWORD, 4)

    def insert(conn: sqlite3.Connection) -> int:
        userid = conn.execute(
            "INSERT INTO users (username, name, surname, passwd, roleid) VALUES (?, ?, 'Tester', ?, ?) RETURNING userid",
            (username, username.title(), passwd, roleid),
        ).fetchone()[0]
        conn.executemany("INSERT INTO users_groups (usrgrpid, userid) VALUES (?, ?)", [(g, userid) for g in usrgrpids])
        return userid

    return await storage_of(client).write(insert)


async def add_usergroup(client: Any, name: str) -> int:
    def insert(conn: sqlite3.Connection) -> int:
        return conn.execute("INSERT INTO usrgrp (name) VALUES (?) RETURNING usrgrpid", (name,)).fetchone()[0]

    return await storage_of(client).write(insert)


async def snapshot(client: Any) -> tuple[list[Any], list[Any]]:
    """Every role and role rule: a failed call must leave both as they were."""

    def read(conn: sqlite3.Connection) -> tuple[list[Any], list[Any]]:
        return (
            conn.execute("SELECT * FROM role ORDER BY roleid").fetchall(),
            conn.execute("SELECT roleid, name, value_int, value_str FROM role_rule ORDER BY roleid, name").fetchall(),
        )

    return await storage_of(client).read(read)


async def create_role(call: Call, admin: str, name: str, type_: int = 1, **rules: Any) -> str:
    """Rules by Python names: api_mode=1 sends "api.mode", actions_default_access "actions.default_access"."""
    params: dict[str, Any] = {"name": name, "type": type_}
    if rules:
        params["rules"] = {key.replace("_", ".", 1): value for key, value in rules.items()}
    return (await call("role.create", params, auth=admin))["roleids"][0]


def with_rules(rules: Any) -> dict[str, Any]:
    return {"name": "R", "type": 1, "rules": rules}


async def role_with_rules(call: Call, admin: str, roleid: str) -> dict[str, Any]:
    [role] = await call("role.get", {"roleids": [roleid], "selectRules": "extend"}, auth=admin)
    return role


# --- role.create --------------------------------------------------------------------------------


async def test_create_one_role_with_default_rules(call: Call, admin: str) -> None:
    assert await call("role.create", {"name": "Operators", "type": 1}, auth=admin) == {"roleids": ["5"]}
    assert await role_with_rules(call, admin, "5") == {
        "roleid": "5", "name": "Operators", "type": "1", "readonly": "0", "rules": DEFAULT_RULES,
    }


async def test_create_an_array_with_every_rule(call: Call, admin: str) -> None:
    rules = {
        "actions": [{"name": "close_problems", "status": 0}, {"name": "manage_api_tokens", "status": "1"}],
        "actions.default_access": 0,
        "api.access": 1,
        "api.mode": 1,
        "api": ["event.*", "*.get", "user.logout", "*"],
    }
    params = [{"name": "Readers", "type": 2, "rules": rules}, {"name": "Others", "type": "3"}]
    result = await call("role.create", params, auth=admin)
    assert result == {"roleids": ["5", "6"]}
    readers = await role_with_rules(call, admin, "5")
    assert readers["rules"] == {
        "api.access": "1",
        "api.mode": "1",
        "api": ["event.*", "*.get", "user.logout", "*"],
        "actions": [{"name": action, "status": "1" if action == "manage_api_tokens" else "0"} for action in ACTIONS],
        "actions.default_access": "0",
    }
    assert (await role_with_rules(call, admin, "6"))["type"] == "3"


@pytest.mark.parametrize(
    ("params", "data"),
    [
        ({"type": 1}, 'Invalid parameter "/1": the parameter "name" is missing.'),
        ({"name": "R"}, 'Invalid parameter "/1": the parameter "type" is missing.'),
        ({"name": "R", "type": 1, "color": "red"}, 'Invalid parameter "/1": unexpected parameter "color".'),
        ({"name": 5, "type": 1}, 'Invalid parameter "/1/name": a character string is expected.'),
        ({"name": "", "type": 1}, 'Invalid parameter "/1/name": cannot be empty.'),
        ({"name": "x" * 256, "type": 1}, 'Invalid parameter "/1/name": value is too long.'),
        ({"name": "R", "type": 4}, 'Invalid parameter "/1/type": value must be one of 1, 2, 3.'),
        ({"name": "R", "type": "admin"}, 'Invalid parameter "/1/type": an integer is expected.'),
        (with_rules("all"), 'Invalid parameter "/1/rules": an array is expected.'),
        (with_rules({"ui": []}), 'Invalid parameter "/1/rules": unexpected parameter "ui".'),
        (with_rules({"api.access": 2}), 'Invalid parameter "/1/rules/api.access": value must be one of 0, 1.'),
        (with_rules({"api.mode": "x"}), 'Invalid parameter "/1/rules/api.mode": an integer is expected.'),
        (
            with_rules({"actions.default_access": 3}),
            'Invalid parameter "/1/rules/actions.default_access": value must be one of 0, 1.',
        ),
        (with_rules({"api": [5]}), 'Invalid parameter "/1/rules/api/1": a character string is expected.'),
        (with_rules({"api": {"a": 1}}), 'Invalid parameter "/1/rules/api": an array is expected.'),
        (with_rules({"actions": {"name": "close_problems"}}), 'Invalid parameter "/1/rules/actions": an array is expected.'),
        (with_rules({"actions": ["close_problems"]}), 'Invalid parameter "/1/rules/actions/1": an array is expected.'),
        (
            with_rules({"actions": [{"name": "close_problems", "status": 1, "x": 1}]}),
            'Invalid parameter "/1/rules/actions/1": unexpected parameter "x".',
        ),
        (
            with_rules({"actions": [{"status": 1}]}),
            'Invalid parameter "/1/rules/actions/1": the parameter "name" is missing.',
        ),
        (
            with_rules({"actions": [{"name": "close_problems"}]}),
            'Invalid parameter "/1/rules/actions/1": the parameter "status" is missing.',
        ),
        (
            with_rules({"actions": [{"name": "close_problems", "status": 2}]}),
            'Invalid parameter "/1/rules/actions/1/status": value must be one of 0, 1.',
        ),
        (
            with_rules({"actions": [{"name": "edit_dashboards", "status": 1}]}),
            'Invalid parameter "/1/rules/actions/1/name": value must be one of '
            + ", ".join(f'"{action}"' for action in ACTIONS) + ".",
        ),
        (
            with_rules({"actions": [{"name": "close_problems", "status": 1}, {"name": "close_problems", "status": 0}]}),
            'Invalid parameter "/1/rules/actions/2": value (name)=(close_problems) already exists.',
        ),
        (
            with_rules({"api": ["user.get", "user.get"]}),
            'Invalid parameter "/1/rules/api/2": value (user.get) already exists.',
        ),
        ([{"name": "R", "type": 1}, "S"], 'Invalid parameter "/2": an array is expected.'),
        ([], 'Invalid parameter "/": cannot be empty.'),
    ],
)
async def test_create_refuses_bad_params(rpc: Rpc, client: Any, admin: str, params: Any, data: str) -> None:
    before = await snapshot(client)
    assert error_of(await rpc("role.create", params, headers=bearer(admin))) == invalid_params(data)
    assert await snapshot(client) == before


@pytest.mark.parametrize(
    "mask", ["user", "user.", ".get", "*.*", "user.get.x", "us3r.get", "user.g*", "**", "", "usér.get", " user.get"]
)
async def test_create_refuses_a_bad_method_mask(rpc: Rpc, client: Any, admin: str, mask: str) -> None:
    before = await snapshot(client)
    response = await rpc("role.create", with_rules({"api": ["user.get", mask]}), headers=bearer(admin))
    assert error_of(response) == invalid_params(f'Invalid parameter "/1/rules/api/2": invalid method mask "{mask}".')
    assert await snapshot(client) == before


async def test_the_first_problem_in_order_wins(rpc: Rpc, admin: str) -> None:
    # Unknown keys before fields, fields in declared order, the nested object only when reached.
    response = await rpc("role.create", {"rules": {"x": 1}, "name": 5, "zz": 1}, headers=bearer(admin))
    assert error_of(response)[2] == 'Invalid parameter "/1": unexpected parameter "zz".'
    response = await rpc("role.create", {"rules": {"x": 1}, "name": 5}, headers=bearer(admin))
    assert error_of(response)[2] == 'Invalid parameter "/1/name": a character string is expected.'


@pytest.mark.parametrize("name", ["User role", "user ROLE", "Super admin role"])
async def test_create_refuses_an_existing_name_in_any_case(rpc: Rpc, client: Any, admin: str, name: str) -> None:
    before = await snapshot(client)
    assert error_of(await rpc("role.create", {"name": name, "type": 1}, headers=bearer(admin))) == invalid_params(
        f'Role "{name}" already exists.'
    )
    assert await snapshot(client) == before


async def test_create_refuses_a_name_twice_in_one_call_and_creates_nothing(rpc: Rpc, client: Any, admin: str) -> None:
    before = await snapshot(client)
    params = [{"name": "Night shift", "type": 1}, {"name": "Day shift", "type": 1}, {"name": "NIGHT SHIFT", "type": 2}]
    response = await rpc("role.create", params, headers=bearer(admin))
    # A schema error naming the later object; names compare as the database does (ASCII case folded).
    assert error_of(response) == invalid_params('Invalid parameter "/3": value (name)=(NIGHT SHIFT) already exists.')
    assert await snapshot(client) == before


async def test_repeats_are_checked_after_every_objects_types(rpc: Rpc, client: Any, admin: str) -> None:
    before = await snapshot(client)
    params = [{"name": "Twin", "type": 1}, {"name": "Twin", "type": 1}, {"name": "Third", "type": 9}]
    response = await rpc("role.create", params, headers=bearer(admin))
    assert error_of(response) == invalid_params('Invalid parameter "/3/type": value must be one of 1, 2, 3.')
    assert await snapshot(client) == before


async def test_a_late_bad_object_creates_nothing(rpc: Rpc, client: Any, admin: str) -> None:
    before = await snapshot(client)
    params = [{"name": "Fine", "type": 1}, {"name": "Bad", "type": 1, "rules": {"api": ["nope"]}}]
    response = await rpc("role.create", params, headers=bearer(admin))
    assert error_of(response)[2] == 'Invalid parameter "/2/rules/api/1": invalid method mask "nope".'
    assert await snapshot(client) == before


# --- role.get -----------------------------------------------------------------------------------


async def test_get_the_built_in_roles(call: Call, admin: str) -> None:
    assert await call("role.get", {}, auth=admin) == [
        {"roleid": "1", "name": "User role", "type": "1", "readonly": "0"},
        {"roleid": "2", "name": "Admin role", "type": "2", "readonly": "0"},
        {"roleid": "3", "name": "Super admin role", "type": "3", "readonly": "1"},
        {"roleid": "4", "name": "Guest role", "type": "1", "readonly": "0"},
    ]


async def test_get_rules_of_the_guest_role(call: Call, admin: str) -> None:
    [guest] = await call("role.get", {"roleids": 4, "output": ["name"], "selectRules": "extend"}, auth=admin)
    assert guest == {
        "name": "Guest role",
        "rules": {
            "api.access": "0", "api.mode": "0", "api": [], "actions.default_access": "0",
            "actions": [{"name": action, "status": "0"} for action in ACTIONS],
        },
    }


async def test_get_chosen_rule_keys(call: Call, admin: str) -> None:
    await create_role(call, admin, "Ops", api_mode=1, api=["problem.get"])
    [role] = await call("role.get", {"roleids": ["5"], "output": ["roleid"], "selectRules": ["api", "api.mode"]}, auth=admin)
    assert role == {"roleid": "5", "rules": {"api": ["problem.get"], "api.mode": "1"}}


@pytest.mark.parametrize(
    ("params", "names"),
    [
        ({"roleids": ["2", "4"]}, ["Admin role", "Guest role"]),
        ({"userids": [1]}, ["Super admin role"]),
        ({"filter": {"type": 1}}, ["User role", "Guest role"]),
        ({"filter": {"readonly": "1"}}, ["Super admin role"]),
        ({"filter": {"name": ["Admin role", "Guest role"]}}, ["Admin role", "Guest role"]),
        ({"search": {"name": "min"}}, ["Admin role", "Super admin role"]),
        ({"search": {"name": "Role"}, "startSearch": True}, []),
        ({"sortfield": "name"}, ["Admin role", "Guest role", "Super admin role", "User role"]),
        ({"sortfield": ["name"], "sortorder": "DESC", "limit": 2}, ["User role", "Super admin role"]),
    ],
)
async def test_get_filters_and_sorts(call: Call, admin: str, params: dict[str, Any], names: list[str]) -> None:
    roles = await call("role.get", {"output": ["name"], **params}, auth=admin)
    assert [role["name"] for role in roles] == names


async def test_get_counts_and_preserves_keys(call: Call, admin: str) -> None:
    assert await call("role.get", {"countOutput": True, "filter": {"type": 1}}, auth=admin) == "2"
    assert await call("role.get", {"roleids": [1, 3], "output": ["name"], "preservekeys": True}, auth=admin) == {
        "1": {"name": "User role"},
        "3": {"name": "Super admin role"},
    }
    # As in 7.0, the id is in the objects only when `output` asks for it.
    assert await call("role.get", {"roleids": [3], "output": ["roleid", "name"], "preservekeys": True}, auth=admin) == {
        "3": {"roleid": "3", "name": "Super admin role"},
    }


async def test_get_users_of_roles(call: Call, client: Any, admin: str) -> None:
    await add_user(client, "alice", 1)
    await add_user(client, "bob", 1)
    roles = await call("role.get", {"roleids": [1, 2, 3], "output": ["roleid"], "selectUsers": "extend"}, auth=admin)
    assert roles == [
        {"roleid": "1", "users": [
            {"userid": "2", "username": "alice", "name": "Alice", "surname": "Tester"},
            {"userid": "3", "username": "bob", "name": "Bob", "surname": "Tester"},
        ]},
        {"roleid": "2", "users": []},
        {"roleid": "3", "users": [{"userid": "1", "username": "Admin", "name": "Zabbix", "surname": "Administrator"}]},
    ]
    chosen = await call("role.get", {"roleids": 1, "output": ["roleid"], "selectUsers": ["username"]}, auth=admin)
    assert chosen == [{"roleid": "1", "users": [{"username": "alice"}, {"username": "bob"}]}]
    counted = await call("role.get", {"roleids": [1, 2], "output": ["roleid"], "selectUsers": "count"}, auth=admin)
    assert counted == [{"roleid": "1", "users": "2"}, {"roleid": "2", "users": "0"}]


@pytest.mark.parametrize(
    ("params", "data"),
    [
        ({"roles": [1]}, 'Invalid parameter "/": unexpected parameter "roles".'),
        ({"roleids": ["x"]}, 'Invalid parameter "/roleids/1": a number is expected.'),
        ({"output": ["color"]}, 'Invalid parameter "/output/1": value must be one of "roleid", "name", "type", "readonly".'),
        (
            {"selectRules": ["ui"]},
            'Invalid parameter "/selectRules/1": value must be one of'
            ' "api.access", "api.mode", "api", "actions", "actions.default_access".',
        ),
        ({"selectRules": "count"}, 'Invalid parameter "/selectRules": value must be "extend".'),
        (
            {"selectUsers": ["passwd"]},
            'Invalid parameter "/selectUsers/1": value must be one of "userid", "username", "name", "surname".',
        ),
        ({"filter": {"api": "x"}}, 'Invalid parameter "/filter": unexpected parameter "api".'),
        ({"search": {"type": "1"}}, 'Invalid parameter "/search": unexpected parameter "type".'),
        ({"sortfield": "type"}, 'Invalid parameter "/sortfield/1": value must be one of "roleid", "name".'),
    ],
)
async def test_get_refuses_bad_params(rpc: Rpc, admin: str, params: dict[str, Any], data: str) -> None:
    assert error_of(await rpc("role.get", params, headers=bearer(admin))) == invalid_params(data)


# --- role.update --------------------------------------------------------------------------------


async def test_update_name_and_type(call: Call, admin: str) -> None:
    roleid = await create_role(call, admin, "Ops")
    assert await call("role.update", {"roleid": roleid, "name": "Operations", "type": 2}, auth=admin) == {"roleids": ["5"]}
    [role] = await call("role.get", {"roleids": roleid}, auth=admin)
    assert role == {"roleid": "5", "name": "Operations", "type": "2", "readonly": "0"}


async def test_update_may_change_the_case_of_its_own_name(call: Call, admin: str) -> None:
    roleid = await create_role(call, admin, "ops")
    await call("role.update", {"roleid": roleid, "name": "OPS"}, auth=admin)
    assert (await call("role.get", {"roleids": roleid}, auth=admin))[0]["name"] == "OPS"


async def test_update_replaces_only_the_rules_sent(call: Call, admin: str) -> None:
    roleid = await create_role(
        call, admin, "Ops",
        api_mode=1, api=["event.*", "problem.get"],
        actions=[{"name": "close_problems", "status": 0}, {"name": "change_severity", "status": 0}],
    )
    await call("role.update", {"roleid": roleid, "rules": {"api": ["user.logout"]}}, auth=admin)
    rules = (await role_with_rules(call, admin, roleid))["rules"]
    assert rules["api"] == ["user.logout"]
    assert rules["api.mode"] == "1"
    assert {a["name"] for a in rules["actions"] if a["status"] == "0"} == {"close_problems", "change_severity"}

    actions = [{"name": "suppress_problems", "status": 0}]
    await call("role.update", {"roleid": roleid, "rules": {"actions": actions}}, auth=admin)
    rules = (await role_with_rules(call, admin, roleid))["rules"]
    assert {a["name"] for a in rules["actions"] if a["status"] == "0"} == {"suppress_problems"}

    await call("role.update", {"roleid": roleid, "rules": {"actions.default_access": 0, "api.access": 0}}, auth=admin)
    rules = (await role_with_rules(call, admin, roleid))["rules"]
    assert [a["status"] for a in rules["actions"]] == ["0"] * len(ACTIONS)
    assert (rules["api.access"], rules["api"]) == ("0", ["user.logout"])


async def test_update_without_rules_keeps_them(call: Call, admin: str) -> None:
    roleid = await create_role(call, admin, "Ops", api=["user.get"])
    await call("role.update", [{"roleid": roleid, "name": "Ops 2"}], auth=admin)
    assert (await role_with_rules(call, admin, roleid))["rules"]["api"] == ["user.get"]


async def test_the_super_admin_role_is_readonly(rpc: Rpc, client: Any, admin: str) -> None:
    before = await snapshot(client)
    for change in ({"roleid": 3, "name": "Root"}, {"roleid": "3"}, {"roleid": 3, "rules": {"api.access": 0}}):
        response = await rpc("role.update", change, headers=bearer(admin))
        assert error_of(response) == invalid_params('Cannot update readonly role "Super admin role".')
    assert await snapshot(client) == before


async def test_a_super_admin_cannot_change_the_type_of_their_own_role(
    rpc: Rpc, call: Call, client: Any, admin: str, login: Any
) -> None:
    roleid = await create_role(call, admin, "Root too", 3)
    await add_user(client, "root2", int(roleid))
    root2 = await login("root2", PASSWORD)
    before = await snapshot(client)
    response = await rpc("role.update", {"roleid": roleid, "type": 2}, headers=bearer(root2))
    assert error_of(response) == invalid_params("Cannot change the user type of own role.")
    assert await snapshot(client) == before
    # The same type, or other fields, may be sent; and another super admin may change the type.
    assert await call("role.update", {"roleid": roleid, "type": "3", "name": "Root 2"}, auth=root2) == {"roleids": ["5"]}
    assert await call("role.update", {"roleid": roleid, "type": 2}, auth=admin) == {"roleids": ["5"]}


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"roleid": 99, "name": "X"}, application_error(NO_PERMISSIONS)),
        ({"roleid": 5, "name": "Admin role"}, invalid_params('Role "Admin role" already exists.')),
        ({"roleid": 5, "name": "guest ROLE"}, invalid_params('Role "guest ROLE" already exists.')),
        (
            [{"roleid": 5, "name": "Twin"}, {"roleid": 6, "name": "twin"}],
            invalid_params('Invalid parameter "/2": value (name)=(twin) already exists.'),
        ),
        (
            # Ids repeat before names do.
            [{"roleid": 5, "name": "Twin"}, {"roleid": 6, "name": "twin"}, {"roleid": 5}],
            invalid_params('Invalid parameter "/3": value (roleid)=(5) already exists.'),
        ),
        ([{"roleid": 5, "name": "New"}, {"roleid": 99}], application_error(NO_PERMISSIONS)),
        (
            [{"roleid": 5, "name": "New"}, {"roleid": 3, "name": "Root"}],
            invalid_params('Cannot update readonly role "Super admin role".'),
        ),
        (
            [{"roleid": 5, "name": "A"}, {"roleid": "5", "name": "B"}],
            invalid_params('Invalid parameter "/2": value (roleid)=(5) already exists.'),
        ),
        ({"name": "X"}, invalid_params('Invalid parameter "/1": the parameter "roleid" is missing.')),
        ({"roleid": "five"}, invalid_params('Invalid parameter "/1/roleid": a number is expected.')),
        ({"roleid": 5, "readonly": 0}, invalid_params('Invalid parameter "/1": unexpected parameter "readonly".')),
        ({"roleid": 5, "name": "x" * 256}, invalid_params('Invalid parameter "/1/name": value is too long.')),
        ({"roleid": 5, "name": None}, invalid_params('Invalid parameter "/1/name": a character string is expected.')),
        ({"roleid": 5, "type": 0}, invalid_params('Invalid parameter "/1/type": value must be one of 1, 2, 3.')),
        ({"roleid": 5, "rules": {"api": ["get"]}}, invalid_params('Invalid parameter "/1/rules/api/1": invalid method mask "get".')),
        ({"roleid": 5, "rules": {"mode": 1}}, invalid_params('Invalid parameter "/1/rules": unexpected parameter "mode".')),
        ([], invalid_params('Invalid parameter "/": cannot be empty.')),
    ],
)
async def test_update_refusals_change_nothing(rpc: Rpc, call: Call, client: Any, admin: str, params: Any, error: Error) -> None:
    await create_role(call, admin, "Five", api=["user.get"])
    await create_role(call, admin, "Six")
    before = await snapshot(client)
    assert error_of(await rpc("role.update", params, headers=bearer(admin))) == error
    assert await snapshot(client) == before


# --- role.delete --------------------------------------------------------------------------------


async def test_delete_roles_and_their_rules(call: Call, client: Any, admin: str) -> None:
    await create_role(call, admin, "Five", api=["user.get"])
    await create_role(call, admin, "Six")
    assert await call("role.delete", ["5", 6], auth=admin) == {"roleids": ["5", "6"]}
    assert await call("role.get", {"roleids": [5, 6]}, auth=admin) == []
    left = await storage_of(client).read(lambda conn: conn.execute("SELECT roleid FROM role_rule WHERE roleid > 4").fetchall())
    assert left == []


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ([3], invalid_params('Cannot delete readonly role "Super admin role".')),
        ([5, 1], invalid_params('The role "User role" is assigned to at least one user and cannot be deleted.')),
        ([5, 99], application_error(NO_PERMISSIONS)),
        ([], invalid_params('Invalid parameter "/": cannot be empty.')),
        ([5, "5"], invalid_params('Invalid parameter "/2": value (5) already exists.')),
        (["x"], invalid_params('Invalid parameter "/1": a number is expected.')),
        ({"roleids": [5]}, invalid_params('Invalid parameter "/1": a number is expected.')),
        ({}, invalid_params('Invalid parameter "/": cannot be empty.')),
    ],
)
async def test_delete_refusals_change_nothing(rpc: Rpc, call: Call, client: Any, admin: str, params: Any, error: Error) -> None:
    await create_role(call, admin, "Five")
    await add_user(client, "alice", 1)
    before = await snapshot(client)
    assert error_of(await rpc("role.delete", params, headers=bearer(admin))) == error
    assert await snapshot(client) == before


# --- who may do what ----------------------------------------------------------------------------


@pytest.fixture
async def operator(call: Call, client: Any, admin: str, login: Any) -> str:
    """A session of a User-type user whose role is "Operators" (roleid 5), in a group with alice."""
    roleid = await create_role(call, admin, "Operators")
    group = await add_usergroup(client, "Shift")
    await add_user(client, "operator", int(roleid), (group,))
    await add_user(client, "alice", int(roleid), (group,))
    await add_user(client, "mallory", int(roleid))
    return await login("operator", PASSWORD)


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("role.create", {"name": "Mine", "type": 3}),
        ("role.update", {"roleid": 5, "type": 3}),
        ("role.delete", [4]),
        ("Role.Create", {"bad": "params are not even looked at"}),
    ],
)
async def test_only_super_admins_write_roles(rpc: Rpc, client: Any, operator: str, method: str, params: Any) -> None:
    before = await snapshot(client)
    response = await rpc(method, params, headers=bearer(operator))
    assert error_of(response) == application_error(f'No permissions to call "{method.lower()}".')
    assert await snapshot(client) == before


async def test_admins_are_refused_writes_too(rpc: Rpc, client: Any, login: Any) -> None:
    await add_user(client, "admin2", 2)
    session = await login("admin2", PASSWORD)
    response = await rpc("role.delete", [4], headers=bearer(session))
    assert error_of(response) == application_error('No permissions to call "role.delete".')


async def test_a_non_super_admin_sees_only_their_role(call: Call, operator: str) -> None:
    assert await call("role.get", {}, auth=operator) == [{"roleid": "5", "name": "Operators", "type": "1", "readonly": "0"}]
    assert await call("role.get", {"roleids": [1, 2, 3, 4]}, auth=operator) == []
    assert await call("role.get", {"countOutput": True}, auth=operator) == "1"


async def test_a_non_super_admin_sees_only_the_users_they_may_see(call: Call, operator: str) -> None:
    [role] = await call("role.get", {"output": ["roleid"], "selectUsers": ["username"]}, auth=operator)
    assert role == {"roleid": "5", "users": [{"username": "operator"}, {"username": "alice"}]}
    [role] = await call("role.get", {"output": ["roleid"], "selectUsers": "count"}, auth=operator)
    assert role["users"] == "2"


# --- the rules take effect ----------------------------------------------------------------------


async def test_an_allow_list_permits_only_its_methods(rpc: Rpc, call: Call, client: Any, admin: str, login: Any) -> None:
    roleid = await create_role(call, admin, "Logout only", api_mode=1, api=["user.logout"])
    await add_user(client, "limited", int(roleid))
    session = await login("limited", PASSWORD)
    # Open methods are not subject to the role.
    checked = result_of(await rpc("user.checkAuthentication", {"sessionid": session}))
    assert checked["username"] == "limited"
    assert error_of(await rpc("role.get", {}, headers=bearer(session))) == NO_CALL_ROLE_GET
    assert await call("user.logout", [], auth=session) is True


async def test_api_access_off_refuses_every_authenticated_method(
    rpc: Rpc, call: Call, client: Any, admin: str, login: Any
) -> None:
    roleid = await create_role(call, admin, "No API", api_access=0, api_mode=1, api=["*"])
    await add_user(client, "noapi", int(roleid))
    session = await login("noapi", PASSWORD)
    for method, params in (("role.get", {}), ("user.logout", [])):
        response = await rpc(method, params, headers=bearer(session))
        assert error_of(response) == application_error(f'No permissions to call "{method}".')


async def test_a_rule_change_applies_to_live_sessions(rpc: Rpc, call: Call, operator: str, admin: str) -> None:
    assert await call("role.get", {"countOutput": True}, auth=operator) == "1"
    await call("role.update", {"roleid": 5, "rules": {"api": ["role.*"]}}, auth=admin)
    assert error_of(await rpc("role.get", {}, headers=bearer(operator))) == NO_CALL_ROLE_GET
