"""A real `rpcserver serve` process on 127.0.0.1, for end-to-end tests."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

READY = re.compile(r"listening on http://127\.0\.0\.1:(\d+)/")
WORKER_STARTED = re.compile(r"worker (\d+) started \(pid (\d+)\)")
START_TIMEOUT = 30.0


def rpcserver_command() -> list[str]:
    """The console script the README runs, next to this Python; `python -m rpcserver` if absent."""
    script = shutil.which("rpcserver", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "rpcserver"]


def run_cli(args: Sequence[str], *, cwd: Path, env: dict[str, str] | None = None, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*rpcserver_command(), *args], cwd=cwd, env={**os.environ, **(env or {})},
        capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
    )


@dataclass
class ServerProcess:
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text()

    def wait_for_log(self, pattern: str, timeout: float = 10) -> re.Match[str]:
        """The first match of `pattern` in the log, waited for up to `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while not (match := re.search(pattern, self.log())):
            if time.monotonic() > deadline:
                raise AssertionError(f"no {pattern!r} in the log within {timeout}s:\n{self.log()}")
            time.sleep(0.05)
        return match

    def workers(self) -> dict[int, int]:
        """Under --workers: the pid of each worker number, as the parent last started it."""
        return {int(number): int(pid) for number, pid in WORKER_STARTED.findall(self.log())}

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError(f"server did not stop within {timeout}s after signal {sig}") from None


@contextmanager
def running_server(workdir: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[ServerProcess]:
    """Start `rpcserver serve --port 0 ...` in `workdir`, wait until it listens, stop it after."""
    with running_servers(workdir, 1, *args, env=env) as [server]:
        yield server


@contextmanager
def running_servers(workdir: Path, count: int, *args: str, env: dict[str, str] | None = None) -> Iterator[list[ServerProcess]]:
    """`count` servers as `running_server` starts one, all started at once (over one database: instances)."""
    started: list[tuple[subprocess.Popen[bytes], Path]] = []
    try:
        for _ in range(count):
            log_path = workdir / f"server-{time.monotonic_ns()}.log"
            with open(log_path, "wb") as log_file:
                started.append((subprocess.Popen(
                    [*rpcserver_command(), "serve", "--port", "0", *args], cwd=workdir, env={**os.environ, **(env or {})},
                    stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                ), log_path))
        yield [_ready(process, log_path) for process, log_path in started]
    finally:
        for process, log_path in started:
            if process.poll() is None:
                process.kill()
                process.wait(10)
            for _, pid in WORKER_STARTED.findall(log_path.read_text()):  # no worker outlives the test
                with suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGKILL)


def _ready(process: subprocess.Popen[bytes], log_path: Path) -> ServerProcess:
    deadline = time.monotonic() + START_TIMEOUT
    while not (match := READY.search(log_path.read_text())):
        if process.poll() is not None:
            raise AssertionError(f"server exited with {process.returncode}:\n{log_path.read_text()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"server did not start within {START_TIMEOUT}s:\n{log_path.read_text()}")
        time.sleep(0.05)
    return ServerProcess(process, int(match.group(1)), log_path)
