"""token.create / generate / get / delete (ZA §3.5), and authentication with API tokens end to end."""

from __future__ import annotations

import hashlib
import re
import sqlite3
from typing import Any

import pytest

from rpcserver.auth import LASTACCESS_REFRESH

from ..conftest import error_of, storage_of

ADMIN_ID = "1"
USER_ROLE = 1
NO_OPERATION = "You do not have permission to perform this operation."
NO_PERMISSIONS = "No permissions to referred object or it does not exist!"
NOT_AUTHORIZED = (-32602, "Invalid params.", "Not authorized.")


def bearer(credential: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {credential}"}


def params_error(text: str) -> tuple[int, str, str]:
    return -32602, "Invalid params.", text


def app_error(text: str) -> tuple[int, str, str]:
    return -32500, "Application error.", text


def token_table(conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
    """Every column but `lastaccess`, which authenticating with a token may touch whatever the call does."""
    return conn.execute(
        "SELECT tokenid, name, description, userid, token, status, expires_at, created_at, creator_userid"
        " FROM token ORDER BY tokenid"
    ).fetchall()


async def add_user(client: Any, username: str, roleid: int = USER_ROLE) -> str:
    """A user row (user.create may not exist yet); such a user authenticates only by token."""

    def insert(conn: sqlite3.Connection) -> int:
        return conn.execute("INSERT INTO users (username, roleid) VALUES (?, ?) RETURNING userid", (username, roleid)).fetchone()[0]

    return str(await storage_of(client).write(insert))


async def add_role_without_tokens(client: Any) -> int:
    def insert(conn: sqlite3.Connection) -> int:
        roleid = conn.execute("INSERT INTO role (name, type) VALUES ('No tokens', 1) RETURNING roleid").fetchone()[0]
        conn.executemany(
            "INSERT INTO role_rule (roleid, name, value_int) VALUES (?, ?, ?)",
            [(roleid, "actions.default_access", 1), (roleid, "actions.manage_api_tokens", 0),
             (roleid, "api.access", 1), (roleid, "api.mode", 0)],
        )
        return roleid

    return await storage_of(client).write(insert)


@pytest.fixture
def issue(call: Any, admin: str) -> Any:
    """Create a token (as the super admin) and generate its secret: (tokenid, secret)."""

    async def run(name: str = "key", **fields: Any) -> tuple[str, str]:
        tokenid = (await call("token.create", {"name": name, **fields}, auth=admin))["tokenids"][0]
        (generated,) = await call("token.generate", [tokenid], auth=admin)
        return tokenid, generated["token"]

    return run


@pytest.fixture
async def user(client: Any, issue: Any) -> tuple[str, str]:
    """A plain user (type User) and a token of theirs: (userid, secret)."""
    userid = await add_user(client, "alice")
    _, secret = await issue("alice's key", userid=userid)
    return userid, secret


# token.create ------------------------------------------------------------------------------------


async def test_create_stores_what_get_shows(call: Any, admin: str, clock: Any) -> None:
    created = await call(
        "token.create",
        {"name": "ci", "description": "for the CI", "status": 1, "expires_at": 1_800_000_000},
        auth=admin,
    )
    assert created == {"tokenids": ["1"]}
    assert await call("token.get", {}, auth=admin) == [
        {
            "tokenid": "1", "name": "ci", "description": "for the CI", "userid": ADMIN_ID, "lastaccess": "0",
            "status": "1", "expires_at": "1800000000", "created_at": str(int(clock.now)),
            "creator_userid": ADMIN_ID,
        }
    ]


async def test_create_takes_an_array_and_fills_in_defaults(call: Any, admin: str) -> None:
    assert await call("token.create", [{"name": "a"}, {"name": "b"}], auth=admin) == {"tokenids": ["1", "2"]}
    tokens = await call("token.get", {"output": ["name", "description", "userid", "status", "expires_at"]}, auth=admin)
    assert tokens == [
        {"name": "a", "description": "", "userid": ADMIN_ID, "status": "0", "expires_at": "0"},
        {"name": "b", "description": "", "userid": ADMIN_ID, "status": "0", "expires_at": "0"},
    ]


async def test_expires_at_may_be_a_digit_string(call: Any, admin: str) -> None:
    await call("token.create", {"name": "a", "expires_at": "1700003600"}, auth=admin)
    assert await call("token.get", {"output": ["expires_at"]}, auth=admin) == [{"expires_at": "1700003600"}]


async def test_a_super_admin_creates_tokens_for_others(client: Any, call: Any, admin: str) -> None:
    userid = await add_user(client, "alice")
    await call("token.create", {"name": "hers", "userid": userid}, auth=admin)
    assert await call("token.get", {"output": ["userid", "creator_userid"]}, auth=admin) == [
        {"userid": userid, "creator_userid": ADMIN_ID}
    ]


async def test_a_user_creates_their_own_tokens(call: Any, user: tuple[str, str]) -> None:
    userid, secret = user
    assert await call("token.create", {"name": "mine"}, auth=secret) == {"tokenids": ["2"]}
    assert await call("token.create", {"name": "also mine", "userid": userid}, auth=secret) == {"tokenids": ["3"]}
    mine = await call("token.get", {"output": ["name", "userid", "creator_userid"], "tokenids": ["2", "3"]}, auth=secret)
    assert mine == [
        {"name": "mine", "userid": userid, "creator_userid": userid},
        {"name": "also mine", "userid": userid, "creator_userid": userid},
    ]


async def test_a_user_may_not_create_tokens_for_others(client: Any, rpc: Any, user: tuple[str, str]) -> None:
    _, secret = user
    before = await storage_of(client).read(token_table)
    response = await rpc("token.create", [{"name": "mine"}, {"name": "admin's", "userid": ADMIN_ID}], headers=bearer(secret))
    assert error_of(response) == params_error(f'User with ID "{ADMIN_ID}" is not available.')
    assert await storage_of(client).read(token_table) == before


async def test_a_super_admin_may_not_create_tokens_for_unknown_users(client: Any, rpc: Any, admin: str) -> None:
    response = await rpc("token.create", [{"name": "a"}, {"name": "b", "userid": "99"}], headers=bearer(admin))
    assert error_of(response) == params_error('User with ID "99" is not available.')
    assert await storage_of(client).read(token_table) == []


async def test_a_name_is_unique_per_user(client: Any, call: Any, rpc: Any, admin: str) -> None:
    userid = await add_user(client, "alice")
    await call("token.create", {"name": "ci"}, auth=admin)
    await call("token.create", {"name": "ci", "userid": userid}, auth=admin)  # another user: fine
    before = await storage_of(client).read(token_table)
    response = await rpc("token.create", [{"name": "new"}, {"name": "ci"}], headers=bearer(admin))
    assert error_of(response) == params_error(f'API token "ci" already exists for userid "{ADMIN_ID}".')
    assert await storage_of(client).read(token_table) == before


async def test_a_name_is_unique_within_one_call(client: Any, rpc: Any, admin: str) -> None:
    # A schema error naming the later object; the owner left out is the caller.
    response = await rpc("token.create", [{"name": "ci"}, {"name": "ci", "userid": ADMIN_ID}], headers=bearer(admin))
    assert error_of(response) == params_error(f'Invalid parameter "/2": value (userid, name)=({ADMIN_ID}, ci) already exists.')
    assert await storage_of(client).read(token_table) == []
    # Checked before the owners are: an unknown owner twice is a repeat first.
    response = await rpc("token.create", [{"name": "a", "userid": 99}, {"name": "a", "userid": "99"}], headers=bearer(admin))
    assert error_of(response) == params_error('Invalid parameter "/2": value (userid, name)=(99, a) already exists.')
    assert await storage_of(client).read(token_table) == []


async def test_one_name_for_two_users_in_one_call(client: Any, call: Any, admin: str) -> None:
    userid = await add_user(client, "alice")
    assert await call("token.create", [{"name": "ci"}, {"name": "ci", "userid": userid}], auth=admin) == {"tokenids": ["1", "2"]}


async def test_names_are_case_sensitive(call: Any, admin: str) -> None:
    assert await call("token.create", [{"name": "ci"}, {"name": "CI"}], auth=admin) == {"tokenids": ["1", "2"]}


@pytest.mark.parametrize(
    "params, text",
    [
        ([], 'Invalid parameter "/": cannot be empty.'),
        ({}, 'Invalid parameter "/1": the parameter "name" is missing.'),
        ({"description": "d"}, 'Invalid parameter "/1": the parameter "name" is missing.'),
        ({"foo": 1}, 'Invalid parameter "/1": unexpected parameter "foo".'),
        ({"name": "a", "token": "f" * 64}, 'Invalid parameter "/1": unexpected parameter "token".'),
        ({"name": ""}, 'Invalid parameter "/1/name": cannot be empty.'),
        ({"name": 5}, 'Invalid parameter "/1/name": a character string is expected.'),
        ({"name": None}, 'Invalid parameter "/1/name": a character string is expected.'),
        ({"name": "x" * 65}, 'Invalid parameter "/1/name": value is too long.'),
        # As wide as the server's string ceiling (string_limit): the ceiling's text, which says how long.
        ({"name": "a", "description": "d" * 65536}, 'Invalid parameter "/1/description": value is too long (at most 65535 characters).'),
        ({"name": "a", "userid": "x"}, 'Invalid parameter "/1/userid": a number is expected.'),
        ({"name": "a", "userid": -1}, 'Invalid parameter "/1/userid": a number is expected.'),
        ({"name": "a", "status": 2}, 'Invalid parameter "/1/status": value must be one of 0, 1.'),
        ({"name": "a", "status": "on"}, 'Invalid parameter "/1/status": an integer is expected.'),
        ({"name": "a", "expires_at": -1}, 'Invalid parameter "/1/expires_at": an unsigned integer is expected.'),
        ({"name": "a", "expires_at": 1.5}, 'Invalid parameter "/1/expires_at": an unsigned integer is expected.'),
        ({"name": "a", "expires_at": " 5"}, 'Invalid parameter "/1/expires_at": an unsigned integer is expected.'),
        ({"name": "a", "expires_at": True}, 'Invalid parameter "/1/expires_at": an unsigned integer is expected.'),
        ({"name": "a", "expires_at": 2147483648}, 'Invalid parameter "/1/expires_at": a timestamp is too large.'),
        ([{"name": "a"}, "b"], 'Invalid parameter "/2": an array is expected.'),
        ([{"name": "a"}, {"name": "b", "x": 1}], 'Invalid parameter "/2": unexpected parameter "x".'),
    ],
)
async def test_create_refuses_bad_params(client: Any, rpc: Any, admin: str, params: Any, text: str) -> None:
    assert error_of(await rpc("token.create", params, headers=bearer(admin))) == params_error(text)
    assert await storage_of(client).read(token_table) == []


async def test_the_largest_timestamp_is_accepted(call: Any, admin: str) -> None:
    await call("token.create", {"name": "a", "expires_at": 2147483647}, auth=admin)
    assert await call("token.get", {"output": ["expires_at"]}, auth=admin) == [{"expires_at": "2147483647"}]


# the manage_api_tokens action --------------------------------------------------------------------


@pytest.mark.parametrize(
    "method, params",
    [
        ("token.create", {"name": "a"}),
        ("token.create", {"bad": "params"}),  # the permission is checked first
        ("token.generate", ["1"]),
        ("token.get", {}),
        ("token.delete", ["1"]),
        ("token.delete", []),
    ],
)
async def test_every_method_needs_manage_api_tokens(client: Any, rpc: Any, issue: Any, method: str, params: Any) -> None:
    userid = await add_user(client, "bob", await add_role_without_tokens(client))
    _, secret = await issue("bob's", userid=userid)  # the super admin may issue one; bob may not manage them
    before = await storage_of(client).read(token_table)
    assert error_of(await rpc(method, params, headers=bearer(secret))) == app_error(NO_OPERATION)
    assert await storage_of(client).read(token_table) == before


# token.generate ----------------------------------------------------------------------------------


async def test_generate_shows_a_secret_once_and_stores_its_hash(client: Any, call: Any, admin: str) -> None:
    await call("token.create", [{"name": "a"}, {"name": "b"}], auth=admin)
    generated = await call("token.generate", ["2", 1], auth=admin)
    assert [one["tokenid"] for one in generated] == ["2", "1"]
    assert all(re.fullmatch("[0-9a-f]{64}", one["token"]) for one in generated)
    assert generated[0]["token"] != generated[1]["token"]
    stored = await storage_of(client).read(lambda conn: dict(conn.execute("SELECT tokenid, token FROM token")))
    assert stored == {int(one["tokenid"]): hashlib.sha512(one["token"].encode()).hexdigest() for one in generated}


async def test_the_database_never_holds_a_secret(client: Any, issue: Any) -> None:
    _, secret = await issue()
    rows = await storage_of(client).read(lambda conn: conn.execute("SELECT * FROM token").fetchall())
    assert rows and all(secret not in str(value) for row in rows for value in row)


async def test_generate_again_replaces_the_secret(call: Any, rpc: Any, issue: Any) -> None:
    tokenid, old = await issue()
    (new,) = await call("token.generate", [tokenid], auth=old)  # generated with the old secret itself
    assert new["token"] != old
    assert error_of(await rpc("token.get", {}, headers=bearer(old))) == NOT_AUTHORIZED
    assert await call("token.get", {"output": ["name"]}, auth=new["token"]) == [{"name": "key"}]


async def test_generating_makes_the_caller_the_creator(call: Any, admin: str, user: tuple[str, str]) -> None:
    userid, secret = user
    await call("token.generate", ["1"], auth=secret)
    assert await call("token.get", {"output": ["creator_userid"]}, auth=admin) == [{"creator_userid": userid}]


async def test_a_user_may_not_generate_others_tokens(client: Any, call: Any, rpc: Any, admin: str, user: tuple[str, str]) -> None:
    _, secret = user
    await call("token.create", {"name": "admin's"}, auth=admin)
    before = await storage_of(client).read(token_table)
    assert error_of(await rpc("token.generate", ["1", "2"], headers=bearer(secret))) == app_error(NO_PERMISSIONS)
    assert await storage_of(client).read(token_table) == before


async def test_a_super_admin_generates_anyones_tokens(call: Any, rpc: Any, admin: str, user: tuple[str, str]) -> None:
    _, old = user
    (new,) = await call("token.generate", ["1"], auth=admin)
    assert error_of(await rpc("token.get", {}, headers=bearer(old))) == NOT_AUTHORIZED
    assert await call("token.get", {"output": ["name"]}, auth=new["token"]) == [{"name": "alice's key"}]


async def test_generate_with_an_unknown_id_changes_nothing(client: Any, rpc: Any, admin: str, issue: Any) -> None:
    await issue()
    before = await storage_of(client).read(token_table)
    assert error_of(await rpc("token.generate", ["1", "7"], headers=bearer(admin))) == app_error(NO_PERMISSIONS)
    assert await storage_of(client).read(token_table) == before


IDS_ERRORS = [
    ([], 'Invalid parameter "/": cannot be empty.'),
    ({}, 'Invalid parameter "/": cannot be empty.'),
    ({"tokenids": ["1"]}, 'Invalid parameter "/": an array is expected.'),
    (["1", 1], 'Invalid parameter "/2": value (1) already exists.'),
    (["a"], 'Invalid parameter "/1": a number is expected.'),
    (["1", None], 'Invalid parameter "/2": a number is expected.'),
    ([1.5], 'Invalid parameter "/1": a number is expected.'),
    ([-1], 'Invalid parameter "/1": a number is expected.'),
    (["9223372036854775808"], 'Invalid parameter "/1": a number is too large.'),
]


@pytest.mark.parametrize("method", ["token.generate", "token.delete"])
@pytest.mark.parametrize("params, text", IDS_ERRORS)
async def test_generate_and_delete_refuse_bad_ids(client: Any, rpc: Any, admin: str, issue: Any, method: str, params: Any, text: str) -> None:
    await issue()
    before = await storage_of(client).read(token_table)
    assert error_of(await rpc(method, params, headers=bearer(admin))) == params_error(text)
    assert await storage_of(client).read(token_table) == before


# token.get ---------------------------------------------------------------------------------------


async def test_a_user_sees_only_their_own_tokens(call: Any, admin: str, user: tuple[str, str]) -> None:
    userid, secret = user
    await call("token.create", {"name": "admin's"}, auth=admin)
    assert await call("token.get", {"output": ["name"]}, auth=secret) == [{"name": "alice's key"}]
    assert await call("token.get", {"output": ["name"], "userids": ADMIN_ID}, auth=secret) == []
    assert await call("token.get", {"output": ["name"], "tokenids": ["2"]}, auth=secret) == []
    assert await call("token.get", {"countOutput": True}, auth=secret) == "1"
    everyone = await call("token.get", {"output": ["name", "userid"]}, auth=admin)
    assert everyone == [{"name": "alice's key", "userid": userid}, {"name": "admin's", "userid": ADMIN_ID}]


async def test_get_by_owner_and_id(call: Any, admin: str, user: tuple[str, str]) -> None:
    userid, _ = user
    await call("token.create", [{"name": "x"}, {"name": "y"}], auth=admin)
    assert await call("token.get", {"output": ["name"], "userids": [userid]}, auth=admin) == [{"name": "alice's key"}]
    assert await call("token.get", {"output": ["name"], "tokenids": ["3", "2"]}, auth=admin) == [{"name": "x"}, {"name": "y"}]
    assert await call("token.get", {"output": ["name"], "tokenids": 3, "userids": ADMIN_ID}, auth=admin) == [{"name": "y"}]


async def test_valid_at_and_expired_at(call: Any, admin: str) -> None:
    await call(
        "token.create",
        [{"name": "never"}, {"name": "soon", "expires_at": 1000}, {"name": "later", "expires_at": 2000}],
        auth=admin,
    )

    async def names(**params: Any) -> list[str]:
        return [one["name"] for one in await call("token.get", {"output": ["name"], **params}, auth=admin)]

    assert await names(valid_at=999) == ["never", "soon", "later"]
    assert await names(valid_at=1000) == ["never", "later"]
    assert await names(valid_at="2000") == ["never"]
    assert await names(expired_at=999) == []
    assert await names(expired_at=1000) == ["soon"]
    assert await names(expired_at=5000) == ["soon", "later"]
    assert await names(valid_at=None, expired_at=None) == ["never", "soon", "later"]


async def test_get_filter_search_sort_limit(call: Any, admin: str) -> None:
    await call(
        "token.create",
        [{"name": "deploy b", "status": 1}, {"name": "Deploy a"}, {"name": "backup", "description": "nightly deploy"}],
        auth=admin,
    )

    async def names(**params: Any) -> list[str]:
        return [one["name"] for one in await call("token.get", {"output": ["name"], **params}, auth=admin)]

    assert await names(filter={"status": 1}) == ["deploy b"]
    assert await names(filter={"name": ["backup", "Deploy a"]}) == ["Deploy a", "backup"]
    assert await names(filter={"tokenid": "3", "userid": ADMIN_ID}) == ["backup"]
    assert await names(search={"name": "deploy"}) == ["deploy b", "Deploy a"]
    assert await names(search={"description": "deploy"}) == ["backup"]
    assert await names(sortfield="name") == ["Deploy a", "backup", "deploy b"]
    assert await names(sortfield=["status", "name"], sortorder="DESC") == ["deploy b", "backup", "Deploy a"]
    assert await names(sortfield="tokenid", sortorder="DESC", limit=2) == ["backup", "Deploy a"]
    assert await call("token.get", {"countOutput": True, "filter": {"status": 0}}, auth=admin) == "2"


async def test_get_preservekeys_and_output(call: Any, admin: str) -> None:
    await call("token.create", [{"name": "a"}, {"name": "b"}], auth=admin)
    assert await call("token.get", {"output": ["name"], "preservekeys": True}, auth=admin) == {"1": {"name": "a"}, "2": {"name": "b"}}
    assert await call("token.get", {"output": ["tokenid", "status"], "tokenids": "2"}, auth=admin) == [{"tokenid": "2", "status": "0"}]


async def test_get_finds_a_token_by_its_secret(call: Any, issue: Any, admin: str) -> None:
    await issue("first")
    _, secret = await issue("second")
    assert await call("token.get", {"output": ["name"], "token": secret}, auth=admin) == [{"name": "second"}]
    assert await call("token.get", {"output": ["name"], "token": "0" * 64}, auth=admin) == []


@pytest.mark.parametrize(
    "params, text",
    [
        ({"foo": 1}, 'Invalid parameter "/": unexpected parameter "foo".'),
        (
            {"output": ["token"]},
            'Invalid parameter "/output/1": value must be one of "tokenid", "name", "description", "userid",'
            ' "lastaccess", "status", "expires_at", "created_at", "creator_userid".',
        ),
        (
            {"sortfield": "userid"},
            'Invalid parameter "/sortfield/1": value must be one of "tokenid", "name", "lastaccess", "status",'
            ' "expires_at", "created_at".',
        ),
        ({"filter": {"token": "x"}}, 'Invalid parameter "/filter": unexpected parameter "token".'),
        ({"search": {"userid": "1"}}, 'Invalid parameter "/search": unexpected parameter "userid".'),
        ({"valid_at": -1}, 'Invalid parameter "/valid_at": an unsigned integer is expected.'),
        ({"expired_at": 2147483648}, 'Invalid parameter "/expired_at": a timestamp is too large.'),
        ({"token": "x" * 65}, 'Invalid parameter "/token": value is too long.'),
        ({"tokenids": ["x"]}, 'Invalid parameter "/tokenids/1": a number is expected.'),
        ({"limit": 0}, 'Invalid parameter "/limit": value must be one of 1-2147483647.'),
    ],
)
async def test_get_refuses_bad_params(rpc: Any, admin: str, params: Any, text: str) -> None:
    assert error_of(await rpc("token.get", params, headers=bearer(admin))) == params_error(text)


# token.delete ------------------------------------------------------------------------------------


async def test_delete_removes_tokens_and_their_secrets_stop_working(call: Any, rpc: Any, admin: str, issue: Any) -> None:
    _, first = await issue("first")
    _, second = await issue("second")
    await issue("third")
    assert await call("token.delete", ["2", 1], auth=admin) == {"tokenids": ["2", "1"]}
    assert await call("token.get", {"output": ["name"]}, auth=admin) == [{"name": "third"}]
    assert error_of(await rpc("token.get", {}, headers=bearer(first))) == NOT_AUTHORIZED
    assert error_of(await rpc("token.get", {}, headers=bearer(second))) == NOT_AUTHORIZED


async def test_a_user_deletes_their_own_tokens_only(client: Any, call: Any, rpc: Any, admin: str, user: tuple[str, str]) -> None:
    _, secret = user
    await call("token.create", {"name": "admin's"}, auth=admin)
    await call("token.create", {"name": "spare"}, auth=secret)
    before = await storage_of(client).read(token_table)
    assert error_of(await rpc("token.delete", ["3", "2"], headers=bearer(secret))) == app_error(NO_PERMISSIONS)
    assert await storage_of(client).read(token_table) == before
    assert await call("token.delete", ["3"], auth=secret) == {"tokenids": ["3"]}
    assert [one["name"] for one in await call("token.get", {}, auth=admin)] == ["alice's key", "admin's"]


async def test_a_super_admin_deletes_anyones_tokens(call: Any, rpc: Any, admin: str, user: tuple[str, str]) -> None:
    _, secret = user
    assert await call("token.delete", ["1"], auth=admin) == {"tokenids": ["1"]}
    assert error_of(await rpc("token.get", {}, headers=bearer(secret))) == NOT_AUTHORIZED


async def test_delete_with_an_unknown_id_changes_nothing(client: Any, rpc: Any, admin: str, issue: Any) -> None:
    await issue()
    before = await storage_of(client).read(token_table)
    assert error_of(await rpc("token.delete", ["1", "2"], headers=bearer(admin))) == app_error(NO_PERMISSIONS)
    assert await storage_of(client).read(token_table) == before


# authentication with a token ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "how",
    [
        lambda secret: {"headers": {"Authorization": f"Bearer {secret}"}},
        lambda secret: {"headers": {"X-API-Key": secret}},
        lambda secret: {"auth": secret},
    ],
    ids=["bearer", "x-api-key", "body-auth"],
)
async def test_a_token_authenticates_its_user(rpc: Any, call: Any, admin: str, user: tuple[str, str], how: Any) -> None:
    _, secret = user
    await call("token.create", {"name": "admin's"}, auth=admin)
    response = await rpc("token.get", {"output": ["name"]}, **how(secret))
    assert response["result"] == [{"name": "alice's key"}]  # alice's view, not the super admin's


async def test_logout_with_a_token_is_refused(rpc: Any, call: Any, issue: Any) -> None:
    _, secret = await issue()
    assert error_of(await rpc("user.logout", [], headers=bearer(secret))) == params_error("Cannot log out.")
    assert await call("token.get", {"output": ["name"]}, auth=secret) == [{"name": "key"}]  # still works


async def test_check_authentication_with_a_token(rpc: Any, user: tuple[str, str]) -> None:
    userid, secret = user
    result = (await rpc("user.checkAuthentication", {"token": secret}))["result"]
    assert (result["userid"], result["username"], result["type"]) == (userid, "alice", 1)
    assert "sessionid" not in result


async def test_an_expired_token_is_refused(clock: Any, rpc: Any, call: Any, issue: Any) -> None:
    _, secret = await issue(expires_at=int(clock.now) + 60)
    assert await call("token.get", {"output": ["name"]}, auth=secret) == [{"name": "key"}]
    clock.advance(61)
    assert error_of(await rpc("token.get", {}, headers=bearer(secret))) == app_error("API token expired.")
    checked = await rpc("user.checkAuthentication", {"token": secret})
    assert error_of(checked) == app_error("API token expired.")


async def test_a_disabled_token_is_refused(rpc: Any, issue: Any) -> None:
    _, secret = await issue(status=1)
    assert error_of(await rpc("token.get", {}, headers=bearer(secret))) == NOT_AUTHORIZED


async def test_an_unknown_token_is_refused(rpc: Any, issue: Any) -> None:
    await issue()
    assert error_of(await rpc("token.get", {}, headers=bearer("0" * 64))) == NOT_AUTHORIZED


async def test_lastaccess_is_recorded_but_not_on_every_call(client: Any, clock: Any, call: Any, admin: str, issue: Any) -> None:
    _, secret = await issue()
    start = int(clock.now)

    async def lastaccess() -> int:
        return await storage_of(client).read(lambda conn: conn.execute("SELECT lastaccess FROM token").fetchone()[0])

    assert await lastaccess() == 0  # never used yet
    await call("token.get", {}, auth=secret)
    assert await lastaccess() == start
    clock.advance(LASTACCESS_REFRESH - 1)
    await call("token.get", {}, auth=secret)
    assert await lastaccess() == start
    clock.advance(1)
    await call("token.get", {}, auth=secret)
    assert await lastaccess() == start + LASTACCESS_REFRESH
    assert await call("token.get", {"output": ["lastaccess"]}, auth=admin) == [{"lastaccess": str(start + LASTACCESS_REFRESH)}]
