"""The outbox's bookkeeping at the function level (storage.webhooks) and the retry schedule
(rpcserver.webhooks): what an attempt's outcome does to a delivery, within and after 24 hours."""

from __future__ import annotations

from typing import Any

import pytest

from rpcserver.storage import Storage, webhooks
from rpcserver.webhooks import MAX_RETRY_SECONDS, retry_delay

HOUR_MS = 3_600_000


@pytest.fixture
async def storage(db: Any) -> Any:
    storage = await Storage.open(db)
    yield storage
    await storage.close()


def _world(conn: Any) -> int:
    """A problem, an acknowledgement of it with a webhook listening; the webhook's id."""
    conn.execute("INSERT INTO hosts (hostid, host, name) VALUES (1, 'h', 'h')")
    conn.execute("INSERT INTO triggers (triggerid, hostid, description) VALUES (1, 1, 't')")
    conn.execute("INSERT INTO events (eventid, objectid, clock, value, name) VALUES (7, 1, 100, 1, 'disk full')")
    [webhookid] = webhooks.create_webhooks(conn, [webhooks.WebhookChange("http://127.0.0.1:9/", None, "")])
    webhooks.enqueue(conn, [(1, 7, 100, "note", 4)], 100)
    return webhookid


async def _delivery(storage: Storage, created_ms: int) -> webhooks.Delivery:
    await storage.write(lambda conn: conn.execute("UPDATE webhook_delivery SET created_ms = ?", (created_ms,)))
    [delivery] = await storage.read(webhooks.due_heads, webhooks.now_ms() + 10 * HOUR_MS, [], [], 10)
    return delivery


async def _state(storage: Storage) -> tuple[Any, ...]:
    return await storage.read(lambda conn: (
        conn.execute("SELECT attempts, next_attempt_ms FROM webhook_delivery").fetchall(),
        conn.execute("SELECT last_status, last_error, failed FROM webhook").fetchall()[0],
    ))


async def test_a_failure_within_24_hours_schedules_a_retry(storage: Storage) -> None:
    await storage.write(_world)
    now = webhooks.now_ms()
    delivery = await _delivery(storage, now - 23 * HOUR_MS)
    await storage.write(webhooks.record_attempt, delivery, 500, "HTTP 500", 1500, now)
    assert await _state(storage) == ([(1, now + 1500)], (500, "HTTP 500", 0))
    assert await storage.read(webhooks.due_heads, now + 1499, [], [], 10) == []  # not due before its retry
    assert await storage.read(webhooks.delivery_counts) == (1, 0)


async def test_a_failure_after_24_hours_gives_the_delivery_up(storage: Storage) -> None:
    await storage.write(_world)
    now = webhooks.now_ms()
    delivery = await _delivery(storage, now - 24 * HOUR_MS)
    await storage.write(webhooks.record_attempt, delivery, None, "no answer within 10 s", 1500, now)
    assert await _state(storage) == ([], (None, "no answer within 10 s", 1))
    assert await storage.read(webhooks.delivery_counts) == (0, 1)


async def test_a_success_removes_the_delivery(storage: Storage) -> None:
    await storage.write(_world)
    now = webhooks.now_ms()
    delivery = await _delivery(storage, now)
    await storage.write(webhooks.record_attempt, delivery, 204, "", 0, now)
    assert await _state(storage) == ([], (204, "", 0))


def test_retries_start_within_seconds_double_and_stop_growing_at_an_hour() -> None:
    for _ in range(200):
        assert 1.0 <= retry_delay(1) <= 2.0
        assert 4.0 <= retry_delay(3) <= 8.0
        assert MAX_RETRY_SECONDS / 2 <= retry_delay(40) <= MAX_RETRY_SECONDS
    assert len({retry_delay(5) for _ in range(20)}) > 1  # jitter: not every receiver's retries at once
