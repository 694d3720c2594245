"""Acknowledgement lifetime through the endpoint (API.md §9): the server's default and maximum in every
dialect, acknowledged_until "recovery", and the flap guard, with the injected clock; on both stores.

`settings` (parametrized per test) are the server's flags for the test's app."""

from __future__ import annotations

from typing import Any

import pytest

from rpcserver.appkeys import EXPIRY_KEY

from ..conftest import FakeClock, error_of, result_of
from .spans_world import ADMIN_USERID, NOT_AN_END, NOW, World, api, history, invalid, state, world

__all__ = ["api", "world"]  # fixtures

CLOSE, ACK, MESSAGE, UNACK = 1, 2, 4, 16
POLICY = {"ack_default_duration": "1h", "ack_max_duration": "1d"}
TOO_LONG = invalid('Invalid parameter "/acknowledged_until": at most 1d from now.')
CPU = {"host": "web-01", "name": "CPU is high"}
"""The trigger of the world's "web" problem, as event.create names it."""


@pytest.fixture
def settings() -> dict[str, Any]:
    return {}


@pytest.fixture
async def client(make_client: Any, settings: dict[str, Any]) -> Any:
    return await make_client(**settings)


def run_once(client: Any, now: float) -> Any:
    return client.server.app[EXPIRY_KEY].run_once(int(now))


async def spans_of(api: Any, eventid: int) -> list[dict[str, Any]]:
    return result_of(await api("acknowledgement.get", {"eventids": str(eventid)}))


async def acknowledged(api: Any, eventid: int) -> str:
    (event,) = result_of(await api("event.get", {"eventids": eventid, "output": ["acknowledged"]}))
    return str(event["acknowledged"])


async def rows_of(client: Any, eventid: int) -> list[tuple[Any, ...]]:
    """The event's history rows: (userid, clock, message, action)."""
    return [(userid, clock, message, action) for userid, event, clock, message, action in await history(client)
            if event == eventid]


async def event_create(api: Any, params: dict[str, Any]) -> int:
    (eventid,) = result_of(await api("event.create", params))["eventids"]
    return int(eventid)


# --- the server's default and maximum ---


@pytest.mark.parametrize("settings", [POLICY])
async def test_the_default_ends_what_every_dialect_opens_without_an_end(api: Any, client: Any, world: World,
                                                                        clock: FakeClock) -> None:
    fourth = await event_create(api, {"host": "web-04", "name": "Swap is low", "groups": ["Web"]})
    web, web2, db = world.events["web"], world.events["web2"], world.events["db"]
    result_of(await api("event.acknowledge", {"eventids": web, "action": ACK}))
    result_of(await api("incident.acknowledge", {"incidentid": str(web2)}))
    result_of(await api("incident.massacknowledge", {"incidentids": [str(db)]}))
    result_of(await api("acknowledgement.create", {"eventid": str(fourth), "acknowledged_until": None}))
    ends = [(int(s["eventid"]), s["acknowledged_until"], s["until_recovery"]) for s in
            result_of(await api("acknowledgement.get", {}))]
    assert ends == [(web, NOW + 3600, False), (web2, NOW + 3600, False), (db, NOW + 3600, False), (fourth, NOW + 3600, False)]
    clock.advance(3600)
    assert await run_once(client, clock.now) == 4
    for eventid in (web, web2, db, fourth):
        assert await acknowledged(api, eventid) == "0"
        assert (await rows_of(client, eventid))[-1] == (ADMIN_USERID, NOW + 3600, "", UNACK)


@pytest.mark.parametrize("settings, length", [
    ({"ack_default_duration": "1d", "ack_max_duration": "2h"}, 7200),
    ({"ack_max_duration": "2h"}, 7200),
    ({"ack_default_duration": "90s"}, 90),
    ({}, None),
])
async def test_the_maximum_caps_the_default(api: Any, world: World, settings: dict[str, Any], length: int | None) -> None:
    span = result_of(await api("acknowledgement.create", {"eventid": world.events["web"]}))
    assert span["acknowledged_until"] == (None if length is None else NOW + length)


@pytest.mark.parametrize("settings", [POLICY])
async def test_the_maximum_refuses_a_longer_end_in_every_dialect_and_changes_nothing(
        api: Any, client: Any, world: World) -> None:
    web = world.events["web"]
    span = result_of(await api("acknowledgement.create", {"eventid": web, "acknowledged_until": "1d"}))
    assert span["acknowledged_until"] == NOW + 86400  # the maximum itself is allowed
    before = await state(client)
    for method, params in (
        ("event.acknowledge", {"eventids": world.events["web2"], "action": ACK, "acknowledged_until": "25h"}),
        ("event.acknowledge", {"eventids": world.events["web2"], "action": ACK, "acknowledged_until": NOW + 86401}),
        ("acknowledgement.create", {"eventid": world.events["web2"], "acknowledged_until": "1441m"}),
        ("acknowledgement.update", {"acknowledgementid": span["acknowledgementid"], "acknowledged_until": "2d"}),
    ):
        assert error_of(await api(method, params)) == TOO_LONG, (method, params)
    assert await state(client) == before
    accepted = result_of(await api("event.acknowledge", {"eventids": world.events["web2"], "action": ACK,
                                                         "acknowledged_until": NOW + 86400}))
    assert accepted == {"eventids": [world.events["web2"]]}


# --- "recovery" ---


async def test_a_recovery_acknowledgement_ends_when_its_problem_resolves(api: Any, client: Any, world: World,
                                                                         clock: FakeClock) -> None:
    web = world.events["web"]
    result_of(await api("event.acknowledge", {"eventids": web, "action": ACK, "acknowledged_until": "recovery"}, "reader"))
    (span,) = await spans_of(api, web)
    assert (span["acknowledged_until"], span["until_recovery"], span["active"]) == (None, True, True)
    clock.advance(3 * 86400)  # no time ends it
    assert await run_once(client, clock.now) == 0
    assert await acknowledged(api, web) == "1"
    result_of(await api("event.create", {**CPU, "value": 0}))
    (span,) = await spans_of(api, web)
    resolved = NOW + 3 * 86400
    assert (span["acknowledged_until"], span["until_recovery"], span["active"]) == (resolved, True, False)
    reader = world.users["reader"]
    assert await rows_of(client, web) == [(reader, NOW, "", ACK), (reader, resolved, "", UNACK)]
    clock.advance(60)
    assert await run_once(client, clock.now) == 0  # recorded once, by the resolution
    assert len(await rows_of(client, web)) == 2


@pytest.mark.parametrize("resolve", ["close", "incident.resolve", "event.create"])
@pytest.mark.parametrize("after", [0, 60])
async def test_every_way_of_resolving_ends_it_with_one_row(api: Any, client: Any, world: World, clock: FakeClock,
                                                           resolve: str, after: int) -> None:
    eventid = await event_create(api, {"host": "web-05", "name": "Flapping", "groups": ["Web"], "manual_close": 1})
    result_of(await api("acknowledgement.create", {"eventid": eventid, "acknowledged_until": "recovery", "notes": "watching"}))
    clock.advance(after)
    if resolve == "close":
        result_of(await api("event.acknowledge", {"eventids": eventid, "action": CLOSE}))
    elif resolve == "incident.resolve":
        result_of(await api("incident.resolve", {"incidentid": str(eventid)}))
    else:
        result_of(await api("event.create", {"host": "web-05", "name": "Flapping", "value": 0}))
    rows = await rows_of(client, eventid)
    assert [row for row in rows if row[3] == UNACK] == [(ADMIN_USERID, NOW + after, "", UNACK)]
    assert rows[-1] == (ADMIN_USERID, NOW + after, "", UNACK)  # after the resolution's own row
    assert await acknowledged(api, eventid) == "0"


async def test_an_end_at_recovery_that_leaves_another_acknowledgement_writes_no_row(api: Any, client: Any,
                                                                                      world: World) -> None:
    web = world.events["web"]
    result_of(await api("acknowledgement.create", {"eventid": web, "acknowledged_until": "recovery"}))
    result_of(await api("acknowledgement.create", {"eventid": web}, "reader"))  # indefinite
    result_of(await api("event.create", {**CPU, "value": 0}))
    assert [row[3] for row in await rows_of(client, web)] == [ACK]
    assert [(s["until_recovery"], s["active"]) for s in await spans_of(api, web)] == [(True, False), (False, True)]


async def test_recovery_can_be_set_and_unset_by_update(api: Any, world: World, clock: FakeClock) -> None:
    span = result_of(await api("acknowledgement.create", {"eventid": world.events["web"], "acknowledged_until": "1h"}))
    clock.advance(10)
    update = {"acknowledgementid": span["acknowledgementid"], "acknowledged_until": "recovery"}
    recovery = result_of(await api("acknowledgement.update", update))
    assert (recovery["acknowledged_until"], recovery["until_recovery"], recovery["last_modified"]) == (None, True, NOW + 10)
    clock.advance(10)
    assert result_of(await api("acknowledgement.update", update)) == recovery  # the current value changes nothing
    timed = result_of(await api("acknowledgement.update", {**update, "acknowledged_until": "5m"}))
    assert (timed["acknowledged_until"], timed["until_recovery"]) == (NOW + 20 + 300, False)


@pytest.mark.parametrize("settings", [{"ack_max_duration": "1h"}])
async def test_the_maximum_ends_a_recovery_acknowledgement_at_the_latest(api: Any, client: Any, world: World,
                                                                         clock: FakeClock) -> None:
    web = world.events["web"]
    span = result_of(await api("acknowledgement.create", {"eventid": web, "acknowledged_until": "recovery"}))
    assert (span["acknowledged_until"], span["until_recovery"]) == (NOW + 3600, True)
    clock.advance(3600)
    assert await run_once(client, clock.now) == 1
    clock.advance(60)
    result_of(await api("event.create", {**CPU, "value": 0}))
    assert [row[1:] for row in await rows_of(client, web)] == [(NOW, "", ACK), (NOW + 3600, "", UNACK)]


async def test_recovery_on_a_problem_that_has_recovered_ends_at_once(api: Any, client: Any, world: World,
                                                                     clock: FakeClock) -> None:
    web = world.events["web"]
    indefinite = result_of(await api("acknowledgement.create", {"eventid": web}))
    result_of(await api("event.create", {**CPU, "value": 0}))
    clock.advance(10)
    result_of(await api("event.acknowledge", {"eventids": web, "action": ACK | MESSAGE, "message": "late",
                                              "acknowledged_until": "recovery"}, "reader"))
    late = result_of(await api("acknowledgement.create", {"eventid": web, "acknowledged_until": "recovery", "notes": "later"}))
    assert (late["acknowledged_until"], late["until_recovery"], late["active"]) == (NOW + 10, True, False)
    assert await acknowledged(api, web) == "1"  # the indefinite one still is
    ended = result_of(await api("acknowledgement.update", {"acknowledgementid": indefinite["acknowledgementid"],
                                                           "acknowledged_until": "recovery"}))
    assert (ended["acknowledged_until"], ended["until_recovery"], ended["active"]) == (NOW + 10, True, False)
    assert await rows_of(client, web) == [(ADMIN_USERID, NOW, "", ACK), (world.users["reader"], NOW + 10, "late", MESSAGE),
                                          (ADMIN_USERID, NOW + 10, "later", MESSAGE), (ADMIN_USERID, NOW + 10, "", UNACK)]
    assert [s["acknowledgementid"] for s in await spans_of(api, web)] == [indefinite["acknowledgementid"], late["acknowledgementid"]]


async def test_recovery_is_refused_without_bit_2_and_only_the_exact_word_is_read(api: Any, world: World) -> None:
    web = world.events["web"]
    assert error_of(await api("event.acknowledge", {"eventids": web, "action": MESSAGE, "message": "m",
                                                    "acknowledged_until": "recovery"})) == invalid(
        'Invalid parameter "/": unexpected parameter "acknowledged_until".')
    assert error_of(await api("acknowledgement.create", {"eventid": web, "acknowledged_until": "Recovery"})) == invalid(NOT_AN_END)


# --- the flap guard ---


async def acknowledge_until_recovery_then_resolve(api: Any, world: World, clock: FakeClock) -> int:
    """The world's "web" problem acknowledged by `reader` until recovery, resolved a minute later."""
    web = world.events["web"]
    result_of(await api("event.acknowledge", {"eventids": web, "action": ACK | MESSAGE, "message": "on it",
                                              "acknowledged_until": "recovery"}, "reader"))
    clock.advance(60)
    result_of(await api("event.create", {**CPU, "value": 0}))
    return web


@pytest.mark.parametrize("after", [0, 1, 300])
async def test_a_problem_reopening_within_the_guard_inherits_the_acknowledgement(
        api: Any, client: Any, world: World, clock: FakeClock, after: int) -> None:
    old = await acknowledge_until_recovery_then_resolve(api, world, clock)
    clock.advance(after)
    new = await event_create(api, CPU)
    assert new != old
    assert await acknowledged(api, new) == "1"
    (span,) = await spans_of(api, new)
    reopened = NOW + 60 + after
    assert span == {**span, "acknowledged_by": "reader", "acknowledged_on": reopened, "acknowledged_until": None,
                    "until_recovery": True, "active": True, "notes": "on it"}
    message = f"Acknowledgement carried over from problem {old} (reopened within 300 s)."
    assert await rows_of(client, new) == [(world.users["reader"], reopened, message, ACK | MESSAGE)]
    result_of(await api("event.create", CPU))  # ingesting the open problem again carries nothing more
    assert len(await spans_of(api, new)) == 1


@pytest.mark.parametrize("after", [301, 3600])
async def test_a_problem_reopening_after_the_guard_starts_unacknowledged(api: Any, client: Any, world: World,
                                                                         clock: FakeClock, after: int) -> None:
    await acknowledge_until_recovery_then_resolve(api, world, clock)
    clock.advance(after)
    new = await event_create(api, CPU)
    assert await acknowledged(api, new) == "0"
    assert await spans_of(api, new) == []
    assert await rows_of(client, new) == []


@pytest.mark.parametrize("settings", [{"flap_guard": 0}])
async def test_a_guard_of_zero_carries_nothing(api: Any, client: Any, world: World, clock: FakeClock) -> None:
    await acknowledge_until_recovery_then_resolve(api, world, clock)
    assert await acknowledged(api, await event_create(api, CPU)) == "0"


@pytest.mark.parametrize("settings", [{"flap_guard": 30}])
async def test_the_guard_is_configurable_and_named_in_the_row(api: Any, client: Any, world: World,
                                                             clock: FakeClock) -> None:
    old = await acknowledge_until_recovery_then_resolve(api, world, clock)
    clock.advance(30)
    new = await event_create(api, CPU)
    assert (await rows_of(client, new))[0][2] == f"Acknowledgement carried over from problem {old} (reopened within 30 s)."
    result_of(await api("event.create", {**CPU, "value": 0}))
    clock.advance(31)
    assert await acknowledged(api, await event_create(api, CPU)) == "0"


async def test_a_carried_acknowledgement_flaps_on_and_ends_once_per_problem(api: Any, client: Any, world: World,
                                                                           clock: FakeClock) -> None:
    await acknowledge_until_recovery_then_resolve(api, world, clock)
    second = await event_create(api, CPU)
    clock.advance(10)
    result_of(await api("event.create", {**CPU, "value": 0}))
    assert [row[3] for row in await rows_of(client, second)] == [ACK | MESSAGE, UNACK]
    clock.advance(10)
    third = await event_create(api, CPU)
    assert await acknowledged(api, third) == "1"
    assert (await rows_of(client, third))[0][2] == f"Acknowledgement carried over from problem {second} (reopened within 300 s)."


async def test_only_acknowledgements_ended_by_the_recovery_carry_over(api: Any, client: Any, world: World,
                                                                      clock: FakeClock) -> None:
    web = world.events["web"]
    result_of(await api("acknowledgement.create", {"eventid": web}))  # indefinite
    result_of(await api("acknowledgement.create", {"eventid": web, "acknowledged_until": "recovery"}, "reader"))
    clock.advance(5)
    result_of(await api("event.acknowledge", {"eventids": web, "action": UNACK}))  # ends both before the recovery
    result_of(await api("event.create", {**CPU, "value": 0}))
    assert await acknowledged(api, await event_create(api, CPU)) == "0"


async def test_each_user_whose_acknowledgement_ended_gets_one_back(api: Any, client: Any, world: World,
                                                                   clock: FakeClock) -> None:
    web = world.events["web"]
    for user, notes in (("reader", "first"), ("admin", "admin's"), ("reader", "newest")):
        result_of(await api("acknowledgement.create", {"eventid": web, "acknowledged_until": "recovery", "notes": notes}, user))
    result_of(await api("event.create", {**CPU, "value": 0}))
    new = await event_create(api, CPU)
    carried = [(s["acknowledged_by"], s["notes"], s["until_recovery"]) for s in await spans_of(api, new)]
    assert carried == [("reader", "newest", True), ("Admin", "admin's", True)]
    message = f"Acknowledgement carried over from problem {web} (reopened within 300 s)."
    assert await rows_of(client, new) == [(world.users["reader"], NOW, message, ACK | MESSAGE),
                                          (ADMIN_USERID, NOW, message, MESSAGE)]


@pytest.mark.parametrize("settings", [{"ack_max_duration": "2h"}])
async def test_a_carried_acknowledgement_is_capped_by_the_maximum_from_the_reopening(
        api: Any, world: World, clock: FakeClock) -> None:
    await acknowledge_until_recovery_then_resolve(api, world, clock)
    clock.advance(100)
    (span,) = await spans_of(api, await event_create(api, CPU))
    assert (span["acknowledged_until"], span["until_recovery"]) == (NOW + 160 + 7200, True)
