"""GET /metrics (API.md §11): the series move with the calls, hold no secret, and add up across processes."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, values
from prometheus_client.parser import text_string_to_metric_families

from methods import METHODS
from rpcserver import metrics
from rpcserver.app import create_app
from rpcserver.config import Config
from rpcserver.metrics import LATENCY_BUCKETS, OTHER_METHOD, Metrics, prepare_workers
from rpcserver.storage import sqlite as sqlite_backend

from .conftest import ADMIN_PASSWORD, FakeClock, post, request, result_of, storage_of
from .server_process import running_server
from .storage.test_postgresql import set_connections
from .stores import Postgres, url_of

SERVER_ENV = {"RPCSERVER_ADMIN_PASSWORD": ADMIN_PASSWORD, "RPCSERVER_PASSWORD_COST": "4"}
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    """Every sample of a scrape: (name, labels) -> value."""
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    """A sample's value; 0 for a series not there yet (a counter not yet incremented)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


async def scrape(client: Any) -> Samples:
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return parse(await response.text())


def calls(samples: Samples, method: str, outcome: str) -> float:
    return value(samples, "rpcserver_calls_total", method=method, outcome=outcome)


async def test_calls_are_counted_by_method_and_outcome_with_their_latency(client: Any, rpc: Any, admin: str) -> None:
    before = await scrape(client)
    for _ in range(3):
        result_of(await rpc("apiinfo.version"))
    await rpc("host.get", {"output": "bogus"}, headers={"Authorization": f"Bearer {admin}"})  # -32602
    await rpc("no.such", {})
    await rpc("apiinfo.version", {}, id=None)  # a call with id null is answered: counted as ok
    after = await scrape(client)
    assert calls(after, "apiinfo.version", "ok") - calls(before, "apiinfo.version", "ok") == 4
    assert calls(after, "host.get", "-32602") - calls(before, "host.get", "-32602") == 1
    assert calls(after, OTHER_METHOD, "-32601") - calls(before, OTHER_METHOD, "-32601") == 1
    latency_count = value(after, "rpcserver_call_duration_seconds_count", method="apiinfo.version")
    assert latency_count - value(before, "rpcserver_call_duration_seconds_count", method="apiinfo.version") == 4
    assert value(after, "rpcserver_call_duration_seconds_bucket", method="apiinfo.version", le="+Inf") == latency_count
    assert value(after, "rpcserver_call_duration_seconds_sum", method="apiinfo.version") > 0


def test_tallied_calls_scrape_as_the_librarys_own_counting_would() -> None:
    """Metrics.call tallies in plain ints and adds them to the library's series at a scrape: the figures
    must be those of a counter's inc() and a histogram's observe() per call, bound for bound."""
    latencies = [0.0001, *LATENCY_BUCKETS, *(bound * 1.001 for bound in LATENCY_BUCKETS), 0.003, 0.003, 60.0]
    tallied = Metrics(["event.acknowledge"])
    for seconds in latencies:
        tallied.call("event.acknowledge", {"result": {}}, seconds)
    reference = CollectorRegistry()
    counter = Counter("rpcserver_calls", "", ["method", "outcome"], registry=reference)
    histogram = Histogram("rpcserver_call_duration_seconds", "", ["method"], buckets=LATENCY_BUCKETS, registry=reference)
    for seconds in latencies:
        counter.labels("event.acknowledge", "ok").inc()
        histogram.labels("event.acknowledge").observe(seconds)
    expected = {key: count for key, count in parse(generate_latest(reference).decode()).items() if key[0].startswith("rpcserver_call")}
    first = parse(tallied.scrape(None).decode())
    assert {key: count for key, count in first.items() if key in expected} == expected
    tallied.call("event.acknowledge", {"result": {}}, 0.003)  # tallied anew after a scrape, added once
    assert value(parse(tallied.scrape(None).decode()), "rpcserver_call_duration_seconds_bucket", method="event.acknowledge",
                 le="0.005") == value(first, "rpcserver_call_duration_seconds_bucket", method="event.acknowledge", le="0.005") + 1


async def test_notifications_batches_and_refused_requests_are_counted(client: Any) -> None:
    before = await scrape(client)
    await post(client, [request("apiinfo.version", {}), {"jsonrpc": "2.0", "method": "apiinfo.version"}, {"bogus": 1}])
    await post(client, b"{not json")
    after = await scrape(client)
    assert calls(after, "apiinfo.version", "ok") - calls(before, "apiinfo.version", "ok") == 1
    assert calls(after, "apiinfo.version", "notification") - calls(before, "apiinfo.version", "notification") == 1
    assert calls(after, OTHER_METHOD, "-32600") - calls(before, OTHER_METHOD, "-32600") == 1
    assert calls(after, OTHER_METHOD, "-32700") - calls(before, OTHER_METHOD, "-32700") == 1


async def test_writes_show_in_the_writer_series(client: Any, call: Any, admin: str) -> None:
    before = await scrape(client)
    await call("hostgroup.create", [{"name": "Metrics A"}], auth=admin)
    await call("hostgroup.create", [{"name": "Metrics B"}], auth=admin)
    after = await scrape(client)
    # one after the other: a transaction each, of one unit
    assert value(after, "rpcserver_writer_batch_size_count") - value(before, "rpcserver_writer_batch_size_count") == 2
    assert value(after, "rpcserver_writer_batch_size_sum") - value(before, "rpcserver_writer_batch_size_sum") == 2
    assert value(after, "rpcserver_writer_batch_size_bucket", le="1.0") - value(before, "rpcserver_writer_batch_size_bucket", le="1.0") == 2
    await asyncio.gather(*(call("hostgroup.create", [{"name": f"Metrics C{n}"}], auth=admin) for n in range(20)))
    final = await scrape(client)
    assert value(final, "rpcserver_writer_batch_size_sum") - value(after, "rpcserver_writer_batch_size_sum") == 20
    assert 1 <= value(final, "rpcserver_writer_batch_size_count") - value(after, "rpcserver_writer_batch_size_count") <= 20
    assert value(final, "rpcserver_writer_queue_depth") == 0  # nothing waits once the calls are answered


@contextmanager
def writes_held(db: Any) -> Iterator[None]:
    """Another connection holds what hostgroup.create writes, until the block ends."""
    if isinstance(db, Path):
        conn = sqlite3.connect(db, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
    else:
        conn = psycopg.connect(str(db), autocommit=False)
        conn.execute("LOCK TABLE hstgrp IN EXCLUSIVE MODE")
    try:
        yield
    finally:
        conn.rollback()
        conn.close()


@pytest.fixture
def long_busy_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite's writer waits up to 30 s for a lock instead of 5 s: time enough to look at its queue."""
    monkeypatch.setattr(sqlite_backend, "BUSY_TIMEOUT_MS", 30_000)


async def test_the_queue_depth_counts_the_writes_waiting(long_busy_timeout: None, client: Any, call: Any, admin: str, db: Any) -> None:
    with writes_held(db):
        first = asyncio.ensure_future(call("hostgroup.create", [{"name": "Held 0"}], auth=admin))
        await asyncio.sleep(1)  # the writer has taken it, and waits for the lock
        rest = [asyncio.ensure_future(call("hostgroup.create", [{"name": f"Held {n}"}], auth=admin)) for n in (1, 2, 3)]
        deadline = time.monotonic() + 10
        while (depth := value(await scrape(client), "rpcserver_writer_queue_depth")) != 3 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert depth == 3
    await asyncio.gather(first, *rest)
    assert value(await scrape(client), "rpcserver_writer_queue_depth") == 0


async def test_open_problems_and_active_acknowledgements_follow_the_database(
    client: Any, call: Any, admin: str, clock: FakeClock
) -> None:
    samples = await scrape(client)
    assert value(samples, "rpcserver_database_up") == 1
    assert value(samples, "rpcserver_open_problems") == 0
    assert value(samples, "rpcserver_active_acknowledgements") == 0
    opened = await call("event.create", [{"host": "web", "name": "down", "severity": 4},
                                         {"host": "web", "name": "slow", "severity": 2}], auth=admin)
    assert value(await scrape(client), "rpcserver_open_problems") == 2
    await call("event.acknowledge", {"eventids": opened["eventids"][0], "action": 2,
                                     "acknowledged_until": int(clock.now) + 60}, auth=admin)
    assert value(await scrape(client), "rpcserver_active_acknowledgements") == 1
    clock.advance(61)  # the span's end has come: no longer active, even before expiry records it
    assert value(await scrape(client), "rpcserver_active_acknowledgements") == 0
    await call("event.create", {"host": "web", "name": "down", "value": 0}, auth=admin)
    assert value(await scrape(client), "rpcserver_open_problems") == 1


async def test_webhook_deliveries_pending_and_given_up(client: Any, call: Any, admin: str) -> None:
    with socket.socket() as closed:  # a port nothing listens on once closed: every attempt fails, the delivery stays
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}/hook"
    samples = await scrape(client)
    assert (value(samples, "rpcserver_webhook_deliveries", state="pending"),
            value(samples, "rpcserver_webhook_deliveries", state="failed")) == (0, 0)
    await call("webhook.create", {"url": url}, auth=admin)
    opened = await call("event.create", {"host": "web", "name": "down", "manual_close": 1}, auth=admin)
    await call("event.acknowledge", {"eventids": opened["eventids"], "action": 6, "message": "on it"}, auth=admin)
    assert value(await scrape(client), "rpcserver_webhook_deliveries", state="pending") == 1
    await storage_of(client).write(lambda conn: conn.execute("UPDATE webhook SET failed = 3"))  # as 24 h of failures leave it
    assert value(await scrape(client), "rpcserver_webhook_deliveries", state="failed") == 3


async def test_no_label_holds_a_credential_a_username_or_a_param(client: Any, rpc: Any, admin: str) -> None:
    secrets = ["Quintessa", "hunter2-pw", "T0ken-in-a-header", "param-value-xyz", "Weird.Method", "evil"]
    await rpc("user.login", {"username": "Quintessa", "password": "hunter2-pw"})  # no such user
    await rpc("user.login", {"username": "Admin", "password": "hunter2-pw"})  # a wrong password
    await rpc("host.get", {"search": {"host": "param-value-xyz"}}, headers={"Authorization": "Bearer T0ken-in-a-header"})
    await rpc("Weird.Method", {"x": "param-value-xyz"})
    await rpc('evil"} 1\nfake_series{a="', {})
    text = await (await client.get("/metrics")).text()
    for secret in [*secrets, admin, ADMIN_PASSWORD]:
        assert secret.lower() not in text.lower(), secret
    methods = {dict(labels)["method"] for name, labels in parse(text) if name == "rpcserver_calls_total"}
    assert methods <= {*(name.lower() for name in METHODS), OTHER_METHOD}
    assert OTHER_METHOD in methods and "user.login" in methods


async def test_no_metrics_serves_none(make_client: Any) -> None:
    client = await make_client(no_metrics=True)
    assert (await client.get("/metrics")).status == 404
    assert (await client.get("/healthz")).status == 200


@pytest.mark.parametrize("args, env, status", [
    (["--no-metrics"], {}, 404), ([], {"RPCSERVER_NO_METRICS": "1"}, 404), ([], {"RPCSERVER_NO_METRICS": "0"}, 200)])
def test_no_metrics_as_flag_or_variable(tmp_path: Path, args: list[str], env: dict[str, str], status: int) -> None:
    with running_server(tmp_path, "--db", str(tmp_path / "m.db"), *args, env={**SERVER_ENV, **env}) as server:
        assert requests.get(f"{server.url}/metrics", timeout=10).status_code == status


def test_two_processes_sharing_a_directory_are_scraped_as_one(
    tmp_path: Path, db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As `serve --workers` will run them: the parent prepares the directory, its children inherit it."""
    shared = tmp_path / "metrics"
    shared.mkdir()
    stale = ["counter_4242.db", "gauge_livesum_4242.db", "histogram_4242.db"]
    for name in stale:
        (shared / name).write_bytes(b"left by an earlier run")
    (shared / "rpcserver.db").write_bytes(b"not metrics")
    # prepare_workers changes the environment and the library's value store: both restored after the test.
    monkeypatch.setenv(metrics.MULTIPROC_DIR, "")
    monkeypatch.setattr(values, "ValueClass", values.ValueClass)
    with pytest.raises(ValueError, match=f"the metrics directory {shared} holds rpcserver.db, not only metrics"):
        prepare_workers(shared)
    assert sorted(file.name for file in shared.iterdir()) == sorted([*stale, "rpcserver.db"])  # refused untouched
    (shared / "rpcserver.db").unlink()
    prepare_workers(shared)
    assert list(shared.iterdir()) == []
    with running_server(tmp_path, "--db", str(db), env=SERVER_ENV) as first, \
            running_server(tmp_path, "--db", str(db), env=SERVER_ENV) as second:
        for url, count in ((first.url, 3), (second.url, 2)):
            for _ in range(count):
                response = requests.post(f"{url}/api_jsonrpc", json=request("apiinfo.version", {}), timeout=10)
                assert response.json()["result"]
        scraped = [parse(requests.get(f"{url}/metrics", timeout=10).text) for url in (first.url, second.url)]
    for samples in scraped:
        assert calls(samples, "apiinfo.version", "ok") == 5
        assert value(samples, "rpcserver_call_duration_seconds_count", method="apiinfo.version") == 5
        assert value(samples, "rpcserver_database_up") == 1


async def test_a_lost_database_is_database_up_0_and_the_calls_still_counted(postgres: Postgres, aiohttp_client: Any) -> None:
    """On PostgreSQL, where a database can go away under a running server (a SQLite file cannot)."""
    name = postgres.new_database()
    try:
        client = await aiohttp_client(create_app(Config(db=url_of(name), port=0, admin_password=ADMIN_PASSWORD, password_cost=4)))
        assert value(await scrape(client), "rpcserver_database_up") == 1
        set_connections(name, False)
        before = await scrape(client)
        assert value(before, "rpcserver_database_up") == 0
        assert ("rpcserver_open_problems", frozenset()) not in before  # not a stale or made-up figure
        await post(client, request("user.login", {"username": "Admin", "password": ADMIN_PASSWORD}))
        assert calls(await scrape(client), "user.login", "-32500") - calls(before, "user.login", "-32500") == 1
        set_connections(name, True)
        assert value(await scrape(client), "rpcserver_database_up") == 1
        await client.close()
    finally:
        set_connections(name, True)
        postgres.drop(name)


FORKED_WORKERS = """
import os, sys
from prometheus_client import CollectorRegistry, generate_latest, multiprocess
from rpcserver.metrics import Metrics, prepare_workers, worker_exited

prepare_workers(sys.argv[1])  # after the library was imported, as in a supervisor that forks its workers
pids = []
for worker in range(2):
    pid = os.fork()
    if pid == 0:
        metrics = Metrics(["apiinfo.version"])
        metrics.call("apiinfo.version", {"result": "7.0.0"}, 0.001)
        metrics.queued(5)
        os._exit(0)
    os.waitpid(pid, 0)
    pids.append(pid)
registry = CollectorRegistry()
multiprocess.MultiProcessCollector(registry, path=sys.argv[1])
print(generate_latest(registry).decode() + "---")
for pid in pids:
    worker_exited(pid)
sys.stdout.write(generate_latest(registry).decode())
"""


def test_workers_forked_after_prepare_workers_share_their_series_and_dead_ones_queue_nothing(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-c", FORKED_WORKERS, str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    while_alive, after_exit = (parse(text) for text in result.stdout.split("---\n"))
    assert calls(while_alive, "apiinfo.version", "ok") == 2
    assert value(while_alive, "rpcserver_writer_queue_depth") == 10
    assert calls(after_exit, "apiinfo.version", "ok") == 2  # counters keep what dead workers counted
    assert value(after_exit, "rpcserver_writer_queue_depth") == 0  # a dead worker's queue is not waiting
