"""webhook.create / webhook.get / webhook.update / webhook.delete through the endpoint (API.md §10, Out).

Deliveries themselves are tests/test_webhook_delivery.py's; here: the objects, their checks, who may
call, and the outbox rows a change writes (read with SQL, as no receiver runs here).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from rpcserver.storage import webhooks

from ..conftest import error_of, storage_of

Rpc = Callable[..., Awaitable[dict[str, Any]]]
Call = Callable[..., Awaitable[Any]]
NO_PERMISSIONS = "No permissions to referred object or it does not exist!"
UNREACHABLE = "http://127.0.0.1:9/hook"
"""Port 9 (discard) refuses connections: deliveries stay pending."""


def bearer(session: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {session}"}


async def outbox(client: Any) -> list[tuple[Any, ...]]:
    return await storage_of(client).read(lambda conn: conn.execute(
        "SELECT webhookid, eventid, body FROM webhook_delivery ORDER BY deliveryid").fetchall())


async def test_create_get_update_delete(call: Call, admin: str) -> None:
    created = await call("webhook.create", [{"url": "https://example.com/a", "secret": "s"},
                                            {"url": "http://127.0.0.1:8000/b", "events": ["closed", "expired"]}],
                         auth=admin)
    first, second = created["webhookids"]
    assert int(first) < int(second)
    got = await call("webhook.get", {}, auth=admin)
    assert got == [
        {"webhookid": first, "url": "https://example.com/a", "events": list(webhooks.KINDS), "last_status": "0",
         "last_error": "", "pending": "0", "failed": "0"},
        {"webhookid": second, "url": "http://127.0.0.1:8000/b", "events": ["closed", "expired"], "last_status": "0",
         "last_error": "", "pending": "0", "failed": "0"},
    ]
    assert await call("webhook.update", {"webhookid": second, "events": "message"}, auth=admin) == {"webhookids": [second]}
    got = await call("webhook.get", {"webhookids": second, "output": ["url", "events"]}, auth=admin)
    assert got == [{"url": "http://127.0.0.1:8000/b", "events": ["message"]}]
    assert await call("webhook.get", {"countOutput": True}, auth=admin) == "2"
    assert await call("webhook.get", {"search": {"url": "example"}, "output": ["webhookid"], "preservekeys": True},
                      auth=admin) == {first: {"webhookid": first}}
    assert await call("webhook.delete", [first], auth=admin) == {"webhookids": [first]}
    assert [w["webhookid"] for w in await call("webhook.get", {}, auth=admin)] == [second]


@pytest.mark.parametrize(("params", "data"), [
    ({}, 'Invalid parameter "/1": the parameter "url" is missing.'),
    ({"url": "ftp://example.com/x"}, 'Invalid parameter "/1/url": an http or https URL is expected.'),
    ({"url": "http:///nohost"}, 'Invalid parameter "/1/url": an http or https URL is expected.'),
    ({"url": "http://example.com:port/"}, 'Invalid parameter "/1/url": an http or https URL is expected.'),
    ({"url": "example.com"}, 'Invalid parameter "/1/url": an http or https URL is expected.'),
    ({"url": 5}, 'Invalid parameter "/1/url": a character string is expected.'),
    ({"url": "http://x/" + "a" * 2048}, 'Invalid parameter "/1/url": value is too long.'),
    ({"url": "http://x/", "events": []}, 'Invalid parameter "/1/events": cannot be empty.'),
    ({"url": "http://x/", "events": ["fired"]}, 'Invalid parameter "/1/events/1": value must be one of "acknowledged",'
     ' "unacknowledged", "message", "closed", "severity", "suppressed", "unsuppressed", "expired".'),
    ({"url": "http://x/", "events": ["closed", "closed"]}, 'Invalid parameter "/1/events/2": value (closed) already exists.'),
    ({"url": "http://x/", "secret": "s" * 256}, 'Invalid parameter "/1/secret": value is too long.'),
    ({"url": "http://x/", "token": "x"}, 'Invalid parameter "/1": unexpected parameter "token".'),
])
async def test_create_refuses_bad_params_and_writes_nothing(rpc: Rpc, call: Call, admin: str, params: dict[str, Any],
                                                            data: str) -> None:
    assert error_of(await rpc("webhook.create", params, headers=bearer(admin))) == (-32602, "Invalid params.", data)
    assert await call("webhook.get", {"countOutput": True}, auth=admin) == "0"


async def test_update_and_delete_refuse_unknown_ids_atomically(rpc: Rpc, call: Call, admin: str) -> None:
    [webhookid] = (await call("webhook.create", {"url": "http://x/"}, auth=admin))["webhookids"]
    unknown = str(int(webhookid) + 1)
    for method, params in (("webhook.update", [{"webhookid": webhookid, "url": "http://y/"}, {"webhookid": unknown}]),
                           ("webhook.delete", [webhookid, unknown])):
        assert error_of(await rpc(method, params, headers=bearer(admin))) == (-32500, "Application error.", NO_PERMISSIONS)
    assert [w["url"] for w in await call("webhook.get", {}, auth=admin)] == ["http://x/"]
    repeated = [{"webhookid": webhookid}, {"webhookid": webhookid}]
    assert error_of(await rpc("webhook.update", repeated, headers=bearer(admin)))[2] == \
        f'Invalid parameter "/2": value (webhookid)=({webhookid}) already exists.'
    assert error_of(await rpc("webhook.update", {"webhookid": webhookid, "url": None}, headers=bearer(admin)))[2] == \
        'Invalid parameter "/1/url": a character string is expected.'


async def test_only_super_admins(rpc: Rpc, call: Call, admin: str, login: Callable[..., Awaitable[str]]) -> None:
    await call("user.create", {"username": "boss", "passwd": "a-long-password", "roleid": "2",
                               "usrgrps": [{"usrgrpid": "7"}]}, auth=admin)
    session = await login("boss", "a-long-password")
    for method, params in (("webhook.create", {"url": "http://x/"}), ("webhook.get", {}),
                           ("webhook.update", {"webhookid": "1"}), ("webhook.delete", ["1"])):
        assert error_of(await rpc(method, params, headers=bearer(session))) == \
            (-32500, "Application error.", f'No permissions to call "{method}".')


async def problem(call: Call, admin: str, name: str = "Disk full", manual_close: int = 1) -> str:
    result = await call("event.create", {"host": "web-01", "name": name, "severity": 3, "manual_close": manual_close},
                        auth=admin)
    return str(result["eventids"][0])


async def test_history_rows_write_deliveries_in_the_same_transaction(client: Any, rpc: Rpc, call: Call,
                                                                     admin: str) -> None:
    eventid = await problem(call, admin)
    await call("event.acknowledge", {"eventids": eventid, "action": 2}, auth=admin)
    assert await outbox(client) == []  # no webhook: nothing to deliver
    wanted = await call("webhook.create", {"url": UNREACHABLE, "events": ["message"]}, auth=admin)
    await call("webhook.create", {"url": UNREACHABLE, "events": ["closed"]}, auth=admin)
    await call("event.acknowledge", {"eventids": eventid, "action": 4, "message": "looking"}, auth=admin)
    # a refused call (an unknown event) writes no delivery either
    assert error_of(await rpc("event.acknowledge", {"eventids": [eventid, "999999"], "action": 4, "message": "x"},
                              headers=bearer(admin)))[0] == -32500
    [(webhookid, delivered_event, body)] = await outbox(client)
    assert (str(webhookid), str(delivered_event)) == (wanted["webhookids"][0], eventid)
    assert '"message":"looking"' in body
    [shown] = await call("webhook.get", {"webhookids": wanted["webhookids"], "output": ["pending"]}, auth=admin)
    assert shown == {"pending": "1"}
    await call("webhook.delete", wanted["webhookids"], auth=admin)
    assert await outbox(client) == []  # its pending deliveries go with it
