"""Params and results of user.* methods."""

from __future__ import annotations

from typing import Any, cast

from marshmallow import Schema, ValidationError, fields

from rpcserver.errors import InvalidParams
from rpcserver.timeunits import seconds_of

from ._base import ZabbixSchema, field_messages, invalid, nocase, refuse_repeats
from ._fields import Boolean, Flag, Id, Output, String, ZField
from ._get import get_params_schema
from ._results import AnyOf, EmptyArray, GetResult, list_of, strings_object


class LoginParams(ZabbixSchema):
    username = String(max_length=255, required=True)
    password = String(max_length=255, required=True)
    userData = Flag(load_default=False)

    def load_params(self, params: Any, path: str = "/") -> dict[str, Any]:
        # `user` is the 6.0 name of `username`, still sent by old clients (pyzabbix with
        # detect_version=False); 7.0 refuses it, we take it unless both are sent.
        if isinstance(params, dict) and "user" in params:
            if "username" in params:
                raise invalid(path, 'unexpected parameter "user"')
            params = {("username" if key == "user" else key): value for key, value in params.items()}
        return super().load_params(params, path)


class LoginParamsDescribed(ZabbixSchema):
    """LoginParams as rpc.discover shows them: the alias `user` cannot be expressed as a rename,
    so both names are listed and neither is required."""

    username = String(max_length=255, metadata={"description": "required, unless sent as `user`"})
    user = String(max_length=255, metadata={"description": "the pre-5.4 name of `username`, for old clients; not with it"})
    password = String(max_length=255, required=True)
    userData = Flag(load_default=False, metadata={"description": "answer the user object instead of the session id"})


class CheckAuthenticationParams(ZabbixSchema):
    sessionid = String(max_length=32)
    token = String(max_length=64)
    extend = Boolean(load_default=True)

    def load_params(self, params: Any, path: str = "/") -> dict[str, Any]:
        loaded = super().load_params(params, path)
        if ("sessionid" in loaded) == ("token" in loaded):
            raise InvalidParams("Session ID or token is expected.")
        if "token" in loaded and isinstance(params, dict) and "extend" in params:
            raise invalid(path, 'unexpected parameter "extend"')
        return loaded


USER_OUTPUT = (
    "userid", "username", "name", "surname", "autologout", "attempt_failed", "attempt_ip", "attempt_clock", "roleid",
)
USRGRP_OUTPUT = ("usrgrpid", "name", "gui_access", "users_status", "debug_mode")
ROLE_OUTPUT = ("roleid", "name", "type", "readonly")
USER_ID_PARAMS = ("userids", "usrgrpids")

AUTOLOGOUT_MIN, AUTOLOGOUT_MAX = 90, 86400


class TimeUnit(ZField):
    """A Zabbix time unit (API_TIME_UNIT): "90s", "15m", "1h", "1d" or plain seconds, within
    `low`-`high` or 0. Loads as the text given, which is what Zabbix stores."""

    def __init__(self, *, low: int, high: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.low = low
        self.high = high

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise ValidationError(self.type_reason)
        if value == "":
            raise ValidationError("cannot be empty")
        seconds = seconds_of(value)
        if seconds is None:
            raise ValidationError("a time unit is expected")
        if seconds != 0 and not self.low <= seconds <= self.high:
            raise ValidationError(f"value must be one of 0, {self.low}-{self.high}")
        return value

    def json_type(self) -> dict[str, Any]:
        return {
            "title": "time unit",
            "description": f'seconds, or "<n>s", "<n>m", "<n>h", "<n>d", "<n>w": 0, or {self.low} to {self.high} seconds',
            "anyOf": [{"type": "integer", "minimum": 0}, {"type": "string", "pattern": "^[0-9]{1,10}[smhdw]?$"}],
        }


class UserGroupRef(ZabbixSchema):
    usrgrpid = Id(required=True)


class UserGroupRefs(fields.List[dict[str, int]]):
    """`usrgrps`: a non-empty array of {usrgrpid}, each group once; loads as the list of ids."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            fields.Nested(UserGroupRef, error_messages=field_messages(type="an array is expected")),
            error_messages=field_messages(invalid="an array is expected", null="an array is expected"),
            **kwargs,
        )

    # The ids, not the {usrgrpid} objects a List of them loads: marshmallow's types cannot say so.
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[int]:  # type: ignore[override]
        if value == []:
            raise ValidationError("cannot be empty")
        usrgrpids: list[int] = []
        groups = cast("list[dict[str, int]]", super()._deserialize(value, attr, data, **kwargs))  # Nested loads no None
        for index, group in enumerate(groups):
            if group["usrgrpid"] in usrgrpids:
                raise ValidationError({index: [f"value (usrgrpid)=({group['usrgrpid']}) already exists"]})
            usrgrpids.append(group["usrgrpid"])
        return usrgrpids


class UserCreateParams(ZabbixSchema):
    username = String(max_length=100, not_empty=True, required=True)
    name = String(max_length=100)
    surname = String(max_length=100)
    passwd = String(max_length=255, not_empty=True)
    autologout = TimeUnit(low=AUTOLOGOUT_MIN, high=AUTOLOGOUT_MAX)
    roleid = Id(required=True)
    usrgrps = UserGroupRefs(required=True)


class UserUpdateParams(ZabbixSchema):
    userid = Id(required=True)
    username = String(max_length=100, not_empty=True)
    name = String(max_length=100)
    surname = String(max_length=100)
    passwd = String(max_length=255, not_empty=True)
    current_passwd = String(max_length=255)
    autologout = TimeUnit(low=AUTOLOGOUT_MIN, high=AUTOLOGOUT_MAX)
    roleid = Id()
    usrgrps = UserGroupRefs()


UserGetParams = get_params_schema(
    "UserGetParams",
    id_params=USER_ID_PARAMS,
    output_fields=USER_OUTPUT,
    filter_fields=("userid", "username", "name", "surname", "roleid"),
    search_fields=("username", "name", "surname"),
    sort_fields=("userid", "username", "name", "surname"),
    extra={
        "selectUsrgrps": Output(USRGRP_OUTPUT, allow_null=True),
        "selectRole": Output(ROLE_OUTPUT, allow_null=True),
    },
)

_create_params = UserCreateParams()
_update_params = UserUpdateParams()


def load_create(params: Any) -> list[dict[str, Any]]:
    """user.create's users: types first, then repeats (usernames compared as the database does)."""
    objects = _create_params.load_many(params)
    refuse_repeats(objects, ("username",), fold=nocase)
    return objects


def load_update(params: Any) -> list[dict[str, Any]]:
    objects = _update_params.load_many(params)
    refuse_repeats(objects, ("userid",))
    refuse_repeats(objects, ("username",), fold=nocase)
    return objects


USER_DATA_STRINGS = (
    "userid", "username", "name", "surname", "url", "autologin", "autologout", "lang", "refresh", "theme",
    "attempt_failed", "attempt_ip", "attempt_clock", "rows_per_page", "timezone", "roleid", "userdirectoryid",
    "ts_provisioned", "userip", "mfaid",
)

UserData = Schema.from_dict(
    {
        **{name: fields.String(required=True) for name in USER_DATA_STRINGS},
        "type": fields.Integer(required=True, metadata={"description": "the role's user type: 1 user, 2 admin, 3 super admin"}),
        "debug_mode": fields.Integer(required=True, metadata={"description": "1: a group of the user has debug mode on"}),
        "gui_access": fields.Integer(required=True, metadata={"description": "the highest gui_access of the user's groups"}),
        "deprovisioned": fields.Boolean(required=True),
        "auth_type": fields.Integer(required=True, metadata={"description": "0: internal authentication"}),
        "sessionid": fields.String(metadata={"description": "when checked by session id"}),
    },
    name="UserData",
)
"""The logged-in user as user.checkAuthentication answers it: Zabbix 7.0's fields, those this server
has no setting for (url, lang, theme, ...) with Zabbix's defaults."""


class LoginData(UserData):  # type: ignore[misc,valid-type]
    """user.login's answer with userData: the user, the new session and its secret."""

    sessionid = fields.String(required=True)
    secret = fields.String(required=True)


LOGIN_RESULT = AnyOf(
    fields.String(metadata={"description": "the session id"}),
    fields.Nested(LoginData, metadata={"description": "with userData"}),
)

UserObject = strings_object(
    "User",
    USER_OUTPUT,
    usrgrps=list_of(strings_object("UserUserGroup", USRGRP_OUTPUT)),
    role=AnyOf(fields.Nested(strings_object("UserRole", ROLE_OUTPUT)), EmptyArray(metadata={"description": "[]: the user has no role"})),
)
USER_GET_RESULT = GetResult(UserObject)
