"""POST /hooks/alertmanager: Prometheus Alertmanager's and Grafana's alerts opened and resolved as problems
(API.md §10), through event.create's storage (storage/events.py), so that everything opening or resolving a
problem does applies to them too.

Not JSON-RPC: plain JSON answers with HTTP statuses, as webhook senders read them (Alertmanager retries a
5xx, never a 4xx). The caller is an API token with event.create's rights, checked as event.create checks
them; the whole body is applied in one transaction, or nothing of it.
"""

from __future__ import annotations

import logging
import time

import orjson
from aiohttp import web

from schemas.alertmanager import BadBody, load_body

from . import accesslog, auth
from .accesslog import access_log, new_request_id
from .appkeys import CLOCK_KEY, ENDPOINT_KEY, STORAGE_KEY
from .caller import USER, Caller
from .domain.alerts import problem_of
from .domain.errors import InvalidValue, Unavailable
from .errors import ApiError
from .storage import events

log = logging.getLogger("rpcserver")

ALERTMANAGER_PATH = "/hooks/alertmanager"
INGESTING_METHOD = "event.create"
"""The method whose rights the hook asks of its caller."""


class Refusal(Exception):
    """An answer other than 200: its HTTP status and what to tell the sender."""

    def __init__(self, status: int, error: str) -> None:
        super().__init__(error)
        self.status = status
        self.error = error


async def handle_alertmanager(request: web.Request) -> web.Response:
    started = time.perf_counter()
    request_id = new_request_id()
    answer: dict[str, int] | dict[str, str]
    try:
        status, answer = 200, await _apply(request)
    except Refusal as refusal:
        status, answer = refusal.status, {"error": refusal.error}
    except Exception:  # this route's own boundary: a 500 the sender retries, with the request id to find in the log
        log.exception("req=%s internal error in %s", request_id, ALERTMANAGER_PATH)
        status, answer = 500, {"error": f"Internal error (request {request_id}); nothing was applied. The server's log says more."}
    if access_log.isEnabledFor(logging.INFO):
        outcome = " ".join(f"{key}={value}" for key, value in answer.items()) if status == 200 else "refused"
        accesslog.info(f"req={request_id} {request.path} -> {status} {outcome} {(time.perf_counter() - started) * 1000:.1f}ms")
    headers = {"X-Request-Id": request_id}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return web.Response(body=orjson.dumps(answer), status=status, content_type="application/json", headers=headers)


async def _apply(request: web.Request) -> dict[str, int]:
    now = int(request.app[CLOCK_KEY]())
    storage = request.app[STORAGE_KEY]
    caller = await _caller(request, now)
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError as exc:
        where = f"{exc.msg} at line {exc.lineno}, column {exc.colno}"
        raise Refusal(400, f"The body is not JSON ({where}): send the webhook body of Alertmanager or Grafana.") from None
    except web.HTTPRequestEntityTooLarge:
        limit = request.app[ENDPOINT_KEY].config.body_limit
        raise Refusal(413, f"The body is larger than the limit of {limit} bytes: lower the sender's max_alerts.") from None
    try:
        problems = [problem_of(alert, f"alerts[{index}]") for index, alert in enumerate(load_body(body))]
    except BadBody as bad:
        raise Refusal(400, f"Bad webhook body: {bad}.") from None
    except InvalidValue as bad:
        raise Refusal(400, f"Bad webhook body: {bad.field}: {bad.reason}.") from None
    ingests = [
        events.Ingest(host=p.host, name=p.name, severity=p.severity, value=int(p.firing), tags=p.tags)
        for p in problems
    ]
    try:
        lifetime = request.app[ENDPOINT_KEY].config.lifetime
        return await storage.write(events.ingest_counting, ingests, now, caller.userid, caller.is_super_admin, lifetime)
    except events.HostNotWritable as refused:
        raise Refusal(403, (
            f'alerts[{refused.index}]: the token\'s user may not add problems to host "{ingests[refused.index].host}": an'
            f' Admin needs read-write rights on its host groups (new hosts go to "{events.DEFAULT_GROUP}", which must'
            " exist). Nothing was applied."
        )) from None
    except Unavailable as down:
        raise Refusal(503, down.text) from None  # it says that nothing changed; Alertmanager retries a 5xx


async def _caller(request: web.Request, now: int) -> Caller:
    """The token's user, if it may ingest events (as event.create checks it); else a 401 or 403 refusal."""
    credential = auth.header_credential(request.headers)
    if credential is None:
        raise Refusal(401, 'No API token: send one as "Authorization: Bearer <token>", of an Admin or Super admin.')
    if len(credential) != auth.TOKEN_LENGTH or not credential.isascii():
        raise Refusal(401, "The credential is not an API token (64 characters): create one with token.create and token.generate.")
    try:
        caller = await auth.token_caller(request.app[STORAGE_KEY], credential, now)
    except ApiError as refused:
        raise Refusal(401, f"The API token was refused: {refused.data}") from None
    except Unavailable as down:
        raise Refusal(503, down.text) from None
    if not caller.rules.allows_method(INGESTING_METHOD):
        raise Refusal(403, f'The token\'s user may not call "{INGESTING_METHOD}" (their role\'s API rules), which ingesting alerts needs.')
    if caller.type == USER:
        raise Refusal(403, "The token's user is of type User: ingesting alerts needs an Admin or Super admin, as event.create does.")
    return caller
