"""Params of problem.get: Zabbix 7.0's strict schema (ZA §4.4), fields in its order, with the
6.x name `select_acknowledges` still taken as on event.get, and `selectHosts` as event.get has it."""

from __future__ import annotations

from rpcserver.storage.event_reads import ACKNOWLEDGE_COLUMNS, PROBLEMS, SEVERITIES, SUPPRESSION_COLUMNS, TAG_COLUMNS
from rpcserver.storage.hosts import HOSTS

from ._base import ZabbixSchema
from ._fields import Boolean, Filter, Flag, Id, Ids, Int32, Int32s, Output, TagFilters, Timestamp
from ._get import optional, search_params
from ._results import strings_object
from .event import ACTIONS, EVALTYPES, URLS, acknowledges_output, event_subselects, id_filters, sub_output, tail_params

PROBLEM_OUTPUT = (*PROBLEMS.columns, URLS)

ProblemGetParams = ZabbixSchema.from_dict(
    {
        **id_filters(),
        "source": Int32(choices=(0, 3, 4), load_default=0),
        "object": Int32(choices=(0, 4, 5, 6), load_default=0),
        "severities": optional(Int32s, choices=SEVERITIES),
        "eventid_from": optional(Id),
        "eventid_till": optional(Id),
        "time_from": optional(Timestamp),
        "time_till": optional(Timestamp),
        "acknowledged": optional(Boolean),
        "action": optional(Int32, low=ACTIONS[0], high=ACTIONS[1]),
        "action_userids": optional(Ids),
        "suppressed": optional(Boolean),
        "symptom": optional(Boolean),
        "recent": optional(Boolean),
        "evaltype": Int32(choices=EVALTYPES, load_default=0),
        "tags": optional(TagFilters),
        "filter": Filter(("eventid", "source", "object", "objectid", "r_eventid", "correlationid", "userid", "name",
                          "acknowledged", "severity", "cause_eventid")),
        **search_params(("name",), flag=Flag),
        "output": Output(PROBLEM_OUTPUT, load_default="extend"),
        "countOutput": Flag(load_default=False),
        "select_acknowledges": acknowledges_output(tuple(ACKNOWLEDGE_COLUMNS)),
        "selectAcknowledges": acknowledges_output(tuple(ACKNOWLEDGE_COLUMNS)),
        # Ours (API.md §3a): 7.0 refuses it, 6.x ignored it, and clients written against 6.x send it.
        "selectHosts": sub_output(tuple(HOSTS.columns)),
        "selectSuppressionData": sub_output(tuple(SUPPRESSION_COLUMNS)),
        "selectTags": sub_output(tuple(TAG_COLUMNS)),
        **tail_params(("eventid",)),
    },
    name="ProblemGetParams",
)

ProblemObject = strings_object(
    "ProblemObject", PROBLEMS.columns, **event_subselects(tuple(ACKNOWLEDGE_COLUMNS), "Problem")
)
"""A problem as problem.get gives it: every value a string; only the keys `output` and select* ask for."""
