"""What a new database starts with: Admin's password rule, and the --demo data (API.md §6)."""

from __future__ import annotations

import io
import sqlite3
from dataclasses import replace
from typing import Any

from rpcserver.bootstrap import bootstrap
from rpcserver.config import Config
from rpcserver.passwords import verify_password_sync
from rpcserver.storage import Storage, users

from .conftest import result_of, storage_of


async def admin_hash(config: Config, **settings: Any) -> tuple[str, str]:
    storage = await Storage.open(config.db)
    stderr = io.StringIO()
    try:
        await bootstrap(storage, replace(config, **settings), 1_700_000_000, stderr=stderr)
        passwd = await storage.read(lambda c: c.execute("SELECT passwd FROM users WHERE username = 'Admin'").fetchone()[0])
    finally:
        await storage.close()
    return passwd, stderr.getvalue()


async def test_admin_password_from_the_environment(config: Config) -> None:
    passwd, printed = await admin_hash(config, admin_password="from-env-1")
    assert verify_password_sync("from-env-1", passwd) and printed == ""


async def test_admin_password_is_zabbix_with_demo(config: Config) -> None:
    passwd, printed = await admin_hash(config, admin_password=None, demo=True)
    assert verify_password_sync("zabbix", passwd) and printed == ""


async def test_otherwise_a_random_admin_password_is_printed_once(config: Config) -> None:
    passwd, printed = await admin_hash(config, admin_password=None)
    assert printed.startswith("Admin password: ")
    generated = printed.removeprefix("Admin password: ").strip()
    assert len(generated) >= 12 and verify_password_sync(generated, passwd)
    again, printed_again = await admin_hash(config, admin_password=None)
    assert again == passwd and printed_again == ""  # only a new database gets one


async def test_servers_starting_together_make_one_admin(config: Config) -> None:
    # Both saw a database without users; the second to write finds the Admin made and prints nothing.
    first, second = await Storage.open(config.db), await Storage.open(config.db)
    try:
        made = [await storage.write(users.create_admin, "hash") for storage in (first, second)]
        admins = await first.read(lambda c: c.execute("SELECT userid FROM users WHERE username = 'Admin'").fetchall())
    finally:
        await first.close()
        await second.close()
    assert made == [True, False]
    assert [userid for (userid,) in admins] == [1]


async def test_servers_starting_together_load_the_demo_data_once(config: Config) -> None:
    # Both read the database empty before either wrote; the second to write finds the demo data loaded.
    from rpcserver.storage import demo

    await admin_hash(config)
    first, second = await Storage.open(config.db), await Storage.open(config.db)
    try:
        assert [await storage.read(demo.is_empty) for storage in (first, second)] == [True, True]
        loaded = [await storage.write(demo.load, 1_700_000_000, "hash", "hash") for storage in (first, second)]
        count = await second.read(lambda c: c.execute("SELECT count(*) FROM problem").fetchone()[0])
    finally:
        await first.close()
        await second.close()
    assert loaded == [True, False]
    assert count == len(demo.PROBLEMS)


async def test_demo_data(make_client: Any) -> None:
    client = await make_client(demo=True)
    storage = storage_of(client)

    def facts(conn: sqlite3.Connection) -> dict[str, Any]:
        one = lambda sql: conn.execute(sql).fetchall()  # noqa: E731
        return {
            "severities": {row[0] for row in one("SELECT severity FROM problem WHERE r_eventid IS NULL")},
            "manual_close": {row[0] for row in one("SELECT manual_close FROM triggers")},
            "resolved": one("SELECT count(*) FROM problem WHERE r_eventid IS NOT NULL")[0][0],
            "hosts": one("SELECT count(*) FROM hosts")[0][0],
            "users": {row[0] for row in one("SELECT username FROM users")},
        }

    loaded = await storage.read(facts)
    assert loaded["severities"] == {0, 1, 2, 3, 4, 5}
    assert loaded["manual_close"] == {0, 1}
    assert loaded["resolved"] >= 1 and loaded["hosts"] >= 3
    assert loaded["users"] == {"Admin", "operator", "viewer"}
    for username in ("operator", "viewer"):
        login = {"jsonrpc": "2.0", "method": "user.login", "params": {"username": username, "password": username}, "id": 1}
        response = await client.post("/api_jsonrpc", json=login)
        assert len(result_of(await response.json())) == 32


async def test_demo_data_is_loaded_only_into_an_empty_database(config: Config) -> None:
    for _ in range(2):
        storage = await Storage.open(config.db)
        try:
            await bootstrap(storage, replace(config, demo=True), 1_700_000_000)
            count = await storage.read(lambda c: c.execute("SELECT count(*) FROM problem").fetchone()[0])
        finally:
            await storage.close()
    from rpcserver.storage.demo import PROBLEMS

    assert count == len(PROBLEMS)
