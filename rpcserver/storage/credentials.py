"""SQL of credential stamps: one indexed query that says whether a resolved caller is still current.

A stamp is the row of every column a session's or token's caller, and the decision to let it in,
were built from: the session or token row, the user, the user's role and its rules, and whether
one of the user's groups is disabled. Two equal stamps mean nothing the caller depends on changed.

`InlineReader` runs stamps on the event loop's own thread, on a read-only connection of its own:
each query is its own read of the latest committed state (WAL: it never waits for the writer),
and is much cheaper than a hop to a reader thread (bench/README.md has the figures).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from .engine import POSTGRESQL, SQLITE, Db, Engine

Stamp = tuple[Any, ...]

def _user(engine: Engine) -> str:
    # The rules are one text in which every rule is prefixed with its lengths: different rule sets
    # cannot give the same text.
    return f"""
    u.userid, u.username, u.roleid, u.autologout, r.type,
    EXISTS (SELECT 1 FROM users_groups ug JOIN usrgrp g ON g.usrgrpid = ug.usrgrpid
            WHERE ug.userid = u.userid AND g.users_status = 1),
    (SELECT {engine.concat("rules.rule")} FROM (
        SELECT rr.role_ruleid || ' ' || rr.value_int || ' ' || length(rr.name) || ' ' || length(rr.value_str) || ' '
               || rr.name || rr.value_str AS rule
        FROM role_rule rr WHERE rr.roleid = u.roleid ORDER BY rr.role_ruleid) rules)
"""


def _token_stamp_sql(engine: Engine) -> str:
    return f"""
    SELECT t.lastaccess, t.tokenid, t.userid, t.status, t.expires_at, {_user(engine)}
    FROM token t LEFT JOIN users u ON u.userid = t.userid LEFT JOIN role r ON r.roleid = u.roleid
    WHERE t.token = ?
"""


def _session_stamp_sql(engine: Engine) -> str:
    return f"""
    SELECT s.lastaccess, s.userid, s.status, {_user(engine)}
    FROM sessions s LEFT JOIN users u ON u.userid = s.userid LEFT JOIN role r ON r.roleid = u.roleid
    WHERE s.sessionid = ?
"""


TOKEN_STAMP = {engine: _token_stamp_sql(engine) for engine in (SQLITE, POSTGRESQL)}
SESSION_STAMP = {engine: _session_stamp_sql(engine) for engine in (SQLITE, POSTGRESQL)}
"""Each engine's text of the stamp queries."""
LASTACCESS = 0
"""A stamp's first column. It changes on its own (every few seconds of use); callers compare the rest."""
TOKEN_EXPIRES_AT = 4
SESSION_AUTOLOGOUT = 6
"""Positions in the stamps above of the columns the time checks read."""


def token_stamp(db: Db, token_hash: str) -> Stamp | None:
    return db.execute(TOKEN_STAMP[db.engine], (token_hash,)).fetchone()


def session_stamp(db: Db, sessionid: str) -> Stamp | None:
    return db.execute(SESSION_STAMP[db.engine], (sessionid,)).fetchone()


class InlineReader:
    """A read-only connection for tiny indexed queries run synchronously on the event loop's thread.

    Opened on first use (on that thread); `None` answers mean "not available here, take the
    ordinary way" (a database that is not a file, or SQLite busy or failing).
    """

    def __init__(self, path: str) -> None:
        self._path = path
        self._conn: sqlite3.Connection | None = None
        self._usable = path not in ("", ":memory:") and not path.startswith("file:")

    def stamp(self, query: str, key: str) -> Stamp | None:
        """The stamp row for `key`, or None if there is none or it cannot be read here."""
        conn = self._connection()
        if conn is None:
            return None
        try:
            return conn.execute(query, (key,)).fetchone()
        except sqlite3.Error:
            return None

    def _connection(self) -> sqlite3.Connection | None:
        if self._conn is None and self._usable:
            uri = Path(self._path).resolve().as_uri() + "?mode=ro"
            try:
                # timeout 0: never wait on the loop's thread; a busy database sends the call the ordinary way
                self._conn = sqlite3.connect(uri, uri=True, timeout=0, isolation_level=None)
            except sqlite3.Error:
                self._usable = False
        return self._conn

    def close(self) -> None:
        """Close the connection; later stamps answer None (the ordinary way)."""
        self._usable = False
        if self._conn is not None:
            self._conn.close()
            self._conn = None
