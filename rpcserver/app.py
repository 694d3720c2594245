"""The application factory: routes, storage lifecycle, the endpoint. No side effects on import."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Mapping

from aiohttp import web

from . import accesslog
from .appkeys import CLOCK_KEY, DELIVERIES_KEY, ENDPOINT_KEY, EXPIRY_KEY, METRICS_KEY, STORAGE_KEY
from .bootstrap import bootstrap
from .config import Config
from .context import Clock
from .dispatch import ApiMethod, Dispatcher
from .domain.errors import Unavailable
from .expiry import Expiry
from .hooks import ALERTMANAGER_PATH, handle_alertmanager
from .metrics import CONTENT_TYPE, Metrics
from .retrysafe import KeySweeper
from .storage import Storage
from .storage.gauges import database_state
from .transport import Endpoint, add_cors_headers, handle_jsonrpc
from .webhooks import Deliveries

log = logging.getLogger("rpcserver")

JSONRPC_PATHS = ("/api_jsonrpc", "/api_jsonrpc.php", "/zabbix/api_jsonrpc.php")


def create_app(
    config: Config,
    *,
    methods: Mapping[str, ApiMethod] | None = None,
    clock: Clock = time.time,
) -> web.Application:
    """Build the aiohttp application. The database opens when the app starts and closes
    (after in-flight calls finish) when it stops; the expiry of acknowledgements and webhook
    deliveries run in between.

    Args:
        config: the settings.
        methods: the method table; the full API (`methods.METHODS`) by default.
        clock: epoch seconds now; tests inject their own.
    """
    if methods is None:
        from methods import METHODS  # imported here: the handlers themselves import rpcserver

        methods = METHODS

    app = web.Application(client_max_size=config.body_limit)
    app.on_response_prepare.append(add_cors_headers)
    app[CLOCK_KEY] = clock
    accesslog.use_default_handler()

    async def storage_lifecycle(app: web.Application) -> AsyncIterator[None]:
        storage = await Storage.open(config.db, synchronous=config.synchronous, readers=config.readers)
        for warning in storage.warnings:
            log.warning(warning)
        expiry = Expiry(storage, clock)
        try:
            await bootstrap(storage, config, int(clock()))
            await expiry.start()  # first records what expired while the server was stopped
        except BaseException:
            await storage.close()
            raise
        deliveries = Deliveries(storage)
        await deliveries.start()
        app[STORAGE_KEY] = storage
        app[EXPIRY_KEY] = expiry
        app[DELIVERIES_KEY] = deliveries
        dispatcher = Dispatcher(methods, storage, clock, config)
        metrics = None
        queue_watch = None
        if not config.no_metrics:
            metrics = app[METRICS_KEY] = Metrics(dispatcher.names)
            storage.observe_writes(metrics)
            queue_watch = asyncio.create_task(metrics.follow_queue(lambda: storage.queue_depth), name="rpcserver-queue-depth")
        app[ENDPOINT_KEY] = Endpoint(dispatcher, config, metrics)
        sweeper = KeySweeper(storage, clock)
        sweeper.start()
        yield
        accesslog.flush()  # the lines of the last calls, before the database closes and "stopped"
        if queue_watch is not None:
            queue_watch.cancel()
        await sweeper.stop()
        await deliveries.stop()
        await expiry.stop()
        await storage.close()

    app[CLOCK_KEY] = clock
    app.cleanup_ctx.append(storage_lifecycle)
    for path in JSONRPC_PATHS:
        app.router.add_route("*", path, handle_jsonrpc)
    app.router.add_get("/healthz", healthz)
    app.router.add_post(ALERTMANAGER_PATH, handle_alertmanager)
    if not config.no_metrics:
        app.router.add_get("/metrics", scrape)
    return app


async def healthz(request: web.Request) -> web.Response:
    """200 once the database answers a query; 503 otherwise. Not JSON-RPC."""
    try:
        await request.app[STORAGE_KEY].ping()
    except Exception:
        return web.json_response({"status": "unavailable"}, status=503)
    return web.json_response({"status": "ok"})


async def scrape(request: web.Request) -> web.Response:
    """The metrics in Prometheus' text format. While the database cannot be read the calls' series are
    still answered (they show the failures), with `rpcserver_database_up 0` instead of its state."""
    try:
        state = await request.app[STORAGE_KEY].read(database_state, int(request.app[CLOCK_KEY]()))
    except Unavailable:  # the storage has logged the fault
        state = None
    metrics = request.app[METRICS_KEY]
    metrics.queued(request.app[STORAGE_KEY].queue_depth)  # this process's depth as it is now
    return web.Response(body=metrics.scrape(state), headers={"Content-Type": CONTENT_TYPE})
