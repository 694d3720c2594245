"""A closed-loop HTTP/1.1 load generator in Python, for machines without wrk.

N keep-alive connections each send the next request when the previous answer has arrived, for a
fixed time. It prints the same `BENCH {...}` line as ack.lua does for wrk. Being Python, it needs
more CPU per request than wrk: run it on its own core and check that it is not the limit (its own
CPU use is printed as `client_cpu`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import time
from urllib.parse import urlsplit

PATH = "/api_jsonrpc"


def ack_body(request_id: int, problems: int) -> bytes:
    n = random.randrange(problems)
    eventid = (n // 4) * 5 + n % 4 + 1
    return (
        f'{{"jsonrpc":"2.0","method":"event.acknowledge","params":{{"eventids":["{eventid}"],"action":6,'
        f'"message":"Problem resolved."}},"id":{request_id}}}'
    ).encode()


def http_request(host: str, body: bytes, token: str) -> bytes:
    head = (
        f"POST {PATH} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json-rpc\r\n"
        f"Authorization: Bearer {token}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def read_response(reader: asyncio.StreamReader) -> int:
    """Read one response; return its status."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    await reader.readexactly(length)
    return status


class Counts:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.errors = 0
        self.non2xx = 0


async def connection(url: str, token: str, problems: int, deadline: float, counts: Counts, ids: list[int]) -> None:
    parts = urlsplit(url)
    try:
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    except OSError:
        counts.errors += 1
        return
    try:
        while time.perf_counter() < deadline:
            ids[0] += 1
            started = time.perf_counter()
            writer.write(http_request(parts.netloc, ack_body(ids[0], problems), token))
            status = await read_response(reader)
            counts.latencies.append(time.perf_counter() - started)
            if not 200 <= status < 300:
                counts.non2xx += 1
    except (OSError, asyncio.IncompleteReadError):
        counts.errors += 1
    finally:
        writer.close()


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, int(fraction * len(sorted_values)))]


async def run(url: str, connections: int, seconds: float, token: str, problems: int) -> dict[str, float]:
    counts = Counts()
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(*(connection(url, token, problems, deadline, counts, [i * 10**9]) for i in range(connections)))
    elapsed = time.perf_counter() - started
    latencies = sorted(counts.latencies)
    return {
        "requests": len(latencies),
        "duration_us": int(elapsed * 1e6),
        "errors": counts.errors,
        "non2xx": counts.non2xx,
        "p50_us": int(percentile(latencies, 0.50) * 1e6),
        "p99_us": int(percentile(latencies, 0.99) * 1e6),
        "max_us": int((latencies[-1] if latencies else 0) * 1e6),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="http://127.0.0.1:PORT")
    parser.add_argument("-c", "--connections", type=int, default=16)
    parser.add_argument("-d", "--seconds", type=float, default=10)
    args = parser.parse_args()
    try:
        import uvloop  # the faster loop makes a less limiting client

        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    result = runner(run(args.url, args.connections, args.seconds, os.environ["BENCH_TOKEN"], int(os.environ["BENCH_PROBLEMS"])))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result["client_cpu"] = round((usage.ru_utime + usage.ru_stime) / (result["duration_us"] / 1e6), 2)
    print("BENCH " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
