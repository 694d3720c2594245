"""SQL of webhooks out (API.md §10): the webhooks, the outbox of their deliveries, and its lease.

Every history row on a problem (`acknowledges`) is delivered to each webhook that wants one of its
kinds. `enqueue` writes the deliveries in the unit of work that writes the rows, so a change and its
deliveries commit (or roll back, a dry run too) together. The one process holding the lease
(`claim_lease`) takes the head of each (webhook, problem) chain that is due (`due_heads`) and records
the outcome of each attempt (`record_attempt`): a chain's next delivery waits until its head has
succeeded or been given up, which keeps the order per problem.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from ..domain.acknowledge import ACKNOWLEDGE, CLOSE, MESSAGE, SEVERITY, SUPPRESS, UNACKNOWLEDGE, UNSUPPRESS
from ..domain.errors import NotFound
from ._sql import id_list, inserted_id, json_ids
from .engine import Db
from .query import GetQuery, ObjectTable, select_objects

KINDS = ("acknowledged", "unacknowledged", "message", "closed", "severity", "suppressed", "unsuppressed", "expired")
"""The event kinds a webhook may ask for; `webhook.events` holds a bit per kind, in this order."""
ALL_KINDS = (1 << len(KINDS)) - 1

PRECEDENCE = (
    (CLOSE, "closed"), (ACKNOWLEDGE, "acknowledged"), (UNACKNOWLEDGE, "unacknowledged"), (SEVERITY, "severity"),
    (SUPPRESS, "suppressed"), (UNSUPPRESS, "unsuppressed"), (MESSAGE, "message"),
)
"""A history row may carry several actions but is one delivery: its `event` is the first kind here
that it carries (a row closing with a message is "closed")."""

RETRY_HOURS = 24
LEASE = "deliveries"

HistoryRow = tuple[int, int, int, str, int]
"""(userid, eventid, clock, message, action), as `spans.write_history` takes them."""


def kind_bits(kinds: Iterable[str]) -> int:
    return sum(1 << KINDS.index(kind) for kind in set(kinds))


def kinds_of(bits: int) -> list[str]:
    return [kind for index, kind in enumerate(KINDS) if bits & 1 << index]


def row_kinds(action: int, *, expired: bool = False) -> list[str]:
    """The kinds a history row carries, the one it is delivered as first. An action-16 row written
    because a span's end arrived (the expiry sweep) is "expired"; one a caller made is "unacknowledged"."""
    if expired:
        return ["expired"]
    return [kind for bit, kind in PRECEDENCE if action & bit]


def now_ms() -> int:
    """The deliveries' clock: the wall clock, shared by every process (not the calls' injectable one)."""
    return int(time.time() * 1000)


# --- webhook.create/get/update/delete ---------------------------------------------------------


@dataclass(frozen=True)
class WebhookChange:
    url: str | None = None
    events: list[str] | None = None
    secret: str | None = None


WEBHOOKS = ObjectTable(
    source="webhook w",
    key="webhookid",
    columns={
        "webhookid": "w.webhookid",
        "url": "w.url",
        "events": "w.events",
        "last_status": "w.last_status",
        "last_error": "w.last_error",
        "pending": "(SELECT count(*) FROM webhook_delivery d WHERE d.webhookid = w.webhookid)",
        "failed": "w.failed",
    },
    id_filters={"webhookids": "w.webhookid IN ({ids})"},
)


def create_webhooks(conn: Db, webhooks: Sequence[WebhookChange]) -> list[int]:
    return [inserted_id(conn.execute(
        "INSERT INTO webhook (url, events, secret) VALUES (?, ?, ?) RETURNING webhookid",
        (webhook.url, kind_bits(webhook.events or KINDS), webhook.secret or ""),
    )) for webhook in webhooks]


def update_webhooks(conn: Db, changes: dict[int, WebhookChange]) -> None:
    _require(conn, list(changes))
    for webhookid, change in changes.items():
        conn.execute(
            "UPDATE webhook SET url = coalesce(?, url), events = coalesce(?, events), secret = coalesce(?, secret)"
            " WHERE webhookid = ?",
            (change.url, None if change.events is None else kind_bits(change.events), change.secret, webhookid),
        )


def delete_webhooks(conn: Db, webhookids: Sequence[int]) -> None:
    """Delete the webhooks and their pending deliveries."""
    _require(conn, webhookids)
    conn.execute(f"DELETE FROM webhook WHERE webhookid IN ({id_list(webhookids)})")


def _require(conn: Db, webhookids: Sequence[int]) -> None:
    found = conn.execute(f"SELECT count(*) FROM webhook WHERE webhookid IN ({id_list(webhookids)})").fetchone()[0]
    if found != len(set(webhookids)):
        raise NotFound()


def select_webhooks(conn: Db, query: GetQuery) -> list[dict[str, Any]] | int:
    """webhook.get's rows, `events` as kind names; the secret is never read."""
    rows = select_objects(conn, WEBHOOKS, query)
    if isinstance(rows, list):
        for row in rows:
            if "events" in row:
                row["events"] = kinds_of(row["events"])
    return rows


def delivery_counts(conn: Db) -> tuple[int, int]:
    """(deliveries pending, deliveries given up) over every webhook: for metrics, two cheap counts."""
    pending = conn.execute("SELECT count(*) FROM webhook_delivery").fetchone()[0]
    failed = conn.execute("SELECT coalesce(sum(failed), 0) FROM webhook").fetchone()[0]
    return int(pending), int(failed)


# --- the outbox -------------------------------------------------------------------------------


def enqueue(conn: Db, rows: Sequence[HistoryRow], now: int, *, expired: bool = False) -> None:
    """Write a delivery of each history row to each webhook wanting one of its kinds, in the rows'
    order (so per problem). Runs in the unit that wrote the rows, after their effects: the body's
    `problem` is the problem as the change left it."""
    if not rows:
        return
    webhooks = conn.execute("SELECT webhookid, events FROM webhook ORDER BY webhookid").fetchall()
    if not webhooks:
        return
    from .spans import acknowledged_sql  # spans writes history through here

    eventids = sorted({row[1] for row in rows})
    userids = sorted({row[0] for row in rows})
    problems = {
        eventid: {"eventid": str(eventid), "name": name, "host": host, "severity": severity, "acknowledged": bool(ack)}
        for eventid, name, host, severity, ack in conn.execute(
            f"SELECT e.eventid, e.name, coalesce(h.host, ''), e.severity, {acknowledged_sql('e')}"
            " FROM events e LEFT JOIN triggers t ON t.triggerid = e.objectid LEFT JOIN hosts h ON h.hostid = t.hostid"
            f" WHERE e.eventid IN (SELECT value FROM {conn.engine.ids('ids')})",
            {"ids": json_ids(eventids), "now": now},
        )
    }
    usernames = dict(conn.execute(f"SELECT userid, username FROM users WHERE userid IN ({id_list(userids)})").fetchall())
    created = now_ms()
    deliveries = []
    for userid, eventid, clock, message, action in rows:
        kinds = row_kinds(action, expired=expired)
        wanted = kind_bits(kinds)
        matching = [webhookid for webhookid, events in webhooks if events & wanted]
        if not matching:
            continue
        body = orjson.dumps({
            "event": kinds[0], "eventid": str(eventid), "clock": clock, "userid": str(userid),
            "username": usernames.get(userid, ""), "message": message, "action": action, "problem": problems[eventid],
        }).decode()
        deliveries += [(webhookid, eventid, str(uuid.uuid4()), body, created, created) for webhookid in matching]
    conn.executemany(
        "INSERT INTO webhook_delivery (webhookid, eventid, uuid, body, created_ms, next_attempt_ms) VALUES (?, ?, ?, ?, ?, ?)",
        deliveries,
    )


# --- delivering ---------------------------------------------------------------------------------


def claim_lease(conn: Db, holder: str, now: int, lease_ms: int) -> bool:
    """Take (or keep) the delivering lease until `now` + `lease_ms`, unless another holder's is still
    running. One statement, which the database settles when two processes claim at once; the row is
    made by the first claim (so a copy or an emptied database needs none)."""
    return bool(conn.execute(
        "INSERT INTO webhook_lease (name, holder, expires_ms) VALUES (:name, :holder, :until)"
        " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_ms = excluded.expires_ms"
        " WHERE webhook_lease.holder = excluded.holder OR webhook_lease.expires_ms <= :now",
        {"name": LEASE, "holder": holder, "until": now + lease_ms, "now": now},
    ).rowcount)


def release_lease(conn: Db, holder: str) -> None:
    """Give the lease up (on shutdown), so another process takes over at once."""
    conn.execute("UPDATE webhook_lease SET expires_ms = 0 WHERE name = ? AND holder = ?", (LEASE, holder))


def lease_expiry(conn: Db, holder: str) -> int | None:
    """When the running lease of another holder ends; None when it is free or ours."""
    row = conn.execute("SELECT holder, expires_ms FROM webhook_lease WHERE name = ?", (LEASE,)).fetchone()
    return None if row is None or row[0] == holder else int(row[1])


@dataclass(frozen=True)
class Delivery:
    deliveryid: int
    webhookid: int
    eventid: int
    uuid: str
    body: str
    attempts: int
    created_ms: int
    url: str
    secret: str


def due_heads(conn: Db, now: int, busy_deliveries: Sequence[int], busy_webhooks: Sequence[int],
              limit: int) -> list[Delivery]:
    """The first delivery of each (webhook, problem) chain, when it is due: not those being attempted
    (`busy_deliveries`), nor any of a webhook with as many attempts running as it may have."""
    rows = conn.execute(
        "SELECT d.deliveryid, d.webhookid, d.eventid, d.uuid, d.body, d.attempts, d.created_ms, w.url, w.secret"
        " FROM webhook_delivery d JOIN webhook w ON w.webhookid = d.webhookid"
        " WHERE d.next_attempt_ms <= :now"
        f" AND d.deliveryid NOT IN ({id_list(busy_deliveries)}) AND d.webhookid NOT IN ({id_list(busy_webhooks)})"
        " AND NOT EXISTS (SELECT 1 FROM webhook_delivery p"
        "  WHERE p.webhookid = d.webhookid AND p.eventid = d.eventid AND p.deliveryid < d.deliveryid)"
        " ORDER BY d.deliveryid LIMIT :limit",
        {"now": now, "limit": limit},
    ).fetchall()
    return [Delivery(*row) for row in rows]


def next_due(conn: Db) -> int | None:
    """When the earliest delivery is due (ms), or None: the outbox is empty."""
    value = conn.execute("SELECT min(next_attempt_ms) FROM webhook_delivery").fetchone()[0]
    return None if value is None else int(value)


def record_attempt(conn: Db, delivery: Delivery, status: int | None, error: str, retry_in_ms: int, now: int) -> None:
    """The outcome of one attempt: delivered (no `error`) or given up after `RETRY_HOURS`, the
    delivery leaves the outbox; otherwise it is tried again in `retry_in_ms`. The webhook shows it."""
    given_up = bool(error) and now - delivery.created_ms >= RETRY_HOURS * 3_600_000
    if error and not given_up:
        conn.execute("UPDATE webhook_delivery SET attempts = attempts + 1, next_attempt_ms = ? WHERE deliveryid = ?",
                     (now + retry_in_ms, delivery.deliveryid))
    else:
        conn.execute("DELETE FROM webhook_delivery WHERE deliveryid = ?", (delivery.deliveryid,))
    conn.execute("UPDATE webhook SET last_status = ?, last_error = ?, failed = failed + ? WHERE webhookid = ?",
                 (status, error, int(given_up), delivery.webhookid))
