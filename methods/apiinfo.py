"""apiinfo.*: what the server is."""

from __future__ import annotations

from typing import Any

from marshmallow import fields

from rpcserver.context import Context
from rpcserver.dispatch import ApiMethod
from schemas.apiinfo import load_version_params

ZABBIX_API_VERSION = "7.0.0"
"""The Zabbix API version we implement; clients choose their wire format by it (Bearer auth from 6.4)."""


async def version(ctx: Context, params: Any) -> str:
    """The Zabbix API version implemented, "7.0.0": clients choose their wire format by it. No params."""
    load_version_params(params)
    return ZABBIX_API_VERSION


METHODS = {
    "apiinfo.version": ApiMethod(
        version, open=True, result=fields.String(metadata={"description": '"7.0.0"'}),
        example={},
    ),
}
