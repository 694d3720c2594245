"""Credentials and sessions through the endpoint (API.md §2, ZA §2.4, §3.1-3.3)."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from .conftest import error_of, request, result_of, storage_of

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


# --- headers as bytes on the wire: whatever a header holds, the answer is a clean JSON-RPC one ---


async def raw_post(client: Any, headers: list[bytes], body: bytes) -> tuple[int, bytes]:
    """POST with header lines sent byte for byte (an HTTP client library would encode or refuse them)."""
    reader, writer = await asyncio.open_connection(client.host, client.port)
    head = [b"POST /api_jsonrpc HTTP/1.1", b"Host: localhost", b"Connection: close",
            b"Content-Length: " + str(len(body)).encode(), *headers]
    writer.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
    await writer.drain()
    answer = await reader.read()
    writer.close()
    await writer.wait_closed()
    status_line, _, rest = answer.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


HOST_GET = orjson.dumps(request("host.get", {}))
JSON_RPC = b"Content-Type: application/json-rpc"


@pytest.mark.parametrize(
    "header",
    [
        b"Authorization: Bearer \xe9\xe8\xff",  # latin-1 bytes, not UTF-8
        b"Authorization: Bearer \xc3\xa9t\xc3\xa9",  # UTF-8 non-ASCII
        b"Authorization: Bearer " + b"\xff" * 64,  # a token's length
        b"Authorization: Bearer " + "\u00e9".encode() * 32,  # 32 characters, as a session id
        b"X-API-Key: \xe9\xe8\xff",
        b"X-API-Key: " + b"\xff" * 64,
    ],
)
async def test_a_credential_header_of_non_ascii_bytes_is_not_authorized(client: Any, header: bytes) -> None:
    status, body = await raw_post(client, [JSON_RPC, header], HOST_GET)
    assert status == 200
    assert error_of(orjson.loads(body)) == NOT_AUTHORIZED


@pytest.mark.parametrize("header", [b"Authorization: Bearer", b"Authorization: Bearer ", b"Authorization: \xe9\xe8\xff"])
async def test_a_header_that_carries_no_credential_leaves_the_body_auth(client: Any, admin: str, header: bytes) -> None:
    # A bare "Bearer" or a scheme other than Bearer names no credential (as a Basic header does).
    status, body = await raw_post(client, [JSON_RPC, header], orjson.dumps(request("host.get", {}, auth=admin)))
    assert status == 200 and "result" in orjson.loads(body)
    status, body = await raw_post(client, [JSON_RPC, header], HOST_GET)
    assert status == 200 and error_of(orjson.loads(body)) == NOT_AUTHORIZED


@pytest.mark.parametrize(
    "content_type",
    [b"application/json; charset=\xe9\xff", b"application/json;;;", b"application/json; x=\"unterminated",
     b"application/json-rpc; charset=utf-8; boundary=\xff"],
)
async def test_a_content_type_with_odd_parameters_is_judged_by_its_type(client: Any, admin: str, content_type: bytes) -> None:
    status, body = await raw_post(client, [b"Content-Type: " + content_type, b"Authorization: Bearer " + admin.encode()], HOST_GET)
    assert status == 200 and "result" in orjson.loads(body)


async def test_a_content_type_of_non_ascii_bytes_is_412(client: Any) -> None:
    assert await raw_post(client, [b"Content-Type: application/\xe9son"], HOST_GET) == (412, b"")
