"""The schema base: marshmallow's collected errors become Zabbix's first error."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

import schemas
from rpcserver.errors import InvalidParams
from schemas._base import ZabbixSchema, _plain, field_messages, first_error
from schemas._fields import Flag, Int32


class Sample(ZabbixSchema):
    eventids = fields.List(fields.Integer(strict=True, error_messages={"invalid": "a number is expected"}),
                           required=True, error_messages=field_messages(invalid="an array is expected"))
    action = fields.Integer(strict=True, required=True, error_messages=field_messages(invalid="an integer is expected"))
    message = fields.String(error_messages={"invalid": "a character string is expected"})

    @validates_schema
    def message_needs_action(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("message") == "" and data["action"] & 4:
            raise ValidationError("cannot be empty")


def error(params: Any) -> str:
    with pytest.raises(InvalidParams) as info:
        Sample().load_params(params)
    return info.value.data


def test_valid_params_load() -> None:
    assert Sample().load_params({"eventids": [1, 2], "action": 6, "message": "x"}) == {"eventids": [1, 2], "action": 6, "message": "x"}


def test_unknown_keys_come_first_in_the_order_sent() -> None:
    assert error({"zzz": 1, "eventids": "bad", "aaa": 2}) == 'Invalid parameter "/": unexpected parameter "zzz".'


def test_fields_are_reported_in_declared_order() -> None:
    assert error({"message": 5, "action": "x"}) == 'Invalid parameter "/": the parameter "eventids" is missing.'
    assert error({"message": 5, "action": "x", "eventids": []}) == 'Invalid parameter "/action": an integer is expected.'
    assert error({"message": 5, "action": 1, "eventids": []}) == 'Invalid parameter "/message": a character string is expected.'


def test_list_positions_are_one_based() -> None:
    assert error({"eventids": [1, 2, "x"], "action": 1}) == 'Invalid parameter "/eventids/3": a number is expected.'


def test_schema_level_errors_name_the_root() -> None:
    assert error({"eventids": [], "action": 4, "message": ""}) == 'Invalid parameter "/": cannot be empty.'


def test_a_list_of_params_is_seen_as_keys_0_1_2() -> None:
    assert error(["a"]) == 'Invalid parameter "/": unexpected parameter "0".'
    assert error([]) == 'Invalid parameter "/": the parameter "eventids" is missing.'


def test_first_error_walks_nested_messages() -> None:
    assert first_error({"tags": {0: {"value": ["value is too long"]}}}).data == 'Invalid parameter "/tags/1/value": value is too long.'


class Lean(ZabbixSchema):
    """No hooks: optional fields with defaults are loaded only when sent (the lean path)."""

    ids = fields.List(fields.Integer(strict=True, error_messages={"invalid": "a number is expected"}), load_default=list)
    name = fields.String(required=True, error_messages=field_messages(invalid="a character string is expected"))
    limit = fields.Integer(strict=True, allow_none=True, load_default=None, error_messages={"invalid": "an integer is expected"})
    sort = fields.String(data_key="sortfield", attribute="sort_by", load_default="id")
    plain = fields.String()
    tags = fields.List(fields.Nested(Sample), load_default=list)
    size = fields.Integer(strict=True, validate=[validate.Range(min=1, max=9), validate.OneOf([1, 2, 3, 5])], load_default=1)
    code = fields.String(validate=validate.Length(max=3), allow_none=True, load_default=None)
    trimmed = fields.String(pre_load=lambda value: value.strip() if isinstance(value, str) else value,
                            validate=validate.Length(min=1), load_default="")


LEAN_PARAMS = [
    {},
    {"limit": 5},
    {"name": "a"},
    {"name": "a", "limit": 5, "ids": [3]},
    {"sortfield": "x", "name": "b", "plain": "p"},
    {"tags": [{"eventids": [1], "action": 1}], "name": "c"},
    {"name": "a", "limit": "x"},
    {"limit": "x", "ids": ["y"]},
    {"ids": [1, "y"], "name": 3},
    {"name": "a", "tags": [{"action": 1}]},
    {"name": "a", "tags": [{"eventids": [], "action": 4, "message": ""}]},
    # validators: every one passes, the second refuses, the first refuses; null where allowed and not
    {"name": "a", "size": 5, "code": "ab"},
    {"name": "a", "size": 4},
    {"name": "a", "size": 0},
    {"name": "a", "code": None},
    {"name": "a", "code": "abcd"},
    {"name": None},
    {"name": "a", "size": None},
    # a field's own pre-load function (not a plain field): applied before its validator
    {"name": "a", "trimmed": "  x "},
    {"name": "a", "trimmed": "   "},
]


def marshmallows_own(params: dict[str, Any]) -> Any:
    """What marshmallow's full load gives (every field visited): the loaded dict or the Zabbix error."""
    try:
        return Schema.load(Lean(), params)
    except ValidationError as exc:
        return first_error(exc.messages).data


@pytest.mark.parametrize("params", LEAN_PARAMS)
def test_the_lean_path_loads_and_refuses_as_marshmallows_own_load(params: dict[str, Any]) -> None:
    try:
        loaded: Any = Lean().load_params(params)
    except InvalidParams as exc:
        loaded = exc.data
    expected = marshmallows_own(params)
    assert loaded == expected
    if isinstance(expected, dict):
        assert list(loaded) == list(expected)  # declared order, as marshmallow's


def test_plain_fields_are_those_whose_class_and_options_change_no_step_of_marshmallows_deserialize() -> None:
    fields_of = Lean().load_fields
    assert _plain(fields_of["size"]) and _plain(fields_of["name"]) and _plain(Int32())
    assert not _plain(fields_of["trimmed"])  # a pre-load function
    assert not _plain(Flag())  # its own deserialize
    assert not _plain(fields.String(post_load=[str.upper]))


def test_lean_defaults_are_fresh_per_load() -> None:
    schema = Lean()
    first = schema.load_params({"name": "a"})
    first["ids"].append(1)
    assert schema.load_params({"name": "a"})["ids"] == []


def test_a_nested_schema_still_refuses_its_missing_required_fields() -> None:
    with pytest.raises(InvalidParams) as info:
        Lean().load_params({"name": "a", "tags": [{"action": 1}]})
    assert info.value.data == 'Invalid parameter "/tags/1": the parameter "eventids" is missing.'


def every_params_schema() -> list[type[ZabbixSchema]]:
    """Every ZabbixSchema of the API's methods that takes the lean path (no marshmallow hooks)."""
    for module in pkgutil.iter_modules(schemas.__path__):
        importlib.import_module(f"schemas.{module.name}")
    found, pending = [], list(ZabbixSchema.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.startswith("schemas.") and cls()._lean:
            found.append(cls)
    return sorted(found, key=lambda cls: (cls.__module__, cls.__qualname__))


JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**64), 2**64), st.sampled_from(["", "0", "1", "12", "-3", "extend", "x" * 300]),
    st.text(max_size=8),
)
JSON_VALUES = st.recursive(JSON_SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
    st.sampled_from(["eventids", "value", "tag", "name", "0"]), inner, max_size=3), max_leaves=8)


def loaded_or_refused(load: Any, params: dict[str, Any]) -> Any:
    try:
        return load(params)
    except InvalidParams as exc:
        return exc.data


@pytest.mark.parametrize("schema_class", every_params_schema(), ids=lambda cls: cls.__qualname__)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_params_schema_loads_and_refuses_as_marshmallows_own_load(schema_class: type[ZabbixSchema], data: Any) -> None:
    """The lean path (field by field, marshmallow's collecting only for a refusal) against marshmallow's
    full load, on params of the schema's own keys with JSON values of every kind."""
    schema, full = schema_class(), schema_class()
    full._lean = False  # load_params through marshmallow's own load of every field
    keys = sorted(schema._known)
    params = data.draw(st.dictionaries(st.sampled_from(keys), JSON_VALUES, max_size=len(keys)) if keys else st.just({}))
    lean = loaded_or_refused(schema.load_params, params)
    assert lean == loaded_or_refused(full.load_params, params)
    if isinstance(lean, dict):
        assert list(lean) == list(loaded_or_refused(full.load_params, params))
