"""Instructions per call, counted by valgrind's callgrind: the same count whatever else the machine does.

    python bench/instructions.py [--connections 64] [--calls 500 2500] [--events 50000]

Wall-clock A/B on a shared machine moves by ±20 % between rounds of the same tree; a lever worth a few
per cent shows here (bench/README.md, third session). Each figure is the difference between a run of
FEW and a run of MANY calls, divided by MANY - FEW, so start-up and shutdown cancel out:

- `bare`: bench/bare.py answering the acknowledge's POST (the yardstick);
- `apiinfo.version`: rpcserver's fixed cost per call (HTTP, envelope, dispatch, log line, metrics);
- `event.acknowledge`: one problem per call, the bench user (permission-checked), over HTTP;
- `acknowledge unit`: the acknowledges alone, in-process, in batches of 32 as the writer runs them (one
  `acknowledge_together` unit a batch, through `run_batch`; per call; no HTTP, no event loop);
- with `--standin PATH`, `stand-in`: the workplace's stand-in (PATH is its standin.py; see
  bench/ack_floor.py) answering the same acknowledges, on a database its own make_db.py builds, run as its
  README says but with `--sync NORMAL` (it has no OFF; the fsync is the kernel's work either way).

The servers run with `--synchronous OFF` (fsync is the kernel's work, which callgrind does not count)
and are driven over loopback by CONNECTIONS keep-alive connections, every answer checked. About 3
minutes; needs valgrind (`apt-get install valgrind`).
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

import make_db  # noqa: E402

READY = re.compile(r"listening on http://127\.0\.0\.1:(\d+)/")
COLLECTED = re.compile(r"Collected : (\d+)")
UNIT_BATCH = 32


def acknowledge_body(n: int) -> bytes:
    return (b'{"jsonrpc":"2.0","method":"event.acknowledge","params":{"eventids":["%d"],"action":6,'
            b'"message":"Problem resolved."},"id":%d}' % (make_db.problem_eventid(n), n))


def version_body(n: int) -> bytes:
    return b'{"jsonrpc":"2.0","method":"apiinfo.version","params":{},"id":%d}' % n


def drive(port: int, calls: int, connections: int, body: Callable[[int], bytes], token: str | None) -> None:
    """`calls` calls, the n-th with `body(n)`, over `connections` keep-alive connections; each answer checked."""
    numbers = iter(range(calls))
    lock = threading.Lock()
    failures: list[bytes] = []
    headers = {"Content-Type": "application/json-rpc"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        while True:
            with lock:
                n = next(numbers, None)
            if n is None:
                break
            conn.request("POST", "/api_jsonrpc", body(n), headers)
            answer = conn.getresponse().read()
            if b'"result"' not in answer:
                failures.append(answer)
                break
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise SystemExit(f"a call failed: {failures[0][:300]!r}")


def counted(command: list[str], workdir: Path, then: Callable[[int], None] | None = None,
            ready: re.Pattern[str] = READY, port: int | None = None) -> int:
    """Instructions callgrind counted in `command`, which either runs to its end (`then` None) or is a
    server: once it listens, `then(port)` drives it, and SIGTERM stops it. A server that says it listens
    otherwise (`ready`) was told its `port`."""
    log_path = workdir / "callgrind.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *command],
                                   stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=workdir)
    try:
        if then is not None:
            deadline = time.monotonic() + 600
            while not (match := ready.search(log_path.read_text(errors="replace"))):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"{command[1]} did not start:\n{log_path.read_text(errors='replace')[-2000:]}")
                time.sleep(0.2)
            then(port if port is not None else int(match.group(1)))
            process.send_signal(signal.SIGTERM)
        process.wait(600)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    found = COLLECTED.search(log_path.read_text(errors="replace"))
    if found is None:
        raise SystemExit(f"callgrind printed no count:\n{log_path.read_text(errors='replace')[-2000:]}")
    return int(found.group(1))


def per_call(measure: Callable[[int, Path], int], few: int, many: int) -> float:
    """(count of MANY - count of FEW) / (MANY - FEW), the two runs at once (callgrind is single-threaded)."""
    with tempfile.TemporaryDirectory(prefix="rpcserver-instructions-") as tmp:
        dirs = [Path(tmp) / "few", Path(tmp) / "many"]
        counts: list[int] = [0, 0]

        def run(i: int, calls: int) -> None:
            dirs[i].mkdir()
            counts[i] = measure(calls, dirs[i])

        threads = [threading.Thread(target=run, args=(i, calls)) for i, calls in enumerate((few, many))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if not all(counts):
            raise SystemExit("a measurement failed (see above)")
    return (counts[1] - counts[0]) / (many - few)


def served_copy(db: Path, workdir: Path) -> Path:
    """A fresh copy of `db` in `workdir` (an earlier copy's WAL files removed)."""
    served = workdir / "served.sqlite"
    for suffix in ("-wal", "-shm"):
        Path(f"{served}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(db, served)
    return served


def served_calls(db: Path, workdir: Path, calls: int, connections: int, body: Callable[[int], bytes],
                 token: str | None, flags: tuple[str, ...] = ()) -> int:
    """Instructions of `rpcserver serve` (bench/serve.py, `--synchronous OFF`, `flags`) on a copy of `db`
    that started, answered `calls` calls of `body` and stopped."""
    command = [sys.executable, str(BENCH / "serve.py"), "--db", str(served_copy(db, workdir)), "--port", "0",
               "--synchronous", "OFF", *flags]
    return counted(command, workdir, lambda port: drive(port, calls, connections, body, token))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--calls", type=int, nargs=2, default=(500, 2500), metavar=("FEW", "MANY"))
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--standin", type=Path, help="the stand-in's standin.py (its make_db.py beside it): counted too")
    parser.add_argument("--unit-batches", type=int, help=argparse.SUPPRESS)  # the in-process part, run under callgrind
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.unit_batches is not None:
        run_units(args.db, args.unit_batches)
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    few, many = args.calls
    if 2 * (many + UNIT_BATCH) > args.events * 4 // 5:  # distinct problems for every call, twice over for the unit
        raise SystemExit("--events too small for that many distinct problems")
    python, connections = sys.executable, args.connections
    with tempfile.TemporaryDirectory(prefix="rpcserver-instructions-") as tmp:
        db = Path(tmp) / "bench.sqlite"
        make_db.build(db, args.events)

        def server(body: Callable[[int], bytes], token: str | None) -> Callable[[int, Path], int]:
            return lambda calls, workdir: served_calls(db, workdir, calls, connections, body, token)

        def bare(calls: int, workdir: Path) -> int:
            command = [python, str(BENCH / "bare.py"), "--port", "0"]
            return counted(command, workdir, lambda port: drive(port, calls, connections, acknowledge_body, None))

        def unit(batches: int, workdir: Path) -> int:
            command = [python, __file__, "--unit-batches", str(batches), "--db", str(served_copy(db, workdir))]
            return counted(command, workdir)

        rows = [
            ("bare", per_call(bare, few, many)),
            ("apiinfo.version", per_call(server(version_body, None), few, many)),
            ("event.acknowledge", per_call(server(acknowledge_body, make_db.BENCH_TOKEN), few, many)),
            ("acknowledge unit", per_call(unit, few // UNIT_BATCH + 1, many // UNIT_BATCH + 1) / UNIT_BATCH),
        ]
        if args.standin:
            rows.append(("stand-in", per_call(standin_counter(args.standin.resolve(), Path(tmp), args.events, connections), few, many)))
    print(f"instructions per call (callgrind; {many - few} calls over {connections} connections, the unit in-process):")
    for name, value in rows:
        print(f"  {name:18} {value:12,.0f}")


def standin_counter(standin: Path, tmp: Path, events: int, connections: int) -> Callable[[int, Path], int]:
    """A measure for `per_call`: the stand-in answering `calls` acknowledges, on a copy of its own database."""
    from run import STANDIN_READY, free_port, standin_command  # here: the unit's process under callgrind needs none of run.py's imports

    db = tmp / "standin.sqlite"
    subprocess.run([sys.executable, str(standin.parent / "make_db.py"), str(db), str(events)], check=True, stdout=subprocess.DEVNULL)

    def measure(calls: int, workdir: Path) -> int:
        port = free_port()
        command = standin_command(standin, str(served_copy(db, workdir)), port, sync="NORMAL")
        return counted(command, workdir, lambda port: drive(port, calls, connections, acknowledge_body, None),
                       ready=STANDIN_READY, port=port)

    return measure


def run_units(db: Path, batches: int) -> None:
    """`batches` batches of UNIT_BATCH acknowledges of random problems, as the writer runs them: together."""
    from rpcserver.domain.acknowledge import Request
    from rpcserver.storage import credentials
    from rpcserver.storage._writer import Failed
    from rpcserver.storage.acknowledge import acknowledge_together
    from rpcserver.storage.sqlite import WRITER_CACHE_KIB, connect, run_batch

    conn = connect(str(db))
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute(f"PRAGMA cache_size = -{WRITER_CACHE_KIB}")
    userid = conn.execute("SELECT userid FROM users WHERE username = 'bench'").fetchone()[0]
    request = Request(6, "Problem resolved.")
    writers_lock = os.open(db, os.O_RDONLY)
    problems = random.Random(1).sample(range(batches * UNIT_BATCH * 2), batches * UNIT_BATCH)
    now = int(time.time())
    for start in range(0, len(problems), UNIT_BATCH):
        calls = [(request, [make_db.problem_eventid(n)], userid, False, now) for n in problems[start:start + UNIT_BATCH]]
        committed, outcomes = run_batch(conn, [lambda conn, calls=calls: acknowledge_together(conn, calls),
                                               credentials.generation], writers_lock)
        if not committed or not isinstance(outcomes[0], list) or any(isinstance(each, Failed) for each in outcomes[0]):
            raise SystemExit(f"a batch failed: {outcomes}")


if __name__ == "__main__":
    main()
