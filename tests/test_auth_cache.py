"""The credential cache (auth.Callers): a caller is resolved once and reused in memory; a change to
what it was built from is seen by the very next call when this server made it, and within
auth.GENERATION_POLL seconds (API.md §7: 1 s) when another process or connection did."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from typing import Any

import psycopg
import pytest
import requests

from rpcserver import auth
from rpcserver.storage import credentials, is_postgresql_url

from .conftest import FakeClock, error_of, result_of, storage_of
from .server_process import running_server

NOT_AUTHORIZED = (-32602, "Invalid params.", "Not authorized.")
TERMINATED = (-32602, "Invalid params.", "Session terminated, re-login, please.")
TOKEN_EXPIRED = (-32500, "Application error.", "API token expired.")
HOST_GET_DENIED = (-32500, "Application error.", 'No permissions to call "host.get".')


@pytest.fixture
def resolutions(monkeypatch: Any) -> list[str]:
    """The credentials resolved the ordinary way (reader connection, caller built from rows), in order."""
    seen: list[str] = []
    ordinary = auth._resolve

    async def counted(storage: Any, credential: auth.Credential, now: int) -> Any:
        seen.append(credential.value)
        return await ordinary(storage, credential, now)

    monkeypatch.setattr(auth, "_resolve", counted)
    return seen


@pytest.fixture
def short_poll(monkeypatch: Any) -> None:
    """The generation read every 0.05 s instead of auth.GENERATION_POLL's 0.5 s (read at each call): the
    tests that wait for a poll wait a tenth as long, and still see a change only once it has come."""
    monkeypatch.setattr(auth, "GENERATION_POLL", 0.05)


@pytest.fixture
async def token(call: Any, admin: str) -> str:
    """A secret of an API token of Admin's."""
    tokenid = (await call("token.create", {"name": "cached"}, auth=admin))["tokenids"][0]
    (generated,) = await call("token.generate", [tokenid], auth=admin)
    return generated["token"]


def behind_the_servers_back(client: Any, sql: str, *args: Any) -> None:
    """A change committed by another connection, as another process (`rpcserver passwd`) makes them."""
    where = storage_of(client).description
    if is_postgresql_url(where):
        with psycopg.connect(where, autocommit=True) as pg:
            pg.execute(sql.replace("?", "%s"), args)
        return
    conn = sqlite3.connect(where)
    try:
        with conn:
            conn.execute(sql, args)
    finally:
        conn.close()


async def host_get(rpc: Any, credential: str) -> dict[str, Any]:
    return await rpc("host.get", {"countOutput": True}, headers={"Authorization": f"Bearer {credential}"})


async def test_a_session_is_resolved_once_then_reused(rpc: Any, admin: str, clock: FakeClock, resolutions: list[str]) -> None:
    for _ in range(4):
        result_of(await host_get(rpc, admin))
        clock.advance(2)
    assert resolutions == [admin]


async def test_a_token_is_resolved_once_then_reused(rpc: Any, token: str, resolutions: list[str]) -> None:
    for _ in range(4):
        result_of(await host_get(rpc, token))
    assert resolutions == [token]


async def test_lastaccess_is_still_written_every_10_seconds(client: Any, rpc: Any, admin: str, clock: FakeClock,
                                                             resolutions: list[str]) -> None:
    lastaccess = lambda c: c.execute("SELECT lastaccess FROM sessions WHERE sessionid = ?", (admin,)).fetchone()[0]  # noqa: E731
    login_time = await storage_of(client).read(lastaccess)
    for _ in range(3):
        clock.advance(4)
        result_of(await host_get(rpc, admin))
    assert await storage_of(client).read(lastaccess) == login_time + 12  # at the third call, 12 s after the login
    assert len(resolutions) == 2  # the first call, and the one that wrote lastaccess


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("UPDATE token SET status = 1", NOT_AUTHORIZED),
        ("DELETE FROM token", NOT_AUTHORIZED),
        ("UPDATE token SET expires_at = 1", TOKEN_EXPIRED),
        ("UPDATE users SET roleid = NULL WHERE userid = 1", NOT_AUTHORIZED),
        ("INSERT INTO users_groups (usrgrpid, userid) VALUES (9, 1)", NOT_AUTHORIZED),  # the Disabled group
        ("INSERT INTO role_rule (roleid, name, value_int, value_str) VALUES (3, 'api.method.0', 0, 'host.get')",
         HOST_GET_DENIED),
        ("UPDATE role_rule SET value_int = 0 WHERE roleid = 3 AND name = 'api.access'", HOST_GET_DENIED),
    ],
)
async def test_a_cached_token_sees_a_change_by_another_connection_within_the_poll(
        short_poll: None, client: Any, rpc: Any, token: str, sql: str, expected: tuple[int, str, str]) -> None:
    result_of(await host_get(rpc, token))
    behind_the_servers_back(client, sql)
    await asyncio.sleep(auth.GENERATION_POLL)
    assert error_of(await host_get(rpc, token)) == expected


@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM sessions WHERE userid = 1",  # what `rpcserver passwd` does
        "UPDATE sessions SET status = 1",
        "INSERT INTO users_groups (usrgrpid, userid) VALUES (9, 1)",
        "UPDATE users SET roleid = NULL WHERE userid = 1",
    ],
)
async def test_a_cached_session_sees_a_change_by_another_connection_within_the_poll(
        short_poll: None, client: Any, rpc: Any, admin: str, sql: str) -> None:
    result_of(await host_get(rpc, admin))
    behind_the_servers_back(client, sql)
    await asyncio.sleep(auth.GENERATION_POLL)
    assert error_of(await host_get(rpc, admin)) == TERMINATED
    assert error_of(await host_get(rpc, admin)) == TERMINATED


async def test_a_cached_token_still_expires_on_time(call: Any, rpc: Any, admin: str, clock: FakeClock) -> None:
    tokenid = (await call("token.create", {"name": "short", "expires_at": int(clock.now) + 100}, auth=admin))["tokenids"][0]
    (generated,) = await call("token.generate", [tokenid], auth=admin)
    result_of(await host_get(rpc, generated["token"]))
    clock.advance(100)
    result_of(await host_get(rpc, generated["token"]))  # expires_at itself is still valid
    clock.advance(1)
    assert error_of(await host_get(rpc, generated["token"])) == TOKEN_EXPIRED


async def test_a_cached_session_still_times_out(client: Any, rpc: Any, login: Any, clock: FakeClock) -> None:
    await storage_of(client).write(lambda c: c.execute("UPDATE users SET autologout = '15m' WHERE userid = 1"))
    session = await login("Admin", "zabbix")
    result_of(await host_get(rpc, session))
    clock.advance(15 * 60 + 1)
    assert error_of(await host_get(rpc, session)) == TERMINATED


async def test_logout_ends_a_cached_session(rpc: Any, call: Any, admin: str) -> None:
    result_of(await host_get(rpc, admin))
    assert await call("user.logout", [], auth=admin) is True
    assert error_of(await host_get(rpc, admin)) == TERMINATED


async def test_only_the_most_recent_credentials_are_kept(monkeypatch: Any, rpc: Any, login: Any,
                                                         resolutions: list[str]) -> None:
    monkeypatch.setattr(auth, "MAX_CACHED", 2)
    first, second, third = [await login("Admin", "zabbix") for _ in range(3)]
    for session in (first, second, first, third, second, third):
        result_of(await host_get(rpc, session))
    # `first` was used more recently than `second` when `third` came, so `second` was forgotten
    assert resolutions == [first, second, third, second]


async def test_a_change_made_through_this_server_is_seen_by_the_next_call(
        call: Any, rpc: Any, admin: str, token: str, resolutions: list[str]) -> None:
    result_of(await host_get(rpc, token))
    tokenid = (await call("token.get", {"output": ["tokenid"], "filter": {"name": "cached"}}, auth=admin))[0]["tokenid"]
    await call("token.delete", [tokenid], auth=admin)
    assert error_of(await host_get(rpc, token)) == NOT_AUTHORIZED
    assert resolutions[-1] == token  # not the cached caller: resolved again, and refused


async def test_a_change_through_one_server_is_seen_by_another_within_the_poll(
        short_poll: None, make_client: Any, call: Any, admin: str) -> None:
    other = await make_client()  # a second app, its own Storage, over the same database
    other_host_get = lambda: other.post(  # noqa: E731
        "/api_jsonrpc", json={"jsonrpc": "2.0", "method": "host.get", "params": {"countOutput": True}, "id": 1},
        headers={"Authorization": f"Bearer {admin}"})
    result_of(await (await other_host_get()).json())  # cached there now
    assert await call("user.logout", [], auth=admin) is True
    await asyncio.sleep(auth.GENERATION_POLL)
    assert error_of(await (await other_host_get()).json()) == TERMINATED


@pytest.mark.parametrize(
    ("sql", "bumps"),
    [
        ("UPDATE users SET autologout = '1h' WHERE userid = 1", True),
        ("UPDATE users SET attempt_failed = 1 WHERE userid = 1", False),  # not what a caller is built from
        ("UPDATE usrgrp SET users_status = 0 WHERE usrgrpid = 9", True),
        ("INSERT INTO users_groups (usrgrpid, userid) VALUES (9, 1)", True),
        ("UPDATE role SET type = 3 WHERE roleid = 3", True),
        ("UPDATE role_rule SET value_int = 1 WHERE roleid = 3", True),
        ("INSERT INTO rights (groupid, permission, id) SELECT g.usrgrpid, 2, h.groupid FROM usrgrp g, hstgrp h LIMIT 1", True),
        ("UPDATE sessions SET status = 1", True),
        ("UPDATE sessions SET lastaccess = lastaccess + 10", False),  # every few seconds of use
        ("DELETE FROM sessions", True),
        ("UPDATE token SET expires_at = 1", True),
        ("UPDATE token SET lastaccess = lastaccess + 10", False),
        ("DELETE FROM token", True),
    ],
)
async def test_the_generation_moves_with_what_callers_are_built_from(client: Any, admin: str, token: str,
                                                                     sql: str, bumps: bool) -> None:
    storage = storage_of(client)
    before = await storage.read(credentials.generation)
    behind_the_servers_back(client, sql)
    after = await storage.read(credentials.generation)
    assert after > before if bumps else after == before


async def test_an_unreadable_generation_trusts_nothing_cached(client: Any, rpc: Any, admin: str,
                                                              resolutions: list[str]) -> None:
    result_of(await host_get(rpc, admin))
    storage_of(client).saw_credentials_generation(None)  # what a failed read of it leaves
    result_of(await host_get(rpc, admin))
    assert resolutions == [admin, admin]


def test_two_server_processes_over_one_database_see_a_logout_within_a_second(db: Any, tmp_path: Any) -> None:
    env = {"RPCSERVER_DB": str(db), "RPCSERVER_ADMIN_PASSWORD": "zabbix", "RPCSERVER_PASSWORD_COST": "4"}

    def rpc_to(server: Any, method: str, params: Any, session: str | None = None) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {session}"} if session else {}
        body = {"jsonrpc": "2.0", "method": method, "params": params, "id": 1}
        answer: dict[str, Any] = requests.post(f"{server.url}/api_jsonrpc", json=body, headers=headers, timeout=10).json()
        return answer

    with running_server(tmp_path, env=env) as first, running_server(tmp_path, env=env) as second:
        session = result_of(rpc_to(first, "user.login", {"username": "Admin", "password": "zabbix"}))
        result_of(rpc_to(second, "host.get", {"countOutput": True}, session))  # the caller is cached there now
        assert result_of(rpc_to(first, "user.logout", [], session)) is True
        logged_out = time.monotonic()
        while "result" in rpc_to(second, "host.get", {"countOutput": True}, session):
            assert time.monotonic() - logged_out < 1.0, "the second server still lets the ended session in after 1 s"
            time.sleep(0.02)
        assert error_of(rpc_to(second, "host.get", {"countOutput": True}, session)) == TERMINATED
