"""Params and results of role.* methods.

`rules` is the subset of Zabbix 7.0's role rules this server enforces: the problem actions and
the API method list. Rule keys contain dots (`api.access`), so they are loaded under Python
names (`api_access`); a key left out is absent from the loaded dict, which is what lets
role.update keep the rules it was not sent.
"""

from __future__ import annotations

import re
from typing import Any

from marshmallow import Schema, ValidationError, fields

from rpcserver.caller import ACTIONS, ADMIN, API_MODE_ALLOW, API_MODE_DENY, SUPER_ADMIN, USER

from ._base import ZabbixSchema, field_messages, nocase, refuse_repeats
from ._fields import Id, Int32, Output, String, Strings
from ._get import get_params_schema
from ._results import AnyOf, GetResult, list_of, strings_object

RULE_KEYS = ("api.access", "api.mode", "api", "actions", "actions.default_access")
USER_FIELDS = ("userid", "username", "name", "surname")

# `*`, `<api>.*`, `*.<method>` or `<api>.<method>`, of ASCII letters.
METHOD_MASK = re.compile(r"\*|[A-Za-z]+\.(\*|[A-Za-z]+)|\*\.[A-Za-z]+")


class MethodMasks(Strings):
    """`rules.api`: unique method masks."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[str]:
        masks = super()._deserialize(value, attr, data, **kwargs)
        for index, mask in enumerate(masks):
            if not METHOD_MASK.fullmatch(mask):
                raise ValidationError({index: [f'invalid method mask "{mask}"']})
        return masks


def _objects(schema: type[ZabbixSchema]) -> fields.List[Any]:
    """An array of objects (API_OBJECTS); each is checked for unknown keys first, as Zabbix does."""
    return fields.List(
        fields.Nested(schema, error_messages=field_messages(type="an array is expected", null="an array is expected")),
        error_messages=field_messages(invalid="an array is expected", null="an array is expected"),
    )


class ActionRuleParams(ZabbixSchema):
    name = String(choices=ACTIONS, required=True)
    status = Int32(choices=(0, 1), required=True)


class RulesParams(ZabbixSchema):
    api_access = Int32(choices=(0, 1), data_key="api.access")
    api_mode = Int32(choices=(API_MODE_DENY, API_MODE_ALLOW), data_key="api.mode")
    api = MethodMasks()
    actions = _objects(ActionRuleParams)
    actions_default_access = Int32(choices=(0, 1), data_key="actions.default_access")


def _rules() -> fields.Nested:
    return fields.Nested(RulesParams, error_messages=field_messages(type="an array is expected", null="an array is expected"))


USER_TYPES = (USER, ADMIN, SUPER_ADMIN)


class RoleCreateParams(ZabbixSchema):
    name = String(max_length=255, not_empty=True, required=True)
    type = Int32(choices=USER_TYPES, required=True)
    rules = _rules()


class RoleUpdateParams(ZabbixSchema):
    roleid = Id(required=True)
    name = String(max_length=255, not_empty=True)
    type = Int32(choices=USER_TYPES)
    rules = _rules()


RoleGetParams = get_params_schema(
    "RoleGetParams",
    id_params=("roleids", "userids"),
    output_fields=("roleid", "name", "type", "readonly"),
    filter_fields=("roleid", "name", "type", "readonly"),
    search_fields=("name",),
    sort_fields=("roleid", "name"),
    extra={
        "selectRules": Output(RULE_KEYS, allow_null=True, load_default=None),
        "selectUsers": Output(USER_FIELDS, allow_count=True, allow_null=True, load_default=None),
    },
)

_create_params = RoleCreateParams()
_update_params = RoleUpdateParams()


def _check_unique_actions(roles: list[dict[str, Any]]) -> None:
    """Each action named once per role."""
    for i, role in enumerate(roles):
        refuse_repeats(role.get("rules", {}).get("actions", []), ("name",), path=f"/{i + 1}/rules/actions")


def load_create(params: Any) -> list[dict[str, Any]]:
    """As Zabbix validates: types first, then repeats (names compared as the database does)."""
    roles = _create_params.load_many(params)
    refuse_repeats(roles, ("name",), fold=nocase)
    _check_unique_actions(roles)
    return roles


def load_update(params: Any) -> list[dict[str, Any]]:
    roles = _update_params.load_many(params)
    refuse_repeats(roles, ("roleid",))
    refuse_repeats(roles, ("name",), fold=nocase)
    _check_unique_actions(roles)
    return roles


class ActionRule(Schema):
    name = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": '"1": allowed, "0": denied'})


RulesObject = strings_object(
    "RoleRules",
    ("api.access", "api.mode", "actions.default_access"),
    api=fields.List(fields.String(), metadata={"description": "method masks"}),
    actions=list_of(ActionRule),
)
"""role.get's `rules`: every action with its effective status."""

RoleObject = strings_object(
    "Role",
    ("roleid", "name", "type", "readonly"),
    rules=fields.Nested(RulesObject),
    users=AnyOf(
        list_of(strings_object("RoleUser", USER_FIELDS)),
        fields.String(metadata={"description": 'with selectUsers "count": how many'}),
    ),
)
ROLE_GET_RESULT = GetResult(RoleObject)
