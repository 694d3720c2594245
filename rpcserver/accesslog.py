"""The one line per request: an INFO record of the "rpcserver.access" logger, so a program's own logging
configuration can route, silence or reformat it; by default `BatchingHandler` writes it to standard error.
"""

from __future__ import annotations

import asyncio
import logging
import random
import sys
import time

access_log = logging.getLogger("rpcserver.access")

_MILLISECONDS = tuple(f"{ms:03d}" for ms in range(1000))
"""A line's milliseconds as logging writes them: looked up, as formatting with `:03d` costs more than
twice the rest of the line."""


def new_request_id() -> str:
    """The id a request's log lines and X-Request-Id share: 8 hex digits, to find one request among many
    (not a secret, so not `secrets`: its getrandom call gives up the GIL, a wait for the writer thread)."""
    return f"{random.getrandbits(32):08x}"


def lighter_records() -> None:
    """Skip what every log record gathers that `rpcserver serve`'s format never shows (the calling
    frame, the thread, the process): the line per request then costs about 7 µs instead of 11."""
    logging._srcfile = None  # documented as the way to skip finding the caller ("Optimization", logging HOWTO)
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False


class BatchingHandler(logging.Handler):
    """Writes records as `rpcserver serve`'s logging format does (`<asctime> <levelname> <message>`), the
    lines of one event-loop iteration in one write as the next begins.

    A StreamHandler with that format costs several times as much per line (bench/README.md, "the
    per-request log line"): this one formats with the timestamp's seconds cached and writes once per
    iteration. `flush` writes what is pending at once (the app's cleanup calls it).
    """

    def __init__(self, tag: str = "") -> None:
        super().__init__()
        self._tag = tag
        self._pending: list[str] = []
        self._second = -1
        self._stamp = ""

    def emit(self, record: logging.LogRecord) -> None:
        self.write(record.created, record.getMessage(), record.levelname)

    def write(self, now: float, message: str, level: str = "INFO") -> None:
        """Queue the line of a record made at `now` (see `info`)."""
        self._pending.append(self.line(now, message, level))
        if len(self._pending) == 1:
            try:
                asyncio.get_running_loop().call_soon(self.flush)
            except RuntimeError:  # no event loop runs: write it now
                self.flush()

    def line(self, now: float, message: str, level: str = "INFO") -> str:
        """As logging.Formatter("%(asctime)s %(levelname)s %(message)s") makes it of a record created at `now`."""
        second = int(now)
        if second != self._second:
            self._second, self._stamp = second, time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
        return f"{self._stamp},{_MILLISECONDS[int((now - second) * 1000)]} {level} {self._tag}{message}\n"

    def flush(self) -> None:
        if self._pending:
            text = "".join(self._pending)
            self._pending.clear()
            sys.stderr.write(text)  # looked up each time, as logging's lastResort does: tests swap stderr
            sys.stderr.flush()


def info(message: str) -> None:
    """`message` as an INFO record of "rpcserver.access" (check `access_log.isEnabledFor(logging.INFO)` before
    building it). While that logger writes only through the BatchingHandler `use_default_handler` gave it,
    with no filter (as `rpcserver serve` leaves it), the line goes to the handler directly: making the
    LogRecord and taking logging's locks were most of the line's cost. Any other configuration gets the record."""
    handlers = access_log.handlers
    if len(handlers) == 1 and type(handler := handlers[0]) is BatchingHandler and not access_log.filters \
            and not handler.filters and handler.level <= logging.INFO:
        handler.write(time.time(), message)
    else:
        access_log.info(message)


def use_default_handler(tag: str = "") -> None:
    """Unless the program configured "rpcserver.access" itself, write its lines with a BatchingHandler
    only (not also through the root logger's handlers, which would write each line twice); each line's
    message starts with `tag` (a worker's "[worker N] ")."""
    if not access_log.handlers:
        access_log.addHandler(BatchingHandler(tag))
        access_log.propagate = False


def flush() -> None:
    """Write the pending lines now."""
    for handler in access_log.handlers:
        handler.flush()
