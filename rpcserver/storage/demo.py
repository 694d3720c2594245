"""SQL of the demo data (`rpcserver serve --demo`): its host groups, users and problems, and the
check that the database is empty enough to take them."""

from __future__ import annotations

from ..domain.lifetime import Lifetime
from ._sql import inserted_id
from .engine import Db
from .events import Ingest, ingest
from .permissions import READ, READ_WRITE

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

LOCK_KEY = 0x52504344
"""The lock a demo load holds (PostgreSQL): servers starting together with --demo load it once."""

NO_SPANS = Lifetime()
"""The demo data has no acknowledgements for the flap guard to carry over: the default policy will do."""


def is_empty(conn: Db) -> bool:
    """No hosts, and no users but the built-in Admin: nothing the demo data could clash with."""
    return conn.execute(
        "SELECT NOT EXISTS (SELECT 1 FROM hosts) AND NOT EXISTS (SELECT 1 FROM users WHERE userid <> ?)", (ADMIN_USERID,)
    ).fetchone()[0] == 1


def load(conn: Db, now: int, operator_hash: str, viewer_hash: str) -> bool:
    """Load the demo data if the database is still empty; False if it is not (another server starting
    on it loaded it first). The check and the load are one unit under one lock: SQLite's writer, or
    LOCK_KEY on PostgreSQL, whose next statement then sees what the lock's last holder committed."""
    lock = conn.engine.lock_key(LOCK_KEY)
    if lock is not None:
        conn.execute(lock)
    if not is_empty(conn):
        return False
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
        ingest(conn, [opened], now, ADMIN_USERID, super_admin=True, lifetime=NO_SPANS)
        if resolved:
            ingest(conn, [Ingest(host, name, value=0, groups=groups, clock=now - minutes_ago * 60 + 120)], now,
                   ADMIN_USERID, super_admin=True, lifetime=NO_SPANS)
    return True
