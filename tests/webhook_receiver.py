"""A webhook receiver for tests: an aiohttp server on 127.0.0.1 that records what it is sent."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

WAIT = 30.0
"""The longest any test waits for a delivery (a retry comes within seconds)."""


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict[str, Any]:
        parsed: dict[str, Any] = orjson.loads(self.body)
        return parsed


@dataclass
class Receiver:
    """Records every POST; answers each path with the statuses queued for it (then 200), and holds
    the requests to /hang until `release` is set."""

    url: str = ""
    received: list[Received] = field(default_factory=list)
    statuses: dict[str, list[int]] = field(default_factory=dict)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    answered: list[Received] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        one = Received(request.path, dict(request.headers), await request.read())
        self.received.append(one)
        self.arrived.set()
        if request.path == "/hang":
            await self.release.wait()
        queued = self.statuses.get(request.path, [])
        status = queued.pop(0) if queued else 200
        if status == 200:
            self.answered.append(one)
        return web.Response(status=status)

    def at(self, path: str, *, answered: bool = False) -> list[Received]:
        return [one for one in (self.answered if answered else self.received) if one.path == path]

    async def wait(self, path: str, count: int, *, answered: bool = True) -> list[Received]:
        """The requests to `path` once there are `count` of them (answered 2xx unless told)."""
        async def enough() -> None:
            while len(self.at(path, answered=answered)) < count:
                self.arrived.clear()
                await self.arrived.wait()
        await asyncio.wait_for(enough(), WAIT)
        return self.at(path, answered=answered)


async def start_receiver(aiohttp_server: Any) -> Receiver:
    """A receiver served by pytest-aiohttp's `aiohttp_server`: POSTs to any path."""
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/{path:.*}", receiver.handle)
    server = await aiohttp_server(app)
    receiver.url = str(server.make_url(""))
    return receiver
