"""event.create: ingestion through the endpoint (API.md §3)."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from ..conftest import error_of, storage_of

EVENT = {"host": "web-01", "name": "Nginx is not running", "severity": 4, "groups": ["Linux servers"], "manual_close": 1,
         "tags": [{"tag": "service", "value": "web"}], "opdata": "pid 0"}


def rows(client: Any, sql: str, *args: Any) -> Any:
    return storage_of(client).read(lambda conn: conn.execute(sql, args).fetchall())


async def test_a_new_event_creates_group_host_trigger_and_problem(client: Any, call: Any, admin: str, clock: Any) -> None:
    result = await call("event.create", EVENT, auth=admin)
    assert list(result) == ["eventids"] and len(result["eventids"]) == 1
    eventid = result["eventids"][0]
    assert isinstance(eventid, int)
    assert await rows(client, "SELECT h.host FROM hosts h JOIN hosts_groups hg USING (hostid) JOIN hstgrp g USING (groupid)"
                              " WHERE g.name = 'Linux servers'") == [("web-01",)]
    assert await rows(client, "SELECT description, priority, manual_close, value, opdata FROM triggers") == [
        ("Nginx is not running", 4, 1, 1, "pid 0")]
    assert await rows(client, "SELECT value, severity, clock, name FROM events WHERE eventid = ?", eventid) == [
        (1, 4, int(clock.now), "Nginx is not running")]
    assert await rows(client, "SELECT r_eventid, severity FROM problem WHERE eventid = ?", eventid) == [(None, 4)]
    assert await rows(client, "SELECT tag, value FROM problem_tag WHERE eventid = ?", eventid) == [("service", "web")]
    assert await rows(client, "SELECT tag, value FROM event_tag WHERE eventid = ?", eventid) == [("service", "web")]


async def test_opening_is_idempotent_and_value_0_resolves(client: Any, call: Any, admin: str, clock: Any) -> None:
    first = (await call("event.create", EVENT, auth=admin))["eventids"]
    assert (await call("event.create", EVENT, auth=admin))["eventids"] == first
    clock.advance(60)
    ok = (await call("event.create", {"host": "web-01", "name": EVENT["name"], "value": 0}, auth=admin))["eventids"]
    assert ok != first
    assert await rows(client, "SELECT r_eventid, r_clock FROM problem WHERE eventid = ?", first[0]) == [(ok[0], int(clock.now))]
    assert await rows(client, "SELECT eventid, r_eventid FROM event_recovery") == [(first[0], ok[0])]
    assert await rows(client, "SELECT value FROM triggers") == [(0,)]
    assert (await call("event.create", {"host": "web-01", "name": EVENT["name"], "value": 0}, auth=admin))["eventids"] == []
    reopened = (await call("event.create", EVENT, auth=admin))["eventids"]
    assert reopened[0] > ok[0]


async def test_defaults_and_an_explicit_clock(client: Any, call: Any, admin: str) -> None:
    eventid = (await call("event.create", {"host": "h 1", "name": "p", "clock": 1000}, auth=admin))["eventids"][0]
    assert await rows(client, "SELECT g.name FROM hstgrp g JOIN hosts_groups USING (groupid)") == [("Discovered hosts",)]
    assert await rows(client, "SELECT clock, severity FROM events WHERE eventid = ?", eventid) == [(1000, 0)]
    assert await rows(client, "SELECT manual_close FROM triggers") == [(0,)]


async def test_an_array_is_applied_in_order(call: Any, admin: str) -> None:
    result = await call("event.create", [{"host": "a", "name": "x"}, {"host": "a", "name": "x"}, {"host": "b", "name": "x"}], auth=admin)
    assert result["eventids"][0] == result["eventids"][1] != result["eventids"][2]


async def test_paged_users_are_recorded_and_must_exist(client: Any, call: Any, rpc: Any, admin: str) -> None:
    eventid = (await call("event.create", {**EVENT, "paged_users": ["Admin"]}, auth=admin))["eventids"][0]
    assert await rows(client, "SELECT eventid, userid FROM event_page") == [(eventid, 1)]
    response = await rpc("event.create", {"host": "x", "name": "y", "paged_users": ["nobody"]}, auth=admin)
    assert error_of(response) == (-32500, "Application error.", "No permissions to referred object or it does not exist!")
    assert await rows(client, "SELECT host FROM hosts WHERE host = 'x'") == []  # the failed call changed nothing


@pytest.mark.parametrize(
    "params, data",
    [
        ({"name": "x"}, 'Invalid parameter "/1": the parameter "host" is missing.'),
        ({"host": "web-01"}, 'Invalid parameter "/1": the parameter "name" is missing.'),
        ({"host": "web/01", "name": "x"}, 'Invalid parameter "/1/host": a host name may contain only ASCII letters, digits, spaces, ".", "-" and "_", 1 to 128 of them.'),
        ({"host": "h" * 129, "name": "x"}, 'Invalid parameter "/1/host": a host name may contain only ASCII letters, digits, spaces, ".", "-" and "_", 1 to 128 of them.'),
        ({"host": "", "name": "x"}, 'Invalid parameter "/1/host": a host name may contain only ASCII letters, digits, spaces, ".", "-" and "_", 1 to 128 of them.'),
        ({"host": 5, "name": "x"}, 'Invalid parameter "/1/host": a character string is expected.'),
        ({"host": "h", "name": "x" * 2049}, 'Invalid parameter "/1/name": value is too long.'),
        ({"host": "h", "name": ""}, 'Invalid parameter "/1/name": cannot be empty.'),
        ({"host": "h", "name": "x", "severity": 6}, 'Invalid parameter "/1/severity": value must be one of 0-5.'),
        ({"host": "h", "name": "x", "severity": "high"}, 'Invalid parameter "/1/severity": an integer is expected.'),
        ({"host": "h", "name": "x", "value": 2}, 'Invalid parameter "/1/value": value must be one of 0, 1.'),
        ({"host": "h", "name": "x", "manual_close": True}, 'Invalid parameter "/1/manual_close": an integer is expected.'),
        ({"host": "h", "name": "x", "groups": "Linux"}, 'Invalid parameter "/1/groups": an array is expected.'),
        ({"host": "h", "name": "x", "groups": [""]}, 'Invalid parameter "/1/groups/1": cannot be empty.'),
        ({"host": "h", "name": "x", "tags": [{"tag": "t" * 256}]}, 'Invalid parameter "/1/tags/1/tag": value is too long.'),
        ({"host": "h", "name": "x", "tags": [{"tag": "t", "value": "v" * 256}]}, 'Invalid parameter "/1/tags/1/value": value is too long.'),
        ({"host": "h", "name": "x", "tags": [{"tag": "t", "colour": "red"}]}, 'Invalid parameter "/1/tags/1": unexpected parameter "colour".'),
        ({"host": "h", "name": "x", "clock": -5}, 'Invalid parameter "/1/clock": an unsigned integer is expected.'),
        ({"host": "h", "name": "x", "clock": 2**31}, 'Invalid parameter "/1/clock": a timestamp is too large.'),
        ({"host": "h", "name": "x", "paged_users": "Admin"}, 'Invalid parameter "/1/paged_users": an array is expected.'),
        ({"host": "h", "name": "x", "priority": 3}, 'Invalid parameter "/1": unexpected parameter "priority".'),
        ([{"host": "h", "name": "x"}, {"host": "h"}], 'Invalid parameter "/2": the parameter "name" is missing.'),
        ([], 'Invalid parameter "/": cannot be empty.'),
    ],
)
async def test_bad_input_is_refused_and_changes_nothing(client: Any, rpc: Any, admin: str, params: Any, data: str) -> None:
    assert error_of(await rpc("event.create", params, auth=admin)) == (-32602, "Invalid params.", data)
    assert await rows(client, "SELECT count(*) FROM events") == [(0,)]
    assert await rows(client, "SELECT count(*) FROM hosts") == [(0,)]


def add_user(conn: sqlite3.Connection, username: str, roleid: int, rights: dict[str, int]) -> None:
    """A user whose own user group has `rights` (host group name -> permission)."""
    usrgrpid = conn.execute("INSERT INTO usrgrp (name) VALUES (?) RETURNING usrgrpid", (f"{username} group",)).fetchone()[0]
    for group, permission in rights.items():
        conn.execute("INSERT INTO hstgrp (name) VALUES (?) ON CONFLICT DO NOTHING", (group,))
        groupid = conn.execute("SELECT groupid FROM hstgrp WHERE name = ?", (group,)).fetchone()[0]
        conn.execute("INSERT INTO rights (groupid, permission, id) VALUES (?, ?, ?)", (usrgrpid, permission, groupid))
    from rpcserver.passwords import hash_password_sync

    userid = conn.execute("INSERT INTO users (username, passwd, roleid) VALUES (?, ?, ?) RETURNING userid",
                          (username, hash_password_sync("secret-pass", 4), roleid)).fetchone()[0]
    conn.execute("INSERT INTO users_groups (usrgrpid, userid) VALUES (?, ?)", (usrgrpid, userid))


async def test_who_may_ingest(client: Any, rpc: Any, login: Any) -> None:
    storage = storage_of(client)
    await storage.write(add_user, "plain", 1, {"Linux servers": 3})
    await storage.write(add_user, "admin-rw", 2, {"Linux servers": 3})
    await storage.write(add_user, "admin-ro", 2, {"Linux servers": 2})
    plain, admin_rw, admin_ro = [await login(name, "secret-pass") for name in ("plain", "admin-rw", "admin-ro")]

    refused = await rpc("event.create", EVENT, auth=plain)
    assert error_of(refused) == (-32500, "Application error.", "You do not have permission to perform this operation.")
    assert "result" in await rpc("event.create", EVENT, auth=admin_rw)
    no_rights = (-32500, "Application error.", "No permissions to referred object or it does not exist!")
    assert error_of(await rpc("event.create", {**EVENT, "host": "web-09"}, auth=admin_ro)) == no_rights
    # An admin cannot create groups...
    assert error_of(await rpc("event.create", {**EVENT, "groups": ["New group"]}, auth=admin_rw)) == no_rights
    # ...nor touch a host outside its writable groups.
    await rpc("event.create", {"host": "db-01", "name": "x", "groups": ["Databases"]}, auth=await login("Admin", "zabbix"))
    assert error_of(await rpc("event.create", {"host": "db-01", "name": "y", "groups": ["Linux servers"]}, auth=admin_rw)) == no_rights
    assert await rows(client, "SELECT count(*) FROM triggers WHERE description = 'y'") == [(0,)]
