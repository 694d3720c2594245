"""Retry-safe and previewable requests (API.md §8): the `Idempotency-Key` and `Dry-Run` headers.

Both run the whole HTTP request (every call of a batch, reads too) in one writer transaction of its
own (`Storage.transaction`), where each call sees the effects of those before it. A dry run answers,
then rolls everything back: no row, session, history row or rate-limit count is kept, and nothing
goes out (what leaves the process is written in the same transaction first, and so vanishes too).
A request with a key claims it in that transaction and stores its answer there before the commit:
the key is kept exactly when the request's effects are. Requests without either header never come
here: they keep the group-commit path.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import orjson

from . import auth
from .context import Clock
from .domain.errors import DomainError, Unavailable
from .errors import APPLICATION_ERROR, INTERNAL_ERROR, ApiError, ApplicationError
from .storage import Storage, idempotency
from .storage._writer import READ_FAILED, SHUTTING_DOWN, STORAGE_FAILED, UNREACHABLE

if TYPE_CHECKING:
    from .dispatch import RequestScope
    from .transport import Endpoint, Outcome

log = logging.getLogger("rpcserver")

IDEMPOTENCY_KEY = "Idempotency-Key"
DRY_RUN = "Dry-Run"
REPLAYED = "Idempotent-Replayed"
KEY_LENGTH = 255
BAD_DRY_RUN = 'Dry-Run must be "true" when sent.'
BAD_KEY = f"Idempotency-Key must be 1 to {KEY_LENGTH} printable ASCII characters."
UNAVAILABLE_TEXTS = frozenset({STORAGE_FAILED, READ_FAILED, SHUTTING_DOWN, UNREACHABLE})
"""The -32500 texts of a database that could not be used: such an answer is not kept for a key."""


def key_used_for_another_request(key: str) -> str:
    return f'Idempotency-Key "{key}" was already used for a different request.'


def is_retryable(response: Mapping[str, Any]) -> bool:
    """Whether a response object says the call failed for want of a working server or database:
    a retry must run it again, not be given this answer back."""
    error = response.get("error")
    if error is None:
        return False
    code, data = error["code"], error["data"]
    return code == INTERNAL_ERROR or (code == APPLICATION_ERROR and isinstance(data, str) and data in UNAVAILABLE_TEXTS)


def printable_ascii(text: str) -> bool:
    return 0 < len(text) <= KEY_LENGTH and all(" " <= c <= "~" for c in text)


class Refused(Exception):
    """The request is refused as a whole (id null) with -32600 and this `data`."""


async def answer(
    endpoint: Endpoint, body: bytes, scope: RequestScope, outcome: Outcome, headers: Mapping[str, str]
) -> tuple[bytes, dict[str, str]]:
    """The body and extra headers of the answer to a request that carries `Dry-Run` or `Idempotency-Key`.

    Raises:
        Refused: a header's value is not acceptable.
    """
    dry_run = headers.get(DRY_RUN)
    if dry_run is not None and dry_run != "true":
        raise Refused(BAD_DRY_RUN)
    storage = endpoint.dispatcher.storage
    try:
        if dry_run is not None:
            # A key is not claimed: nothing of a dry run is kept, its answer neither.
            async with storage.transaction() as transaction:
                return await endpoint.process(body, replace(scope, transaction=transaction), outcome), {DRY_RUN: "true"}
        key = headers.get(IDEMPOTENCY_KEY)
        credential = _credential(body, scope)
        if key is None or credential is None:
            return await endpoint.process(body, scope, outcome), {}
        if not printable_ascii(key):
            raise Refused(BAD_KEY)
        userid = await _userid(endpoint, credential)
        if userid is None:  # a dead credential: the calls answer for themselves, nothing to keep
            return await endpoint.process(body, scope, outcome), {}
        return await _once(endpoint, storage, body, scope, outcome, userid, key)
    except Unavailable as exc:  # the request's transaction could not begin or commit: nothing was kept
        return orjson.dumps({"jsonrpc": "2.0", "error": ApplicationError(exc.text).to_error_object(), "id": None}), {}


async def _once(
    endpoint: Endpoint, storage: Storage, body: bytes, scope: RequestScope, outcome: Outcome, userid: int, key: str
) -> tuple[bytes, dict[str, str]]:
    body_hash = hashlib.sha256(body).hexdigest()
    now = int(endpoint.dispatcher.clock())
    expires_at = now + endpoint.config.idempotency_ttl
    async with storage.transaction() as transaction:
        kept = await transaction.write(idempotency.claim, userid, key, body_hash, now, expires_at)
        if kept is not None:
            if kept.body_hash != body_hash:
                raise Refused(key_used_for_another_request(key))
            outcome.replayed = True
            return kept.answer.encode(), {REPLAYED: "true"}
        answered = await endpoint.process(body, replace(scope, transaction=transaction), outcome)
        if outcome.retryable:
            await transaction.write(idempotency.release, userid, key)
        else:
            await transaction.write(idempotency.keep_answer, userid, key, answered.decode())
        await transaction.commit()
    return answered, {}


def _credential(body: bytes, scope: RequestScope) -> auth.Credential | None:
    """The request's credential: the header's, else the body's `auth` (a batch: its first member's)."""
    if scope.header_credential is not None:
        return auth.Credential(scope.header_credential, from_header=True)
    try:
        decoded = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    members = decoded if isinstance(decoded, list) else [decoded]
    for member in members:
        if isinstance(member, dict) and isinstance(member.get("auth"), str) and member["auth"]:
            return auth.Credential(member["auth"], from_header=False)
    return None


async def _userid(endpoint: Endpoint, credential: auth.Credential) -> int | None:
    if not credential.value.isascii():
        return None
    try:
        caller = await endpoint.dispatcher.callers.authenticate(credential, int(endpoint.dispatcher.clock()))
    except (ApiError, DomainError):
        return None
    return int(caller.userid)


class KeySweeper:
    """Removes expired keys in the background, every `interval` seconds. Every process runs one: a
    DELETE of expired rows is the same whoever runs it, and a claim treats an expired key as absent."""

    def __init__(self, storage: Storage, clock: Clock, interval: float = 60.0) -> None:
        self._storage = storage
        self._clock = clock
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="rpcserver-idempotency-sweeper")

    async def sweep(self) -> int:
        return await self._storage.write(idempotency.remove_expired, int(self._clock()))

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.sweep()
            except DomainError:
                log.warning("expired idempotency keys could not be removed now; trying again later")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
