"""Password hashing: scrypt (stdlib), salted, slow on purpose. Hashing runs off the event loop."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets

DEFAULT_COST = 14
"""log2 of scrypt's N: 2**14 takes tens of milliseconds here, which is what slows a guesser."""


def _scrypt(password: str, salt: bytes, cost: int) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=2**cost, r=8, p=1, maxmem=2**26, dklen=32)


def hash_password_sync(password: str, cost: int = DEFAULT_COST) -> str:
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, cost)
    return f"scrypt${cost}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_password_sync(password: str, stored: str) -> bool:
    """True if `password` matches `stored`; False for anything malformed (e.g. no password set)."""
    try:
        scheme, cost, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        return hmac.compare_digest(_scrypt(password, base64.b64decode(salt), int(cost)), base64.b64decode(digest))
    except (ValueError, TypeError):
        return False


async def hash_password(password: str, cost: int = DEFAULT_COST) -> str:
    return await asyncio.to_thread(hash_password_sync, password, cost)


async def verify_password(password: str, stored: str) -> bool:
    return await asyncio.to_thread(verify_password_sync, password, stored)


def random_password() -> str:
    return secrets.token_urlsafe(12)
