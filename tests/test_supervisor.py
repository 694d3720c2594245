"""The --workers parent in this process (rpcserver/workers.py): the sockets it binds, the database it
prepares, and the Supervisor, whose workers are real forked processes serving real HTTP. Test runs
measure coverage in this process only: tests/test_workers.py drives the same code through `rpcserver
serve`, here it is run where it is measured."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import re
import signal
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from rpcserver import accesslog
from rpcserver.config import Config
from rpcserver.server import ListenError
from rpcserver.storage import Storage, StorageOpenError, users
from rpcserver.workers import _status, listen, prepare, run_worker, run_workers

DEADLINE = 30.0
"""A bound on each wait below, never reached when the workers work."""


def test_listen_binds_one_socket_per_worker_on_one_port(tmp_path: Path) -> None:
    sockets = listen(Config(db=tmp_path / "l.db", port=0, workers=3))
    try:
        ports = {sock.getsockname()[1] for sock in sockets}
        assert len(sockets) == 3 and len(ports) == 1 and 0 not in ports
    finally:
        for sock in sockets:
            sock.close()


def test_a_port_taken_by_another_program_is_a_listen_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ListenError, match=f"cannot listen on 127.0.0.1:{port}"):
            listen(Config(db=tmp_path / "l.db", port=port, workers=2))


async def test_prepare_makes_the_first_admin_once(config: Config) -> None:
    await prepare(config)
    await prepare(config)
    storage = await Storage.open(config.db)
    try:
        assert await storage.read(users.has_users)
        assert not await storage.write(users.create_admin, "hash")  # made already, by the first prepare
    finally:
        await storage.close()


def answers(port: int) -> bool:
    try:
        body = {"jsonrpc": "2.0", "method": "apiinfo.version", "params": {}, "id": 1}
        return requests.post(f"http://127.0.0.1:{port}/api_jsonrpc", json=body, timeout=5).json()["result"] == "7.0.0"
    except requests.RequestException:
        return False


def wait_until(condition: Any, what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


# Python 3.12 warns when a process with threads forks (this test's driver is one); the workers fork
# from the supervising thread only, which is what matters here.
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_the_supervisor_replaces_a_dead_worker_and_stops_all_on_sigterm(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    config = Config(db=tmp_path / "s.db", port=0, workers=2, admin_password="supervised", password_cost=4, shutdown_timeout=5)
    seen: dict[str, Any] = {}

    def listening_port() -> int | None:
        for record in list(caplog.records):
            if match := re.search(r"listening on http://127\.0\.0\.1:(\d+)/", record.getMessage()):
                return int(match.group(1))
        return None

    def drive() -> None:
        try:
            wait_until(lambda: listening_port() is not None, "the parent did not announce its port")
            port = listening_port()
            assert port is not None
            wait_until(lambda: len(multiprocessing.active_children()) == 2 and answers(port), "the workers did not serve")
            first = {child.pid for child in multiprocessing.active_children()}
            victim = min(pid for pid in first if pid is not None)
            os.kill(victim, signal.SIGKILL)
            wait_until(lambda: {child.pid for child in multiprocessing.active_children()} - first, "no worker replaced the dead one")
            wait_until(lambda: answers(port), "the workers did not serve after the replacement")
            seen["victim"] = victim
        finally:
            os.kill(os.getpid(), signal.SIGTERM)  # to the supervisor, as `kill <parent>` would

    before = signal.getsignal(signal.SIGTERM)
    driver = threading.Thread(target=drive)
    with caplog.at_level("INFO", logger="rpcserver"):
        driver.start()
        status = run_workers(config)
        driver.join(DEADLINE)
    assert status == 0
    assert "victim" in seen
    assert signal.getsignal(signal.SIGTERM) is before  # the supervisor gave the signals back
    assert not multiprocessing.active_children()
    messages = [record.getMessage() for record in caplog.records]
    assert any(f"(pid {seen['victim']}) exited with signal SIGKILL" in message for message in messages), messages
    assert sum("rpcserver listening on" in message for message in messages) == 1
    assert messages[-1] == "stopped"


def test_a_worker_in_this_process_serves_until_sigterm(tmp_path: Path) -> None:
    """run_worker, where a forked worker runs it, here in the test's own process (so it is measured)."""
    config = Config(db=tmp_path / "w.db", port=0, admin_password="worker", password_cost=4)
    asyncio.run(prepare(config))
    [sock] = listen(config)
    ready_reader, ready_writer = multiprocessing.Pipe(duplex=False)
    port = sock.getsockname()[1]
    root = logging.getLogger()
    formatters = {handler: handler.formatter for handler in root.handlers}
    access_handlers, access_propagate = accesslog.access_log.handlers[:], accesslog.access_log.propagate
    served: list[bool] = []

    def drive() -> None:
        try:
            assert ready_reader.poll(DEADLINE), "the worker did not say it serves"
            assert ready_reader.recv() == 7
            served.append(answers(port))
        finally:
            os.kill(os.getpid(), signal.SIGTERM)  # handled by the worker's event loop: it stops

    driver = threading.Thread(target=drive)
    driver.start()
    try:
        run_worker(config, sock, 7, ready_writer)
    finally:
        driver.join(DEADLINE)
        sock.close()
        for handler, formatter in formatters.items():  # what run_worker set up for a worker process
            handler.setFormatter(formatter)
        accesslog.access_log.handlers[:] = access_handlers
        accesslog.access_log.propagate = access_propagate
    assert served == [True]


def test_a_database_that_cannot_be_used_stops_the_parent_before_any_worker(tmp_path: Path) -> None:
    config = Config(db=tmp_path / "missing" / "x.db", port=0, workers=2)
    with pytest.raises(StorageOpenError, match="unable to open the file"):
        run_workers(config)
    assert not multiprocessing.active_children()


def test_a_worker_s_exit_is_told_by_signal_or_code() -> None:
    assert _status(-signal.SIGKILL) == "signal SIGKILL"
    assert _status(2) == "code 2"
