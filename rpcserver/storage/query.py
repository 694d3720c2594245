"""The SQL behind every `*.get`: one builder for output, id filters, `filter`, `search`,
sorting, `limit` and `countOutput`, over a table described by `ObjectTable`; rows come as dicts
(`select_objects`) or as objects the database writes in JSON (`select_json`), through its engine's
`json_object`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._sql import id_list, like_escaped, order_at
from .engine import Db, Engine


@dataclass(frozen=True)
class ObjectTable:
    source: str
    """FROM clause, e.g. `users u`."""
    key: str
    """Output name of the object's id, e.g. `userid`."""
    columns: Mapping[str, str]
    """Output field -> SQL expression, in output order."""
    id_filters: Mapping[str, str] = field(default_factory=dict)
    """Param (e.g. `usrgrpids`) -> condition with one `{ids}` placeholder for the id list."""
    nocase: frozenset[str] = frozenset()
    """Output fields of columns SQLite declares COLLATE NOCASE: sorted as SQLite
    sorts them on both stores."""


@dataclass
class GetQuery:
    output: str | list[str] = "extend"
    ids: dict[str, list[int]] = field(default_factory=dict)
    filter: dict[str, list[str]] = field(default_factory=dict)
    search: dict[str, list[str]] = field(default_factory=dict)
    search_by_any: bool = False
    start_search: bool = False
    exclude_search: bool = False
    search_wildcards: bool = False
    sortfield: list[str] = field(default_factory=list)
    sortorder: list[str] = field(default_factory=list)
    limit: int | None = None
    count: bool = False
    where: list[str] = field(default_factory=list)
    """Further conditions (permissions), with named parameters in `params`."""
    params: dict[str, Any] = field(default_factory=dict)


def _like_pattern(text: str, query: GetQuery) -> str:
    escaped = like_escaped(text)
    if query.search_wildcards:
        escaped = escaped.replace("*", "%")
    return escaped + "%" if query.start_search else f"%{escaped}%"


def _conditions(engine: Engine, table: ObjectTable, query: GetQuery) -> tuple[list[str], dict[str, Any]]:
    where = list(query.where)
    params = dict(query.params)
    for name, ids in query.ids.items():
        where.append(table.id_filters[name].format(ids=id_list(ids)))
    for n, (name, values) in enumerate(query.filter.items()):
        keys = [f"f{n}_{i}" for i in range(len(values))]
        params.update(zip(keys, values))
        where.append(f"CAST({table.columns[name]} AS TEXT) IN ({','.join(':' + k for k in keys)})")
    searches = []
    for n, (name, values) in enumerate(query.search.items()):
        for i, value in enumerate(values):
            key = f"s{n}_{i}"
            params[key] = _like_pattern(value, query)
            searches.append(engine.like(table.columns[name], key, negate=query.exclude_search))
    if searches:
        where.append("(" + (" OR " if query.search_by_any else " AND ").join(searches) + ")")
    return where, params


def text_sql(sql: str) -> str:
    """The SQL of `sql`'s value as a Zabbix get shows it, as methods/_get.py's `as_text` makes it in
    Python: text (as Python's str() writes an integer or text), NULL as "0". Made by the database, it
    costs a fraction of converting each value in Python. The same digits on both stores for an integer;
    a truth value must be made an integer first (PostgreSQL writes a boolean as 'true')."""
    return f"coalesce(CAST({sql} AS TEXT), '0')"


def select_objects(conn: Db, table: ObjectTable, query: GetQuery) -> list[dict[str, Any]] | int:
    """Rows as dicts of the requested fields (all of them for "extend") plus the key, or the
    number of rows for `count`. Values are as the database returns them; shaping is the caller's."""
    where_sql, params = _where(conn.engine, table, query)
    if query.count:
        return conn.execute(f"SELECT COUNT(*) FROM {table.source}{where_sql}", params).fetchone()[0]
    names = output_fields(table.columns, query.output, table.key)
    select = ", ".join(f"{table.columns[n]} AS {n}" for n in names)
    cursor = conn.execute(f"SELECT {select} FROM {table.source}{where_sql}{_order_and_limit(conn.engine, table, query)}", params)
    return [dict(zip(names, row)) for row in cursor]


def select_json(
    conn: Db, table: ObjectTable, query: GetQuery, members: Mapping[str, str], also: Sequence[str] = ()
) -> list[tuple[Any, ...]]:
    """Rows as (key as text, the object as JSON text, *the `also` expressions' values), the object made
    by the database: the requested fields as `text_sql` makes them (the key only when `output` names it or is
    "extend"), then `members` (name -> SQL of a JSON value). Not for `count`."""
    names = output_fields(table.columns, query.output, table.key)
    if query.output != "extend" and table.key not in query.output:
        names.remove(table.key)
    obj = json_object(conn.engine, {name: text_sql(table.columns[name]) for name in names}, members)
    where_sql, params = _where(conn.engine, table, query)
    # as text: psycopg would decode PostgreSQL's json; the object is sent as it is written
    select = ", ".join([text_sql(table.columns[table.key]), f"CAST({obj} AS TEXT)", *also])
    order = _order_and_limit(conn.engine, table, query)
    return conn.execute(f"SELECT {select} FROM {table.source}{where_sql}{order}", params).fetchall()


def json_object(engine: Engine, texts: Mapping[str, str], members: Mapping[str, str] = {}) -> str:
    """SQL of a JSON object: `texts` (name -> SQL of a text value) as strings, then `members` (name ->
    SQL of a JSON value: made by one of `engine`'s JSON functions, as both stores take any other text
    for a string), in that order."""
    return engine.json_object([*texts.items(), *members.items()])


def output_fields(columns: Mapping[str, str], output: str | Sequence[str], key: str | None = None) -> list[str]:
    """The fields of `columns` that `output` asks for ("extend": all of them), each once, in the order
    asked; `key`, when given, first and always (the caller drops it from what it shows if unasked)."""
    if output == "extend":
        return list(columns)
    asked = [name for name in dict.fromkeys(output) if name in columns and name != key]
    return [key, *asked] if key is not None else asked


def _where(engine: Engine, table: ObjectTable, query: GetQuery) -> tuple[str, dict[str, Any]]:
    where, params = _conditions(engine, table, query)
    return (f" WHERE {' AND '.join(where)}" if where else ""), params


def _order_and_limit(engine: Engine, table: ObjectTable, query: GetQuery) -> str:
    # No sortable field is ever NULL (where the stores would differ: SQLite puts NULLs first, PostgreSQL last).
    orders = [
        f"{engine.nocase_order(table.columns[name]) if name in table.nocase else table.columns[name]} {order_at(query.sortorder, i)}"
        for i, name in enumerate(query.sortfield)
    ]
    limit_sql = f" LIMIT {int(query.limit)}" if query.limit else ""
    return " ORDER BY " + ", ".join([*orders, table.columns[table.key]]) + limit_sql
