"""Params and result of host.get, and the host object other gets show (hostgroup.get, trigger.get)."""

from __future__ import annotations

from marshmallow import fields

from rpcserver.storage.hosts import HOST_GROUPS, HOSTS

from ._fields import Flag, Output
from ._get import get_params_schema
from ._results import GetResult, list_of, strings_object

HostGetParams = get_params_schema(
    "HostGetParams",
    id_params=("hostids", "groupids", "triggerids"),
    output_fields=tuple(HOSTS.columns),
    filter_fields=tuple(HOSTS.columns),
    search_fields=("host", "name"),
    sort_fields=("hostid", "host", "name", "status"),
    extra={
        "selectHostGroups": Output(tuple(HOST_GROUPS.columns), allow_null=True, load_default=None),
        # The 6.x name of selectHostGroups, still sent by older scripts; its objects come as `groups`.
        "selectGroups": Output(tuple(HOST_GROUPS.columns), allow_null=True, load_default=None),
        "editable": Flag(load_default=False),
    },
)

HostObject = strings_object("Host", HOSTS.columns)
HostGroupObject = strings_object("HostGroup", HOST_GROUPS.columns)

HOST_GET_RESULT = GetResult(
    strings_object(
        "HostWithGroups",
        HOSTS.columns,
        hostgroups=list_of(HostGroupObject),
        groups=fields.List(fields.Nested(HostGroupObject), metadata={"description": "with selectGroups (6.x)"}),
    )
)
