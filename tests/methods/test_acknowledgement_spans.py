"""One notion of "acknowledged" across the server (API.md §3, §5): event.acknowledge's bits 2 and 16
and its acknowledged_until, acknowledgement.*, event.get and problem.get all see the same spans, to
the second; expiry records history with the injected clock (`run_once`), also at start-up."""

from __future__ import annotations

from typing import Any

import pytest

from rpcserver.appkeys import EXPIRY_KEY

from ..conftest import FakeClock, error_of, result_of
from .spans_world import (
    ADMIN_USERID,
    NOT_AN_END,
    NOW,
    World,
    api,
    history,
    invalid,
    state,
    stored_spans,
    unrecorded_end,
    world,
)

__all__ = ["api", "world"]  # fixtures

ACK, MESSAGE, UNACK = 2, 4, 16


def run_once(client: Any, now: float) -> Any:
    """The expiry sweep, as the server's background task runs it."""
    return client.server.app[EXPIRY_KEY].run_once(int(now))


async def views(api: Any, eventid: int, user: str = "admin") -> tuple[str, bool, bool]:
    """The event as each dialect shows it: event.get's flag, whether problem.get lists it among the
    acknowledged, and whether acknowledgement.get has an active span on it."""
    (event,) = result_of(await api("event.get", {"eventids": eventid, "output": ["acknowledged"]}, user))
    problems = result_of(await api("problem.get", {"eventids": eventid, "acknowledged": True, "output": ["eventid"]}, user))
    spans = result_of(await api("acknowledgement.get", {"eventids": eventid, "active": True}, user))
    return event["acknowledged"], bool(problems), bool(spans)


ACKNOWLEDGED, NOT_ACKNOWLEDGED = ("1", True, True), ("0", False, False)


# --- event.acknowledge opens and ends spans ---


async def test_bit_2_opens_a_span_every_dialect_sees(api: Any, client: Any, world: World) -> None:
    web = world.events["web"]
    assert await views(api, web, "reader") == NOT_ACKNOWLEDGED
    assert result_of(await api("event.acknowledge", {"eventids": web, "action": ACK | MESSAGE, "message": "mine"}, "reader")) == {"eventids": [web]}
    assert await views(api, web, "reader") == ACKNOWLEDGED
    (span,) = result_of(await api("acknowledgement.get", {"eventids": web}))
    assert span == {"acknowledgementid": span["acknowledgementid"], "eventid": str(web), "acknowledged_by": "reader",
                    "acknowledged_on": NOW, "acknowledged_until": None, "until_recovery": False, "active": True, "notes": "mine",
                    "last_modified": NOW, "last_modified_by": "reader"}
    assert await unrecorded_end(client, web) == 1


async def test_acknowledged_until_makes_it_expire_at_the_second(api: Any, client: Any, world: World, clock: FakeClock) -> None:
    web = world.events["web"]
    await api("event.acknowledge", {"eventids": [web], "action": ACK, "acknowledged_until": "5m"}, "reader")
    (span,) = result_of(await api("acknowledgement.get", {"eventids": web}))
    assert (span["acknowledged_until"], span["notes"]) == (NOW + 300, "")
    clock.advance(299)
    assert await views(api, web) == ACKNOWLEDGED
    clock.advance(1)
    assert await views(api, web) == NOT_ACKNOWLEDGED  # every read, before any sweep
    await run_once(client, clock.now)
    assert await history(client) == [(world.users["reader"], web, NOW, "", ACK), (world.users["reader"], web, NOW + 300, "", UNACK)]
    assert await unrecorded_end(client, web) == 0
    rows = result_of(await api("event.get", {"eventids": web, "selectAcknowledges": ["action", "clock", "username"], "output": ["eventid"]}))
    assert rows[0]["acknowledges"] == [{"action": "16", "clock": str(NOW + 300), "username": "reader"},
                                       {"action": "2", "clock": str(NOW), "username": "reader"}]


async def test_an_expired_event_may_be_acknowledged_again(api: Any, client: Any, world: World, clock: FakeClock) -> None:
    web = world.events["web"]
    await api("event.acknowledge", {"eventids": web, "action": ACK, "acknowledged_until": NOW + 10})
    clock.advance(10)
    # no sweep ran: the call records the due end before its own row, so history keeps its order
    assert result_of(await api("event.acknowledge", {"eventids": web, "action": ACK}, "reader")) == {"eventids": [web]}
    assert await history(client) == [(ADMIN_USERID, web, NOW, "", ACK), (ADMIN_USERID, web, NOW + 10, "", UNACK),
                                      (world.users["reader"], web, NOW + 10, "", ACK)]
    assert await views(api, web) == ACKNOWLEDGED
    assert await run_once(client, clock.now) == 0


async def test_bit_2_on_an_acknowledged_event_stays_skipped(api: Any, client: Any, world: World) -> None:
    web = world.events["web"]
    await api("event.acknowledge", {"eventids": web, "action": ACK})
    await api("event.acknowledge", {"eventids": web, "action": ACK | MESSAGE, "message": "again", "acknowledged_until": "1m"}, "reader")
    assert len(await stored_spans(client)) == 1  # not extended, not a second span
    assert await history(client) == [(ADMIN_USERID, web, NOW, "", ACK), (world.users["reader"], web, NOW, "again", MESSAGE)]


@pytest.mark.parametrize("until", [0, NOW, "0s"])
async def test_bit_2_with_a_past_end_acknowledges_nothing(api: Any, client: Any, world: World, until: Any) -> None:
    web = world.events["web"]
    await api("event.acknowledge", {"eventids": web, "action": ACK, "acknowledged_until": until})
    assert await stored_spans(client) == [] and await history(client) == []
    await api("event.acknowledge", {"eventids": web, "action": ACK | MESSAGE, "message": "m", "acknowledged_until": until})
    assert await history(client) == [(ADMIN_USERID, web, NOW, "m", MESSAGE)]
    assert await views(api, web) == NOT_ACKNOWLEDGED


async def test_bit_16_ends_every_active_span(api: Any, client: Any, world: World, clock: FakeClock) -> None:
    web, web2 = world.events["web"], world.events["web2"]
    await api("acknowledgement.create", {"eventid": web, "acknowledged_until": "1h"}, "reader")
    await api("acknowledgement.create", {"eventid": web})
    await api("acknowledgement.create", {"eventid": web2})
    clock.advance(7)
    assert result_of(await api("event.acknowledge", {"eventids": [web], "action": UNACK}, "reader")) == {"eventids": [web]}
    spans = result_of(await api("acknowledgement.get", {"eventids": web}))
    assert [(s["acknowledged_until"], s["active"], s["last_modified"], s["last_modified_by"]) for s in spans] == [
        (NOW + 7, False, NOW + 7, "reader")] * 2
    assert await views(api, web) == NOT_ACKNOWLEDGED
    assert await views(api, web2) == ACKNOWLEDGED
    assert (await history(client))[-1] == (world.users["reader"], web, NOW + 7, "", UNACK)  # one row, the call's
    clock.advance(3600)
    assert await run_once(client, clock.now) == 0
    assert len(await history(client)) == 3


async def test_bit_16_is_skipped_once_the_span_expired(api: Any, client: Any, world: World, clock: FakeClock) -> None:
    web = world.events["web"]
    await api("acknowledgement.create", {"eventid": web, "acknowledged_until": "1m"})
    clock.advance(60)
    await api("event.acknowledge", {"eventids": web, "action": UNACK | MESSAGE, "message": "late"}, "reader")
    assert await history(client) == [(ADMIN_USERID, web, NOW, "", ACK), (ADMIN_USERID, web, NOW + 60, "", UNACK),
                                      (world.users["reader"], web, NOW + 60, "late", MESSAGE)]


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"action": MESSAGE, "message": "m", "acknowledged_until": "5m"}, 'Invalid parameter "/": unexpected parameter "acknowledged_until".'),
        ({"action": UNACK, "acknowledged_until": None}, 'Invalid parameter "/": unexpected parameter "acknowledged_until".'),
        ({"action": 0, "acknowledged_until": "5x"}, 'Invalid parameter "/": unexpected parameter "acknowledged_until".'),
        ({"action": ACK, "cause_eventid": 1, "acknowledged_until": "5x"}, 'Invalid parameter "/": unexpected parameter "cause_eventid".'),
        ({"action": ACK, "message": 5, "acknowledged_until": "5x"}, 'Invalid parameter "/message": a character string is expected.'),
        ({"action": ACK, "acknowledged_until": "5x"}, NOT_AN_END),
        ({"action": ACK, "acknowledged_until": "-5m"}, NOT_AN_END),
        ({"action": ACK, "acknowledged_until": "m"}, NOT_AN_END),
        ({"action": ACK, "acknowledged_until": 1.5}, NOT_AN_END),
        ({"action": ACK, "acknowledged_until": True}, NOT_AN_END),
        ({"action": ACK, "acknowledged_until": 32_503_680_000}, NOT_AN_END),
        ({"action": ACK, "acknowledged_until": "24855d"}, NOT_AN_END),
        ({"action": ACK, "acknowledged_until": "600"}, NOT_AN_END),
        ({"action": ACK | 512, "acknowledged_until": "5x"}, NOT_AN_END),
    ],
)
async def test_event_acknowledge_refuses_bad_ends(api: Any, client: Any, world: World, params: dict[str, Any], expected: str) -> None:
    before = await state(client)
    assert error_of(await api("event.acknowledge", {"eventids": world.events["web"], **params})) == invalid(expected)
    assert await state(client) == before


async def test_an_end_beyond_the_range_is_refused_before_the_role(api: Any, world: World) -> None:
    response = await api("event.acknowledge", {"eventids": world.events["web"], "action": ACK, "acknowledged_until": "24855d"}, "noack")
    assert error_of(response) == invalid(NOT_AN_END)
    response = await api("event.acknowledge", {"eventids": world.events["web"], "action": ACK, "acknowledged_until": "1d"}, "noack")
    assert error_of(response) == invalid('Incorrect value for field "action": no permissions to acknowledge problems.')


async def test_a_failed_call_records_no_expiry(api: Any, client: Any, world: World, clock: FakeClock) -> None:
    web, db = world.events["web"], world.events["db"]
    await api("event.acknowledge", {"eventids": web, "action": ACK, "acknowledged_until": "1m"})
    clock.advance(60)
    before = await state(client)
    # the reader may not see db: the whole call fails, the expiry it would have recorded first included
    assert error_of(await api("event.acknowledge", {"eventids": [web, db], "action": ACK}, "reader"))[0] == -32500
    assert await state(client) == before


# --- acknowledgement.* and the Zabbix dialect, both ways ---


async def test_acknowledgement_create_shows_in_the_zabbix_dialect(api: Any, world: World) -> None:
    web = world.events["web"]
    await api("acknowledgement.create", {"eventid": web, "notes": "via circonus"}, "reader")
    assert await views(api, web, "reader") == ACKNOWLEDGED
    rows = result_of(await api("event.get", {"eventids": web, "output": ["eventid"], "selectAcknowledges": ["action", "message", "username"]}))
    assert rows[0]["acknowledges"] == [{"action": "6", "message": "via circonus", "username": "reader"}]
    # and event.acknowledge's bit 2 is now skipped, as on any acknowledged event
    await api("event.acknowledge", {"eventids": web, "action": ACK})
    assert len(result_of(await api("acknowledgement.get", {"eventids": web}))) == 1


async def test_problem_get_filters_by_the_spans(api: Any, world: World, clock: FakeClock) -> None:
    web, web2, db = world.events["web"], world.events["web2"], world.events["db"]
    await api("acknowledgement.create", {"eventid": web, "acknowledged_until": "2m"})
    await api("event.acknowledge", {"eventids": [db], "action": ACK, "acknowledged_until": "1m"})

    async def acknowledged(flag: bool) -> list[int]:
        found = result_of(await api("problem.get", {"acknowledged": flag, "output": ["eventid"], "sortfield": "eventid"}))
        return [int(p["eventid"]) for p in found]

    assert (await acknowledged(True), await acknowledged(False)) == ([web, db], [web2])
    clock.advance(60)
    assert (await acknowledged(True), await acknowledged(False)) == ([web], [web2, db])
    assert result_of(await api("problem.get", {"filter": {"acknowledged": 1}, "output": ["eventid"]})) == [{"eventid": str(web)}]
    clock.advance(60)
    assert (await acknowledged(True), await acknowledged(False)) == ([], [web, web2, db])
    assert result_of(await api("event.get", {"acknowledged": True, "countOutput": True})) == "0"


# --- the expiry sweep ---


async def test_only_the_last_end_writes_history(api: Any, client: Any, world: World, clock: FakeClock) -> None:
    web = world.events["web"]
    await api("acknowledgement.create", {"eventid": web, "acknowledged_until": "1m"})
    await api("acknowledgement.create", {"eventid": web, "acknowledged_until": "3m"}, "reader")
    await api("acknowledgement.create", {"eventid": web, "acknowledged_until": "3m"})
    clock.advance(600)
    assert await run_once(client, clock.now) == 3
    assert (await history(client))[1:] == [(ADMIN_USERID, web, NOW + 180, "", UNACK)]  # the newest of the two last
    assert await run_once(client, clock.now) == 0


async def test_the_sweep_records_each_gap(api: Any, client: Any, world: World, clock: FakeClock) -> None:
    web, web2 = world.events["web"], world.events["web2"]
    await api("acknowledgement.create", {"eventid": web, "acknowledged_until": "1m"})
    await api("acknowledgement.create", {"eventid": web2, "acknowledged_until": "2m"}, "reader")
    await api("acknowledgement.create", {"eventid": web2})
    clock.advance(60)
    assert await run_once(client, clock.now - 1) == 0  # nothing is due a second early
    assert await run_once(client, clock.now) == 1
    clock.advance(60)
    assert await run_once(client, clock.now) == 1
    assert (await history(client))[2:] == [(ADMIN_USERID, web, NOW + 60, "", UNACK)]  # web2 stays acknowledged
    assert await unrecorded_end(client, web) == 0 and await unrecorded_end(client, web2) == 1


async def test_ends_that_passed_while_stopped_are_recorded_at_start(make_client: Any, client: Any, api: Any,
                                                                    world: World, clock: FakeClock) -> None:
    web = world.events["web"]
    await api("acknowledgement.create", {"eventid": web, "acknowledged_until": "10s"}, "reader")
    await client.close()  # the server stops before the end
    clock.advance(3600)
    restarted = await make_client()
    assert await history(restarted) == [(world.users["reader"], web, NOW, "", ACK), (world.users["reader"], web, NOW + 10, "", UNACK)]
    assert await unrecorded_end(restarted, web) == 0


async def test_deleting_a_user_takes_their_spans_and_the_acknowledgement(api: Any, client: Any, world: World) -> None:
    web = world.events["web"]
    await api("acknowledgement.create", {"eventid": web}, "reader")
    assert await unrecorded_end(client, web) == 1
    assert result_of(await api("user.delete", [str(world.users["reader"])]))
    assert await stored_spans(client) == []
    assert await views(api, web) == NOT_ACKNOWLEDGED
