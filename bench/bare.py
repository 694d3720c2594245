"""The yardstick: a bare aiohttp endpoint with orjson, no JSON-RPC, no auth, no database.

It reads the body, decodes it, and answers a JSON-RPC success echoing the event ids; it runs as
rpcserver does (asyncio.run, aiohttp's AppRunner with access logging off). Prints the line
`listening on http://127.0.0.1:<port>/` once it accepts connections, and stops on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import orjson
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rpcserver.server import stop_on_signals


async def acknowledge(request: web.Request) -> web.Response:
    call = orjson.loads(await request.read())
    answer = {"jsonrpc": "2.0", "result": {"eventids": call["params"]["eventids"]}, "id": call["id"]}
    return web.Response(body=orjson.dumps(answer), content_type="application/json")


async def serve(port: int) -> None:
    app = web.Application()
    app.router.add_post("/api_jsonrpc", acknowledge)
    await run_until_stopped(app, port)


async def run_until_stopped(app: web.Application, port: int) -> None:
    """Serve `app` on 127.0.0.1 as rpcserver serves (floor.py's app too): announce the port, stop on a signal."""
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    print(f"listening on http://127.0.0.1:{runner.addresses[0][1]}/", flush=True)
    stop = asyncio.Event()
    stop_on_signals(stop)
    await stop.wait()
    await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0)
    asyncio.run(serve(parser.parse_args().port))


if __name__ == "__main__":
    main()
