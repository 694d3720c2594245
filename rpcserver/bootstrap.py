"""What a new database starts with: the `Admin` super admin, and with --demo the demo data."""

from __future__ import annotations

import logging
import sys
from typing import TextIO

from .config import Config
from .demo import load_demo
from .passwords import hash_password, random_password
from .storage import Storage
from .storage.engine import Db

log = logging.getLogger("rpcserver")

ADMINISTRATORS_GROUP = 7
SUPER_ADMIN_ROLE = 3


def _has_users(conn: Db) -> bool:
    return conn.execute("SELECT 1 FROM users LIMIT 1").fetchone() is not None


def _create_admin(conn: Db, passwd: str) -> None:
    # The first user of a new database: its id is 1 on both stores, as Zabbix's Admin's is.
    userid = conn.execute(
        "INSERT INTO users (username, name, surname, passwd, roleid, autologout)"
        " VALUES ('Admin', 'Zabbix', 'Administrator', ?, ?, '0') RETURNING userid",
        (passwd, SUPER_ADMIN_ROLE),
    ).fetchone()[0]
    conn.execute("INSERT INTO users_groups (usrgrpid, userid) VALUES (?, ?)", (ADMINISTRATORS_GROUP, userid))


async def bootstrap(storage: Storage, config: Config, now: int, stderr: TextIO = sys.stderr) -> None:
    """Give a database without users its `Admin`: the password is RPCSERVER_ADMIN_PASSWORD, or
    `zabbix` with --demo, or a random one printed once on standard error."""
    if not await storage.read(_has_users):
        password = config.admin_password or ("zabbix" if config.demo else None)
        generated = password is None
        if password is None:
            password = random_password()
        await storage.write(_create_admin, await hash_password(password, config.password_cost))
        if generated:
            print(f"Admin password: {password}", file=stderr, flush=True)
    if config.demo and await load_demo(storage, config, now):
        log.info("demo data loaded: users operator/operator (read-write) and viewer/viewer (read-only)")
