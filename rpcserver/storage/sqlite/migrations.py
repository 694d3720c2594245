"""Schema versions: ordered migrations tracked by `PRAGMA user_version`.

Migration N brings a database from version N-1 to N, in one transaction together with the
version bump. Issues add migrations at the end; a released migration is never edited.
`PRAGMA application_id` marks the file as ours, so a foreign SQLite file is refused instead
of being written into.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass

APPLICATION_ID = 0x52504353  # "RPCS"


@dataclass(frozen=True)
class Migration:
    description: str
    apply: Callable[[sqlite3.Connection], None]


def sql_migration(description: str, script: str) -> Migration:
    """A migration made of SQL statements, run one by one inside the migration's transaction.

    (`executescript` would commit first, breaking the all-or-nothing migration.)
    """

    def apply(conn: sqlite3.Connection) -> None:
        for statement in split_statements(script):
            conn.execute(statement)

    return Migration(description, apply)


def split_statements(script: str) -> list[str]:
    statements, pending = [], ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n\t;"):
                statements.append(pending.strip())
            pending = ""
    if pending.strip(" \n\t;"):
        raise ValueError(f"incomplete SQL statement: {pending.strip()[:60]!r}")
    return statements


def _schema_v1() -> Migration:
    from .schema_v1 import DEFAULT_ROWS, SCHEMA_V1

    return sql_migration("identity, host groups, hosts, triggers, events and problems", SCHEMA_V1 + DEFAULT_ROWS)


def _schema_v2() -> Migration:
    from .schema_v2 import SCHEMA_V2

    return sql_migration("events.acknowledged and problem.acknowledged dropped: the spans say it", SCHEMA_V2)


ACK_LIFETIME = """
-- API.md §9: a span that lasts until its problem resolves (1), and whether that recovery ended it
-- (1; what the flap guard carries over to the trigger's next problem).
ALTER TABLE acknowledgement ADD COLUMN until_recovery INTEGER NOT NULL DEFAULT 0;
ALTER TABLE acknowledgement ADD COLUMN ended_by_recovery INTEGER NOT NULL DEFAULT 0;
"""

def _credentials_generation() -> Migration:
    from ..credentials import SQLITE_MIGRATION

    return sql_migration("credentials_generation, bumped by triggers: callers cached in memory see every change", SQLITE_MIGRATION)


IDEMPOTENT_REQUESTS = """
-- API.md §8: a request sent with an Idempotency-Key, per user: a hash of its body and its whole answer
-- (NULL while the request runs, in the transaction that will store it), kept until expires_at.
CREATE TABLE idempotent_request (
    userid      INTEGER NOT NULL REFERENCES users ON DELETE CASCADE,
    request_key TEXT    NOT NULL,
    body_hash   TEXT    NOT NULL,
    answer      TEXT,
    created     INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    PRIMARY KEY (userid, request_key)
);
CREATE INDEX idempotent_request_1 ON idempotent_request (expires_at);
"""

WEBHOOKS_SCHEMA = """
CREATE TABLE webhook (
    webhookid    INTEGER PRIMARY KEY AUTOINCREMENT,
    url          TEXT    NOT NULL,
    events       INTEGER NOT NULL,               -- a bit per event kind (storage/webhooks.py KINDS)
    secret       TEXT    NOT NULL DEFAULT '',    -- '': deliveries are not signed
    last_status  INTEGER,                        -- HTTP status of the last attempt; NULL: none or no answer
    last_error   TEXT    NOT NULL DEFAULT '',
    failed       INTEGER NOT NULL DEFAULT 0      -- deliveries given up after 24 h of failures
);
CREATE TABLE webhook_delivery (
    deliveryid   INTEGER PRIMARY KEY AUTOINCREMENT,
    webhookid    INTEGER NOT NULL REFERENCES webhook ON DELETE CASCADE,
    eventid      INTEGER NOT NULL REFERENCES events ON DELETE CASCADE,
    uuid         TEXT    NOT NULL,
    body         TEXT    NOT NULL,
    created_ms   INTEGER NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER NOT NULL
);
CREATE INDEX webhook_delivery_chain ON webhook_delivery (webhookid, eventid, deliveryid);
CREATE INDEX webhook_delivery_due ON webhook_delivery (next_attempt_ms);
CREATE TABLE webhook_lease (
    name         TEXT    PRIMARY KEY,
    holder       TEXT    NOT NULL,
    expires_ms   INTEGER NOT NULL
);
"""
"""Webhooks out (API.md §10): the webhooks, their outbox (written with the history rows it delivers)
and the lease that lets one process at a time deliver."""


def _webhooks() -> Migration:
    return sql_migration("webhooks, their delivery outbox and its lease", WEBHOOKS_SCHEMA)


MIGRATIONS: tuple[Migration, ...] = (
    _schema_v1(),
    _schema_v2(),
    sql_migration("idempotent_request: the answers kept for Idempotency-Key", IDEMPOTENT_REQUESTS),
    _webhooks(),
    _credentials_generation(),
    sql_migration('acknowledgement.until_recovery and ended_by_recovery: "recovery" ends and the flap guard', ACK_LIFETIME),
)


class SchemaError(Exception):
    """The file cannot be used as this version's database; the text says why and what to do."""


def migrate(conn: sqlite3.Connection, migrations: Sequence[Migration]) -> int:
    """Bring the database up to `len(migrations)`; return the version reached.

    Runs on the writer connection's thread, outside any transaction. Several servers may start on one
    new file at once: what decides is read in one snapshot, and each migration once its write lock is held.
    """
    conn.execute("BEGIN")
    try:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        has_tables = conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0] > 0
    finally:
        conn.execute("COMMIT")
    if app_id != APPLICATION_ID:
        if app_id != 0 or has_tables or version != 0:
            raise SchemaError("it is an SQLite database of another program; give rpcserver a new file with --db")
    if version > len(migrations):
        raise SchemaError(
            f"it has schema version {version}, newer than this rpcserver knows "
            f"(up to {len(migrations)}); upgrade rpcserver or use another --db"
        )
    if app_id != APPLICATION_ID:
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    for number, migration in enumerate(migrations[version:], start=version + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            if conn.execute("PRAGMA user_version").fetchone()[0] < number:  # not by another server meanwhile
                migration.apply(conn)
                conn.execute(f"PRAGMA user_version = {number}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return len(migrations)
