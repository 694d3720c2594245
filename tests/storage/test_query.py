"""Objects written as JSON by SQLite (`query.select_json`, `query.json_object`) and sent as they are
(`methods._get.json_result`): what event.get and problem.get answer with, on a real SQLite file."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from methods._get import json_result
from rpcserver.storage.query import GetQuery, ObjectTable, select_json

ITEMS = ObjectTable(
    source="item i",
    key="itemid",
    columns={"itemid": "i.itemid", "name": "i.name", "size": "i.size", "parentid": "i.parentid"},
    id_filters={"itemids": "i.itemid IN ({ids})"},
)
AWKWARD = 'quote " backslash \\ newline \n tab \t control \x01 emoji \U0001f600 accent é'
NOTES = (
    "json((SELECT json_group_array(json(o)) FROM"
    " (SELECT json_object('text', n.text) AS o FROM note n WHERE n.itemid = i.itemid ORDER BY n.noteid DESC)))"
)


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    db = sqlite3.connect(tmp_path / "query.db")
    db.executescript("""
        CREATE TABLE item (itemid INTEGER PRIMARY KEY, name TEXT NOT NULL, size INTEGER, parentid INTEGER);
        CREATE TABLE note (noteid INTEGER PRIMARY KEY, itemid INTEGER NOT NULL, text TEXT NOT NULL);
    """)
    db.executemany("INSERT INTO item VALUES (?, ?, ?, ?)", [(1, "first", 10, None), (2, AWKWARD, None, 1), (3, "third", 0, 1)])
    db.executemany("INSERT INTO note (itemid, text) VALUES (?, ?)", [(2, "older"), (2, "newer"), (3, "only")])
    yield db
    db.close()


def objects(rows: list[tuple[Any, ...]]) -> list[Any]:
    return [orjson.loads(obj) for _, obj, *_ in rows]


def test_extend_gives_every_field_as_text_and_null_as_zero(conn: sqlite3.Connection) -> None:
    rows = select_json(conn, ITEMS, GetQuery(sortfield=["itemid"]), {})
    assert [key for key, _ in rows] == ["1", "2", "3"]
    assert objects(rows) == [
        {"itemid": "1", "name": "first", "size": "10", "parentid": "0"},
        {"itemid": "2", "name": AWKWARD, "size": "0", "parentid": "1"},
        {"itemid": "3", "name": "third", "size": "0", "parentid": "1"},
    ]


def test_output_names_the_fields_once_and_the_key_only_when_asked(conn: sqlite3.Connection) -> None:
    rows = select_json(conn, ITEMS, GetQuery(output=["name", "size", "name"], ids={"itemids": [1]}), {})
    assert rows[0][0] == "1"
    assert rows[0][1] == '{"name":"first","size":"10"}'  # no duplicate member, no itemid
    # asked for, the key comes first, as Zabbix selects it
    assert select_json(conn, ITEMS, GetQuery(output=["size", "itemid"], ids={"itemids": [1]}), {})[0][1] == '{"itemid":"1","size":"10"}'


def test_members_are_json_values_in_the_order_the_subquery_gives(conn: sqlite3.Connection) -> None:
    members = {"notes": NOTES, "links": "json_array()"}
    rows = select_json(conn, ITEMS, GetQuery(output=["name"], sortfield=["itemid"], sortorder=["DESC"]), members)
    assert objects(rows) == [
        {"name": "third", "notes": [{"text": "only"}], "links": []},
        {"name": AWKWARD, "notes": [{"text": "newer"}, {"text": "older"}], "links": []},
        {"name": "first", "notes": [], "links": []},
    ]


def test_also_brings_raw_values_beside_the_object(conn: sqlite3.Connection) -> None:
    rows = select_json(conn, ITEMS, GetQuery(output=["name"], limit=2, sortfield=["itemid"]), {}, also=["i.size"])
    assert [(key, extra) for key, _, extra in rows] == [("1", 10), ("2", None)]


def test_json_result_is_an_array_or_keyed_by_id(conn: sqlite3.Connection) -> None:
    rows = select_json(conn, ITEMS, GetQuery(output=["size"], sortfield=["itemid"]), {})
    assert orjson.loads(orjson.dumps(json_result(rows, preservekeys=False))) == [{"size": "10"}, {"size": "0"}, {"size": "0"}]
    assert orjson.loads(orjson.dumps({"result": json_result(rows, preservekeys=True)})) == {
        "result": {"1": {"size": "10"}, "2": {"size": "0"}, "3": {"size": "0"}}
    }
    assert orjson.loads(orjson.dumps(json_result([], preservekeys=True))) == {}
    assert orjson.loads(orjson.dumps(json_result([], preservekeys=False))) == []
