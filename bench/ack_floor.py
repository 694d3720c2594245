"""How far the single acknowledge can go on this stack: run.py's part 1 at 64 connections (or
`--connections`) for three servers, interleaved: the bare endpoint (bare.py), the floor (floor.py: aiohttp
+ rpcserver's acknowledge unit through its group-commit writer, nothing else of ours) and rpcserver.

    python bench/ack_floor.py         # from the clone's root, with the venv's Python; about 2 minutes
    python bench/ack_floor.py --standin ../shared/bench/standin.py   # and the stand-in beside them

If the floor's ratio to bare is under run.py's 0.25 target, no work on our JSON-RPC, credential, schema
or logging layers can reach it: those layers are all the floor leaves out.

`--standin` adds the yardstick issue 17 measured "room" by: the workplace's stand-in (not part of this
repository), the same libraries (jsonrpcserver, marshmallow, aiosqlite, orjson, uvloop) answering the
same calls with a minimal durable write (an UPDATE and an INSERT per call, group commit, synchronous=FULL)
and no credentials, permissions or history rules. It runs as its README says, on a database its own
make_db.py builds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import make_db  # noqa: E402
from run import (  # noqa: E402
    CLIENT_CPU,
    PINNING,
    STANDIN_READY,
    TARGETS,
    drained,
    drive,
    free_port,
    load_generator,
    server,
    standin_command,
)
from stores import SqliteStore, StandinStore  # noqa: E402

NAMES = {"bare": "bare aiohttp+orjson", "floor": "floor: aiohttp + the acknowledge unit, durable",
         "rpc": "rpcserver (everything)",
         "standin": "stand-in: jsonrpcserver + marshmallow + UPDATE and INSERT, durable, no credentials"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per point (default 10)")
    parser.add_argument("--reps", type=int, default=3, help="repetitions, interleaved (default 3)")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/rpcserver-bench"))
    parser.add_argument("--connections", type=int, default=64,
                        help="connections (default 64, where run.py's ratio target is; its p50 target is at 16)")
    parser.add_argument("--standin", type=Path, help="the stand-in's standin.py (its make_db.py beside it): measured too")
    args = parser.parse_args()
    if PINNING:
        os.sched_setaffinity(0, {int(CLIENT_CPU)})
    loadgen, command = load_generator(forced_python=False)
    args.workdir.mkdir(parents=True, exist_ok=True)
    template = args.workdir / "template.db"
    make_db.build(template, args.events)
    problems = args.events * 4 // 5
    # floor and rpc: a copy of the template each, in a directory of its own (a store's files have fixed names)
    stores: dict[str, SqliteStore | StandinStore] = {}
    for name in ("floor", "rpc"):
        (args.workdir / f"{name}-floor").mkdir(exist_ok=True)
        stores[name] = SqliteStore(args.workdir / f"{name}-floor", template)
    load = os.getloadavg()
    python = sys.executable
    commands = {
        "bare": [python, str(BENCH / "bare.py")],
        "floor": [python, str(BENCH / "floor.py"), "--db", stores["floor"].db],
        "rpc": [python, "-m", "rpcserver", "serve", "--db", stores["rpc"].db, "--port", "0", "--synchronous", "FULL"],
    }
    readiness: dict[str, dict[str, Any]] = {}
    if args.standin:
        standin, port = args.standin.resolve(), free_port()  # resolved: the servers run in the workdir
        stores["standin"] = StandinStore.built(standin, args.workdir / "standin.db", args.events)
        commands["standin"] = standin_command(standin, stores["standin"].db, port)
        readiness["standin"] = {"ready": STANDIN_READY, "port": port}
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in commands}
    with ExitStack() as stack:
        servers = {name: stack.enter_context(server(f"{name}-floor", cmd, args.workdir, **readiness.get(name, {})))
                   for name, cmd in commands.items()}
        for target in servers.values():  # warm-up, discarded
            drive(command(target.url, 16, 2), make_db.BENCH_TOKEN, problems)
        for rep in range(args.reps):
            for name, target in servers.items():
                before_cpu = target.cpu_seconds()
                before_rows = stores[name].count_acknowledges() if name in stores else 0
                result = drive(command(target.url, args.connections, args.duration), make_db.BENCH_TOKEN, problems)
                result["cpu_us"] = (target.cpu_seconds() - before_cpu) / result["requests"] * 1e6
                if name in stores:
                    result["stored"] = drained(stores[name], target) - before_rows
                results[name].append(result)
                print(f"  {name:7} rep {rep + 1}: {result['rps']:8.0f} req/s", file=sys.stderr)
    report(results, args.connections, loadgen, load, os.getloadavg())


def report(results: dict[str, list[dict[str, Any]]], connections: int, loadgen: str,
           load_before: tuple[float, ...], load: tuple[float, ...]) -> None:
    bare = statistics.median(r["rps"] for r in results["bare"])
    print(f"{loadgen}; {connections} connections; load average {load_before[0]:.2f} before, {load[0]:.2f} after\n")
    print("| server | req/s (each rep) | req/s median | p50 ms | server CPU µs/req | ratio to bare | errors |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for name, runs in results.items():
        rps = statistics.median(r["rps"] for r in runs)
        cpu = statistics.median(r["cpu_us"] for r in runs)
        p50 = statistics.median(r["p50_us"] for r in runs) / 1000
        errors = sum(r["errors"] + r["non2xx"] for r in runs)
        each = " / ".join(f"{r['rps']:.0f}" for r in runs)
        print(f"| {NAMES[name]} | {each} | {rps:.0f} | {p50:.2f} | {cpu:.0f} | {rps / bare:.2f} | {errors} |")
    if connections == 64:
        # The same ratios as time per call on the server's core (1 / req/s): what the target leaves our layers
        # above the floor, against what they take. A budget near zero means the floor itself is the target.
        per_request = {name: 1e6 / statistics.median(r["rps"] for r in runs) for name, runs in results.items()}
        allowed = per_request["bare"] / TARGETS["single"]
        print(f"\nat {TARGETS['single']} of bare a call may take {allowed:.0f} µs; the floor takes {per_request['floor']:.0f}, which leaves"
              f" {allowed - per_request['floor']:.0f} µs for our layers (JSON-RPC, credentials, schema, log, metrics);"
              f" they take {per_request['rpc'] - per_request['floor']:.0f} µs here")
    unstored = [f"{name} rep {i + 1}" for name in results if name != "bare" for i, r in enumerate(results[name])
                if not r["requests"] <= r["stored"] <= r["requests"] + connections + r["errors"]]
    print(f"\ntargets (run.py): >= {TARGETS['single']} of bare at 64 connections, p50 <= {TARGETS['p50_ms']:g} ms at 16. Checks: "
          + ("every answered acknowledge stored" if not unstored else "answers and stored rows differ: " + ", ".join(unstored)))


if __name__ == "__main__":
    started = time.monotonic()
    main()
    print(f"(took {time.monotonic() - started:.0f} s)")
