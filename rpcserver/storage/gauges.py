"""What GET /metrics reads of the database itself at each scrape (rpcserver/metrics.py reports it)."""

from __future__ import annotations

from typing import Any

from .engine import Db
from .spans import active_sql
from .webhooks import delivery_counts


def database_state(conn: Db, now: int) -> dict[str, Any]:
    """What /metrics reports of the database itself, read in one snapshot at each scrape."""
    # Counted on problem_3 alone (index only): its cost grows with the problems open, not with the
    # events stored; a count by severity would read every open problem's row as well (ten times as long).
    open_problems = conn.execute("SELECT count(*) FROM problem WHERE r_eventid IS NULL").fetchone()[0]
    active = conn.execute(
        f"SELECT count(*) FROM acknowledgement a WHERE a.end_recorded = 0 AND {active_sql('a')}", {"now": now}
    ).fetchone()[0]
    pending, failed = delivery_counts(conn)
    return {
        "open_problems": open_problems,
        "active_acknowledgements": active,
        "deliveries": {"pending": pending, "failed": failed},
    }
