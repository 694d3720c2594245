"""From a validated `Call` to its answer: method lookup, credentials, size limits, the handler, one error boundary.

jsonrpcserver makes the call: each handler is registered with it wrapped in `_boundary`, which
turns our `ApiError`s and the domain's errors (worded by `errors.api_error`) into JSON-RPC errors,
and anything unexpected into a fixed -32603 (logged with the request id; the client never sees
exception text, SQL or paths). The handler receives `(context, params)`: params as one value, so
parameter errors come from our schemas in Zabbix's wording, never from Python's signature check.

The envelope and the method table are ours (rpcserver.envelope, `Dispatcher.resolve`), so jsonrpcserver
is called per request through the functions its public `dispatch` runs for each request once it has
found the method (`call`, then `to_response` and `to_serializable_one`, or for a success `serialize_success`
alone): the call, the check of its result and the response building stay jsonrpcserver's, without
re-deserializing, re-validating and a Task per request
(`asyncio.gather`); bench/README.md has what that saves. Its argument check (`validate_args`, an
`inspect.Signature.bind` per call) is skipped: every handler is called with exactly (context, params).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from jsonrpcserver import Error, Success
from jsonrpcserver.async_dispatcher import call as jsonrpcserver_call
from jsonrpcserver.dispatcher import to_response
from jsonrpcserver.request import Request
from jsonrpcserver.response import SuccessResponse, serialize_success, to_serializable_one
from jsonrpcserver.sentinels import NOID
from oslash.either import Right  # type: ignore[import-untyped]  # jsonrpcserver's result type

from . import auth
from .context import Clock, Context
from .domain.errors import DomainError
from .envelope import NO_ID, Call
from .errors import (
    INTERNAL_ERROR,
    INTERNAL_ERROR_DATA,
    INTERNAL_ERROR_OBJECT,
    MESSAGES,
    ApiError,
    InvalidParams,
    MethodNotFound,
    api_error,
)
from .limits import check_sizes

if TYPE_CHECKING:
    from .config import Config
    from .storage import Storage, Transaction

log = logging.getLogger("rpcserver")

Handler = Callable[[Context, Any], Awaitable[Any]]


@dataclass(frozen=True)
class ByName:
    """Params as one object of `schema`'s fields; `many`: or an array of such objects (Zabbix's create/update)."""

    schema: Any
    many: bool = False


@dataclass(frozen=True)
class ByPosition:
    """Params as an array, each item a `name` accepted as `item` (a field), e.g. the ids of a delete."""

    name: str
    item: Any


@dataclass(frozen=True)
class ApiMethod:
    """A method of the API: its handler, whether it is open, and what rpc.discover says of it.

    The handler's docstring is the method's description (first line: its summary); `params` and
    `result` are marshmallow schemas or fields describing what it takes and answers.
    """

    handler: Handler
    open: bool = False
    """Callable without credentials, and refusing them (apiinfo.version, user.login, ...)."""
    params: ByName | ByPosition | None = None
    """None: the method takes no params."""
    result: Any = None
    example: Any = None
    """Params of a call that succeeds on a new `rpcserver serve --demo`, as Admin (tested so)."""

    @property
    def one_or_many(self) -> bool:
        """Takes one object or an array of them (create, update): Zabbix's paths count a single object as `/1`."""
        return isinstance(self.params, ByName) and self.params.many


def _boundary(name: str, handler: Handler) -> Callable[[Context, Any], Awaitable[Any]]:
    async def call(ctx: Context, params: Any) -> Any:
        try:
            return Success(await handler(ctx, params))
        except ApiError as exc:
            return Error(exc.code, MESSAGES[exc.code], exc.data)
        except DomainError as exc:
            error = api_error(exc)
            return Error(error.code, MESSAGES[error.code], error.data)
        except Exception:
            log.exception("req=%s internal error in %s", ctx.request_id, name)
            return Error(INTERNAL_ERROR, MESSAGES[INTERNAL_ERROR], INTERNAL_ERROR_DATA)

    return call


@dataclass(slots=True)  # made per call: not frozen, whose __init__ is four times as slow
class RequestScope:
    """What one HTTP request gives all its calls."""

    header_credential: str | None
    request_id: str
    client_ip: str
    within_sizes: bool = False
    """The body is too small to break the size limits (`limits.within_sizes`): `check_sizes` is skipped."""
    transaction: Transaction | None = None
    """The request's own writer transaction (API.md §8), which every call then uses; None: the
    ordinary way, each write group-committed on its own."""


class Dispatcher:
    def __init__(
        self,
        table: Mapping[str, ApiMethod],
        storage: Storage,
        clock: Clock,
        settings: Config,
    ) -> None:
        self._methods = {name.lower(): method for name, method in table.items()}
        self._apis = {name.split(".", 1)[0] for name in self._methods}
        self._wrapped = {name: _boundary(name, m.handler) for name, m in self._methods.items()}
        self._storage = storage
        self._clock = clock
        self._settings = settings
        self._callers = auth.Callers(storage)

    @property
    def storage(self) -> Storage:
        return self._storage

    @property
    def callers(self) -> auth.Callers:
        return self._callers

    @property
    def clock(self) -> Clock:
        return self._clock

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

    async def _caller(
        self, canonical: str, as_sent: str, method: ApiMethod, credential: auth.Credential | None, now: int,
        transaction: Transaction | None,
    ) -> Any:
        if method.open:
            auth.refuse_credential_on_open_method(as_sent, credential)
            return None
        # Session ids and tokens are hex: a credential with anything but ASCII in it (a header's
        # undecodable bytes among them) was never issued here.
        if credential is None or not credential.value.isascii():
            raise InvalidParams(auth.NOT_AUTHORIZED)
        caller = await self._callers.authenticate(credential, now, transaction)
        auth.check_method_allowed(caller, canonical, as_sent)
        return caller

    async def answer(self, call: Call, scope: RequestScope) -> dict[str, Any] | None:
        """The response object for one validated call (None for a notification)."""
        try:
            canonical, as_sent, method = self.resolve(call.method)
            now = int(self._clock())
            credential = auth.pick_credential(scope.header_credential, call.auth)
            caller = await self._caller(canonical, as_sent, method, credential, now, scope.transaction)
            # After the credentials, as Zabbix validates params only for a caller allowed the method.
            params = [call.params] if method.one_or_many and type(call.params) is dict else call.params
            if not scope.within_sizes:
                check_sizes(params, self._settings.ids_limit, self._settings.string_limit)
        except (ApiError, DomainError) as exc:  # a domain error: authentication's read failed
            if call.is_notification:
                return None
            error = exc if isinstance(exc, ApiError) else api_error(exc)
            return {"jsonrpc": "2.0", "error": error.to_error_object(), "id": call.id}
        storage = self._storage if scope.transaction is None else scope.transaction
        ctx = Context(caller, storage, self._clock, self._settings, scope.request_id, now, scope.client_ip)
        return await self._call(canonical, call.params, call.id, ctx)

    async def _call(self, canonical: str, params: Any, id_: Any, ctx: Context) -> dict[str, Any] | None:
        """Run the handler through jsonrpcserver; the response object, or None for a notification."""
        request = Request(canonical, [params], NOID if id_ is NO_ID else id_)
        result = await jsonrpcserver_call(request, ctx, self._wrapped[canonical])
        if request.id is NOID:
            return None
        if type(result) is Right:
            # A success serialized as to_response and to_serializable_one do it, without the two
            # wrappings they make of it first (1.1 µs instead of 3.2 here: bench/README.md).
            return serialize_success(SuccessResponse(result._value.result, request.id))  # as to_response reads it
        # One response, not a batch: to_serializable_one, as to_serializable would after an isinstance
        # against typing.List (a slow check).
        response = cast("dict[str, Any]", to_serializable_one(to_response(request, result)))
        error = response["error"]
        if error["message"] != MESSAGES.get(error["code"]):
            # An error of jsonrpcserver's own making (its messages are not Zabbix's) may carry
            # exception text: never send it.
            log.error("req=%s jsonrpcserver failed in %s: %r", ctx.request_id, canonical, response["error"])
            response["error"] = dict(INTERNAL_ERROR_OBJECT)
        return response
