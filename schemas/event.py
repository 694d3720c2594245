"""Params of event.* methods."""

from __future__ import annotations

import re
from typing import Any

from marshmallow import ValidationError, fields

from ._base import ZabbixSchema, field_messages
from ._fields import Int32, String, Timestamp, ZField

HOST_NAME = re.compile(r"^[A-Za-z0-9 ._-]{1,128}$")
HOST_NAME_RULE = 'a host name may contain only ASCII letters, digits, spaces, ".", "-" and "_", 1 to 128 of them'


class HostName(ZField):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if not isinstance(value, str):
            raise ValidationError(self.type_reason)
        if not HOST_NAME.match(value):
            raise ValidationError(HOST_NAME_RULE)
        return value


class TagParams(ZabbixSchema):
    tag = String(max_length=255, not_empty=True, required=True)
    value = String(max_length=255, load_default="")


class EventCreateParams(ZabbixSchema):
    host = HostName(required=True)
    name = String(max_length=2048, not_empty=True, required=True)
    severity = Int32(low=0, high=5, load_default=0)
    value = Int32(choices=(0, 1), load_default=1)
    groups = fields.List(
        String(max_length=255, not_empty=True), load_default=lambda: ["Discovered hosts"],
        error_messages=field_messages(invalid="an array is expected", null="an array is expected"),
    )
    manual_close = Int32(choices=(0, 1))
    tags = fields.List(
        fields.Nested(TagParams, error_messages=field_messages(type="an array is expected")), load_default=list,
        error_messages=field_messages(invalid="an array is expected", null="an array is expected"),
    )
    opdata = String(max_length=255)
    clock = Timestamp()
    paged_users = fields.List(
        String(max_length=100, not_empty=True), load_default=list,
        error_messages=field_messages(invalid="an array is expected", null="an array is expected"),
    )
