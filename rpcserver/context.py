"""What a handler is given besides its params: who calls, the storage, the time, the settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .caller import Caller
    from .config import Config
    from .storage import Store

Clock = Callable[[], float]


@dataclass(slots=True)  # made per call: not frozen, whose __init__ is four times as slow
class Context:
    authenticated: Caller | None
    """The caller the credentials resolved to, or None for the methods that need no credentials."""
    storage: Store
    """The storage, or the request's own transaction (API.md §8)."""
    clock: Clock
    settings: Config
    request_id: str
    now: int
    """The call's one clock reading (epoch seconds): every row a call writes carries it."""
    client_ip: str = ""

    @property
    def caller(self) -> Caller:
        """The caller of a method that needs credentials: dispatch calls those only with one."""
        if self.authenticated is None:
            raise RuntimeError("a method that needs no credentials asked for its caller")
        return self.authenticated
