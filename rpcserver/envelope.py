"""The JSON-RPC envelope: turns one decoded request object into a `Call`, or refuses it.

The checks and their texts are Zabbix 7.0's (CJsonRpc::validate): unknown members first, then
`jsonrpc`, `method`, `params`, `id`, `auth` in that order, the first failure wins. One deliberate
difference: `params` may be left out (JSON-RPC 2.0 allows it and generic clients do); it then
means `{}`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import InvalidRequest

NO_ID: Any = type("NoId", (), {"__repr__": lambda self: "NO_ID"})()
"""The `id` of a notification: distinct from an explicit `"id": null`, which is answered."""

MEMBERS = ("jsonrpc", "method", "params", "id", "auth")
_MEMBER_SET = frozenset(MEMBERS)
_PARAMS_TYPES = (dict, list)


@dataclass(slots=True)  # made per call: not frozen, whose __init__ is four times as slow
class Call:
    method: str
    params: dict[str, Any] | list[Any]
    id: Any
    auth: str | None

    @property
    def is_notification(self) -> bool:
        return self.id is NO_ID


class EnvelopeError(InvalidRequest):
    """A refused envelope. Answered even for notifications, with the id when it was valid."""

    def __init__(self, data: str, id: Any = None) -> None:
        super().__init__(data)
        self.id = id


def is_valid_id(value: Any) -> bool:
    return value is None or (isinstance(value, (str, int, float)) and not isinstance(value, bool))


def parse_call(member: Any) -> Call:
    """Validate one request object (a batch member or a whole single request).

    A well-formed member passes a handful of lookups; any other goes through `validate_call`, whose rules,
    in order, word the refusal (and which accepts exactly what passes here, as tests/test_envelope.py checks).

    Raises:
        EnvelopeError: with the Zabbix text of the first rule broken.
    """
    if type(member) is dict and _MEMBER_SET.issuperset(member):
        method = member.get("method")
        params = member.get("params", {})
        id_ = member.get("id", NO_ID)
        auth = member.get("auth")
        if (member.get("jsonrpc") == "2.0" and type(method) is str and type(params) in _PARAMS_TYPES
                and (id_ is NO_ID or is_valid_id(id_)) and (auth is None or (type(auth) is str and auth != ""))):
            return Call(method, params, id_, auth)
    return validate_call(member)


def validate_call(member: Any) -> Call:
    """`parse_call` rule by rule, in Zabbix's order: the first rule broken is the one named."""
    if not isinstance(member, dict):
        raise EnvelopeError('Invalid parameter "/": an array is expected.')
    id_ = member.get("id", NO_ID)
    echo_id = id_ if id_ is not NO_ID and is_valid_id(id_) else None

    def refuse(text: str) -> EnvelopeError:
        return EnvelopeError(text, echo_id)

    for key in member:
        if key not in MEMBERS:
            raise refuse(f'Invalid parameter "/": unexpected parameter "{key}".')

    if "jsonrpc" not in member:
        raise refuse('Invalid parameter "/": the parameter "jsonrpc" is missing.')
    if not isinstance(member["jsonrpc"], str):
        raise refuse('Invalid parameter "/jsonrpc": a character string is expected.')
    if member["jsonrpc"] != "2.0":
        raise refuse('Invalid parameter "/jsonrpc": value must be "2.0".')

    if "method" not in member:
        raise refuse('Invalid parameter "/": the parameter "method" is missing.')
    method = member["method"]
    if not isinstance(method, str):
        raise refuse('Invalid parameter "/method": a character string is expected.')

    params = member.get("params", {})
    if not isinstance(params, (dict, list)):
        raise refuse('Invalid parameter "/params": an array or object is expected.')

    if not is_valid_id(id_) and id_ is not NO_ID:
        raise refuse('Invalid parameter "/id": a string, number or null value is expected.')

    auth = member.get("auth")
    if auth is not None:
        if not isinstance(auth, str):
            raise refuse('Invalid parameter "/auth": a character string is expected.')
        if auth == "":
            raise refuse('Invalid parameter "/auth": cannot be empty.')

    return Call(method=method, params=params, id=id_, auth=auth)
