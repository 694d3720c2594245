"""The HTTP side of the endpoint and the JSON-RPC rules, through the real app."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

import orjson
import pytest

from rpcserver.accesslog import BatchingHandler
from rpcserver.cli import LOG_FORMAT
from rpcserver.dispatch import ApiMethod
from rpcserver.transport import Endpoint

from .conftest import OMIT, answer, error_of, post, request

VERSION = request("apiinfo.version", {})
PATHS = ["/api_jsonrpc", "/api_jsonrpc.php", "/zabbix/api_jsonrpc.php"]
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Headers": "Content-Type, Authorization, X-API-Key",
    "Access-Control-Allow-Methods": "POST, OPTIONS",
}


# --- HTTP ---


@pytest.mark.parametrize("path", PATHS)
async def test_every_path_answers(client: Any, path: str) -> None:
    assert await answer(client, VERSION, path=path) == {"jsonrpc": "2.0", "result": "7.0.0", "id": 1}


@pytest.mark.parametrize("path", PATHS)
async def test_options_is_an_empty_200_with_cors(client: Any, path: str) -> None:
    response = await client.options(path)
    assert response.status == 200
    assert await response.read() == b""
    for name, value in CORS.items():
        assert response.headers[name] == value


@pytest.mark.parametrize(
    "content_type", ["application/json-rpc", "application/json", "application/jsonrequest", "application/json; charset=UTF-8"]
)
async def test_accepted_content_types(client: Any, content_type: str) -> None:
    response = await client.post("/api_jsonrpc", data=orjson.dumps(VERSION), headers={"Content-Type": content_type})
    assert response.status == 200
    assert orjson.loads(await response.read())["result"] == "7.0.0"


@pytest.mark.parametrize("content_type", ["text/plain", "APPLICATION/JSON", "application/x-www-form-urlencoded", "application/jsonx", None])
async def test_other_content_types_get_412_with_an_empty_body(client: Any, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type is not None else {}
    response = await client.post("/api_jsonrpc", data=orjson.dumps(VERSION), headers=headers, skip_auto_headers=["Content-Type"])
    assert response.status == 412
    assert await response.read() == b""
    assert response.headers["Access-Control-Allow-Origin"] == "*"


async def test_a_body_over_the_limit_gets_413(make_client: Any) -> None:
    client = await make_client(body_limit=1000)
    small = await post(client, {**VERSION, "id": "x" * 900})
    assert small.status == 200
    response = await post(client, {**VERSION, "id": "x" * 1000})
    assert response.status == 413
    assert "1000 bytes" in await response.text()


async def test_every_answer_carries_cors_headers(client: Any) -> None:
    # 404 and 405 are aiohttp's own answers, not a handler's
    for response in (
        await post(client, VERSION), await post(client, b"{"), await client.get("/healthz"),
        await client.get("/nowhere"), await client.post("/healthz"), await client.options("/api_jsonrpc"),
        await post(client, VERSION, headers={"Content-Type": "text/plain"}), await client.get("/metrics"),
    ):
        for name, value in CORS.items():
            assert response.headers[name] == value


async def test_a_failure_that_escapes_the_endpoint_is_an_internal_error_without_its_text(
        client: Any, monkeypatch: Any, caplog: Any) -> None:
    async def broken(*args: Any) -> bytes:
        raise RuntimeError("secret detail /srv/db.sqlite")

    monkeypatch.setattr(Endpoint, "process", broken)
    with caplog.at_level(logging.ERROR, logger="rpcserver"):
        response = await post(client, VERSION)
    assert response.status == 200
    assert await response.json() == {
        "jsonrpc": "2.0", "error": {"code": -32603, "message": "Internal error.", "data": "Internal JSON-RPC error."}, "id": None}
    assert "secret" not in await response.text()
    for name, value in CORS.items():
        assert response.headers[name] == value
    assert "secret detail" in caplog.text  # logged for the operator


async def test_healthz_reports_ok_once_the_database_answers(client: Any) -> None:
    response = await client.get("/healthz")
    assert response.status == 200
    assert await response.json() == {"status": "ok"}


async def test_other_http_methods_are_treated_like_post_as_zabbix_does(client: Any) -> None:
    assert (await client.get("/api_jsonrpc")).status == 412  # no content type
    response = await client.get("/api_jsonrpc", headers={"Content-Type": "application/json"})
    assert response.status == 200
    assert (await response.json())["error"]["code"] == -32700  # no body: not JSON
    response = await client.put("/api_jsonrpc", data=orjson.dumps(VERSION), headers={"Content-Type": "application/json"})
    assert (await response.json())["result"] == "7.0.0"


# --- JSON and the envelope ---


@pytest.mark.parametrize("body", [b'{"jsonrpc": "2.0", "method": "apiinfo.version", ', b"", b"\xff\xfe", b"[1,2", b"NaN"])
async def test_invalid_json_is_a_parse_error_with_null_id(client: Any, body: bytes) -> None:
    assert await answer(client, body) == {
        "jsonrpc": "2.0",
        "error": {"code": -32700, "message": "Parse error", "data": "Invalid JSON. An error occurred on the server while parsing the JSON text."},
        "id": None,
    }


@pytest.mark.parametrize("body", [42, "apiinfo.version", [], {}, None, True])
async def test_json_that_is_no_request_is_one_invalid_request(client: Any, body: Any) -> None:
    assert await answer(client, body) == {
        "jsonrpc": "2.0",
        "error": {"code": -32600, "message": "Invalid request.", "data": "The received JSON is not a valid JSON-RPC request."},
        "id": None,
    }


@pytest.mark.parametrize(
    "body, data, id_",
    [
        ({"method": "apiinfo.version", "params": {}, "id": 1}, 'Invalid parameter "/": the parameter "jsonrpc" is missing.', 1),
        ({**VERSION, "jsonrpc": "1.0"}, 'Invalid parameter "/jsonrpc": value must be "2.0".', 1),
        ({**VERSION, "jsonrpc": 2.0}, 'Invalid parameter "/jsonrpc": a character string is expected.', 1),
        ({"jsonrpc": "2.0", "params": {}, "id": 1}, 'Invalid parameter "/": the parameter "method" is missing.', 1),
        ({**VERSION, "params": None}, 'Invalid parameter "/params": an array or object is expected.', 1),
        ({**VERSION, "params": "x"}, 'Invalid parameter "/params": an array or object is expected.', 1),
        ({**VERSION, "foo": 1}, 'Invalid parameter "/": unexpected parameter "foo".', 1),
        ({**VERSION, "id": True}, 'Invalid parameter "/id": a string, number or null value is expected.', None),
        ({**VERSION, "id": {"a": 1}}, 'Invalid parameter "/id": a string, number or null value is expected.', None),
        ({**VERSION, "auth": ""}, 'Invalid parameter "/auth": cannot be empty.', 1),
        ({**VERSION, "auth": 12}, 'Invalid parameter "/auth": a character string is expected.', 1),
        ({"jsonrpc": "1.0", "method": "apiinfo.version", "params": {}}, 'Invalid parameter "/jsonrpc": value must be "2.0".', None),
    ],
)
async def test_envelope_errors_over_http(client: Any, body: Any, data: str, id_: Any) -> None:
    assert await answer(client, body) == {"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid request.", "data": data}, "id": id_}


async def test_params_may_be_omitted_as_jsonrpcclient_does(client: Any) -> None:
    assert await answer(client, request("apiinfo.version")) == {"jsonrpc": "2.0", "result": "7.0.0", "id": 1}


@pytest.mark.parametrize("id_", ["abc", None, 1.5, -7, 0])
async def test_ids_are_echoed_as_sent(client: Any, id_: Any) -> None:
    assert (await answer(client, {**VERSION, "id": id_}))["id"] == id_


# --- notifications ---


@pytest.mark.parametrize(
    "body",
    [
        request("apiinfo.version", {}, id=OMIT),
        request("foo.bar", {}, id=OMIT),
        request("apiinfo.version", {"x": 1}, id=OMIT),  # fails in the method
        request("apiinfo.version", {}, id=OMIT, auth="x" * 32),  # fails on the credential
    ],
)
async def test_notifications_are_never_answered(client: Any, body: Any) -> None:
    response = await post(client, body)
    assert response.status == 200
    assert await response.read() == b""


async def test_notifications_are_executed(make_client: Any) -> None:
    calls: list[Any] = []

    async def remember(ctx: Any, params: Any) -> None:
        calls.append(params)

    client = await make_client({"test.remember": ApiMethod(remember, open=True)})
    assert await answer(client, request("test.remember", {"n": 1}, id=OMIT)) is None
    assert calls == [{"n": 1}]


# --- batches: the JSON-RPC 2.0 specification's examples, adapted to apiinfo.version ---


async def test_batch_answers_in_order(client: Any) -> None:
    body = [request("apiinfo.version", {}, id="1"), request("apiinfo.version", [], id=2), request("foo.get", {}, id="5")]
    assert await answer(client, body) == [
        {"jsonrpc": "2.0", "result": "7.0.0", "id": "1"},
        {"jsonrpc": "2.0", "result": "7.0.0", "id": 2},
        {"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found.", "data": 'Incorrect API "foo".'}, "id": "5"},
    ]


async def test_invalid_batch_members_are_answered_one_by_one(client: Any) -> None:
    invalid = {"code": -32600, "message": "Invalid request.", "data": 'Invalid parameter "/": an array is expected.'}
    assert await answer(client, [1, 2, 3]) == [{"jsonrpc": "2.0", "error": invalid, "id": None}] * 3
    assert await answer(client, [1]) == [{"jsonrpc": "2.0", "error": invalid, "id": None}]


async def test_mixed_batch(client: Any) -> None:
    body = [
        request("apiinfo.version", {}, id="first"),
        request("apiinfo.version", {}, id=OMIT),
        request("apiinfo.version", {}, id="bad-version", jsonrpc="1.0"),
        7,
        request("apiinfo.version", {"x": 1}, id="bad-params"),
        request("nope.nope", {}, id="unknown-method"),
        {"foo": "boo"},
        request("apiinfo.version", {}, id="last"),
    ]
    response = await answer(client, body)
    assert [r["id"] for r in response] == ["first", "bad-version", None, "bad-params", "unknown-method", None, "last"]
    assert [r["error"]["code"] if "error" in r else "ok" for r in response] == ["ok", -32600, -32600, -32602, -32601, -32600, "ok"]
    assert response[5]["error"]["data"] == 'Invalid parameter "/": unexpected parameter "foo".'


async def test_all_notification_batch_gets_an_empty_body(client: Any) -> None:
    response = await post(client, [request("apiinfo.version", {}, id=OMIT), request("foo.bar", {}, id=OMIT)])
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/json"
    assert await response.read() == b""


async def test_duplicate_ids_in_a_batch_are_all_answered(client: Any) -> None:
    response = await answer(client, [request("apiinfo.version", {}, id=5)] * 2)
    assert response == [{"jsonrpc": "2.0", "result": "7.0.0", "id": 5}] * 2


async def test_batch_length_limit(make_client: Any) -> None:
    client = await make_client(batch_limit=3)
    assert len(await answer(client, [request("apiinfo.version", {}, id=i) for i in range(3)])) == 3
    response = await answer(client, [request("apiinfo.version", {}, id=i) for i in range(4)])
    assert response["id"] is None
    code, message, data = error_of(response)
    assert (code, message) == (-32600, "Invalid request.")
    assert data == "A batch may hold at most 3 requests; this one holds 4. Send it in parts."


async def test_batch_members_run_one_after_another_in_order(make_client: Any) -> None:
    import asyncio

    log: list[str] = []

    async def slow(ctx: Any, params: Any) -> str:
        log.append(f"start {params['n']}")
        await asyncio.sleep(0.01 * (3 - params["n"]))  # later members are faster: order shows concurrency
        log.append(f"end {params['n']}")
        return params["n"]

    client = await make_client({"test.slow": ApiMethod(slow, open=True)})
    response = await answer(client, [request("test.slow", {"n": n}, id=n) for n in range(3)])
    assert [r["result"] for r in response] == [0, 1, 2]
    assert log == ["start 0", "end 0", "start 1", "end 1", "start 2", "end 2"]


# --- answers that cannot be encoded ---


async def test_results_that_cannot_be_sent_become_internal_errors(make_client: Any) -> None:
    async def unserializable(ctx: Any, params: Any) -> Any:
        return {1, 2}  # a set is not JSON

    client = await make_client({"test.set": ApiMethod(unserializable, open=True)})
    internal = {"code": -32603, "message": "Internal error.", "data": "Internal JSON-RPC error."}
    assert await answer(client, request("test.set", {}, id=4)) == {"jsonrpc": "2.0", "error": internal, "id": 4}
    assert await answer(client, [request("apiinfo.version", {}, id=1), request("test.set", {}, id=2)]) == [
        {"jsonrpc": "2.0", "result": "7.0.0", "id": 1},
        {"jsonrpc": "2.0", "error": internal, "id": 2},
    ]


# --- logging ---


async def test_one_log_line_per_request_without_params(client: Any, caplog: Any, capsys: Any) -> None:
    with caplog.at_level(logging.INFO, logger="rpcserver"):
        response = await post(client, [request("apiinfo.version", {"password": "hunter2"}, id=1), request("apiinfo.version", {}, id=2)])
        await asyncio.sleep(0)  # the line is written once this event-loop iteration is over
    logged = capsys.readouterr().err
    lines = [line for line in logged.splitlines() if " req=" in line]
    assert len(lines) == 1
    assert re.fullmatch(
        rf"\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d,\d{{3}} INFO req={response.headers['X-Request-Id']} /api_jsonrpc "
        r"apiinfo.version,apiinfo.version -> -32602,ok \d+\.\dms",
        lines[0],
    )
    assert "hunter2" not in logged


async def test_no_request_lines_above_info(client: Any, caplog: Any, capsys: Any) -> None:
    with caplog.at_level(logging.WARNING, logger="rpcserver"):
        await post(client, VERSION)
        await asyncio.sleep(0)
    assert " req=" not in capsys.readouterr().err


async def test_a_filter_or_handler_a_program_sets_on_the_access_logger_sees_every_line(client: Any, caplog: Any, capsys: Any) -> None:
    # With only the default handler, lines go to it directly (accesslog.info); anything else set gets records.
    caplog.set_level(logging.INFO, logger="rpcserver")
    access_log = logging.getLogger("rpcserver.access")
    kept = access_log.handlers[:]
    access_log.handlers = [handler for handler in kept if type(handler) is BatchingHandler]  # as `rpcserver serve` has it
    seen: list[str] = []

    class Keep(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            seen.append(record.getMessage())
            return False  # and drop it

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    async def request_id() -> str:
        response = await post(client, VERSION)
        await asyncio.sleep(0)  # the default handler writes at the end of the event loop's iteration
        return f"req={response.headers['X-Request-Id']} "

    try:
        assert access_log.handlers
        assert await request_id() in capsys.readouterr().err
        keep, collect = Keep(), Collect()
        access_log.addFilter(keep)
        dropped = await request_id()
        access_log.removeFilter(keep)
        assert [line[:len(dropped)] for line in seen] == [dropped]
        assert dropped not in capsys.readouterr().err
        access_log.addHandler(collect)
        both = await request_id()
        assert seen[-1].startswith(both)
        assert both in capsys.readouterr().err
    finally:
        access_log.handlers = kept


@pytest.mark.parametrize("now", [1_700_000_000.0, 1_700_000_000.9996, 1_700_003_599.25, 1_700_003_599.0009,
                                 1_700_000_000.999999, 1_700_000_001.0423])
def test_request_lines_read_as_logging_would_write_them(now: float) -> None:
    record = logging.LogRecord("rpcserver", logging.INFO, __file__, 1, "req=ab12cd34 /api_jsonrpc - -> -32700 0.1ms", None, None)
    record.created, record.msecs = now, (now - int(now)) * 1000
    expected = logging.Formatter(LOG_FORMAT).format(record) + "\n"
    access_log = BatchingHandler()
    assert access_log.line(now, record.getMessage()) == expected
    assert access_log.line(now, record.getMessage()) == expected  # from the cached second
