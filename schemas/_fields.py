"""Zabbix's parameter types as marshmallow fields, each refusing bad input with Zabbix's reason.

The reasons are CApiInputValidator's ("a number is expected", "value is too long", ...);
`schemas._base` turns them into `Invalid parameter "/path": <reason>.`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from marshmallow import ValidationError, fields

from ._base import MISSING, UNEXPECTED, ZabbixSchema, first_error
from ._jsonschema import EMPTY_OBJECT, json_schema

MAX_ID = 2**63 - 1
MAX_INT32 = 2**31 - 1

ID_SCHEMA = {
    "title": "id",
    "description": "an object's id: a number or a string of digits",
    "anyOf": [{"type": "integer", "minimum": 0, "maximum": MAX_ID}, {"type": "string", "pattern": "^[0-9]+$"}],
}
TIMESTAMP_SCHEMA = {
    "title": "timestamp",
    "description": "epoch seconds: a number or a string of digits",
    "anyOf": [{"type": "integer", "minimum": 0, "maximum": MAX_INT32}, {"type": "string", "pattern": "^[0-9]+$"}],
}


def one_of(values: Iterable[Any]) -> str:
    """Zabbix's "value must be ..." reason for a set of allowed values."""
    shown = [f'"{v}"' if isinstance(v, str) else str(v) for v in values]
    return f"value must be {shown[0]}" if len(shown) == 1 else f"value must be one of {', '.join(shown)}"


def one_of_range(low: int, high: int) -> str:
    return f"value must be one of {low}-{high}"


class ZField(fields.Field[Any]):
    """Base: `required` gives Zabbix's "is missing", null is refused as a wrong type unless allowed."""

    type_reason = "a character string is expected"

    def __init__(self, *, allow_null: bool = False, **kwargs: Any) -> None:
        messages = {"required": MISSING, "null": self.type_reason, **kwargs.pop("error_messages", {})}
        super().__init__(allow_none=allow_null, error_messages=messages, **kwargs)


def _digits_to_int(digits: str, too_large: str) -> int:
    """int() of a string of digits, refusing ones far too long to be a number Zabbix takes (Python
    also refuses to convert more than 4300 digits)."""
    sign = "-" if digits.startswith("-") else ""
    significant = digits.removeprefix("-").lstrip("0")
    if len(significant) > 20:
        raise ValidationError(too_large)
    return int(sign + (significant or "0"))


def parse_id(value: Any) -> int:
    """An id as Zabbix takes it: a non-negative int or a string of digits."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValidationError("a number is expected")
    if isinstance(value, str) and not (value.isascii() and value.isdigit()):
        raise ValidationError("a number is expected")
    number = _digits_to_int(value, "a number is too large") if isinstance(value, str) else value
    if number < 0:
        raise ValidationError("a number is expected")
    if number > MAX_ID:
        raise ValidationError("a number is too large")
    return number


class Id(ZField):
    type_reason = "a number is expected"

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        return parse_id(value)

    def json_type(self) -> dict[str, Any]:
        return ID_SCHEMA


T = TypeVar("T")


def load_items(values: list[Any], load: Callable[[Any], T], *, unique: bool = True) -> list[T]:
    """Each of `values` loaded by `load`; an item that fails, or (`unique`) that loads to a value
    loaded before it, is refused at its index (Zabbix's `value (x) already exists`)."""
    loaded: list[T] = []
    for index, item in enumerate(values):
        try:
            value = load(item)
        except ValidationError as exc:
            raise ValidationError({index: exc.messages}) from None
        if unique and value in loaded:
            raise ValidationError({index: [f"value ({item}) already exists"]})
        loaded.append(value)
    return loaded


class Ids(ZField):
    """One id or an array of ids (API_IDS with NORMALIZE); loads as a list of ints."""

    type_reason = "an array is expected"

    def __init__(self, *, not_empty: bool = False, unique: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.not_empty = not_empty
        self.unique = unique

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[int]:
        if isinstance(value, (int, str)) and not isinstance(value, bool):
            value = [value]
        if not isinstance(value, list):
            raise ValidationError(self.type_reason)
        if self.not_empty and not value:
            raise ValidationError("cannot be empty")
        return load_items(value, parse_id, unique=self.unique)

    def json_type(self) -> dict[str, Any]:
        array: dict[str, Any] = {"type": "array", "items": ID_SCHEMA}
        if self.not_empty:
            array["minItems"] = 1
        if self.unique:
            array["uniqueItems"] = True
        return {"title": "ids", "description": "one id or an array of ids", "anyOf": [ID_SCHEMA, array]}


class String(ZField):
    def __init__(
        self, *, max_length: int | None = None, not_empty: bool = False, choices: Sequence[str] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.max_length = max_length
        self.not_empty = not_empty
        self.choices = choices

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if not isinstance(value, str):
            raise ValidationError(self.type_reason)
        if self.not_empty and value == "":
            raise ValidationError("cannot be empty")
        if self.max_length is not None and len(value) > self.max_length:
            raise ValidationError("value is too long")
        if self.choices is not None and value not in self.choices:
            raise ValidationError(one_of(self.choices))
        return value

    def json_type(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "string"}
        if self.not_empty:
            schema["minLength"] = 1
        if self.max_length is not None:
            schema["maxLength"] = self.max_length
        if self.choices is not None:
            schema["enum"] = list(self.choices)
        return schema


class Int32(ZField):
    """An integer or a string of one (API_INT32); `choices` or `low`/`high` restrict it."""

    type_reason = "an integer is expected"

    def __init__(self, *, choices: Sequence[int] | None = None, low: int | None = None, high: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.choices = choices
        self.low = low
        self.high = high

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool):
            raise ValidationError(self.type_reason)
        if isinstance(value, str):
            # Zabbix's pattern is -?[0-9]+: no blanks, no plus sign, no decimals.
            if not (value.isascii() and value.removeprefix("-").isdigit()):
                raise ValidationError(self.type_reason)
            value = _digits_to_int(value, "a number is too large")
        if not isinstance(value, int):
            raise ValidationError(self.type_reason)
        if not -(2**31) <= value <= MAX_INT32:
            raise ValidationError("a number is too large")
        if self.choices is not None and value not in self.choices:
            raise ValidationError(one_of(self.choices))
        if self.low is not None and self.high is not None and not self.low <= value <= self.high:
            raise ValidationError(one_of_range(self.low, self.high))
        return value

    def json_type(self) -> dict[str, Any]:
        number: dict[str, Any] = {"type": "integer", "minimum": -(2**31), "maximum": MAX_INT32}
        if self.choices is not None:
            number = {"type": "integer", "enum": list(self.choices)}
        elif self.low is not None and self.high is not None:
            number.update(minimum=self.low, maximum=self.high)
        # The same values as strings of digits ("05" is 5): a pattern cannot say which, the number does.
        return {"anyOf": [number, {"type": "string", "pattern": "^-?[0-9]+$"}]}


class Boolean(ZField):
    """A JSON boolean, strictly (API_BOOLEAN)."""

    type_reason = "a boolean is expected"

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise ValidationError(self.type_reason)
        return value

    def json_type(self) -> dict[str, Any]:
        return {"type": "boolean"}


class Flag(ZField):
    """A Zabbix flag (API_FLAG): a boolean; anything else is taken as true, null as false."""

    type_reason = "a boolean is expected"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_null=True, **kwargs)

    def deserialize(self, value: Any, attr: str | None = None, data: Any = None, **kwargs: Any) -> Any:
        if value is None:
            return False
        return super().deserialize(value, attr, data, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        return value if isinstance(value, bool) else True

    def json_type(self) -> dict[str, Any]:
        return {"title": "flag", "description": "true or false; any other value counts as true, null as false"}


class Strings(ZField):
    """One string or an array of them, each one of `choices` (API_STRINGS_UTF8 with NORMALIZE)."""

    type_reason = "an array is expected"

    def __init__(self, *, choices: Sequence[str] | None = None, unique: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.choices = choices
        self.unique = unique

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[str]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise ValidationError(self.type_reason)
        for index, item in enumerate(value):
            if not isinstance(item, str):
                raise ValidationError({index: ["a character string is expected"]})
            if self.choices is not None and item not in self.choices:
                raise ValidationError({index: [one_of(self.choices)]})
            if self.unique and item in value[:index]:
                raise ValidationError({index: [f"value ({item}) already exists"]})
        return value

    def json_type(self) -> dict[str, Any]:
        one: dict[str, Any] = {"type": "string"} if self.choices is None else {"type": "string", "enum": list(self.choices)}
        array: dict[str, Any] = {"type": "array", "items": one}
        if self.unique:
            array["uniqueItems"] = True
        return {"anyOf": [one, array]}


class Output(ZField):
    """`output`: "extend" (or "count" where allowed), or an array of field names (API_OUTPUT)."""

    type_reason = "an array or a character string is expected"

    def __init__(self, field_names: Sequence[str], *, allow_count: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.field_names = field_names
        self.words = ("extend", "count") if allow_count else ("extend",)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str | list[str]:
        if isinstance(value, str):
            if value not in self.words:
                raise ValidationError(one_of(self.words))
            return value
        if isinstance(value, list):
            return Strings(choices=self.field_names)._deserialize(value, attr, data)
        raise ValidationError(self.type_reason)

    def json_type(self) -> dict[str, Any]:
        names = {"type": "array", "items": {"type": "string", "enum": list(self.field_names)}, "uniqueItems": True}
        return {
            "title": "output",
            "description": '"extend" for every field, or an array of the names wanted ("count", where offered: how many)',
            "anyOf": [{"type": "string", "enum": list(self.words)}, names],
        }


class Filter(ZField):
    """`filter` (exact match) or `search` (substring): an object of allowed fields to values."""

    type_reason = "an array is expected"

    def __init__(self, field_names: Sequence[str], **kwargs: Any) -> None:
        super().__init__(allow_null=True, **kwargs)
        self.field_names = field_names

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dict[str, list[str]]:
        if not isinstance(value, dict):
            raise ValidationError(self.type_reason)
        loaded: dict[str, list[str]] = {}
        for key, item in value.items():
            if key not in self.field_names:
                raise ValidationError(f'unexpected parameter "{key}"')
            if item is None:
                continue
            items = item if isinstance(item, list) else [item]
            for index, one in enumerate(items):
                if isinstance(one, bool) or not isinstance(one, (str, int, float)):
                    reason = ["a character string, integer or floating point value is expected"]
                    raise ValidationError({key: {index: reason} if isinstance(item, list) else reason})
            loaded[key] = [str(one) for one in items]
        return loaded

    def json_type(self) -> dict[str, Any]:
        value = {"type": ["string", "integer", "number"]}
        values = {
            "title": "filter value",
            "description": "a string or number, or an array of them (any one matches); null: no filter",
            "anyOf": [value, {"type": "array", "items": value}, {"type": "null"}],
        }
        return {"type": "object", "properties": {name: values for name in self.field_names}, "additionalProperties": False}


class Timestamp(ZField):
    """Epoch seconds (API_TIMESTAMP): an unsigned integer or a string of digits, at most 2147483647."""

    type_reason = "an unsigned integer is expected"

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise ValidationError(self.type_reason)
        if not (str(value).isascii() and str(value).isdigit()):
            raise ValidationError(self.type_reason)  # negatives, signs, blanks, "1e3"
        number = _digits_to_int(value, "a timestamp is too large") if isinstance(value, str) else value
        if number > MAX_INT32:
            raise ValidationError("a timestamp is too large")
        return number

    def json_type(self) -> dict[str, Any]:
        return TIMESTAMP_SCHEMA


_ID_ARRAY = Ids(not_empty=True, unique=True)


def load_id_array(params: Any, *, object_values: bool = False) -> list[int]:
    """Params that are an array of ids themselves (the deletes, token.generate): not empty, each once.

    PHP decodes `{}` as `[]`. An object with keys is, with `object_values`, read as PHP reads it, its
    values the ids (so `{"roleids": [5]}` is refused at `/1`, as Zabbix refuses it); otherwise it is
    refused as not an array.

    Raises:
        InvalidParams: e.g. `Invalid parameter "/": cannot be empty.`, `Invalid parameter "/2": value (1) already exists.`
    """
    if isinstance(params, dict):
        params = list(params.values()) if object_values else params or []
    try:
        ids: list[int] = _ID_ARRAY.deserialize(params)
        return ids
    except ValidationError as exc:
        raise first_error(exc.messages) from None


HOST_NAME = re.compile(r"^[A-Za-z0-9 ._-]{1,128}$")
HOST_NAME_RULE = 'a host name may contain only ASCII letters, digits, spaces, ".", "-" and "_", 1 to 128 of them'


class HostName(ZField):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if not isinstance(value, str):
            raise ValidationError(self.type_reason)
        if not HOST_NAME.match(value):
            raise ValidationError(HOST_NAME_RULE)
        return value

    def json_type(self) -> dict[str, Any]:
        return {"type": "string", "pattern": HOST_NAME.pattern}


_ANY_INT32 = Int32()


class Int32s(ZField):
    """One integer or an array of them (API_INTS32 with NORMALIZE), each one of `choices`, no repeats."""

    type_reason = "an array is expected"

    def __init__(self, *, choices: Sequence[int] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.item = Int32(choices=choices)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[int]:
        try:
            _ANY_INT32._deserialize(value, attr, data)
            value = [value]  # any one integer stands for an array of it, even one out of range
        except ValidationError:
            pass
        if not isinstance(value, list):
            raise ValidationError(self.type_reason)
        return load_items(value, lambda item: self.item._deserialize(item, attr, data))

    def json_type(self) -> dict[str, Any]:
        one = self.item.json_type()
        return {"anyOf": [one, {"type": "array", "items": one, "uniqueItems": True}]}


TAG_OPERATORS = (0, 1, 2, 3, 4, 5)


class TagFilterParams(ZabbixSchema):
    tag = String(required=True)
    operator = Int32(choices=TAG_OPERATORS, load_default=0)
    value = String(load_default="")


class TagFilters(ZField):
    """`tags` (API_OBJECTS with NORMALIZE): an array of {tag, operator, value}, or one of them."""

    type_reason = "an array is expected"
    _one = TagFilterParams()

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[dict[str, Any]]:
        if isinstance(value, dict):
            value = [value] if value else []  # PHP reads {} as an empty array
        if not isinstance(value, list):
            raise ValidationError(self.type_reason)
        return [self._load_one(index, item) for index, item in enumerate(value)]

    def _load_one(self, index: int, item: Any) -> dict[str, Any]:
        if isinstance(item, list):
            item = {str(i): one for i, one in enumerate(item)}  # PHP: an array keyed 0, 1, ...
        if not isinstance(item, dict):
            raise ValidationError({index: [self.type_reason]})
        unknown = [key for key in item if key not in self._one.load_fields]
        if unknown:  # Zabbix names the first unknown key as sent, before anything else
            raise ValidationError({index: {unknown[0]: [UNEXPECTED]}})
        try:
            loaded: dict[str, Any] = self._one.load(item)
            return loaded
        except ValidationError as exc:
            raise ValidationError({index: exc.messages}) from None

    def json_type(self) -> dict[str, Any]:
        one = json_schema(TagFilterParams)
        return {"anyOf": [{"type": "array", "items": one}, one, EMPTY_OBJECT]}
