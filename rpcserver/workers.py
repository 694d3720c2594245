"""`rpcserver serve --workers N`: N worker processes serving one port, and the parent that keeps them.

The parent binds the port: one listening socket per worker, all on that port with SO_REUSEPORT, so
the kernel spreads new connections evenly over the workers (by a hash of the client's address and
port). One socket shared by every worker would go to whichever worker wakes first, which on a busy
machine often takes a whole burst of keep-alive connections (measured: bench/README.md, Workers).
The parent keeps every socket open and each worker accepts on its own (inherited through fork), so
`--port 0` works (the first socket picks the port, the others join it), the port stays bound while a
worker is replaced, and the connections waiting for a worker that died stay queued for the one that
replaces it instead of being reset, as they would be with each worker binding its own socket.

The parent prepares the database once before any worker starts (schema, the first Admin, whose
password is printed once, and the demo data), then only supervises: it replaces a worker that
dies, within a second, and on SIGTERM or SIGINT passes the signal on and waits for every worker
to finish its calls in flight. Workers run the ordinary server (`create_app`, `serve`); what they
share lives in the database. Their log lines start with `[worker N]`.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess

from . import accesslog, metrics
from .bootstrap import bootstrap
from .config import Config, ConfigError
from .server import ListenError, run_event_loop, serve, stop_on_signals
from .storage import Storage, StorageOpenError, describe

log = logging.getLogger("rpcserver")

RESTART_DELAY = 1.0
"""Seconds before replacing a worker that died young (within STEADY seconds of its start): one
that cannot start (its database unreachable, say) is retried once a second, not in a busy loop."""
STEADY = 5.0
STOP_GRACE = 10.0
"""Seconds past --shutdown-timeout the parent waits for a stopping worker before it kills it."""
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}
ORPHAN_POLL = 0.5
"""Seconds between a worker's checks that its parent is still there."""


def listen(config: Config) -> list[socket.socket]:
    """One listening socket per worker, all on config's port. Raises ListenError."""
    sockets: list[socket.socket] = []
    try:
        # the first address the host resolves to, IPv4 or IPv6 (aiohttp alone would listen on each of them)
        family, _, _, _, address = socket.getaddrinfo(config.host, config.port, type=socket.SOCK_STREAM,
                                                      flags=socket.AI_PASSIVE)[0]
        for _ in range(config.workers):
            sockets.append(socket.create_server(address, family=family, reuse_port=True))
            address = sockets[0].getsockname()  # the port the first one was given, for --port 0
    except OSError as exc:
        for sock in sockets:
            sock.close()
        raise ListenError(f"cannot listen on {config.host}:{config.port}: {exc.strerror or exc}") from None
    return sockets


async def prepare(config: Config) -> None:
    """Schema, first Admin and demo data, once, before any worker opens the database.

    Raises:
        StorageOpenError: the database cannot be used.
    """
    storage = await Storage.open(config.db, synchronous=config.synchronous, readers=1)
    try:
        await bootstrap(storage, config, int(time.time()))
    finally:
        await storage.close()


def run_worker(config: Config, sock: socket.socket, number: int, ready: Connection) -> None:
    """A worker process's whole life: the ordinary server on its socket, inherited, until SIGTERM.

    The one place a worker starts: whatever each worker process must set up first goes here.
    """
    signal.set_wakeup_fd(-1)  # the parent's; the worker's event loop installs its own
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)  # blocked by the parent while it forked us
    tag = f"[worker {number}] "
    for handler in logging.getLogger().handlers:
        handler.setFormatter(logging.Formatter(f"%(asctime)s %(levelname)s {tag}%(message)s"))
    accesslog.use_default_handler(tag)

    from .app import create_app  # the API's modules: imported in the workers, not in the parent

    async def main() -> None:
        stop = asyncio.Event()
        stop_on_signals(stop)
        orphaned = asyncio.create_task(_stop_when_orphaned(stop))
        await serve(config, create_app(config), stop, on_ready=lambda port: ready.send(number), sock=sock)
        orphaned.cancel()

    try:
        run_event_loop(main())
    except StorageOpenError as exc:  # the database went away since the parent opened it: the parent retries
        log.error("%s", exc)
        sys.exit(2)


async def _stop_when_orphaned(stop: asyncio.Event) -> None:
    """Stop as on SIGTERM once the parent is gone (killed): no worker serves on unsupervised."""
    parent = os.getppid()
    while os.getppid() == parent:
        await asyncio.sleep(ORPHAN_POLL)
    log.warning("the parent process has gone; stopping")
    stop.set()


class Supervisor:
    """The parent: starts the workers, replaces those that die, stops them all on a signal."""

    def __init__(self, config: Config, sockets: list[socket.socket]) -> None:
        self._config = config
        self._sockets = sockets
        self._context = multiprocessing.get_context("fork")
        self._ready_reader, self._ready_writer = self._context.Pipe(duplex=False)
        self._workers: dict[int, tuple[BaseProcess, float]] = {}
        """By worker number: the process and when it started."""

    def _start(self, number: int) -> None:
        process = self._context.Process(
            target=run_worker, args=(self._config, self._sockets[number - 1], number, self._ready_writer), name=f"worker {number}",
        )
        # A stop signal arriving while the worker is forked stays pending until the worker has its own
        # handling (run_worker unblocks it): caught by the parent's handler it inherits, it would be lost.
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            process.start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        self._workers[number] = (process, time.monotonic())
        log.info("worker %d started (pid %d)", number, process.pid)

    def run(self) -> int:
        """Serve until SIGTERM or SIGINT; returns the exit status."""
        wakeup_reader, wakeup_writer = socket.socketpair()
        wakeup_reader.setblocking(False)
        wakeup_writer.setblocking(False)
        signal.set_wakeup_fd(wakeup_writer.fileno())
        previous = {signum: signal.signal(signum, lambda signum, frame: None)  # the wakeup fd carries it below
                    for signum in STOP_SIGNALS}
        for number in range(1, self._config.workers + 1):
            self._start(number)
        port = self._sockets[0].getsockname()[1]
        starting, announced = set(self._workers), False
        try:
            while True:
                by_sentinel = {process.sentinel: number for number, (process, _) in self._workers.items()}
                ready = wait([wakeup_reader, self._ready_reader, *by_sentinel])
                if wakeup_reader in ready and wakeup_reader.recv(64):
                    return self._stop_all()
                if self._ready_reader in ready:
                    while self._ready_reader.poll():
                        starting.discard(self._ready_reader.recv())
                    if not starting and not announced:  # once, when every first worker serves
                        announced = True
                        log.info("rpcserver listening on http://%s:%d/api_jsonrpc (database %s, %d workers)",
                                 self._config.host, port, describe(self._config.db), self._config.workers)
                for sentinel in ready:
                    if sentinel in by_sentinel:
                        self._replace(by_sentinel[sentinel])
        finally:
            signal.set_wakeup_fd(-1)
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            wakeup_reader.close()
            wakeup_writer.close()

    def _replace(self, number: int) -> None:
        process, started = self._workers.pop(number)
        process.join()
        lived = time.monotonic() - started
        log.warning("worker %d (pid %d) exited with %s after %.1f s; starting another",
                    number, process.pid, _status(process.exitcode), lived)
        if not self._config.no_metrics and process.pid is not None:
            metrics.worker_exited(process.pid)
        if lived < STEADY:
            time.sleep(RESTART_DELAY)
        self._start(number)

    def _stop_all(self) -> int:
        log.info("stopping: each worker finishes its calls in flight, then closes the database")
        for process, _ in self._workers.values():
            if process.exitcode is None and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + self._config.shutdown_timeout + STOP_GRACE
        clean = True
        for number, (process, _) in sorted(self._workers.items()):
            process.join(max(0.0, deadline - time.monotonic()))
            if process.exitcode is None:
                log.error("worker %d (pid %d) did not stop in time; killing it", number, process.pid)
                process.kill()
                process.join()
            if process.exitcode not in (0, -signal.SIGTERM):  # SIGTERM's default: stopped before it served anything
                clean = False
        for sock in self._sockets:
            sock.close()
        log.info("stopped")
        return 0 if clean else 1


def _status(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        return f"signal {signal.Signals(-exitcode).name}"
    return f"code {exitcode}"


def run_workers(config: Config) -> int:
    """`serve --workers N`: set up the metrics directory, bind, prepare the database, supervise;
    returns the exit status.

    Raises:
        ConfigError: the metrics directory holds other files.
        ListenError: the host/port cannot be listened on.
        StorageOpenError: the database cannot be used.
    """
    with _metrics_directory(config):
        sockets = listen(config)
        try:
            asyncio.run(prepare(config))
        except BaseException:
            for sock in sockets:
                sock.close()
            raise
        sys.stdout.flush()
        sys.stderr.flush()  # written once, by the parent, not again by each forked worker
        return Supervisor(config, sockets).run()


@contextmanager
def _metrics_directory(config: Config) -> Iterator[None]:
    """The workers' series meet in files of one directory (prometheus-client's multi-process mode), so
    a scrape that reaches any worker reports them all. A temporary one is removed afterwards."""
    if config.no_metrics:
        yield
        return
    directory = config.metrics_dir or tempfile.mkdtemp(prefix="rpcserver-metrics-")
    previous = os.environ.get(metrics.MULTIPROC_DIR)
    try:
        metrics.prepare_workers(directory)
    except ValueError as exc:
        raise ConfigError(f"metrics-dir: {exc}") from None
    try:
        yield
    finally:
        metrics.workers_stopped(previous)
        if not config.metrics_dir:
            shutil.rmtree(directory, ignore_errors=True)
