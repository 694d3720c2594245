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
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

READY = re.compile(r"listening on http://127\.0\.0\.1:(\d+)/")
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
    log_path = workdir / f"server-{time.monotonic_ns()}.log"
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            [*rpcserver_command(), "serve", "--port", "0", *args], cwd=workdir, env={**os.environ, **(env or {})},
            stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
    deadline = time.monotonic() + START_TIMEOUT
    try:
        while not (match := READY.search(log_path.read_text())):
            if process.poll() is not None:
                raise AssertionError(f"server exited with {process.returncode}:\n{log_path.read_text()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"server did not start within {START_TIMEOUT}s:\n{log_path.read_text()}")
            time.sleep(0.05)
        server = ServerProcess(process, int(match.group(1)), log_path)
        yield server
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
