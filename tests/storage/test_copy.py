"""`rpcserver copy`: SQLite to PostgreSQL and back, ids kept, every row the same, reads the same."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from rpcserver.app import create_app
from rpcserver.bootstrap import bootstrap
from rpcserver.config import Config
from rpcserver.demo import load_demo
from rpcserver.storage import Storage
from rpcserver.storage.copy import TABLES, CopyRefused, copy

from ..stores import Postgres

NOW = 1_700_000_000


async def demo_database(path: Path) -> None:
    """A database with something in every kind of table: the demo data, then history and spans."""
    config = Config(db=path, demo=True, password_cost=4)
    storage = await Storage.open(path)
    try:
        await bootstrap(storage, config, NOW)
        await load_demo(storage, config, NOW)
    finally:
        await storage.close()


def all_rows(db: Any) -> dict[str, list[tuple[Any, ...]]]:
    return {table: [tuple(row) for row in db.execute(f"SELECT * FROM {table} ORDER BY 1, 2")] for table in TABLES}


async def rows_of(location: Any) -> dict[str, list[tuple[Any, ...]]]:
    storage = await Storage.open(location, readers=1)
    try:
        return await storage.read(all_rows)
    finally:
        await storage.close()


def rpcserver(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rpcserver", *args], capture_output=True, text=True, timeout=120)


async def test_a_copy_round_trips_through_postgresql_with_every_row_and_id(tmp_path: Path, postgres: Postgres) -> None:
    source, back = tmp_path / "source.db", tmp_path / "back.db"
    await demo_database(source)
    expected = await rows_of(source)
    with postgres.database(empty=True) as url:
        counts = await copy(source, url)
        assert counts == {table: len(rows) for table, rows in expected.items()}
        assert counts["events"] > 0 and counts["users"] == 3
        assert await rows_of(url) == expected
        assert await copy(url, back) == counts
    assert await rows_of(back) == expected


def test_the_command_prints_a_count_per_table(tmp_path: Path, postgres: Postgres) -> None:
    source = tmp_path / "source.db"
    asyncio.run(demo_database(source))
    with postgres.database(empty=True) as url:
        copied = rpcserver("copy", str(source), url)
    assert copied.returncode == 0, copied.stderr
    assert [line.split(": ")[0] for line in copied.stdout.splitlines()] == list(TABLES)
    assert "users: 3" in copied.stdout.splitlines()
    assert copied.stderr == f"copied {source} into {url}\n"


async def test_ids_go_on_after_the_copied_ones(tmp_path: Path, postgres: Postgres) -> None:
    source = tmp_path / "source.db"
    await demo_database(source)
    with postgres.database(empty=True) as url:
        await copy(source, url)
        storage = await Storage.open(url, readers=0)
        try:
            new_group = await storage.write(
                lambda db: db.execute("INSERT INTO hstgrp (name) VALUES ('new') RETURNING groupid").fetchone()[0])
        finally:
            await storage.close()
    with sqlite3.connect(source) as conn:
        assert new_group == conn.execute("SELECT max(groupid) FROM hstgrp").fetchone()[0] + 1


async def test_a_target_with_users_is_refused_untouched(tmp_path: Path, postgres: Postgres) -> None:
    source, target = tmp_path / "source.db", tmp_path / "target.db"
    await demo_database(source)
    await demo_database(target)
    before = target.read_bytes()
    refused = rpcserver("copy", str(source), str(target))
    assert (refused.returncode, refused.stdout) == (2, "")
    assert refused.stderr == "rpcserver: error: the target database is not empty (it has users or events); give an empty one\n"
    assert target.read_bytes() == before
    with pytest.raises(CopyRefused):
        await copy(source, target)
    assert target.read_bytes() == before


def test_a_missing_source_is_refused(tmp_path: Path) -> None:
    refused = rpcserver("copy", str(tmp_path / "none.db"), str(tmp_path / "target.db"))
    assert (refused.returncode, refused.stderr) == (2, f"rpcserver: error: cannot use database {tmp_path / 'none.db'}: there is no such file\n")
    assert not (tmp_path / "target.db").exists()


READS = [
    ("problem.get", {"output": "extend", "selectTags": "extend", "selectAcknowledges": "extend", "sortfield": ["eventid"]}),
    ("event.get", {"output": "extend", "selectHosts": ["host"], "sortfield": ["clock", "eventid"], "sortorder": "DESC"}),
    ("user.get", {"output": "extend", "selectUsrgrps": ["name"]}),
    ("hostgroup.get", {"output": "extend", "sortfield": "name"}),
    ("incident.get", {}),
]


async def answers(aiohttp_client: Any, db: Any) -> list[Any]:
    client = await aiohttp_client(create_app(Config(db=db, port=0, password_cost=4), clock=lambda: NOW + 60))
    headers = {"Content-Type": "application/json-rpc"}
    login = {"jsonrpc": "2.0", "method": "user.login", "params": {"username": "Admin", "password": "zabbix"}, "id": 1}
    session = orjson.loads(await (await client.post("/api_jsonrpc", data=orjson.dumps(login), headers=headers)).read())["result"]
    results = []
    for method, params in READS:
        body = orjson.dumps({"jsonrpc": "2.0", "method": method, "params": params, "id": 1})
        answer = await client.post("/api_jsonrpc", data=body, headers={**headers, "Authorization": f"Bearer {session}"})
        results.append(orjson.loads(await answer.read()))
    await client.close()
    return results


async def test_after_a_copy_every_read_answers_the_same(tmp_path: Path, postgres: Postgres, aiohttp_client: Any) -> None:
    source = tmp_path / "source.db"
    await demo_database(source)
    with postgres.database(empty=True) as url:
        await copy(source, url)
        on_postgresql = await answers(aiohttp_client, url)
    on_sqlite = await answers(aiohttp_client, source)
    assert all("result" in answer for answer in on_sqlite), on_sqlite
    assert on_postgresql == on_sqlite
