"""Small SQL-building helpers shared by the storage modules."""

from __future__ import annotations

from collections.abc import Iterable, Sequence, Sized
from typing import Any


def id_list(ids: Iterable[int]) -> str:
    """Ids as an SQL list literal for `IN (...)`; they are ints, so nothing needs quoting.
    No ids: a query of no rows, as PostgreSQL refuses an empty `IN ()` (`IN` then matches nothing and
    `NOT IN` everything, as SQLite's empty list does)."""
    return ",".join(str(int(i)) for i in ids) or "SELECT CAST(NULL AS BIGINT) WHERE 1=0"


def marks(values: Sized) -> str:
    """One `?` per value, for `IN (...)` with bound parameters."""
    return ",".join("?" * len(values))


def json_ids(ids: Iterable[int]) -> str:
    """Ids as one JSON array parameter, for `IN (SELECT value FROM json_each(?))`: one statement
    and one bound value however many ids there are."""
    return "[" + ",".join(map(str, map(int, ids))) + "]"  # json.dumps costs several times as much


def inserted_id(cursor: Any) -> int:
    """The id an `INSERT ... RETURNING <id>` wrote; the newest one when it wrote several (ids ascend,
    and neither database promises the order of returned rows)."""
    return max(row[0] for row in cursor.fetchall())


def like_escaped(text: str) -> str:
    """`text` for `LIKE ... ESCAPE '!'`: its `%`, `_` and `!` match only themselves."""
    return text.replace("!", "!!").replace("%", "!%").replace("_", "!_")


def order_at(sortorder: Sequence[str], index: int) -> str:
    """The order of the `index`-th sort field as Zabbix reads `sortorder`: by position, else its first
    value, else ascending."""
    if index < len(sortorder):
        return sortorder[index]
    return sortorder[0] if sortorder else "ASC"
