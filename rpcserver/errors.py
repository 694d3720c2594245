"""API errors: the JSON-RPC codes, their fixed messages, and the exceptions handlers raise.

Handlers and schemas raise `ApiError` subclasses with the detail text in `data`; storage and the
domain raise `rpcserver.domain.errors`, which `api_error` words here, the one place that does.
The dispatcher turns both into JSON-RPC error objects. Every error object carries `code`,
`message` and `data` (zabbix_utils fails on an error without `data`).
"""

from __future__ import annotations

from typing import Any

from .domain.errors import Conflict, DomainError, Forbidden, InvalidValue, NotFound, Unavailable

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
APPLICATION_ERROR = -32500

# Zabbix 7.0 wording (CJsonRpc): `message` is fixed per code, the detail goes in `data`.
MESSAGES = {
    PARSE_ERROR: "Parse error",
    INVALID_REQUEST: "Invalid request.",
    METHOD_NOT_FOUND: "Method not found.",
    INVALID_PARAMS: "Invalid params.",
    INTERNAL_ERROR: "Internal error.",
    APPLICATION_ERROR: "Application error.",
}

PARSE_ERROR_DATA = "Invalid JSON. An error occurred on the server while parsing the JSON text."
INVALID_REQUEST_DATA = "The received JSON is not a valid JSON-RPC request."
INTERNAL_ERROR_DATA = "Internal JSON-RPC error."


class ApiError(Exception):
    """An error answered to the client: `code` picks the message, `data` is the detail."""

    code: int = APPLICATION_ERROR

    def __init__(self, data: Any) -> None:
        super().__init__(data)
        self.data = data

    def to_error_object(self) -> dict[str, Any]:
        return {"code": self.code, "message": MESSAGES[self.code], "data": self.data}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.data!r})"


class InvalidRequest(ApiError):
    code = INVALID_REQUEST


class MethodNotFound(ApiError):
    code = METHOD_NOT_FOUND


class InvalidParams(ApiError):
    """Bad parameters, and (as in Zabbix) missing or dead credentials."""

    code = INVALID_PARAMS


class ApplicationError(ApiError):
    """Permissions, missing objects, refused state changes, storage faults."""

    code = APPLICATION_ERROR


NO_PERMISSIONS = "No permissions to referred object or it does not exist!"
"""Zabbix's one answer for objects that are missing or that the caller may not touch (-32500)."""
NO_PERMISSION_FOR_OPERATION = "You do not have permission to perform this operation."


def api_error(error: DomainError) -> ApiError:
    """The answer to a domain error, in Zabbix's wording, which every family of methods shares:
    the data's refusals are -32602, missing objects, refused actions and storage faults -32500."""
    if isinstance(error, NotFound):
        return ApplicationError(NO_PERMISSIONS)
    if isinstance(error, Conflict):
        return InvalidParams(error.text)
    if isinstance(error, InvalidValue):
        return InvalidParams(f'Incorrect value for field "{error.field}": {error.reason}.')
    if isinstance(error, Forbidden):
        return ApplicationError(error.detail)
    if isinstance(error, Unavailable):
        return ApplicationError(error.text)
    raise TypeError(f"no answer for {error!r}")


def error_object(code: int, data: Any) -> dict[str, Any]:
    return {"code": code, "message": MESSAGES[code], "data": data}


INTERNAL_ERROR_OBJECT = error_object(INTERNAL_ERROR, INTERNAL_ERROR_DATA)
