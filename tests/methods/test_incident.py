"""incident.* through the endpoint (API.md §4): the transition table, the fields, permissions,
mass calls and their rate limit, and the one state both dialects share."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.incident import IncidentGetParams

from ..conftest import cached_world, error_of, result_of, storage_of

NO_PERMISSIONS = (-32500, "Application error.", "No permissions to referred object or it does not exist!")
PASSWORD = "long-enough-1"


@cached_world
async def world(call: Any, admin: str, login: Any) -> dict[str, Any]:
    """Four problems in "Web" (three closable, one not), paged to "oncall"; users with read and read-write."""
    web_ids = (await call("event.create", [
        {"host": "web-01", "name": f"problem {n}", "groups": ["Web"], "manual_close": 1, "severity": n, "paged_users": ["Admin"]}
        for n in (1, 2, 3)
    ] + [{"host": "web-01", "name": "not closable", "groups": ["Web"], "manual_close": 0, "severity": 4}], auth=admin))["eventids"]
    web = (await call("hostgroup.get", {"output": ["groupid"], "filter": {"name": "Web"}}, auth=admin))[0]["groupid"]
    sessions = {}
    for name, permission in (("ro", 2), ("rw", 3)):
        usrgrpid = (await call("usergroup.create", {"name": f"{name} group", "hostgroup_rights": [{"id": web, "permission": permission}]}, auth=admin))["usrgrpids"][0]
        await call("user.create", {"username": name, "passwd": PASSWORD, "roleid": "1", "usrgrps": [{"usrgrpid": usrgrpid}]}, auth=admin)
        sessions[name] = await login(name, PASSWORD)
    return {"ids": [str(i) for i in web_ids], "admin": admin, **sessions}


@pytest.fixture
def inc(rpc: Any, world: dict[str, Any]) -> Any:
    async def run(method: str, params: Any, user: str = "admin") -> dict[str, Any]:
        return await rpc(f"incident.{method}", params, headers={"Authorization": f"Bearer {world[user]}"})

    return run


def refusal(from_status: str, to_status: str, valid: list[str]) -> tuple[int, str, dict[str, Any]]:
    return (-32500, "Application error.", {
        "code": "VALIDATION_ERROR",
        "message": f"Cannot transition from {from_status} to {to_status}. Valid transitions: {', '.join(valid) or 'none'}",
        "fromStatus": from_status, "toStatus": to_status, "validTransitions": valid,
    })


async def bring_to(inc: Any, incidentid: str, status: str) -> None:
    path = {"open": [], "acknowledged": ["acknowledged"], "resolved": ["resolved"], "closed": ["acknowledged", "closed"]}[status]
    for step in path:
        result_of(await inc("update", {"incidentid": incidentid, "status": step}))


VALID = {"open": ["acknowledged", "resolved"], "acknowledged": ["open", "resolved", "closed"], "resolved": ["closed"], "closed": []}


@pytest.mark.parametrize("from_status", list(VALID))
@pytest.mark.parametrize("to_status", list(VALID))
async def test_every_cell_of_the_table(inc: Any, world: dict[str, Any], from_status: str, to_status: str) -> None:
    incidentid = world["ids"][0]
    await bring_to(inc, incidentid, from_status)
    response = await inc("update", {"incidentid": incidentid, "status": to_status})
    if to_status in VALID[from_status]:
        assert result_of(response)["status"] == to_status
    else:
        assert error_of(response) == refusal(from_status, to_status, VALID[from_status])


async def test_acknowledge_sets_the_fields(inc: Any, world: dict[str, Any], clock: Any) -> None:
    incident = result_of(await inc("acknowledge", {"incidentid": world["ids"][1], "acknowledged_by": "Ticketing System", "comment": "INC-42"}, "rw"))
    now = int(clock.now)
    assert incident["status"] == "acknowledged"
    assert (incident["acknowledged_at"], incident["acknowledged_by"], incident["assigned_to"]) == (now, "Ticketing System", "rw")
    assert incident["notes"] == [{"clock": now, "username": "rw", "status_from": "open", "status_to": "acknowledged", "text": "INC-42"}]
    assert (incident["title"], incident["host"], incident["severity"], incident["paged_users"]) == ("problem 2", "web-01", "warning", ["Admin"])
    defaults = result_of(await inc("acknowledge", {"incidentid": world["ids"][2]}, "ro"))  # read is enough to acknowledge
    assert (defaults["acknowledged_by"], defaults["notes"][0]["text"]) == ("ro", "Incident acknowledged")
    assert error_of(await inc("acknowledge", {"incidentid": world["ids"][1]})) == refusal("acknowledged", "acknowledged", VALID["acknowledged"])


async def test_resolving_needs_read_write_and_manual_close(inc: Any, world: dict[str, Any]) -> None:
    assert error_of(await inc("resolve", {"incidentid": world["ids"][0]}, "ro")) == NO_PERMISSIONS
    assert error_of(await inc("resolve", {"incidentid": world["ids"][3]}, "rw")) == (-32500, "Application error.", "Cannot close problem: trigger does not allow manual closing.")
    resolved = result_of(await inc("resolve", {"incidentid": world["ids"][0], "comment": "fixed"}, "rw"))
    assert resolved["status"] == "resolved" and resolved["resolved_at"] is not None
    closed = result_of(await inc("close", {"incidentid": world["ids"][0]}, "rw"))
    assert closed["status"] == "closed" and [n["text"] for n in closed["notes"]] == ["fixed", "Incident closed"]


async def test_reopening_unacknowledges(inc: Any, call: Any, world: dict[str, Any]) -> None:
    await inc("acknowledge", {"incidentid": world["ids"][0]})
    reopened = result_of(await inc("update", {"incidentid": world["ids"][0], "status": "open", "note": "false alarm?"}))
    assert (reopened["status"], reopened["acknowledged_at"], reopened["acknowledged_by"]) == ("open", None, None)
    (event,) = await call("event.get", {"eventids": world["ids"][0], "output": ["acknowledged"], "selectAcknowledges": ["action", "message"]}, auth=world["admin"])
    assert event == {"acknowledged": "0", "acknowledges": [{"action": "20", "message": "false alarm?"}, {"action": "6", "message": "Incident acknowledged"}]}


async def test_missing_and_invisible_incidents(inc: Any, world: dict[str, Any], call: Any) -> None:
    other = (await call("event.create", {"host": "db-01", "name": "x", "groups": ["DB"]}, auth=world["admin"]))["eventids"][0]
    for incidentid, user in (("999999", "admin"), (str(other), "rw")):
        assert error_of(await inc("acknowledge", {"incidentid": incidentid}, user)) == NO_PERMISSIONS
    assert [i["incidentid"] for i in result_of(await inc("get", {}, "ro"))] == world["ids"]  # not the DB one


SEVERITY_REASON = ('Invalid parameter "{path}": value must be one of "not_classified", "information", "warning", "average", '
                   '"high", "disaster", 0-5.')


@pytest.mark.parametrize(
    "method, params, data",
    [
        ("acknowledge", {"incidentid": "1", "acknowledged_by": "x" * 256}, 'Invalid parameter "/acknowledged_by": value is too long.'),
        ("acknowledge", {"incidentid": "1", "comment": "x" * 256}, 'Invalid parameter "/comment": value is too long.'),
        ("acknowledge", {"comment": "x"}, 'Invalid parameter "/": the parameter "incidentid" is missing.'),
        ("acknowledge", {"incidentid": "1", "who": "me"}, 'Invalid parameter "/": unexpected parameter "who".'),
        ("update", {"incidentid": "1", "status": "done"}, 'Invalid parameter "/status": value must be one of "open", "acknowledged", "resolved", "closed".'),
        ("update", {"incidentid": "1", "status": "resolved", "note": "x" * 2049}, 'Invalid parameter "/note": value is too long.'),
        ("close", {"incidentid": "abc"}, 'Invalid parameter "/incidentid": a number is expected.'),
        ("massacknowledge", {}, 'Invalid parameter "/": exactly one of the parameters "incidentids" and "paged_user" is expected, neither was given.'),
        ("massresolve", {"incidentids": ["1"], "paged_user": "Admin"}, 'Invalid parameter "/": exactly one of the parameters "incidentids" and "paged_user" is expected, both were given.'),
        ("get", {"status": ["sleeping"]}, 'Invalid parameter "/status/1": value must be one of "open", "acknowledged", "resolved", "closed".'),
        ("get", {"severities": ["high", 6]}, SEVERITY_REASON.format(path="/severities/2")),
        ("get", {"severities": "critical"}, SEVERITY_REASON.format(path="/severities/1")),
        ("get", {"severities": [-1]}, SEVERITY_REASON.format(path="/severities/1")),
        ("get", {"severities": [True]}, SEVERITY_REASON.format(path="/severities/1")),
        ("get", {"severities": [4.0]}, SEVERITY_REASON.format(path="/severities/1")),
        ("get", {"severities": ["high", 4]}, 'Invalid parameter "/severities/2": value (4) already exists.'),
        ("get", {"severities": {"high": 1}}, 'Invalid parameter "/severities": an array is expected.'),
    ],
)
async def test_bad_input_changes_nothing(inc: Any, world: dict[str, Any], client: Any, method: str, params: dict[str, Any], data: str) -> None:
    params = {k: (world["ids"][0] if v == "1" else v) for k, v in params.items()}
    assert error_of(await inc(method, params)) == (-32602, "Invalid params.", data)
    history = await storage_of(client).read(lambda c: c.execute("SELECT count(*) FROM acknowledges").fetchone()[0])
    assert history == 0


async def test_get_filters(inc: Any, world: dict[str, Any]) -> None:
    ids = world["ids"]
    await inc("acknowledge", {"incidentid": ids[0]})
    ids_of = lambda response: [i["incidentid"] for i in result_of(response)]  # noqa: E731
    assert ids_of(await inc("get", {"status": ["acknowledged"]})) == [ids[0]]
    assert ids_of(await inc("get", {"status": ["open"], "severities": ["warning", "high"]})) == [ids[1], ids[3]]
    # Zabbix's numbers for the same severities, alone, mixed with names, as strings of digits.
    for severities in ([2, 4], ["warning", 4], ["2", "4"], [4, 2]):
        assert ids_of(await inc("get", {"status": ["open"], "severities": severities})) == [ids[1], ids[3]]
    assert ids_of(await inc("get", {"status": "open", "severities": 4})) == [ids[3]]
    assert {i["severity"] for i in result_of(await inc("get", {"severities": [2, 4]}))} == {"warning", "high"}  # names answered
    assert ids_of(await inc("get", {"paged_user": "Admin", "sortorder": "DESC", "limit": 2})) == [ids[2], ids[1]]
    assert ids_of(await inc("get", {"paged_user": "nobody"})) == []
    assert ids_of(await inc("get", {"incidentids": [ids[3], ids[0]]})) == [ids[0], ids[3]]


async def test_mass_acknowledge_by_ids_with_mixed_outcomes(inc: Any, world: dict[str, Any]) -> None:
    ids = world["ids"]
    await inc("resolve", {"incidentid": ids[0]})
    results = result_of(await inc("massacknowledge", {"incidentids": [ids[1], ids[0], "999999"], "comment": "bulk"}))["results"]
    assert [(r["cmdAccepted"], r["incidentNumber"]) for r in results] == [(True, ids[1]), (False, ids[0]), (False, "999999")]
    assert results[1]["message"] == "Cannot transition from resolved to acknowledged. Valid transitions: closed"
    assert results[2] == {"cmdAccepted": False, "entityId": "", "incidentNumber": "999999", "message": "No permissions to referred object or it does not exist!"}
    assert results[0]["entityId"].isdigit() and results[0]["message"] == ""
    incidents = {i["incidentid"]: i for i in result_of(await inc("get", {}))}
    assert incidents[ids[1]]["status"] == "acknowledged" and incidents[ids[1]]["notes"][-1]["text"] == "bulk"


async def test_mass_resolve_by_paged_user(inc: Any, world: dict[str, Any]) -> None:
    ids = world["ids"]
    await inc("acknowledge", {"incidentid": ids[1]})
    await inc("resolve", {"incidentid": ids[2]})  # resolved already: not a target
    results = result_of(await inc("massresolve", {"paged_user": "Admin"}, "rw"))["results"]
    assert [(r["incidentNumber"], r["cmdAccepted"]) for r in results] == [(ids[0], True), (ids[1], True)]
    assert error_of(await inc("massresolve", {"paged_user": "nobody"})) == NO_PERMISSIONS


async def test_mass_calls_are_rate_limited_per_caller(make_client: Any, world: dict[str, Any], clock: Any) -> None:
    client = await make_client(mass_rate_limit=2)

    async def mass(method: str, session: str) -> dict[str, Any]:
        body = {"jsonrpc": "2.0", "method": f"incident.{method}", "params": {"incidentids": ["999999"]}, "id": 1}
        return await (await client.post("/api_jsonrpc", json=body, headers={"Authorization": f"Bearer {session}"})).json()

    assert "result" in await mass("massacknowledge", world["admin"])
    clock.advance(10)
    assert "result" in await mass("massresolve", world["admin"])  # the two share the limit
    clock.advance(5)
    for method in ("massacknowledge", "massresolve"):
        assert error_of(await mass(method, world["admin"])) == (
            -32500, "Application error.", f"Rate limit exceeded: 2 calls per minute for incident.{method}. Retry in 45 s.")
    assert "result" in await mass("massacknowledge", world["rw"])  # per caller
    clock.advance(45)
    assert "result" in await mass("massacknowledge", world["admin"])  # refused calls did not count


async def test_both_dialects_share_one_state(inc: Any, call: Any, world: dict[str, Any], clock: Any) -> None:
    admin, ids = world["admin"], world["ids"]
    # incident.acknowledge -> event.get sees the acknowledgement and its history row
    await inc("acknowledge", {"incidentid": ids[0], "comment": "from the ticket"})
    (event,) = await call("event.get", {"eventids": ids[0], "output": ["acknowledged"], "selectAcknowledges": ["username", "action", "message"]}, auth=admin)
    assert event == {"acknowledged": "1", "acknowledges": [{"username": "Admin", "action": "6", "message": "from the ticket"}]}
    # event.acknowledge -> incident.get status, both ways
    await call("event.acknowledge", {"eventids": ids[1], "action": 2}, auth=admin)
    status = lambda: call("incident.get", {"incidentids": [ids[1]]}, auth=admin)  # noqa: E731
    assert (await status())[0]["status"] == "acknowledged"
    assert (await status())[0]["acknowledged_by"] == "Admin"
    await call("event.acknowledge", {"eventids": ids[1], "action": 16}, auth=admin)
    assert (await status())[0]["status"] == "open"
    # a time-bounded acknowledgement: acknowledged until it ends, then open again
    await call("acknowledgement.create", {"eventid": ids[1], "acknowledged_until": "5m"}, auth=admin)
    assert (await status())[0]["status"] == "acknowledged"
    clock.advance(301)
    assert (await status())[0]["status"] == "open"
    # closing through event.acknowledge resolves the incident
    await call("event.acknowledge", {"eventids": ids[2], "action": 1}, auth=admin)
    assert (await call("incident.get", {"incidentids": [ids[2]]}, auth=admin))[0]["status"] == "resolved"


@pytest.mark.parametrize(
    "sent, loaded",
    [("high", [4]), (4, [4]), ("4", [4]), (["disaster", 0, "2"], [5, 0, 2]), ([], []), (None, None)],
)
def test_severities_load_as_zabbix_numbers(sent: Any, loaded: Any) -> None:
    assert IncidentGetParams().load_params({"severities": sent})["severities"] == loaded
