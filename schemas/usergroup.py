"""Params and results of usergroup.* methods.

Zabbix checks a call in two passes: types and ranges of everything first, then which values
repeat (a group updated twice, a name given twice, a host group twice in one group's rights).
`load_create` and `load_update` do the same; names repeat as the database compares them
(ASCII case-insensitively). A name already taken in the database is the method's to report.
"""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields

from rpcserver.storage.permissions import DENY, READ, READ_WRITE
from rpcserver.storage.usergroups import USERS_STATUS_DISABLED

from ._base import UNEXPECTED, ZabbixSchema, field_messages, nocase, refuse_repeats
from ._fields import Id, Int32, Output, String
from ._get import get_params_schema
from ._jsonschema import EMPTY_OBJECT, json_schema
from ._results import GetResult, list_of, strings_object

OUTPUT_FIELDS = ("usrgrpid", "name", "gui_access", "users_status", "debug_mode")
USER_FIELDS = ("userid", "username", "name", "surname")
RIGHT_FIELDS = ("id", "permission")

GUI_ACCESS = (0, 1, 2, 3)  # system default, internal, LDAP, disabled


class Objects(fields.List[Any]):
    """An array of objects (API_OBJECTS with API_NORMALIZE): one object alone counts as an array of it."""

    def __init__(self, schema: type[ZabbixSchema]) -> None:
        nested = fields.Nested(schema, error_messages=field_messages(type="an array is expected", null="an array is expected"))
        super().__init__(nested, error_messages=field_messages(invalid="an array is expected", null="an array is expected"))
        self.known = set(schema().load_fields)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[Any]:
        if isinstance(value, dict):
            # PHP reads `{}` as an empty array, and an object with keys as one element.
            value = [value] if value else []
        if not isinstance(value, list):
            raise self.make_error("invalid")
        return [self._load_one(index, item) for index, item in enumerate(value)]

    def _load_one(self, index: int, item: Any) -> Any:
        # One object at a time, its unknown keys first and in the order sent (marshmallow
        # reports them in no particular order), as Zabbix does.
        unknown = [key for key in item if key not in self.known] if isinstance(item, dict) else []
        if unknown:
            raise ValidationError({index: {unknown[0]: [UNEXPECTED]}})
        try:
            return self.inner.deserialize(item)
        except ValidationError as exc:
            raise ValidationError({index: exc.messages}) from None

    def json_type(self) -> dict[str, Any]:
        one = json_schema(self.inner)
        return {"anyOf": [{"type": "array", "items": one}, one, EMPTY_OBJECT]}


class HostGroupRight(ZabbixSchema):
    id = Id(required=True)
    permission = Int32(choices=(DENY, READ, READ_WRITE), required=True)


class Member(ZabbixSchema):
    userid = Id(required=True)


class UserGroupCreateParams(ZabbixSchema):
    name = String(max_length=64, not_empty=True, required=True)
    debug_mode = Int32(choices=(0, 1))
    gui_access = Int32(choices=GUI_ACCESS)
    users_status = Int32(choices=(0, USERS_STATUS_DISABLED))
    hostgroup_rights = Objects(HostGroupRight)
    users = Objects(Member)


class UserGroupUpdateParams(ZabbixSchema):
    usrgrpid = Id(required=True)
    name = String(max_length=64, not_empty=True)
    debug_mode = Int32(choices=(0, 1))
    gui_access = Int32(choices=GUI_ACCESS)
    users_status = Int32(choices=(0, USERS_STATUS_DISABLED))
    hostgroup_rights = Objects(HostGroupRight)
    users = Objects(Member)


UserGroupGetParams = get_params_schema(
    "UserGroupGetParams",
    id_params=("usrgrpids", "userids"),
    output_fields=OUTPUT_FIELDS,
    filter_fields=OUTPUT_FIELDS,
    search_fields=("name",),
    sort_fields=("usrgrpid", "name"),
    extra={
        "selectUsers": Output(USER_FIELDS, allow_null=True, load_default=None),
        "selectHostGroupRights": Output(RIGHT_FIELDS, allow_null=True, load_default=None),
    },
)

_create_params = UserGroupCreateParams()
_update_params = UserGroupUpdateParams()


def _load_many(schema: ZabbixSchema, params: Any) -> list[dict[str, Any]]:
    # PHP reads `{}` as an empty array: "cannot be empty", not a group without a name.
    return schema.load_many([] if params == {} else params)


def _check_unique_members(groups: list[dict[str, Any]]) -> None:
    for index, group in enumerate(groups, 1):
        refuse_repeats(group.get("hostgroup_rights", []), ("id",), path=f"/{index}/hostgroup_rights")
        refuse_repeats(group.get("users", []), ("userid",), path=f"/{index}/users")


def load_create(params: Any) -> list[dict[str, Any]]:
    groups = _load_many(_create_params, params)
    refuse_repeats(groups, ("name",), fold=nocase)
    _check_unique_members(groups)
    return groups


def load_update(params: Any) -> list[dict[str, Any]]:
    groups = _load_many(_update_params, params)
    refuse_repeats(groups, ("usrgrpid",))
    refuse_repeats(groups, ("name",), fold=nocase)
    _check_unique_members(groups)
    return groups


UserGroupObject = strings_object(
    "UserGroup",
    OUTPUT_FIELDS,
    users=list_of(strings_object("UserGroupMember", USER_FIELDS)),
    hostgroup_rights=list_of(strings_object("HostGroupRight", RIGHT_FIELDS)),
)
USERGROUP_GET_RESULT = GetResult(UserGroupObject)
