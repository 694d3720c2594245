"""Turning loaded get params into a query, and rows into Zabbix's result shape."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from rpcserver.storage.query import GetQuery


def get_query(params: dict[str, Any], id_params: Sequence[str]) -> GetQuery:
    return GetQuery(
        output=params["output"],
        ids={name: params[name] for name in id_params if params.get(name) is not None},
        filter=params.get("filter") or {},
        search=params.get("search") or {},
        search_by_any=params["searchByAny"],
        start_search=params["startSearch"],
        exclude_search=params["excludeSearch"],
        search_wildcards=params["searchWildcardsEnabled"],
        sortfield=params["sortfield"],
        sortorder=params["sortorder"],
        limit=params["limit"],
        count=params["countOutput"],
    )


def as_text(value: Any) -> Any:
    """Zabbix's get results are strings; a NULL id is "0". Lists and objects pass through."""
    if value is None:
        return "0"
    if isinstance(value, (list, dict, str)):
        return value
    return str(value)


def shape(rows: list[dict[str, Any]] | int, params: dict[str, Any], key: str) -> Any:
    """Strings everywhere; the count as a string; keyed by id with `preservekeys`. As in 7.0,
    the id itself is only in the objects when `output` asks for it (or is "extend")."""
    if isinstance(rows, int):
        return str(rows)
    objects = [{name: as_text(value) for name, value in row.items()} for row in rows]
    keys = [obj[key] for obj in objects]
    output = params.get("output", "extend")
    if isinstance(output, list) and key not in output:
        for obj in objects:
            del obj[key]
    if params.get("preservekeys"):
        return dict(zip(keys, objects))
    return objects


def json_result(rows: list[tuple[str, str]], preservekeys: bool) -> orjson.Fragment:
    """The answer from objects SQLite wrote as JSON, as (id, object) rows: an array, or keyed by id
    with `preservekeys`; the JSON is sent as it is, never decoded here."""
    if preservekeys:
        return orjson.Fragment("{" + ",".join(f'"{key}":{obj}' for key, obj in rows) + "}")  # ids: digits only
    return orjson.Fragment("[" + ",".join(obj for _, obj in rows) + "]")
