"""Host-group permissions end to end: users, groups and rights set up through the API, then what
each user sees and may change (API.md §2: reads filter silently, writes answer -32500)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from rpcserver.storage.acknowledge import event_states, problem_events, readable_states

from .conftest import cached_world, error_of, storage_of

NO_PERMISSIONS = (-32500, "Application error.", "No permissions to referred object or it does not exist!")
ADMIN_ROLE = "2"


@cached_world
async def world(call: Any, admin: str, login: Any) -> dict[str, Any]:
    """Host groups Web and DB; user groups granting read, read-write, nothing, and read plus a deny."""
    web, db = (await call("hostgroup.create", [{"name": "Web"}, {"name": "DB"}], auth=admin))["groupids"]
    await call("event.create", [
        {"host": "web-01", "name": "Nginx is down", "groups": ["Web"], "severity": 4},
        {"host": "db-01", "name": "Replication lag", "groups": ["DB"], "severity": 5},
        {"host": "shared-01", "name": "Disk full", "groups": ["Web", "DB"], "severity": 3},
    ], auth=admin)
    rights = {
        "ro": [{"id": web, "permission": 2}],
        "rw": [{"id": web, "permission": 3}],
        "none": [],
        "denied": [{"id": web, "permission": 3}, {"id": db, "permission": 0}],
    }
    sessions = {}
    for name, hostgroup_rights in rights.items():
        usrgrpid = (await call("usergroup.create", {"name": f"{name} group", "hostgroup_rights": hostgroup_rights}, auth=admin))["usrgrpids"][0]
        await call("user.create", {"username": name, "passwd": "long-enough-1", "roleid": ADMIN_ROLE,
                                   "usrgrps": [{"usrgrpid": usrgrpid}]}, auth=admin)
        sessions[name] = await login(name, "long-enough-1")
    return {"sessions": sessions, "web": web, "db": db}


async def hosts(call: Any, session: str, **params: Any) -> list[str]:
    return sorted(h["host"] for h in await call("host.get", {"output": ["host"], **params}, auth=session))


@pytest.mark.parametrize(
    "user, readable, writable",
    [
        ("ro", ["shared-01", "web-01"], []),
        ("rw", ["shared-01", "web-01"], ["shared-01", "web-01"]),
        ("none", [], []),
        ("denied", ["web-01"], ["web-01"]),  # a deny on any of a host's groups hides it
    ],
)
async def test_reads_are_filtered_by_rights(call: Any, world: dict[str, Any], user: str, readable: list[str], writable: list[str]) -> None:
    session = world["sessions"][user]
    assert await hosts(call, session) == readable
    assert await hosts(call, session, editable=True) == writable
    triggers = await call("trigger.get", {"output": ["description"], "selectHosts": ["host"]}, auth=session)
    assert sorted(t["hosts"][0]["host"] for t in triggers) == readable
    groups = await call("hostgroup.get", {"output": ["name"]}, auth=session)
    expected_groups = {"ro": ["Web"], "rw": ["Web"], "none": [], "denied": ["Web"]}[user]
    assert sorted(g["name"] for g in groups) == expected_groups


async def test_the_super_admin_sees_everything(call: Any, admin: str, world: dict[str, Any]) -> None:
    assert await hosts(call, admin) == ["db-01", "shared-01", "web-01"]


@pytest.mark.parametrize("user, allowed", [("ro", False), ("rw", True), ("none", False), ("denied", True)])
async def test_writes_need_read_write(rpc: Any, world: dict[str, Any], user: str, allowed: bool) -> None:
    response = await rpc("event.create", {"host": "web-01", "name": f"New problem for {user}", "groups": ["Web"]},
                         headers={"Authorization": f"Bearer {world['sessions'][user]}"})
    if allowed:
        assert "result" in response
    else:
        assert error_of(response) == NO_PERMISSIONS


async def test_writes_on_a_host_with_a_denied_group_are_refused(rpc: Any, world: dict[str, Any]) -> None:
    response = await rpc("event.create", {"host": "shared-01", "name": "x", "groups": ["Web"]},
                         headers={"Authorization": f"Bearer {world['sessions']['denied']}"})
    assert error_of(response) == NO_PERMISSIONS


@pytest.mark.parametrize("count", [1, 101])  # few ids are checked host by host, many in one pass: same rule
@pytest.mark.parametrize("user, host, allowed", [
    ("denied", "shared-01", False), ("denied", "web-01", True), ("ro", "web-01", True), ("none", "web-01", False),
])
async def test_acknowledge_follows_the_same_rule_for_few_and_many_ids(
    call: Any, rpc: Any, admin: str, world: dict[str, Any], count: int, user: str, host: str, allowed: bool
) -> None:
    groups = {"shared-01": ["Web", "DB"], "web-01": ["Web"]}[host]
    created = await call("event.create", [{"host": host, "name": f"p{n}", "groups": groups} for n in range(count)], auth=admin)
    response = await rpc("event.acknowledge", {"eventids": created["eventids"], "action": 2},
                         headers={"Authorization": f"Bearer {world['sessions'][user]}"})
    if allowed:
        assert response["result"] == {"eventids": created["eventids"]}
    else:
        assert error_of(response) == NO_PERMISSIONS


@pytest.mark.parametrize("user", ["ro", "rw", "none", "denied", None])
async def test_readable_states_reads_what_problem_events_and_event_states_read(
    client: Any, call: Any, admin: str, world: dict[str, Any], user: str | None
) -> None:
    """The acknowledge's one statement against the two it stands for, per user (None: a super admin):
    problems readable or not, a resolved one, its recovery event, an id that is no event."""
    created = await call("event.create", [{"host": "web-01", "name": "Gone", "groups": ["Web"], "value": v} for v in (1, 0)],
                         auth=admin)
    problems = await call("problem.get", {"output": ["eventid"], "sortfield": ["eventid"]}, auth=admin)
    ids = [int(p["eventid"]) for p in problems] + [int(e) for e in created["eventids"]] + [10**9]
    now = int(time.time())

    def both_ways(conn: Any, ids: list[int]) -> tuple[Any, Any]:
        userid = None if user is None else conn.execute("SELECT userid FROM users WHERE username = ?", (user,)).fetchone()[0]
        return readable_states(conn, ids, userid, now), (problem_events(conn, ids, userid), *event_states(conn, ids, now))

    one, two = await storage_of(client).read(both_ways, ids)
    assert one == two
    assert len(one[0]) < len(ids) and bool(one[0]) == (user != "none")  # readable and unreadable ids in play
    for eventid in ids:  # one id alone is read by its key, without a table of ids
        one, two = await storage_of(client).read(both_ways, [eventid])
        assert one == two
