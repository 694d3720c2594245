"""Credentials and sessions through the endpoint (API.md §2, ZA §2.4, §3.1-3.3)."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import error_of, result_of, storage_of

LOGIN_FAILED = (-32500, "Application error.", "Incorrect user name or password or account is temporarily blocked.")
NOT_AUTHORIZED = (-32602, "Invalid params.", "Not authorized.")
TERMINATED = (-32602, "Invalid params.", "Session terminated, re-login, please.")


async def test_login_returns_a_32_hex_session(login: Any) -> None:
    session = await login("Admin", "zabbix")
    assert len(session) == 32 and int(session, 16) >= 0


async def test_login_with_user_data(rpc: Any, clock: Any) -> None:
    data = result_of(await rpc("user.login", {"username": "Admin", "password": "zabbix", "userData": True}))
    assert (data["userid"], data["username"], data["roleid"], data["type"]) == ("1", "Admin", "3", 3)
    assert len(data["sessionid"]) == 32 and "passwd" not in data
    assert data["userip"] == "127.0.0.1"


async def test_login_accepts_the_6_0_name_user_but_not_both(rpc: Any) -> None:
    assert len(result_of(await rpc("user.login", {"user": "Admin", "password": "zabbix"}))) == 32
    both = await rpc("user.login", {"user": "Admin", "username": "Admin", "password": "zabbix"})
    assert error_of(both) == (-32602, "Invalid params.", 'Invalid parameter "/": unexpected parameter "user".')


@pytest.mark.parametrize(
    "params, data",
    [
        ({"password": "zabbix"}, 'Invalid parameter "/": the parameter "username" is missing.'),
        ({"username": "Admin"}, 'Invalid parameter "/": the parameter "password" is missing.'),
        ({"username": 5, "password": "zabbix"}, 'Invalid parameter "/username": a character string is expected.'),
        ({"username": "Admin", "password": "x" * 256}, 'Invalid parameter "/password": value is too long.'),
        ({"username": "Admin", "password": "zabbix", "remember": True}, 'Invalid parameter "/": unexpected parameter "remember".'),
    ],
)
async def test_login_params(rpc: Any, params: dict[str, Any], data: str) -> None:
    assert error_of(await rpc("user.login", params)) == (-32602, "Invalid params.", data)


@pytest.mark.parametrize("username, password", [("Admin", "wrong"), ("nobody", "zabbix"), ("Admin", "")])
async def test_failed_logins_all_get_the_same_answer(rpc: Any, username: str, password: str) -> None:
    assert error_of(await rpc("user.login", {"username": username, "password": password})) == LOGIN_FAILED


async def test_login_refuses_credentials(rpc: Any, admin: str) -> None:
    response = await rpc("user.login", {"username": "Admin", "password": "zabbix"}, auth=admin)
    assert error_of(response)[2] == 'The "user.login" method must be called without the "auth" parameter.'


async def test_blocking_after_failed_attempts(rpc: Any, clock: Any, client: Any) -> None:
    for _ in range(5):
        assert error_of(await rpc("user.login", {"username": "Admin", "password": "wrong"})) == LOGIN_FAILED
    # Blocked: even the right password is refused, and the refusal is the same text.
    assert error_of(await rpc("user.login", {"username": "Admin", "password": "zabbix"})) == LOGIN_FAILED
    failed = await storage_of(client).read(lambda c: c.execute("SELECT attempt_failed, attempt_ip FROM users WHERE userid = 1").fetchone())
    assert failed == (5, "127.0.0.1")  # the failures were committed although the calls failed
    clock.advance(29)
    assert error_of(await rpc("user.login", {"username": "Admin", "password": "zabbix"})) == LOGIN_FAILED
    clock.advance(2)
    assert len(result_of(await rpc("user.login", {"username": "Admin", "password": "zabbix"}))) == 32
    reset = await storage_of(client).read(lambda c: c.execute("SELECT attempt_failed FROM users WHERE userid = 1").fetchone()[0])
    assert reset == 0


async def test_blocking_is_configurable(make_client: Any) -> None:
    client = await make_client(login_attempts=2, login_block=5)

    async def attempt(password: str) -> dict[str, Any]:
        body = {"jsonrpc": "2.0", "method": "user.login", "params": {"username": "Admin", "password": password}, "id": 1}
        return await (await client.post("/api_jsonrpc", json=body)).json()

    await attempt("wrong")
    await attempt("wrong")
    assert error_of(await attempt("zabbix")) == LOGIN_FAILED


@pytest.mark.parametrize("auth", [{}, {"auth": None}])
async def test_no_credential_is_not_authorized(rpc: Any, auth: dict[str, Any]) -> None:
    assert error_of(await rpc("user.logout", {}, **auth)) == NOT_AUTHORIZED


async def test_an_unknown_session_is_terminated_and_an_unknown_token_not_authorized(rpc: Any) -> None:
    assert error_of(await rpc("user.logout", {}, auth="0123456789abcdef0123456789abcdef")) == TERMINATED
    assert error_of(await rpc("user.logout", {}, auth="a" * 64)) == NOT_AUTHORIZED


async def test_credential_sources_in_order(rpc: Any, admin: str) -> None:
    dead = "0123456789abcdef0123456789abcdef"
    # Bearer wins over X-API-Key and body auth; X-API-Key over body auth.
    assert "result" in await rpc("host.get", {}, headers={"Authorization": f"Bearer {admin}", "X-API-Key": dead}, auth=dead)
    assert error_of(await rpc("host.get", {}, headers={"Authorization": f"Bearer {dead}"}, auth=admin)) == TERMINATED
    assert "result" in await rpc("host.get", {}, headers={"X-API-Key": admin}, auth=dead)
    assert error_of(await rpc("host.get", {}, headers={"X-API-Key": dead}, auth=admin)) == TERMINATED
    assert "result" in await rpc("host.get", {}, auth=admin)
    # A Basic header (zabbix_utils behind a proxy) carries no credential: the body's auth is used.
    assert "result" in await rpc("host.get", {}, headers={"Authorization": "Basic YTpi"}, auth=admin)


async def test_logout_ends_the_session(rpc: Any, call: Any, admin: str) -> None:
    assert await call("user.logout", [], auth=admin) is True
    assert error_of(await rpc("host.get", {}, auth=admin)) == TERMINATED
    assert error_of(await rpc("user.logout", {"a": 1}, auth=admin)) == TERMINATED  # credentials come first


async def test_logout_params_must_be_empty(rpc: Any, admin: str) -> None:
    assert error_of(await rpc("user.logout", {"a": 1}, auth=admin)) == (-32602, "Invalid params.", 'Invalid parameter "/": should be empty.')


async def test_sessions_expire_after_the_users_idle_timeout(rpc: Any, client: Any, clock: Any, login: Any) -> None:
    await storage_of(client).write(lambda c: c.execute("UPDATE users SET autologout = '15m' WHERE userid = 1"))
    session = await login("Admin", "zabbix")
    clock.advance(14 * 60)
    assert "result" in await rpc("host.get", {}, auth=session)  # activity keeps it alive
    clock.advance(14 * 60)
    assert "result" in await rpc("host.get", {}, auth=session)
    clock.advance(15 * 60 + 1)
    assert error_of(await rpc("host.get", {}, auth=session)) == TERMINATED
    assert error_of(await rpc("host.get", {}, auth=session)) == TERMINATED  # and it stays ended


async def test_lastaccess_is_not_written_on_every_call(rpc: Any, client: Any, clock: Any, admin: str) -> None:
    storage = storage_of(client)
    lastaccess = lambda c: c.execute("SELECT lastaccess FROM sessions WHERE sessionid = ?", (admin,)).fetchone()[0]  # noqa: E731
    before, units = await storage.read(lastaccess), storage.stats.units
    clock.advance(5)
    for _ in range(5):
        await rpc("host.get", {}, auth=admin)
    assert storage.stats.units == units  # reads only
    assert await storage.read(lastaccess) == before
    clock.advance(6)
    await rpc("host.get", {}, auth=admin)
    assert await storage.read(lastaccess) == before + 11


async def test_check_authentication(rpc: Any, admin: str, clock: Any, client: Any) -> None:
    data = result_of(await rpc("user.checkAuthentication", {"sessionid": admin}))
    assert (data["userid"], data["sessionid"]) == ("1", admin)
    assert error_of(await rpc("user.checkAuthentication", {"sessionid": "0" * 32})) == TERMINATED
    for params in ({}, {"sessionid": admin, "token": "a" * 64}):
        assert error_of(await rpc("user.checkAuthentication", params)) == (-32602, "Invalid params.", "Session ID or token is expected.")
    assert error_of(await rpc("user.checkAuthentication", {"token": "a" * 64, "extend": True}))[2] == 'Invalid parameter "/": unexpected parameter "extend".'
    refused = await rpc("user.checkAuthentication", {"sessionid": admin}, auth=admin)
    assert error_of(refused)[2] == 'The "user.checkAuthentication" method must be called without the "auth" parameter.'
    clock.advance(3)
    result_of(await rpc("user.checkAuthentication", {"sessionid": admin, "extend": False}))
    lastaccess = lambda c: c.execute("SELECT lastaccess FROM sessions WHERE sessionid = ?", (admin,)).fetchone()[0]  # noqa: E731
    assert await storage_of(client).read(lastaccess) == int(clock.now) - 3
    result_of(await rpc("user.checkAuthentication", {"sessionid": admin}))  # extend defaults to true
    assert await storage_of(client).read(lastaccess) == int(clock.now)


async def test_a_user_in_a_disabled_group_loses_its_session(rpc: Any, client: Any, admin: str) -> None:
    await storage_of(client).write(lambda c: c.execute("INSERT INTO users_groups (usrgrpid, userid) VALUES (9, 1)"))
    assert error_of(await rpc("host.get", {}, auth=admin)) == TERMINATED
    assert error_of(await rpc("user.login", {"username": "Admin", "password": "zabbix"})) == (-32602, "Invalid params.", "No permissions for system access.")
