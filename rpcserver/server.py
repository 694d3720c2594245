"""Running the app on a socket, and stopping it gracefully."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import socket
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from aiohttp import web

from .config import Config
from .storage import describe

log = logging.getLogger("rpcserver")

T = TypeVar("T")


class ListenError(Exception):
    """The address cannot be listened on; the message says which and why."""


async def serve(
    config: Config,
    app: web.Application,
    stop: asyncio.Event,
    on_ready: Callable[[int], None] | None = None,
    sock: socket.socket | None = None,
) -> None:
    """Serve `app` until `stop` is set, then stop accepting, let in-flight calls finish (up to
    `config.shutdown_timeout`) and close the database. With `sock` (a worker's, see workers.py), accept
    on that listening socket instead of binding config's host and port.

    Raises:
        StorageOpenError: the database cannot be used (nothing was listened on).
        ListenError: the host/port cannot be listened on.
    """
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=config.shutdown_timeout)
    await runner.setup()  # opens the database: fail before taking the port
    try:
        if sock is not None:
            await web.SockSite(runner, sock).start()
            port = sock.getsockname()[1]
            log.info("serving (pid %d)", os.getpid())  # the parent says "listening" once every worker serves
        else:
            site = web.TCPSite(runner, config.host, config.port)
            try:
                await site.start()
            except OSError as exc:
                raise ListenError(f"cannot listen on {config.host}:{config.port}: {exc.strerror or exc}") from None
            port = runner.addresses[0][1]
            log.info("rpcserver listening on http://%s:%d/api_jsonrpc (database %s)", config.host, port, describe(config.db))
        if on_ready is not None:
            on_ready(port)
        await stop.wait()
        log.info("stopping: finishing calls in flight, then closing the database")
    finally:
        await runner.cleanup()
    log.info("stopped")


def stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)


GC_THRESHOLD = 10_000
"""Container objects made (net of those freed) between two of the cycle collector's youngest
collections: Python's default is 700. Under load, every request in flight (its coroutines, futures,
dicts) is alive at each collection; at 700 they kept being promoted, which set off a collection of
the whole heap about once a second: 23 µs of CPU per acknowledge at 64 connections, 1 µs at 10,000
(bench/README.md). Cyclic garbage waits for at most that many objects."""


def collect_less_often() -> None:
    """The server's setting of the cycle collector (GC_THRESHOLD), for its process and the workers it forks."""
    gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])


def run_event_loop(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)`, on uvloop where it is installed (not on Windows): its loop costs each
    HTTP request less CPU than asyncio's own (bench/README.md has the figures)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)
