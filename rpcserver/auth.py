"""Credentials: where they come from, who may send them, and the callers they resolve to.

Sources, in order, the first one present wins (API.md §2): `Authorization: Bearer <x>`,
`X-API-Key: <x>`, the body's deprecated `auth` member. The open methods must be called
without any credential, with Zabbix's texts for each source. `Callers` keeps resolved callers
for as long as nothing they were built from has changed (no write and no reader thread per call).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .caller import Caller
from .errors import ApplicationError, InvalidParams
from .storage import credentials, identity
from .storage.credentials import LASTACCESS, SESSION_AUTOLOGOUT, TOKEN_EXPIRES_AT, Stamp
from .storage.engine import SQLITE
from .timeunits import seconds_of

if TYPE_CHECKING:
    from .storage import Storage, Store


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


async def authenticate(storage: Store, credential: Credential, now: int) -> Caller:
    """The caller a credential belongs to (ZA §2.4): 64 characters is an API token, anything
    else a session id.

    Raises:
        InvalidParams: `Not authorized.` / `Session terminated, re-login, please.`
        ApplicationError: `API token expired.`
    """
    return (await _resolve(storage, credential, now))[0]


async def _resolve(storage: Store, credential: Credential, now: int) -> tuple[Caller, Stamp]:
    if len(credential.value) == TOKEN_LENGTH:
        return await _token_caller(storage, credential.value, now)
    return await _session_caller(storage, credential.value, now)


def hash_token(secret: str) -> str:
    return hashlib.sha512(secret.encode()).hexdigest()


async def token_caller(storage: Store, secret: str, now: int) -> Caller:
    return (await _token_caller(storage, secret, now))[0]


async def _token_caller(storage: Store, secret: str, now: int) -> tuple[Caller, Stamp]:
    token, caller, stamp = await storage.read(identity.token_lookup, hash_token(secret))
    if token is None:
        raise InvalidParams(NOT_AUTHORIZED)
    if token.expires_at and token.expires_at < now:
        raise ApplicationError(TOKEN_EXPIRED)
    if caller is None or stamp is None:
        raise InvalidParams(NOT_AUTHORIZED)
    if now - token.lastaccess >= LASTACCESS_REFRESH:
        await storage.write(identity.touch_token, token.tokenid, now)
    return caller, stamp


async def session_caller(storage: Store, sessionid: str, now: int, *, extend: bool | None = None) -> Caller:
    """The caller of a live session. `extend`: True refreshes `lastaccess` now, False never,
    None (an ordinary call) at most every LASTACCESS_REFRESH seconds."""
    return (await _session_caller(storage, sessionid, now, extend=extend))[0]


async def _session_caller(
    storage: Store, sessionid: str, now: int, *, extend: bool | None = None
) -> tuple[Caller, Stamp]:
    session, user, caller, stamp = await storage.read(identity.session_lookup, sessionid)
    if session is None:
        raise InvalidParams(SESSION_TERMINATED)
    if user is None or caller is None or stamp is None or session_expired(user.autologout, session.lastaccess, now):
        await storage.write(identity.end_session, sessionid)
        raise InvalidParams(SESSION_TERMINATED)
    if extend or (extend is None and now - session.lastaccess >= LASTACCESS_REFRESH):
        await storage.write(identity.touch_session, sessionid, now)
    return caller, stamp


def session_expired(autologout: str, lastaccess: int, now: int) -> bool:
    timeout = seconds_of(autologout) or 0  # 0: never
    return timeout > 0 and now - lastaccess > timeout


def check_method_allowed(caller: Caller, canonical: str, as_sent: str) -> None:
    """The role's API rules (rules.api): a method they deny is -32500, as in Zabbix 7.0."""
    if not caller.rules.allows_method(canonical):
        raise ApplicationError(f'No permissions to call "{as_sent}".')


MAX_CACHED = 4096
"""Credentials whose callers are kept; the oldest is forgotten first."""


@dataclass(frozen=True, slots=True)
class _Resolved:
    caller: Caller
    stamp: Stamp
    """The credential's stamp, read in the snapshot the caller was built from."""


class Callers:
    """`authenticate` with the resolution cached: the first call with a credential takes the ordinary
    way (a reader connection, the caller built from rows); later calls reuse that caller for as
    long as the credential's stamp (storage/credentials.py: every column the caller and the
    decision depend on, read in one indexed query on the loop's own connection) is unchanged and
    the time checks pass. Anything else (a changed stamp, expiry, a lastaccess due to be written,
    an unreadable stamp) takes the ordinary way, which answers errors and writes exactly as
    `authenticate` does. Every committed change, by this process or another, is seen by the next call.
    """

    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self._reader = storage.inline_reader()
        self._resolved: dict[str, _Resolved] = {}

    async def authenticate(self, credential: Credential, now: int, transaction: Store | None = None) -> Caller:
        """The caller of `credential`. Within a request's own `transaction` the ordinary way is taken
        through it, uncached: it sees the request's own changes, and a dry run's leave no trace here."""
        if transaction is not None:
            return (await _resolve(transaction, credential, now))[0]
        resolved = self._resolved.pop(credential.value, None)
        if resolved is None or not self._current(credential.value, resolved.stamp, now):
            caller, stamp = await _resolve(self._storage, credential, now)
            resolved = _Resolved(caller, stamp)
        if len(self._resolved) >= MAX_CACHED:
            del self._resolved[next(iter(self._resolved))]
        self._resolved[credential.value] = resolved  # re-inserted: the most recently used come last
        return resolved.caller

    def _current(self, value: str, cached: Stamp, now: int) -> bool:
        """Whether the ordinary way would let the credential in, as the same caller, without writing."""
        if self._reader is None:
            return False
        is_token = len(value) == TOKEN_LENGTH
        if is_token:
            stamp = self._reader.stamp(credentials.TOKEN_STAMP[SQLITE], hash_token(value))
        else:
            stamp = self._reader.stamp(credentials.SESSION_STAMP[SQLITE], value)
        if stamp is None or stamp[LASTACCESS + 1 :] != cached[LASTACCESS + 1 :]:
            return False
        lastaccess = stamp[LASTACCESS]
        if is_token:
            expires_at = stamp[TOKEN_EXPIRES_AT]
            if expires_at and expires_at < now:
                return False
        elif session_expired(stamp[SESSION_AUTOLOGOUT], lastaccess, now):
            return False
        return now - lastaccess < LASTACCESS_REFRESH

    def close(self) -> None:
        """Release the stamp connection (at shutdown)."""
        if self._reader is not None:
            self._reader.close()
