"""Marshmallow schemas and fields as JSON Schema (draft 7), for the OpenRPC document of rpc.discover.

Our own fields describe what they accept themselves (`json_type`, beside the code that accepts it);
marshmallow's standard fields are described here. Nullability, defaults and descriptions are added
the same way for both: a field's `metadata` may carry a `description`, and `describe_as` (another
field) for a field whose checks live in its schema (e.g. event.acknowledge's `cause_eventid`).
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, missing

EMPTY_OBJECT = {"type": "object", "maxProperties": 0, "description": "{}: none (PHP reads it as an empty array)"}

_STANDARD: dict[type[fields.Field[Any]], dict[str, Any]] = {
    fields.String: {"type": "string"},
    fields.Integer: {"type": "integer"},
    fields.Float: {"type": "number"},
    fields.Boolean: {"type": "boolean"},
    fields.Raw: {},
}


def json_schema(described: Schema | type[Schema] | fields.Field[Any]) -> dict[str, Any]:
    """JSON Schema of a marshmallow schema (an object with exactly its fields) or of one field."""
    if isinstance(described, fields.Field):
        return _field(described)
    schema = described() if isinstance(described, type) else described
    properties = {field.data_key or name: _field(field) for name, field in schema.fields.items()}
    required = [field.data_key or name for name, field in schema.fields.items() if field.required]
    result: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        result["required"] = required
    result["additionalProperties"] = False
    return result


def _field(field: fields.Field[Any]) -> dict[str, Any]:
    if "describe_as" in field.metadata:
        return {**_field(field.metadata["describe_as"]), **_description(field)}
    schema = _type_of(field)
    if field.allow_none and any(key in schema for key in ("type", "anyOf", "enum")):  # else null is in already
        schema = {"anyOf": [schema, {"type": "null"}]}
    default = field.load_default
    if default is not missing and not callable(default) and default is not None:
        schema = {**schema, "default": default}
    return {**schema, **_description(field)}


def _description(field: fields.Field[Any]) -> dict[str, Any]:
    return {"description": field.metadata["description"]} if "description" in field.metadata else {}


def _type_of(field: fields.Field[Any]) -> dict[str, Any]:
    if hasattr(field, "json_type"):
        return dict(field.json_type())
    if isinstance(field, fields.Nested):
        return json_schema(field.schema)
    if isinstance(field, fields.List):
        return {"type": "array", "items": _field(field.inner)}
    if isinstance(field, fields.Dict):
        values = _field(field.value_field) if field.value_field is not None else {}
        return {"type": "object", "additionalProperties": values}
    for kind, schema in _STANDARD.items():
        if type(field) is kind:
            return dict(schema)
    raise TypeError(f"no JSON Schema for the field {field!r}")
