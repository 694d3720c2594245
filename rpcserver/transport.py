"""HTTP to JSON-RPC and back: content type, body limit, JSON and its depth, batches, notifications, logging.

Every JSON-RPC outcome is HTTP 200 with `application/json` (Zabbix clients never read the body
of a 4xx/5xx). Only a wrong content type (412, empty body) and an oversized body (413) are
answered at the HTTP level.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web

from . import accesslog, retrysafe
from .accesslog import access_log, new_request_id
from .appkeys import ENDPOINT_KEY
from .auth import header_credential
from .config import Config
from .dispatch import Dispatcher, RequestScope
from .envelope import EnvelopeError, parse_call
from .errors import (
    INTERNAL_ERROR_OBJECT,
    INVALID_REQUEST,
    INVALID_REQUEST_DATA,
    PARSE_ERROR,
    PARSE_ERROR_DATA,
    error_object,
)
from .limits import depth_refusal, too_deep, within_sizes
from .proxies import client_address, parse_networks
from .retrysafe import DRY_RUN, IDEMPOTENCY_KEY, is_retryable

if TYPE_CHECKING:
    from .metrics import Metrics

log = logging.getLogger("rpcserver")

ACCEPTED_CONTENT_TYPES = frozenset({"application/json-rpc", "application/json", "application/jsonrequest"})
# On every answer: the endpoint's own carry them; `add_cors_headers` puts them on any other (aiohttp's 404 and 405 too).
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Headers": "Content-Type, Authorization, X-API-Key",
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Max-Age": "1000",
}
_LOGGED_NAME_LENGTH = 64
PARSER_TOO_DEEP = "depth limit exceeded"
"""orjson's message for JSON nested deeper than 1024 levels."""


def error_response(code: int, data: Any, id_: Any = None) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "error": error_object(code, data), "id": id_}


@dataclass
class Outcome:
    """What one HTTP request did, for its log line."""

    methods: list[str] = field(default_factory=list)
    results: list[str] = field(default_factory=list)
    retryable: bool = False
    """A call failed for want of a working server or database: its answer is not kept for a key."""
    replayed: bool = False
    """The answer is the one kept for the request's Idempotency-Key."""

    def add(self, method: Any, response: dict[str, Any] | None) -> None:
        name = method[:_LOGGED_NAME_LENGTH] if isinstance(method, str) else "-"
        if not name.isprintable():  # checked whole first: character by character costs 20 times as much
            name = "".join(c for c in name if c.isprintable())
        self.methods.append(name or '""')
        if response is None:
            self.results.append("notified")
        elif "error" in response:
            self.results.append(str(response["error"]["code"]))
            self.retryable = self.retryable or is_retryable(response)
        else:
            self.results.append("ok")


class Endpoint:
    """Turns a request body into a response body; owns nothing but the dispatcher, settings and metrics."""

    def __init__(self, dispatcher: Dispatcher, config: Config, metrics: Metrics | None = None) -> None:
        self.dispatcher = dispatcher
        self.config = config
        self.metrics = metrics
        self.trusted_proxies = parse_networks(config.trusted_proxies)

    async def process(self, body: bytes, scope: RequestScope, outcome: Outcome) -> bytes:
        started = time.perf_counter()
        try:
            decoded = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            if exc.msg == PARSER_TOO_DEEP:
                # The parser's own limit (1024) is above any depth_limit: answered as ours, so
                # depth errors read alike whatever the depth.
                return self.refuse(started, outcome, INVALID_REQUEST, depth_refusal(self.config.depth_limit))
            return self.refuse(started, outcome, PARSE_ERROR, PARSE_ERROR_DATA)
        if too_deep(body, decoded, self.config.depth_limit):
            return self.refuse(started, outcome, INVALID_REQUEST, depth_refusal(self.config.depth_limit))
        if isinstance(decoded, list) and decoded:
            if len(decoded) > self.config.batch_limit:
                return self.refuse(
                    started,
                    outcome,
                    INVALID_REQUEST,
                    f"A batch may hold at most {self.config.batch_limit} requests; "
                    f"this one holds {len(decoded)}. Send it in parts.",
                )
            answers = []
            for member in decoded:  # one after another, in order: each sees the effects of those before
                response = await self._member(member, scope, outcome)
                if response is not None:
                    answers.append(response)
            return encode(answers, scope.request_id) if answers else b""
        if isinstance(decoded, dict) and decoded:
            response = await self._member(decoded, scope, outcome)
            return encode(response, scope.request_id) if response is not None else b""
        return self.refuse(started, outcome, INVALID_REQUEST, INVALID_REQUEST_DATA)

    def refuse(self, started: float, outcome: Outcome, code: int, data: str) -> bytes:
        body = refusal(outcome, code, data)
        if self.metrics is not None:
            self.metrics.call(None, {"error": {"code": code}}, time.perf_counter() - started)
        return body

    async def _member(self, member: Any, scope: RequestScope, outcome: Outcome) -> dict[str, Any] | None:
        started = time.perf_counter()
        method = member.get("method") if isinstance(member, dict) else None
        try:
            call = parse_call(member)
        except EnvelopeError as exc:
            response: dict[str, Any] | None = {"jsonrpc": "2.0", "error": exc.to_error_object(), "id": exc.id}
        else:
            try:
                response = await self.dispatcher.answer(call, scope)
            except Exception:
                log.exception("req=%s internal error around %r", scope.request_id, method)
                response = None if call.is_notification else {"jsonrpc": "2.0", "error": dict(INTERNAL_ERROR_OBJECT), "id": call.id}
        outcome.add(method, response)
        if self.metrics is not None:
            self.metrics.call(method, response, time.perf_counter() - started)
        return response


def refusal(outcome: Outcome, code: int, data: str) -> bytes:
    """The body refusing a whole request (id null), noted for its log line."""
    answer = error_response(code, data)
    outcome.add(None, answer)
    return orjson.dumps(answer)


def encode(answer: Any, request_id: str) -> bytes:
    """JSON of a response or batch; a response whose result cannot be encoded becomes -32603."""
    try:
        return orjson.dumps(answer)
    except orjson.JSONEncodeError:
        if isinstance(answer, list):
            return b"[" + b",".join(encode(response, request_id) for response in answer) + b"]"
        log.exception("req=%s result of id %r cannot be encoded as JSON", request_id, answer.get("id"))
        return orjson.dumps({"jsonrpc": "2.0", "error": INTERNAL_ERROR_OBJECT, "id": answer.get("id")})


async def handle_jsonrpc(request: web.Request) -> web.StreamResponse:
    """The endpoint, and its last-resort boundary: anything that escaped every other one is a JSON-RPC
    internal error, never a trace."""
    try:
        return await _answer(request)
    except web.HTTPException:
        raise
    except Exception:
        log.exception("unexpected failure serving %s", request.path)
        return web.Response(
            body=orjson.dumps({"jsonrpc": "2.0", "error": INTERNAL_ERROR_OBJECT, "id": None}),
            content_type="application/json",
        )


async def _answer(request: web.Request) -> web.StreamResponse:
    if request.method == "OPTIONS":
        return web.Response()
    # Like Zabbix, no other HTTP method is refused: the content type and the body decide.
    started = time.perf_counter()
    endpoint = request.app[ENDPOINT_KEY]
    request_id = new_request_id()
    content_type = request.headers.get("Content-Type", "").split(";", 1)[0]
    if content_type not in ACCEPTED_CONTENT_TYPES:
        if access_log.isEnabledFor(logging.INFO):
            accesslog.info(f"req={request_id} {request.path} refused: content type {content_type[:64]!r} -> 412")
        return web.Response(status=412)
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        if access_log.isEnabledFor(logging.INFO):
            accesslog.info(f"req={request_id} {request.path} refused: body over {endpoint.config.body_limit} bytes -> 413")
        return web.Response(
            status=413,
            text=f"Request body larger than the limit of {endpoint.config.body_limit} bytes.\n",
        )
    outcome = Outcome()
    client = client_address(request.remote or "", request.headers.getall("X-Forwarded-For", ()), endpoint.trusted_proxies)
    config = endpoint.config
    scope = RequestScope(header_credential(request.headers), request_id, client,
                         within_sizes(body, config.ids_limit, config.string_limit))
    headers = {"X-Request-Id": request_id, **CORS_HEADERS}  # made here, `add_cors_headers` has nothing to add
    if DRY_RUN in request.headers or IDEMPOTENCY_KEY in request.headers:
        try:
            answer, extra = await retrysafe.answer(endpoint, body, scope, outcome, request.headers)
            headers.update(extra)
        except retrysafe.Refused as exc:
            answer = endpoint.refuse(started, outcome, INVALID_REQUEST, str(exc))
    else:
        answer = await endpoint.process(body, scope, outcome)
    if access_log.isEnabledFor(logging.INFO):
        methods, results = ",".join(outcome.methods) or "-", ",".join(outcome.results) or "-"
        if outcome.replayed:
            results = "replayed"
        elif DRY_RUN in headers:
            results += " (dry run)"
        accesslog.info(f"req={request_id} {request.path} {methods} -> {results} {(time.perf_counter() - started) * 1000:.1f}ms")
    return web.Response(body=answer, content_type="application/json", headers=headers)


async def add_cors_headers(request: web.BaseRequest, response: web.StreamResponse) -> None:
    """As every answer is prepared (an on_response_prepare signal): the CORS headers, where it lacks them.
    A signal, not a middleware: aiohttp runs every request through a middleware's two extra coroutines,
    a tenth of what `apiinfo.version` costs beyond the bare endpoint; the signal costs half as much, for
    the same reach (bench/README.md)."""
    if "Access-Control-Allow-Origin" not in response.headers:
        response.headers.update(CORS_HEADERS)
