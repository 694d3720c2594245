"""The answers kept for `Idempotency-Key` (API.md §8): one row per user and key, in `idempotent_request`.

A request claims its key in the same transaction as its effects and stores its answer there, so a
key is kept exactly when the effects are. On PostgreSQL a second server claiming the same key waits
on the first's uncommitted row and then finds its answer; on SQLite the one writer serializes them.
"""

from __future__ import annotations

from dataclasses import dataclass

from .engine import Db


@dataclass(frozen=True, slots=True)
class Kept:
    """The request an earlier use of the key made: its body's hash and its answer."""

    body_hash: str
    answer: str


def claim(db: Db, userid: int, key: str, body_hash: str, now: int, expires_at: int) -> Kept | None:
    """Take `key` for a new request of `userid` (None), or return what its live earlier use kept.
    An expired use is replaced, as if it had been removed already."""
    taken = db.execute(
        "INSERT INTO idempotent_request (userid, request_key, body_hash, answer, created, expires_at)"
        " VALUES (:userid, :key, :body_hash, NULL, :now, :expires_at)"
        " ON CONFLICT (userid, request_key) DO UPDATE SET body_hash = excluded.body_hash, answer = NULL,"
        " created = excluded.created, expires_at = excluded.expires_at"
        " WHERE idempotent_request.expires_at <= :now RETURNING userid",
        {"userid": userid, "key": key, "body_hash": body_hash, "now": now, "expires_at": expires_at},
    ).fetchone()
    if taken is not None:
        return None
    body_hash_kept, answer = db.execute(
        "SELECT body_hash, answer FROM idempotent_request WHERE userid = ? AND request_key = ?", (userid, key)
    ).fetchone()
    return Kept(body_hash_kept, answer)


def keep_answer(db: Db, userid: int, key: str, answer: str) -> None:
    db.execute("UPDATE idempotent_request SET answer = ? WHERE userid = ? AND request_key = ?", (answer, userid, key))


def release(db: Db, userid: int, key: str) -> None:
    """Give the key up: the request's answer is not to be replayed (a retry runs it again)."""
    db.execute("DELETE FROM idempotent_request WHERE userid = ? AND request_key = ?", (userid, key))


def remove_expired(db: Db, now: int) -> int:
    """Remove the keys whose time is up; how many."""
    return int(db.execute("DELETE FROM idempotent_request WHERE expires_at <= ?", (now,)).rowcount)
