"""Expiry of acknowledgement spans without a client: ends unrecorded until the sweep, the sweep's
schedule, the task driven by a fake clock, and one real server process whose 2-second span expires on
its own (a smoke run: it asserts what is recorded, not how soon)."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Any

import requests

from rpcserver.domain.lifetime import SpanEnd
from rpcserver.expiry import MIN_SLEEP, POLL_SECONDS, Expiry
from rpcserver.storage import Storage
from rpcserver.storage.spans import open_spans, record_ends

from .conftest import FakeClock
from .server_process import running_server

NOW = 1_700_000_000


def _one_problem(conn: sqlite3.Connection) -> None:
    conn.execute("INSERT INTO users (userid, username) VALUES (1, 'Admin')")
    conn.execute("INSERT INTO hosts (hostid, host, name) VALUES (1, 'h', 'h')")
    conn.execute("INSERT INTO triggers (triggerid, hostid, description) VALUES (1, 1, 't')")
    conn.execute("INSERT INTO events (eventid, objectid, clock, value) VALUES (1, 1, 0, 1)")
    conn.execute("INSERT INTO problem (eventid, objectid, clock) VALUES (1, 1, 0)")


def _unrecorded_ends(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT count(*) FROM acknowledgement WHERE end_recorded = 0").fetchone()[0]


async def test_ends_are_recorded_by_the_sweep(tmp_path: Path) -> None:
    storage = await Storage.open(tmp_path / "db")
    try:
        await storage.write(_one_problem)
        await storage.write(open_spans, [1], 1, NOW, SpanEnd(NOW + 60), "")
        assert await storage.read(_unrecorded_ends) == 1
        assert await storage.write(record_ends, NOW + 59) == 0
        assert await storage.read(_unrecorded_ends) == 1  # past its end, until the sweep records it
        assert await storage.write(record_ends, NOW + 60) == 1
        assert await storage.read(_unrecorded_ends) == 0
        history = await storage.read(lambda c: c.execute("SELECT userid, eventid, clock, action FROM acknowledges").fetchall())
        assert history == [(1, 1, NOW + 60, 16)]
    finally:
        await storage.close()


async def test_the_task_sleeps_until_the_next_end_at_most_one_poll(tmp_path: Path) -> None:
    storage = await Storage.open(tmp_path / "db")
    try:
        expiry = Expiry(storage, FakeClock(NOW))
        assert expiry._delay(None) == POLL_SECONDS
        assert expiry._delay(NOW + 3600) == POLL_SECONDS
        assert expiry._delay(NOW) == MIN_SLEEP
        assert expiry._delay(NOW - 10) == MIN_SLEEP
        assert Expiry(storage, FakeClock(NOW + 0.75))._delay(NOW + 1) == 0.25
    finally:
        await storage.close()


async def test_the_task_records_an_end_once_the_clock_reaches_it(tmp_path: Path) -> None:
    storage = await Storage.open(tmp_path / "db")
    clock = FakeClock(NOW)
    expiry = Expiry(storage, clock, poll=MIN_SLEEP)  # the task wakes every few ms; only the fake clock says when
    try:
        await storage.write(_one_problem)
        await storage.write(open_spans, [1], 1, NOW, SpanEnd(NOW + 2), "")
        await expiry.start()
        for _ in range(20):  # many turns of the task, the clock standing still before the end
            await asyncio.sleep(MIN_SLEEP)
        assert await storage.read(_unrecorded_ends) == 1
        clock.advance(2)
        for _ in range(1000):  # a bound on the wait, not a timing assertion
            if await storage.read(_unrecorded_ends) == 0:
                break
            await asyncio.sleep(MIN_SLEEP)
        history = await storage.read(lambda c: c.execute("SELECT userid, eventid, clock, action FROM acknowledges").fetchall())
        assert history == [(1, 1, NOW + 2, 16)]
    finally:
        await expiry.stop()
        await storage.close()


def test_a_real_two_second_span_expires_on_its_own(tmp_path: Path) -> None:
    with running_server(tmp_path, "--demo") as server:
        url = f"{server.url}/api_jsonrpc"

        def call(method: str, params: Any, auth: str | None = None) -> Any:
            headers = {"Content-Type": "application/json-rpc", **({"Authorization": f"Bearer {auth}"} if auth else {})}
            answer = requests.post(url, json={"jsonrpc": "2.0", "method": method, "params": params, "id": 1},
                                   headers=headers, timeout=10).json()
            assert "result" in answer, answer
            return answer["result"]

        session = call("user.login", {"username": "operator", "password": "operator"})
        eventid = call("problem.get", {"output": ["eventid"], "acknowledged": False, "limit": 1}, session)[0]["eventid"]
        span = call("acknowledgement.create", {"eventid": eventid, "acknowledged_until": "2s"}, session)
        until = span["acknowledged_until"]
        assert span["active"] and until - span["acknowledged_on"] == 2
        assert call("event.get", {"eventids": eventid, "output": ["acknowledged"]}, session) == [{"acknowledged": "1"}]

        def expired_rows() -> list[dict[str, str]]:
            (event,) = call("event.get", {"eventids": eventid, "output": ["acknowledged"],
                                          "selectAcknowledges": ["action", "clock", "username"]}, session)
            return [row for row in event["acknowledges"] if row["action"] == "16"]

        while not (rows := expired_rows()):
            assert time.time() < until + 60, "no expiry row a minute after the end"  # a bound on the wait only
            time.sleep(0.05)
        assert rows == [{"action": "16", "clock": str(until), "username": "operator"}]
        assert call("event.get", {"eventids": eventid, "output": ["acknowledged"]}, session) == [{"acknowledged": "0"}]
        assert call("acknowledgement.get", {"eventids": eventid}, session)[0]["active"] is False
