"""Concurrency through the endpoint: clients racing on one event leave one consistent history, and
readers running among writers see each call whole or not at all."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import pytest

from ..conftest import result_of, storage_of

PASSWORD = "operator-password"
OPERATORS = 6
ACK, MESSAGE, SEVERITY, UNACK = 2, 4, 8, 16


@pytest.fixture
async def world(call: Any, admin: str, login: Any) -> dict[str, Any]:
    """Twenty problems in group "Racing"; operators with read-write on it, two sessions each."""
    eventids = (await call("event.create", [{"host": "race-01", "name": f"problem {n}", "groups": ["Racing"], "severity": 1}
                                            for n in range(20)], auth=admin))["eventids"]
    group = (await call("hostgroup.get", {"output": ["groupid"], "filter": {"name": "Racing"}}, auth=admin))[0]["groupid"]
    usrgrpid = (await call("usergroup.create", {"name": "operators", "hostgroup_rights": [{"id": group, "permission": 3}]},
                           auth=admin))["usrgrpids"][0]
    sessions = [admin]
    for n in range(OPERATORS):
        await call("user.create", {"username": f"op{n}", "passwd": PASSWORD, "roleid": "1", "usrgrps": [{"usrgrpid": usrgrpid}]},
                   auth=admin)
        sessions += [await login(f"op{n}", PASSWORD), await login(f"op{n}", PASSWORD)]
    return {"eventids": eventids, "sessions": sessions, "admin": admin}


def history_of(eventid: int) -> Any:
    def read(conn: sqlite3.Connection) -> tuple[list[int], int]:
        actions = [row[0] for row in conn.execute("SELECT action FROM acknowledges WHERE eventid = ? ORDER BY acknowledgeid", (eventid,))]
        unrecorded = conn.execute("SELECT EXISTS (SELECT 1 FROM acknowledgement WHERE eventid = ? AND end_recorded = 0)",
                                  (eventid,)).fetchone()[0]
        return actions, unrecorded

    return read


async def test_many_clients_acknowledging_one_event_leave_one_history_row(rpc: Any, client: Any, world: dict[str, Any]) -> None:
    eventid = world["eventids"][0]
    calls = [rpc("event.acknowledge", {"eventids": eventid, "action": ACK}, headers={"Authorization": f"Bearer {session}"})
             for session in world["sessions"] * 4]
    answers = await asyncio.gather(*calls)
    assert [result_of(answer) for answer in answers] == [{"eventids": [eventid]}] * len(calls)
    actions, unrecorded = await storage_of(client).read(history_of(eventid))
    assert [action for action in actions if action & ACK] == [ACK]
    assert unrecorded == 1
    shown = await rpc("event.get", {"eventids": eventid, "output": ["acknowledged"]}, headers={"Authorization": f"Bearer {world['admin']}"})
    assert result_of(shown) == [{"acknowledged": "1"}]


async def test_racing_acknowledge_and_unacknowledge_keep_history_and_spans_consistent(rpc: Any, client: Any, world: dict[str, Any]) -> None:
    eventid = world["eventids"][1]
    sessions = world["sessions"]
    calls = [rpc("event.acknowledge", {"eventids": eventid, "action": ACK if n % 3 else UNACK},
                 headers={"Authorization": f"Bearer {sessions[n % len(sessions)]}"}) for n in range(60)]
    for answer in await asyncio.gather(*calls):
        result_of(answer)
    actions, unrecorded = await storage_of(client).read(history_of(eventid))
    effective = [action & (ACK | UNACK) for action in actions]
    assert effective, "nothing was acknowledged"
    # Each row changed the state: acknowledge and unacknowledge alternate, starting with acknowledge.
    assert effective == [ACK if n % 2 == 0 else UNACK for n in range(len(effective))]
    expected = 1 if effective[-1] == ACK else 0
    assert unrecorded == expected


async def test_readers_among_writers_see_every_call_whole(rpc: Any, client: Any, world: dict[str, Any]) -> None:
    """Each write acknowledges all twenty problems at once with a message and a severity; every
    read, of either method, must find the twenty alike."""
    eventids = world["eventids"]
    admin = {"Authorization": f"Bearer {world['admin']}"}
    writes = 30
    writers_done = asyncio.Event()
    reads: list[int] = []

    async def write(n: int) -> None:
        params = {"eventids": eventids, "action": MESSAGE | SEVERITY | (ACK if n % 2 == 0 else UNACK),
                  "message": f"call {n}", "severity": n % 6}
        session = world["sessions"][n % len(world["sessions"])]
        result_of(await rpc("event.acknowledge", params, headers={"Authorization": f"Bearer {session}"}))

    async def writers() -> None:
        await asyncio.gather(*(write(n) for n in range(writes)))
        writers_done.set()

    async def reader(method: str) -> None:
        params = {"eventids": eventids, "output": ["eventid", "severity", "acknowledged"],
                  "selectAcknowledges": ["message", "new_severity"]}
        while not writers_done.is_set() or len(reads) < 5:
            events = result_of(await rpc(method, params, headers=admin))
            assert len(events) == len(eventids)
            views = {(event["severity"], event["acknowledged"],
                      tuple(sorted((row["message"], row["new_severity"]) for row in event["acknowledges"]))) for event in events}
            assert len(views) == 1, f"{method} saw part of a call: {views}"
            reads.append(len(events[0]["acknowledges"]))

    await asyncio.gather(writers(), reader("event.get"), reader("problem.get"), reader("event.get"))
    assert any(0 < count < writes for count in reads), f"no read ran among the writes: {sorted(set(reads))}"
    final = result_of(await rpc("event.get", {"eventids": eventids, "output": ["eventid"], "selectAcknowledges": "count"}, headers=admin))
    assert {event["acknowledges"] for event in final} == {str(writes)}
