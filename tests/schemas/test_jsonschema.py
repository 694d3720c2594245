"""Each params field's JSON Schema (what rpc.discover tells clients) admits every value the field
itself accepts, and refuses typical values the field refuses; the converter for whole schemas."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft7Validator
from marshmallow import ValidationError, fields

from schemas._base import ZabbixSchema
from schemas._fields import Boolean, Filter, Flag, HostName, Id, Ids, Int32, Int32s, Output, String, Strings, TagFilters, Timestamp
from schemas._jsonschema import json_schema
from schemas.acknowledgement import AcknowledgedUntil
from schemas.hostgroup import HostGroupName
from schemas.role import MethodMasks
from schemas.user import TimeUnit, UserGroupRefs
from schemas.usergroup import HostGroupRight, Objects

FIELDS: dict[str, fields.Field] = {
    "Id": Id(),
    "Ids": Ids(),
    "Ids not empty, unique": Ids(not_empty=True, unique=True),
    "String": String(max_length=5, not_empty=True),
    "String choices": String(choices=("a", "b")),
    "Int32": Int32(),
    "Int32 choices": Int32(choices=(0, 1)),
    "Int32 range": Int32(low=1, high=5),
    "Boolean": Boolean(),
    "Flag": Flag(),
    "Strings": Strings(choices=("a", "b")),
    "Output": Output(("a", "x"), allow_count=True),
    "Filter": Filter(("a", "b")),
    "Timestamp": Timestamp(),
    "AcknowledgedUntil": AcknowledgedUntil(),
    "HostName": HostName(),
    "Int32s": Int32s(choices=(0, 1)),
    "TagFilters": TagFilters(),
    "TimeUnit": TimeUnit(low=90, high=86400),
    "MethodMasks": MethodMasks(),
    "HostGroupName": HostGroupName(),
    "Objects": Objects(HostGroupRight),
    "UserGroupRefs": UserGroupRefs(),
}

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**64), max_value=2**64),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=6),
    st.from_regex(r"\A-?[0-9]{1,12}[smhdw]?\Z"),
    st.sampled_from(["extend", "count", "a", "b", "x", "ASC", "*", "event.*", "Web servers", "a/b", "5m", "90"]),
)
keys = st.sampled_from(["a", "b", "x", "tag", "value", "operator", "id", "permission", "usrgrpid"])
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=3),
                           max_leaves=8)


def accepts(field: fields.Field, value: Any) -> bool:
    try:
        field.deserialize(value)
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize("name", FIELDS)
@settings(max_examples=150, deadline=None)
@given(value=json_values)
def test_what_a_field_accepts_its_schema_admits(name: str, value: Any) -> None:
    field = FIELDS[name]
    if accepts(field, value):
        assert Draft7Validator(json_schema(field)).is_valid(value), (name, value, json_schema(field))


@pytest.mark.parametrize(("name", "value"), [
    ("Id", -1), ("Id", "1a"), ("Id", 1.5), ("Id", True), ("Ids", [["1"]]), ("Ids not empty, unique", []),
    ("String", ""), ("String", "toolong"), ("String", 5), ("String choices", "c"),
    ("Int32", "1.0"), ("Int32", 2**31), ("Int32 choices", 2), ("Int32 range", 6),
    ("Boolean", "true"), ("Strings", "c"), ("Strings", [1]), ("Output", "all"), ("Output", ["b"]),
    ("Filter", {"c": 1}), ("Filter", [1]), ("Timestamp", -1), ("Timestamp", "1e3"), ("AcknowledgedUntil", "5x"),
    ("AcknowledgedUntil", -5), ("HostName", "a/b"), ("Int32s", [2]), ("TimeUnit", "5y"),
])
def test_a_schema_refuses_what_its_field_refuses(name: str, value: Any) -> None:
    assert not accepts(FIELDS[name], value)
    assert not Draft7Validator(json_schema(FIELDS[name])).is_valid(value)


def test_a_schema_becomes_a_closed_object_with_defaults_and_descriptions() -> None:
    class Sample(ZabbixSchema):
        eventid = Id(required=True, metadata={"description": "the event"})
        limit = Int32(low=1, high=10, allow_null=True, load_default=5)
        raw = fields.Raw(metadata={"describe_as": Timestamp()})

    schema = json_schema(Sample)
    assert schema["required"] == ["eventid"]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["eventid"]["description"] == "the event"
    assert schema["properties"]["limit"]["default"] == 5
    assert {"type": "null"} in schema["properties"]["limit"]["anyOf"]
    assert schema["properties"]["raw"]["title"] == "timestamp"
    validator = Draft7Validator(schema)
    assert validator.is_valid({"eventid": "7", "limit": None, "raw": 5})
    assert not validator.is_valid({"eventid": "7", "other": 1})
    assert not validator.is_valid({"limit": 5})


def test_a_field_without_a_description_is_refused_loudly() -> None:
    with pytest.raises(TypeError, match="no JSON Schema"):
        json_schema(fields.Email())
