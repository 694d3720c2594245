"""From a validated `Call` to its answer: method lookup, credentials, the handler, one error boundary.

jsonrpcserver makes the call: each handler is registered with it wrapped in `_boundary`, which
turns our `ApiError`s into JSON-RPC errors and anything unexpected into a fixed -32603 (logged
with the request id; the client never sees exception text, SQL or paths). The handler receives
`(context, params)`: params as one value, so parameter errors come from our schemas in Zabbix's
wording, never from Python's signature check.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Mapping

from jsonrpcserver import Error, Success, async_dispatch_to_serializable

from . import auth
from .context import Context
from .envelope import NO_ID, Call
from .errors import (
    INTERNAL_ERROR,
    INTERNAL_ERROR_DATA,
    INTERNAL_ERROR_OBJECT,
    MESSAGES,
    ApiError,
    InvalidParams,
    MethodNotFound,
)

log = logging.getLogger("rpcserver")

Handler = Callable[[Context, Any], Awaitable[Any]]
Authenticator = Callable[[Any, auth.Credential, int], Awaitable[Any]]


@dataclass(frozen=True)
class ApiMethod:
    handler: Handler
    open: bool = False
    """Callable without credentials, and refusing them (apiinfo.version, user.login, ...)."""


def _boundary(name: str, handler: Handler) -> Callable[[Context, Any], Awaitable[Any]]:
    async def call(ctx: Context, params: Any) -> Any:
        try:
            return Success(await handler(ctx, params))
        except ApiError as exc:
            return Error(exc.code, MESSAGES[exc.code], exc.data)
        except Exception:
            log.exception("req=%s internal error in %s", ctx.request_id, name)
            return Error(INTERNAL_ERROR, MESSAGES[INTERNAL_ERROR], INTERNAL_ERROR_DATA)

    return call


def _accept(request: Any) -> Any:
    return request  # the envelope was validated already (rpcserver.envelope)


class Dispatcher:
    def __init__(self, table: Mapping[str, ApiMethod], authenticate: Authenticator = auth.authenticate) -> None:
        self._methods = {name.lower(): method for name, method in table.items()}
        self._apis = {name.split(".", 1)[0] for name in self._methods}
        self._wrapped = {name: _boundary(name, m.handler) for name, m in self._methods.items()}
        self._authenticate = authenticate

    @property
    def names(self) -> list[str]:
        return sorted(self._methods)

    def resolve(self, method: str) -> tuple[str, str, ApiMethod]:
        """(canonical name, name as sent, method) for a method name, case-insensitively.

        As in Zabbix, the name is split at dots: the first part is the API, the second the
        method, further parts are ignored.
        """
        api, _, rest = method.partition(".")
        name = rest.split(".", 1)[0]
        if api.lower() not in self._apis:
            raise MethodNotFound(f'Incorrect API "{api}".')
        canonical = f"{api.lower()}.{name.lower()}"
        if canonical not in self._methods:
            raise MethodNotFound(f'Incorrect method "{api}.{name}".')
        return canonical, f"{api}.{name}", self._methods[canonical]

    async def caller_for(
        self, method: ApiMethod, as_sent: str, credential: auth.Credential | None, storage: Any, now: int
    ) -> Any:
        if method.open:
            auth.refuse_credential_on_open_method(as_sent, credential)
            return None
        if credential is None:
            raise InvalidParams(auth.NOT_AUTHORIZED)
        return await self._authenticate(storage, credential, now)

    async def call(self, canonical: str, params: Any, id_: Any, ctx: Context) -> dict[str, Any] | None:
        """Run the handler through jsonrpcserver; the response object, or None for a notification."""
        request: dict[str, Any] = {"jsonrpc": "2.0", "method": canonical, "params": [params]}
        if id_ is not NO_ID:
            request["id"] = id_
        response = await async_dispatch_to_serializable(
            "", self._wrapped, context=ctx, deserializer=lambda _: request, validator=_accept
        )
        if response is not None and "error" in response and response["error"].get("code") not in MESSAGES:
            # jsonrpcserver's own -32000 "Server error" carries exception text: never send it.
            log.error("req=%s jsonrpcserver failed in %s: %r", ctx.request_id, canonical, response["error"])
            response["error"] = dict(INTERNAL_ERROR_OBJECT)
        return response  # type: ignore[return-value]

    async def answer(
        self, call: Call, header_value: str | None, storage: Any, clock: Callable[[], float], settings: Any, request_id: str
    ) -> dict[str, Any] | None:
        """The response object for one validated call (None for a notification)."""
        try:
            canonical, as_sent, method = self.resolve(call.method)
            now = int(clock())
            credential = auth.pick_credential(header_value, call.auth)
            caller = await self.caller_for(method, as_sent, credential, storage, now)
        except ApiError as exc:
            if call.is_notification:
                return None
            return {"jsonrpc": "2.0", "error": exc.to_error_object(), "id": call.id}
        ctx = Context(caller, storage, clock, settings, request_id, now)
        return await self.call(canonical, call.params, call.id, ctx)
