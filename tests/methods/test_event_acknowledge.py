"""event.acknowledge through the endpoint: every check of ZA §1.3 in its order, the skip table of
§1.4, the stored rows, the effects, atomicity and permissions."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import pytest

from ..conftest import cached_world, error_of, result_of, storage_of, ten_thousand_problems

NO_PERMISSIONS = (-32500, "Application error.", "No permissions to referred object or it does not exist!")
CANNOT_CLOSE = (-32500, "Application error.", "Cannot close problem: trigger does not allow manual closing.")
PASSWORD = "long-enough-1"


def invalid(data: str) -> tuple[int, str, str]:
    return (-32602, "Invalid params.", data)


def incorrect(field: str, reason: str) -> tuple[int, str, str]:
    return invalid(f'Incorrect value for field "{field}": {reason}.')


@cached_world
async def world(call: Any, admin: str, login: Any) -> dict[str, Any]:
    """Problems on hosts in "Web" (closable, not closable, resolved) and "DB"; users with read,
    read-write, no rights, and read-write with a role that allows no problem actions."""
    ids = (await call("event.create", [
        {"host": "web-01", "name": "closable", "groups": ["Web"], "manual_close": 1, "severity": 2},
        {"host": "web-01", "name": "not closable", "groups": ["Web"], "manual_close": 0, "severity": 3},
        {"host": "web-02", "name": "resolved", "groups": ["Web"], "manual_close": 1, "severity": 4},
        {"host": "db-01", "name": "database", "groups": ["DB"], "manual_close": 1, "severity": 5},
    ], auth=admin))["eventids"]
    ok_event = (await call("event.create", {"host": "web-02", "name": "resolved", "value": 0}, auth=admin))["eventids"][0]
    web = (await call("hostgroup.get", {"output": ["groupid"], "filter": {"name": "Web"}}, auth=admin))[0]["groupid"]
    no_actions = (await call("role.create", {"name": "No actions", "type": 1, "rules": {"actions.default_access": 0}}, auth=admin))["roleids"][0]
    sessions = {}
    for name, permission, roleid in (("ro", 2, "1"), ("rw", 3, "1"), ("none", None, "1"), ("noactions", 3, no_actions)):
        rights = [] if permission is None else [{"id": web, "permission": permission}]
        usrgrpid = (await call("usergroup.create", {"name": f"{name} group", "hostgroup_rights": rights}, auth=admin))["usrgrpids"][0]
        await call("user.create", {"username": name, "passwd": PASSWORD, "roleid": roleid, "usrgrps": [{"usrgrpid": usrgrpid}]}, auth=admin)
        sessions[name] = await login(name, PASSWORD)
    closable, not_closable, resolved, database = ids
    return {"closable": closable, "not_closable": not_closable, "resolved": resolved, "database": database,
            "ok_event": ok_event, "admin": admin, **sessions}


@pytest.fixture
def ack(rpc: Any, world: dict[str, Any]) -> Any:
    """event.acknowledge as a user of the world (the super admin by default); the whole response."""

    async def run(params: Any, user: str = "admin") -> dict[str, Any]:
        return await rpc("event.acknowledge", params, headers={"Authorization": f"Bearer {world[user]}"})

    return run


def history(client: Any) -> Any:
    return storage_of(client).read(lambda c: c.execute(
        "SELECT eventid, userid, action, message, old_severity, new_severity, suppress_until, clock FROM acknowledges ORDER BY acknowledgeid"
    ).fetchall())


def event_row(client: Any, eventid: int) -> Any:
    return storage_of(client).read(lambda c: c.execute(
        "SELECT EXISTS (SELECT 1 FROM acknowledgement a WHERE a.eventid = e.eventid AND a.end_recorded = 0), e.severity,"
        " p.severity, p.r_eventid FROM events e JOIN problem p USING (eventid) WHERE eventid = ?",
        (eventid,)).fetchone())


# --- step 1: the schema ---


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"action": 2}, invalid('Invalid parameter "/": the parameter "eventids" is missing.')),
        ({"eventids": "1"}, invalid('Invalid parameter "/": the parameter "action" is missing.')),
        ({"eventids": None, "action": 2}, invalid('Invalid parameter "/eventids": an array is expected.')),
        ({"eventids": {"x": 1}, "action": 2}, invalid('Invalid parameter "/eventids": an array is expected.')),
        ({"eventids": ["1", "abc"], "action": 2}, invalid('Invalid parameter "/eventids/2": a number is expected.')),
        ({"eventids": [1, 1.5], "action": 2}, invalid('Invalid parameter "/eventids/2": a number is expected.')),
        ({"eventids": [True], "action": 2}, invalid('Invalid parameter "/eventids/1": a number is expected.')),
        ({"eventids": [-5], "action": 2}, invalid('Invalid parameter "/eventids/1": a number is expected.')),
        ({"eventids": [""], "action": 2}, invalid('Invalid parameter "/eventids/1": a number is expected.')),
        ({"eventids": ["9223372036854775808"], "action": 2}, invalid('Invalid parameter "/eventids/1": a number is too large.')),
        ({"eventids": "1", "action": "2a"}, invalid('Invalid parameter "/action": an integer is expected.')),
        ({"eventids": "1", "action": 6.0}, invalid('Invalid parameter "/action": an integer is expected.')),
        ({"eventids": "1", "action": True}, invalid('Invalid parameter "/action": an integer is expected.')),
        ({"eventids": "1", "action": None}, invalid('Invalid parameter "/action": an integer is expected.')),
        ({"eventids": "1", "action": 2**31}, invalid('Invalid parameter "/action": a number is too large.')),
        ({"eventids": "1", "action": 4, "message": 5}, invalid('Invalid parameter "/message": a character string is expected.')),
        ({"eventids": "1", "action": 4, "message": "x" * 2049}, invalid('Invalid parameter "/message": value is too long.')),
        ({"eventids": "1", "action": 8, "severity": "high"}, invalid('Invalid parameter "/severity": an integer is expected.')),
        ({"eventids": "1", "action": 32, "suppress_until": -1}, invalid('Invalid parameter "/suppress_until": an unsigned integer is expected.')),
        ({"eventids": "1", "action": 32, "suppress_until": 2**31}, invalid('Invalid parameter "/suppress_until": a timestamp is too large.')),
        ({"eventids": "1", "action": 2, "suppress_until": "soon"}, invalid('Invalid parameter "/suppress_until": an unsigned integer is expected.')),
        ({"eventids": "1", "action": 32}, invalid('Invalid parameter "/": the parameter "suppress_until" is missing.')),
        ({"eventids": "1", "action": 256}, invalid('Invalid parameter "/": the parameter "cause_eventid" is missing.')),
        ({"eventids": "1", "action": 256, "cause_eventid": "x"}, invalid('Invalid parameter "/cause_eventid": a number is expected.')),
        ({"eventids": "1", "action": 256, "cause_eventid": None}, invalid('Invalid parameter "/cause_eventid": a number is expected.')),
        ({"eventids": "1", "action": 2, "cause_eventid": None}, invalid('Invalid parameter "/": unexpected parameter "cause_eventid".')),
        ({"eventids": "1", "action": 2, "cause_eventid": "1"}, invalid('Invalid parameter "/": unexpected parameter "cause_eventid".')),
        ({"eventids": "1", "action": 2, "foo": 1}, invalid('Invalid parameter "/": unexpected parameter "foo".')),
        (["1"], invalid('Invalid parameter "/": unexpected parameter "0".')),
    ],
)
async def test_schema(ack: Any, client: Any, params: Any, expected: tuple[int, str, str]) -> None:
    assert error_of(await ack(params)) == expected
    assert await history(client) == []


# --- steps 2-4: mask, role, pairs ---


async def test_mask(ack: Any) -> None:
    assert error_of(await ack({"eventids": "1", "action": 512})) == incorrect("action", 'unexpected value "512"')
    assert error_of(await ack({"eventids": "1", "action": -512})) == incorrect("action", 'unexpected value "-512"')
    # -1 has every bit set, 256 included: as in Zabbix, the schema then wants cause_eventid first.
    assert error_of(await ack({"eventids": "1", "action": -1})) == invalid('Invalid parameter "/": the parameter "cause_eventid" is missing.')


@pytest.mark.parametrize(
    "action, reason",
    [
        (1, "no permissions to close problems"),
        (4, "no permissions to add problem comments"),
        (8, "no permissions to change problem severity"),
        (2, "no permissions to acknowledge problems"),
        (16, "no permissions to unacknowledge problems"),
        (32, "no permissions to suppress problems"),
        (64, "no permissions to unsuppress problems"),
        (128, "no permissions to convert symptom problems to cause problems"),
        (256, "no permissions to convert cause problems to symptom problems"),
        (31, "no permissions to close problems"),
        (18, "no permissions to acknowledge problems"),  # the role is checked before the 2/16 pair
    ],
)
async def test_role_actions(ack: Any, world: dict[str, Any], action: int, reason: str) -> None:
    params = {"eventids": world["closable"], "action": action, "message": "m", "suppress_until": 0}
    if action & 256:
        params["cause_eventid"] = world["not_closable"]
    assert error_of(await ack(params, "noactions")) == incorrect("action", reason)


@pytest.mark.parametrize("action, pair", [(18, "2, 16"), (96, "32, 64"), (33, "1, 32"), (65, "1, 64"), (97, "32, 64"), (384, "128, 256")])
async def test_forbidden_pairs(ack: Any, world: dict[str, Any], action: int, pair: str) -> None:
    params = {"eventids": world["closable"], "action": action, "suppress_until": 0}
    if action & 256:
        params["cause_eventid"] = world["not_closable"]
    assert error_of(await ack(params)) == incorrect("action", f"value must be one of {pair}")


# --- step 5: existence and read permission ---


@pytest.mark.parametrize("ids", ["missing", "ok_event", "closable+missing", "database"])
async def test_missing_ok_and_unreadable_events(ack: Any, world: dict[str, Any], client: Any, ids: str) -> None:
    eventids = {"missing": [999999], "ok_event": [world["ok_event"]], "closable+missing": [world["closable"], 999999],
                "database": [world["database"]]}[ids]
    user = "ro" if ids == "database" else "admin"  # ro cannot read DB
    assert error_of(await ack({"eventids": eventids, "action": 2}, user)) == NO_PERMISSIONS
    assert await history(client) == []


async def test_no_rights_at_all(ack: Any, world: dict[str, Any]) -> None:
    assert error_of(await ack({"eventids": world["closable"], "action": 2}, "none")) == NO_PERMISSIONS


async def test_an_unreadable_cause(ack: Any, world: dict[str, Any]) -> None:
    params = {"eventids": world["closable"], "action": 256, "cause_eventid": world["database"]}
    assert error_of(await ack(params, "rw")) == NO_PERMISSIONS


# --- steps 6-10 ---


async def test_close_needs_read_write_then_manual_close(ack: Any, world: dict[str, Any], client: Any) -> None:
    assert error_of(await ack({"eventids": world["closable"], "action": 1}, "ro")) == NO_PERMISSIONS
    assert error_of(await ack({"eventids": world["not_closable"], "action": 1})) == CANNOT_CLOSE
    both = {"eventids": [world["closable"], world["not_closable"]], "action": 3}
    assert error_of(await ack(both)) == CANNOT_CLOSE  # the whole call is refused
    assert await history(client) == []
    assert (await event_row(client, world["closable"]))[0] == 0


@pytest.mark.parametrize("message", [{}, {"message": ""}, {"message": None}])
async def test_a_message_cannot_be_empty(ack: Any, world: dict[str, Any], message: dict[str, Any]) -> None:
    assert error_of(await ack({"eventids": world["closable"], "action": 4, **message})) == incorrect("message", "cannot be empty")


async def test_severity_needs_read_write_then_a_valid_value(ack: Any, world: dict[str, Any]) -> None:
    assert error_of(await ack({"eventids": world["closable"], "action": 8, "severity": 4}, "ro")) == NO_PERMISSIONS
    assert error_of(await ack({"eventids": world["closable"], "action": 8, "severity": 9}, "ro")) == NO_PERMISSIONS  # permission first
    for severity in (6, -1, 100):
        expected = incorrect("severity", f'unexpected value "{severity}"')
        assert error_of(await ack({"eventids": world["closable"], "action": 8, "severity": severity})) == expected


async def test_suppress_until_must_be_in_the_future_or_0(ack: Any, world: dict[str, Any], clock: Any) -> None:
    now = int(clock.now)
    for until in (now, now - 1, 1):
        assert error_of(await ack({"eventids": world["closable"], "action": 32, "suppress_until": until})) == incorrect("suppress_until", f'unexpected value "{until}"')
    assert "result" in await ack({"eventids": world["closable"], "action": 32, "suppress_until": now + 1})
    assert "result" in await ack({"eventids": world["closable"], "action": 32, "suppress_until": 0})


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"action": 512 | 2, "foo": 1}, invalid('Invalid parameter "/": unexpected parameter "foo".')),  # schema before mask
        ({"action": 512, "eventids": [999999]}, incorrect("action", 'unexpected value "512"')),  # mask before existence
        ({"action": 18, "eventids": [999999]}, incorrect("action", "value must be one of 2, 16")),  # pairs before existence
        ({"action": 1, "eventids": [999999]}, NO_PERMISSIONS),  # existence before manual close
        ({"action": 5, "message": ""}, CANNOT_CLOSE),  # manual close before the message
        ({"action": 12, "message": "", "severity": 9}, incorrect("message", "cannot be empty")),  # message before severity
        ({"action": 9, "severity": 9}, CANNOT_CLOSE),  # close before severity
        ({"action": 12 | 32, "message": "x", "severity": 9, "suppress_until": 1}, incorrect("severity", 'unexpected value "9"')),
    ],
)
async def test_the_earlier_check_wins(ack: Any, world: dict[str, Any], params: dict[str, Any], expected: Any) -> None:
    params = {"eventids": [world["not_closable"]], **params}
    assert error_of(await ack(params)) == expected


# --- what is applied, skipped and stored ---


async def test_result_is_every_id_deduplicated_as_integers(ack: Any, world: dict[str, Any]) -> None:
    closable, database = world["closable"], world["database"]
    assert result_of(await ack({"eventids": [str(database), closable, str(closable), database], "action": 2})) == {"eventids": [database, closable]}
    assert result_of(await ack({"eventids": [], "action": 2})) == {"eventids": []}
    assert result_of(await ack({"eventids": closable, "action": 0})) == {"eventids": [closable]}


async def test_acknowledge_then_again_then_unacknowledge(ack: Any, world: dict[str, Any], client: Any, clock: Any) -> None:
    event = world["closable"]
    await ack({"eventids": event, "action": 2})
    await ack({"eventids": event, "action": 2})  # nothing to do: no row
    await ack({"eventids": event, "action": 6, "message": "looking"})  # stores 4 only
    assert (await event_row(client, event))[0] == 1
    await ack({"eventids": event, "action": 16})
    await ack({"eventids": event, "action": 16})  # nothing to do
    now = int(clock.now)
    assert await history(client) == [
        (event, 1, 2, "", 0, 0, 0, now),
        (event, 1, 4, "looking", 0, 0, 0, now),
        (event, 1, 16, "", 0, 0, 0, now),
    ]
    assert (await event_row(client, event))[0] == 0


async def test_severity_change_is_stored_with_old_and_new(ack: Any, world: dict[str, Any], client: Any) -> None:
    event = world["closable"]
    await ack({"eventids": event, "action": 8, "severity": 5})
    await ack({"eventids": event, "action": 8, "severity": 5})  # the same: skipped
    await ack({"eventids": event, "action": 8, "severity": "0"})
    assert [row[2:6] for row in await history(client)] == [(8, "", 2, 5), (8, "", 5, 0)]
    assert await event_row(client, event) == (0, 0, 0, None)


async def test_message_and_severity_without_their_bits_are_ignored(ack: Any, world: dict[str, Any], client: Any) -> None:
    await ack({"eventids": world["closable"], "action": 2, "message": "ignored", "severity": 5})
    assert [row[2:6] for row in await history(client)] == [(2, "", 0, 0)]


async def test_one_clock_for_the_whole_call(ack: Any, world: dict[str, Any], client: Any, clock: Any) -> None:
    await ack({"eventids": [world["closable"], world["not_closable"], world["database"]], "action": 6, "message": "m"})
    assert {row[7] for row in await history(client)} == {int(clock.now)}


async def test_partial_skip_over_several_events(ack: Any, world: dict[str, Any], client: Any) -> None:
    await ack({"eventids": world["closable"], "action": 2})
    await ack({"eventids": [world["closable"], world["database"]], "action": 2})
    assert [(row[0], row[2]) for row in await history(client)] == [(world["closable"], 2), (world["database"], 2)]


async def test_close_resolves_the_problem_at_once(ack: Any, world: dict[str, Any], client: Any, clock: Any) -> None:
    event = world["closable"]
    assert result_of(await ack({"eventids": event, "action": 3})) == {"eventids": [event]}
    _, _, _, r_eventid = await event_row(client, event)
    assert r_eventid is not None
    ok = await storage_of(client).read(lambda c: c.execute(
        "SELECT e.value, e.severity, e.clock, r.userid, p.r_clock, p.userid FROM events e"
        " JOIN event_recovery r ON r.r_eventid = e.eventid JOIN problem p ON p.eventid = r.eventid WHERE e.eventid = ?",
        (r_eventid,)).fetchone())
    assert ok == (0, 0, int(clock.now), 1, int(clock.now), 1)
    await ack({"eventids": event, "action": 5, "message": "again"})  # closed: close skipped, message kept
    assert [row[2] for row in await history(client)] == [3, 4]


async def test_resolved_problems_take_ack_comment_and_severity_but_not_close(ack: Any, world: dict[str, Any], client: Any) -> None:
    event = world["resolved"]
    assert "result" in await ack({"eventids": event, "action": 1 | 2 | 4 | 8, "message": "late", "severity": 1})
    assert [row[2:6] for row in await history(client)] == [(2 | 4 | 8, "late", 4, 1)]
    assert "result" in await ack({"eventids": event, "action": 32, "suppress_until": 0})  # suppress: skipped
    assert len(await history(client)) == 1


async def test_a_read_only_user_may_acknowledge_and_comment(ack: Any, world: dict[str, Any], client: Any) -> None:
    assert "result" in await ack({"eventids": world["closable"], "action": 6, "message": "seen"}, "ro")
    assert "result" in await ack({"eventids": world["closable"], "action": 16}, "ro")
    assert [row[1:3] for row in await history(client)] == [(row_user := (await storage_of(client).read(lambda c: c.execute("SELECT userid FROM users WHERE username = 'ro'").fetchone()[0])), 6), (row_user, 16)]


async def test_suppress_and_unsuppress(ack: Any, world: dict[str, Any], client: Any, clock: Any) -> None:
    event = world["closable"]
    until = int(clock.now) + 3600
    await ack({"eventids": event, "action": 32, "suppress_until": until})
    await ack({"eventids": event, "action": 32, "suppress_until": 0})  # again: replaces, indefinite
    suppression = lambda c: c.execute("SELECT maintenanceid, suppress_until, userid FROM event_suppress WHERE eventid = ?", (event,)).fetchall()  # noqa: E731
    assert await storage_of(client).read(suppression) == [(None, 0, 1)]
    await ack({"eventids": event, "action": 64})
    assert await storage_of(client).read(suppression) == []
    await ack({"eventids": event, "action": 64})  # nothing to unsuppress: skipped
    assert [row[2::4] for row in await history(client)] == [(32, until), (32, 0), (64, 0)]


def ranks(conn: sqlite3.Connection) -> tuple[list[Any], list[Any]]:
    return (conn.execute("SELECT eventid, cause_eventid FROM event_symptom ORDER BY eventid").fetchall(),
            conn.execute("SELECT eventid, cause_eventid FROM problem WHERE cause_eventid IS NOT NULL ORDER BY eventid").fetchall())


async def test_rank_changes(ack: Any, world: dict[str, Any], client: Any) -> None:
    a, b, c = world["closable"], world["not_closable"], world["database"]
    read = lambda: storage_of(client).read(ranks)  # noqa: E731
    await ack({"eventids": [b, c], "action": 256, "cause_eventid": a})
    assert await read() == ([(b, a), (c, a)], [(b, a), (c, a)])
    await ack({"eventids": b, "action": 256, "cause_eventid": a})  # already a symptom of a: skipped
    await ack({"eventids": a, "action": 256, "cause_eventid": b})  # a cause onto its own symptom: they swap
    assert await read() == ([(a, b), (c, b)], [(a, b), (c, b)])
    await ack({"eventids": c, "action": 128})
    assert await read() == ([(a, b)], [(a, b)])
    await ack({"eventids": c, "action": 128})  # already a cause: skipped
    assert [row[2] for row in await history(client)] == [256, 256, 256, 128]


async def test_a_failing_call_changes_nothing(ack: Any, world: dict[str, Any], client: Any) -> None:
    before = await event_row(client, world["closable"])
    assert error_of(await ack({"eventids": [world["closable"], 999999], "action": 6, "message": "x"}))
    assert error_of(await ack({"eventids": world["closable"], "action": 6, "message": "x" * 2049}))
    assert await history(client) == []
    assert await event_row(client, world["closable"]) == before


def trace(conn: Any, callback: Any) -> None:
    """Pass every statement the connection executes to `callback` (None: stop), one per row of an
    executemany: sqlite3's trace callback, or the same around PostgreSQL's connection."""
    if conn.engine.name == "sqlite":
        conn.set_trace_callback(callback)
        return
    if callback is None:
        del conn.execute, conn.executemany
        return
    execute, executemany = type(conn).execute, type(conn).executemany

    def traced_execute(sql: str, params: Any = ()) -> Any:
        callback(sql)
        return execute(conn, sql, params)

    def traced_executemany(sql: str, rows: Any) -> Any:
        rows = list(rows)
        for _ in rows:
            callback(sql)
        return executemany(conn, sql, rows)

    conn.execute, conn.executemany = traced_execute, traced_executemany


async def test_ten_thousand_ids_are_a_handful_of_statements(call: Any, admin: str, client: Any) -> None:
    storage = storage_of(client)

    await call("event.create", {"host": "bulk", "name": "seed"}, auth=admin)
    eventids = await storage.write(ten_thousand_problems)
    statements: list[str] = []
    # Count what the writer's connection executes (set on its own thread, through a unit of work).
    await storage.write(trace, statements.append)
    try:
        assert (await call("event.acknowledge", {"eventids": eventids, "action": 6, "message": "bulk"}, auth=admin))["eventids"] == eventids
    finally:
        await storage.write(trace, None)
    others = [s for s in statements if not s.startswith("INSERT INTO acknowledges")]
    assert len(statements) - len(others) == 10_000  # one history row each, by executemany
    assert len(others) < 24, others  # a constant handful, whatever the number of ids (the batch's own statements too)
    assert await storage.read(lambda c: c.execute("SELECT count(DISTINCT eventid) FROM acknowledgement").fetchone()[0]) == 10_000


# --- the effects are visible to the next read, in every read method ---


async def test_effects_show_in_event_get_and_problem_get(ack: Any, call: Any, world: dict[str, Any], clock: Any) -> None:
    admin, event = world["admin"], world["closable"]
    read = lambda: call("event.get", {"eventids": event, "output": ["acknowledged", "severity", "suppressed", "r_eventid"],  # noqa: E731
                                      "selectAcknowledges": ["username", "action", "message"]}, auth=admin)
    await ack({"eventids": event, "action": 2 | 4 | 8, "message": "on it", "severity": 5})
    (seen,) = await read()
    assert (seen["acknowledged"], seen["severity"], seen["suppressed"], seen["r_eventid"]) == ("1", "5", "0", "0")
    assert seen["acknowledges"] == [{"username": "Admin", "action": "14", "message": "on it"}]

    await ack({"eventids": event, "action": 32, "suppress_until": int(clock.now) + 60})
    assert (await read())[0]["suppressed"] == "1"
    assert await call("problem.get", {"eventids": event, "suppressed": True, "countOutput": True}, auth=admin) == "1"
    clock.advance(61)  # a timed suppression ends by itself
    assert (await read())[0]["suppressed"] == "0"

    await ack({"eventids": event, "action": 1})
    assert (await read())[0]["r_eventid"] != "0"
    assert await call("problem.get", {"eventids": event, "countOutput": True}, auth=admin) == "0"
    assert await call("problem.get", {"eventids": event, "recent": True, "countOutput": True}, auth=admin) == "1"


async def test_rank_shows_in_cause_eventid_and_the_symptom_filter(ack: Any, call: Any, world: dict[str, Any]) -> None:
    admin, cause, symptom = world["admin"], world["closable"], world["database"]
    await ack({"eventids": symptom, "action": 256, "cause_eventid": cause})
    problems = await call("problem.get", {"output": ["eventid", "cause_eventid"], "symptom": True}, auth=admin)
    assert problems == [{"eventid": str(symptom), "cause_eventid": str(cause)}]
    (event,) = await call("event.get", {"eventids": symptom, "output": ["cause_eventid"]}, auth=admin)
    assert event == {"cause_eventid": str(cause)}


async def test_acknowledges_sent_at_once_are_answered_each_as_alone(ack: Any, world: dict[str, Any], client: Any) -> None:
    """Sent together, they are committed together (the writer runs them as one unit): each answer and row is its own."""
    before = len(await history(client))
    answers = await asyncio.gather(
        ack({"eventids": world["closable"], "action": 6, "message": "first"}, "rw"),
        ack({"eventids": world["database"], "action": 6, "message": "not mine"}, "rw"),
        ack({"eventids": world["not_closable"], "action": 2}, "rw"),
        ack({"eventids": world["resolved"], "action": 4, "message": "noted"}, "rw"),
        ack({"eventids": "999999", "action": 6, "message": "no such event"}, "rw"),
    )
    assert [result_of(answer) for answer in (answers[0], answers[2], answers[3])] == [
        {"eventids": [world[name]]} for name in ("closable", "not_closable", "resolved")]
    assert error_of(answers[1]) == error_of(answers[4]) == NO_PERMISSIONS
    rows = (await history(client))[before:]
    assert sorted((row[0], row[2], row[3]) for row in rows) == sorted([
        (int(world["closable"]), 6, "first"), (int(world["not_closable"]), 2, ""), (int(world["resolved"]), 4, "noted")])
    assert (await event_row(client, int(world["closable"])))[0] and (await event_row(client, int(world["not_closable"])))[0]
