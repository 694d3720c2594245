"""Params and results of token.* methods (Zabbix 7.0 CToken)."""

from __future__ import annotations

from marshmallow import Schema, fields

from ._base import ZabbixSchema
from ._fields import Id, Int32, String, Timestamp
from ._get import get_params_schema
from ._results import GetResult, strings_object

ENABLED, DISABLED = 0, 1

OUTPUT_FIELDS = (
    "tokenid", "name", "description", "userid", "lastaccess", "status", "expires_at", "created_at", "creator_userid",
)
"""Everything but the `token` column: the secret's hash is never shown."""


class TokenCreateParams(ZabbixSchema):
    name = String(max_length=64, not_empty=True, required=True)
    description = String(max_length=65535, load_default="")
    userid = Id(load_default=None)
    """None: the caller's own token."""
    status = Int32(choices=(ENABLED, DISABLED), load_default=ENABLED)
    expires_at = Timestamp(load_default=0)
    """0: never expires."""


TokenGetParams = get_params_schema(
    "TokenGetParams",
    id_params=("tokenids", "userids"),
    output_fields=OUTPUT_FIELDS,
    filter_fields=tuple(name for name in OUTPUT_FIELDS if name != "description"),
    search_fields=("name", "description"),
    sort_fields=("tokenid", "name", "lastaccess", "status", "expires_at", "created_at"),
    extra={
        "token": String(max_length=64, allow_null=True, load_default=None),
        "valid_at": Timestamp(allow_null=True, load_default=None),
        "expired_at": Timestamp(allow_null=True, load_default=None),
    },
)


class GeneratedToken(Schema):
    tokenid = fields.String(required=True)
    token = fields.String(required=True, metadata={"description": "the secret: shown this once, only its hash is kept"})


TOKEN_GET_RESULT = GetResult(strings_object("Token", OUTPUT_FIELDS))
