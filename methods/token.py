"""token.*: API tokens as Zabbix 7.0 has them (CToken): create, generate, get, delete.

A token is created without a secret; token.generate makes one, shows it once and stores only its
sha512 hash (`rpcserver.auth.hash_token`). Every method needs the role action
`manage_api_tokens`; everyone but a super admin sees and changes only their own tokens.
A name taken and an owner the caller may not name are -32602, as in Zabbix.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from rpcserver.auth import hash_token
from rpcserver.caller import Caller
from rpcserver.context import Context
from rpcserver.dispatch import ApiMethod, ByName, ByPosition
from rpcserver.errors import NO_PERMISSION_FOR_OPERATION, ApplicationError
from rpcserver.storage import tokens as token_sql
from rpcserver.storage.tokens import NewToken, TokenFilter
from schemas._base import refuse_repeats
from schemas._fields import Id, load_id_array
from schemas._results import ids_result, list_of
from schemas.token import TOKEN_GET_RESULT, GeneratedToken, TokenCreateParams, TokenGetParams

from ._get import get_query, shape

ID_PARAMS = ("tokenids", "userids")
SECRET_BYTES = 32
"""64 hex characters: the length by which a credential is recognised as a token."""

_create_params = TokenCreateParams()
_get_params = TokenGetParams()


def _token_manager(ctx: Context) -> Caller:
    """The caller, if their role lets them manage API tokens (checked before the params, as in Zabbix)."""
    caller: Caller = ctx.caller
    if not caller.may("manage_api_tokens"):
        raise ApplicationError(NO_PERMISSION_FOR_OPERATION)
    return caller



def _refuse_repeated_names(tokens: Sequence[NewToken]) -> None:
    """Zabbix's `uniq` on (userid, name), the owner defaulted to the caller; names compare exactly,
    as the database's unique index does."""
    refuse_repeats([{"userid": token.userid, "name": token.name} for token in tokens], ("userid", "name"))


async def create(ctx: Context, params: Any) -> dict[str, list[str]]:
    """Create API tokens, without a secret yet (token.generate makes one); a super admin may name an owner.

    A token's name is unique per owner; `expires_at` 0: it never expires. Like every token.*
    method, needs the role action `manage_api_tokens`.
    """
    caller = _token_manager(ctx)
    tokens = [
        NewToken(
            name=one["name"],
            description=one["description"],
            userid=caller.userid if one["userid"] is None else one["userid"],
            status=one["status"],
            expires_at=one["expires_at"],
        )
        for one in _create_params.load_many(params)
    ]
    _refuse_repeated_names(tokens)
    tokenids = await ctx.storage.write(token_sql.create_tokens, tokens, caller, ctx.now)
    return {"tokenids": [str(tokenid) for tokenid in tokenids]}


async def generate(ctx: Context, params: Any) -> list[dict[str, str]]:
    """Make a new secret for each token: shown once, it replaces the old one, which stops working.

    Whoever generates the secret becomes the token's creator.
    """
    caller = _token_manager(ctx)
    tokenids = load_id_array(params)
    secrets_by_id = {tokenid: secrets.token_hex(SECRET_BYTES) for tokenid in tokenids}
    hashes = {tokenid: hash_token(secret) for tokenid, secret in secrets_by_id.items()}
    await ctx.storage.write(token_sql.set_token_hashes, hashes, caller)
    return [{"tokenid": str(tokenid), "token": secret} for tokenid, secret in secrets_by_id.items()]


async def get(ctx: Context, params: Any) -> Any:
    """API tokens: a super admin's of anyone, everyone else's own. The secret is never shown.

    `token` finds the token of a secret; `valid_at` / `expired_at` those not expired / expired at a time.
    """
    caller = _token_manager(ctx)
    p = _get_params.load_params(params)
    where = TokenFilter(
        owner=caller.viewer,
        token_hash=None if p["token"] is None else hash_token(p["token"]),
        valid_at=p["valid_at"],
        expired_at=p["expired_at"],
    )
    rows = await ctx.storage.read(token_sql.select_tokens, get_query(p, ID_PARAMS), where)
    return shape(rows, p, "tokenid")


async def delete(ctx: Context, params: Any) -> dict[str, list[str]]:
    """Delete API tokens: a super admin anyone's, everyone else their own."""
    caller = _token_manager(ctx)
    tokenids = load_id_array(params)
    await ctx.storage.write(token_sql.delete_tokens, tokenids, caller)
    return {"tokenids": [str(tokenid) for tokenid in tokenids]}


_tokenids = ids_result("tokenids")
_tokenid = ByPosition("tokenid", Id())

METHODS = {
    "token.create": ApiMethod(
        create, params=ByName(TokenCreateParams, many=True), result=_tokenids,
        example={"name": "ticketing", "description": "the ticketing system's integration"},
    ),
    "token.generate": ApiMethod(generate, params=_tokenid, result=list_of(GeneratedToken)),
    "token.get": ApiMethod(
        get, params=ByName(TokenGetParams), result=TOKEN_GET_RESULT,
        example={"output": ["tokenid", "name", "userid", "expires_at"]},
    ),
    "token.delete": ApiMethod(delete, params=_tokenid, result=_tokenids),
}
