"""Params of incident.* methods (API.md §4): Zabbix-style refusals, typed JSON otherwise."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, validates_schema

from rpcserver.domain.incident import SEVERITY_NAMES, STATUSES

from ._base import ZabbixSchema
from ._fields import MAX_INT32, Id, Ids, Int32, String, Strings

COMMENT_LENGTH = 255
NOTE_LENGTH = 2048


class IncidentGetParams(ZabbixSchema):
    incidentids = Ids(allow_null=True, load_default=None)
    status = Strings(choices=STATUSES, allow_null=True, load_default=None)
    paged_user = String(max_length=100, allow_null=True, load_default=None)
    severities = Strings(choices=SEVERITY_NAMES, allow_null=True, load_default=None)
    limit = Int32(low=1, high=MAX_INT32, allow_null=True, load_default=None)
    sortorder = String(choices=("ASC", "DESC"), load_default="ASC")


class IncidentAcknowledgeParams(ZabbixSchema):
    incidentid = Id(required=True)
    acknowledged_by = String(max_length=COMMENT_LENGTH, not_empty=True)
    comment = String(max_length=COMMENT_LENGTH)


class IncidentUpdateParams(ZabbixSchema):
    incidentid = Id(required=True)
    status = String(choices=STATUSES, required=True)
    note = String(max_length=NOTE_LENGTH)


class IncidentShorthandParams(ZabbixSchema):
    """incident.resolve / incident.close."""

    incidentid = Id(required=True)
    comment = String(max_length=COMMENT_LENGTH)


class IncidentMassParams(ZabbixSchema):
    incidentids = Ids(not_empty=True)
    paged_user = String(max_length=100, not_empty=True)
    comment = String(max_length=COMMENT_LENGTH)

    @validates_schema
    def one_selector(self, data: dict[str, Any], **kwargs: Any) -> None:
        given = [name for name in ("incidentids", "paged_user") if name in data]
        if len(given) != 1:
            raise ValidationError(
                "exactly one of the parameters \"incidentids\" and \"paged_user\" is expected, "
                + ("both were given" if given else "neither was given")
            )
