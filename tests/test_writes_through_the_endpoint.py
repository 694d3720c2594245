"""Writes through the real endpoint: each call atomic, batches member by member, group commit,
and every answered write still there after the database is reopened."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import orjson

from rpcserver.context import Context
from rpcserver.dispatch import ApiMethod
from rpcserver.errors import ApplicationError
from rpcserver.storage import Storage

from .conftest import OMIT, post, request, storage_of


def record(conn: sqlite3.Connection, text: str, now: int) -> int:
    conn.execute("CREATE TABLE IF NOT EXISTS record (id INTEGER PRIMARY KEY, text TEXT, clock INTEGER)")
    conn.execute("INSERT INTO record (text, clock) VALUES (?, ?)", (text, now))
    if text.startswith("refuse"):  # the call fails after it has written: its write must vanish
        raise ApplicationError(f'Refused "{text}".')
    return conn.execute("SELECT count(*) FROM record").fetchone()[0]


async def write(ctx: Context, params: Any) -> int:
    return await ctx.storage.write(record, params["text"], ctx.now)


WRITE = {"test.write": ApiMethod(write, open=True)}


def texts(conn: sqlite3.Connection) -> list[str]:
    return [row[0] for row in conn.execute("SELECT text FROM record ORDER BY id")]


async def test_a_failing_batch_member_leaves_the_others_effects(make_client: Any) -> None:
    client = await make_client(WRITE)
    body = [
        request("test.write", {"text": "first"}, id=1),
        request("test.write", {"text": "refuse me"}, id=2),
        request("test.write", {"text": "notified"}, id=OMIT),
        request("test.write", {"text": "refuse quietly"}, id=OMIT),
        request("test.write", {"text": "last"}, id=3),
    ]
    answers = orjson.loads(await (await post(client, body)).read())
    assert answers[0] == {"jsonrpc": "2.0", "result": 1, "id": 1}
    assert answers[1] == {"jsonrpc": "2.0", "error": {"code": -32500, "message": "Application error.", "data": 'Refused "refuse me".'}, "id": 2}
    assert answers[2] == {"jsonrpc": "2.0", "result": 3, "id": 3}  # sees the notification's write
    assert await storage_of(client).read(texts) == ["first", "notified", "last"]


async def test_concurrent_calls_share_commits_and_survive_a_reopen(make_client: Any, config: Any, clock: Any) -> None:
    client = await make_client(WRITE)
    stats = storage_of(client).stats
    units_before, commits_before = stats.units, stats.commits
    calls = 60
    responses = await asyncio.gather(*(post(client, request("test.write", {"text": f"call {i}"}, id=i)) for i in range(calls)))
    answered = [orjson.loads(await r.read()) for r in responses]
    assert all("result" in a for a in answered)
    assert stats.units - units_before == calls
    assert stats.commits - commits_before < calls, "concurrent calls should share transactions"
    await client.close()  # stops the app: closes the database

    reopened = await Storage.open(config.db)
    try:
        stored = await reopened.read(lambda c: c.execute("SELECT text, clock FROM record").fetchall())
    finally:
        await reopened.close()
    assert sorted(text for text, _ in stored) == sorted(f"call {i}" for i in range(calls))
    assert {clock_ for _, clock_ in stored} == {int(clock.now)}  # the injected clock reached the rows
