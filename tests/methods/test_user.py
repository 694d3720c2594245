"""user.create / user.get / user.update / user.delete, and what they mean for logging in."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.conftest import ADMIN_PASSWORD, error_of, storage_of

NO_PERMISSIONS = "No permissions to referred object or it does not exist!"
LOGIN_FAILED = "Incorrect user name or password or account is temporarily blocked."
SESSION_TERMINATED = "Session terminated, re-login, please."
SUPER_ADMIN_GONE = 'At least one active user must exist with role "Super admin role".'
PASSWORD = "Secret-pass-1"
ADMINS, GUESTS, DISABLED = 7, 8, 9
USER_ROLE, ADMIN_ROLE, SUPER_ADMIN_ROLE = 1, 2, 3
TEAM, OTHERS = 20, 21
USER_FIELDS = [
    "userid", "username", "name", "surname", "autologout", "attempt_failed", "attempt_ip", "attempt_clock", "roleid",
]

Rpc = Callable[..., Awaitable[dict[str, Any]]]
Call = Callable[..., Awaitable[Any]]


def bearer(session: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {session}"}


def new_user(username: str, **fields: Any) -> dict[str, Any]:
    return {"username": username, "passwd": PASSWORD, "roleid": USER_ROLE, "usrgrps": [{"usrgrpid": GUESTS}], **fields}


async def rows(client: Any, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    return await storage_of(client).read(lambda conn: conn.execute(sql, args).fetchall())


async def execute(client: Any, sql: str, *args: Any) -> None:
    await storage_of(client).write(lambda conn: conn.execute(sql, args))


async def snapshot(client: Any) -> list[list[tuple[Any, ...]]]:
    """Everything user.* writes: a failed call must leave all of it as it was."""
    return [
        await rows(client, "SELECT * FROM users ORDER BY userid"),
        await rows(client, "SELECT usrgrpid, userid FROM users_groups ORDER BY usrgrpid, userid"),
        await rows(client, "SELECT sessionid, userid, status FROM sessions ORDER BY sessionid"),
        await rows(client, "SELECT tokenid, userid FROM token ORDER BY tokenid"),
    ]


async def add_groups(client: Any) -> None:
    """Two user groups besides the built-in ones (usergroup.create is another helper's)."""
    await execute(client, "INSERT INTO usrgrp (usrgrpid, name) VALUES (?, 'Team'), (?, 'Others')", TEAM, OTHERS)


@pytest.fixture
def create(call: Call, admin: str) -> Callable[..., Awaitable[int]]:
    """Create one user as the super admin; its id."""

    async def run(username: str, **fields: Any) -> int:
        result = await call("user.create", new_user(username, **fields), auth=admin)
        return int(result["userids"][0])

    return run


async def expect_error(rpc: Rpc, method: str, params: Any, session: str, code: int, data: str) -> None:
    response = await rpc(method, params, headers=bearer(session))
    assert error_of(response) == (code, "Invalid params." if code == -32602 else "Application error.", data)


# --- user.create --------------------------------------------------------------------------------


async def test_create_returns_the_id_and_the_user_logs_in_with_its_password(
    client: Any, call: Call, admin: str, login: Callable[..., Awaitable[str]]
) -> None:
    result = await call("user.create", new_user("alice"), auth=admin)
    assert result == {"userids": ["2"]}
    session = await login("alice", PASSWORD)
    assert len(session) == 32
    [(passwd,)] = await rows(client, "SELECT passwd FROM users WHERE username = 'alice'")
    assert PASSWORD not in passwd and passwd.startswith("scrypt$")


async def test_create_stores_the_fields_and_the_defaults(client: Any, call: Call, admin: str) -> None:
    await call("user.create", [new_user("bob"), new_user("carol", name="Carol", surname="King", autologout="1h")], auth=admin)
    got = await call("user.get", {"filter": {"username": ["bob", "carol"]}, "selectUsrgrps": ["usrgrpid"]}, auth=admin)
    assert got == [
        {"userid": "2", "username": "bob", "name": "", "surname": "", "autologout": "15m", "attempt_failed": "0",
         "attempt_ip": "", "attempt_clock": "0", "roleid": "1", "usrgrps": [{"usrgrpid": "8"}]},
        {"userid": "3", "username": "carol", "name": "Carol", "surname": "King", "autologout": "1h",
         "attempt_failed": "0", "attempt_ip": "", "attempt_clock": "0", "roleid": "1", "usrgrps": [{"usrgrpid": "8"}]},
    ]


@pytest.mark.parametrize("autologout, stored", [("0", "0"), ("90", "90"), ("90s", "90s"), ("15m", "15m"), ("1d", "1d"), (86400, "86400")])
async def test_create_takes_autologout_as_a_time_unit(call: Call, admin: str, autologout: Any, stored: str) -> None:
    await call("user.create", new_user("dave", autologout=autologout), auth=admin)
    [user] = await call("user.get", {"output": ["autologout"], "filter": {"username": "dave"}}, auth=admin)
    assert user["autologout"] == stored


LONG = "x" * 101
BAD_CREATE = [
    ([], -32602, 'Invalid parameter "/": cannot be empty.'),
    (["alice"], -32602, 'Invalid parameter "/1": an array is expected.'),
    ({**new_user("alice"), "alias": "a"}, -32602, 'Invalid parameter "/1": unexpected parameter "alias".'),
    ({"passwd": PASSWORD, "roleid": 1, "usrgrps": [{"usrgrpid": 8}]}, -32602, 'Invalid parameter "/1": the parameter "username" is missing.'),
    ({"username": "alice", "passwd": PASSWORD, "usrgrps": [{"usrgrpid": 8}]}, -32602, 'Invalid parameter "/1": the parameter "roleid" is missing.'),
    ({"username": "alice", "passwd": PASSWORD, "roleid": 1}, -32602, 'Invalid parameter "/1": the parameter "usrgrps" is missing.'),
    (new_user(123), -32602, 'Invalid parameter "/1/username": a character string is expected.'),
    (new_user(""), -32602, 'Invalid parameter "/1/username": cannot be empty.'),
    (new_user(LONG), -32602, 'Invalid parameter "/1/username": value is too long.'),
    (new_user("alice", name=LONG), -32602, 'Invalid parameter "/1/name": value is too long.'),
    (new_user("alice", surname=LONG), -32602, 'Invalid parameter "/1/surname": value is too long.'),
    (new_user("alice", passwd="p" * 256), -32602, 'Invalid parameter "/1/passwd": value is too long.'),
    (new_user("alice", passwd=12345678), -32602, 'Invalid parameter "/1/passwd": a character string is expected.'),
    (new_user("alice", passwd="short"), -32602, 'Incorrect value for field "passwd": must be at least 8 characters long.'),
    ({"username": "alice", "roleid": 1, "usrgrps": [{"usrgrpid": 8}]}, -32602, 'Incorrect value for field "passwd": cannot be empty.'),
    (new_user("alice", autologout="89"), -32602, 'Invalid parameter "/1/autologout": value must be one of 0, 90-86400.'),
    (new_user("alice", autologout="2d"), -32602, 'Invalid parameter "/1/autologout": value must be one of 0, 90-86400.'),
    (new_user("alice", autologout=60), -32602, 'Invalid parameter "/1/autologout": value must be one of 0, 90-86400.'),
    (new_user("alice", autologout="soon"), -32602, 'Invalid parameter "/1/autologout": a time unit is expected.'),
    (new_user("alice", autologout=True), -32602, 'Invalid parameter "/1/autologout": a character string is expected.'),
    (new_user("alice", roleid="admin"), -32602, 'Invalid parameter "/1/roleid": a number is expected.'),
    (new_user("alice", usrgrps=[]), -32602, 'Invalid parameter "/1/usrgrps": cannot be empty.'),
    (new_user("alice", usrgrps=8), -32602, 'Invalid parameter "/1/usrgrps": an array is expected.'),
    (new_user("alice", usrgrps=[8]), -32602, 'Invalid parameter "/1/usrgrps/1": an array is expected.'),
    (new_user("alice", usrgrps=[{}]), -32602, 'Invalid parameter "/1/usrgrps/1": the parameter "usrgrpid" is missing.'),
    (new_user("alice", usrgrps=[{"usrgrpid": "x"}]), -32602, 'Invalid parameter "/1/usrgrps/1/usrgrpid": a number is expected.'),
    (new_user("alice", usrgrps=[{"usrgrpid": 8, "name": "G"}]), -32602, 'Invalid parameter "/1/usrgrps/1": unexpected parameter "name".'),
    (new_user("alice", usrgrps=[{"usrgrpid": 8}, {"usrgrpid": "8"}]), -32602, 'Invalid parameter "/1/usrgrps/2": value (usrgrpid)=(8) already exists.'),
    ([new_user("alice"), new_user("bob", passwd="")], -32602, 'Invalid parameter "/2/passwd": cannot be empty.'),
    (new_user("alice", roleid=99), -32500, NO_PERMISSIONS),
    (new_user("alice", usrgrps=[{"usrgrpid": 8}, {"usrgrpid": 99}]), -32500, NO_PERMISSIONS),
    ([new_user("alice"), new_user("bob", roleid=99)], -32500, NO_PERMISSIONS),
    (new_user("ADMIN"), -32602, 'User with username "Admin" already exists.'),
    # A username repeated in the call is a schema error naming the later user (compared as the
    # database compares names), found after every user's types.
    ([new_user("alice"), new_user("Alice")], -32602, 'Invalid parameter "/2": value (username)=(Alice) already exists.'),
    ([new_user("alice"), new_user("Alice"), new_user(5)], -32602, 'Invalid parameter "/3/username": a character string is expected.'),
]


@pytest.mark.parametrize("params, code, data", BAD_CREATE)
async def test_create_refuses_bad_input_and_changes_nothing(
    client: Any, rpc: Rpc, admin: str, params: Any, code: int, data: str
) -> None:
    before = await snapshot(client)
    await expect_error(rpc, "user.create", params, admin, code, data)
    assert await snapshot(client) == before


async def test_usernames_differ_in_the_case_of_other_than_ascii_letters(call: Call, admin: str) -> None:
    # The column is NOCASE, which folds ASCII letters only; the call compares names the same way.
    assert await call("user.create", [new_user("Édith"), new_user("édith")], auth=admin) == {"userids": ["2", "3"]}


@pytest.mark.parametrize("roleid", [USER_ROLE, ADMIN_ROLE])
@pytest.mark.parametrize("params", [new_user("eve"), {"bad": "params are not even looked at"}])
async def test_only_a_super_admin_creates_users(
    client: Any, rpc: Rpc, create: Any, login: Any, roleid: int, params: Any
) -> None:
    await create("helper", roleid=roleid)
    session = await login("helper", PASSWORD)
    before = await snapshot(client)
    await expect_error(rpc, "user.create", params, session, -32500, 'No permissions to call "user.create".')
    assert await snapshot(client) == before


# --- user.get -----------------------------------------------------------------------------------


async def test_get_returns_every_field_but_the_password(call: Call, admin: str) -> None:
    [user] = await call("user.get", {"userids": "1"}, auth=admin)
    assert list(user) == USER_FIELDS
    assert user == {
        "userid": "1", "username": "Admin", "name": "Zabbix", "surname": "Administrator", "autologout": "0",
        "attempt_failed": "0", "attempt_ip": "", "attempt_clock": "0", "roleid": "3",
    }


@pytest.mark.parametrize(
    "params, data",
    [
        ({"output": ["passwd"]}, 'Invalid parameter "/output/1": value must be one of "' + '", "'.join(USER_FIELDS) + '".'),
        ({"filter": {"passwd": "x"}}, 'Invalid parameter "/filter": unexpected parameter "passwd".'),
        ({"search": {"roleid": "3"}}, 'Invalid parameter "/search": unexpected parameter "roleid".'),
        ({"sortfield": "passwd"}, 'Invalid parameter "/sortfield/1": value must be one of "userid", "username", "name", "surname".'),
        ({"selectRole": ["rules"]}, 'Invalid parameter "/selectRole/1": value must be one of "roleid", "name", "type", "readonly".'),
        ({"selectUsrgrps": "count"}, 'Invalid parameter "/selectUsrgrps": value must be "extend".'),
        ({"usrgrpids": ["x"]}, 'Invalid parameter "/usrgrpids/1": a number is expected.'),
        ({"editable": True}, 'Invalid parameter "/": unexpected parameter "editable".'),
    ],
)
async def test_get_refuses_bad_params(rpc: Rpc, admin: str, params: Any, data: str) -> None:
    await expect_error(rpc, "user.get", params, admin, -32602, data)


async def test_get_filters_searches_sorts_and_counts(client: Any, call: Call, admin: str, create: Any) -> None:
    await add_groups(client)
    await create("zed", name="Zed", usrgrps=[{"usrgrpid": TEAM}])
    await create("amy", name="Amy", surname="Pond", usrgrps=[{"usrgrpid": TEAM}, {"usrgrpid": OTHERS}])
    await create("rory", surname="Pond", roleid=ADMIN_ROLE)

    async def names(params: dict[str, Any]) -> list[str]:
        return [user["username"] for user in await call("user.get", {"output": ["username"], **params}, auth=admin)]

    assert await names({}) == ["Admin", "zed", "amy", "rory"]
    assert await names({"sortfield": "username", "sortorder": "DESC"}) == ["zed", "rory", "amy", "Admin"]
    assert await names({"usrgrpids": [TEAM]}) == ["zed", "amy"]
    assert await names({"usrgrpids": [OTHERS], "userids": [2, 3]}) == ["amy"]
    assert await names({"filter": {"roleid": "2"}}) == ["rory"]
    assert await names({"search": {"surname": "pon"}}) == ["amy", "rory"]
    assert await names({"search": {"name": "A", "surname": "Pond"}, "searchByAny": True}) == ["Admin", "amy", "rory"]
    assert await names({"sortfield": "userid", "limit": 2}) == ["Admin", "zed"]
    assert await call("user.get", {"countOutput": True, "usrgrpids": TEAM}, auth=admin) == "2"
    # As in 7.0, the id is in the objects only when `output` asks for it.
    keyed = await call("user.get", {"output": ["username"], "userids": [1, 3], "preservekeys": True}, auth=admin)
    assert keyed == {"1": {"username": "Admin"}, "3": {"username": "amy"}}
    keyed = await call("user.get", {"output": ["userid", "username"], "userids": [3], "preservekeys": True}, auth=admin)
    assert keyed == {"3": {"userid": "3", "username": "amy"}}


async def test_get_selects_user_groups_and_role(client: Any, call: Call, admin: str, create: Any) -> None:
    await add_groups(client)
    await create("amy", usrgrps=[{"usrgrpid": OTHERS}, {"usrgrpid": TEAM}])
    [user] = await call(
        "user.get", {"output": ["username"], "userids": 2, "selectUsrgrps": "extend", "selectRole": "extend"}, auth=admin
    )
    assert user == {
        "username": "amy",
        "usrgrps": [
            {"usrgrpid": "20", "name": "Team", "gui_access": "0", "users_status": "0", "debug_mode": "0"},
            {"usrgrpid": "21", "name": "Others", "gui_access": "0", "users_status": "0", "debug_mode": "0"},
        ],
        "role": {"roleid": "1", "name": "User role", "type": "1", "readonly": "0"},
    }
    [admin_user] = await call(
        "user.get", {"output": [], "userids": 1, "selectUsrgrps": ["name"], "selectRole": ["type"]}, auth=admin
    )
    assert admin_user == {"usrgrps": [{"name": "Zabbix administrators"}], "role": {"type": "3"}}


async def test_a_user_sees_themselves_and_their_group_mates_only(
    client: Any, call: Call, create: Any, login: Any
) -> None:
    await add_groups(client)
    await create("amy", usrgrps=[{"usrgrpid": TEAM}])
    await create("rory", usrgrps=[{"usrgrpid": TEAM}, {"usrgrpid": OTHERS}], roleid=ADMIN_ROLE)
    await create("river", usrgrps=[{"usrgrpid": OTHERS}])
    await create("clara", usrgrps=[{"usrgrpid": GUESTS}])

    async def seen_by(username: str, params: dict[str, Any] | None = None) -> list[str]:
        session = await login(username, PASSWORD)
        users = await call("user.get", {"output": ["username"], **(params or {})}, auth=session)
        return [user["username"] for user in users]

    assert await seen_by("amy") == ["amy", "rory"]
    assert await seen_by("rory") == ["amy", "rory", "river"]
    assert await seen_by("river") == ["rory", "river"]
    assert await seen_by("clara") == ["clara"]
    assert await seen_by("amy", {"userids": [1, 4]}) == []
    amy = await login("amy", PASSWORD)
    assert await call("user.get", {"countOutput": True}, auth=amy) == "2"


# --- user.update --------------------------------------------------------------------------------


async def test_a_super_admin_updates_any_field_of_a_user(call: Call, admin: str, create: Any, client: Any) -> None:
    await add_groups(client)
    userid = await create("amy")
    result = await call(
        "user.update",
        {"userid": str(userid), "username": "Amelia", "name": "Amelia", "surname": "Pond", "autologout": "0",
         "roleid": ADMIN_ROLE, "usrgrps": [{"usrgrpid": TEAM}, {"usrgrpid": OTHERS}]},
        auth=admin,
    )
    assert result == {"userids": [str(userid)]}
    [user] = await call("user.get", {"userids": userid, "selectUsrgrps": ["usrgrpid"]}, auth=admin)
    assert user | {"usrgrps": sorted(g["usrgrpid"] for g in user["usrgrps"])} == {
        "userid": "2", "username": "Amelia", "name": "Amelia", "surname": "Pond", "autologout": "0",
        "attempt_failed": "0", "attempt_ip": "", "attempt_clock": "0", "roleid": "2", "usrgrps": ["20", "21"],
    }
    await call("user.update", {"userid": userid, "usrgrps": [{"usrgrpid": GUESTS}]}, auth=admin)
    assert await rows(client, "SELECT usrgrpid FROM users_groups WHERE userid = ?", userid) == [(GUESTS,)]


async def test_a_super_admin_sets_a_password_and_the_users_sessions_end(
    rpc: Rpc, call: Call, admin: str, create: Any, login: Any
) -> None:
    userid = await create("amy")
    amy = await login("amy", PASSWORD)
    await call("user.update", [{"userid": userid, "passwd": "Brand-new-pass"}], auth=admin)
    assert error_of(await rpc("user.get", {}, headers=bearer(amy))) == (-32602, "Invalid params.", SESSION_TERMINATED)
    assert error_of(await rpc("user.login", {"username": "amy", "password": PASSWORD}))[2] == LOGIN_FAILED
    assert await login("amy", "Brand-new-pass")
    assert await call("user.get", {"countOutput": True}, auth=admin) == "2"  # the admin's own session lives on


async def test_changing_ones_own_password_needs_the_current_one(
    client: Any, rpc: Rpc, call: Call, create: Any, login: Any
) -> None:
    userid = await create("amy")
    amy, other_amy = await login("amy", PASSWORD), await login("amy", PASSWORD)
    before = await snapshot(client)
    await expect_error(rpc, "user.update", {"userid": userid, "passwd": "Brand-new-pass"}, amy, -32602,
                       'Invalid parameter "/1": the parameter "current_passwd" is missing.')
    await expect_error(rpc, "user.update", {"userid": userid, "passwd": "Brand-new-pass", "current_passwd": "wrong-pass"},
                       amy, -32602, "Incorrect current password.")
    await expect_error(rpc, "user.update", {"userid": userid, "passwd": "short", "current_passwd": PASSWORD},
                       amy, -32602, 'Incorrect value for field "passwd": must be at least 8 characters long.')
    assert await snapshot(client) == before

    result = await call("user.update", {"userid": userid, "passwd": "Brand-new-pass", "current_passwd": PASSWORD}, auth=amy)
    assert result == {"userids": [str(userid)]}
    assert await call("user.get", {"output": ["userid", "username"]}, auth=amy) == [{"userid": "2", "username": "amy"}]
    assert error_of(await rpc("user.get", {}, headers=bearer(other_amy)))[2] == SESSION_TERMINATED
    assert error_of(await rpc("user.login", {"username": "amy", "password": PASSWORD}))[2] == LOGIN_FAILED
    assert await login("amy", "Brand-new-pass")


async def test_the_super_admin_too_gives_the_current_password_for_their_own(rpc: Rpc, call: Call, admin: str, login: Any) -> None:
    await expect_error(rpc, "user.update", {"userid": 1, "passwd": "Brand-new-pass"}, admin, -32602,
                       'Invalid parameter "/1": the parameter "current_passwd" is missing.')
    await call("user.update", {"userid": 1, "passwd": "Brand-new-pass", "current_passwd": ADMIN_PASSWORD}, auth=admin)
    assert await login("Admin", "Brand-new-pass")


async def test_a_user_updates_only_themselves_and_not_their_role_or_groups(
    client: Any, rpc: Rpc, call: Call, admin: str, create: Any, login: Any
) -> None:
    await add_groups(client)
    amy_id = await create("amy", roleid=ADMIN_ROLE)
    rory_id = await create("rory")
    amy = await login("amy", PASSWORD)
    before = await snapshot(client)
    for params, code, data in [
        # Others are not the caller's to edit: as if they did not exist.
        ({"userid": rory_id, "name": "Rory"}, -32500, NO_PERMISSIONS),
        ([{"userid": amy_id, "name": "Amy"}, {"userid": 1, "name": "X"}], -32500, NO_PERMISSIONS),
        ({"userid": 99, "name": "X"}, -32500, NO_PERMISSIONS),
        ({"userid": amy_id, "roleid": SUPER_ADMIN_ROLE}, -32602, "User cannot change own role or user groups."),
        ({"userid": amy_id, "usrgrps": [{"usrgrpid": ADMINS}]}, -32602, "User cannot change own role or user groups."),
        ({"userid": amy_id, "usrgrps": [{"usrgrpid": GUESTS}, {"usrgrpid": TEAM}]}, -32602, "User cannot change own role or user groups."),
    ]:
        await expect_error(rpc, "user.update", params, amy, code, data)
    assert await snapshot(client) == before

    # Sending one's role and groups unchanged is no change.
    await call("user.update", {"userid": amy_id, "name": "Amy", "roleid": ADMIN_ROLE, "usrgrps": [{"usrgrpid": GUESTS}]}, auth=amy)
    assert await rows(client, "SELECT name, roleid FROM users WHERE userid = ?", amy_id) == [("Amy", ADMIN_ROLE)]


async def test_a_super_admin_cannot_change_their_own_role(client: Any, rpc: Rpc, admin: str, call: Call) -> None:
    await add_groups(client)
    await expect_error(rpc, "user.update", {"userid": 1, "roleid": USER_ROLE}, admin, -32602, "User cannot change own role or user groups.")
    await call("user.update", {"userid": 1, "usrgrps": [{"usrgrpid": ADMINS}, {"usrgrpid": TEAM}]}, auth=admin)
    assert await rows(client, "SELECT usrgrpid FROM users_groups WHERE userid = 1 ORDER BY usrgrpid") == [(ADMINS,), (TEAM,)]


async def test_update_renames_case_insensitively_unique(client: Any, rpc: Rpc, call: Call, admin: str, create: Any) -> None:
    amy_id = await create("amy")
    rory_id = await create("rory")
    before = await snapshot(client)
    await expect_error(rpc, "user.update", {"userid": amy_id, "username": "RORY"}, admin, -32602, 'User with username "rory" already exists.')
    await expect_error(rpc, "user.update", [{"userid": amy_id, "username": "pond"}, {"userid": rory_id, "username": "Pond"}],
                       admin, -32602, 'Invalid parameter "/2": value (username)=(Pond) already exists.')
    assert await snapshot(client) == before
    await call("user.update", {"userid": amy_id, "username": "Amy"}, auth=admin)
    assert await rows(client, "SELECT username FROM users WHERE userid = ?", amy_id) == [("Amy",)]


BAD_UPDATE = [
    ({"name": "X"}, -32602, 'Invalid parameter "/1": the parameter "userid" is missing.'),
    ({"userid": "two"}, -32602, 'Invalid parameter "/1/userid": a number is expected.'),
    ({"userid": 2, "type": 3}, -32602, 'Invalid parameter "/1": unexpected parameter "type".'),
    ([{"userid": 2}, {"userid": "2"}], -32602, 'Invalid parameter "/2": value (userid)=(2) already exists.'),
    # Ids repeat before usernames do.
    ([{"userid": 2, "username": "a"}, {"userid": 1, "username": "A"}, {"userid": 2}], -32602,
     'Invalid parameter "/3": value (userid)=(2) already exists.'),
    ({"userid": 2, "username": ""}, -32602, 'Invalid parameter "/1/username": cannot be empty.'),
    ({"userid": 2, "name": LONG}, -32602, 'Invalid parameter "/1/name": value is too long.'),
    ({"userid": 2, "passwd": "short"}, -32602, 'Incorrect value for field "passwd": must be at least 8 characters long.'),
    ({"userid": 2, "current_passwd": 1}, -32602, 'Invalid parameter "/1/current_passwd": a character string is expected.'),
    ({"userid": 2, "autologout": "25h"}, -32602, 'Invalid parameter "/1/autologout": value must be one of 0, 90-86400.'),
    ({"userid": 2, "usrgrps": []}, -32602, 'Invalid parameter "/1/usrgrps": cannot be empty.'),
    ({"userid": 99, "name": "X"}, -32500, NO_PERMISSIONS),
    ([{"userid": 2, "name": "X", "passwd": "Brand-new-pass"}, {"userid": 99, "name": "Y"}], -32500, NO_PERMISSIONS),
    ({"userid": 2, "roleid": 99}, -32500, NO_PERMISSIONS),
    ({"userid": 2, "usrgrps": [{"usrgrpid": 99}]}, -32500, NO_PERMISSIONS),
]


@pytest.mark.parametrize("params, code, data", BAD_UPDATE)
async def test_update_refuses_bad_input_and_changes_nothing(
    client: Any, rpc: Rpc, admin: str, create: Any, login: Any, params: Any, code: int, data: str
) -> None:
    await create("amy")
    await login("amy", PASSWORD)
    before = await snapshot(client)
    await expect_error(rpc, "user.update", params, admin, code, data)
    assert await snapshot(client) == before


# --- user.delete --------------------------------------------------------------------------------


async def test_delete_removes_users_with_their_groups_sessions_and_tokens(
    client: Any, rpc: Rpc, call: Call, admin: str, create: Any, login: Any
) -> None:
    amy_id, rory_id, river_id = await create("amy"), await create("rory"), await create("river")
    amy = await login("amy", PASSWORD)
    await execute(client, "INSERT INTO token (name, userid, creator_userid) VALUES ('t', ?, ?)", amy_id, amy_id)
    await execute(client, "INSERT INTO token (name, userid, creator_userid) VALUES ('u', ?, ?)", river_id, amy_id)
    assert await call("user.delete", [str(amy_id), rory_id], auth=admin) == {"userids": [str(amy_id), str(rory_id)]}
    assert await rows(client, "SELECT userid FROM users ORDER BY userid") == [(1,), (river_id,)]
    assert await rows(client, "SELECT userid FROM users_groups WHERE userid IN (?, ?)", amy_id, rory_id) == []
    assert await rows(client, "SELECT name, userid, creator_userid FROM token") == [("u", river_id, None)]
    assert error_of(await rpc("user.get", {}, headers=bearer(amy)))[2] == SESSION_TERMINATED
    assert error_of(await rpc("user.login", {"username": "amy", "password": PASSWORD}))[2] == LOGIN_FAILED


@pytest.mark.parametrize(
    "params, code, data",
    [
        ([], -32602, 'Invalid parameter "/": cannot be empty.'),
        ({}, -32602, 'Invalid parameter "/": cannot be empty.'),
        ({"userids": [2]}, -32602, 'Invalid parameter "/": an array is expected.'),
        (["two"], -32602, 'Invalid parameter "/1": a number is expected.'),
        ([2, "2"], -32602, 'Invalid parameter "/2": value (2) already exists.'),
        ([99], -32500, NO_PERMISSIONS),
        ([2, 99], -32500, NO_PERMISSIONS),
        ([2, 1], -32602, "User is not allowed to delete himself."),
        ([1, 99], -32602, "User is not allowed to delete himself."),  # per user, in order
        ([99, 1], -32500, NO_PERMISSIONS),
    ],
)
async def test_delete_refuses_bad_input_and_changes_nothing(
    client: Any, rpc: Rpc, admin: str, create: Any, params: Any, code: int, data: str
) -> None:
    await create("amy")
    before = await snapshot(client)
    await expect_error(rpc, "user.delete", params, admin, code, data)
    assert await snapshot(client) == before


async def test_only_a_super_admin_deletes_users(client: Any, rpc: Rpc, create: Any, login: Any) -> None:
    amy_id = await create("amy", roleid=ADMIN_ROLE)
    rory_id = await create("rory")
    amy = await login("amy", PASSWORD)
    before = await snapshot(client)
    # Zabbix 7.0 lets only super admins call user.delete at all, before looking at the ids.
    for userids in ([rory_id], [rory_id, amy_id], [amy_id, rory_id], ["not an id"]):
        await expect_error(rpc, "user.delete", userids, amy, -32500, 'No permissions to call "user.delete".')
    assert await snapshot(client) == before


# --- an active user keeps the built-in Super admin role -----------------------------------------


@pytest.fixture
async def root2(call: Call, admin: str, create: Any, login: Any) -> str:
    """A session of a second super admin whose role is not the built-in Super admin role: Admin
    is the only active user with that one."""
    roleid = (await call("role.create", {"name": "Root too", "type": 3}, auth=admin))["roleids"][0]
    await create("root2", roleid=roleid, usrgrps=[{"usrgrpid": ADMINS}])
    return await login("root2", PASSWORD)


@pytest.mark.parametrize(
    "method, params",
    [
        ("user.delete", [1]),
        ("user.update", {"userid": 1, "roleid": ADMIN_ROLE}),
        ("user.update", {"userid": 1, "usrgrps": [{"usrgrpid": DISABLED}]}),
        ("user.update", {"userid": 1, "usrgrps": [{"usrgrpid": ADMINS}, {"usrgrpid": DISABLED}]}),  # one disabled group is enough
        ("user.update", [{"userid": 2, "name": "Root"}, {"userid": 1, "roleid": USER_ROLE}]),
    ],
)
async def test_the_last_active_super_admin_stays(client: Any, rpc: Rpc, root2: str, method: str, params: Any) -> None:
    before = await snapshot(client)
    await expect_error(rpc, method, params, root2, -32602, SUPER_ADMIN_GONE)
    assert await snapshot(client) == before


async def test_an_inactive_super_admin_does_not_count(client: Any, rpc: Rpc, root2: str, create: Any) -> None:
    await create("dormant", roleid=SUPER_ADMIN_ROLE, usrgrps=[{"usrgrpid": ADMINS}, {"usrgrpid": DISABLED}])
    before = await snapshot(client)
    await expect_error(rpc, "user.delete", [1], root2, -32602, SUPER_ADMIN_GONE)
    assert await snapshot(client) == before


async def test_with_another_active_super_admin_one_may_go(client: Any, call: Call, root2: str, create: Any) -> None:
    await create("backup", roleid=SUPER_ADMIN_ROLE, usrgrps=[{"usrgrpid": GUESTS}])
    assert await call("user.update", {"userid": 1, "roleid": ADMIN_ROLE}, auth=root2) == {"userids": ["1"]}
    assert await call("user.delete", [1], auth=root2) == {"userids": ["1"]}
    assert await rows(client, "SELECT username FROM users WHERE roleid = ?", SUPER_ADMIN_ROLE) == [("backup",)]


# --- what the users' settings mean for logging in -----------------------------------------------


async def test_a_member_of_the_disabled_group_cannot_log_in(rpc: Rpc, create: Any) -> None:
    await create("amy", usrgrps=[{"usrgrpid": GUESTS}, {"usrgrpid": DISABLED}])
    response = await rpc("user.login", {"username": "amy", "password": PASSWORD})
    assert error_of(response) == (-32602, "Invalid params.", "No permissions for system access.")


async def test_a_session_ends_after_the_users_idle_timeout(rpc: Rpc, call: Call, create: Any, login: Any, clock: Any) -> None:
    await create("amy", autologout="90s")
    amy = await login("amy", PASSWORD)
    clock.advance(90)
    assert await call("user.get", {"countOutput": True}, auth=amy) == "1"
    clock.advance(91)
    assert error_of(await rpc("user.get", {}, headers=bearer(amy))) == (-32602, "Invalid params.", SESSION_TERMINATED)


async def test_a_session_of_a_user_without_timeout_never_ends(call: Call, create: Any, login: Any, clock: Any) -> None:
    await create("amy", autologout="0")
    amy = await login("amy", PASSWORD)
    clock.advance(365 * 86400)
    assert await call("user.get", {"countOutput": True}, auth=amy) == "1"


async def test_five_wrong_passwords_block_the_account_for_thirty_seconds(
    rpc: Rpc, call: Call, admin: str, create: Any, login: Any, clock: Any
) -> None:
    userid = await create("amy")
    for _ in range(5):
        response = await rpc("user.login", {"username": "amy", "password": "wrong-pass"})
        assert error_of(response) == (-32500, "Application error.", LOGIN_FAILED)
    [user] = await call("user.get", {"output": ["attempt_failed", "attempt_clock"], "userids": userid}, auth=admin)
    assert user == {"attempt_failed": "5", "attempt_clock": str(int(clock.now))}
    assert error_of(await rpc("user.login", {"username": "amy", "password": PASSWORD}))[2] == LOGIN_FAILED
    clock.advance(29)
    assert error_of(await rpc("user.login", {"username": "amy", "password": PASSWORD}))[2] == LOGIN_FAILED
    clock.advance(2)
    assert await login("amy", PASSWORD)
    [user] = await call("user.get", {"output": ["attempt_failed"], "userids": userid}, auth=admin)
    assert user["attempt_failed"] == "0"
