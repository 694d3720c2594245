"""Refusals of the domain: what storage and the rules say when they refuse a request.

They name what happened, not how an API words it: the dispatch boundary turns each into the
answer of the method's family (`rpcserver.errors.api_error`).
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A request refused by the data or the rules."""


class NotFound(DomainError):
    """A named object is missing, or the caller may not see or change it (told apart nowhere,
    so that a caller learns nothing of objects beyond their rights)."""

    def __init__(self) -> None:
        super().__init__("not found")


class Conflict(DomainError):
    """The data refuses the request: a name taken, a user's last group, a read-only role."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class Forbidden(DomainError):
    """A refused action or state change on an object the caller may see; `detail` says why,
    as text or as structured data."""

    def __init__(self, detail: Any) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidValue(DomainError):
    """A value the request gives is refused: `field` and the `reason`."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class Unavailable(DomainError):
    """The store cannot serve the request now (failing, locked, unreachable, shutting down)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text
