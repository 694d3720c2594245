"""Params of event.* methods: event.create (ours), event.acknowledge and event.get (Zabbix 7.0's
strict schemas, fields in their order), and the params event.get and problem.get share."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from marshmallow import Schema, ValidationError, fields

from rpcserver.domain.acknowledge import ACKNOWLEDGE, ALL_ACTIONS, RANK_TO_SYMPTOM, SUPPRESS
from rpcserver.storage.event_reads import (
    ACKNOWLEDGE_COLUMNS,
    ACKNOWLEDGE_USER_COLUMNS,
    EVENTS,
    SEVERITIES,
    SUPPRESSION_COLUMNS,
    TAG_COLUMNS,
)
from rpcserver.storage.hosts import HOSTS, TRIGGERS

from ._base import ZabbixSchema, field_messages
from ._fields import (
    Boolean,
    Filter,
    Flag,
    HostName,
    Id,
    Ids,
    Int32,
    Int32s,
    Output,
    String,
    Strings,
    TagFilters,
    Timestamp,
    ZField,
    parse_id,
)
from ._get import optional, search_params, sort_params
from ._results import AnyOf, EmptyArray, GetResult, strings_object
from .acknowledgement import AcknowledgedUntil


class TagParams(ZabbixSchema):
    tag = String(max_length=255, not_empty=True, required=True)
    value = String(max_length=255, load_default="")


class EventCreateParams(ZabbixSchema):
    host = HostName(required=True, metadata={"description": "the host's technical name; a new name makes a new host"})
    name = String(max_length=2048, not_empty=True, required=True, metadata={
        "description": "the problem's name; with the host, it names the trigger"})
    severity = Int32(low=0, high=5, load_default=0, metadata={"description": "0 (not classified) to 5 (disaster)"})
    value = Int32(choices=(0, 1), load_default=1, metadata={"description": "1: a problem; 0: OK, resolving it"})
    groups = fields.List(
        String(max_length=255, not_empty=True), load_default=lambda: ["Discovered hosts"],
        error_messages=field_messages(invalid="an array is expected", null="an array is expected"),
        metadata={"description": "names of the host groups the host is added to (missing ones are created)"},
    )
    manual_close = Int32(choices=(0, 1), metadata={
        "description": "whether the trigger's problems may be closed by hand; a new trigger's default is 0"})
    tags = fields.List(
        fields.Nested(TagParams, error_messages=field_messages(type="an array is expected")), load_default=list,
        error_messages=field_messages(invalid="an array is expected", null="an array is expected"),
        metadata={"description": "the new problem's tags"},
    )
    opdata = String(max_length=255, metadata={"description": "the trigger's operational data"})
    clock = Timestamp(metadata={"description": "when it happened; default: now"})
    paged_users = fields.List(
        String(max_length=100, not_empty=True), load_default=list,
        error_messages=field_messages(invalid="an array is expected", null="an array is expected"),
        metadata={"description": "usernames paged for the new problem (see incident.get's paged_user)"},
    )


_acknowledged_until = AcknowledgedUntil()


class EventAcknowledgeParams(ZabbixSchema):
    """Zabbix 7.0's schema (ZA §1.2): unknown keys first, then the fields in this order."""

    eventids = Ids(required=True, metadata={"description": "the problem events"})
    action = Int32(required=True, metadata={"description": "a bitmask: see the method's description"})
    message = String(max_length=2048, allow_null=True, load_default="", metadata={"description": "with bit 4"})
    severity = Int32(allow_null=True, load_default=0, metadata={"description": "with bit 8: 0 (not classified) to 5"})
    suppress_until = Timestamp(allow_null=True, load_default=None, metadata={"description": "with bit 32; 0: for ever"})
    cause_eventid = fields.Raw(allow_none=True, metadata={"describe_as": Id(), "description": "with bit 256"})
    """API_MULTIPLE: required with bit 256, refused without it (checked below)."""
    acknowledged_until = fields.Raw(allow_none=True, metadata={
        "describe_as": _acknowledged_until, "description": "ours, with bit 2: when the acknowledgement ends by itself"})
    """Ours (API.md §3): only with bit 2, refused without it as cause_eventid is (checked below)."""

    def after_load(self, data: dict[str, Any]) -> dict[str, Any]:
        action = data["action"]
        # Ours: Zabbix lets bit 32 through without suppress_until and then fails in the database.
        if 0 <= action <= ALL_ACTIONS and action & SUPPRESS and data.get("suppress_until") is None:
            raise ValidationError('the parameter "suppress_until" is missing')
        if action & RANK_TO_SYMPTOM:
            if "cause_eventid" not in data:
                raise ValidationError('the parameter "cause_eventid" is missing')
            try:
                data["cause_eventid"] = parse_id(data["cause_eventid"])
            except ValidationError as exc:
                raise ValidationError({"cause_eventid": exc.messages}) from None
        elif "cause_eventid" in data:
            raise ValidationError('unexpected parameter "cause_eventid"')
        if "acknowledged_until" in data:
            if not action & ACKNOWLEDGE:
                raise ValidationError('unexpected parameter "acknowledged_until"')
            try:
                data["acknowledged_until"] = _acknowledged_until.deserialize(data["acknowledged_until"])
            except ValidationError as exc:
                raise ValidationError({"acknowledged_until": exc.messages}) from None
        data["message"] = data["message"] or ""  # null as the default
        data["severity"] = 0 if data["severity"] is None else data["severity"]
        return data


class EventAcknowledgeResult(Schema):
    eventids = fields.List(fields.Integer(), required=True, metadata={"description": "every id asked for, once"})


# --- event.get ---

ACTIONS = (1, 0x1FF)
"""`action` filters by event.acknowledge's bits: 1 (close) to all nine."""
EVALTYPES = (0, 2)
URLS = "urls"
"""Always an empty list here: there are no media types whose event menu makes links."""
EVENT_OUTPUT = (*EVENTS.columns, URLS)
ALERT_OUTPUT = (
    "alertid", "actionid", "userid", "clock", "mediatypeid", "sendto", "subject", "message", "status", "retries",
    "error", "esc_step", "alerttype", "p_eventid", "acknowledgeid",
)


def id_filters() -> dict[str, Ids]:
    return {name: Ids(allow_null=True, load_default=None) for name in ("eventids", "groupids", "hostids", "objectids")}


def acknowledges_output(fields: Sequence[str]) -> Output:
    return Output(fields, allow_count=True, allow_null=True, load_default=None)


def sub_output(fields: Sequence[str]) -> Output:
    return Output(fields, allow_null=True, load_default=None)


def tail_params(sort_fields: Sequence[str]) -> dict[str, ZField]:
    return {
        **sort_params(sort_fields),
        "editable": Boolean(load_default=False),
        "preservekeys": Boolean(load_default=False),
        "nopermissions": Boolean(load_default=False),  # Zabbix drops it from outside calls: accepted, ignored
    }


EventGetParams = ZabbixSchema.from_dict(
    {
        **id_filters(),
        "source": Int32(choices=(0, 1, 2, 3, 4), load_default=0),
        "object": Int32(choices=(0, 1, 2, 3, 4, 5, 6), load_default=0),
        "value": optional(Int32s),
        "severities": optional(Int32s, choices=SEVERITIES),
        "trigger_severities": optional(Int32s, choices=SEVERITIES),
        "eventid_from": optional(Id),
        "eventid_till": optional(Id),
        "time_from": optional(Timestamp),
        "time_till": optional(Timestamp),
        "problem_time_from": optional(Timestamp),
        "problem_time_till": optional(Timestamp),
        "acknowledged": optional(Boolean),
        "action": optional(Int32, low=ACTIONS[0], high=ACTIONS[1]),
        "action_userids": optional(Ids),
        "suppressed": optional(Boolean),
        "symptom": optional(Boolean),
        "evaltype": Int32(choices=EVALTYPES, load_default=0),
        "tags": optional(TagFilters),
        "filter": Filter(("eventid", "source", "object", "objectid", "value", "acknowledged", "name", "severity", "cause_eventid")),
        **search_params(("name",), flag=Flag),
        "output": Output(EVENT_OUTPUT, load_default="extend"),
        "countOutput": Flag(load_default=False),
        "groupBy": optional(Strings, choices=("objectid",)),
        "select_acknowledges": acknowledges_output((*ACKNOWLEDGE_COLUMNS, *ACKNOWLEDGE_USER_COLUMNS)),
        "selectAcknowledges": acknowledges_output((*ACKNOWLEDGE_COLUMNS, *ACKNOWLEDGE_USER_COLUMNS)),
        "select_alerts": sub_output(ALERT_OUTPUT),
        "selectAlerts": sub_output(ALERT_OUTPUT),
        "selectHosts": sub_output(tuple(HOSTS.columns)),
        "selectRelatedObject": sub_output(tuple(TRIGGERS.columns)),  # trigger fields: only trigger events exist
        "selectSuppressionData": sub_output(tuple(SUPPRESSION_COLUMNS)),
        "selectTags": sub_output(tuple(TAG_COLUMNS)),
        **tail_params(("eventid", "objectid", "clock", "rowscount")),
    },
    name="EventGetParams",
)


# --- results of event.create, event.get and problem.get ---


class EventCreateResult(Schema):
    eventids = fields.List(fields.Integer(), required=True, metadata={
        "description": "per event sent, in order: its problem (the one already open, if any) for value 1, the OK event "
                       "that resolved the open problem for value 0 (nothing when none was open)"})


COUNT = fields.String(metadata={"description": "how many, with the sub-select's output \"count\""})


def acknowledges_result(columns: Sequence[str], name: str) -> AnyOf:
    """`acknowledges` as a sub-select gives it: the history rows, newest first, or their count."""
    return AnyOf(COUNT, fields.List(fields.Nested(strings_object(name, columns))))


def event_subselects(acknowledge_columns: Sequence[str], name: str) -> dict[str, fields.Field[Any]]:
    """The keys both methods add to an object: `urls` and what the select* params ask for."""
    return {
        "hosts": fields.List(fields.Nested(strings_object(f"{name}Host", HOSTS.columns))),
        URLS: fields.List(fields.Nested(strings_object(f"{name}Url", ("name", "url"))), metadata={
            "description": "always empty: no media type here makes links"}),
        "acknowledges": acknowledges_result(acknowledge_columns, f"{name}Acknowledge"),
        "suppression_data": fields.List(fields.Nested(strings_object(f"{name}Suppression", SUPPRESSION_COLUMNS)),
                                        metadata={"description": "the suppressions in force"}),
        "tags": fields.List(fields.Nested(strings_object(f"{name}Tag", TAG_COLUMNS))),
    }


_RELATED_TRIGGER = strings_object("EventTrigger", TRIGGERS.columns)

EventObject = strings_object(
    "EventObject",
    EVENTS.columns,
    **event_subselects((*ACKNOWLEDGE_COLUMNS, *ACKNOWLEDGE_USER_COLUMNS), "Event"),
    alerts=fields.List(fields.Nested(strings_object("EventAlert", ALERT_OUTPUT)), metadata={
        "description": "always empty: this server runs no actions, so it sends no alerts"}),
    relatedObject=AnyOf(fields.Nested(_RELATED_TRIGGER), EmptyArray(), metadata={"description": "the event's trigger"}),
)
"""An event as event.get gives it: every value a string; only the keys `output` and select* ask for."""

EventGroup = Schema.from_dict(
    {
        "objectid": fields.String(required=True, metadata={"description": "the trigger"}),
        "rowscount": fields.String(metadata={"description": "with countOutput: how many of its events matched"}),
    },
    name="EventGroup",
)

EVENT_GET_RESULT = AnyOf(
    GetResult(EventObject),
    fields.List(fields.Nested(EventGroup), metadata={"description": "with groupBy: one object per trigger"}),
)
