"""The Markdown reference: types read as short phrases, every method gets its entry and its row."""

from __future__ import annotations

from typing import Any

import pytest

from methods.rpc import document
from rpcserver.reference import markdown, method_tables, type_of
from schemas._fields import Id, Ids, Int32, String, Strings, Timestamp
from schemas._jsonschema import json_schema


@pytest.mark.parametrize(("field", "phrase"), [
    (Int32(), "integer"),
    (Int32(low=1, high=5), "integer 1-5"),
    (Int32(choices=(0, 1)), "0 or 1"),
    (Id(), "id"),
    (Ids(), "ids"),
    (Timestamp(allow_null=True), "timestamp or null"),
    (String(max_length=255, not_empty=True), "string (not empty, ≤ 255 characters)"),
    (Strings(choices=("ASC", "DESC")), '"ASC" or "DESC", or an array of them'),
])
def test_a_type_reads_as_a_short_phrase(field: Any, phrase: str) -> None:
    assert type_of(json_schema(field)) == phrase


def test_every_method_has_its_entry_and_its_row() -> None:
    reference = markdown(document())
    tables = method_tables(document())
    for method in document()["methods"]:
        assert f"\n### {method['name']}\n\n{method['summary']}\n" in reference
        assert f"| [`{method['name']}`](docs/api.md#{method['name'].lower().replace('.', '')}) |" in tables
