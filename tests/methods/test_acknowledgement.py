"""acknowledgement.create / get / update / delete through the endpoint (API.md §5): the object, the
acknowledged_until forms and their one error, the clamp to now, history rows, "the current value
changes nothing", cancelling, inactive spans, delete refused, filters and sorting, permissions."""

from __future__ import annotations

from typing import Any

import pytest

from ..conftest import FakeClock, error_of, result_of
from .spans_world import (
    ADMIN_USERID,
    NO_PERMISSIONS,
    NOT_ALLOWED,
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
CANNOT_DELETE = (-32500, "Application error.", "Acknowledgements cannot be deleted: they are a historic record. "
                 "Set acknowledged_until to now to end one.")


def inactive(spanid: str) -> tuple[int, str, str]:
    return (-32500, "Application error.", f'Acknowledgement "{spanid}" is no longer active; create a new one.')


async def create(api: Any, params: dict[str, Any], user: str = "admin") -> dict[str, Any]:
    return result_of(await api("acknowledgement.create", params, user))


async def get(api: Any, params: dict[str, Any], user: str = "admin") -> list[dict[str, Any]]:
    return result_of(await api("acknowledgement.get", params, user))


async def ids_of(api: Any, params: dict[str, Any], user: str = "admin") -> list[str]:
    return [span["acknowledgementid"] for span in await get(api, params, user)]


# --- create ---


async def test_create_returns_the_object(api: Any, client: Any, world: World) -> None:
    web = world.events["web"]
    span = await create(api, {"eventid": str(web), "acknowledged_until": "30m", "notes": "on it"})
    assert span == {
        "acknowledgementid": "1", "eventid": str(web), "acknowledged_by": "Admin", "acknowledged_on": NOW,
        "acknowledged_until": NOW + 1800, "until_recovery": False, "active": True, "notes": "on it", "last_modified": NOW, "last_modified_by": "Admin",
    }
    assert await history(client) == [(ADMIN_USERID, web, NOW, "on it", ACK | MESSAGE)]
    assert await unrecorded_end(client, web) == 1
    assert await get(api, {}) == [span]


@pytest.mark.parametrize("until", [{}, {"acknowledged_until": None}])
async def test_without_an_end_a_span_is_indefinite(api: Any, client: Any, world: World, until: dict[str, Any]) -> None:
    span = await create(api, {"eventid": world.events["web"], **until}, "reader")
    assert (span["acknowledged_by"], span["acknowledged_until"], span["active"], span["notes"]) == ("reader", None, True, "")
    assert await history(client) == [(world.users["reader"], world.events["web"], NOW, "", ACK)]


@pytest.mark.parametrize("until", [NOW + 60, "60s", "1m"])
async def test_epochs_and_durations_give_the_same_end(api: Any, world: World, until: Any) -> None:
    assert (await create(api, {"eventid": world.events["web"], "acknowledged_until": until}))["acknowledged_until"] == NOW + 60


async def test_a_second_span_on_an_acknowledged_event_only_comments(api: Any, client: Any, world: World) -> None:
    web = world.events["web"]
    await create(api, {"eventid": web})
    second = await create(api, {"eventid": web, "acknowledged_until": "1h", "notes": "me too"}, "reader")
    third = await create(api, {"eventid": web}, "reader")
    assert second["active"] and third["active"]
    assert await history(client) == [(ADMIN_USERID, web, NOW, "", ACK), (world.users["reader"], web, NOW, "me too", MESSAGE)]


@pytest.mark.parametrize("until", [0, NOW - 1, NOW, "0s", "0d"])
async def test_a_past_end_becomes_now_and_acknowledges_nothing(api: Any, client: Any, world: World, until: Any) -> None:
    web = world.events["web"]
    span = await create(api, {"eventid": web, "acknowledged_until": until})
    assert (span["acknowledged_until"], span["active"]) == (NOW, False)
    assert await history(client) == []
    assert await unrecorded_end(client, web) == 0
    await create(api, {"eventid": web, "acknowledged_until": until, "notes": "seen, not mine"})
    assert await history(client) == [(ADMIN_USERID, web, NOW, "seen, not mine", MESSAGE)]
    assert result_of(await api("event.get", {"eventids": web, "output": ["acknowledged"]})) == [{"acknowledged": "0"}]


MALFORMED_ENDS = ["5x", "-5m", "m", "5", "300", " 5m", "5M", "1.5h", 1.5, 1.0, True, False, -1, {}, [], ["5m"],
                  32_503_680_000, 2_147_483_648, "2147483648s", "99999999999999999999d"]
"""Including a year-3000 epoch and others beyond the supported range (2147483647)."""


@pytest.mark.parametrize("until", MALFORMED_ENDS)
async def test_malformed_ends_are_refused_in_one_text(api: Any, client: Any, world: World, until: Any) -> None:
    before = await state(client)
    assert error_of(await api("acknowledgement.create", {"eventid": world.events["web"], "acknowledged_until": until})) == invalid(NOT_AN_END)
    assert await state(client) == before


async def test_a_duration_ending_past_the_supported_range_is_refused(api: Any, client: Any, world: World) -> None:
    # 24855 days fit in an int32 on their own, but not counted from now.
    response = await api("acknowledgement.create", {"eventid": world.events["web"], "acknowledged_until": "24855d"})
    assert error_of(response) == invalid(NOT_AN_END)
    assert await stored_spans(client) == []


@pytest.mark.parametrize(
    "params, expected",
    [
        ({}, 'Invalid parameter "/": the parameter "eventid" is missing.'),
        ({"eventid": "x"}, 'Invalid parameter "/eventid": a number is expected.'),
        ({"eventid": None}, 'Invalid parameter "/eventid": a number is expected.'),
        ({"eventid": [1]}, 'Invalid parameter "/eventid": a number is expected.'),
        ({"eventid": 1, "acknowledged_on": 5}, 'Invalid parameter "/": unexpected parameter "acknowledged_on".'),
        ({"eventid": 1, "acknowledged_by": "me"}, 'Invalid parameter "/": unexpected parameter "acknowledged_by".'),
        ({"eventid": 1, "notes": 5}, 'Invalid parameter "/notes": a character string is expected.'),
        ({"eventid": 1, "notes": None}, 'Invalid parameter "/notes": a character string is expected.'),
        ({"eventid": 1, "notes": "x" * 2049}, 'Invalid parameter "/notes": value is too long.'),
        ({"eventid": 1, "acknowledged_until": "5x", "notes": 5}, NOT_AN_END),  # the fields in their order
        ([{"eventid": 1}], 'Invalid parameter "/": unexpected parameter "0".'),
    ],
)
async def test_bad_create_params(api: Any, client: Any, world: World, params: Any, expected: str) -> None:
    before = await state(client)
    assert error_of(await api("acknowledgement.create", params)) == invalid(expected)
    assert await state(client) == before


@pytest.mark.parametrize(
    "event, user, expected",
    [
        ("db", "reader", NO_PERMISSIONS),  # no rights on the DB group
        ("web", "nobody", NO_PERMISSIONS),
        ("ok", "admin", NO_PERMISSIONS),  # a recovery event is no problem to acknowledge
        ("missing", "admin", NO_PERMISSIONS),
        ("web", "noack", NOT_ALLOWED),  # the role may not acknowledge problems
    ],
)
async def test_create_needs_a_problem_the_caller_may_read_and_acknowledge(
    api: Any, client: Any, world: World, event: str, user: str, expected: tuple[int, str, str]
) -> None:
    before = await state(client)
    assert error_of(await api("acknowledgement.create", {"eventid": world.events.get(event, 999_999)}, user)) == expected
    assert await state(client) == before


async def test_notes_need_the_right_to_comment(api: Any, client: Any, world: World) -> None:
    refused = await api("acknowledgement.create", {"eventid": world.events["web"], "notes": "hi"}, "nocomment")
    assert error_of(refused) == NOT_ALLOWED
    assert await stored_spans(client) == []
    assert (await create(api, {"eventid": world.events["web"]}, "nocomment"))["active"] is True


async def test_a_resolved_problem_may_be_acknowledged(api: Any, call: Any, world: World) -> None:
    await call("event.create", {"host": "web-01", "name": "CPU is high", "value": 0}, auth=world.sessions["admin"])
    assert (await create(api, {"eventid": world.events["web"]}))["active"] is True


# --- get ---


@pytest.fixture
async def three(api: Any, world: World, clock: FakeClock) -> list[str]:
    """1: web, indefinite, by Admin at NOW; 2: web2, until NOW+600, by reader at NOW+10; 3: db, ended
    at once, by Admin at NOW+20, with notes."""
    first = await create(api, {"eventid": world.events["web"]})
    clock.advance(10)
    second = await create(api, {"eventid": world.events["web2"], "acknowledged_until": NOW + 600}, "reader")
    clock.advance(10)
    third = await create(api, {"eventid": world.events["db"], "acknowledged_until": 0, "notes": "n"})
    return [first["acknowledgementid"], second["acknowledgementid"], third["acknowledgementid"]]


def with_events(params: dict[str, Any], world: World) -> dict[str, Any]:
    """`eventids` named as "EVENT:<name of the world's event>", as ids."""
    named = params.get("eventids")
    if named is None:
        return params
    ids = [world.events[name.removeprefix("EVENT:")] for name in (named if isinstance(named, list) else [named])]
    return {**params, "eventids": ids if isinstance(named, list) else str(ids[0])}


@pytest.mark.parametrize(
    "params, expected",
    [
        ({}, [1, 2, 3]),
        ({"acknowledgementids": "2"}, [2]),
        ({"acknowledgementids": [3, "1"]}, [1, 3]),
        ({"acknowledgementids": []}, []),
        ({"eventids": "EVENT:web2"}, [2]),
        ({"eventids": ["EVENT:web", "EVENT:db"]}, [1, 3]),
        ({"active": True}, [1, 2]),
        ({"active": False}, [3]),
        ({"acknowledged_by": "reader"}, [2]),
        ({"acknowledged_by": ["ADMIN"]}, [1, 3]),  # usernames compare as user.login compares them
        ({"acknowledged_by": ["nobody"]}, []),
        ({"acknowledged_on_lt": NOW + 10}, [1]),
        ({"acknowledged_on_le": NOW + 10}, [1, 2]),
        ({"acknowledged_on_gt": NOW + 10}, [3]),
        ({"acknowledged_on_ge": NOW + 10, "acknowledged_on_lt": NOW + 20}, [2]),
        ({"acknowledged_until_lt": NOW + 600}, [3]),  # indefinite is later than any time
        ({"acknowledged_until_le": NOW + 600}, [2, 3]),
        ({"acknowledged_until_gt": NOW + 600}, [1]),
        ({"acknowledged_until_ge": NOW + 20}, [1, 2, 3]),
        ({"sortfield": "acknowledged_until"}, [3, 2, 1]),
        ({"sortfield": "acknowledged_until", "sortorder": "DESC"}, [1, 2, 3]),
        ({"sortfield": ["acknowledged_on"], "sortorder": ["DESC"]}, [3, 2, 1]),
        ({"sortfield": "eventid", "sortorder": "DESC", "limit": 2}, [3, 2]),
        ({"sortfield": ["last_modified", "acknowledgementid"], "sortorder": "DESC"}, [3, 2, 1]),
        ({"limit": 1}, [1]),
        ({"active": True, "acknowledged_by": "Admin", "eventids": "EVENT:web"}, [1]),
    ],
)
async def test_get_filters_and_sorts(api: Any, world: World, clock: FakeClock, three: list[str],
                                     params: dict[str, Any], expected: list[int]) -> None:
    assert await ids_of(api, with_events(params, world)) == [three[i - 1] for i in expected]


async def test_get_shows_typed_values(api: Any, world: World, clock: FakeClock, three: list[str]) -> None:
    spans = await get(api, {})
    assert [type(span["acknowledgementid"]) for span in spans] == [str, str, str]
    assert spans[2] == {
        "acknowledgementid": three[2], "eventid": str(world.events["db"]), "acknowledged_by": "Admin",
        "acknowledged_on": NOW + 20, "acknowledged_until": NOW + 20, "until_recovery": False, "active": False, "notes": "n",
        "last_modified": NOW + 20, "last_modified_by": "Admin",
    }


async def test_get_shows_spans_on_readable_events_only(api: Any, world: World, clock: FakeClock, three: list[str]) -> None:
    assert await ids_of(api, {}, "reader") == three[:2]
    assert await ids_of(api, {"eventids": world.events["db"]}, "reader") == []
    assert await ids_of(api, {}, "nobody") == []


async def test_active_ends_at_the_second(api: Any, world: World, clock: FakeClock, three: list[str]) -> None:
    clock.advance(579)  # NOW + 599: the span to NOW + 600 has one second left
    assert await ids_of(api, {"active": True}) == three[:2]
    clock.advance(1)
    assert await ids_of(api, {"active": True}) == three[:1]
    assert (await get(api, {"acknowledgementids": three[1]}))[0]["active"] is False


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"output": "extend"}, 'Invalid parameter "/": unexpected parameter "output".'),
        ({"acknowledgementids": "x"}, 'Invalid parameter "/acknowledgementids/1": a number is expected.'),
        ({"eventids": {"a": 1}}, 'Invalid parameter "/eventids": an array is expected.'),
        ({"active": "yes"}, 'Invalid parameter "/active": a boolean is expected.'),
        ({"active": None}, 'Invalid parameter "/active": a boolean is expected.'),
        ({"acknowledged_by": 5}, 'Invalid parameter "/acknowledged_by": an array is expected.'),
        ({"acknowledged_by": ["Admin", 5]}, 'Invalid parameter "/acknowledged_by/2": a character string is expected.'),
        ({"acknowledged_until_lt": "soon"}, 'Invalid parameter "/acknowledged_until_lt": an unsigned integer is expected.'),
        ({"acknowledged_on_ge": 2**31}, 'Invalid parameter "/acknowledged_on_ge": a timestamp is too large.'),
        ({"acknowledged_until_between": 1}, 'Invalid parameter "/": unexpected parameter "acknowledged_until_between".'),
        ({"sortfield": "notes"}, 'Invalid parameter "/sortfield/1": value must be one of "acknowledgementid", '
                                 '"eventid", "acknowledged_on", "acknowledged_until", "last_modified".'),
        ({"sortorder": "UP"}, 'Invalid parameter "/sortorder/1": value must be one of "ASC", "DESC".'),
        ({"limit": 0}, 'Invalid parameter "/limit": value must be one of 1-2147483647.'),
        ({"limit": "ten"}, 'Invalid parameter "/limit": an integer is expected.'),
    ],
)
async def test_bad_get_params(api: Any, params: dict[str, Any], expected: str) -> None:
    assert error_of(await api("acknowledgement.get", params)) == invalid(expected)


# --- update ---


async def test_extend_and_shorten(api: Any, client: Any, world: World, clock: FakeClock) -> None:
    span = await create(api, {"eventid": world.events["web"], "acknowledged_until": "30m"})
    clock.advance(60)
    extended = result_of(await api("acknowledgement.update", {"acknowledgementid": span["acknowledgementid"],
                                                              "acknowledged_until": "1h"}, "reader"))
    assert extended == {**span, "acknowledged_until": NOW + 60 + 3600, "last_modified": NOW + 60, "last_modified_by": "reader"}
    shortened = result_of(await api("acknowledgement.update", {"acknowledgementid": int(span["acknowledgementid"]),
                                                               "acknowledged_until": NOW + 120}))
    assert (shortened["acknowledged_until"], shortened["active"], shortened["last_modified_by"]) == (NOW + 120, True, "Admin")
    indefinite = result_of(await api("acknowledgement.update", {"acknowledgementid": span["acknowledgementid"],
                                                                "acknowledged_until": None}))
    assert indefinite["acknowledged_until"] is None
    assert await history(client) == [(ADMIN_USERID, world.events["web"], NOW, "", ACK)]  # extending is no history


@pytest.mark.parametrize("params", [{}, {"acknowledged_until": NOW + 1800}, {"acknowledged_until": "30m"},
                                    {"notes": "first"}, {"acknowledged_until": NOW + 1800, "notes": "first"}])
async def test_the_current_values_change_nothing(api: Any, client: Any, world: World, params: dict[str, Any]) -> None:
    span = await create(api, {"eventid": world.events["web"], "acknowledged_until": "30m", "notes": "first"})
    before = await state(client)
    again = result_of(await api("acknowledgement.update", {"acknowledgementid": span["acknowledgementid"], **params}, "reader"))
    assert again == span  # not even last_modified moves
    assert await state(client) == before


async def test_notes_change_without_history(api: Any, client: Any, world: World, clock: FakeClock) -> None:
    span = await create(api, {"eventid": world.events["web"]})
    clock.advance(5)
    changed = result_of(await api("acknowledgement.update", {"acknowledgementid": span["acknowledgementid"], "notes": "ticket 42"}))
    assert changed == {**span, "notes": "ticket 42", "last_modified": NOW + 5}
    assert len(await history(client)) == 1


@pytest.mark.parametrize("until", [0, NOW + 30, "0s", NOW - 100])
async def test_cancel_by_setting_now(api: Any, client: Any, world: World, clock: FakeClock, until: Any) -> None:
    web = world.events["web"]
    span = await create(api, {"eventid": web, "acknowledged_until": "1h"})
    clock.advance(30)
    ended = result_of(await api("acknowledgement.update", {"acknowledgementid": span["acknowledgementid"],
                                                           "acknowledged_until": until}, "reader"))
    assert ended == {**span, "acknowledged_until": NOW + 30, "active": False, "last_modified": NOW + 30,
                     "last_modified_by": "reader"}
    assert await history(client) == [(ADMIN_USERID, web, NOW, "", ACK), (world.users["reader"], web, NOW + 30, "", UNACK)]
    assert await unrecorded_end(client, web) == 0
    assert result_of(await api("problem.get", {"eventids": web, "output": ["acknowledged"]})) == [{"acknowledged": "0"}]


async def test_cancelling_one_of_two_leaves_the_event_acknowledged(api: Any, client: Any, world: World) -> None:
    web = world.events["web"]
    first = await create(api, {"eventid": web})
    await create(api, {"eventid": web, "acknowledged_until": "1h"}, "reader")
    await api("acknowledgement.update", {"acknowledgementid": first["acknowledgementid"], "acknowledged_until": 0})
    assert await history(client) == [(ADMIN_USERID, web, NOW, "", ACK)]
    assert await unrecorded_end(client, web) == 1
    assert result_of(await api("event.get", {"eventids": web, "output": ["acknowledged"]})) == [{"acknowledged": "1"}]


@pytest.mark.parametrize("params", [{}, {"notes": "x"}, {"acknowledged_until": "1h"}, {"acknowledged_until": None},
                                    {"acknowledged_until": 0}])
async def test_an_inactive_span_cannot_change(api: Any, client: Any, world: World, clock: FakeClock, params: dict[str, Any]) -> None:
    ended = await create(api, {"eventid": world.events["web"], "acknowledged_until": 0})
    expired = await create(api, {"eventid": world.events["web2"], "acknowledged_until": "1m"})
    clock.advance(60)  # expired at this very second; no sweep needed
    before = await state(client)
    for span in (ended, expired):
        spanid = span["acknowledgementid"]
        assert error_of(await api("acknowledgement.update", {"acknowledgementid": spanid, **params})) == inactive(spanid)
    assert await state(client) == before


@pytest.mark.parametrize(
    "params, expected",
    [
        ({}, 'Invalid parameter "/": the parameter "acknowledgementid" is missing.'),
        ({"acknowledgementid": "one"}, 'Invalid parameter "/acknowledgementid": a number is expected.'),
        ({"acknowledgementid": "SPAN", "eventid": 3}, 'Invalid parameter "/": unexpected parameter "eventid".'),
        ({"acknowledgementid": "SPAN", "acknowledged_on": 3}, 'Invalid parameter "/": unexpected parameter "acknowledged_on".'),
        ({"acknowledgementid": "SPAN", "active": False}, 'Invalid parameter "/": unexpected parameter "active".'),
        ({"acknowledgementid": "SPAN", "acknowledged_until": "-5m"}, NOT_AN_END),
        ({"acknowledgementid": "SPAN", "acknowledged_until": True}, NOT_AN_END),
        ({"acknowledgementid": "SPAN", "acknowledged_until": 32_503_680_000}, NOT_AN_END),
        ({"acknowledgementid": "SPAN", "notes": ["x"]}, 'Invalid parameter "/notes": a character string is expected.'),
    ],
)
async def test_bad_update_params(api: Any, client: Any, world: World, params: dict[str, Any], expected: str) -> None:
    span = await create(api, {"eventid": world.events["web"], "acknowledged_until": "1h"})
    params = {name: span["acknowledgementid"] if value == "SPAN" else value for name, value in params.items()}
    before = await state(client)
    assert error_of(await api("acknowledgement.update", params)) == invalid(expected)
    assert await state(client) == before


@pytest.mark.parametrize(
    "spanid, user, expected",
    [
        ("db", "reader", NO_PERMISSIONS),
        ("web", "nobody", NO_PERMISSIONS),
        ("999999", "admin", NO_PERMISSIONS),
        ("web", "noack", NOT_ALLOWED),
    ],
)
async def test_update_needs_a_span_the_caller_may_see_and_acknowledge(
    api: Any, client: Any, world: World, spanid: str, user: str, expected: tuple[int, str, str]
) -> None:
    spans = {name: (await create(api, {"eventid": world.events[name]}))["acknowledgementid"] for name in ("web", "db")}
    before = await state(client)
    params = {"acknowledgementid": spans.get(spanid, spanid), "acknowledged_until": 0}
    assert error_of(await api("acknowledgement.update", params, user)) == expected
    assert await state(client) == before


async def test_update_notes_need_the_right_to_comment(api: Any, client: Any, world: World) -> None:
    span = await create(api, {"eventid": world.events["web"]})
    before = await state(client)
    assert error_of(await api("acknowledgement.update", {"acknowledgementid": span["acknowledgementid"], "notes": "x"},
                              "nocomment")) == NOT_ALLOWED
    assert await state(client) == before


# --- delete ---


@pytest.mark.parametrize("params", [{"acknowledgementid": "SPAN"}, ["SPAN"], {}, {"nonsense": True}])
async def test_delete_is_always_refused(api: Any, client: Any, world: World, params: Any) -> None:
    spanid = (await create(api, {"eventid": world.events["web"]}))["acknowledgementid"]
    params = [spanid] if params == ["SPAN"] else {name: spanid for name in params} if "acknowledgementid" in params else params
    before = await state(client)
    for user in ("admin", "reader"):
        assert error_of(await api("acknowledgement.delete", params, user)) == CANNOT_DELETE
    assert await state(client) == before
