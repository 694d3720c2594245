"""The durable acknowledge with nothing of ours around it: aiohttp + orjson, as bench/bare.py, whose
handler runs rpcserver's acknowledge unit (storage/acknowledge.py, permission checks included) through
its group-commit writer (synchronous=FULL) and answers when the write is committed.

No JSON-RPC envelope or dispatch, no credentials (the user is fixed: `bench`), no params schema, no log
line: what an acknowledge costs on this stack before any of those. ack_floor.py drives it next to the
bare endpoint and rpcserver. Prints `listening on http://127.0.0.1:<port>/` once it accepts connections,
and stops on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import orjson
from aiohttp import web

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

from bare import run_until_stopped  # noqa: E402

from rpcserver.domain.acknowledge import Request  # noqa: E402
from rpcserver.server import collect_less_often, run_event_loop  # noqa: E402
from rpcserver.storage import Storage  # noqa: E402
from rpcserver.storage.acknowledge import acknowledge as acknowledge_unit  # noqa: E402

STORAGE_KEY = web.AppKey("storage", Storage)
USERID_KEY = web.AppKey("userid", int)
ACTION_6 = Request(6, "Problem resolved.")
"""What ack.lua sends: acknowledge (2) with a message (4)."""


async def acknowledge(request: web.Request) -> web.Response:
    call = orjson.loads(await request.read())
    eventids = [int(eventid) for eventid in call["params"]["eventids"]]
    await request.app[STORAGE_KEY].write(acknowledge_unit, ACTION_6, eventids, request.app[USERID_KEY], False, int(time.time()))
    answer = {"jsonrpc": "2.0", "result": {"eventids": eventids}, "id": call["id"]}
    return web.Response(body=orjson.dumps(answer), content_type="application/json")


async def serve(db: Path, port: int) -> None:
    storage = await Storage.open(db, synchronous="FULL")
    userid = await storage.read(lambda conn: conn.execute("SELECT userid FROM users WHERE username = 'bench'").fetchone()[0])
    app = web.Application()
    app[STORAGE_KEY], app[USERID_KEY] = storage, userid
    app.router.add_post("/api_jsonrpc", acknowledge)
    try:
        await run_until_stopped(app, port)
    finally:
        await storage.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, required=True, help="a database bench/make_db.py built")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    collect_less_often()
    run_event_loop(serve(args.db, args.port))


if __name__ == "__main__":
    main()
