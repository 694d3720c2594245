"""Params of hostgroup.create, hostgroup.get and hostgroup.delete, and hostgroup.get's result."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields

from rpcserver.storage.hosts import HOST_GROUPS, HOSTS

from ._base import ZabbixSchema, refuse_repeats
from ._fields import Flag, Output, String
from ._get import get_params_schema
from ._results import AnyOf, GetResult, list_of, strings_object
from .host import HostObject

NAME_LENGTH = 255


class HostGroupName(String):
    """API_HG_NAME: a string, not empty, at most 255 characters, and a well-formed group path
    (no spaces around it, no empty part: not "/a", "a/" or "a//b")."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=NAME_LENGTH, not_empty=True, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        name = super()._deserialize(value, attr, data, **kwargs)
        if name != name.strip() or name.startswith("/") or name.endswith("/") or "//" in name:
            raise ValidationError("invalid host group name")
        return name


class HostGroupCreate(ZabbixSchema):
    name = HostGroupName(required=True)


_create_params = HostGroupCreate()


def load_create_params(params: Any) -> list[str]:
    """hostgroup.create: the names of the groups to create, each once (compared exactly, as the
    database compares them)."""
    # PHP reads `{}` as an empty array: "cannot be empty", not a group without a name.
    groups = _create_params.load_many([] if params == {} else params)
    refuse_repeats(groups, ("name",))
    return [group["name"] for group in groups]


HostGroupGetParams = get_params_schema(
    "HostGroupGetParams",
    id_params=("groupids", "hostids"),
    output_fields=tuple(HOST_GROUPS.columns),
    filter_fields=tuple(HOST_GROUPS.columns),
    search_fields=("name",),
    sort_fields=("groupid", "name"),
    extra={
        "selectHosts": Output(tuple(HOSTS.columns), allow_count=True, allow_null=True, load_default=None),
        "editable": Flag(load_default=False),
    },
)

HOSTGROUP_GET_RESULT = GetResult(
    strings_object(
        "HostGroupWithHosts",
        HOST_GROUPS.columns,
        hosts=AnyOf(
            list_of(HostObject),
            fields.String(metadata={"description": 'with selectHosts "count": how many'}),
        ),
    )
)
