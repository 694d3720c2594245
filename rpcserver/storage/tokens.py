"""SQL of API tokens (table `token`): creating, listing, setting a secret's hash, deleting; and
the units of work of token.*, each checking ownership in its own transaction.

Only the sha512 hash of a secret is ever stored; authentication by token lives in `identity`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..caller import Caller
from ..domain.errors import Conflict, NotFound
from ._sql import inserted_id, marks
from .engine import Db
from .query import GetQuery, ObjectTable, select_objects

TOKENS = ObjectTable(
    source="token t",
    key="tokenid",
    columns={
        "tokenid": "t.tokenid",
        "name": "t.name",
        "description": "t.description",
        "userid": "t.userid",
        "lastaccess": "t.lastaccess",
        "status": "t.status",
        "expires_at": "t.expires_at",
        "created_at": "t.created_at",
        "creator_userid": "t.creator_userid",
    },
    id_filters={"tokenids": "t.tokenid IN ({ids})", "userids": "t.userid IN ({ids})"},
)


@dataclass(frozen=True)
class NewToken:
    name: str
    description: str
    userid: int
    status: int
    expires_at: int


@dataclass(frozen=True)
class TokenFilter:
    """token.get's conditions beyond the common ones."""

    owner: int | None = None
    """Only this user's tokens (everyone but super admins); None: all."""
    token_hash: str | None = None
    valid_at: int | None = None
    expired_at: int | None = None


def existing_userids(conn: Db, userids: Sequence[int]) -> set[int]:
    rows = conn.execute(f"SELECT userid FROM users WHERE userid IN ({marks(userids)})", tuple(userids))
    return {row[0] for row in rows}


def taken_names(conn: Db, userid: int, names: Sequence[str]) -> set[str]:
    """Those of `names` the user already has a token by."""
    rows = conn.execute(
        f"SELECT name FROM token WHERE userid = ? AND name IN ({marks(names)})", (userid, *names)
    )
    return {row[0] for row in rows}


def insert_tokens(conn: Db, tokens: Iterable[NewToken], creator_userid: int, now: int) -> list[int]:
    """The new tokens' ids, in order. They have no secret until token.generate."""
    return [
        inserted_id(conn.execute(
            "INSERT INTO token (name, description, userid, status, expires_at, created_at, creator_userid)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING tokenid",
            (token.name, token.description, token.userid, token.status, token.expires_at, now, creator_userid),
        ))
        for token in tokens
    ]


def count_tokens(conn: Db, tokenids: Sequence[int], owner: int | None) -> int:
    """How many of `tokenids` exist (and belong to `owner`, unless None)."""
    sql = f"SELECT COUNT(*) FROM token WHERE tokenid IN ({marks(tokenids)})"
    args: tuple[Any, ...] = tuple(tokenids)
    if owner is not None:
        sql += " AND userid = ?"
        args += (owner,)
    return conn.execute(sql, args).fetchone()[0]


def set_token_hash(conn: Db, tokenid: int, token_hash: str, creator_userid: int) -> None:
    """A new secret replaces the old one, which stops working at once. As in Zabbix, whoever
    generates the secret becomes the token's creator."""
    conn.execute(
        "UPDATE token SET token = ?, creator_userid = ? WHERE tokenid = ?", (token_hash, creator_userid, tokenid)
    )


def delete_token_rows(conn: Db, tokenids: Sequence[int]) -> None:
    conn.execute(f"DELETE FROM token WHERE tokenid IN ({marks(tokenids)})", tuple(tokenids))


def select_tokens(conn: Db, query: GetQuery, where: TokenFilter) -> list[dict[str, Any]] | int:
    conditions = [
        ("t.userid = :owner", "owner", where.owner),
        ("t.token = :token_hash", "token_hash", where.token_hash),
        ("(t.expires_at = 0 OR t.expires_at > :valid_at)", "valid_at", where.valid_at),
        ("(t.expires_at <> 0 AND t.expires_at <= :expired_at)", "expired_at", where.expired_at),
    ]
    chosen = [(sql, name, value) for sql, name, value in conditions if value is not None]
    query = replace(
        query,
        where=[*query.where, *(sql for sql, _, _ in chosen)],
        params={**query.params, **{name: value for _, name, value in chosen}},
    )
    return select_objects(conn, TOKENS, query)


# Units of work of token.*

def _already_exists(token: NewToken) -> Conflict:
    return Conflict(f'API token "{token.name}" already exists for userid "{token.userid}".')


def _unavailable(userid: int) -> Conflict:
    return Conflict(f'User with ID "{userid}" is not available.')


def _check_owners(conn: Db, tokens: Sequence[NewToken], caller: Caller) -> None:
    """Only a super admin may create tokens for others, and only for users that exist."""
    others = list(dict.fromkeys(token.userid for token in tokens if token.userid != caller.userid))
    if not others:
        return
    if not caller.is_super_admin:
        raise _unavailable(others[0])
    existing = existing_userids(conn, others)
    for userid in others:
        if userid not in existing:
            raise _unavailable(userid)


def _check_names_free(conn: Db, tokens: Sequence[NewToken]) -> None:
    names_by_user: dict[int, list[str]] = {}
    for token in tokens:
        names_by_user.setdefault(token.userid, []).append(token.name)
    taken = {userid: taken_names(conn, userid, names) for userid, names in names_by_user.items()}
    for token in tokens:
        if token.name in taken[token.userid]:
            raise _already_exists(token)


def create_tokens(conn: Db, tokens: Sequence[NewToken], caller: Caller, now: int) -> list[int]:
    _check_owners(conn, tokens, caller)
    _check_names_free(conn, tokens)
    return insert_tokens(conn, tokens, caller.userid, now)


def _require_tokens(conn: Db, tokenids: Sequence[int], owner: int | None) -> None:
    if count_tokens(conn, tokenids, owner) != len(tokenids):
        raise NotFound()


def set_token_hashes(conn: Db, hashes: dict[int, str], caller: Caller) -> None:
    _require_tokens(conn, list(hashes), caller.viewer)
    for tokenid, token_hash in hashes.items():
        set_token_hash(conn, tokenid, token_hash, caller.userid)


def delete_tokens(conn: Db, tokenids: Sequence[int], caller: Caller) -> None:
    _require_tokens(conn, tokenids, caller.viewer)
    delete_token_rows(conn, tokenids)
