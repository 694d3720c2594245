"""Webhook deliveries across real server processes (tests/server_process.py) on one database: a
pending delivery survives a SIGKILL, another process takes the delivering over, and a restarted
server delivers what was pending.

A killed holder's lease is run out in the database (`run_out`) rather than waited for: the others
take over at their next poll once it has, whenever that is (webhooks.LEASE_SECONDS, 6 s: twice per
test and store); tests/test_webhook_delivery.py holds the lease's own rules."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
from pathlib import Path
from typing import Any

import aiohttp
import psycopg
import pytest

from rpcserver.storage import is_postgresql_url

from .server_process import ServerProcess, running_server
from .webhook_receiver import WAIT, Receiver, start_receiver

ENV = {"RPCSERVER_ADMIN_PASSWORD": "crash-admin", "RPCSERVER_PASSWORD_COST": "4"}
DELIVERING = "delivering webhooks from this process"


@pytest.fixture
async def receiver(aiohttp_server: Any) -> Receiver:
    return await start_receiver(aiohttp_server)


async def rpc(server: ServerProcess, method: str, params: Any, session: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {session}"} if session else {}
    async with aiohttp.ClientSession() as http:
        body = {"jsonrpc": "2.0", "method": method, "params": params, "id": 1}
        async with http.post(f"{server.url}/api_jsonrpc", json=body, headers=headers) as response:
            answer = await response.json()
    assert "result" in answer, answer
    return answer["result"]


async def acknowledge_while_failing(server: ServerProcess, receiver: Receiver, session: str, name: str) -> str:
    """A new problem acknowledged while the receiver fails: its delivery is attempted, and pending."""
    receiver.statuses["/a"] = [503] * 1000
    [eventid] = (await rpc(server, "event.create", {"host": "crash-01", "name": name}, session))["eventids"]
    before = len(receiver.at("/a"))
    await rpc(server, "event.acknowledge", {"eventids": eventid, "action": 4, "message": name}, session)
    await receiver.wait("/a", before + 1, answered=False)
    return str(eventid)


def run_out(db: Any) -> None:
    """The delivering lease, as it is once its killed holder's time is up."""
    sql = "UPDATE webhook_lease SET expires_ms = 0"
    if is_postgresql_url(db):
        with psycopg.connect(str(db), autocommit=True) as conn:
            assert conn.execute(sql).rowcount == 1
    else:
        with sqlite3.connect(db, timeout=10) as conn:
            assert conn.execute(sql).rowcount == 1
        conn.close()


async def delivered(receiver: Receiver, message: str) -> list[str]:
    """The delivery ids of `message`'s attempts, once one was answered 200 (the receiver recovered)."""
    receiver.statuses["/a"] = []

    async def answered() -> None:
        while not any(one.json["message"] == message for one in receiver.at("/a", answered=True)):
            receiver.arrived.clear()
            await receiver.arrived.wait()

    await asyncio.wait_for(answered(), WAIT)
    return [one.headers["X-Rpcserver-Delivery"] for one in receiver.at("/a") if one.json["message"] == message]


async def test_pending_deliveries_survive_sigkill_takeover_and_restart(db: Any, tmp_path: Path, receiver: Receiver) -> None:
    args = ("--db", str(db))
    with running_server(tmp_path, *args, env=ENV) as first, running_server(tmp_path, *args, env=ENV) as second:
        session = await rpc(first, "user.login", {"username": "Admin", "password": ENV["RPCSERVER_ADMIN_PASSWORD"]})
        await rpc(first, "webhook.create", {"url": receiver.url + "/a"}, session)
        await acknowledge_while_failing(first, receiver, session, "taken over")
        [holder] = [server for server in (first, second) if DELIVERING in server.log()]
        survivor = second if holder is first else first
        holder.stop(signal.SIGKILL)
        run_out(db)
        ids = await delivered(receiver, "taken over")
        assert len(set(ids)) == 1  # the same delivery, attempted by one process, then by the other
        assert DELIVERING in survivor.log()
        await acknowledge_while_failing(survivor, receiver, session, "restarted")
        survivor.stop(signal.SIGKILL)
    run_out(db)
    with running_server(tmp_path, *args, env=ENV):
        ids = await delivered(receiver, "restarted")
        assert len(set(ids)) == 1
