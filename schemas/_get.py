"""The parameters every `*.get` shares (output, id filters, filter, search, sorting, limit, flags):
`get_params_schema` for the simple gets, its parts for event.get and problem.get, which order them
their own way."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from marshmallow import fields

from ._base import ZabbixSchema
from ._fields import MAX_INT32, Boolean, Filter, Flag, Ids, Int32, Output, Strings, ZField


def get_params_schema(
    name: str,
    *,
    id_params: Sequence[str],
    output_fields: Sequence[str],
    filter_fields: Sequence[str],
    search_fields: Sequence[str],
    sort_fields: Sequence[str],
    extra: Mapping[str, fields.Field[Any]] | None = None,
) -> type[ZabbixSchema]:
    """A params schema for a get method; `extra` adds the method's own params (selects, ...)."""
    declared: dict[str, fields.Field[Any]] = {
        **{param: Ids(allow_null=True) for param in id_params},
        **(extra or {}),
        "output": Output(output_fields, load_default="extend"),
        "filter": Filter(filter_fields),
        **search_params(search_fields),
        **sort_params(sort_fields),
        "countOutput": Flag(load_default=False),
        "preservekeys": Flag(load_default=False),
    }
    return ZabbixSchema.from_dict(declared, name=name)


def optional(field: type[ZField], **kwargs: Any) -> ZField:
    """A param that may be left out or null; it loads as None then."""
    return field(allow_null=True, load_default=None, **kwargs)


def search_params(search_fields: Sequence[str], *, flag: type[ZField] = Boolean) -> dict[str, ZField]:
    """`search` and the params saying how it matches. `flag` is the field of startSearch and
    excludeSearch: Flag (Zabbix's API_FLAG) on event.get and problem.get, Boolean elsewhere."""
    return {
        "search": Filter(search_fields),
        "searchByAny": Boolean(load_default=False),
        "startSearch": flag(load_default=False),
        "excludeSearch": flag(load_default=False),
        "searchWildcardsEnabled": Boolean(load_default=False),
    }


def sort_params(sort_fields: Sequence[str]) -> dict[str, ZField]:
    return {
        "sortfield": Strings(choices=sort_fields, load_default=list),
        "sortorder": Strings(choices=("ASC", "DESC"), unique=False, load_default=list),
        "limit": Int32(low=1, high=MAX_INT32, allow_null=True, load_default=None),
    }


def selected(value: Any) -> bool:
    """Whether a `select*` param asks for anything."""
    return value is not None and value != []
