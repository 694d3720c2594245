"""`GET /metrics`: Prometheus text format, made by the official client library (prometheus-client).

What is counted where it happens: calls by method and outcome and their latency (transport.py, per
call of a request; tallied in plain ints and added to the library's series as a scrape begins), the
writer's batch sizes and queue depth (the group-commit writer). What is a fact
of the database (open problems, active acknowledgements) is read from it at each scrape, so every
process serving one database answers the same.

Labels never carry a credential, a username or a param value: `method` is the canonical name of a
method that exists, or `other` for any other name (unknown, misspelt, an invalid envelope or a whole
request refused); `outcome` is `ok`, `notification` or a JSON-RPC error code.

Several workers behind one port (`serve --workers`): the library's multi-process mode. The parent
calls `prepare_workers(directory)` before starting them; each worker then writes its series to files
there, and whichever worker a scrape reaches adds up all of them (per-worker series with a `worker`
label would be scraped from one random worker at a time).
"""

from __future__ import annotations

import asyncio
import os
import re
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
    values,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"
OTHER_METHOD = "other"
"""The `method` label of every call that does not name a method of the API."""
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Seconds; a call answered from memory takes well under a millisecond, a bulk write of 10,000 ids about one."""
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
"""Units of work per transaction; the writer takes at most 512 at once."""
QUEUE_DEPTH_EVERY = 1.0
"""Seconds between updates of the writer queue's depth by the clock (`Metrics.follow_queue`)."""
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""The format generate_latest writes."""
SERIES_FILE = re.compile(r"(counter|histogram|summary|gauge_[a-z]+)_\d+\.db")
"""The name of a file of series prometheus-client's multi-process mode writes: kind (and gauge mode), pid."""


def prepare_workers(directory: str | Path) -> None:
    """Make this process and the workers it starts afterwards share their metrics through `directory`.

    For the supervisor of `serve --workers`, before it starts (forks or spawns) any worker: creates the
    directory, removes the series an earlier run left there (they would be added to this run's), and
    sets PROMETHEUS_MULTIPROC_DIR, which the workers inherit. When a worker dies, call `worker_exited`.

    Raises:
        ValueError: the directory holds files that are not metrics (the message says which).
    """
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    # A scrape reads every *.db file there as series, and stale series are deleted: a directory that
    # holds anything else (a database) is refused, untouched.
    foreign = sorted(file.name for file in path.iterdir() if not SERIES_FILE.fullmatch(file.name))
    if foreign:
        raise ValueError(f"the metrics directory {path} holds {foreign[0]}, not only metrics; give it a directory of its own")
    for stale in path.iterdir():
        stale.unlink()
    os.environ[MULTIPROC_DIR] = str(path)
    # The library picks its value store when first imported: a worker forked from this process would
    # otherwise keep the in-memory one.
    values.ValueClass = values.get_value_class()


def workers_stopped(previous_directory: str | None) -> None:
    """Undo `prepare_workers` once every worker has stopped: this process counts in memory again (or in
    `previous_directory`), so nothing it runs later writes to a directory about to be removed."""
    if previous_directory is None:
        os.environ.pop(MULTIPROC_DIR, None)
    else:
        os.environ[MULTIPROC_DIR] = previous_directory
    values.ValueClass = values.get_value_class()


def worker_exited(pid: int) -> None:
    """Drop the series of the worker `pid` that only live workers count (the writer's queue depth)."""
    multiprocess.mark_process_dead(pid)


def _multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_DIR) or None


class StateCollector(Collector):
    """The gauges of `storage.gauges.database_state`, as last read (the /metrics handler reads them just before);
    None: the database could not be read."""

    def __init__(self) -> None:
        self.state: dict[str, Any] | None = None

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily("rpcserver_database_up", "1 if the database answered this scrape's query, else 0",
                                value=int(self.state is not None))
        if self.state is None:
            return
        yield GaugeMetricFamily("rpcserver_open_problems", "Problems not resolved", value=self.state["open_problems"])
        yield GaugeMetricFamily("rpcserver_active_acknowledgements", "Acknowledgement spans in force now",
                                value=self.state["active_acknowledgements"])
        deliveries = self.state.get("deliveries")
        if deliveries is not None:
            family = GaugeMetricFamily("rpcserver_webhook_deliveries", "Webhook deliveries by state", labels=["state"])
            for state, count in deliveries.items():
                family.add_metric([state], count)
            yield family


class _Tally:
    """The calls of one (method, outcome) not yet in the library's series: counting them in plain ints
    and adding them at each scrape costs a third of the library's per-call inc() and observe() (its lock
    per value, its walk over the buckets)."""

    __slots__ = ("count", "seconds", "buckets")

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.count = 0
        self.seconds = 0.0
        self.buckets = [0] * (len(LATENCY_BUCKETS) + 1)
        """Calls per latency bucket: the first bound at or above the latency (bisect_left), +Inf last."""


class Metrics:
    """The series of one server process, and what a scrape of it answers."""

    def __init__(self, method_names: Iterable[str]) -> None:
        self._methods = frozenset(method_names)
        disable_created_metrics()  # a `_created` series beside each: twice the scrape for what Prometheus itself tracks
        shared = _multiprocess_dir()
        # A registry of this app's own: tests run many apps in one process, and the library's global
        # registry would refuse a second set of series. In multi-process mode the series live in files
        # and are registered nowhere: a scrape reads all the workers' files through MultiProcessCollector.
        self.registry = CollectorRegistry()
        if shared:
            multiprocess.MultiProcessCollector(self.registry, path=shared)
        own = None if shared else self.registry
        self.state = StateCollector()
        self.registry.register(self.state)
        self._calls = Counter("rpcserver_calls", "JSON-RPC calls answered, by method and outcome",
                              ["method", "outcome"], registry=own)
        self._latency = Histogram("rpcserver_call_duration_seconds", "Time from a call's decoding to its answer, by method",
                                  ["method"], buckets=LATENCY_BUCKETS, registry=own)
        self.batch_size = Histogram("rpcserver_writer_batch_size", "Units of work (writes) committed in one transaction",
                                    buckets=BATCH_BUCKETS, registry=own)
        self.queue_depth = Gauge("rpcserver_writer_queue_depth", "Writes waiting for the writer (summed over live workers)",
                                 registry=own, multiprocess_mode="livesum")
        self._children: dict[tuple[str, str], tuple[Any, Any]] = {}
        self._shared = bool(shared)
        self._tallies: dict[tuple[str, str], _Tally] = {}

    def method_label(self, method: Any) -> str:
        """The canonical name of the method `method` names (as the dispatcher resolves it), else `other`."""
        if not isinstance(method, str):
            return OTHER_METHOD
        api, _, rest = method.partition(".")
        canonical = f"{api}.{rest.split('.', 1)[0]}".lower()
        return canonical if canonical in self._methods else OTHER_METHOD

    def call(self, method: Any, response: dict[str, Any] | None, seconds: float) -> None:
        """Count one call (`response` None: a notification) and its latency."""
        if response is None:
            outcome = "notification"
        else:
            error = response.get("error")
            outcome = "ok" if error is None else str(error["code"])
        # Most clients send the canonical name: found as is, without rebuilding it.
        key = (method if type(method) is str and method in self._methods else self.method_label(method), outcome)
        tally = self._tallies.get(key)
        if tally is None:
            tally = self._tallies[key] = _Tally()
        tally.count += 1
        tally.seconds += seconds
        tally.buckets[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        if self._shared:  # another worker may answer the next scrape: the files hold every call at once
            self._publish(key, tally)

    def publish(self) -> None:
        """Add the calls tallied since the last time to the library's series (before a scrape reads them)."""
        for key, tally in self._tallies.items():
            if tally.count:
                self._publish(key, tally)

    def _publish(self, key: tuple[str, str], tally: _Tally) -> None:
        children = self._children.get(key)
        if children is None:  # labels() looks its child up under a lock at every call: keep them
            children = self._children[key] = (self._calls.labels(*key), self._latency.labels(key[0]))
        calls, latency = children
        calls.inc(tally.count)
        # A histogram child's sum and bucket values (prometheus-client has no public way to add many
        # observations at once; tests/test_metrics.py compares the result with observe()'s).
        latency._sum.inc(tally.seconds)
        for bucket, count in zip(latency._buckets, tally.buckets):
            if count:
                bucket.inc(count)
        tally.clear()

    def committed(self, units: int) -> None:
        self.batch_size.observe(units)

    def queued(self, depth: int) -> None:
        self.queue_depth.set(depth)

    async def follow_queue(self, depth: Callable[[], int]) -> None:
        """Set the queue depth every QUEUE_DEPTH_EVERY seconds, until cancelled: besides at each batch and
        scrape, so that under --workers a writer stuck in one batch shows its queue growing whichever
        worker a scrape reaches."""
        while True:
            self.queued(depth())
            await asyncio.sleep(QUEUE_DEPTH_EVERY)

    def scrape(self, state: dict[str, Any] | None) -> bytes:
        self.publish()
        self.state.state = state
        return generate_latest(self.registry)
