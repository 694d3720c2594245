"""Demo data for `rpcserver serve --demo`: something to acknowledge a minute after installing.

Loaded only into an empty database (no hosts, no users but Admin), through the same ingestion as `event.create`.
Users: `operator`/`operator` (read-write on the demo groups) and `viewer`/`viewer` (read-only).
"""

from __future__ import annotations

from .config import Config
from .passwords import hash_password
from .storage import Storage, demo


async def load_demo(storage: Storage, config: Config, now: int) -> bool:
    """Load the demo data into an empty database; True if it was loaded (by this call: of servers
    starting together on one new database, one loads it)."""
    if not await storage.read(demo.is_empty):
        return False  # the usual case, a restart: no passwords hashed for nothing
    operator_hash = await hash_password("operator", config.password_cost)
    viewer_hash = await hash_password("viewer", config.password_cost)
    loaded: bool = await storage.write(demo.load, now, operator_hash, viewer_hash)  # checks again, under the writer's lock
    return loaded
