"""Demo data for `rpcserver serve --demo`: something to acknowledge a minute after installing.

Loaded only into an empty database (no hosts, no users but Admin), through the same ingestion as `event.create`.
Users: `operator`/`operator` (read-write on the demo groups) and `viewer`/`viewer` (read-only).
"""

from __future__ import annotations

from .config import Config
from .passwords import hash_password
from .storage import Storage
from .storage._sql import inserted_id
from .storage.engine import Db
from .storage.events import Ingest, ingest
from .storage.permissions import READ, READ_WRITE

USER_ROLE = 1
ADMIN_USERID = 1

GROUPS = ("Linux servers", "Databases", "Network devices")
# (host, groups, problem name, severity, manual close, tags, minutes ago, resolved)
PROBLEMS = (
    ("web-01", ("Linux servers",), "High CPU utilization", 2, 1, (("service", "web"),), 95, False),
    ("web-01", ("Linux servers",), "Nginx is not running", 4, 0, (("service", "web"), ("team", "ops")), 42, False),
    ("web-02", ("Linux servers",), "Free disk space is less than 10% on /var", 3, 1, (("service", "web"),), 180, False),
    ("db-01", ("Databases", "Linux servers"), "MySQL replication lag is too high", 5, 1, (("service", "db"),), 12, False),
    ("db-01", ("Databases", "Linux servers"), "Backup has not run for 24 hours", 1, 1, (("service", "backup"),), 600, False),
    ("core-sw-01", ("Network devices",), "Interface Gi0/1: link down", 4, 1, (("service", "network"),), 7, False),
    ("core-sw-01", ("Network devices",), "SNMP agent is not available", 0, 0, (), 30, False),
    ("web-02", ("Linux servers",), "Service httpd restarted", 1, 1, (("service", "web"),), 300, True),
)


def _is_empty(conn: Db) -> bool:
    """No hosts, and no users but the built-in Admin: nothing the demo data could clash with."""
    return conn.execute(
        "SELECT NOT EXISTS (SELECT 1 FROM hosts) AND NOT EXISTS (SELECT 1 FROM users WHERE userid <> ?)", (ADMIN_USERID,)
    ).fetchone()[0] == 1


def _load(conn: Db, now: int, operator_hash: str, viewer_hash: str) -> None:
    groupids = []
    for name in GROUPS:
        conn.execute("INSERT INTO hstgrp (name) VALUES (?) ON CONFLICT DO NOTHING", (name,))
        groupids.append(conn.execute("SELECT groupid FROM hstgrp WHERE name = ?", (name,)).fetchone()[0])
    users = {}
    for username, passwd, group, permission in (
        ("operator", operator_hash, "Operators", READ_WRITE),
        ("viewer", viewer_hash, "Viewers", READ),
    ):
        usrgrpid = inserted_id(conn.execute("INSERT INTO usrgrp (name) VALUES (?) RETURNING usrgrpid", (group,)))
        conn.executemany(
            "INSERT INTO rights (groupid, permission, id) VALUES (?, ?, ?)", [(usrgrpid, permission, g) for g in groupids]
        )
        userid = inserted_id(conn.execute(
            "INSERT INTO users (username, name, passwd, roleid) VALUES (?, ?, ?, ?) RETURNING userid",
            (username, username.capitalize(), passwd, USER_ROLE),
        ))
        conn.execute("INSERT INTO users_groups (usrgrpid, userid) VALUES (?, ?)", (usrgrpid, userid))
        users[username] = userid
    for host, groups, name, severity, manual_close, tags, minutes_ago, resolved in PROBLEMS:
        opened = Ingest(host, name, severity, 1, groups, manual_close, tags, clock=now - minutes_ago * 60,
                        paged_users=("operator",))
        ingest(conn, [opened], now, ADMIN_USERID, super_admin=True)
        if resolved:
            ingest(conn, [Ingest(host, name, value=0, groups=groups, clock=now - minutes_ago * 60 + 120)], now,
                   ADMIN_USERID, super_admin=True)


async def load_demo(storage: Storage, config: Config, now: int) -> bool:
    """Load the demo data into an empty database; True if it was loaded."""
    if not await storage.read(_is_empty):
        return False
    operator_hash = await hash_password("operator", config.password_cost)
    viewer_hash = await hash_password("viewer", config.password_cost)
    await storage.write(_load, now, operator_hash, viewer_hash)
    return True
