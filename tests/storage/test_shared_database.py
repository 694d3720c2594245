"""Several servers over one PostgreSQL database (API.md §7): each instance here is a whole app with
its own connections and group-commit writer, so their transactions really run side by side."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from rpcserver import auth
from rpcserver.app import create_app
from rpcserver.config import Config

from ..conftest import ADMIN_PASSWORD, FakeClock
from ..stores import Postgres

ACK, CLOSE = 2, 1


class Instance:
    def __init__(self, client: Any) -> None:
        self.client = client

    async def rpc(self, method: str, params: Any, auth: str | None = None) -> Any:
        headers = {"Content-Type": "application/json-rpc", **({"Authorization": f"Bearer {auth}"} if auth else {})}
        body = orjson.dumps({"jsonrpc": "2.0", "method": method, "params": params, "id": 1})
        return orjson.loads(await (await self.client.post("/api_jsonrpc", data=body, headers=headers)).read())

    async def call(self, method: str, params: Any, auth: str) -> Any:
        answer = await self.rpc(method, params, auth)
        assert "result" in answer, answer
        return answer["result"]


@pytest.fixture
async def instances(postgres: Postgres, aiohttp_client: Any) -> Any:
    """Three instances over one new database, sharing one clock."""
    clock = FakeClock()
    with postgres.database() as url:
        config = Config(db=url, port=0, admin_password=ADMIN_PASSWORD, password_cost=4, mass_rate_limit=3, login_attempts=2)
        yield [Instance(await aiohttp_client(create_app(config, clock=clock))) for _ in range(3)]


@pytest.fixture
async def admin(instances: list[Instance]) -> str:
    answer = await instances[0].rpc("user.login", {"username": "Admin", "password": ADMIN_PASSWORD})
    return str(answer["result"])


async def problems(instance: Instance, admin: str, count: int) -> list[int]:
    created = await instance.call("event.create", [{"host": "shared-01", "name": f"problem {n}", "manual_close": 1}
                                                   for n in range(count)], admin)
    return [int(eventid) for eventid in created["eventids"]]


async def history(instance: Instance, admin: str, eventid: int) -> list[int]:
    events = await instance.call("event.get", {"eventids": eventid, "select_acknowledges": ["action"]}, admin)
    return [int(row["action"]) for row in events[0]["acknowledges"]]


async def test_a_change_through_one_is_seen_through_the_others(instances: list[Instance], admin: str) -> None:
    first, second, third = instances
    [eventid] = await problems(first, admin, 1)
    await second.call("event.acknowledge", {"eventids": eventid, "action": ACK}, admin)
    shown = await third.call("problem.get", {"eventids": eventid, "output": ["acknowledged"]}, admin)
    assert shown == [{"acknowledged": "1"}]
    await first.call("user.create", {"username": "ops", "passwd": "ops-password", "roleid": "3",
                                     "usrgrps": [{"usrgrpid": "7"}]}, admin)
    session = (await third.rpc("user.login", {"username": "ops", "password": "ops-password"}))["result"]
    assert await second.call("problem.get", {"eventids": eventid, "output": ["eventid"]}, session) == [{"eventid": str(eventid)}]
    await first.call("user.delete", [(await second.call("user.get", {"filter": {"username": "ops"}}, admin))[0]["userid"]], admin)
    await asyncio.sleep(auth.GENERATION_POLL)  # a change of credentials: within 1 s, processes cache them
    refused = await second.rpc("problem.get", {}, session)
    assert refused["error"]["data"] == "Session terminated, re-login, please."


async def test_racing_acknowledgements_through_three_instances_write_one_acknowledgement(
        instances: list[Instance], admin: str) -> None:
    eventids = await problems(instances[0], admin, 5)
    for eventid in eventids:
        calls = [instance.call("event.acknowledge", {"eventids": eventid, "action": ACK}, admin)
                 for instance in instances for _ in range(4)]
        assert await asyncio.gather(*calls) == [{"eventids": [eventid]}] * 12
        assert await history(instances[1], admin, eventid) == [ACK]


async def test_a_close_racing_a_close_makes_one_ok_event(instances: list[Instance], admin: str) -> None:
    eventids = await problems(instances[0], admin, 5)
    for eventid in eventids:
        await asyncio.gather(*[instance.call("event.acknowledge", {"eventids": eventid, "action": CLOSE}, admin)
                               for instance in instances])
        assert await history(instances[2], admin, eventid) == [CLOSE]
        recovery = await instances[1].call("event.get", {"eventids": eventid, "output": ["r_eventid"]}, admin)
        ok_events = await instances[0].call("event.get", {"objectids": (await instances[0].call(
            "event.get", {"eventids": eventid, "output": ["objectid"]}, admin))[0]["objectid"], "value": 0,
            "output": ["eventid"]}, admin)
        assert [event["eventid"] for event in ok_events] == [recovery[0]["r_eventid"]]


async def test_the_mass_call_rate_limit_is_shared(instances: list[Instance], admin: str) -> None:
    [eventid] = await problems(instances[0], admin, 1)
    for instance in instances:  # the limit is 3 accepted calls in 60 s, counted across every instance
        assert "result" in await instance.rpc("incident.massacknowledge", {"incidentids": [str(eventid)]}, admin)
    refused = await instances[0].rpc("incident.massacknowledge", {"incidentids": [str(eventid)]}, admin)
    assert refused["error"]["data"].startswith("Rate limit exceeded: 3 calls per minute for incident.massacknowledge.")


async def test_login_blocking_is_shared(instances: list[Instance]) -> None:
    for instance in instances[:2]:  # two wrong passwords block the account, whichever instance heard them
        assert "error" in await instance.rpc("user.login", {"username": "Admin", "password": "wrong"})
    blocked = await instances[2].rpc("user.login", {"username": "Admin", "password": ADMIN_PASSWORD})
    assert blocked["error"]["data"] == "Incorrect user name or password or account is temporarily blocked."
