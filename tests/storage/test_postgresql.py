"""What only the PostgreSQL backend has: URLs, refusals at start-up, a lost and recovered database."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import orjson
import psycopg
import pytest

from rpcserver.app import create_app
from rpcserver.config import Config
from rpcserver.storage import Storage, StorageOpenError, describe
from rpcserver.storage._writer import UNREACHABLE
from rpcserver.storage.postgresql import translate

from ..stores import MAINTENANCE_URL, Postgres, url_of


def test_describe_hides_the_password() -> None:
    assert describe("postgresql://rpc:s3cret@db:5432/x?sslmode=require") == "postgresql://rpc:***@db:5432/x?sslmode=require"
    assert describe("postgres://db/x") == "postgres://db/x"
    assert describe("./rpcserver.db") == "./rpcserver.db"


def test_placeholders_become_psycopgs_and_quoted_text_stays() -> None:
    assert translate("SELECT a FROM t WHERE b = ? AND c = :name AND d LIKE '%x:y?%' AND e::text = :e") == (
        "SELECT a FROM t WHERE b = %s AND c = %(name)s AND d LIKE '%%x:y?%%' AND e::text = %(e)s")


def serve(*args: str, db: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rpcserver", "serve", "--port", "0", "--db", db, *args],
                          capture_output=True, text=True, timeout=60)


def test_another_programs_database_is_refused_untouched(postgres: Postgres) -> None:
    with postgres.database(empty=True) as url:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE orders (id int)")
        refused = serve(db=url)
        assert refused.returncode == 2
        assert refused.stderr.strip().splitlines() == [
            f"rpcserver: error: cannot use database {url}: it is a PostgreSQL database of another program; "
            "give rpcserver an empty database"]
        with psycopg.connect(url) as conn:
            tables = conn.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'").fetchall()
        assert tables == [("orders",)]


async def test_a_newer_schema_is_refused(postgres: Postgres) -> None:
    with postgres.database() as url:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("UPDATE rpcserver_schema SET version = version + 1")
            version = conn.execute("SELECT version FROM rpcserver_schema").fetchone()[0]
        with pytest.raises(StorageOpenError) as refused:
            await Storage.open(url)
        assert str(refused.value) == (f"cannot use database {url}: it has schema version {version}, newer than this "
                                      f"rpcserver knows (up to {version - 1}); upgrade rpcserver or use another database")


def test_a_password_in_the_url_is_never_printed(postgres: Postgres) -> None:
    with postgres.database(empty=True) as url:
        with_password = url.replace("://root@", "://root:hunter2-secret@")
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE orders (id int)")  # refused: the error line names the database
        refused = serve(db=with_password)
        assert refused.returncode == 2
        assert "hunter2-secret" not in refused.stderr + refused.stdout
        assert "root:***@" in refused.stderr


def test_an_unreachable_server_is_one_line() -> None:
    refused = serve(db="postgresql://root@127.0.0.1:1/none")
    assert refused.returncode == 2
    assert len(refused.stderr.strip().splitlines()) == 1
    assert refused.stderr.startswith("rpcserver: error: cannot use database postgresql://root@127.0.0.1:1/none: cannot connect")


def set_connections(database: str, allowed: bool) -> None:
    with psycopg.connect(MAINTENANCE_URL, autocommit=True) as conn:
        conn.execute(f"ALTER DATABASE {database} ALLOW_CONNECTIONS {'true' if allowed else 'false'}")
        if not allowed:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (database,))


async def test_a_lost_database_answers_clearly_and_the_server_recovers(postgres: Postgres, aiohttp_client: Any) -> None:
    name = postgres.new_database()
    try:
        client = await aiohttp_client(create_app(Config(db=url_of(name), port=0, admin_password="zabbix", password_cost=4)))

        async def call(method: str, params: Any, auth: str | None = None) -> Any:
            headers = {"Content-Type": "application/json-rpc", **({"Authorization": f"Bearer {auth}"} if auth else {})}
            body = orjson.dumps({"jsonrpc": "2.0", "method": method, "params": params, "id": 1})
            return orjson.loads(await (await client.post("/api_jsonrpc", data=body, headers=headers)).read())

        session = (await call("user.login", {"username": "Admin", "password": "zabbix"}))["result"]
        created = await call("event.create", [{"host": "db-01", "name": "disk full"}], session)
        assert "result" in created, created
        assert (await client.get("/healthz")).status == 200

        set_connections(name, False)
        lost = {"code": -32500, "message": "Application error.", "data": UNREACHABLE}
        assert (await call("event.create", [{"host": "db-01", "name": "while lost"}], session)).get("error") == lost
        assert (await call("user.login", {"username": "Admin", "password": "zabbix"})).get("error") == lost
        health = await client.get("/healthz")
        assert (health.status, await health.json()) == (503, {"status": "unavailable"})

        set_connections(name, True)
        assert (await client.get("/healthz")).status == 200
        names = await call("event.get", {"output": ["name"]}, session)
        assert names.get("result") == [{"name": "disk full"}], names  # nothing half-applied while it was lost
        assert "result" in await call("event.create", [{"host": "db-01", "name": "after"}], session)
        await client.close()
    finally:
        set_connections(name, True)
        postgres.drop(name)


async def test_a_deadlock_is_retried_inside_and_never_reaches_the_caller(postgres: Postgres) -> None:
    with postgres.database() as url:
        storage = await Storage.open(url, readers=0)
        attempts = []

        def unit(db: Any) -> int:
            attempts.append(1)
            db.execute("INSERT INTO hstgrp (name) VALUES (?)", (f"try {len(attempts)}",))
            if len(attempts) == 1:  # as PostgreSQL ends one of two transactions that wait for each other
                raise psycopg.errors.DeadlockDetected("deadlock detected")
            return int(db.execute("SELECT count(*) FROM hstgrp WHERE name LIKE 'try %'").fetchone()[0])

        try:
            assert await storage.write(unit) == 1  # the first attempt's row was rolled back with it
            assert len(attempts) == 2
        finally:
            await storage.close()


async def test_the_server_warns_as_it_starts_where_autovacuum_is_off_and_only_there(
    postgres: Postgres, aiohttp_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with postgres.database() as url, psycopg.connect(url, autocommit=True) as conn:
        off = conn.execute("SELECT current_setting('autovacuum') = 'off'").fetchone() == (True,)
        storage = await Storage.open(url)
        await storage.close()
        assert len(storage.warnings) == off  # the machines here run it off; elsewhere, on
        await aiohttp_client(create_app(Config(db=url, port=0, admin_password="zabbix", password_cost=4)))
    warned = [record for record in caplog.records if "autovacuum is off" in record.getMessage()]
    assert len(warned) == off
    if off:
        assert warned[0].levelname == "WARNING" and warned[0].getMessage() == storage.warnings[0]
        assert describe(url) in storage.warnings[0] and "ANALYZE" in storage.warnings[0]  # which database, without a password
