"""Credentials: where they come from, and who may send them.

Sources, in order, the first one present wins (API.md §2): `Authorization: Bearer <x>`,
`X-API-Key: <x>`, the body's deprecated `auth` member. The open methods must be called
without any credential, with Zabbix's texts for each source.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from .errors import InvalidParams


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


async def authenticate(storage: object, credential: Credential, now: int) -> object:
    """The caller a credential belongs to.

    Sessions and API tokens are not stored yet (they arrive with user.login and token.*), so no
    credential can be alive: every one is answered as a dead session.
    """
    raise InvalidParams(SESSION_TERMINATED)
