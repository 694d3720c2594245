"""Dispatch (rpcserver/dispatch.py), through the real app: method lookup with Zabbix's texts, and the one
error boundary, which turns anything unexpected into -32603 with nothing internal in it."""

from __future__ import annotations

import logging
from typing import Any

import orjson
import pytest

from rpcserver.dispatch import ApiMethod

from .conftest import answer, post, request

# --- method names ---


@pytest.mark.parametrize("method", ["APIINFO.VERSION", "ApiInfo.Version", "apiinfo.version.extra"])
async def test_method_names_are_case_insensitive_and_extra_parts_ignored(client: Any, method: str) -> None:
    assert (await answer(client, request(method, {})))["result"] == "7.0.0"


@pytest.mark.parametrize(
    "method, data",
    [
        ("foo.bar", 'Incorrect API "foo".'),
        ("Foo.bar", 'Incorrect API "Foo".'),
        ("", 'Incorrect API "".'),
        ("apiinfo.foo", 'Incorrect method "apiinfo.foo".'),
        ("APIINFO.Foo", 'Incorrect method "APIINFO.Foo".'),
        ("apiinfo", 'Incorrect method "apiinfo.".'),
    ],
)
async def test_unknown_methods_get_zabbix_texts(client: Any, method: str, data: str) -> None:
    response = await answer(client, request(method, {}, id=7))
    assert response == {"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found.", "data": data}, "id": 7}


# --- the error boundary ---


async def test_unexpected_errors_become_internal_errors_without_details(make_client: Any, caplog: Any) -> None:
    async def broken(ctx: Any, params: Any) -> None:
        raise RuntimeError("SELECT secret FROM users at /srv/rpcserver/storage.py")

    client = await make_client({"test.broken": ApiMethod(broken, open=True)})
    with caplog.at_level(logging.INFO, logger="rpcserver"):
        response = await post(client, request("test.broken", {}, id=3))
    assert response.status == 200
    body = await response.read()
    assert orjson.loads(body) == {
        "jsonrpc": "2.0",
        "error": {"code": -32603, "message": "Internal error.", "data": "Internal JSON-RPC error."},
        "id": 3,
    }
    assert b"secret" not in body and b"srv" not in body
    request_id = response.headers["X-Request-Id"]
    failures = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert failures and f"req={request_id}" in failures[0].getMessage()
    assert "SELECT secret" in caplog.text  # the operator's log has the detail
