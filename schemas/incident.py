"""Params of incident.* methods (API.md §4): Zabbix-style refusals, typed JSON otherwise."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validates_schema

from rpcserver.domain.incident import SEVERITY_NAMES, STATUSES

from ._base import ZabbixSchema
from ._fields import MAX_INT32, Id, Ids, Int32, String, Strings, ZField, load_items, one_of
from ._results import epoch

COMMENT_LENGTH = 255
NOTE_LENGTH = 2048


class Severities(ZField):
    """One severity or an array of them, each a name ("high") or Zabbix's number for it (4, or "4"):
    people who know the Zabbix family send numbers. Loaded as the numbers; answers use the names."""

    type_reason = "an array is expected"
    reason = f"{one_of(SEVERITY_NAMES)}, 0-{len(SEVERITY_NAMES) - 1}"

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[int]:
        if isinstance(value, (str, int)):
            value = [value]  # one severity stands for an array of it
        if not isinstance(value, list):
            raise ValidationError(self.type_reason)
        return load_items(value, self._severity)

    def _severity(self, item: Any) -> int:
        if isinstance(item, str) and item in SEVERITY_NAMES:
            return SEVERITY_NAMES.index(item)
        number = item if isinstance(item, int) and not isinstance(item, bool) else None
        if isinstance(item, str) and item.isascii() and item.isdigit() and len(item) == 1:
            number = int(item)
        if number is None or not 0 <= number < len(SEVERITY_NAMES):
            raise ValidationError(self.reason)
        return number

    def json_type(self) -> dict[str, Any]:
        numbers = range(len(SEVERITY_NAMES))
        one = {"anyOf": [{"type": "string", "enum": list(SEVERITY_NAMES)},
                         {"type": "integer", "minimum": numbers[0], "maximum": numbers[-1]},
                         {"type": "string", "enum": [str(n) for n in numbers]}]}
        return {"anyOf": [one, {"type": "array", "items": one, "uniqueItems": True}]}


class IncidentGetParams(ZabbixSchema):
    incidentids = Ids(allow_null=True, load_default=None)
    status = Strings(choices=STATUSES, allow_null=True, load_default=None)
    paged_user = String(max_length=100, allow_null=True, load_default=None, metadata={
        "description": "a username: the incidents that user was paged for"})
    severities = Severities(allow_null=True, load_default=None, metadata={
        "description": "names, or Zabbix's numbers 0 (not_classified) to 5 (disaster)"})
    limit = Int32(low=1, high=MAX_INT32, allow_null=True, load_default=None)
    sortorder = String(choices=("ASC", "DESC"), load_default="ASC", metadata={"description": "by incidentid"})


class IncidentAcknowledgeParams(ZabbixSchema):
    incidentid = Id(required=True)
    acknowledged_by = String(max_length=COMMENT_LENGTH, not_empty=True, metadata={
        "description": "free text shown as the acknowledger; default: the caller's username"})
    comment = String(max_length=COMMENT_LENGTH, metadata={"description": 'default: "Incident acknowledged"'})


class IncidentUpdateParams(ZabbixSchema):
    incidentid = Id(required=True)
    status = String(choices=STATUSES, required=True)
    note = String(max_length=NOTE_LENGTH)


class IncidentShorthandParams(ZabbixSchema):
    """incident.resolve / incident.close."""

    incidentid = Id(required=True)
    comment = String(max_length=COMMENT_LENGTH)


class IncidentMassParams(ZabbixSchema):
    incidentids = Ids(not_empty=True, metadata={"description": "these incidents; or paged_user, never both"})
    paged_user = String(max_length=100, not_empty=True, metadata={
        "description": "a username: the eligible incidents that user was paged for; or incidentids, never both"})
    comment = String(max_length=COMMENT_LENGTH)

    @validates_schema
    def one_selector(self, data: dict[str, Any], **kwargs: Any) -> None:
        given = [name for name in ("incidentids", "paged_user") if name in data]
        if len(given) != 1:
            raise ValidationError(
                "exactly one of the parameters \"incidentids\" and \"paged_user\" is expected, "
                + ("both were given" if given else "neither was given")
            )


# --- results ---


class IncidentNote(Schema):
    """One status change, as incident.* recorded it."""

    clock = epoch("when", required=True)
    username = fields.String(required=True, allow_none=True, metadata={"description": "who; null: a deleted user"})
    status_from = String(choices=STATUSES, required=True)
    status_to = String(choices=STATUSES, required=True)
    text = fields.String(required=True, metadata={"description": "the note or comment sent, or the status's default"})


class IncidentObject(Schema):
    """A problem event seen as an incident (API.md §4): typed JSON, times in epoch seconds."""

    incidentid = fields.String(required=True, metadata={"description": "the problem's event id"})
    title = fields.String(required=True, metadata={"description": "the problem's name"})
    host = fields.String(required=True, metadata={"description": "the host's technical name"})
    severity = String(choices=SEVERITY_NAMES, required=True)
    status = String(choices=STATUSES, required=True, metadata={"description": "derived: see incident.update"})
    started_at = epoch("when the problem began", required=True)
    acknowledged_at = epoch("when the acknowledgement in force (once resolved or closed: the last one) began; null: none",
                            required=True, allow_none=True)
    acknowledged_by = fields.String(required=True, allow_none=True, metadata={
        "description": "as incident.acknowledge was told, else the acknowledging user's username; null when not "
                       "acknowledged"})
    assigned_to = fields.String(required=True, allow_none=True, metadata={
        "description": "the username of who last acknowledged it through incident.*; null: no one has"})
    resolved_at = epoch("when the problem was resolved", required=True, allow_none=True)
    closed_at = epoch("when the incident was closed", required=True, allow_none=True)
    paged_users = fields.List(fields.String(), required=True, metadata={"description": "usernames, in name order"})
    notes = fields.List(fields.Nested(IncidentNote), required=True, metadata={"description": "oldest first"})


class IncidentMassOutcome(Schema):
    """What became of one incident of a mass call (Splunk On-Call's shape)."""

    cmdAccepted = fields.Boolean(required=True, metadata={"description": "whether the change was made"})
    entityId = fields.String(required=True, metadata={"description": "the trigger's id; \"\" for an incident not seen"})
    incidentNumber = fields.String(required=True, metadata={"description": "the incidentid"})
    message = fields.String(required=True, metadata={"description": "why it was refused; \"\" when accepted"})


class IncidentMassResult(Schema):
    results = fields.List(fields.Nested(IncidentMassOutcome), required=True, metadata={
        "description": "one per incident, in the order of incidentids, or by ascending id for paged_user"})
