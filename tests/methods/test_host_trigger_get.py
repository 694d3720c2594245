"""host.get and trigger.get through the endpoint, on the world of test_hostgroup (hosts and
triggers set up with SQL, as event.create would leave them)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from ..conftest import error_of
from .test_hostgroup import World, build_world


@pytest.fixture
async def world(client: Any, login: Callable[..., Awaitable[str]]) -> World:
    """hostgroup.*'s world: the same groups, hosts, triggers and users."""
    return await build_world(client, login)


def hosts_of(objects: list[dict[str, Any]]) -> list[str]:
    return [obj["host"] for obj in objects]


def descriptions(objects: list[dict[str, Any]]) -> list[str]:
    return [obj["description"] for obj in objects]


# --- host.get ---


async def test_host_get_extend(call: Any, admin: str, world: World) -> None:
    assert await call("host.get", {}, auth=admin) == [
        {"hostid": world.hosts["web-01"], "host": "web-01", "name": "Web server", "status": "0"},
        {"hostid": world.hosts["db-01"], "host": "db-01", "name": "Database server", "status": "1"},
        {"hostid": world.hosts["vault"], "host": "vault", "name": "Vault", "status": "0"},
    ]


async def test_host_get_output_and_id_filters(call: Any, admin: str, world: World) -> None:
    get = lambda **params: call("host.get", {"output": ["host"], **params}, auth=admin)  # noqa: E731
    # As in 7.0, the id is in the objects only when `output` asks for it.
    assert await get(hostids=world.hosts["vault"]) == [{"host": "vault"}]
    assert await get(hostids=world.hosts["vault"], output=["host", "hostid"]) == [{"hostid": world.hosts["vault"], "host": "vault"}]
    assert hosts_of(await get(groupids=[world.groups["Linux servers"]])) == ["web-01", "db-01"]
    assert hosts_of(await get(groupids=[world.groups["Misc"], world.groups["Secret"]])) == ["web-01", "vault"]
    assert hosts_of(await get(triggerids=[world.triggers["Door is open"], world.triggers["High CPU utilization"]])) == ["web-01", "vault"]
    assert hosts_of(await get(hostids=[world.hosts["db-01"]], groupids=[world.groups["Misc"]])) == []
    assert await get(hostids=[]) == []
    assert hosts_of(await get(hostids=None)) == ["web-01", "db-01", "vault"]


async def test_host_get_filter_and_search(call: Any, admin: str, world: World) -> None:
    get = lambda **params: call("host.get", {"output": ["host"], **params}, auth=admin)  # noqa: E731
    assert hosts_of(await get(filter={"host": "db-01"})) == ["db-01"]  # one value, as pyzabbix sends it
    assert hosts_of(await get(filter={"host": ["db-01", "vault", "none"]})) == ["db-01", "vault"]
    assert hosts_of(await get(filter={"status": 1})) == ["db-01"]
    assert hosts_of(await get(filter={"name": "Vault", "status": "0"})) == ["vault"]
    assert hosts_of(await get(filter={"hostid": [world.hosts["web-01"]]})) == ["web-01"]
    assert hosts_of(await get(search={"name": "SERVER"})) == ["web-01", "db-01"]
    assert hosts_of(await get(search={"host": "01"}, startSearch=True)) == []
    assert hosts_of(await get(search={"host": "db"}, startSearch=True)) == ["db-01"]
    assert hosts_of(await get(search={"host": "-01"}, excludeSearch=True)) == ["vault"]
    assert hosts_of(await get(search={"host": "web", "name": "Vault"}, searchByAny=True)) == ["web-01", "vault"]
    assert hosts_of(await get(search={"host": "web", "name": "Vault"})) == []
    assert hosts_of(await get(search={"host": "w*1"}, searchWildcardsEnabled=True)) == ["web-01"]
    assert hosts_of(await get(search={"host": "_"})) == []  # LIKE's own wildcards are plain characters


async def test_host_get_sort_limit_count_preservekeys(call: Any, admin: str, world: World) -> None:
    get = lambda **params: call("host.get", {"output": ["host"], **params}, auth=admin)  # noqa: E731
    assert hosts_of(await get(sortfield="host")) == ["db-01", "vault", "web-01"]
    assert hosts_of(await get(sortfield="name", sortorder="DESC")) == ["web-01", "vault", "db-01"]
    assert hosts_of(await get(sortfield=["status", "host"], sortorder=["DESC", "ASC"])) == ["db-01", "vault", "web-01"]
    assert hosts_of(await get(sortfield="hostid", sortorder="DESC", limit=2)) == ["vault", "db-01"]
    assert await call("host.get", {"countOutput": True}, auth=admin) == "3"
    assert await call("host.get", {"countOutput": True, "filter": {"status": 0}}, auth=admin) == "2"
    keyed = await get(preservekeys=True, hostids=[world.hosts["vault"]])
    assert keyed == {world.hosts["vault"]: {"host": "vault"}}


async def test_host_get_select_host_groups(call: Any, admin: str, world: World) -> None:
    [db] = await call("host.get", {"output": ["host"], "hostids": world.hosts["db-01"], "selectHostGroups": "extend"}, auth=admin)
    assert [(g["groupid"], g["name"], g["flags"]) for g in db["hostgroups"]] == [
        (world.groups["Linux servers"], "Linux servers", "0"),
        (world.groups["Databases"], "Databases", "0"),
    ]
    assert set(db["hostgroups"][0]) == {"groupid", "name", "flags", "uuid"}
    # A sub-select follows the output rule too: `["name"]` gives the names alone.
    hosts = await call("host.get", {"output": ["host"], "selectHostGroups": ["name"]}, auth=admin)
    assert hosts == [
        {"host": "web-01", "hostgroups": [{"name": "Linux servers"}, {"name": "Misc"}]},
        {"host": "db-01", "hostgroups": [{"name": "Linux servers"}, {"name": "Databases"}]},
        {"host": "vault", "hostgroups": [{"name": "Secret"}]},
    ]
    [vault] = await call("host.get", {"output": ["hostid"], "hostids": world.hosts["vault"], "selectHostGroups": ["groupid", "name"]}, auth=admin)
    assert vault == {"hostid": world.hosts["vault"], "hostgroups": [{"groupid": world.groups["Secret"], "name": "Secret"}]}


async def test_host_get_accepts_the_6x_select_groups(call: Any, admin: str, world: World) -> None:
    [vault] = await call("host.get", {"output": ["host"], "hostids": world.hosts["vault"], "selectGroups": ["name"]}, auth=admin)
    assert vault == {"host": "vault", "groups": [{"name": "Secret"}]}
    [both] = await call(
        "host.get", {"output": ["host"], "hostids": world.hosts["vault"], "selectGroups": ["name"], "selectHostGroups": ["groupid"]}, auth=admin
    )
    assert both["groups"] == [{"name": "Secret"}]
    assert both["hostgroups"] == [{"groupid": world.groups["Secret"]}]


@pytest.mark.parametrize(
    ("params", "data"),
    [
        ({"hosts": []}, 'Invalid parameter "/": unexpected parameter "hosts".'),
        ({"output": ["host", "ip"]}, 'Invalid parameter "/output/2": value must be one of "hostid", "host", "name", "status".'),
        ({"output": 5}, 'Invalid parameter "/output": an array or a character string is expected.'),
        ({"hostids": ["web-01"]}, 'Invalid parameter "/hostids/1": a number is expected.'),
        ({"groupids": [1, 1.5]}, 'Invalid parameter "/groupids/2": a number is expected.'),
        ({"triggerids": True}, 'Invalid parameter "/triggerids": an array is expected.'),
        ({"filter": {"ip": "127.0.0.1"}}, 'Invalid parameter "/filter": unexpected parameter "ip".'),
        ({"filter": {"host": {"a": 1}}}, 'Invalid parameter "/filter/host": a character string, integer or floating point value is expected.'),
        ({"filter": "web-01"}, 'Invalid parameter "/filter": an array is expected.'),
        ({"search": {"status": "0"}}, 'Invalid parameter "/search": unexpected parameter "status".'),
        ({"sortfield": ["host", "ip"]}, 'Invalid parameter "/sortfield/2": value must be one of "hostid", "host", "name", "status".'),
        ({"limit": -1}, 'Invalid parameter "/limit": value must be one of 1-2147483647.'),
        ({"searchByAny": "yes"}, 'Invalid parameter "/searchByAny": a boolean is expected.'),
        ({"selectHostGroups": ["name", "hosts"]}, 'Invalid parameter "/selectHostGroups/2": value must be one of "groupid", "name", "flags", "uuid".'),
        ({"selectHostGroups": "count"}, 'Invalid parameter "/selectHostGroups": value must be "extend".'),
        ({"selectGroups": {}}, 'Invalid parameter "/selectGroups": an array or a character string is expected.'),
        ({"selectTriggers": "extend"}, 'Invalid parameter "/": unexpected parameter "selectTriggers".'),
    ],
)
async def test_host_get_refuses_bad_input(rpc: Any, admin: str, params: Any, data: str) -> None:
    response = await rpc("host.get", params, headers={"Authorization": f"Bearer {admin}"})
    assert error_of(response) == (-32602, "Invalid params.", data)


# --- trigger.get ---


async def test_trigger_get_extend(call: Any, admin: str, world: World) -> None:
    triggers = await call("trigger.get", {}, auth=admin)
    assert triggers[1] == {
        "triggerid": world.triggers["Replication lag is too high"], "description": "Replication lag is too high", "priority": "4",
        "manual_close": "0", "value": "1", "opdata": "lag: 5s", "lastchange": "3000",
    }
    assert descriptions(triggers) == ["High CPU utilization", "Replication lag is too high", "Door is open"]


async def test_trigger_get_id_filters(call: Any, admin: str, world: World) -> None:
    get = lambda **params: call("trigger.get", {"output": ["description"], **params}, auth=admin)  # noqa: E731
    door = world.triggers["Door is open"]
    assert await get(triggerids=door) == [{"description": "Door is open"}]
    assert await get(triggerids=door, output=["triggerid"]) == [{"triggerid": door}]
    assert descriptions(await get(hostids=[world.hosts["web-01"], world.hosts["vault"]])) == ["High CPU utilization", "Door is open"]
    assert descriptions(await get(groupids=world.groups["Linux servers"])) == ["High CPU utilization", "Replication lag is too high"]
    assert descriptions(await get(groupids=world.groups["Databases"], hostids=world.hosts["web-01"])) == []


async def test_trigger_get_filter_search_sort(call: Any, admin: str, world: World) -> None:
    get = lambda **params: call("trigger.get", {"output": ["description"], **params}, auth=admin)  # noqa: E731
    assert descriptions(await get(filter={"value": 1})) == ["Replication lag is too high", "Door is open"]
    assert descriptions(await get(filter={"priority": ["2", "5"], "manual_close": 1})) == ["High CPU utilization", "Door is open"]
    assert descriptions(await get(filter={"description": "Door is open"})) == ["Door is open"]
    assert descriptions(await get(filter={"triggerid": world.triggers["High CPU utilization"]})) == ["High CPU utilization"]
    assert descriptions(await get(search={"description": "IS"})) == ["Replication lag is too high", "Door is open"]
    assert descriptions(await get(search={"description": "door"}, startSearch=True)) == ["Door is open"]
    assert descriptions(await get(search={"description": "is"}, excludeSearch=True)) == ["High CPU utilization"]
    assert descriptions(await get(search={"description": ["CPU", "lag"]}, searchByAny=True)) == ["High CPU utilization", "Replication lag is too high"]
    assert descriptions(await get(search={"description": "High*tion"}, searchWildcardsEnabled=True)) == ["High CPU utilization"]
    assert descriptions(await get(sortfield="priority", sortorder="DESC")) == ["Door is open", "Replication lag is too high", "High CPU utilization"]
    assert descriptions(await get(sortfield="lastchange")) == ["High CPU utilization", "Door is open", "Replication lag is too high"]
    assert descriptions(await get(sortfield="description", limit=1)) == ["Door is open"]


async def test_trigger_get_count_preservekeys_select_hosts(call: Any, admin: str, world: World) -> None:
    assert await call("trigger.get", {"countOutput": True}, auth=admin) == "3"
    assert await call("trigger.get", {"countOutput": True, "filter": {"value": 0}}, auth=admin) == "1"
    door = world.triggers["Door is open"]
    keyed = await call("trigger.get", {"output": ["priority"], "triggerids": [door], "preservekeys": True, "selectHosts": "extend"}, auth=admin)
    assert keyed == {door: {"priority": "5", "hosts": [
        {"hostid": world.hosts["vault"], "host": "vault", "name": "Vault", "status": "0"},
    ]}}
    triggers = await call("trigger.get", {"output": ["description"], "selectHosts": ["name"]}, auth=admin)
    assert [t["hosts"] for t in triggers] == [[{"name": "Web server"}], [{"name": "Database server"}], [{"name": "Vault"}]]


@pytest.mark.parametrize(
    ("params", "data"),
    [
        ({"expandDescription": True}, 'Invalid parameter "/": unexpected parameter "expandDescription".'),
        ({"output": ["description", "expression"]}, 'Invalid parameter "/output/2": value must be one of "triggerid", "description", '
                                                    '"priority", "manual_close", "value", "opdata", "lastchange".'),
        ({"triggerids": ["1", "x"]}, 'Invalid parameter "/triggerids/2": a number is expected.'),
        ({"hostids": [-3]}, 'Invalid parameter "/hostids/1": a number is expected.'),
        ({"filter": {"opdata": ""}}, 'Invalid parameter "/filter": unexpected parameter "opdata".'),
        ({"search": {"priority": "5"}}, 'Invalid parameter "/search": unexpected parameter "priority".'),
        ({"sortfield": "value"}, 'Invalid parameter "/sortfield/1": value must be one of "triggerid", "description", "priority", "lastchange".'),
        ({"sortorder": ["ASC", "down"]}, 'Invalid parameter "/sortorder/2": value must be one of "ASC", "DESC".'),
        ({"limit": 2**31}, 'Invalid parameter "/limit": a number is too large.'),
        ({"selectHosts": ["host", "groups"]}, 'Invalid parameter "/selectHosts/2": value must be one of "hostid", "host", "name", "status".'),
        ({"selectHosts": "count"}, 'Invalid parameter "/selectHosts": value must be "extend".'),
    ],
)
async def test_trigger_get_refuses_bad_input(rpc: Any, admin: str, params: Any, data: str) -> None:
    response = await rpc("trigger.get", params, headers={"Authorization": f"Bearer {admin}"})
    assert error_of(response) == (-32602, "Invalid params.", data)


# --- permissions ---


async def test_a_reader_sees_its_hosts_and_their_triggers(call: Any, world: World) -> None:
    session = world.sessions["reader"]
    hosts = await call("host.get", {"output": ["host"], "selectHostGroups": ["name"]}, auth=session)
    # Misc grants nothing to readers, but denies nothing either: web-01 shows, Misc does not.
    assert hosts == [
        {"host": "web-01", "hostgroups": [{"name": "Linux servers"}]},
        {"host": "db-01", "hostgroups": [{"name": "Linux servers"}, {"name": "Databases"}]},
    ]
    triggers = await call("trigger.get", {"output": ["description"], "selectHosts": ["host"]}, auth=session)
    assert [(t["description"], hosts_of(t["hosts"])) for t in triggers] == [
        ("High CPU utilization", ["web-01"]), ("Replication lag is too high", ["db-01"]),
    ]
    assert await call("host.get", {"hostids": world.hosts["vault"]}, auth=session) == []
    assert await call("trigger.get", {"triggerids": world.triggers["Door is open"]}, auth=session) == []
    assert await call("host.get", {"countOutput": True}, auth=session) == "2"
    assert await call("trigger.get", {"countOutput": True}, auth=session) == "2"


async def test_editable_hides_what_a_reader_only_reads(call: Any, world: World) -> None:
    session = world.sessions["reader"]
    assert await call("host.get", {"editable": True}, auth=session) == []
    assert await call("trigger.get", {"editable": True}, auth=session) == []
    assert await call("host.get", {"editable": True, "countOutput": True}, auth=session) == "0"


async def test_a_deny_on_any_group_of_the_host_hides_it(call: Any, world: World) -> None:
    session = world.sessions["denied"]
    assert hosts_of(await call("host.get", {"output": ["host"]}, auth=session)) == ["web-01"]
    assert await call("host.get", {"hostids": world.hosts["db-01"]}, auth=session) == []
    assert descriptions(await call("trigger.get", {"output": ["description"]}, auth=session)) == ["High CPU utilization"]
    assert await call("trigger.get", {"hostids": world.hosts["db-01"]}, auth=session) == []


async def test_no_rights_no_hosts_no_triggers(call: Any, world: World) -> None:
    session = world.sessions["nobody"]
    assert await call("host.get", {}, auth=session) == []
    assert await call("trigger.get", {}, auth=session) == []
    assert await call("host.get", {"countOutput": True}, auth=session) == "0"
    assert await call("trigger.get", {"countOutput": True, "hostids": world.hosts["web-01"]}, auth=session) == "0"


async def test_a_writer_edits_hosts_it_has_read_write_on(call: Any, world: World) -> None:
    session = world.sessions["writer"]
    # db-01 is read-write through Linux servers though only readable through Databases.
    assert hosts_of(await call("host.get", {"output": ["host"], "editable": True}, auth=session)) == ["web-01", "db-01"]
    assert descriptions(await call("trigger.get", {"output": ["description"], "editable": True}, auth=session)) == [
        "High CPU utilization", "Replication lag is too high",
    ]
    [db] = await call("host.get", {"output": ["host"], "hostids": world.hosts["db-01"], "selectGroups": "extend", "editable": True}, auth=session)
    assert [g["name"] for g in db["groups"]] == ["Linux servers", "Databases"]
