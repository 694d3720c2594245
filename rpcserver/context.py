"""What a handler is given besides its params: who calls, the storage, the time, the settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .config import Config
    from .storage import Storage

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class Context:
    caller: Any
    """The authenticated caller, or None for the methods that need no credentials."""
    storage: Storage
    clock: Clock
    settings: Config
    request_id: str
    now: int
    """The call's one clock reading (epoch seconds): every row a call writes carries it."""
    client_ip: str = ""
