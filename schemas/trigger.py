"""Params and result of trigger.get."""

from __future__ import annotations

from rpcserver.storage.hosts import HOSTS, TRIGGERS

from ._fields import Flag, Output
from ._get import get_params_schema
from ._results import GetResult, list_of, strings_object
from .host import HostObject

TriggerGetParams = get_params_schema(
    "TriggerGetParams",
    id_params=("triggerids", "hostids", "groupids"),
    output_fields=tuple(TRIGGERS.columns),
    filter_fields=("triggerid", "description", "priority", "value", "manual_close"),
    search_fields=("description",),
    sort_fields=("triggerid", "description", "priority", "lastchange"),
    extra={
        "selectHosts": Output(tuple(HOSTS.columns), allow_null=True, load_default=None),
        "editable": Flag(load_default=False),
    },
)

TRIGGER_GET_RESULT = GetResult(strings_object("Trigger", TRIGGERS.columns, hosts=list_of(HostObject)))
