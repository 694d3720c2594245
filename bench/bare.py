"""The yardstick: a bare aiohttp endpoint with orjson, no JSON-RPC, no auth, no database.

It reads the body, decodes it, and answers a JSON-RPC success echoing the event ids; it runs as
rpcserver does (`server.run_event_loop`: on uvloop where installed; the server's cycle-collector
setting; aiohttp's AppRunner with access logging off). Prints the line
`listening on http://127.0.0.1:<port>/` once it accepts connections, and stops on SIGTERM/SIGINT.
With `--workers N` it runs as `rpcserver serve --workers N` does: a parent binds N sockets to the
port (SO_REUSEPORT) and N forked processes accept, one on each (bench/workers.py).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import orjson
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rpcserver.server import collect_less_often, run_event_loop, stop_on_signals


async def acknowledge(request: web.Request) -> web.Response:
    call = orjson.loads(await request.read())
    answer = {"jsonrpc": "2.0", "result": {"eventids": call["params"].get("eventids", [])}, "id": call["id"]}
    return web.Response(body=orjson.dumps(answer), content_type="application/json")


def bare_app() -> web.Application:
    app = web.Application()
    app.router.add_post("/api_jsonrpc", acknowledge)
    return app


async def serve(port: int) -> None:
    await run_until_stopped(bare_app(), port)


async def serve_socket(sock: socket.socket) -> None:
    """One worker of `--workers`: the bare app on the parent's listening socket until SIGTERM."""
    runner = web.AppRunner(bare_app(), access_log=None, handle_signals=False)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    stop = asyncio.Event()
    stop_on_signals(stop)
    await stop.wait()
    await runner.cleanup()


def serve_workers(port: int, workers: int) -> None:
    sockets = [socket.create_server(("127.0.0.1", port), reuse_port=True)]
    sockets += [socket.create_server(sockets[0].getsockname(), reuse_port=True) for _ in range(workers - 1)]
    stopping = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, stopping)  # the parent waits for them below
    children = []
    for sock in sockets:
        pid = os.fork()
        if pid == 0:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, stopping)
            try:
                run_event_loop(serve_socket(sock))
            finally:
                os._exit(0)
        children.append(pid)
    print(f"listening on http://127.0.0.1:{sockets[0].getsockname()[1]}/", flush=True)
    signal.sigwait(stopping)
    for pid in children:
        os.kill(pid, signal.SIGTERM)
    for pid in children:
        os.waitpid(pid, 0)


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
    parser.add_argument("--workers", type=int, default=1, help="processes accepting on the one port")
    args = parser.parse_args()
    collect_less_often()
    if args.workers > 1:
        serve_workers(args.port, args.workers)
    else:
        run_event_loop(serve(args.port))


if __name__ == "__main__":
    main()
