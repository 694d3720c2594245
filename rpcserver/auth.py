"""Credentials: where they come from, who may send them, and the callers they resolve to.

Sources, in order, the first one present wins (API.md §2): `Authorization: Bearer <x>`,
`X-API-Key: <x>`, the body's deprecated `auth` member. The open methods must be called
without any credential, with Zabbix's texts for each source. `Callers` keeps resolved callers
in memory for as long as nothing they were built from has changed (no query per call).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .caller import Caller
from .errors import ApplicationError, InvalidParams
from .storage import credentials, identity
from .timeunits import seconds_of

if TYPE_CHECKING:
    from .storage import Storage, Store


@dataclass(slots=True)  # made per call: not frozen, whose __init__ is four times as slow
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


async def authenticate(storage: Store, credential: Credential, now: int) -> Caller:
    """The caller a credential belongs to (ZA §2.4): 64 characters is an API token, anything
    else a session id.

    Raises:
        InvalidParams: `Not authorized.` / `Session terminated, re-login, please.`
        ApplicationError: `API token expired.`
    """
    return (await _resolve(storage, credential, now)).caller


@dataclass(frozen=True, slots=True)
class _Resolved:
    """A caller and what decides, without reading the database, whether it may still be reused."""

    caller: Caller
    generation: int
    """The credentials generation the caller was read at (storage/credentials.py)."""
    lastaccess: int
    """The session's or token's lastaccess once this resolution was done (it may have written it)."""
    expires_at: int = 0
    """A token's expiry (epoch seconds), 0 for never."""
    autologout: int = 0
    """A session's inactivity timeout in seconds, 0 for never."""


async def _resolve(storage: Store, credential: Credential, now: int) -> _Resolved:
    if len(credential.value) == TOKEN_LENGTH:
        return await _token_caller(storage, credential.value, now)
    return await _session_caller(storage, credential.value, now)


def hash_token(secret: str) -> str:
    return hashlib.sha512(secret.encode()).hexdigest()


async def token_caller(storage: Store, secret: str, now: int) -> Caller:
    return (await _token_caller(storage, secret, now)).caller


async def _token_caller(storage: Store, secret: str, now: int) -> _Resolved:
    token, caller, generation = await storage.read(identity.token_lookup, hash_token(secret))
    if token is None:
        raise InvalidParams(NOT_AUTHORIZED)
    if token.expires_at and token.expires_at < now:
        raise ApplicationError(TOKEN_EXPIRED)
    if caller is None:
        raise InvalidParams(NOT_AUTHORIZED)
    lastaccess = token.lastaccess
    if now - lastaccess >= LASTACCESS_REFRESH:
        await storage.write(identity.touch_token, token.tokenid, now)
        lastaccess = now
    return _Resolved(caller, generation, lastaccess, expires_at=token.expires_at)


async def session_caller(storage: Store, sessionid: str, now: int, *, extend: bool | None = None) -> Caller:
    """The caller of a live session. `extend`: True refreshes `lastaccess` now, False never,
    None (an ordinary call) at most every LASTACCESS_REFRESH seconds."""
    return (await _session_caller(storage, sessionid, now, extend=extend)).caller


async def _session_caller(storage: Store, sessionid: str, now: int, *, extend: bool | None = None) -> _Resolved:
    session, user, caller, generation = await storage.read(identity.session_lookup, sessionid)
    if session is None:
        raise InvalidParams(SESSION_TERMINATED)
    if user is None or caller is None or session_expired(user.autologout, session.lastaccess, now):
        await storage.write(identity.end_session, sessionid)
        raise InvalidParams(SESSION_TERMINATED)
    lastaccess = session.lastaccess
    if extend or (extend is None and now - lastaccess >= LASTACCESS_REFRESH):
        await storage.write(identity.touch_session, sessionid, now)
        lastaccess = max(lastaccess, now)
    return _Resolved(caller, generation, lastaccess, autologout=seconds_of(user.autologout) or 0)


def session_expired(autologout: str, lastaccess: int, now: int) -> bool:
    timeout = seconds_of(autologout) or 0  # 0: never
    return timeout > 0 and now - lastaccess > timeout


def check_method_allowed(caller: Caller, canonical: str, as_sent: str) -> None:
    """The role's API rules (rules.api): a method they deny is -32500, as in Zabbix 7.0."""
    if not caller.rules.allows_method(canonical):
        raise ApplicationError(f'No permissions to call "{as_sent}".')


MAX_CACHED = 4096
"""Credentials whose callers are kept; the oldest is forgotten first."""

GENERATION_POLL = 0.5
"""Seconds between reads of the credentials generation: a change written by another process (another
server, `rpcserver passwd`) reaches the callers cached here within this (API.md §7 allows 1 s)."""


class Callers:
    """`authenticate` with the resolution cached in memory: the first call with a credential takes
    the ordinary way (a reader connection, the caller built from rows); later calls reuse that caller,
    without reading the database, for as long as the credentials generation it was read at is the
    newest one seen (storage/credentials.py) and the time checks pass. Anything else (a newer
    generation, expiry, a lastaccess due to be written) takes the ordinary way, which answers errors and
    writes exactly as `authenticate` does. A change written through this process's Storage is seen by
    the next call; one written by another process within GENERATION_POLL seconds.
    """

    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self._next_poll = 0.0
        self._resolved: dict[str, _Resolved] = {}

    async def authenticate(self, credential: Credential, now: int, transaction: Store | None = None) -> Caller:
        """The caller of `credential`. Within a request's own `transaction` the ordinary way is taken
        through it, uncached: it sees the request's own changes, and a dry run's leave no trace here."""
        if transaction is not None:
            return (await _resolve(transaction, credential, now)).caller
        if time.monotonic() >= self._next_poll:  # checked here: no coroutine made per call for nothing
            await self._poll()
        resolved = self._resolved.pop(credential.value, None)
        if resolved is None or not self._current(resolved, now):
            resolved = await _resolve(self._storage, credential, now)
            self._storage.saw_credentials_generation(resolved.generation)
        if len(self._resolved) >= MAX_CACHED:
            del self._resolved[next(iter(self._resolved))]
        self._resolved[credential.value] = resolved  # re-inserted: the most recently used come last
        return resolved.caller

    async def _poll(self) -> None:
        self._next_poll = time.monotonic() + GENERATION_POLL  # set first: the calls meanwhile do not read it too
        try:
            generation: int | None = await self._storage.read(credentials.generation)
        except Exception:  # unreadable: nothing cached is trusted; the ordinary way says what is wrong
            generation = None
        self._storage.saw_credentials_generation(generation)

    def _current(self, resolved: _Resolved, now: int) -> bool:
        """Whether the ordinary way would let the credential in, as the same caller, without writing."""
        newest = self._storage.credentials_generation
        if newest is None or resolved.generation < newest:
            return False
        if resolved.expires_at and resolved.expires_at < now:
            return False
        if resolved.autologout and now - resolved.lastaccess > resolved.autologout:
            return False
        return now - resolved.lastaccess < LASTACCESS_REFRESH
