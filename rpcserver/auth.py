"""Credentials: where they come from, and who may send them.

Sources, in order, the first one present wins (API.md §2): `Authorization: Bearer <x>`,
`X-API-Key: <x>`, the body's deprecated `auth` member. The open methods must be called
without any credential, with Zabbix's texts for each source.
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping

from .caller import Caller
from .errors import ApplicationError, InvalidParams
from .storage import identity
from .timeunits import seconds_of

if TYPE_CHECKING:
    from .storage import Storage


@dataclass(frozen=True, slots=True)
class Credential:
    value: str
    from_header: bool


def header_credential(headers: Mapping[str, str]) -> str | None:
    """The credential of the HTTP headers, or None. A header other than `Bearer <x>` (HTTP
    Basic, say, which zabbix_utils sends in front of a proxy) carries none."""
    authorization = headers.get("Authorization", "")
    if authorization.startswith("Bearer ") and len(authorization) > len("Bearer "):
        return authorization[len("Bearer ") :]
    return headers.get("X-API-Key") or None


def pick_credential(header_value: str | None, body_auth: str | None) -> Credential | None:
    if header_value is not None:
        return Credential(header_value, from_header=True)
    if body_auth is not None:
        return Credential(body_auth, from_header=False)
    return None


def refuse_credential_on_open_method(method_as_sent: str, credential: Credential | None) -> None:
    """Open methods (`apiinfo.version`, `user.login`, ...) refuse any credential (ZA §2.4)."""
    if credential is None:
        return
    if credential.from_header:
        raise InvalidParams(f'The "{method_as_sent}" method must be called without authorization header.')
    raise InvalidParams(f'The "{method_as_sent}" method must be called without the "auth" parameter.')


NOT_AUTHORIZED = "Not authorized."
SESSION_TERMINATED = "Session terminated, re-login, please."
TOKEN_EXPIRED = "API token expired."


TOKEN_LENGTH = 64
LASTACCESS_REFRESH = 10
"""Seconds between writes of a session's or token's `lastaccess`: a busy client is not a write per call."""


async def authenticate(storage: Storage, credential: Credential, now: int) -> Caller:
    """The caller a credential belongs to (ZA §2.4): 64 characters is an API token, anything
    else a session id.

    Raises:
        InvalidParams: `Not authorized.` / `Session terminated, re-login, please.`
        ApplicationError: `API token expired.`
    """
    if len(credential.value) == TOKEN_LENGTH:
        return await token_caller(storage, credential.value, now)
    return await session_caller(storage, credential.value, now)


def hash_token(secret: str) -> str:
    return hashlib.sha512(secret.encode()).hexdigest()


async def token_caller(storage: Storage, secret: str, now: int) -> Caller:
    def lookup(conn: sqlite3.Connection) -> tuple[identity.TokenRow | None, Caller | None]:
        token = identity.token_by_hash(conn, hash_token(secret))
        if token is None or token.status != 0:
            return None, None
        user = identity.user_by_id(conn, token.userid)
        if user is None or not user.may_log_in:
            return token, None
        return token, identity.caller_of(conn, user, tokenid=token.tokenid)

    token, caller = await storage.read(lookup)
    if token is None:
        raise InvalidParams(NOT_AUTHORIZED)
    if token.expires_at and token.expires_at < now:
        raise ApplicationError(TOKEN_EXPIRED)
    if caller is None:
        raise InvalidParams(NOT_AUTHORIZED)
    if now - token.lastaccess >= LASTACCESS_REFRESH:
        await storage.write(identity.touch_token, token.tokenid, now)
    return caller


async def session_caller(storage: Storage, sessionid: str, now: int, *, extend: bool | None = None) -> Caller:
    """The caller of a live session. `extend`: True refreshes `lastaccess` now, False never,
    None (an ordinary call) at most every LASTACCESS_REFRESH seconds."""
    def lookup(conn: sqlite3.Connection) -> tuple[identity.SessionRow | None, identity.UserRow | None, Caller | None]:
        session = identity.session(conn, sessionid)
        if session is None or session.status != 0:
            return None, None, None
        user = identity.user_by_id(conn, session.userid)
        if user is None or not user.may_log_in:
            return session, None, None
        return session, user, identity.caller_of(conn, user, sessionid=sessionid)

    session, user, caller = await storage.read(lookup)
    if session is None:
        raise InvalidParams(SESSION_TERMINATED)
    if user is None or caller is None or session_expired(user.autologout, session.lastaccess, now):
        await storage.write(identity.end_session, sessionid)
        raise InvalidParams(SESSION_TERMINATED)
    if extend or (extend is None and now - session.lastaccess >= LASTACCESS_REFRESH):
        await storage.write(identity.touch_session, sessionid, now)
    return caller


def session_expired(autologout: str, lastaccess: int, now: int) -> bool:
    timeout = seconds_of(autologout) or 0  # 0: never
    return timeout > 0 and now - lastaccess > timeout


def check_method_allowed(caller: Caller, canonical: str, as_sent: str) -> None:
    """The role's API rules (rules.api): a method they deny is -32500, as in Zabbix 7.0."""
    if not caller.rules.allows_method(canonical):
        raise ApplicationError(f'No permissions to call "{as_sent}".')
