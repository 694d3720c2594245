"""Params of acknowledgement.* (API.md §5, Circonus style), and the `acknowledged_until` field that
event.acknowledge shares. Unknown parameters are refused as in the Zabbix family."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields

from rpcserver.domain.lifetime import Lifetime, SpanEnd, TooLong, span_end
from rpcserver.domain.spans import MAX_EPOCH, NOT_AN_END, RECOVERY, End, NotAnEnd, parse_end
from rpcserver.storage.spans import BOUNDED, BOUNDS, SORTABLE

from ._base import ZabbixSchema, invalid
from ._fields import MAX_INT32, Boolean, Id, Ids, Int32, String, Strings, Timestamp, ZField
from ._results import epoch

NOTES_LENGTH = 2048
"""As long as a Zabbix message (acknowledges.message): notes become the history row's message."""


class AcknowledgedUntil(ZField):
    """Epoch seconds, `"<n>s|m|h|d"` from now, "recovery", or null (the server's default): loads as
    an `End` or None."""

    type_reason = NOT_AN_END

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_null=True, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> End | None:
        try:
            return parse_end(value)
        except NotAnEnd:
            raise ValidationError(NOT_AN_END) from None

    def json_type(self) -> dict[str, Any]:
        return {
            "title": "end",
            "description": 'epoch seconds, or "<n>s", "<n>m", "<n>h", "<n>d" from now, or "recovery": until the problem'
            " resolves; left out or null: the server's --ack-default-duration (none: until ended). At most"
            " --ack-max-duration from now (that also ends a \"recovery\" one).",
            "anyOf": [{"type": "integer", "minimum": 0, "maximum": MAX_EPOCH}, {"type": "string", "pattern": "^[0-9]{1,12}[smhd]$"},
                      {"type": "string", "enum": [RECOVERY]}],
        }


def stored_end(sent: End | None, lifetime: Lifetime, now: int) -> SpanEnd:
    """An acknowledged_until as stored (`lifetime.span_end`): left out or null, the server's default.

    Raises:
        InvalidParams: it lies beyond the server's maximum, or the last second it can store.
    """
    try:
        return span_end(sent, lifetime, now)
    except (NotAnEnd, TooLong) as exc:
        raise invalid("/acknowledged_until", str(exc)) from None


class AcknowledgementCreateParams(ZabbixSchema):
    eventid = Id(required=True)
    acknowledged_until = AcknowledgedUntil()
    notes = String(max_length=NOTES_LENGTH, load_default="")


class AcknowledgementUpdateParams(ZabbixSchema):
    """Fields left out stay as they are."""

    acknowledgementid = Id(required=True)
    acknowledged_until = AcknowledgedUntil()
    notes = String(max_length=NOTES_LENGTH)


def _bounds() -> dict[str, ZField]:
    return {f"{name}_{bound}": Timestamp() for name in BOUNDED for bound in BOUNDS}


AcknowledgementGetParams = ZabbixSchema.from_dict(
    {
        "acknowledgementids": Ids(),
        "eventids": Ids(),
        "active": Boolean(),
        "acknowledged_by": Strings(unique=False),
        **_bounds(),
        "sortfield": Strings(choices=tuple(SORTABLE), load_default=list),
        "sortorder": Strings(choices=("ASC", "DESC"), unique=False, load_default=list),
        "limit": Int32(low=1, high=MAX_INT32),
    },
    name="AcknowledgementGetParams",
)


class AcknowledgementObject(Schema):
    """A span as every acknowledgement.* method answers it."""

    acknowledgementid = fields.String(required=True)
    eventid = fields.String(required=True, metadata={"description": "the problem event acknowledged"})
    acknowledged_by = fields.String(required=True, metadata={"description": "username"})
    acknowledged_on = epoch("when it began", required=True)
    acknowledged_until = epoch("when it ends; null: until ended (or until recovery)", required=True, allow_none=True)
    until_recovery = fields.Boolean(required=True, metadata={
        "description": "it ends when its problem resolves (acknowledged_until: \"recovery\")"})
    active = fields.Boolean(required=True)
    notes = fields.String(required=True)
    last_modified = epoch("when it last changed", required=True)
    last_modified_by = fields.String(required=True, metadata={"description": "username"})
