"""The credential cache (auth.Callers): a caller is resolved once and reused, and every change to
what it was built from, however it was made, is seen by the very next call."""

from __future__ import annotations

import sqlite3
from typing import Any

import psycopg
import pytest

from rpcserver import auth
from rpcserver.storage import credentials, is_postgresql_url
from rpcserver.storage.engine import SQLITE

from .conftest import FakeClock, error_of, result_of, storage_of

INLINE_READER_ONLY = pytest.mark.sqlite_only(
    "counts the resolutions the cache saves: a cached caller is reused only where the store has an InlineReader"
    " (SQLite's file); on PostgreSQL every call is resolved on a reader connection"
)
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


@INLINE_READER_ONLY
async def test_a_session_is_resolved_once_then_reused(rpc: Any, admin: str, clock: FakeClock, resolutions: list[str]) -> None:
    for _ in range(4):
        result_of(await host_get(rpc, admin))
        clock.advance(2)
    assert resolutions == [admin]


@INLINE_READER_ONLY
async def test_a_token_is_resolved_once_then_reused(rpc: Any, token: str, resolutions: list[str]) -> None:
    for _ in range(4):
        result_of(await host_get(rpc, token))
    assert resolutions == [token]


@INLINE_READER_ONLY
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
async def test_a_cached_token_sees_every_change_at_once(client: Any, rpc: Any, token: str, sql: str,
                                                        expected: tuple[int, str, str]) -> None:
    result_of(await host_get(rpc, token))
    behind_the_servers_back(client, sql)
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
async def test_a_cached_session_sees_every_change_at_once(client: Any, rpc: Any, admin: str, sql: str) -> None:
    result_of(await host_get(rpc, admin))
    behind_the_servers_back(client, sql)
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


@INLINE_READER_ONLY
async def test_only_the_most_recent_credentials_are_kept(monkeypatch: Any, rpc: Any, login: Any,
                                                         resolutions: list[str]) -> None:
    monkeypatch.setattr(auth, "MAX_CACHED", 2)
    first, second, third = [await login("Admin", "zabbix") for _ in range(3)]
    for session in (first, second, first, third, second, third):
        result_of(await host_get(rpc, session))
    # `first` was used more recently than `second` when `third` came, so `second` was forgotten
    assert resolutions == [first, second, third, second]


@pytest.mark.parametrize("path", [":memory:", "", "/nonexistent-folder/rpcserver.db"])
def test_without_a_readable_file_the_ordinary_way_is_taken(path: str) -> None:
    reader = credentials.InlineReader(path)
    assert reader.stamp(credentials.SESSION_STAMP[SQLITE], "x") is None
    reader.close()
