"""Durability under a crash: concurrent clients acknowledge with unique messages, the server is
killed with SIGKILL while they do, and the server restarted on the same database must hold every
acknowledgement it answered with success."""

from __future__ import annotations

import asyncio
import itertools
import signal
from pathlib import Path
from typing import Any

import aiohttp

from ..server_process import ServerProcess, running_server

ENV = {"RPCSERVER_ADMIN_PASSWORD": "crash-admin", "RPCSERVER_PASSWORD_COST": "4"}
CLIENTS = 16
KILL_AFTER = 300
"""Successful answers before the kill: enough that plenty of calls are in flight when it lands."""
DEADLINE = 60.0


async def rpc(http: aiohttp.ClientSession, server: ServerProcess, method: str, params: Any, session: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {session}"} if session else {}
    body = {"jsonrpc": "2.0", "method": method, "params": params, "id": 1}
    async with http.post(f"{server.url}/api_jsonrpc", json=body, headers=headers) as response:
        answer = await response.json()
    assert "result" in answer, answer
    return answer["result"]


async def prepare(server: ServerProcess) -> tuple[str, list[int]]:
    async with aiohttp.ClientSession() as http:
        session = await rpc(http, server, "user.login", {"username": "Admin", "password": ENV["RPCSERVER_ADMIN_PASSWORD"]})
        problems = [{"host": "crash-01", "name": f"problem {n}", "groups": ["Crash"]} for n in range(8)]
        eventids = (await rpc(http, server, "event.create", problems, session))["eventids"]
    return session, eventids


async def load_then_kill(server: ServerProcess, session: str, eventids: list[int]) -> tuple[set[str], set[str]]:
    """Clients acknowledge until the server dies under them. Returns (sent, answered): the
    messages sent, and those answered with success."""
    sent: set[str] = set()
    answered: set[str] = set()

    async def client(n: int, http: aiohttp.ClientSession) -> None:
        for seq in itertools.count():
            message = f"client {n} call {seq}"
            sent.add(message)
            params = {"eventids": eventids[(n + seq) % len(eventids)], "action": 4, "message": message}
            try:
                await rpc(http, server, "event.acknowledge", params, session)
            except (aiohttp.ClientError, TimeoutError):
                return  # the server is gone: this call's fate is unknown, and it may be either
            answered.add(message)
            if len(answered) == KILL_AFTER:
                server.process.send_signal(signal.SIGKILL)

    timeout = aiohttp.ClientTimeout(total=DEADLINE)
    async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=CLIENTS)) as http:
        await asyncio.wait_for(asyncio.gather(*(client(n, http) for n in range(CLIENTS))), DEADLINE)
    assert server.process.wait(10) == -signal.SIGKILL
    return sent, answered


async def stored_messages(server: ServerProcess, session: str, eventids: list[int]) -> list[str]:
    async with aiohttp.ClientSession() as http:
        events = await rpc(http, server, "event.get", {"eventids": eventids, "output": ["eventid"],
                                                       "selectAcknowledges": ["message"]}, session)
    return [row["message"] for event in events for row in event["acknowledges"]]


async def test_every_answered_acknowledgement_survives_sigkill(tmp_path: Path) -> None:
    db = str(tmp_path / "crash.db")
    with running_server(tmp_path, "--db", db, env=ENV) as server:
        session, eventids = await prepare(server)
        sent, answered = await load_then_kill(server, session, eventids)
    with running_server(tmp_path, "--db", db, env=ENV) as restarted:
        stored = await stored_messages(restarted, session, eventids)
        assert restarted.stop() == 0

    lost = answered - set(stored)
    in_flight = sent - answered
    print(f"\nsent {len(sent)}, answered {len(answered)}, stored {len(stored)}, "
          f"in flight at the kill {len(in_flight)} (of which stored {len(in_flight & set(stored))}), lost {len(lost)}")
    assert not lost, f"{len(lost)} answered acknowledgements were lost, e.g. {sorted(lost)[:5]}"
    assert len(stored) == len(set(stored)), "an acknowledgement was stored twice"
    assert set(stored) <= sent, "stored a message nobody sent"
    assert len(answered) >= KILL_AFTER
    assert in_flight, "no call was in flight when the server was killed"
