"""Storage.transaction (one writer transaction for a whole request, API.md §8) and the idempotency
keys' units, on both stores: rolled back unless committed, reads see the request's own writes, a
failing unit rolls back alone, group-committed writes wait for it, and a key claimed by one server
is waited for by another."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from rpcserver.errors import InvalidParams
from rpcserver.retrysafe import KeySweeper
from rpcserver.storage import Storage, idempotency
from rpcserver.storage.idempotency import Kept

ADMIN = 1


def add_group(db: Any, name: str) -> None:
    db.execute("INSERT INTO hstgrp (name, uuid) VALUES (?, ?)", (name, name))


def add_group_then_refuse(db: Any, name: str) -> None:
    add_group(db, name)
    raise InvalidParams(f"refused {name}")


def group_names(db: Any) -> list[str]:
    return [name for (name,) in db.execute("SELECT name FROM hstgrp WHERE name LIKE 'tx %' ORDER BY name")]


def add_admin(db: Any) -> None:
    db.execute("INSERT INTO users (userid, username, passwd, roleid) VALUES (?, 'Admin', 'x', 3)", (ADMIN,))


@pytest.fixture
async def storage(db: Any) -> Any:
    storage = await Storage.open(db)
    await storage.write(add_admin)
    yield storage
    await storage.close()


async def test_nothing_is_kept_without_a_commit(storage: Storage) -> None:
    async with storage.transaction() as transaction:
        await transaction.write(add_group, "tx a")
        assert await transaction.read(group_names) == ["tx a"]  # the request sees its own write
        assert await storage.read(group_names) == []  # nobody else does
    assert await storage.read(group_names) == []


async def test_a_commit_keeps_everything_but_the_failed_units(storage: Storage) -> None:
    async with storage.transaction() as transaction:
        await transaction.write(add_group, "tx a")
        with pytest.raises(InvalidParams):
            await transaction.write(add_group_then_refuse, "tx b")
        await transaction.write(add_group, "tx c")
        await transaction.commit()
    assert await storage.read(group_names) == ["tx a", "tx c"]


async def test_group_committed_writes_wait_for_the_transaction(storage: Storage) -> None:
    async with storage.transaction() as transaction:
        waiting = asyncio.create_task(storage.write(add_group, "tx queued"))
        await transaction.write(add_group, "tx first")
        await asyncio.sleep(0)
        assert not waiting.done()
        await transaction.commit()
    await asyncio.wait_for(waiting, 10)
    assert await storage.read(group_names) == ["tx first", "tx queued"]


async def test_a_claimed_key_is_replayed_refused_or_taken_again_once_expired(storage: Storage) -> None:
    assert await storage.write(idempotency.claim, ADMIN, "k", "hash", 100, 200) is None
    await storage.write(idempotency.keep_answer, ADMIN, "k", "answer")
    assert await storage.write(idempotency.claim, ADMIN, "k", "other", 199, 299) == Kept("hash", "answer")
    assert await storage.write(idempotency.claim, ADMIN, "k", "other", 200, 300) is None  # expired: taken anew
    assert await storage.write(idempotency.remove_expired, 299) == 0
    assert await storage.write(idempotency.remove_expired, 300) == 1


async def test_a_second_server_waits_for_the_first_claim_of_a_key(db: Any, storage: Storage) -> None:
    other = await Storage.open(db)  # its own writer connection, as another process or host has
    try:
        async with storage.transaction() as first:
            assert await first.write(idempotency.claim, ADMIN, "race", "hash", 100, 200) is None

            async def second_claim() -> Kept | None:
                async with other.transaction() as second:
                    return await second.write(idempotency.claim, ADMIN, "race", "hash", 100, 200)

            waiting = asyncio.create_task(second_claim())
            await asyncio.sleep(0.2)  # time for the second to reach its claim (it passes even if it has not)
            assert not waiting.done()
            await first.write(idempotency.keep_answer, ADMIN, "race", "the answer")
            await first.commit()
        assert await asyncio.wait_for(waiting, 10) == Kept("hash", "the answer")
    finally:
        await other.close()


async def test_the_sweeper_removes_expired_keys_in_the_background(storage: Storage) -> None:
    now = 1000.0
    await storage.write(idempotency.claim, ADMIN, "old", "hash", 0, 1000)
    await storage.write(idempotency.claim, ADMIN, "live", "hash", 0, 1001)
    sweeper = KeySweeper(storage, lambda: now, interval=0.05)
    sweeper.start()
    try:
        for _ in range(200):  # bounded: 10 s at most
            keys = await storage.read(lambda db: [key for (key,) in db.execute("SELECT request_key FROM idempotent_request")])
            if keys == ["live"]:
                break
            await asyncio.sleep(0.05)
        assert keys == ["live"]
    finally:
        await sweeper.stop()
