"""API.md §8 through the real endpoint, on both stores: Idempotency-Key (replay, conflict, per user,
concurrent repeats, batches, errors kept, failures not kept, expiry) and Dry-Run (every family's
writes change nothing at all, batch members see each other, the header's bad values)."""

from __future__ import annotations

import asyncio
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson
import pytest

from rpcserver.context import Context
from rpcserver.dispatch import ApiMethod
from rpcserver.domain.errors import Unavailable
from rpcserver.storage import copy, idempotency
from rpcserver.storage._writer import STORAGE_FAILED

from .conftest import ADMIN_PASSWORD, post, request, result_of, storage_of, ten_thousand_problems
from .server_process import running_server

PASSWORD = "Secret-pass-1"
TTL = 3600


def invalid_request(data: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid request.", "data": data}, "id": None}


async def send(client: Any, body: Any, *, auth: str | None = None, **headers: str) -> tuple[Any, Any, bytes]:
    """POST `body` with `headers` (underscores as dashes) and a Bearer credential: (decoded answer, headers, raw body)."""
    sent = {name.replace("_", "-"): value for name, value in headers.items()}
    if auth is not None:
        sent["Authorization"] = f"Bearer {auth}"
    response = await post(client, body, headers=sent)
    assert response.status == 200
    raw = await response.read()
    return (orjson.loads(raw) if raw else None), response.headers, raw


def every_row(conn: Any) -> dict[str, list[tuple[Any, ...]]]:
    """The whole state: every table's rows, in a stable order."""
    return {table: sorted((tuple(row) for row in conn.execute(f"SELECT * FROM {table}")), key=repr) for table in copy.TABLES}


def history_count(conn: Any) -> int:
    return int(conn.execute("SELECT count(*) FROM acknowledges").fetchone()[0])


@pytest.fixture
async def world(client: Any, login: Any, call: Any) -> dict[str, Any]:
    """The super admin's session, a second super admin's, and three open problems (closable)."""
    admin = await login("Admin", ADMIN_PASSWORD)
    await call("user.create", {"username": "second", "passwd": PASSWORD, "roleid": "3",
                               "usrgrps": [{"usrgrpid": "7"}]}, auth=admin)
    eventids = (await call("event.create", [
        {"host": "web-01", "name": f"problem {n}", "groups": ["Web"], "manual_close": 1, "severity": 2} for n in range(3)
    ], auth=admin))["eventids"]
    return {"admin": admin, "second": await login("second", PASSWORD), "eventids": [int(e) for e in eventids]}


def acknowledge(eventid: int, message: str = "on it", id: int = 1) -> dict[str, Any]:
    return request("event.acknowledge", {"eventids": [eventid], "action": 6, "message": message}, id=id)


# --- Idempotency-Key ---


async def test_a_repeat_gets_the_kept_answer_and_changes_nothing(client: Any, world: dict[str, Any]) -> None:
    storage = storage_of(client)
    body = acknowledge(world["eventids"][0])
    first, first_headers, first_raw = await send(client, body, auth=world["admin"], Idempotency_Key="ack-1")
    assert result_of(first) == {"eventids": [world["eventids"][0]]}
    assert "Idempotent-Replayed" not in first_headers
    state = await storage.read(every_row)
    again, again_headers, again_raw = await send(client, body, auth=world["admin"], Idempotency_Key="ack-1")
    assert again_raw == first_raw
    assert again_headers["Idempotent-Replayed"] == "true"
    assert await storage.read(every_row) == state  # no second history row, nothing else either
    # Without the key the same body is a new call.
    await send(client, body, auth=world["admin"])
    assert await storage.read(history_count) == len(state["acknowledges"]) + 1


async def test_a_credentials_change_under_a_key_applies_to_the_next_call(client: Any, world: dict[str, Any]) -> None:
    """A request transaction, like a group-committed batch, tells the process's cached callers of its changes."""
    second = world["second"]
    assert "result" in (await send(client, request("problem.get", {}), auth=second))[0]  # cached now
    logout, _, _ = await send(client, request("user.logout", []), auth=second, Idempotency_Key="log-out-1")
    assert logout["result"] is True
    after, _, _ = await send(client, request("problem.get", {}), auth=second)
    assert after["error"]["data"] == "Session terminated, re-login, please."


async def test_the_same_key_with_another_body_is_refused(client: Any, world: dict[str, Any]) -> None:
    storage = storage_of(client)
    await send(client, acknowledge(world["eventids"][0]), auth=world["admin"], Idempotency_Key="k")
    state = await storage.read(every_row)
    for other in (acknowledge(world["eventids"][1]), acknowledge(world["eventids"][0], id=2)):
        refused, headers, _ = await send(client, other, auth=world["admin"], Idempotency_Key="k")
        assert refused == invalid_request('Idempotency-Key "k" was already used for a different request.')
        assert "Idempotent-Replayed" not in headers
    assert await storage.read(every_row) == state


async def test_keys_are_per_user(client: Any, world: dict[str, Any]) -> None:
    storage = storage_of(client)
    before = await storage.read(history_count)
    body = acknowledge(world["eventids"][0])
    _, first, _ = await send(client, body, auth=world["admin"], Idempotency_Key="shared")
    _, second, _ = await send(client, body, auth=world["second"], Idempotency_Key="shared")
    assert "Idempotent-Replayed" not in first and "Idempotent-Replayed" not in second
    assert await storage.read(history_count) == before + 2
    # The key belongs to the user, whichever credential (another session) carries it.
    other_session = result_of(orjson.loads(await (await post(client, request(
        "user.login", {"username": "Admin", "password": ADMIN_PASSWORD}))).read()))
    _, third, _ = await send(client, body, auth=other_session, Idempotency_Key="shared")
    assert third["Idempotent-Replayed"] == "true"
    assert await storage.read(history_count) == before + 2


async def test_concurrent_repeats_through_two_servers_make_one_history_row(
    make_client: Any, client: Any, world: dict[str, Any]
) -> None:
    other = await make_client()  # a second server over the same database: its own writer connection
    storage = storage_of(client)
    before = await storage.read(history_count)
    body = acknowledge(world["eventids"][0], message="once")
    answers = await asyncio.gather(*(
        send(server, body, auth=world["admin"], Idempotency_Key="race") for server in (client, other) * 4
    ))
    assert len({raw for _, _, raw in answers}) == 1
    assert sorted(headers.get("Idempotent-Replayed", "") for _, headers, _ in answers) == [""] + ["true"] * 7
    assert await storage.read(history_count) == before + 1


async def test_a_batch_is_kept_and_replayed_whole(client: Any, world: dict[str, Any]) -> None:
    storage = storage_of(client)
    first_event, second_event, _ = world["eventids"]
    notification = acknowledge(second_event, message="notified")
    del notification["id"]
    body = [acknowledge(first_event, id=1), request("event.acknowledge", {"eventids": [999999], "action": 6, "message": "x"}, id=2),
            acknowledge(second_event, id=3), notification]
    first, _, first_raw = await send(client, body, auth=world["admin"], Idempotency_Key="batch")
    assert [("result" in answer) for answer in first] == [True, False, True]
    state = await storage.read(every_row)
    again, headers, again_raw = await send(client, body, auth=world["admin"], Idempotency_Key="batch")
    assert (again_raw, headers["Idempotent-Replayed"]) == (first_raw, "true")
    assert await storage.read(every_row) == state


async def test_an_error_answer_is_kept_too(client: Any, world: dict[str, Any]) -> None:
    # A refusal is the request's answer: a repeat gets it back even once the call would succeed.
    body = request("hostgroup.create", {"name": "Later"})
    await send(client, request("hostgroup.create", {"name": "Later"}), auth=world["admin"])
    refused, _, _ = await send(client, body, auth=world["admin"], Idempotency_Key="dup")
    assert refused["error"]["code"] == -32602
    await send(client, request("hostgroup.delete", [await _group_id(client, world, "Later")]), auth=world["admin"])
    again, headers, _ = await send(client, body, auth=world["admin"], Idempotency_Key="dup")
    assert (again, headers["Idempotent-Replayed"]) == (refused, "true")
    assert await _group_id(client, world, "Later") is None


async def test_a_refusal_with_an_object_as_data_is_kept(client: Any, world: dict[str, Any]) -> None:
    # The incident family's refused transitions carry an object in `data`.
    incident = str(world["eventids"][0])
    await send(client, request("incident.resolve", {"incidentid": incident}), auth=world["admin"])
    body = request("incident.resolve", {"incidentid": incident})
    refused, _, _ = await send(client, body, auth=world["admin"], Idempotency_Key="resolved")
    assert refused["error"]["code"] == -32500 and isinstance(refused["error"]["data"], dict)
    again, headers, _ = await send(client, body, auth=world["admin"], Idempotency_Key="resolved")
    assert (again, headers["Idempotent-Replayed"]) == (refused, "true")


async def _group_id(client: Any, world: dict[str, Any], name: str) -> str | None:
    found, _, _ = await send(client, request("hostgroup.get", {"filter": {"name": name}}), auth=world["admin"])
    return found["result"][0]["groupid"] if found["result"] else None


FAILURES: list[Exception] = []


def note(conn: Any, text: str) -> None:
    conn.execute("INSERT INTO hstgrp (name, uuid) VALUES (?, ?)", (text, text))


async def flaky(ctx: Context, params: Any) -> str:
    """Writes, then fails with the next of FAILURES while there is one; otherwise answers "done"."""
    await ctx.storage.write(note, f"{params['name']} {len(FAILURES)}")
    if FAILURES:
        raise FAILURES.pop(0)
    return "done"


@pytest.mark.parametrize("failure, code", [(RuntimeError("bug"), -32603), (Unavailable(STORAGE_FAILED), -32500)])
async def test_internal_and_database_failures_are_not_kept(
    make_client: Any, world: dict[str, Any], failure: Exception, code: int
) -> None:
    client = await make_client({"test.flaky": ApiMethod(flaky)})
    FAILURES[:] = [failure]
    body = request("test.flaky", {"name": "try"})
    failed, _, _ = await send(client, body, auth=world["admin"], Idempotency_Key="retry-me")
    assert failed["error"]["code"] == code
    retried, headers, _ = await send(client, body, auth=world["admin"], Idempotency_Key="retry-me")
    assert (retried["result"], "Idempotent-Replayed" in headers) == ("done", False)
    again, headers, _ = await send(client, body, auth=world["admin"], Idempotency_Key="retry-me")
    assert (again["result"], headers["Idempotent-Replayed"]) == ("done", "true")


async def test_keys_expire(client: Any, world: dict[str, Any], clock: Any) -> None:
    storage = storage_of(client)
    body = acknowledge(world["eventids"][0])
    await send(client, body, auth=world["admin"], Idempotency_Key="old")
    before = await storage.read(history_count)
    clock.advance(24 * 3600 - 1)
    _, headers, _ = await send(client, body, auth=world["admin"], Idempotency_Key="old")
    assert headers["Idempotent-Replayed"] == "true"
    assert await storage.write(idempotency.remove_expired, int(clock())) == 0
    clock.advance(1)
    _, headers, _ = await send(client, body, auth=world["admin"], Idempotency_Key="old")  # expired: runs again
    assert "Idempotent-Replayed" not in headers
    assert await storage.read(history_count) == before + 1
    clock.advance(24 * 3600)
    assert await storage.write(idempotency.remove_expired, int(clock())) == 1
    assert await storage.read(lambda conn: conn.execute("SELECT count(*) FROM idempotent_request").fetchone()[0]) == 0


async def test_the_ttl_is_configurable(make_client: Any, world: dict[str, Any], clock: Any) -> None:
    client = await make_client(idempotency_ttl=10)
    body = acknowledge(world["eventids"][0])
    await send(client, body, auth=world["admin"], Idempotency_Key="short")
    clock.advance(10)
    _, headers, _ = await send(client, body, auth=world["admin"], Idempotency_Key="short")
    assert "Idempotent-Replayed" not in headers


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\there", "é"])
async def test_a_bad_key_is_refused_when_a_credential_is_sent(client: Any, world: dict[str, Any], key: str) -> None:
    storage = storage_of(client)
    state = await storage.read(every_row)
    raw_key = key.encode("utf-8").decode("latin-1")  # as the HTTP layer reads a header's bytes
    refused, _, _ = await send(client, acknowledge(world["eventids"][0]), auth=world["admin"], Idempotency_Key=raw_key)
    assert refused == invalid_request("Idempotency-Key must be 1 to 255 printable ASCII characters.")
    assert await storage.read(every_row) == state


async def test_without_a_credential_the_key_is_ignored(client: Any) -> None:
    body = request("apiinfo.version", [])
    for _ in range(2):
        answer, headers, _ = await send(client, body, Idempotency_Key="x" * 300)
        assert "result" in answer and "Idempotent-Replayed" not in headers


async def test_a_key_with_the_body_auth_member(client: Any, world: dict[str, Any]) -> None:
    storage = storage_of(client)
    body = {**acknowledge(world["eventids"][0]), "auth": world["admin"]}
    await send(client, body, Idempotency_Key="body-auth")
    before = await storage.read(history_count)
    _, headers, _ = await send(client, body, Idempotency_Key="body-auth")
    assert headers["Idempotent-Replayed"] == "true"
    assert await storage.read(history_count) == before


# --- Dry-Run ---


async def dry(client: Any, body: Any, auth: str | None) -> Any:
    """A dry run of `body` that must change nothing; its answer."""
    storage = storage_of(client)
    state = await storage.read(every_row)
    answer, headers, _ = await send(client, body, auth=auth, Dry_Run="true")
    assert headers["Dry-Run"] == "true"
    assert await storage.read(every_row) == state
    return answer


async def test_a_dry_run_answers_as_the_real_run_and_keeps_nothing(client: Any, world: dict[str, Any]) -> None:
    body = request("event.acknowledge", {"eventids": world["eventids"], "action": 2 | 4 | 1, "message": "all"})
    preview = await dry(client, body, world["admin"])
    real, headers, _ = await send(client, body, auth=world["admin"])
    assert "Dry-Run" not in headers
    assert preview == real == {"jsonrpc": "2.0", "result": {"eventids": world["eventids"]}, "id": 1}


async def test_dry_runs_of_every_family_change_nothing(client: Any, world: dict[str, Any]) -> None:
    admin, eventid = world["admin"], world["eventids"][0]
    incident = str(eventid)
    calls = [
        request("user.login", {"username": "second", "password": PASSWORD}),
        request("user.logout", []),
        request("user.create", {"username": "new", "passwd": PASSWORD, "roleid": "1", "usrgrps": [{"usrgrpid": "7"}]}),
        request("usergroup.create", {"name": "new group"}),
        request("role.create", {"name": "new role", "type": 1}),
        request("hostgroup.create", {"name": "new hosts"}),
        request("token.create", {"name": "new token"}),
        request("event.create", {"host": "web-09", "name": "new problem"}),
        request("event.acknowledge", {"eventids": [eventid], "action": 1}),
        request("incident.acknowledge", {"incidentid": incident}),
        request("incident.massacknowledge", {"incidentids": [incident]}),
        request("incident.resolve", {"incidentid": incident}),
        request("acknowledgement.create", {"eventid": eventid, "acknowledged_until": "1h", "notes": "n"}),
    ]
    for body in calls:
        answer = await dry(client, body, None if body["method"] == "user.login" else admin)
        assert "result" in answer, (body, answer)
    # user.logout above did not end the session, nor did any call leave a trace in the credential cache.
    result_of(orjson.loads(await (await post(client, request("host.get", {}), headers={"Authorization": f"Bearer {admin}"})).read()))


async def test_batch_members_see_earlier_members_in_a_dry_run(client: Any, world: dict[str, Any]) -> None:
    eventid = world["eventids"][0]
    body = [
        request("acknowledgement.create", {"eventid": eventid, "notes": "first"}, id=1),
        request("acknowledgement.get", {"eventids": [eventid]}, id=2),
        request("hostgroup.create", {"name": "twice"}, id=3),
        request("hostgroup.create", {"name": "twice"}, id=4),
    ]
    created, got, group, again = await dry(client, body, world["admin"])
    assert [span["acknowledgementid"] for span in got["result"]] == [created["result"]["acknowledgementid"]]
    assert "result" in group
    assert again["error"]["data"] == 'Host group "twice" already exists.'


async def test_a_dry_run_keeps_no_failed_login_count(client: Any, world: dict[str, Any]) -> None:
    wrong = [request("user.login", {"username": "second", "password": "wrong"}, id=n) for n in range(5)]
    right = request("user.login", {"username": "second", "password": PASSWORD}, id=5)
    answers = await dry(client, [*wrong, right], None)
    assert answers[-1]["error"]["data"] == "Incorrect user name or password or account is temporarily blocked."
    real, _, _ = await send(client, right)
    assert "result" in real


async def test_a_dry_run_of_ten_thousand_ids(client: Any, world: dict[str, Any]) -> None:
    storage = storage_of(client)

    eventids = await storage.write(ten_thousand_problems)
    answer = await dry(client, request("event.acknowledge", {"eventids": eventids, "action": 6, "message": "bulk"}), world["admin"])
    assert answer["result"]["eventids"] == eventids


@pytest.mark.parametrize("value", ["false", "True", "1", "yes", ""])
async def test_a_bad_dry_run_value_is_refused(client: Any, world: dict[str, Any], value: str) -> None:
    storage = storage_of(client)
    state = await storage.read(every_row)
    refused, headers, _ = await send(client, acknowledge(world["eventids"][0]), auth=world["admin"], Dry_Run=value)
    assert refused == invalid_request('Dry-Run must be "true" when sent.')
    assert "Dry-Run" not in headers
    assert await storage.read(every_row) == state


async def test_a_dry_run_claims_no_key(client: Any, world: dict[str, Any]) -> None:
    storage = storage_of(client)
    body = acknowledge(world["eventids"][0])
    state = await storage.read(every_row)
    _, headers, _ = await send(client, body, auth=world["admin"], Dry_Run="true", Idempotency_Key="preview")
    assert await storage.read(every_row) == state
    _, headers, _ = await send(client, body, auth=world["admin"], Idempotency_Key="preview")
    assert "Idempotent-Replayed" not in headers
    assert await storage.read(history_count) == len(state["acknowledges"]) + 1


# --- end to end: two real server processes over one database ---


def http_post(url: str, body: Any, **headers: str) -> tuple[bytes, str | None]:
    sent = urllib.request.Request(f"{url}/api_jsonrpc", orjson.dumps(body), {"Content-Type": "application/json", **headers})
    with urllib.request.urlopen(sent, timeout=30) as response:
        return response.read(), response.headers.get("Idempotent-Replayed")


def test_repeats_racing_through_two_server_processes_run_once(db: Any, tmp_path: Path) -> None:
    env = {"RPCSERVER_ADMIN_PASSWORD": ADMIN_PASSWORD, "RPCSERVER_PASSWORD_COST": "4"}
    with running_server(tmp_path, "--db", str(db), env=env) as first, running_server(tmp_path, "--db", str(db), env=env) as second:
        session = orjson.loads(http_post(first.url, request("user.login", {"username": "Admin", "password": ADMIN_PASSWORD}))[0])["result"]
        bearer = {"Authorization": f"Bearer {session}"}
        created = orjson.loads(http_post(first.url, request("event.create", {"host": "e2e-01", "name": "racing"}), **bearer)[0])
        eventid = int(created["result"]["eventids"][0])
        body = acknowledge(eventid, message="exactly once")
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda url: http_post(url, body, **bearer, **{"Idempotency-Key": "e2e"}),
                                    [first.url, second.url] * 4))
        assert len({raw for raw, _ in answers}) == 1
        assert sorted(replayed or "" for _, replayed in answers) == [""] + ["true"] * 7
        events = orjson.loads(http_post(second.url, request("event.get", {"eventids": [eventid], "select_acknowledges": ["message"]}), **bearer)[0])
        assert [row["message"] for row in events["result"][0]["acknowledges"]] == ["exactly once"]
