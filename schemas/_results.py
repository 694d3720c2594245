"""Result shapes many methods share, as marshmallow fields that rpc.discover describes.

Zabbix-family objects carry every value as a string; a `*.get` answers a list of them, a count
(`countOutput`) or an object keyed by id (`preservekeys`); writes answer the ids they touched.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from marshmallow import Schema, fields

from ._jsonschema import json_schema


def epoch(description: str, **kwargs: Any) -> fields.Integer:
    """A time in epoch seconds, as the incident and acknowledgement families answer it."""
    return fields.Integer(metadata={"description": description}, **kwargs)


def ids_result(key: str) -> fields.Nested:
    """`{"<key>": ["<id>", ...]}`: the ids a create, update or delete touched, as strings."""
    return fields.Nested(Schema.from_dict({key: fields.List(fields.String(), required=True)}, name=f"{key}Result")())


def strings_object(name: str, columns: Iterable[str], **extra: fields.Field[Any]) -> type[Schema]:
    """A Zabbix object: `columns` as strings, plus `extra` (selected lists and objects)."""
    declared: dict[str, fields.Field[Any]] = {column: fields.String() for column in columns}
    return Schema.from_dict({**declared, **extra}, name=name)


class GetResult(fields.Field[Any]):
    """A `*.get` answer: the objects, their count as a string (countOutput), or keyed by id (preservekeys)."""

    def __init__(self, schema: type[Schema] | Schema, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.schema = schema

    def json_type(self) -> dict[str, Any]:
        one = json_schema(self.schema)
        return {
            "title": "get result",
            "description": "the objects; with countOutput, how many (a string); with preservekeys, keyed by id",
            "anyOf": [
                {"type": "array", "items": one},
                {"type": "string", "pattern": "^[0-9]+$", "description": "with countOutput: how many"},
                {"type": "object", "additionalProperties": one, "description": "with preservekeys: keyed by id"},
            ]
        }


def list_of(schema: type[Schema]) -> fields.List[Any]:
    return fields.List(fields.Nested(schema))


class AnyOf(fields.Field[Any]):
    """A result value of one of several shapes, each a field or a schema."""

    def __init__(self, *shapes: fields.Field[Any] | type[Schema], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.shapes = shapes

    def json_type(self) -> dict[str, Any]:
        return {"anyOf": [json_schema(shape) for shape in self.shapes]}


class EmptyArray(fields.Field[Any]):
    """`[]` where an object was asked for and there is none, as Zabbix answers (PHP's empty array)."""

    def json_type(self) -> dict[str, Any]:
        return {"type": "array", "maxItems": 0}
