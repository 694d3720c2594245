"""Acknowledges queued side by side run as one unit (`storage.acknowledge.acknowledge_together`): each
call's outcome and every row written are what running each call alone gives, on both stores."""

from __future__ import annotations

from typing import Any

import pytest

from rpcserver.domain.acknowledge import Request
from rpcserver.storage import acknowledge as store
from rpcserver.storage._writer import Failed

from ..conftest import FakeClock, cached_world, storage_of

PASSWORD = "long-enough-1"


@cached_world
async def world(call: Any, admin: str, login: Any) -> dict[str, Any]:
    """Seven problems on "Web" (one resolved, one acknowledged already), one on "DB"; a user with read-write
    rights on "Web" only; a webhook wanting every kind of change."""
    problems = (await call("event.create", [
        {"host": "web-01", "name": f"web {n}", "groups": ["Web"], "manual_close": 1} for n in range(7)
    ] + [{"host": "db-01", "name": "db", "groups": ["DB"]}], auth=admin))["eventids"]
    await call("event.create", {"host": "web-01", "name": "web 5", "value": 0}, auth=admin)
    await call("event.acknowledge", {"eventids": problems[4], "action": 2}, auth=admin)
    web = (await call("hostgroup.get", {"output": ["groupid"], "filter": {"name": "Web"}}, auth=admin))[0]["groupid"]
    usrgrpid = (await call("usergroup.create", {"name": "rw", "hostgroup_rights": [{"id": web, "permission": 3}]},
                           auth=admin))["usrgrpids"][0]
    await call("user.create", {"username": "rw", "passwd": PASSWORD, "roleid": "1", "usrgrps": [{"usrgrpid": usrgrpid}]},
               auth=admin)
    await call("webhook.create", {"url": "https://example.com/hook", "secret": "s"}, auth=admin)
    return {"web": [int(eventid) for eventid in problems[:7]], "db": int(problems[7])}


class Written(Exception):
    """Raised by a unit to hand back what it saw, its changes rolled back with it."""


def outcome(value: Any) -> Any:
    return (type(value.exc).__name__, str(value.exc)) if isinstance(value, Failed) else value


def written_by(conn: Any, run: Any, calls: list[tuple[Any, ...]]) -> None:
    """A unit: `run(conn, calls)`, then raise what it answered and every row it wrote (undone with the unit),
    without their ids (PostgreSQL's sequences do not roll back) or a delivery's uuid and time."""
    marks = {table: conn.execute(f"SELECT coalesce(max({key}), 0) FROM {table}").fetchone()[0]
             for table, key in (("acknowledges", "acknowledgeid"), ("acknowledgement", "acknowledgementid"),
                                ("webhook_delivery", "deliveryid"))}
    answers = [outcome(value) for value in run(conn, calls)]
    rows = {
        "acknowledges": conn.execute("SELECT * FROM acknowledges WHERE acknowledgeid > ? ORDER BY acknowledgeid",
                                     (marks["acknowledges"],)).fetchall(),
        "acknowledgement": conn.execute("SELECT * FROM acknowledgement WHERE acknowledgementid > ? ORDER BY acknowledgementid",
                                        (marks["acknowledgement"],)).fetchall(),
        "webhook_delivery": conn.execute("SELECT deliveryid, webhookid, eventid, body FROM webhook_delivery"
                                         " WHERE deliveryid > ? ORDER BY deliveryid", (marks["webhook_delivery"],)).fetchall(),
    }
    raise Written(answers, {table: [tuple(row)[1:] for row in found] for table, found in rows.items()})


def each_alone(conn: Any, calls: list[tuple[Any, ...]]) -> list[Any]:
    """The reference: `acknowledge` of each call in turn, in a savepoint of its own, as the writer runs units."""
    answers = []
    for call in calls:
        conn.execute("SAVEPOINT reference")
        try:
            answers.append(store.acknowledge(conn, *call))
        except Exception as exc:
            conn.execute("ROLLBACK TO SAVEPOINT reference")
            answers.append(Failed(exc))
        conn.execute("RELEASE SAVEPOINT reference")
    return answers


async def both_ways(client: Any, calls: list[tuple[Any, ...]]) -> tuple[Any, Any]:
    storage = storage_of(client)
    seen = []
    for run in (store.acknowledge_together, each_alone):
        with pytest.raises(Written) as written:
            await storage.write(written_by, run, calls)
        seen.append(written.value.args)
    return seen[0], seen[1]


async def userid_of(client: Any, username: str) -> int:
    return await storage_of(client).read(lambda conn: conn.execute("SELECT userid FROM users WHERE username = ?",
                                                                    (username,)).fetchone()[0])


async def test_calls_run_together_answer_and_write_what_each_alone_would(
    client: Any, world: dict[str, Any], clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    web, now = world["web"], int(clock.now)
    calls = [(request, [eventid], await userid_of(client, "rw"), False, now) for request, eventid in (
        (Request(6, "acknowledged and said"), web[0]),
        (Request(2), web[1]),
        (Request(4, "a note"), web[2]),
        (Request(4, ""), web[3]),  # an empty message is refused
        (Request(6, "again"), web[4]),  # acknowledged already: the message alone is written
        (Request(6, "until recovery", until_recovery=True), web[5]),  # resolved: the span ends as it begins
        (Request(6, "ended before it began", acknowledged_until=now - 60, ends_at_once=True), web[6]),
        (Request(6, "not readable"), world["db"]),
        (Request(6, "no such event"), 10**9),
    )]
    monkeypatch.setattr(store, "_alone", lambda conn, call: pytest.fail("ran a call alone: these calls share statements"))
    together, alone = await both_ways(client, calls)
    assert together == alone
    answers, rows = together
    assert answers[:3] + answers[4:7] == [None] * 6
    assert [answer[0] for answer in answers[3:4] + answers[7:]] == ["InvalidValue", "NotFound", "NotFound"]
    assert [row[3:5] for row in rows["acknowledges"]] == [  # message, action
        ("acknowledged and said", 6), ("", 2), ("a note", 4), ("again", 4), ("until recovery", 4), ("ended before it began", 4)]
    assert len(rows["acknowledgement"]) == 2 and len(rows["webhook_delivery"]) == 6


@pytest.mark.parametrize("change", ["repeated event", "two events", "close", "two viewers", "two seconds"])
async def test_calls_that_cannot_all_share_answer_and_write_as_each_alone_would(
    client: Any, world: dict[str, Any], clock: FakeClock, change: str
) -> None:
    userid = await userid_of(client, "rw")
    web, now = world["web"], int(clock.now)
    calls = [(Request(6, "first"), [web[0]], userid, False, now), (Request(6, "second"), [web[1]], userid, False, now)]
    if change == "repeated event":
        calls.append((Request(4, "the first again"), [web[0]], userid, False, now))
    elif change == "two events":
        calls.append((Request(6, "both"), [web[2], web[3]], userid, False, now))
    elif change == "close":
        calls.append((Request(1), [web[2]], userid, False, now))
    elif change == "two viewers":
        calls.append((Request(6, "as the super admin"), [world["db"]], await userid_of(client, "Admin"), True, now))
    else:
        calls.append((Request(6, "a second later"), [web[2]], userid, False, now + 1))
    together, alone = await both_ways(client, calls)
    assert together == alone
    assert together[0][:2] == [None, None] and together[1]["acknowledges"]


def test_calls_share_in_runs_of_neighbours_that_can() -> None:
    def call(action: int, *eventids: int, user: int = 7, second: int = 100, super_admin: bool = False) -> tuple[Any, ...]:
        return Request(action, "m"), list(eventids), user, super_admin, second

    def runs(*calls: tuple[Any, ...]) -> list[list[int]]:
        """Each run as the indexes of its calls."""
        return [[next(n for n, sent in enumerate(calls) if sent is each) for each in run] for run in store._sharing(list(calls))]

    assert runs(call(6, 1), call(2, 2), call(4, 3)) == [[0, 1, 2]]
    assert runs(call(6, 1), call(6, 2), call(6, 1), call(6, 3)) == [[0, 1], [2, 3]]  # an event again starts a run
    assert runs(call(6, 1), call(6, 2, user=8), call(6, 3, user=8)) == [[0], [1, 2]]  # another viewer
    assert runs(call(6, 1, user=7, super_admin=True), call(6, 2, user=8, super_admin=True)) == [[0, 1]]  # no viewer
    assert runs(call(6, 1), call(6, 2, second=101)) == [[0], [1]]
    assert runs(call(6, 1), call(6, 2, 3), call(6, 4)) == [[0], [1], [2]]  # two events: alone, and a break
    assert runs(call(6, 1), call(1, 2), call(6, 3), call(38, 4), call(16, 5)) == [[0], [1], [2], [3], [4]]
