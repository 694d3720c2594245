"""problem.get through the endpoint (ZA §4.4, API.md §3), on the world of test_event_get."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from methods.event import selects_of
from methods.problem import OK_PERIOD
from rpcserver.storage.events import resolve_problem
from schemas.problem import ProblemGetParams

from ..conftest import FakeClock, cached_world, error_of, storage_of
from .test_event_get import ADMIN_USERID, NOW, T0, World, add_acknowledges, build_world, sql


@cached_world
async def world(call: Any, login: Any, admin: str) -> World:
    """event.get's world: the same hosts, rights and events."""
    return await build_world(call, login, admin)


@pytest.fixture
def get(call: Any, world: World) -> Callable[..., Awaitable[Any]]:
    """problem.get as `who`."""

    async def run(params: dict[str, Any] | None = None, who: str = "admin") -> Any:
        return await call("problem.get", params or {}, auth=world.sessions[who])

    return run


@pytest.fixture
def ids_of(get: Callable[..., Awaitable[Any]], world: World) -> Callable[..., Awaitable[list[str]]]:
    """The names (world keys) of the problems problem.get returns, in order."""

    async def run(params: dict[str, Any] | None = None, who: str = "admin") -> list[str]:
        by_id = {eventid: name for name, eventid in world.events.items()}
        return [by_id[obj["eventid"]] for obj in await get({"output": ["eventid"], **(params or {})}, who)]

    return run


@pytest.fixture
async def fan(client: Any, call: Any, world: World) -> str:
    """A problem on web-01 closed by hand by the reader 50 s ago (recent for OK_PERIOD)."""
    eventid = (await call("event.create", {"host": "web-01", "name": "Fan is loud", "severity": 3, "clock": NOW - 100,
                                           "tags": [{"tag": "service", "value": "hw"}]}, auth=world.sessions["admin"]))["eventids"][0]
    await storage_of(client).write(resolve_problem, eventid, NOW - 50, int(world.users["reader"]))
    world.events["fan"] = str(eventid)
    return str(eventid)


async def test_extend_gives_every_field_as_a_string(get: Any, world: World) -> None:
    assert await get({"eventids": world.events["cpu"]}) == [{
        "eventid": world.events["cpu"], "source": "0", "object": "0", "objectid": world.triggers["CPU is high"],
        "clock": str(T0 + 100), "ns": "0", "r_eventid": "0", "r_clock": "0", "r_ns": "0", "correlationid": "0", "userid": "0",
        "name": "CPU is high", "acknowledged": "0", "severity": "4", "cause_eventid": "0", "opdata": "load is high",
        "suppressed": "0", "urls": [],
    }]


async def test_only_unresolved_problems_unless_recent(ids_of: Any, get: Any, fan: str, world: World) -> None:
    assert await ids_of() == ["cpu", "disk", "door"]
    assert await ids_of({"recent": False}) == ["cpu", "disk", "door"]
    assert await ids_of({"recent": None}) == ["cpu", "disk", "door"]
    assert await ids_of({"recent": True}) == ["cpu", "disk", "door", "fan"]  # nginx was resolved long ago
    ok = await get({"output": ["eventid"], "eventids": fan, "recent": True})
    assert ok == [{"eventid": fan}]
    [closed] = await get({"output": ["r_eventid", "r_clock", "userid"], "eventids": fan, "recent": True})
    assert closed["r_clock"] == str(NOW - 50) and closed["userid"] == world.users["reader"]
    assert closed["r_eventid"] == str(int(fan) + 1)
    assert await ids_of({"recent": True, "filter": {"userid": world.users["reader"]}}) == ["fan"]
    assert await ids_of({"recent": True, "filter": {"r_eventid": closed["r_eventid"]}}) == ["fan"]


async def test_recent_means_resolved_within_the_ok_period(ids_of: Any, fan: str, clock: FakeClock) -> None:
    assert OK_PERIOD == 300
    clock.advance(OK_PERIOD - 51)  # resolved at NOW - 50: 299 s ago
    assert await ids_of({"recent": True}) == ["cpu", "disk", "door", "fan"]
    clock.advance(1)  # 300 s ago: no longer recent
    assert await ids_of({"recent": True}) == ["cpu", "disk", "door"]


async def test_output_and_ids(get: Any, world: World) -> None:
    cpu = world.events["cpu"]
    assert await get({"eventids": cpu, "output": ["name", "object", "objectid"]}) == [
        {"name": "CPU is high", "object": "0", "objectid": world.triggers["CPU is high"]}]
    assert await get({"eventids": cpu, "output": ["urls"]}) == [{"urls": []}]
    assert await get({"eventids": [cpu], "output": ["severity"], "preservekeys": True}) == {cpu: {"severity": "4"}}
    assert await get({"countOutput": True}) == "3"
    assert await get({"countOutput": True, "recent": True, "selectAcknowledges": "extend"}) == "3"


async def test_sorting_and_limit(ids_of: Any) -> None:
    assert await ids_of({"sortfield": "eventid", "sortorder": "DESC"}) == ["door", "disk", "cpu"]
    assert await ids_of({"sortfield": ["eventid"], "sortorder": ["DESC"], "limit": 2}) == ["door", "disk"]
    assert await ids_of({"limit": 1}) == ["cpu"]


async def test_filters(client: Any, ids_of: Any, fan: str, world: World) -> None:
    assert await ids_of({"eventids": world.ids("door", "nginx")}) == ["door"]
    assert await ids_of({"objectids": world.triggers["Disk is full"]}) == ["disk"]
    assert await ids_of({"hostids": world.hosts["web-01"], "recent": True}) == ["cpu", "fan"]
    assert await ids_of({"groupids": world.groups["Secret"]}) == ["door"]
    assert await ids_of({"severities": [1, 2]}) == ["disk", "door"]
    assert await ids_of({"time_from": T0 + 200, "time_till": T0 + 500}) == ["disk", "door"]
    assert await ids_of({"eventid_from": world.events["disk"], "eventid_till": world.events["door"]}) == ["disk", "door"]
    assert await ids_of({"filter": {"name": ["Door is open", "CPU is high"], "severity": 4}}) == ["cpu"]
    assert await ids_of({"search": {"name": "is "}, "startSearch": False, "excludeSearch": True}) == []
    assert await ids_of({"search": {"name": "d*k"}, "searchWildcardsEnabled": True}) == ["disk"]


async def test_acknowledged_and_action(client: Any, ids_of: Any, get: Any, world: World) -> None:
    disk = int(world.events["disk"])
    await sql(client, "INSERT INTO acknowledgement (eventid, userid, acknowledged_on, last_modified) VALUES (?, 1, ?, ?)",
              disk, NOW, NOW)  # an indefinite span, as bit 2 opens it
    await storage_of(client).write(add_acknowledges, [(1, int(world.users["writer"]), disk, NOW, "mine", 6, 0, 0, 0, None)])
    assert await get({"output": ["acknowledged"]}) == [{"acknowledged": "0"}, {"acknowledged": "1"}, {"acknowledged": "0"}]
    assert await ids_of({"acknowledged": True}) == ["disk"]
    assert await ids_of({"acknowledged": False}) == ["cpu", "door"]
    assert await ids_of({"filter": {"acknowledged": 1}}) == ["disk"]
    assert await ids_of({"action": 4, "action_userids": world.users["writer"]}) == ["disk"]
    assert await ids_of({"action_userids": [world.users["admin"]]}) == []


async def test_symptoms_come_from_the_problem_row(client: Any, ids_of: Any, get: Any, world: World) -> None:
    await sql(client, "UPDATE problem SET cause_eventid = ? WHERE eventid = ?", int(world.events["cpu"]), int(world.events["door"]))
    assert await get({"output": ["cause_eventid"], "eventids": world.events["door"]}) == [{"cause_eventid": world.events["cpu"]}]
    assert await ids_of({"symptom": True}) == ["door"]
    assert await ids_of({"symptom": False}) == ["cpu", "disk"]
    assert await ids_of({"filter": {"cause_eventid": world.events["cpu"]}}) == ["door"]


async def test_tags_come_from_problem_tag(client: Any, ids_of: Any, get: Any, world: World) -> None:
    await sql(client, "UPDATE problem_tag SET value = 'db-primary' WHERE eventid = ?", int(world.events["disk"]))
    assert await get({"output": ["name"], "eventids": world.events["disk"], "selectTags": "extend"}) == [
        {"name": "Disk is full", "tags": [{"tag": "service", "value": "db-primary"}]}]
    assert await get({"output": ["name"], "eventids": world.events["cpu"], "selectTags": ["tag"]}) == [
        {"name": "CPU is high", "tags": [{"tag": "service"}, {"tag": "env"}]}]
    assert await ids_of({"tags": [{"tag": "service", "operator": 1, "value": "db-primary"}]}) == ["disk"]
    assert await ids_of({"tags": [{"tag": "service", "operator": 5}, {"tag": "env", "operator": 4}], "evaltype": 2}) == ["cpu", "door"]
    assert await ids_of({"tags": []}) == []


async def test_suppression_is_computed_at_call_time(client: Any, ids_of: Any, get: Any, world: World, clock: FakeClock) -> None:
    door = int(world.events["door"])
    await sql(client, "INSERT INTO event_suppress (eventid, maintenanceid, suppress_until, userid) VALUES (?, 9, ?, NULL)",
              door, NOW + 10)
    assert await get({"output": ["suppressed"], "eventids": door, "selectSuppressionData": "extend"}) == [
        {"suppressed": "1", "suppression_data": [{"maintenanceid": "9", "suppress_until": str(NOW + 10), "userid": "0"}]}]
    assert await ids_of({"suppressed": True}) == ["door"]
    clock.advance(10)
    assert await get({"output": ["suppressed"], "eventids": door, "selectSuppressionData": "extend"}) == [
        {"suppressed": "0", "suppression_data": []}]
    assert await ids_of({"suppressed": False}) == ["cpu", "disk", "door"]


async def test_select_acknowledges_has_no_user_fields(client: Any, get: Any, world: World) -> None:
    disk = int(world.events["disk"])
    await storage_of(client).write(add_acknowledges, [
        (1, ADMIN_USERID, disk, NOW - 5, "first", 2, 0, 0, 0, None),
        (2, int(world.users["reader"]), disk, NOW, "second", 4, 0, 0, 0, 3),
    ])
    [problem] = await get({"output": ["name"], "eventids": disk, "selectAcknowledges": "extend"})
    assert problem["acknowledges"] == [
        {"acknowledgeid": "2", "userid": world.users["reader"], "clock": str(NOW), "message": "second", "action": "4",
         "old_severity": "0", "new_severity": "0", "suppress_until": "0", "taskid": "3"},
        {"acknowledgeid": "1", "userid": "1", "clock": str(NOW - 5), "message": "first", "action": "2",
         "old_severity": "0", "new_severity": "0", "suppress_until": "0", "taskid": "0"},
    ]
    assert await get({"output": ["name"], "eventids": disk, "select_acknowledges": ["message"]}) == [
        {"name": "Disk is full", "acknowledges": [{"message": "second"}, {"message": "first"}]}]
    counts = await get({"output": ["name"], "selectAcknowledges": "count"})
    assert [problem["acknowledges"] for problem in counts] == ["0", "2", "0"]


async def test_permissions(ids_of: Any, get: Any, fan: str) -> None:
    assert await ids_of(who="reader") == ["cpu", "disk"]
    assert await ids_of({"recent": True}, who="reader") == ["cpu", "disk", "fan"]
    assert await ids_of({"editable": True}, who="reader") == []
    assert await ids_of({"editable": True}, who="writer") == ["cpu"]
    assert await ids_of(who="mixed") == ["disk"]
    assert await get(who="nobody") == []
    assert await get({"countOutput": True}, who="nobody") == "0"


async def test_select_hosts_answers_hosts_as_event_get_does(get: Any, call: Any, world: World) -> None:
    # Ours (API.md §3, §3a): 7.0 refuses selectHosts on problem.get, 6.x ignored it, 6.x clients send it.
    cpu = world.events["cpu"]
    [problem] = await get({"output": ["name"], "eventids": cpu, "selectHosts": "extend"})
    assert problem == {"name": "CPU is high", "hosts": [
        {"hostid": world.hosts["web-01"], "host": "web-01", "name": "web-01", "status": "0"}]}
    as_event = await call("event.get", {"output": ["name"], "eventids": cpu, "selectHosts": "extend"}, auth=world.sessions["admin"])
    assert [problem] == as_event
    assert await get({"output": ["name"], "eventids": cpu, "selectHosts": ["name", "host"]}) == [
        {"name": "CPU is high", "hosts": [{"host": "web-01", "name": "web-01"}]}]


def test_select_hosts_loads_into_the_selects_both_methods_share() -> None:
    p = ProblemGetParams().load_params({"selectHosts": ["host"]})
    assert selects_of(p, acknowledge_users=False).hosts == ["host"]
    assert selects_of(ProblemGetParams().load_params({}), acknowledge_users=False).hosts is None


async def test_the_request_of_a_6x_client_with_select_hosts(get: Any, world: World) -> None:
    # Exactly as the client of issue 15 sends it.
    problems = await get({"output": "extend", "selectAcknowledges": "count", "selectTags": "extend",
                          "selectHosts": ["host", "name"], "sortfield": "eventid", "sortorder": "DESC", "limit": 100,
                          "suppressed": False})
    assert problems and all(problem["hosts"] and set(problem["hosts"][0]) == {"host", "name"} for problem in problems)
    assert [int(problem["eventid"]) for problem in problems] == sorted((int(p["eventid"]) for p in problems), reverse=True)


ACKNOWLEDGE_FIELDS = ('"acknowledgeid", "userid", "clock", "message", "action", "old_severity", "new_severity", '
                      '"suppress_until", "taskid"')


@pytest.mark.parametrize(
    "params, data",
    [
        ({"value": 1}, 'Invalid parameter "/": unexpected parameter "value".'),
        ({"selectHost": "extend"}, 'Invalid parameter "/": unexpected parameter "selectHost".'),  # misspelt: 7.0's text
        ({"selectHosts": ["host", "ip"]}, 'Invalid parameter "/selectHosts/2": value must be one of "hostid", "host", "name", "status".'),
        ({"selectHosts": "count"}, 'Invalid parameter "/selectHosts": value must be "extend".'),
        ({"trigger_severities": [1]}, 'Invalid parameter "/": unexpected parameter "trigger_severities".'),
        ({"problem_time_from": 1}, 'Invalid parameter "/": unexpected parameter "problem_time_from".'),
        ({"select_alerts": "extend"}, 'Invalid parameter "/": unexpected parameter "select_alerts".'),
        ({"groupBy": "objectid"}, 'Invalid parameter "/": unexpected parameter "groupBy".'),
        ({"source": 1}, 'Invalid parameter "/source": value must be one of 0, 3, 4.'),
        ({"object": 1}, 'Invalid parameter "/object": value must be one of 0, 4, 5, 6.'),
        ({"recent": "yes"}, 'Invalid parameter "/recent": a boolean is expected.'),
        ({"recent": 1, "severities": [9]}, 'Invalid parameter "/severities/1": value must be one of 0, 1, 2, 3, 4, 5.'),
        ({"objectids": [1, "x"]}, 'Invalid parameter "/objectids/2": a number is expected.'),
        ({"time_till": "now"}, 'Invalid parameter "/time_till": an unsigned integer is expected.'),
        ({"symptom": "true"}, 'Invalid parameter "/symptom": a boolean is expected.'),
        ({"tags": [{"tag": "a", "operator": "like"}]}, 'Invalid parameter "/tags/1/operator": an integer is expected.'),
        ({"filter": {"value": 1}}, 'Invalid parameter "/filter": unexpected parameter "value".'),
        ({"filter": {"clock": 1}}, 'Invalid parameter "/filter": unexpected parameter "clock".'),
        ({"search": {"name": {"x": 1}}}, 'Invalid parameter "/search/name": a character string, integer or floating point value is expected.'),
        ({"output": ["value"]}, ('Invalid parameter "/output/1": value must be one of "eventid", "source", "object", "objectid", '
                                '"clock", "ns", "r_eventid", "r_clock", "r_ns", "correlationid", "userid", "name", "acknowledged", '
                                '"severity", "cause_eventid", "opdata", "suppressed", "urls".')),
        ({"selectAcknowledges": ["username"]}, f'Invalid parameter "/selectAcknowledges/1": value must be one of {ACKNOWLEDGE_FIELDS}.'),
        ({"select_acknowledges": "all"}, 'Invalid parameter "/select_acknowledges": value must be one of "extend", "count".'),
        ({"selectSuppressionData": "count"}, 'Invalid parameter "/selectSuppressionData": value must be "extend".'),
        ({"selectTags": 1}, 'Invalid parameter "/selectTags": an array or a character string is expected.'),
        ({"sortfield": "clock"}, 'Invalid parameter "/sortfield/1": value must be "eventid".'),
        ({"sortorder": ["ASC", "down"]}, 'Invalid parameter "/sortorder/2": value must be one of "ASC", "DESC".'),
        ({"limit": -1}, 'Invalid parameter "/limit": value must be one of 1-2147483647.'),
        ({"preservekeys": 1}, 'Invalid parameter "/preservekeys": a boolean is expected.'),
        ({"editable": "false"}, 'Invalid parameter "/editable": a boolean is expected.'),
    ],
)
async def test_bad_input_is_refused(rpc: Any, world: World, params: Any, data: str) -> None:
    response = await rpc("problem.get", params, headers={"Authorization": f"Bearer {world.sessions['admin']}"})
    assert error_of(response) == (-32602, "Invalid params.", data)
