"""Demo data for `rpcserver serve --demo` (filled in with event ingestion)."""

from __future__ import annotations

from .config import Config
from .storage import Storage


async def load_demo(storage: Storage, config: Config) -> None:
    return None
