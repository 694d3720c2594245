"""event.get through the endpoint (ZA §4.1-4.3, API.md §3).

The world is made through the API (event.create, usergroup.create, user.create); the states
event.acknowledge leaves (history rows, suppressions, symptoms, manual closes, changed severities)
are written with SQL, as that method would leave them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from rpcserver.storage.events import resolve_problem

from ..conftest import FakeClock, cached_world, error_of, storage_of

NOW = 1_700_000_000  # the clock fixture's start
T0 = NOW - 10_000
PASSWORD = "Secret-pass-1"
ADMIN_USERID = 1


@dataclass
class World:
    events: dict[str, str]
    """cpu, disk, nginx, nginx_ok (its recovery), door -> event id."""
    triggers: dict[str, str]
    hosts: dict[str, str]
    groups: dict[str, str]
    users: dict[str, str]
    sessions: dict[str, str]
    """admin, reader, writer, mixed, nobody -> session id."""

    def ids(self, *names: str) -> list[str]:
        return [self.events[name] for name in names]


EVENTS = [
    ("cpu", {"host": "web-01", "groups": ["Linux servers"], "name": "CPU is high", "severity": 4, "manual_close": 1,
             "tags": [{"tag": "service", "value": "web"}, {"tag": "env", "value": "prod"}], "opdata": "load is high",
             "clock": T0 + 100}),
    ("disk", {"host": "db-01", "groups": ["Databases"], "name": "Disk is full", "severity": 2,
              "tags": [{"tag": "service", "value": "db"}], "clock": T0 + 200}),
    ("nginx", {"host": "web-01", "groups": ["Linux servers"], "name": "Nginx is down", "severity": 5,
               "tags": [{"tag": "service", "value": "web"}, {"tag": "Env", "value": "Staging"}], "clock": T0 + 300}),
    ("nginx_ok", {"host": "web-01", "name": "Nginx is down", "value": 0, "clock": T0 + 400}),
    ("door", {"host": "vault", "groups": ["Secret"], "name": "Door is open", "severity": 1, "clock": T0 + 500}),
]


async def build_world(call: Callable[..., Awaitable[Any]], login: Callable[..., Awaitable[str]], admin: str) -> World:
    events = {name: str((await call("event.create", params, auth=admin))["eventids"][0]) for name, params in EVENTS}
    groups = {g["name"]: g["groupid"] for g in await call("hostgroup.get", {"output": ["groupid", "name"]}, auth=admin)}
    hosts = {h["host"]: h["hostid"] for h in await call("host.get", {"output": ["hostid", "host"]}, auth=admin)}
    triggers = {t["description"]: t["triggerid"] for t in await call("trigger.get", {"output": ["triggerid", "description"]}, auth=admin)}
    linux, databases = groups["Linux servers"], groups["Databases"]
    usrgrpids = (await call("usergroup.create", [
        {"name": "Readers", "hostgroup_rights": [{"id": linux, "permission": 2}, {"id": databases, "permission": 2}]},
        {"name": "Writers", "hostgroup_rights": [{"id": linux, "permission": 3}, {"id": databases, "permission": 2}]},
        {"name": "No Linux", "hostgroup_rights": [{"id": linux, "permission": 0}]},
        {"name": "Nothing"},
    ], auth=admin))["usrgrpids"]
    readers, writers, no_linux, nothing = usrgrpids
    members = {"reader": [readers], "writer": [writers], "mixed": [readers, no_linux], "nobody": [nothing]}
    userids = (await call("user.create", [
        {"username": username, "name": username.title(), "surname": "Tester", "passwd": PASSWORD, "roleid": "1",
         "usrgrps": [{"usrgrpid": g} for g in member_of]}
        for username, member_of in members.items()
    ], auth=admin))["userids"]
    users = {"admin": str(ADMIN_USERID), **dict(zip(members, userids))}
    sessions = {"admin": admin, **{username: await login(username, PASSWORD) for username in members}}
    return World(events, triggers, hosts, groups, users, sessions)


@cached_world
async def world(call: Any, login: Any, admin: str) -> World:
    return await build_world(call, login, admin)


def sql(client: Any, statement: str, *args: Any) -> Awaitable[Any]:
    """Write with SQL, as event.acknowledge would."""
    return storage_of(client).write(lambda conn: conn.execute(statement, args))


def add_acknowledges(conn: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
    """(acknowledgeid, userid, eventid, clock, message, action, old_severity, new_severity, suppress_until, taskid)."""
    conn.executemany(
        "INSERT INTO acknowledges (acknowledgeid, userid, eventid, clock, message, action, old_severity, new_severity,"
        " suppress_until, taskid) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows,
    )


def names_of(result: list[dict[str, Any]]) -> list[str]:
    return [obj["name"] for obj in result]


@pytest.fixture
def get(call: Any, world: World) -> Callable[..., Awaitable[Any]]:
    """event.get as `who`."""

    async def run(params: dict[str, Any] | None = None, who: str = "admin") -> Any:
        return await call("event.get", params or {}, auth=world.sessions[who])

    return run


@pytest.fixture
def ids_of(get: Callable[..., Awaitable[Any]], world: World) -> Callable[..., Awaitable[list[str]]]:
    """The names (world keys) of the events event.get returns, in order."""
    by_id = {eventid: name for name, eventid in world.events.items()}

    async def run(params: dict[str, Any] | None = None, who: str = "admin") -> list[str]:
        return [by_id[obj["eventid"]] for obj in await get({"output": ["eventid"], **(params or {})}, who)]

    return run


# --- fields ---


async def test_extend_gives_every_field_as_a_string(get: Any, world: World) -> None:
    assert await get({"eventids": world.events["cpu"]}) == [{
        "eventid": world.events["cpu"], "source": "0", "object": "0", "objectid": world.triggers["CPU is high"],
        "clock": str(T0 + 100), "value": "1", "acknowledged": "0", "ns": "0", "name": "CPU is high", "severity": "4",
        "r_eventid": "0", "c_eventid": "0", "correlationid": "0", "userid": "0", "cause_eventid": "0",
        "opdata": "load is high", "suppressed": "0", "urls": [],
    }]


async def test_a_problem_names_its_recovery_and_the_recovery_who_closed_it(client: Any, get: Any, world: World) -> None:
    fields = ["eventid", "value", "severity", "r_eventid", "c_eventid", "correlationid", "userid"]
    nginx, nginx_ok = world.ids("nginx", "nginx_ok")
    assert await get({"output": fields, "eventids": [nginx, nginx_ok]}) == [
        {"eventid": nginx, "value": "1", "severity": "5", "r_eventid": nginx_ok, "c_eventid": "0", "correlationid": "0", "userid": "0"},
        {"eventid": nginx_ok, "value": "0", "severity": "0", "r_eventid": "0", "c_eventid": "0", "correlationid": "0", "userid": "0"},
    ]
    # a manual close by the reader, then correlation data on that recovery
    closer = int(world.users["reader"])
    ok = str(await storage_of(client).write(resolve_problem, int(world.events["cpu"]), NOW, closer))
    await sql(client, "UPDATE event_recovery SET c_eventid = ?, correlationid = 7 WHERE r_eventid = ?", int(world.events["disk"]), int(ok))
    assert await get({"output": fields, "eventids": [world.events["cpu"], ok]}) == [
        {"eventid": world.events["cpu"], "value": "1", "severity": "4", "r_eventid": ok, "c_eventid": "0", "correlationid": "0", "userid": "0"},
        {"eventid": ok, "value": "0", "severity": "0", "r_eventid": "0", "c_eventid": world.events["disk"], "correlationid": "7",
         "userid": world.users["reader"]},
    ]


async def test_output_names_the_fields_and_ids_only_when_asked(get: Any, world: World) -> None:
    cpu = world.events["cpu"]
    assert await get({"eventids": cpu, "output": ["name", "severity"]}) == [{"name": "CPU is high", "severity": "4"}]
    assert await get({"eventids": cpu, "output": ["eventid", "object", "objectid"]}) == [
        {"eventid": cpu, "object": "0", "objectid": world.triggers["CPU is high"]}]
    assert await get({"eventids": cpu, "output": ["urls", "opdata"]}) == [{"urls": [], "opdata": "load is high"}]
    assert await get({"eventids": cpu, "output": ["name"], "preservekeys": True}) == {cpu: {"name": "CPU is high"}}


async def test_cause_eventid_and_the_symptom_filter(client: Any, get: Any, ids_of: Any, world: World) -> None:
    await sql(client, "INSERT INTO event_symptom (eventid, cause_eventid) VALUES (?, ?)", int(world.events["disk"]), int(world.events["cpu"]))
    assert await get({"output": ["cause_eventid"], "eventids": world.ids("cpu", "disk")}) == [
        {"cause_eventid": "0"}, {"cause_eventid": world.events["cpu"]}]
    assert await ids_of({"symptom": True}) == ["disk"]
    assert await ids_of({"symptom": False}) == ["cpu", "nginx", "door", "nginx_ok"]
    assert await ids_of({"filter": {"cause_eventid": world.events["cpu"]}}) == ["disk"]


# --- problems and recoveries, sorting, limit, count ---


async def test_problems_come_before_recoveries_then_the_limit_cuts(ids_of: Any) -> None:
    assert await ids_of() == ["cpu", "disk", "nginx", "door", "nginx_ok"]
    assert await ids_of({"limit": 4}) == ["cpu", "disk", "nginx", "door"]
    assert await ids_of({"value": 0}) == ["nginx_ok"]
    assert await ids_of({"value": [1]}) == ["cpu", "disk", "nginx", "door"]
    assert await ids_of({"value": [0, 1]}) == ["cpu", "disk", "nginx", "door", "nginx_ok"]
    assert await ids_of({"value": 5}) == []  # a trigger event is a problem or a recovery
    assert await ids_of({"value": None}) == ["cpu", "disk", "nginx", "door", "nginx_ok"]


async def test_the_merged_list_is_sorted_then_cut(get: Any, ids_of: Any) -> None:
    assert await ids_of({"sortfield": "clock", "sortorder": "DESC"}) == ["door", "nginx_ok", "nginx", "disk", "cpu"]
    assert await ids_of({"sortfield": ["clock"], "sortorder": ["DESC"], "limit": 2}) == ["door", "nginx_ok"]
    assert await ids_of({"sortfield": ["objectid", "eventid"], "sortorder": ["DESC", "ASC"]}) == ["door", "nginx", "nginx_ok", "disk", "cpu"]
    assert await ids_of({"sortfield": ["eventid"], "sortorder": "DESC"}) == ["door", "nginx_ok", "nginx", "disk", "cpu"]
    # the sort field is not in the objects unless asked for
    assert await get({"output": ["name"], "sortfield": "clock", "sortorder": "DESC", "limit": 2}) == [
        {"name": "Door is open"}, {"name": "Nginx is down"}]


async def test_the_merge_sorts_ids_as_numbers(call: Any, admin: str, get: Any) -> None:
    # ids of one and two digits: as the text the rows carry, "9" would sort after "10"
    for n in range(6):
        await call("event.create", {"host": "web-01", "name": f"Filler {n}", "clock": T0 + 600 + n}, auth=admin)
    ids = [obj["eventid"] for obj in await get({"output": ["eventid"], "sortfield": "eventid", "sortorder": "DESC"})]
    assert len(ids) == 11 and {len(eventid) for eventid in ids} == {1, 2}
    assert ids == sorted(ids, key=int, reverse=True)


async def test_count_output(get: Any, world: World) -> None:
    assert await get({"countOutput": True}) == "5"
    assert await get({"countOutput": True, "value": 1}) == "4"
    assert await get({"countOutput": True, "hostids": world.hosts["web-01"], "selectTags": "extend"}) == "3"
    assert await get({"countOutput": True, "eventids": []}) == "0"


async def test_group_by_objectid(get: Any, world: World) -> None:
    triggers = world.triggers
    assert await get({"countOutput": True, "groupBy": "objectid"}) == [
        {"objectid": triggers["CPU is high"], "rowscount": "1"}, {"objectid": triggers["Disk is full"], "rowscount": "1"},
        {"objectid": triggers["Nginx is down"], "rowscount": "2"}, {"objectid": triggers["Door is open"], "rowscount": "1"},
    ]
    assert await get({"countOutput": True, "groupBy": ["objectid"], "sortfield": "rowscount", "sortorder": "DESC", "limit": 1}) == [
        {"objectid": triggers["Nginx is down"], "rowscount": "2"}]
    assert await get({"groupBy": "objectid", "hostids": world.hosts["web-01"]}) == [
        {"objectid": triggers["CPU is high"]}, {"objectid": triggers["Nginx is down"]}]
    assert await get({"countOutput": True, "groupBy": []}) == "5"


# --- filters ---


async def test_id_filters(ids_of: Any, world: World) -> None:
    assert await ids_of({"eventids": world.ids("door", "cpu")}) == ["cpu", "door"]
    assert await ids_of({"eventids": []}) == []
    assert await ids_of({"objectids": world.triggers["Nginx is down"]}) == ["nginx", "nginx_ok"]
    assert await ids_of({"hostids": [world.hosts["web-01"]]}) == ["cpu", "nginx", "nginx_ok"]
    assert await ids_of({"groupids": [world.groups["Databases"], world.groups["Secret"]]}) == ["disk", "door"]
    assert await ids_of({"hostids": world.hosts["vault"], "groupids": world.groups["Linux servers"]}) == []


async def test_time_and_id_ranges_are_inclusive(ids_of: Any, world: World) -> None:
    assert await ids_of({"time_from": T0 + 200, "time_till": T0 + 400}) == ["disk", "nginx", "nginx_ok"]
    assert await ids_of({"time_from": str(T0 + 401)}) == ["door"]
    assert await ids_of({"eventid_from": world.events["nginx"], "eventid_till": world.events["nginx_ok"]}) == ["nginx", "nginx_ok"]


async def test_problem_time_gives_problems_open_during_the_window(ids_of: Any) -> None:
    # nginx was open from T0+300 to T0+400, the others still are
    assert await ids_of({"problem_time_from": T0 + 450, "problem_time_till": T0 + 600}) == ["cpu", "disk", "door"]
    assert await ids_of({"problem_time_from": T0 + 350, "problem_time_till": T0 + 600}) == ["cpu", "disk", "nginx", "door"]
    assert await ids_of({"problem_time_from": T0, "problem_time_till": T0 + 150}) == ["cpu"]
    # recoveries, when asked for, of problems that began before the window ends
    assert await ids_of({"problem_time_from": T0 + 350, "problem_time_till": T0 + 600, "value": 0}) == ["nginx_ok"]
    assert await ids_of({"problem_time_from": T0 + 450, "problem_time_till": T0 + 600, "value": 0}) == []
    assert await ids_of({"problem_time_from": T0 + 350, "problem_time_till": T0 + 250, "value": 0}) == []
    # one bound alone is no window
    assert await ids_of({"problem_time_from": T0 + 450}) == ["cpu", "disk", "nginx", "door", "nginx_ok"]


async def test_severities_are_the_events_and_trigger_severities_the_triggers(client: Any, ids_of: Any, world: World) -> None:
    await sql(client, "UPDATE events SET severity = 1 WHERE eventid = ?", int(world.events["cpu"]))  # as bit 8 leaves it
    assert await ids_of({"severities": 1}) == ["cpu", "door"]
    assert await ids_of({"severities": [0]}) == ["nginx_ok"]
    assert await ids_of({"severities": [0, 1, 2, 3, 4, 5]}) == ["cpu", "disk", "nginx", "door", "nginx_ok"]
    assert await ids_of({"trigger_severities": [4]}) == ["cpu"]
    assert await ids_of({"trigger_severities": 5}) == ["nginx", "nginx_ok"]


async def test_acknowledged_and_action_filters(client: Any, get: Any, ids_of: Any, world: World) -> None:
    cpu, disk = int(world.events["cpu"]), int(world.events["disk"])
    await sql(client, "INSERT INTO acknowledgement (eventid, userid, acknowledged_on, last_modified) VALUES (?, 1, ?, ?)",
              cpu, NOW, NOW)  # an indefinite span, as bit 2 opens it
    writer = int(world.users["writer"])
    await storage_of(client).write(add_acknowledges, [
        (1, ADMIN_USERID, cpu, NOW, "on it", 6, 0, 0, 0, None),
        (2, writer, disk, NOW, "", 8, 2, 4, 0, None),
    ])
    assert await get({"output": ["acknowledged"], "eventids": [cpu, disk]}) == [{"acknowledged": "1"}, {"acknowledged": "0"}]
    assert await ids_of({"acknowledged": True}) == ["cpu"]
    assert await ids_of({"acknowledged": False}) == ["disk", "nginx", "door", "nginx_ok"]
    assert await ids_of({"filter": {"acknowledged": 1}}) == ["cpu"]
    assert await ids_of({"action": 2}) == ["cpu"]
    assert await ids_of({"action": 6}) == ["cpu"]
    assert await ids_of({"action": 10}) == []  # one row must carry all the bits
    assert await ids_of({"action": 8}) == ["disk"]
    assert await ids_of({"action_userids": world.users["writer"]}) == ["disk"]
    assert await ids_of({"action": 2, "action_userids": [world.users["writer"]]}) == []
    assert await ids_of({"action_userids": []}) == []


async def test_suppressed_counts_only_while_a_suppression_lasts(client: Any, get: Any, ids_of: Any, world: World, clock: FakeClock) -> None:
    cpu, disk, door = (int(i) for i in world.ids("cpu", "disk", "door"))
    reader = int(world.users["reader"])
    await sql(client, "INSERT INTO event_suppress (eventid, maintenanceid, suppress_until, userid) VALUES"
                      " (?, NULL, 0, 1), (?, NULL, ?, ?), (?, NULL, ?, 1)", cpu, disk, NOW + 60, reader, door, NOW - 1)
    suppressed = {"output": ["suppressed"], "eventids": [cpu, disk, door]}
    assert await get(suppressed) == [{"suppressed": "1"}, {"suppressed": "1"}, {"suppressed": "0"}]
    assert await ids_of({"suppressed": True}) == ["cpu", "disk"]
    assert await ids_of({"suppressed": False}) == ["nginx", "door", "nginx_ok"]
    assert await get({"output": ["name"], "eventids": [cpu, disk, door], "selectSuppressionData": "extend"}) == [
        {"name": "CPU is high", "suppression_data": [{"maintenanceid": "0", "suppress_until": "0", "userid": "1"}]},
        {"name": "Disk is full", "suppression_data": [{"maintenanceid": "0", "suppress_until": str(NOW + 60), "userid": str(reader)}]},
        {"name": "Door is open", "suppression_data": []},
    ]
    clock.advance(60)  # the timed one ends at NOW + 60
    assert await get(suppressed) == [{"suppressed": "1"}, {"suppressed": "0"}, {"suppressed": "0"}]
    assert await ids_of({"suppressed": True}) == ["cpu"]
    assert await get({"output": ["name"], "eventids": disk, "selectSuppressionData": ["suppress_until"]}) == [
        {"name": "Disk is full", "suppression_data": []}]
    assert await get({"output": ["name"], "eventids": cpu, "selectSuppressionData": ["userid"]}) == [
        {"name": "CPU is high", "suppression_data": [{"userid": "1"}]}]


@pytest.mark.parametrize(
    "tags, evaltype, expected",
    [
        ([{"tag": "service", "value": "we"}], 0, ["cpu", "nginx"]),  # operator 0: contains
        ([{"tag": "service", "operator": 1, "value": "web"}], 0, ["cpu", "nginx"]),
        ([{"tag": "service", "operator": 1, "value": "we"}], 0, []),
        ([{"tag": "service"}], 0, ["cpu", "disk", "nginx"]),  # "contains nothing": the tag exists
        ([{"tag": "service", "operator": 4}], 0, ["cpu", "disk", "nginx"]),
        ([{"tag": "service", "operator": 5}], 0, ["door", "nginx_ok"]),
        ([{"tag": "service", "operator": 2, "value": "we"}], 0, ["disk", "door", "nginx_ok"]),
        ([{"tag": "service", "operator": 3, "value": "web"}], 0, ["disk", "door", "nginx_ok"]),
        ([{"tag": "service", "operator": 2}], 0, ["door", "nginx_ok"]),  # "does not contain nothing": no such tag
        ([{"tag": "service", "value": "web"}, {"tag": "env", "value": "prod"}], 0, ["cpu"]),  # names: AND
        ([{"tag": "service", "operator": 1, "value": "web"}, {"tag": "service", "operator": 1, "value": "db"}], 0,
         ["cpu", "disk", "nginx"]),  # within a name: OR
        ([{"tag": "service", "operator": 1, "value": "db"}, {"tag": "env", "operator": 4}], 2, ["cpu", "disk"]),
        ([{"tag": "service", "operator": 1, "value": "db"}, {"tag": "env", "operator": 4}], 0, []),
        # "exists" overrides the same tag's values and "does not exist"/"does not equal"
        ([{"tag": "service", "operator": 4}, {"tag": "service", "operator": 3, "value": "web"}], 0, ["cpu", "disk", "nginx"]),
        ([{"tag": "service", "operator": 1, "value": "db"}, {"tag": "service", "operator": 3, "value": "web"}], 0,
         ["disk", "door", "nginx_ok"]),
        ([{"tag": "Env", "value": "STAG"}], 0, ["nginx"]),  # values match in any case, names exactly
        ([{"tag": "ENV", "operator": 4}], 0, []),
        ([{"tag": "service", "value": "_"}], 0, []),  # LIKE's wildcards are plain characters
        ({"tag": "service", "value": "db"}, 0, ["disk"]),  # one object for an array of it
        ([], 0, []),  # 7.0: an empty tag filter matches nothing
        ({}, 0, []),
        (None, 0, ["cpu", "disk", "nginx", "door", "nginx_ok"]),
    ],
)
async def test_tag_filters(ids_of: Any, tags: Any, evaltype: int, expected: list[str]) -> None:
    assert await ids_of({"tags": tags, "evaltype": evaltype}) == expected


async def test_filter_and_search(ids_of: Any, world: World) -> None:
    assert await ids_of({"filter": {"name": "Disk is full"}}) == ["disk"]
    assert await ids_of({"filter": {"value": 0}}) == ["nginx_ok"]
    assert await ids_of({"filter": {"severity": [4, "5"], "source": 0}}) == ["cpu", "nginx"]
    assert await ids_of({"filter": {"objectid": world.triggers["Door is open"]}}) == ["door"]
    assert await ids_of({"filter": {"eventid": world.events["disk"], "object": 0}}) == ["disk"]
    assert await ids_of({"search": {"name": "IS D"}}) == ["nginx", "nginx_ok"]
    assert await ids_of({"search": {"name": "Disk"}, "startSearch": True}) == ["disk"]
    assert await ids_of({"search": {"name": "is"}, "startSearch": True}) == []
    assert await ids_of({"search": {"name": "is "}, "excludeSearch": True}) == []
    assert await ids_of({"search": {"name": "high"}, "excludeSearch": True}) == ["disk", "nginx", "door", "nginx_ok"]
    assert await ids_of({"search": {"name": "N*down"}, "searchWildcardsEnabled": True}) == ["nginx", "nginx_ok"]
    assert await ids_of({"search": {"name": ["door", "cpu"]}, "searchByAny": True}) == ["cpu", "door"]
    assert await ids_of({"search": {"name": ["door", "cpu"]}}) == []


async def test_other_sources_and_objects_select_nothing(get: Any) -> None:
    assert await get({"source": 3, "object": 4}) == []
    assert await get({"source": 0, "object": 6}) == []
    assert await get({"source": 1, "object": 1, "countOutput": True}) == "0"


# --- sub-selects ---


@pytest.fixture
async def history(client: Any, world: World) -> dict[str, Any]:
    """History rows on disk (readable by reader and mixed) by four users, one of them a rank change."""
    disk, cpu = int(world.events["disk"]), int(world.events["cpu"])
    users = {name: int(userid) for name, userid in world.users.items()}
    await storage_of(client).write(add_acknowledges, [
        (10, users["admin"], disk, NOW - 30, "first", 2, 0, 0, 0, None),
        (11, users["writer"], disk, NOW - 20, "raised", 8, 2, 4, 0, None),
        (12, users["mixed"], disk, NOW - 10, "", 256, 0, 0, 0, 55),
        (13, users["reader"], disk, NOW - 10, "quiet", 32, 0, 0, NOW + 3600, None),
        (14, users["admin"], cpu, NOW, "cpu", 4, 0, 0, 0, None),
    ])
    return users


async def test_select_acknowledges_extend_newest_first_with_names(get: Any, world: World, history: dict[str, int]) -> None:
    [disk] = await get({"output": ["name"], "eventids": world.events["disk"], "selectAcknowledges": "extend"})
    assert [row["acknowledgeid"] for row in disk["acknowledges"]] == ["13", "12", "11", "10"]  # clock, then id, descending
    assert disk["acknowledges"][1] == {
        "acknowledgeid": "12", "userid": str(history["mixed"]), "clock": str(NOW - 10), "message": "", "action": "256",
        "old_severity": "0", "new_severity": "0", "suppress_until": "0", "taskid": "55",
        "username": "mixed", "name": "Mixed", "surname": "Tester",
    }
    assert disk["acknowledges"][2] == {
        "acknowledgeid": "11", "userid": str(history["writer"]), "clock": str(NOW - 20), "message": "raised", "action": "8",
        "old_severity": "2", "new_severity": "4", "suppress_until": "0", "taskid": "0",
        "username": "writer", "name": "Writer", "surname": "Tester",
    }
    assert disk["acknowledges"][3]["username"] == "Admin" and disk["acknowledges"][3]["name"] == "Zabbix"
    assert disk["acknowledges"][0]["suppress_until"] == str(NOW + 3600)


async def test_select_acknowledges_fields_count_and_the_old_name(get: Any, world: World, history: dict[str, int]) -> None:
    ids = world.ids("cpu", "disk", "door")
    assert await get({"output": ["name"], "eventids": world.events["cpu"], "selectAcknowledges": ["action", "username"]}) == [
        {"name": "CPU is high", "acknowledges": [{"action": "4", "username": "Admin"}]}]
    assert await get({"output": ["name"], "eventids": world.events["disk"], "selectAcknowledges": ["acknowledgeid"], "limit": 1}) == [
        {"name": "Disk is full", "acknowledges": [{"acknowledgeid": "13"}, {"acknowledgeid": "12"}, {"acknowledgeid": "11"},
                                                  {"acknowledgeid": "10"}]}]
    counts = await get({"output": ["name"], "eventids": ids, "selectAcknowledges": "count"})
    assert [obj["acknowledges"] for obj in counts] == ["1", "4", "0"]
    assert await get({"output": ["name"], "eventids": ids, "select_acknowledges": "count"}) == counts
    both = await get({"output": ["name"], "eventids": ids, "select_acknowledges": "extend", "selectAcknowledges": "count"})
    assert both == counts
    assert (await get({"output": ["name"], "eventids": ids, "selectAcknowledges": None}))[0] == {"name": "CPU is high"}


async def test_acknowledge_authors_names_only_for_users_the_caller_may_see(get: Any, world: World, history: dict[str, int]) -> None:
    # reader shares "Readers" with mixed; admin and writer are strangers to it
    [disk] = await get({"output": ["name"], "eventids": world.events["disk"], "selectAcknowledges": "extend"}, who="reader")
    shown = {row["acknowledgeid"]: (row.get("username"), row.get("name"), row.get("surname")) for row in disk["acknowledges"]}
    assert shown == {"13": ("reader", "Reader", "Tester"), "12": ("mixed", "Mixed", "Tester"), "11": (None, None, None),
                     "10": (None, None, None)}
    assert set(disk["acknowledges"][2]) == {"acknowledgeid", "userid", "clock", "message", "action", "old_severity",
                                            "new_severity", "suppress_until", "taskid"}
    [disk] = await get({"output": ["name"], "eventids": world.events["disk"], "selectAcknowledges": ["surname"]}, who="reader")
    assert [row.get("surname") for row in disk["acknowledges"]] == ["Tester", "Tester", None, None]
    assert all(set(row) <= {"surname"} for row in disk["acknowledges"])


async def test_select_tags_hosts_alerts_and_related_object(get: Any, world: World) -> None:
    cpu = world.events["cpu"]
    assert await get({"output": ["name"], "eventids": cpu, "selectTags": "extend"}) == [
        {"name": "CPU is high", "tags": [{"tag": "service", "value": "web"}, {"tag": "env", "value": "prod"}]}]
    assert await get({"output": ["name"], "eventids": world.ids("door", "disk"), "selectTags": ["value"]}) == [
        {"name": "Disk is full", "tags": [{"value": "db"}]}, {"name": "Door is open", "tags": []}]
    assert await get({"output": ["name"], "eventids": cpu, "selectHosts": "extend"}) == [
        {"name": "CPU is high", "hosts": [{"hostid": world.hosts["web-01"], "host": "web-01", "name": "web-01", "status": "0"}]}]
    assert await get({"output": ["name"], "eventids": world.events["nginx_ok"], "selectHosts": ["host"]}) == [
        {"name": "Nginx is down", "hosts": [{"host": "web-01"}]}]
    assert await get({"output": ["name"], "eventids": cpu, "selectAlerts": "extend", "select_alerts": ["subject"]}) == [
        {"name": "CPU is high", "alerts": []}]
    assert await get({"output": ["name"], "eventids": cpu, "select_alerts": ["subject"]}) == [{"name": "CPU is high", "alerts": []}]
    assert await get({"output": ["name"], "eventids": cpu, "selectRelatedObject": ["description", "priority"]}) == [
        {"name": "CPU is high", "relatedObject": {"description": "CPU is high", "priority": "4"}}]
    [extend] = await get({"output": ["name"], "eventids": cpu, "selectRelatedObject": "extend"})
    assert extend["relatedObject"]["triggerid"] == world.triggers["CPU is high"]
    assert extend["relatedObject"]["manual_close"] == "1"


# --- permissions ---


async def test_readers_see_the_events_of_readable_hosts_only(ids_of: Any, get: Any, world: World) -> None:
    assert await ids_of(who="reader") == ["cpu", "disk", "nginx", "nginx_ok"]
    assert await ids_of({"eventids": world.events["door"]}, who="reader") == []
    assert await get({"countOutput": True}, who="reader") == "4"
    assert await ids_of({"editable": True}, who="reader") == []
    assert await ids_of({"editable": True}, who="writer") == ["cpu", "nginx", "nginx_ok"]
    assert await ids_of({"editable": False}, who="writer") == ["cpu", "disk", "nginx", "nginx_ok"]


async def test_a_deny_wins_and_no_rights_mean_no_events(ids_of: Any, get: Any) -> None:
    assert await ids_of(who="mixed") == ["disk"]
    assert await get(who="nobody") == []
    assert await get({"countOutput": True, "groupBy": "objectid"}, who="nobody") == []


# --- bad input ---


EVENT_FIELDS = ('"eventid", "source", "object", "objectid", "clock", "value", "acknowledged", "ns", "name", "severity", '
                '"r_eventid", "c_eventid", "correlationid", "userid", "cause_eventid", "opdata", "suppressed", "urls"')
ACKNOWLEDGE_FIELDS = ('"acknowledgeid", "userid", "clock", "message", "action", "old_severity", "new_severity", '
                      '"suppress_until", "taskid", "username", "name", "surname"')


@pytest.mark.parametrize(
    "params, data",
    [
        ({"hostid": 1}, 'Invalid parameter "/": unexpected parameter "hostid".'),
        ({"source": 9, "sortfield": "x", "nope": 1}, 'Invalid parameter "/": unexpected parameter "nope".'),
        ({"limit": 0, "source": 9}, 'Invalid parameter "/source": value must be one of 0, 1, 2, 3, 4.'),
        ({"eventids": "abc"}, 'Invalid parameter "/eventids/1": a number is expected.'),
        ({"groupids": {"a": 1}}, 'Invalid parameter "/groupids": an array is expected.'),
        ({"object": 7}, 'Invalid parameter "/object": value must be one of 0, 1, 2, 3, 4, 5, 6.'),
        ({"value": "a"}, 'Invalid parameter "/value": an array is expected.'),
        ({"value": [1, "x"]}, 'Invalid parameter "/value/2": an integer is expected.'),
        ({"value": [1, 1]}, 'Invalid parameter "/value/2": value (1) already exists.'),
        ({"severities": 6}, 'Invalid parameter "/severities/1": value must be one of 0, 1, 2, 3, 4, 5.'),
        ({"severities": [2, "2"]}, 'Invalid parameter "/severities/2": value (2) already exists.'),
        ({"trigger_severities": [True]}, 'Invalid parameter "/trigger_severities/1": an integer is expected.'),
        ({"eventid_from": "x"}, 'Invalid parameter "/eventid_from": a number is expected.'),
        ({"time_from": -1}, 'Invalid parameter "/time_from": an unsigned integer is expected.'),
        ({"time_till": 2**31}, 'Invalid parameter "/time_till": a timestamp is too large.'),
        ({"problem_time_from": "soon"}, 'Invalid parameter "/problem_time_from": an unsigned integer is expected.'),
        ({"acknowledged": "true"}, 'Invalid parameter "/acknowledged": a boolean is expected.'),
        ({"acknowledged": 1}, 'Invalid parameter "/acknowledged": a boolean is expected.'),
        ({"action": 0}, 'Invalid parameter "/action": value must be one of 1-511.'),
        ({"action": 512}, 'Invalid parameter "/action": value must be one of 1-511.'),
        ({"action_userids": [-1]}, 'Invalid parameter "/action_userids/1": a number is expected.'),
        ({"suppressed": "no"}, 'Invalid parameter "/suppressed": a boolean is expected.'),
        ({"symptom": 0}, 'Invalid parameter "/symptom": a boolean is expected.'),
        ({"evaltype": 1}, 'Invalid parameter "/evaltype": value must be one of 0, 2.'),
        ({"tags": "service"}, 'Invalid parameter "/tags": an array is expected.'),
        ({"tags": ["service"]}, 'Invalid parameter "/tags/1": an array is expected.'),
        ({"tags": [{"value": "x"}]}, 'Invalid parameter "/tags/1": the parameter "tag" is missing.'),
        ({"tags": [{"tag": "a"}, {"tag": "b", "operator": 9}]}, 'Invalid parameter "/tags/2/operator": value must be one of 0, 1, 2, 3, 4, 5.'),
        ({"tags": [{"operator": 9, "colour": "red"}]}, 'Invalid parameter "/tags/1": unexpected parameter "colour".'),
        ({"tags": [{"tag": 5}]}, 'Invalid parameter "/tags/1/tag": a character string is expected.'),
        ({"tags": [{"tag": "a", "value": None}]}, 'Invalid parameter "/tags/1/value": a character string is expected.'),
        ({"filter": {"clock": 1}}, 'Invalid parameter "/filter": unexpected parameter "clock".'),
        ({"filter": "x"}, 'Invalid parameter "/filter": an array is expected.'),
        ({"search": {"tag": "x"}}, 'Invalid parameter "/search": unexpected parameter "tag".'),
        ({"searchByAny": 1}, 'Invalid parameter "/searchByAny": a boolean is expected.'),
        ({"output": "all"}, 'Invalid parameter "/output": value must be "extend".'),
        ({"output": ["r_clock"]}, f'Invalid parameter "/output/1": value must be one of {EVENT_FIELDS}.'),
        ({"groupBy": "name"}, 'Invalid parameter "/groupBy/1": value must be "objectid".'),
        ({"selectAcknowledges": "all"}, 'Invalid parameter "/selectAcknowledges": value must be one of "extend", "count".'),
        ({"selectAcknowledges": ["eventid"]}, f'Invalid parameter "/selectAcknowledges/1": value must be one of {ACKNOWLEDGE_FIELDS}.'),
        ({"select_acknowledges": 5}, 'Invalid parameter "/select_acknowledges": an array or a character string is expected.'),
        ({"selectAlerts": "count"}, 'Invalid parameter "/selectAlerts": value must be "extend".'),
        ({"select_alerts": ["eventid"]}, ('Invalid parameter "/select_alerts/1": value must be one of "alertid", "actionid", '
                                         '"userid", "clock", "mediatypeid", "sendto", "subject", "message", "status", "retries", '
                                         '"error", "esc_step", "alerttype", "p_eventid", "acknowledgeid".')),
        ({"selectHosts": ["hostid", "ip"]}, 'Invalid parameter "/selectHosts/2": value must be one of "hostid", "host", "name", "status".'),
        ({"selectSuppressionData": ["eventid"]}, ('Invalid parameter "/selectSuppressionData/1": value must be one of '
                                                 '"maintenanceid", "suppress_until", "userid".')),
        ({"selectTags": ["tag", "tag"]}, 'Invalid parameter "/selectTags/2": value (tag) already exists.'),
        ({"selectRelatedObject": ["expression"]}, ('Invalid parameter "/selectRelatedObject/1": value must be one of '
                                                  '"triggerid", "description", "priority", "manual_close", "value", "opdata", "lastchange".')),
        ({"sortfield": "name"}, 'Invalid parameter "/sortfield/1": value must be one of "eventid", "objectid", "clock", "rowscount".'),
        ({"sortorder": "UP"}, 'Invalid parameter "/sortorder/1": value must be one of "ASC", "DESC".'),
        ({"limit": 0}, 'Invalid parameter "/limit": value must be one of 1-2147483647.'),
        ({"limit": "ten"}, 'Invalid parameter "/limit": an integer is expected.'),
        ({"editable": 1}, 'Invalid parameter "/editable": a boolean is expected.'),
        ({"preservekeys": "yes"}, 'Invalid parameter "/preservekeys": a boolean is expected.'),
        ({"nopermissions": "yes"}, 'Invalid parameter "/nopermissions": a boolean is expected.'),
        ([1], 'Invalid parameter "/": unexpected parameter "0".'),
    ],
)
async def test_bad_input_is_refused(rpc: Any, world: World, params: Any, data: str) -> None:
    response = await rpc("event.get", params, headers={"Authorization": f"Bearer {world.sessions['admin']}"})
    assert error_of(response) == (-32602, "Invalid params.", data)


async def test_nopermissions_is_accepted_and_changes_nothing(ids_of: Any) -> None:
    assert await ids_of({"nopermissions": True}, who="mixed") == ["disk"]
