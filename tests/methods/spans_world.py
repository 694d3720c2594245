"""What the acknowledgement-span tests share: a world made through the API, and readers of the
stored spans, history rows and flags for "nothing else changed" checks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from ..conftest import cached_world, storage_of

NOW = 1_700_000_000  # the clock fixture's start
PASSWORD = "Secret-pass-1"
ADMIN_USERID = 1
NO_PERMISSIONS = (-32500, "Application error.", "No permissions to referred object or it does not exist!")
NOT_ALLOWED = (-32500, "Application error.", "You do not have permission to perform this operation.")
NOT_AN_END = ('Invalid parameter "/acknowledged_until": expected epoch seconds, a duration such as "30s", "5m", '
              '"2h" or "1d", or null.')


def invalid(data: str) -> tuple[int, str, str]:
    return (-32602, "Invalid params.", data)


@dataclass
class World:
    events: dict[str, int]
    """web, web2 (hosts in "Web"), db (host in "DB"), ok (a recovery event) -> event id."""
    users: dict[str, int]
    sessions: dict[str, str]
    """admin; reader (read on Web), nobody (no rights), noack (read on Web, may not acknowledge),
    nocomment (read on Web, may not comment) -> session id."""


async def build_world(call: Callable[..., Awaitable[Any]], login: Callable[..., Awaitable[str]], admin: str) -> World:
    created = (await call("event.create", [
        {"host": "web-01", "name": "CPU is high", "groups": ["Web"], "severity": 4},
        {"host": "web-02", "name": "Disk is full", "groups": ["Web"], "severity": 2},
        {"host": "db-01", "name": "Replication lag", "groups": ["DB"], "severity": 5},
        {"host": "web-03", "name": "Gone", "groups": ["Web"]},
    ], auth=admin))["eventids"]
    ok = (await call("event.create", {"host": "web-03", "name": "Gone", "value": 0}, auth=admin))["eventids"][0]
    web = (await call("hostgroup.get", {"output": ["groupid"], "filter": {"name": "Web"}}, auth=admin))[0]["groupid"]
    reading = (await call("usergroup.create", {"name": "Web readers", "hostgroup_rights": [{"id": web, "permission": 2}]},
                          auth=admin))["usrgrpids"][0]
    nothing = (await call("usergroup.create", {"name": "Nothing"}, auth=admin))["usrgrpids"][0]
    roles = {}
    for name, action in (("noack", "acknowledge_problems"), ("nocomment", "add_problem_comments")):
        rules = {"actions": [{"name": action, "status": 0}]}
        roles[name] = (await call("role.create", {"name": name, "type": 1, "rules": rules}, auth=admin))["roleids"][0]
    users = {"admin": ADMIN_USERID}
    sessions = {"admin": admin}
    for name, group, roleid in (("reader", reading, "1"), ("nobody", nothing, "1"), ("noack", reading, roles["noack"]),
                                ("nocomment", reading, roles["nocomment"])):
        users[name] = int((await call("user.create", {"username": name, "passwd": PASSWORD, "roleid": roleid,
                                                      "usrgrps": [{"usrgrpid": group}]}, auth=admin))["userids"][0])
        sessions[name] = await login(name, PASSWORD)
    web_event, web2, db, _ = created
    return World({"web": web_event, "web2": web2, "db": db, "ok": ok}, users, sessions)


@cached_world
async def world(call: Any, login: Any, admin: str) -> World:
    return await build_world(call, login, admin)


@pytest.fixture
def api(rpc: Any, world: World) -> Callable[..., Awaitable[dict[str, Any]]]:
    """Call a method as a user of the world (the super admin by default); the whole response."""

    async def run(method: str, params: Any, user: str = "admin") -> dict[str, Any]:
        return await rpc(method, params, headers={"Authorization": f"Bearer {world.sessions[user]}"})

    return run


def history(client: Any) -> Awaitable[list[tuple[Any, ...]]]:
    """Every acknowledges row: (userid, eventid, clock, message, action), oldest first."""
    return storage_of(client).read(lambda c: c.execute(
        "SELECT userid, eventid, clock, message, action FROM acknowledges ORDER BY acknowledgeid").fetchall())


def stored_spans(client: Any) -> Awaitable[list[tuple[Any, ...]]]:
    return storage_of(client).read(lambda c: c.execute("SELECT * FROM acknowledgement ORDER BY 1").fetchall())


def unrecorded_end(client: Any, eventid: int) -> Awaitable[int]:
    """1 while the event has a span whose end is not history yet (what the expiry sweep records), else 0."""
    return storage_of(client).read(lambda c: c.execute(
        "SELECT EXISTS (SELECT 1 FROM acknowledgement WHERE eventid = ? AND end_recorded = 0)", (eventid,)).fetchone()[0])


async def state(client: Any) -> tuple[Any, ...]:
    """Everything an acknowledgement call could change."""
    return (await stored_spans(client), await history(client))
