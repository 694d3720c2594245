"""Params of user.* methods."""

from __future__ import annotations

from typing import Any

from rpcserver.errors import InvalidParams

from ._base import ZabbixSchema, invalid
from ._fields import Boolean, Flag, String


class LoginParams(ZabbixSchema):
    username = String(max_length=255, required=True)
    password = String(max_length=255, required=True)
    userData = Flag(load_default=False)

    def load_params(self, params: Any) -> dict[str, Any]:
        # `user` is the 6.0 name of `username`, still sent by old clients (pyzabbix with
        # detect_version=False); 7.0 refuses it, we take it unless both are sent.
        if isinstance(params, dict) and "user" in params:
            if "username" in params:
                raise invalid("/", 'unexpected parameter "user"')
            params = {("username" if key == "user" else key): value for key, value in params.items()}
        return super().load_params(params)


class CheckAuthenticationParams(ZabbixSchema):
    sessionid = String(max_length=32)
    token = String(max_length=64)
    extend = Boolean(load_default=True)

    def load_params(self, params: Any) -> dict[str, Any]:
        loaded = super().load_params(params)
        if ("sessionid" in loaded) == ("token" in loaded):
            raise InvalidParams("Session ID or token is expected.")
        if "token" in loaded and isinstance(params, dict) and "extend" in params:
            raise invalid("/", 'unexpected parameter "extend"')
        return loaded
