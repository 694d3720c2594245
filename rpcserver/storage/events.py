"""SQL of events and problems: ingestion (event.create) and the rows a problem is made of."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..domain.errors import Forbidden, NotFound
from ..domain.lifetime import Lifetime, carries_over, carry_over_message, until_recovery
from ..domain.spans import creation_action
from . import spans
from ._sql import inserted_id, json_ids
from .engine import Db
from .permissions import READ_WRITE, permitted_groupids, permitted_hostids

DEFAULT_GROUP = "Discovered hosts"
"""The host group of new hosts when an event names none."""


class HostNotWritable(Forbidden):
    """The caller may not write the host of the event at `index`, of those ingested together."""

    def __init__(self, index: int) -> None:
        super().__init__(f"event {index}: its host may not be written")
        self.index = index


@dataclass(frozen=True)
class Ingest:
    """One event to ingest, as validated by the schema."""

    host: str
    name: str
    severity: int = 0
    value: int = 1
    groups: tuple[str, ...] = (DEFAULT_GROUP,)
    manual_close: int | None = None
    tags: tuple[tuple[str, str], ...] = ()
    opdata: str | None = None
    clock: int | None = None
    paged_users: tuple[str, ...] = field(default=())


# Groups, hosts and triggers are made by the first event that names them. Another server may be
# making the same one at once (PostgreSQL): its INSERT ... ON CONFLICT DO NOTHING waits for that
# server's transaction and then makes nothing, and the next SELECT, in a snapshot of its own, finds the
# row that server made, as if it had been there all along.


def _group_ids(conn: Db, names: tuple[str, ...], may_create: bool) -> list[int]:
    ids = []
    for name in dict.fromkeys(names):
        row = conn.execute("SELECT groupid FROM hstgrp WHERE name = ?", (name,)).fetchone()
        if row is None:
            if not may_create:
                raise NotFound()
            row = conn.execute("INSERT INTO hstgrp (name) VALUES (?) ON CONFLICT DO NOTHING RETURNING groupid",
                               (name,)).fetchone()
            if row is None:  # made by another server meanwhile
                row = conn.execute("SELECT groupid FROM hstgrp WHERE name = ?", (name,)).fetchone()
        ids.append(row[0])
    return ids


def _check_admin_rights(conn: Db, userid: int, groupids: list[int], hostid: int | None) -> None:
    writable_groups = {row[0] for row in conn.execute(permitted_groupids(READ_WRITE), {"perm_userid": userid})}
    if not set(groupids) <= writable_groups:
        raise NotFound()
    if hostid is not None:
        writable = conn.execute(f"SELECT 1 FROM ({permitted_hostids(READ_WRITE)}) ph WHERE ph.hostid = :hostid",
                                {"perm_userid": userid, "hostid": hostid}).fetchone()
        if writable is None:
            raise NotFound()


def _host_id(conn: Db, host: str, groupids: list[int], userid: int, super_admin: bool) -> int:
    row = conn.execute("SELECT hostid FROM hosts WHERE host = ?", (host,)).fetchone()
    hostid = row[0] if row else None
    if not super_admin:
        _check_admin_rights(conn, userid, groupids, hostid)
    if hostid is None:
        row = conn.execute("INSERT INTO hosts (host, name) VALUES (?, ?) ON CONFLICT DO NOTHING RETURNING hostid",
                           (host, host)).fetchone()
        if row is None:  # made by another server meanwhile: the caller's rights checked as on a host found
            hostid = conn.execute("SELECT hostid FROM hosts WHERE host = ?", (host,)).fetchone()[0]
            if not super_admin:
                _check_admin_rights(conn, userid, groupids, hostid)
        else:
            hostid = row[0]
    conn.executemany(
        "INSERT INTO hosts_groups (hostid, groupid) VALUES (?, ?) ON CONFLICT DO NOTHING", [(hostid, g) for g in groupids]
    )
    return hostid


def _trigger_id(conn: Db, hostid: int, event: Ingest) -> int:
    row = conn.execute("SELECT triggerid FROM triggers WHERE hostid = ? AND description = ?", (hostid, event.name)).fetchone()
    if row is None:
        row = conn.execute(
            "INSERT INTO triggers (hostid, description, priority, manual_close, opdata) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING RETURNING triggerid",
            (hostid, event.name, event.severity, event.manual_close or 0, event.opdata or ""),
        ).fetchone()
        if row is not None:
            return int(row[0])
        # made by another server meanwhile: as if it had been found
        row = conn.execute("SELECT triggerid FROM triggers WHERE hostid = ? AND description = ?", (hostid, event.name)).fetchone()
    if event.manual_close is not None or event.opdata is not None:
        conn.execute(
            "UPDATE triggers SET manual_close = coalesce(?, manual_close), opdata = coalesce(?, opdata) WHERE triggerid = ?",
            (event.manual_close, event.opdata, row[0]),
        )
    return row[0]


def _open_problem(conn: Db, triggerid: int) -> int | None:
    row = conn.execute(
        "SELECT eventid FROM problem WHERE source = 0 AND object = 0 AND objectid = ? AND r_eventid IS NULL"
        " ORDER BY eventid DESC LIMIT 1",
        (triggerid,),
    ).fetchone()
    return row[0] if row else None


def _lock_trigger(conn: Db, triggerid: int) -> None:
    """Lock the trigger where other servers may ingest its events at once (PostgreSQL): a problem
    another one is opening on it is committed, and seen by the next statement, before this unit looks
    for the trigger's open problem. Two events opening one problem at once would otherwise both find
    none and open two (Zabbix keeps at most one open problem per trigger)."""
    lock = conn.engine.lock_trigger("triggerid")
    if lock is not None:
        conn.execute(lock, {"triggerid": triggerid})


def _paged_userids(conn: Db, usernames: tuple[str, ...]) -> list[int]:
    ids = []
    for username in dict.fromkeys(usernames):
        row = conn.execute(f"SELECT userid FROM users WHERE {conn.engine.nocase_equals('username', '?')}", (username,)).fetchone()
        if row is None:
            raise NotFound()
        ids.append(row[0])
    return ids


def _carry_over(conn: Db, triggerid: int, eventid: int, clock: int, lifetime: Lifetime) -> None:
    """The flap guard (API.md §9): when the trigger's last problem resolved within the guard of
    `clock`, the new problem `eventid` gets a new "recovery" span for each user whose "recovery"
    span that resolution ended, with a history row saying so."""
    last = conn.execute(
        "SELECT eventid, r_clock FROM problem WHERE source = 0 AND object = 0 AND objectid = ? AND r_eventid IS NOT NULL"
        " AND eventid <> ? ORDER BY r_clock DESC, eventid DESC LIMIT 1",
        (triggerid, eventid),
    ).fetchone()
    if last is None or not carries_over(last[1], clock, lifetime):
        return
    message = carry_over_message(last[0], lifetime)
    end = until_recovery(lifetime, clock)
    for userid, notes in spans.recovered_spans(conn, last[0]):
        newly = not spans.acknowledged_events(conn, [eventid], clock)
        spans.open_spans(conn, [eventid], userid, clock, end, notes)
        spans.write_history(conn, [(userid, eventid, clock, message, creation_action(newly, message))], clock)


def _open(conn: Db, triggerid: int, event: Ingest, clock: int, paged: list[int], lifetime: Lifetime) -> int:
    eventid = inserted_id(conn.execute(
        "INSERT INTO events (source, object, objectid, clock, value, name, severity) VALUES (0, 0, ?, ?, 1, ?, ?)"
        " RETURNING eventid",
        (triggerid, clock, event.name, event.severity),
    ))
    conn.execute(
        "INSERT INTO problem (eventid, source, object, objectid, clock, name, severity) VALUES (?, 0, 0, ?, ?, ?, ?)",
        (eventid, triggerid, clock, event.name, event.severity),
    )
    conn.executemany("INSERT INTO event_tag (eventid, tag, value) VALUES (?, ?, ?)", [(eventid, t, v) for t, v in event.tags])
    conn.executemany("INSERT INTO problem_tag (eventid, tag, value) VALUES (?, ?, ?)", [(eventid, t, v) for t, v in event.tags])
    conn.executemany("INSERT INTO event_page (eventid, userid) VALUES (?, ?)", [(eventid, u) for u in paged])
    conn.execute("UPDATE triggers SET value = 1, lastchange = ? WHERE triggerid = ?", (clock, triggerid))
    _carry_over(conn, triggerid, eventid, clock, lifetime)
    return eventid


def _lock_unresolved(conn: Db, problemid: int) -> bool:
    """Lock the problem's event where other servers may resolve it at once (PostgreSQL), as a close
    does; whether it is still unresolved then (a racing resolution may have committed meanwhile)."""
    lock = conn.engine.lock_events("ids")
    if lock is None:
        return True
    conn.execute(lock, {"ids": json_ids([problemid])})
    return conn.execute("SELECT r_eventid IS NULL FROM problem WHERE eventid = ?", (problemid,)).fetchone()[0]


def resolve_problem(conn: Db, problemid: int, clock: int, userid: int | None = None) -> int:
    """Resolve an open problem with an OK event (value 0); return the OK event's id. Its "until
    recovery" acknowledgements end with it.

    `userid` is set when a person closed it (event_recovery.userid, problem.userid).
    """
    objectid, name = conn.execute("SELECT objectid, name FROM events WHERE eventid = ?", (problemid,)).fetchone()
    ok_eventid = inserted_id(conn.execute(
        "INSERT INTO events (source, object, objectid, clock, value, name, severity) VALUES (0, 0, ?, ?, 0, ?, 0)"
        " RETURNING eventid",
        (objectid, clock, name),
    ))
    conn.execute("INSERT INTO event_recovery (eventid, r_eventid, userid) VALUES (?, ?, ?)", (problemid, ok_eventid, userid))
    conn.execute(
        "UPDATE problem SET r_eventid = ?, r_clock = ?, userid = ? WHERE eventid = ?", (ok_eventid, clock, userid, problemid)
    )
    if _open_problem(conn, objectid) is None:
        conn.execute("UPDATE triggers SET value = 0, lastchange = ? WHERE triggerid = ?", (clock, objectid))
    spans.end_at_recovery(conn, problemid, clock)
    return ok_eventid


OPENED, RESOLVED, UNCHANGED = "opened", "resolved", "unchanged"
"""What ingesting one event did to its trigger's problem."""


def ingest_one(
    conn: Db, event: Ingest, now: int, userid: int, super_admin: bool, lifetime: Lifetime
) -> tuple[str, int | None]:
    """Apply one event of event.create: find or create groups, host and trigger; open (idempotently) or resolve.
    A problem reopening within `lifetime`'s flap guard inherits the last one's "recovery" acknowledgements.

    Returns what it did and the id event.create answers for it: the problem's (value 1, new or already
    open), the OK event's (value 0, resolving) or none (value 0 with nothing open).
    """
    groupids = _group_ids(conn, event.groups, may_create=super_admin)
    hostid = _host_id(conn, event.host, groupids, userid, super_admin)
    paged = _paged_userids(conn, event.paged_users)
    triggerid = _trigger_id(conn, hostid, event)
    clock = event.clock if event.clock is not None else now
    if event.value == 1:
        # A resolution needs no lock of the trigger: it locks the problem it resolves (_lock_unresolved),
        # as a close does, and takes the trigger after it, in the same order as a close.
        _lock_trigger(conn, triggerid)
    open_problem = _open_problem(conn, triggerid)
    if event.value == 1:
        if open_problem is not None:
            return UNCHANGED, open_problem
        return OPENED, _open(conn, triggerid, event, clock, paged, lifetime)
    if open_problem is not None and _lock_unresolved(conn, open_problem):
        return RESOLVED, resolve_problem(conn, open_problem, clock)
    return UNCHANGED, None


def ingest(conn: Db, events: list[Ingest], now: int, userid: int, super_admin: bool, lifetime: Lifetime) -> list[int]:
    """Apply event.create, each event in order (`ingest_one`); the ids it answers."""
    applied = [ingest_one(conn, event, now, userid, super_admin, lifetime)[1] for event in events]
    return [eventid for eventid in applied if eventid is not None]


def ingest_counting(
    conn: Db, events: list[Ingest], now: int, userid: int, super_admin: bool, lifetime: Lifetime
) -> dict[str, int]:
    """Apply events as event.create does, all or none; how many of them opened, resolved or left unchanged
    a problem (POST /hooks/alertmanager's answer).

    Raises:
        HostNotWritable: the caller may not write the host of an event.
    """
    counts = dict.fromkeys((OPENED, RESOLVED, UNCHANGED), 0)
    for index, event in enumerate(events):
        try:
            change, _ = ingest_one(conn, event, now, userid, super_admin, lifetime)
        except NotFound:
            raise HostNotWritable(index) from None
        counts[change] += 1
    return counts
