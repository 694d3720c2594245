"""Delivering webhooks (API.md §10): background work that posts the outbox's deliveries.

Whatever runs (several workers, several hosts), one process delivers at a time: the holder of the
lease row (`storage.webhooks.claim_lease`), which it renews every `RENEW_SECONDS`; the others look
at it every poll and take it over once it has run out, within `LEASE_SECONDS` + one poll of the
holder's death. The holder posts the head of every (webhook, problem) chain that is due, each in a
task of its own: a receiver that hangs holds up only its own chains (at most `PER_WEBHOOK` of them
at once), never another webhook's, and never the calls, which only write the outbox.

A failed attempt (an answer that is not 2xx, none within `TIMEOUT_SECONDS`, no connection) is tried
again after an exponential backoff with jitter, for 24 hours; then the delivery is given up.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import random
import uuid
from collections import Counter

import aiohttp

from . import __version__
from .storage import Storage
from .storage import webhooks as outbox

log = logging.getLogger("rpcserver")

POLL_SECONDS = 0.5
LEASE_SECONDS = 6.0
RENEW_SECONDS = 2.0
TIMEOUT_SECONDS = 10.0
PER_WEBHOOK = 16
"""Chains of one webhook attempted at once: enough for a slow receiver, bounded for a hanging one."""
BATCH = 200
FIRST_RETRY_SECONDS = 2.0
"""The first retry comes after 1-2 s (jitter takes up to half off), the n-th after 2**n s, at most an hour."""
MAX_RETRY_SECONDS = 3600.0


def retry_delay(failures: int) -> float:
    """Seconds until the next attempt after `failures` failed ones: exponential, with jitter so
    that the deliveries of one receiver that was down do not all come back at the same instant."""
    delay = min(FIRST_RETRY_SECONDS * 2 ** (failures - 1), MAX_RETRY_SECONDS)
    return delay * random.uniform(0.5, 1.0)


def signature(secret: str, body: bytes) -> str:
    """The `X-Rpcserver-Signature` value: the body's HMAC-SHA256 with the webhook's secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class Deliveries:
    def __init__(self, storage: Storage, poll: float = POLL_SECONDS) -> None:
        self._storage = storage
        self._poll = poll
        self._holder = uuid.uuid4().hex
        self._lease_until = 0.0
        """When our lease runs out (loop time); 0: we do not hold it."""
        self._renew_at = 0.0
        self._running: dict[int, tuple[int, asyncio.Task[None]]] = {}
        """Attempts under way: delivery id -> (webhook id, task)."""
        self._session: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def holds_lease(self) -> bool:
        return asyncio.get_running_loop().time() < self._lease_until

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=TIMEOUT_SECONDS),
            headers={"User-Agent": f"rpcserver/{__version__}"},
        )
        self._task = asyncio.create_task(self._run(), name="rpcserver-webhooks")

    async def stop(self) -> None:
        """Stop delivering: attempts under way are abandoned (they stay in the outbox, to be
        delivered again), and the lease is given up for another process to take at once."""
        tasks = [task for _, task in self._running.values()]
        if self._task is not None:
            tasks.append(self._task)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._task = None
        if self._lease_until:
            try:
                await self._storage.write(outbox.release_lease, self._holder)
            except Exception:
                log.warning("could not give up the webhook delivery lease; another process takes it when it runs out")
            self._lease_until = 0.0
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _run(self) -> None:
        failing = False
        while True:
            try:
                await self.run_once()
            except Exception:  # a database that is down must not end deliveries for good
                if not failing:  # once an outage, not every poll
                    log.exception("delivering webhooks failed; retrying every %g s", self._poll)
                failing = True
            else:
                if failing:
                    log.info("delivering webhooks again")
                failing = False
            await asyncio.sleep(self._poll)

    async def run_once(self) -> None:
        """While there is anything to deliver, keep or take the lease; when held, start attempting
        every due chain head. An empty outbox costs one read: no lease is written for nothing."""
        due = await self._storage.read(outbox.next_due)
        if due is None and not self._running:
            return
        if asyncio.get_running_loop().time() >= self._renew_at:
            await self._claim()
        if not self.holds_lease or due is None or due > outbox.now_ms():
            return
        running = Counter(webhookid for webhookid, _ in self._running.values())
        busy = [webhookid for webhookid, count in running.items() if count >= PER_WEBHOOK]
        heads = await self._storage.read(outbox.due_heads, outbox.now_ms(), list(self._running), busy, BATCH)
        for delivery in heads:
            if running[delivery.webhookid] < PER_WEBHOOK:
                running[delivery.webhookid] += 1
                task = asyncio.create_task(self._attempt(delivery), name=f"rpcserver-webhook-{delivery.deliveryid}")
                self._running[delivery.deliveryid] = (delivery.webhookid, task)

    async def _claim(self) -> None:
        loop = asyncio.get_running_loop()
        if self._lease_until == 0.0:
            other_until = await self._storage.read(outbox.lease_expiry, self._holder)
            if other_until is not None and other_until > outbox.now_ms():
                self._renew_at = loop.time() + self._poll  # someone else delivers: look again next poll
                return
        started = loop.time()
        held = await self._storage.write(outbox.claim_lease, self._holder, outbox.now_ms(), int(LEASE_SECONDS * 1000))
        if held:
            if not self._lease_until:
                log.info("delivering webhooks from this process")
            self._lease_until = started + LEASE_SECONDS
            self._renew_at = started + RENEW_SECONDS
        else:
            self._lease_until = 0.0
            self._renew_at = loop.time() + self._poll

    async def _attempt(self, delivery: outbox.Delivery) -> None:
        try:
            status, error = await self._post(delivery)
            delay = 0 if not error else retry_delay(delivery.attempts + 1)
            await self._storage.write(outbox.record_attempt, delivery, status, error, int(delay * 1000), outbox.now_ms())
        except Exception:
            log.exception("recording webhook delivery %s failed; it will be attempted again", delivery.uuid)
        finally:
            self._running.pop(delivery.deliveryid, None)

    async def _post(self, delivery: outbox.Delivery) -> tuple[int | None, str]:
        """(HTTP status or None, "" when delivered or what went wrong)."""
        assert self._session is not None
        body = delivery.body.encode()
        headers = {"Content-Type": "application/json", "X-Rpcserver-Delivery": delivery.uuid}
        if delivery.secret:
            headers["X-Rpcserver-Signature"] = signature(delivery.secret, body)
        try:
            async with self._session.post(delivery.url, data=body, headers=headers, allow_redirects=False) as response:
                if 200 <= response.status < 300:
                    return response.status, ""
                return response.status, f"HTTP {response.status} {response.reason or ''}".rstrip()
        except TimeoutError:
            return None, f"no answer within {TIMEOUT_SECONDS:g} s"
        except aiohttp.ClientError as exc:
            return None, f"{type(exc).__name__}: {exc}"[:255]
