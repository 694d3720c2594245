"""What a new database starts with: the `Admin` super admin, and with --demo the demo data."""

from __future__ import annotations

import logging
import sys
from typing import TextIO

from .config import Config
from .demo import load_demo
from .passwords import hash_password, random_password
from .storage import Storage, users

log = logging.getLogger("rpcserver")


async def bootstrap(storage: Storage, config: Config, now: int, stderr: TextIO = sys.stderr) -> None:
    """Give a database without users its `Admin`: the password is RPCSERVER_ADMIN_PASSWORD, or
    `zabbix` with --demo, or a random one printed once on standard error."""
    if not await storage.read(users.has_users):
        password = config.admin_password or ("zabbix" if config.demo else None)
        generated = password is None
        if password is None:
            password = random_password()
        created = await storage.write(users.create_admin, await hash_password(password, config.password_cost))
        if created and generated:
            print(f"Admin password: {password}", file=stderr, flush=True)
    if config.demo and await load_demo(storage, config, now):
        log.info("demo data loaded: users operator/operator (read-write) and viewer/viewer (read-only)")
