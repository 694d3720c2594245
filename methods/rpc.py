"""rpc.discover: the API described as an OpenRPC 1.3 document, generated from the method table.

Every method's name, credentials, summary (its handler's docstring), params and result (its
marshmallow schemas) come from its `ApiMethod`, so the document cannot drift from the code:
tests check each answer the suite receives against the result schema described here.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Mapping
from typing import Any

from marshmallow import fields

from rpcserver import __version__
from rpcserver.context import Context
from rpcserver.dispatch import ApiMethod, ByName, ByPosition
from rpcserver.errors import APPLICATION_ERROR, INTERNAL_ERROR, INVALID_PARAMS, MESSAGES
from schemas._base import require_empty
from schemas._jsonschema import json_schema

OPENRPC_VERSION = "1.3.2"
FAMILIES = {"incident": "incident", "acknowledgement": "acknowledgement", "rpc": "discovery"}
"""The dialect each API belongs to (API.md's families); every other API is Zabbix's."""
ZABBIX = "zabbix"
FAMILY_ORDER = (ZABBIX, "incident", "acknowledgement", "discovery")

ERRORS = {
    "InvalidParams": (INVALID_PARAMS, "Bad params, or missing, wrong or expired credentials; `data` says which."),
    "ApplicationError": (APPLICATION_ERROR, "Refused: no permission, no such object, a rule of the method; `data` says why."),
    "InternalError": (INTERNAL_ERROR, "An unexpected failure, logged with the request id sent as X-Request-Id."),
}

DESCRIPTION = """\
A JSON-RPC 2.0 server that keeps the acknowledgement state of monitoring problems. One state, three dialects:
Zabbix 7.0's API (event.acknowledge and the objects around it), incidents (OmniCenter / UptimeIO / Splunk On-Call
style) and time-bounded acknowledgements (Circonus style). POST calls to /api_jsonrpc.

Credentials, first found wins: `Authorization: Bearer <token or session id>`, `X-API-Key: <token>`, or the body's
`auth` member. Methods marked `x-credentials: none` refuse any credential.

Retry-safe requests: `Idempotency-Key: <1-255 printable ASCII characters>` on a request with a credential runs it
once per user and key; its whole answer is kept for 24 h (--idempotency-ttl) and a repeat with the byte-identical
body gets it back, with `Idempotent-Replayed: true`, changing nothing; a repeat arriving while the first runs waits
for it. The key with another body is refused (-32600). Answers -32603 and "the database cannot be reached" are not
kept: a retry runs again.

Previews: `Dry-Run: true` on a request checks and runs every call in it as usual, each seeing the effects of the
calls before it, and answers as it would, then keeps nothing (no row, session, history or rate-limit count; no
notification goes out). The answer carries `Dry-Run: true`; any other value of the header is refused (-32600)."""


DEMO = "A call that works on a new `rpcserver serve --demo`, as Admin (password zabbix) unless open."


def family(name: str) -> str:
    return FAMILIES.get(name.split(".", 1)[0], ZABBIX)


def _summary_and_description(method: ApiMethod) -> dict[str, str]:
    doc = inspect.getdoc(method.handler) or ""
    summary, _, rest = doc.partition("\n")
    described = {"summary": summary.strip()}
    if rest.strip():
        described["description"] = rest.strip()
    return described


def _param(name: str, schema: dict[str, Any], required: bool) -> dict[str, Any]:
    descriptor: dict[str, Any] = {"name": name}
    if "description" in schema:
        descriptor["description"] = schema["description"]
    descriptor["schema"] = schema
    if required:
        descriptor["required"] = True
    return descriptor


def _params(method: ApiMethod) -> tuple[str, list[dict[str, Any]], dict[str, Any]]:
    """paramStructure, params, and what to add to the method object."""
    shape = method.params
    if shape is None:
        return "either", [], {}
    if isinstance(shape, ByPosition):
        item = json_schema(shape.item)
        extra = {"x-params-array": f"the params are an array of any number of {shape.name}s"}
        return "by-position", [_param(shape.name, item, True)], extra
    assert isinstance(shape, ByName)
    schema = json_schema(shape.schema)
    required = set(schema.get("required", ()))
    params = [_param(name, field, name in required) for name, field in schema["properties"].items()]
    extra = {"x-params-array": "also an array of such objects, handled in one call"} if shape.many else {}
    return "by-name", params, extra


def _examples(method: ApiMethod) -> dict[str, Any]:
    """The method's example as OpenRPC pairs it: one value per param (by name) or per position."""
    if method.example is None:
        return {}
    if isinstance(method.example, dict):
        values = [{"name": name, "value": value} for name, value in method.example.items()]
    else:
        name = method.params.name if isinstance(method.params, ByPosition) else "param"
        values = [{"name": f"{name} {n}", "value": value} for n, value in enumerate(method.example, 1)]
    return {"examples": [{"name": "on the demo data", "description": DEMO, "params": values}]}


def _method(name: str, method: ApiMethod) -> dict[str, Any]:
    structure, params, extra = _params(method)
    return {
        "name": name,
        **_summary_and_description(method),
        "tags": [{"name": family(name)}],
        "paramStructure": structure,
        "params": params,
        "result": {"name": "result", "schema": json_schema(method.result)},
        "errors": [{"$ref": f"#/components/errors/{error}"} for error in ERRORS],
        "x-credentials": "none" if method.open else "required",
        **_examples(method),
        **extra,
    }


def describe(table: Mapping[str, ApiMethod]) -> dict[str, Any]:
    """The OpenRPC document of a method table: methods by family, then by name."""
    order = sorted(table, key=lambda name: (FAMILY_ORDER.index(family(name)), name.lower()))
    return {
        "openrpc": OPENRPC_VERSION,
        "info": {
            "title": "rpcserver",
            "version": __version__,
            "description": DESCRIPTION,
            "license": {"name": "MIT"},
        },
        "servers": [{"name": "this server", "url": "/api_jsonrpc"}],
        "methods": [_method(name, table[name]) for name in order],
        "components": {
            "errors": {
                error: {"code": code, "message": MESSAGES[code], "data": meaning}
                for error, (code, meaning) in ERRORS.items()
            },
        },
    }


@functools.cache
def document() -> dict[str, Any]:
    """The document of this server's whole table, built once."""
    from methods import METHODS  # the table holds rpc.discover itself: read it when first asked, not at import

    return describe(METHODS)


async def discover(ctx: Context, params: Any) -> dict[str, Any]:
    """This API as an OpenRPC 1.3 document: every method, its params, result and errors.

    Generated from the server's own method table and schemas. Takes no params.
    """
    require_empty(params)
    return document()


METHODS = {
    "rpc.discover": ApiMethod(
        discover, open=True, result=fields.Dict(metadata={"description": "an OpenRPC 1.3 document"}),
        example={},
    ),
}
