"""Stopping gracefully: calls in flight finish, new ones are not accepted, the database closes."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import replace
from typing import Any

import aiohttp
import pytest

from methods import METHODS
from rpcserver.app import create_app
from rpcserver.appkeys import STORAGE_KEY
from rpcserver.config import Config
from rpcserver.dispatch import ApiMethod
from rpcserver.domain.errors import Unavailable
from rpcserver.server import run_event_loop, serve


async def test_stopping_lets_calls_in_flight_finish_then_closes_the_database(config: Config) -> None:
    started = asyncio.Event()

    async def slow_write(ctx: Any, params: Any) -> str:
        started.set()
        await asyncio.sleep(0.3)
        return await ctx.storage.write(lambda conn: "written")

    app = create_app(config, methods={**METHODS, "test.slow": ApiMethod(slow_write, open=True)})
    stop = asyncio.Event()
    ready: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    server = asyncio.create_task(serve(replace(config, shutdown_timeout=10), app, stop, on_ready=ready.set_result))
    port = await asyncio.wait_for(ready, 10)
    url = f"http://127.0.0.1:{port}/api_jsonrpc"
    body = {"jsonrpc": "2.0", "method": "test.slow", "params": {}, "id": 1}
    async with aiohttp.ClientSession() as session:
        in_flight = asyncio.create_task(session.post(url, json=body))
        await started.wait()
        stop.set()  # what SIGTERM does
        response = await in_flight
        assert response.status == 200
        assert await response.json() == {"jsonrpc": "2.0", "result": "written", "id": 1}
        await asyncio.wait_for(server, 10)
        with pytest.raises(aiohttp.ClientConnectionError):
            await session.post(url, json=body)
    with pytest.raises(Unavailable, match="shutting down"):
        await app[STORAGE_KEY].write(lambda conn: None)


def test_the_server_runs_on_uvloop_where_it_is_installed() -> None:
    async def loop_module() -> str:
        return type(asyncio.get_running_loop()).__module__

    assert run_event_loop(loop_module()).startswith("uvloop")


def test_without_uvloop_the_server_runs_on_asyncios_loop(monkeypatch: Any) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # what `import uvloop` meets where it is not installed

    async def loop_module() -> str:
        return type(asyncio.get_running_loop()).__module__

    assert run_event_loop(loop_module()).startswith("asyncio")
