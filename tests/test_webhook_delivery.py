"""Webhook deliveries (API.md §10, Out) to a real receiver on 127.0.0.1: an aiohttp server in the test.

What arrives (body, signature, delivery id), in which order, to which webhooks (`events`), after
failures, past a receiver that hangs, and once however many processes deliver; tests/test_webhook_crash.py
kills real server processes.

The apps here look at the outbox every `POLL` seconds and retry a failure after `FIRST_RETRY` (the
server's are 0.5 s and 1-2 s, then doubling): what is delivered, in which order and how often does not
depend on either; tests/storage/test_webhooks.py holds the retry schedule itself.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from rpcserver import app as app_module
from rpcserver import webhooks as deliveries_module
from rpcserver.appkeys import EXPIRY_KEY
from rpcserver.storage import webhooks

from .conftest import FakeClock, storage_of
from .webhook_receiver import WAIT, Receiver, start_receiver

Call = Callable[..., Awaitable[Any]]
POLL = 0.05
FIRST_RETRY = 0.2


class QuickDeliveries(deliveries_module.Deliveries):
    def __init__(self, storage: Any, poll: float = POLL) -> None:
        super().__init__(storage, poll)


@pytest.fixture(autouse=True)
def quick_deliveries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app_module, "Deliveries", QuickDeliveries)
    monkeypatch.setattr(deliveries_module, "FIRST_RETRY_SECONDS", FIRST_RETRY)


@pytest.fixture
async def receiver(aiohttp_server: Any) -> Receiver:
    return await start_receiver(aiohttp_server)


async def problem(call: Call, admin: str, name: str = "Disk full", host: str = "web-01") -> str:
    result = await call("event.create", {"host": host, "name": name, "severity": 3, "manual_close": 1}, auth=admin)
    return str(result["eventids"][0])


async def webhook(call: Call, admin: str, receiver: Receiver, path: str, **fields: Any) -> str:
    result = await call("webhook.create", {"url": receiver.url + path, **fields}, auth=admin)
    return str(result["webhookids"][0])


async def shown_when(call: Call, admin: str, webhookid: str, done: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """webhook.get's object of `webhookid` once `done` holds for it: the receiver answers before the
    outcome is recorded."""
    async def poll() -> dict[str, Any]:
        while True:
            [shown] = await call("webhook.get", {"webhookids": webhookid}, auth=admin)
            if done(shown):
                return dict(shown)
            await asyncio.sleep(0.05)

    return await asyncio.wait_for(poll(), WAIT)


async def test_a_delivery_carries_the_row_the_problem_a_signature_and_an_id(
        call: Call, admin: str, receiver: Receiver, clock: FakeClock) -> None:
    eventid = await problem(call, admin)
    webhookid = await webhook(call, admin, receiver, "/a", secret="s3cret")
    unsigned = await webhook(call, admin, receiver, "/b")
    await call("event.acknowledge", {"eventids": eventid, "action": 6, "message": "on it"}, auth=admin)
    [signed] = await receiver.wait("/a", 1)
    assert signed.json == {
        "event": "acknowledged", "eventid": eventid, "clock": int(clock.now), "userid": "1", "username": "Admin",
        "message": "on it", "action": 6,
        "problem": {"eventid": eventid, "name": "Disk full", "host": "web-01", "severity": 3, "acknowledged": True},
    }
    assert signed.headers["Content-Type"] == "application/json"
    expected = hmac.new(b"s3cret", signed.body, hashlib.sha256).hexdigest()
    assert signed.headers["X-Rpcserver-Signature"] == f"sha256={expected}"
    [plain] = await receiver.wait("/b", 1)
    assert "X-Rpcserver-Signature" not in plain.headers
    assert plain.json == signed.json
    ids = {signed.headers["X-Rpcserver-Delivery"], plain.headers["X-Rpcserver-Delivery"]}
    assert len(ids) == 2 and all(uuid.UUID(one) for one in ids)
    for one in (webhookid, unsigned):
        shown = await shown_when(call, admin, one, lambda shown: shown["pending"] == "0")
        assert (shown["last_status"], shown["last_error"]) == ("200", "")


async def test_a_dry_run_sends_nothing(call: Call, rpc: Any, admin: str, receiver: Receiver) -> None:
    """API.md §8: a dry run keeps nothing, its deliveries included (they roll back with its history rows)."""
    eventid = await problem(call, admin)
    await webhook(call, admin, receiver, "/a")
    dry_run = {"Authorization": f"Bearer {admin}", "Dry-Run": "true"}
    assert "result" in await rpc("event.acknowledge", {"eventids": eventid, "action": 4, "message": "would"}, headers=dry_run)
    await call("event.acknowledge", {"eventids": eventid, "action": 4, "message": "did"}, auth=admin)
    [only] = await receiver.wait("/a", 1)
    await asyncio.sleep(0.3)  # time for a wrongly kept delivery to arrive as well
    assert [one.json["message"] for one in receiver.at("/a")] == ["did"] == [only.json["message"]]


async def test_every_kind_in_order_per_problem_even_past_a_failure(call: Call, admin: str, receiver: Receiver) -> None:
    first, second = await problem(call, admin), await problem(call, admin, "CPU hot")
    await webhook(call, admin, receiver, "/a")
    receiver.statuses["/a"] = [500]  # the first delivery fails once: every later one waits for its retry
    steps = [
        ({"action": 2}, "acknowledged"),
        ({"action": 4, "message": "a note"}, "message"),
        ({"action": 8, "severity": 5}, "severity"),
        ({"action": 32, "suppress_until": 0}, "suppressed"),
        ({"action": 64}, "unsuppressed"),
        ({"action": 16}, "unacknowledged"),
        ({"action": 1 | 4, "message": "fixed"}, "closed"),
    ]
    for params, _ in steps:
        await call("event.acknowledge", {"eventids": [first, second], **params}, auth=admin)
    answered = await receiver.wait("/a", 2 * len(steps))
    for eventid in (first, second):
        mine = [one.json for one in answered if one.json["eventid"] == eventid]
        assert [body["event"] for body in mine] == [kind for _, kind in steps]
    [failed] = [one for one in receiver.at("/a") if all(one is not ok for ok in answered)]
    assert failed.json["event"] == "acknowledged"
    retried = [one for one in answered if one.headers["X-Rpcserver-Delivery"] == failed.headers["X-Rpcserver-Delivery"]]
    assert [one.body for one in retried] == [failed.body]  # the same delivery again, with the same id
    last = answered[-1].json
    assert last["problem"]["severity"] == 5 and last["problem"]["acknowledged"] is False


async def test_events_filter_what_a_webhook_receives(call: Call, admin: str, receiver: Receiver) -> None:
    eventid = await problem(call, admin)
    await webhook(call, admin, receiver, "/closed", events=["closed"])
    await webhook(call, admin, receiver, "/notes", events=["message", "expired"])
    await webhook(call, admin, receiver, "/all")
    await call("event.acknowledge", {"eventids": eventid, "action": 2}, auth=admin)
    await call("event.acknowledge", {"eventids": eventid, "action": 4, "message": "note"}, auth=admin)
    await call("event.acknowledge", {"eventids": eventid, "action": 1}, auth=admin)
    every = await receiver.wait("/all", 3)
    assert [one.json["event"] for one in every] == ["acknowledged", "message", "closed"]
    assert [one.json["event"] for one in await receiver.wait("/closed", 1)] == ["closed"]
    assert [one.json["event"] for one in await receiver.wait("/notes", 1)] == ["message"]
    assert len(receiver.at("/closed")) == 1 and len(receiver.at("/notes")) == 1


async def test_a_row_of_several_actions_is_one_delivery_to_any_webhook_wanting_one_of_them(
        call: Call, admin: str, receiver: Receiver) -> None:
    eventid = await problem(call, admin)
    await webhook(call, admin, receiver, "/notes", events=["message"])
    await call("event.acknowledge", {"eventids": eventid, "action": 2 | 4 | 8, "message": "mine", "severity": 4},
               auth=admin)
    [one] = await receiver.wait("/notes", 1)
    assert (one.json["event"], one.json["action"], one.json["message"]) == ("acknowledged", 14, "mine")


async def test_an_expired_acknowledgement_is_delivered_as_expired(
        client: Any, call: Call, admin: str, receiver: Receiver, clock: FakeClock) -> None:
    eventid = await problem(call, admin)
    await webhook(call, admin, receiver, "/a", events=["acknowledged", "unacknowledged", "expired"])
    await call("acknowledgement.create", {"eventid": eventid, "acknowledged_until": "5m"}, auth=admin)
    clock.advance(301)
    assert await client.server.app[EXPIRY_KEY].run_once(int(clock.now)) == 1
    expired = (await receiver.wait("/a", 2))[1].json
    assert (expired["event"], expired["action"], expired["clock"]) == ("expired", 16, int(clock.now) - 1)
    assert expired["problem"]["acknowledged"] is False
    span = await call("acknowledgement.create", {"eventid": eventid}, auth=admin)
    await call("acknowledgement.update", {"acknowledgementid": span["acknowledgementid"], "acknowledged_until": 0},
               auth=admin)
    assert [one.json["event"] for one in (await receiver.wait("/a", 4))[2:]] == ["acknowledged", "unacknowledged"]


async def test_failing_then_recovering_receiver(call: Call, admin: str, receiver: Receiver) -> None:
    eventid = await problem(call, admin)
    webhookid = await webhook(call, admin, receiver, "/flaky")
    receiver.statuses["/flaky"] = [500, 503]
    await call("event.acknowledge", {"eventids": eventid, "action": 2}, auth=admin)
    failing = await shown_when(call, admin, webhookid, lambda shown: shown["last_status"] != "0")
    assert (failing["pending"], failing["last_status"]) == ("1", "500")
    assert failing["last_error"] == "HTTP 500 Internal Server Error"
    [delivered] = await receiver.wait("/flaky", 1)
    attempts = receiver.at("/flaky")
    assert len(attempts) == 3 and len({one.headers["X-Rpcserver-Delivery"] for one in attempts}) == 1
    recovered = await shown_when(call, admin, webhookid, lambda shown: shown["pending"] == "0")
    assert (recovered["pending"], recovered["last_status"], recovered["last_error"]) == ("0", "200", "")


async def test_an_unreachable_receiver_is_retried_and_shown(call: Call, admin: str) -> None:
    eventid = await problem(call, admin)
    [webhookid] = (await call("webhook.create", {"url": "http://127.0.0.1:9/refused"}, auth=admin))["webhookids"]
    await call("event.acknowledge", {"eventids": eventid, "action": 2}, auth=admin)
    shown = await shown_when(call, admin, webhookid, lambda shown: shown["last_error"] != "")
    assert (shown["pending"], shown["last_status"]) == ("1", "0")
    assert shown["last_error"].startswith("ClientConnectorError")


async def test_a_hanging_receiver_holds_up_neither_calls_nor_other_webhooks_nor_other_problems(
        call: Call, admin: str, receiver: Receiver) -> None:
    first, second = await problem(call, admin), await problem(call, admin, "CPU hot")
    await webhook(call, admin, receiver, "/hang")
    await webhook(call, admin, receiver, "/b")
    await call("event.acknowledge", {"eventids": first, "action": 2}, auth=admin)
    await receiver.wait("/hang", 1, answered=False)
    # /hang holds the first problem's delivery; the call below is answered meanwhile, and both
    # the other webhook and the other problem's delivery to /hang go ahead
    await call("event.acknowledge", {"eventids": second, "action": 2}, auth=admin)
    assert [one.json["eventid"] for one in await receiver.wait("/b", 2)] == [first, second]
    held = await receiver.wait("/hang", 2, answered=False)
    assert [one.json["eventid"] for one in held] == [first, second] and not receiver.at("/hang", answered=True)
    receiver.release.set()
    assert len(await receiver.wait("/hang", 2)) == 2


async def test_two_servers_on_one_database_deliver_each_once(
        make_client: Callable[..., Awaitable[Any]], call: Call, admin: str, receiver: Receiver, client: Any) -> None:
    other = await make_client()  # a second app, its own deliverer, on the same database
    assert storage_of(other) is not storage_of(client)
    await webhook(call, admin, receiver, "/a")
    eventids = [await problem(call, admin, f"problem {n}") for n in range(5)]
    for eventid in eventids:
        await call("event.acknowledge", {"eventids": eventid, "action": 2}, auth=admin)
    await receiver.wait("/a", 5)
    await asyncio.sleep(2 * POLL + 0.5)  # two polls of both deliverers, and more: nothing comes twice
    ids = [one.headers["X-Rpcserver-Delivery"] for one in receiver.at("/a")]
    assert len(ids) == len(set(ids)) == 5


async def test_the_lease_is_one_holders_until_it_runs_out(client: Any) -> None:
    storage = storage_of(client)
    now = webhooks.now_ms()
    assert await storage.write(webhooks.claim_lease, "a", now, 6000)
    assert not await storage.write(webhooks.claim_lease, "b", now + 5999, 6000)
    assert await storage.read(webhooks.lease_expiry, "b") == now + 6000
    assert await storage.write(webhooks.claim_lease, "a", now + 1000, 6000)  # renewed by its holder
    assert not await storage.write(webhooks.claim_lease, "b", now + 6999, 6000)
    assert await storage.write(webhooks.claim_lease, "b", now + 7000, 6000)  # run out: taken over
    await storage.write(webhooks.release_lease, "b")
    assert await storage.read(webhooks.lease_expiry, "a") == 0


async def test_every_dialect_writes_deliveries(call: Call, admin: str, receiver: Receiver) -> None:
    eventid = await problem(call, admin)
    await webhook(call, admin, receiver, "/a")
    await call("incident.acknowledge", {"incidentid": eventid, "comment": "paged"}, auth=admin)
    await call("acknowledgement.create", {"eventid": eventid, "notes": "still on it"}, auth=admin)
    await call("incident.resolve", {"incidentid": eventid}, auth=admin)
    rows = [(one.json["event"], one.json["action"], one.json["message"]) for one in await receiver.wait("/a", 3)]
    assert rows == [("acknowledged", 6, "paged"), ("message", 4, "still on it"), ("closed", 5, "Incident resolved")]
