"""The credentials generation: one counter that every change to what a caller is built from moves.

auth.Callers keeps resolved callers in memory, in every process serving the database. A change to a
user, a user group or a membership, a role or its rules, a right, or a session's or token's identity,
status or expiry bumps `credentials_generation.generation` in the same transaction, by triggers of
the database itself, so that every writer (another server process, `rpcserver passwd`, a hand-made
UPDATE) bumps it too. A cached caller is reused only while the generation it was read with is the
latest one seen. The writes of `lastaccess` do not bump it: they happen every few seconds of use.

Schema migration 5 on both stores (SQLite: sqlite/migrations.py; PostgreSQL: postgresql/schema.py).
"""

from __future__ import annotations

from .engine import Db

TABLE = "credentials_generation"

WATCHED = (
    ("users", "UPDATE OF userid, username, roleid, autologout"),
    ("users", "DELETE"),
    ("usrgrp", "UPDATE"),
    ("usrgrp", "DELETE"),
    ("users_groups", "INSERT"),
    ("users_groups", "UPDATE"),
    ("users_groups", "DELETE"),
    ("role", "UPDATE"),
    ("role", "DELETE"),
    ("role_rule", "INSERT"),
    ("role_rule", "UPDATE"),
    ("role_rule", "DELETE"),
    ("rights", "INSERT"),
    ("rights", "UPDATE"),
    ("rights", "DELETE"),
    ("sessions", "UPDATE OF sessionid, userid, status"),
    ("sessions", "DELETE"),
    ("token", "UPDATE OF token, userid, status, expires_at"),
    ("token", "DELETE"),
)
"""(table, event) of every change that bumps the generation. New users, sessions and tokens do not:
nothing cached depends on them yet."""

_BUMP = f"UPDATE {TABLE} SET generation = generation + 1"
_CREATE_TABLE = f"""
CREATE TABLE {TABLE} (
    id integer PRIMARY KEY CHECK (id = 1),
    generation bigint NOT NULL
);
INSERT INTO {TABLE} (id, generation) VALUES (1, 0);
"""


def _trigger_name(table: str, event: str) -> str:
    return f"{TABLE}_{table}_{event.split()[0].lower()}"


SQLITE_MIGRATION = _CREATE_TABLE + "".join(
    f"CREATE TRIGGER {_trigger_name(table, event)} AFTER {event} ON {table} BEGIN {_BUMP}; END;\n"
    for table, event in WATCHED
)
"""Migration 5 on SQLite (its triggers run for each row; one bump per row changed is as good as one)."""

POSTGRESQL_MIGRATION = (
    _CREATE_TABLE
    + f"CREATE FUNCTION bump_{TABLE}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {_BUMP}; RETURN NULL; END $$;\n"
    + "".join(
        f"CREATE TRIGGER {_trigger_name(table, event)} AFTER {event} ON {table}"
        f" FOR EACH STATEMENT EXECUTE FUNCTION bump_{TABLE}();\n"
        for table, event in WATCHED
    )
)
"""Migration 5 on PostgreSQL."""


_SELECT_GENERATION = f"SELECT generation FROM {TABLE}"


def generation(conn: Db) -> int:
    """The credentials generation, as of `conn`'s transaction."""
    return int(conn.execute(_SELECT_GENERATION).fetchone()[0])
