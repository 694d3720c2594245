"""Several processes over one database (API.md §7), with real servers on 127.0.0.1: three `rpcserver
serve` instances sharing one database (as several hosts behind a load balancer would), and one
`serve --workers 2`, on each store. Whatever the topology, a change through one process is seen
through the next, races are settled by the database, background work happens once, and a process
killed under load loses no answered call.

Under --workers the test cannot choose the worker: every call there goes on a new connection, which
either worker may accept, and each check is repeated over many calls.

The tests that leave the servers as they found them share one cluster of each topology on each store
(`cluster`, per module), each with problems of a host of its own; the one that blocks a login and the
one that kills a process start their own (`own_cluster`).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from rpcserver.config import Config, ConfigError, load_config

from .conftest import database
from .server_process import ServerProcess, run_cli, running_server, running_servers
from .stores import Postgres, SqliteTemplate

ADMIN_PASSWORD = "workers-admin"
LOGIN_ATTEMPTS = 3
MASS_RATE_LIMIT = 3
ENV = {
    "RPCSERVER_ADMIN_PASSWORD": ADMIN_PASSWORD,
    "RPCSERVER_PASSWORD_COST": "4",
    "RPCSERVER_LOGIN_ATTEMPTS": str(LOGIN_ATTEMPTS),
    "RPCSERVER_MASS_RATE_LIMIT": str(MASS_RATE_LIMIT),
}
LOGIN_FAILED = "Incorrect user name or password or account is temporarily blocked."
CLIENTS = 8
REPLACED_WITHIN = 5.0
"""API.md §7: a worker that dies is replaced within 5 s."""
LOAD_DEADLINE = 30.0
"""A bound on every load loop below, never reached when the servers work."""
STORE_SCOPE = "module"
"""The store is chosen per module (tests/conftest.py), so that `cluster` is shared per store."""


@dataclass
class Cluster:
    """The servers of one test and the URLs a client spreads its calls over."""

    servers: list[ServerProcess]
    urls: list[str]
    workers: bool

    def url(self, n: int) -> str:
        return self.urls[n % len(self.urls)]


@contextmanager
def started(topology: str, db: Any, workdir: Path) -> Iterator[Cluster]:
    if topology == "workers":
        with running_server(workdir, "--db", str(db), "--workers", "2", env=ENV) as server:
            yield Cluster([server], [server.url, server.url], workers=True)
    else:
        with running_servers(workdir, 3, "--db", str(db), env=ENV) as servers:
            yield Cluster(servers, [server.url for server in servers], workers=False)


@pytest.fixture(scope="module", params=["instances", "workers"])
def cluster(request: pytest.FixtureRequest, store: str, postgres: Postgres, sqlite_template: SqliteTemplate,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """The servers the tests below share, on a database of their own."""
    workdir = tmp_path_factory.mktemp(f"cluster-{request.param}-{store}")
    with database(store, workdir, postgres, sqlite_template) as db, started(request.param, db, workdir) as shared:
        yield shared


@pytest.fixture(params=["instances", "workers"])
def own_cluster(request: pytest.FixtureRequest, db: Any, tmp_path: Path) -> Iterator[Cluster]:
    """Servers for one test alone, on the test's database."""
    with started(request.param, db, tmp_path) as own:
        yield own


def new_connections() -> aiohttp.ClientSession:
    """A client that opens a new connection for every call: under --workers, any worker may take it."""
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True))


async def answer(http: aiohttp.ClientSession, url: str, method: str, params: Any, auth: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {auth}"} if auth else {}
    body = {"jsonrpc": "2.0", "method": method, "params": params, "id": 1}
    async with http.post(f"{url}/api_jsonrpc", json=body, headers=headers) as response:
        assert response.status == 200
        return await response.json()


async def call(http: aiohttp.ClientSession, url: str, method: str, params: Any, auth: str | None = None) -> Any:
    reply = await answer(http, url, method, params, auth)
    assert "result" in reply, reply
    return reply["result"]


async def login(http: aiohttp.ClientSession, url: str, username: str = "Admin", password: str = ADMIN_PASSWORD) -> str:
    session: str = await call(http, url, "user.login", {"username": username, "password": password})
    return session


HOSTS = itertools.count(1)


async def open_problems(http: aiohttp.ClientSession, url: str, session: str, count: int) -> list[str]:
    """`count` new problems, of a new host: each test's own, on a cluster shared with other tests."""
    host = f"workers-{next(HOSTS):02}"
    events = [{"host": host, "name": f"problem {n}", "groups": ["Workers"], "manual_close": 1} for n in range(count)]
    return [str(eventid) for eventid in (await call(http, url, "event.create", events, session))["eventids"]]


async def history(http: aiohttp.ClientSession, url: str, session: str, eventids: list[str]) -> dict[str, list[dict[str, str]]]:
    events = await call(http, url, "event.get", {"eventids": eventids, "output": ["eventid"],
                                                 "selectAcknowledges": ["action", "message", "clock"]}, session)
    return {event["eventid"]: event["acknowledges"] for event in events}


# --- seen everywhere ---------------------------------------------------------------------------


async def test_a_change_through_one_process_is_seen_through_the_next(cluster: Cluster) -> None:
    async with new_connections() as http:
        admin = await login(http, cluster.url(0))
        [eventid] = await open_problems(http, cluster.url(0), admin, 1)
        for n in range(12):
            message = f"seen {n}"
            await call(http, cluster.url(n), "event.acknowledge", {"eventids": eventid, "action": 4, "message": message}, admin)
            rows = (await history(http, cluster.url(n + 1), admin, [eventid]))[eventid]
            assert message in {row["message"] for row in rows}

        # credentials: each process resolves (and may cache) each session and token; one ended is refused by all
        sessions = [await login(http, cluster.url(n)) for n in range(4)]
        [tokenid] = (await call(http, cluster.url(0), "token.create", {"name": "workers"}, admin))["tokenids"]
        [generated] = await call(http, cluster.url(1), "token.generate", [tokenid], admin)
        credentials = [*sessions, generated["token"]]
        for credential in credentials:
            for n in range(len(cluster.urls) * 2):
                await call(http, cluster.url(n), "host.get", {"output": ["hostid"]}, credential)
        for n, credential in enumerate(credentials):
            if credential in sessions:
                await call(http, cluster.url(n), "user.logout", [], credential)
            else:
                await call(http, cluster.url(n), "token.delete", [tokenid], admin)
            deadline = time.monotonic() + 1.0  # API.md §7: within 1 s (processes may cache credentials)
            for attempt in range(len(cluster.urls) * 3):
                reply = await answer(http, cluster.url(n + 1 + attempt), "host.get", {"output": ["hostid"]}, credential)
                while "result" in reply and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
                    reply = await answer(http, cluster.url(n + 1 + attempt), "host.get", {"output": ["hostid"]}, credential)
                assert reply["error"]["code"] == -32602, reply


# --- races and background work -------------------------------------------------------------------


async def test_racing_acknowledgements_and_closes_are_settled_once(cluster: Cluster) -> None:
    async with new_connections() as http:
        admin = await login(http, cluster.url(0))
        eventids = await open_problems(http, cluster.url(0), admin, 10)
        await asyncio.gather(*(
            answer(http, cluster.url(n), "event.acknowledge", {"eventids": eventid, "action": 2 | 1}, admin)
            for eventid in eventids for n in range(2)
        ))
        rows = await history(http, cluster.url(0), admin, eventids)
        for eventid in eventids:
            assert len([row for row in rows[eventid] if int(row["action"]) & 2]) == 1, rows[eventid]
            assert len([row for row in rows[eventid] if int(row["action"]) & 1]) == 1, rows[eventid]
        recoveries = await call(http, cluster.url(1), "event.get", {"eventids": eventids, "output": ["r_eventid"]}, admin)
        assert all(event["r_eventid"] != "0" for event in recoveries)
        triggers = [event["objectid"] for event in await call(http, cluster.url(1), "event.get",
                                                              {"eventids": eventids, "output": ["objectid"]}, admin)]
        ok_events = await call(http, cluster.url(1), "event.get", {"value": 0, "objectids": triggers, "output": ["eventid"]}, admin)
        assert len(ok_events) == len(eventids)  # one OK event per problem, not one per close


async def test_an_acknowledgement_ends_once_whichever_process_records_it(cluster: Cluster) -> None:
    async with new_connections() as http:
        admin = await login(http, cluster.url(0))
        eventids = await open_problems(http, cluster.url(0), admin, 6)
        spans = await asyncio.gather(*(
            call(http, cluster.url(n), "acknowledgement.create", {"eventid": eventid, "acknowledged_until": "1s"}, admin)
            for n, eventid in enumerate(eventids)
        ))
        until = max(span["acknowledged_until"] for span in spans)
        deadline = time.time() + LOAD_DEADLINE
        while not all(any(row["action"] == "16" for row in rows) for rows in (await history(http, cluster.url(0), admin, eventids)).values()):
            assert time.time() < deadline, "the ends were not recorded"
            await asyncio.sleep(0.1)
        await asyncio.sleep(max(0.0, until + 1.5 - time.time()))  # every process's sweep has run past the end
        for eventid, rows in (await history(http, cluster.url(1), admin, eventids)).items():
            assert [row["action"] for row in rows].count("16") == 1, (eventid, rows)


# --- shared limits -------------------------------------------------------------------------------


async def test_login_blocking_and_the_mass_call_rate_limit_are_shared(own_cluster: Cluster) -> None:
    cluster = own_cluster  # Admin is blocked afterwards
    async with new_connections() as http:
        admin = await login(http, cluster.url(0))
        [eventid] = await open_problems(http, cluster.url(0), admin, 1)
        for n in range(MASS_RATE_LIMIT):
            await call(http, cluster.url(n), "incident.massacknowledge", {"incidentids": [eventid]}, admin)
        refused = await answer(http, cluster.url(MASS_RATE_LIMIT), "incident.massacknowledge", {"incidentids": [eventid]}, admin)
        assert refused["error"]["data"].startswith("Rate limit exceeded"), refused

        for n in range(LOGIN_ATTEMPTS):
            reply = await answer(http, cluster.url(n), "user.login", {"username": "Admin", "password": "wrong"})
            assert reply["error"]["data"] == LOGIN_FAILED
        for n in range(len(cluster.urls)):  # blocked everywhere, even with the right password
            reply = await answer(http, cluster.url(n), "user.login", {"username": "Admin", "password": ADMIN_PASSWORD})
            assert reply["error"]["data"] == LOGIN_FAILED, reply


# --- killed under load ---------------------------------------------------------------------------


class Load:
    """CLIENTS clients acknowledging problems with unique messages, each through its own URL, moving to
    the next URL when a call fails (as a load balancer would); `answered` are the calls answered with success."""

    def __init__(self, cluster: Cluster, session: str, eventids: list[str]) -> None:
        self.cluster = cluster
        self.session = session
        self.eventids = eventids
        self.sent: set[str] = set()
        self.answered: list[str] = []
        self.stop = asyncio.Event()

    async def client(self, number: int) -> None:
        target = number
        async with aiohttp.ClientSession() as http:
            for n in range(10**6):
                if self.stop.is_set():
                    return
                message = f"client {number} call {n}"
                self.sent.add(message)
                params = {"eventids": self.eventids[n % len(self.eventids)], "action": 4, "message": message}
                try:
                    reply = await answer(http, self.cluster.url(target), "event.acknowledge", params, self.session)
                except (TimeoutError, aiohttp.ClientError):
                    target += 1
                    await asyncio.sleep(0.01)
                    continue
                assert "result" in reply, reply
                self.answered.append(message)

    async def until_answered(self, count: int) -> None:
        deadline = time.monotonic() + LOAD_DEADLINE
        while len(self.answered) < count:
            assert time.monotonic() < deadline, f"only {len(self.answered)} calls answered"
            await asyncio.sleep(0.01)


async def stored_messages(http: aiohttp.ClientSession, url: str, session: str, eventids: list[str]) -> list[str]:
    return [row["message"] for rows in (await history(http, url, session, eventids)).values() for row in rows]


async def test_sigkill_of_one_process_under_load_loses_no_answered_call(own_cluster: Cluster) -> None:
    cluster = own_cluster  # one process is killed
    async with new_connections() as http:
        admin = await login(http, cluster.url(0))
        eventids = await open_problems(http, cluster.url(0), admin, 8)
        load = Load(cluster, admin, eventids)
        clients = asyncio.gather(*(load.client(n) for n in range(CLIENTS)))
        try:
            await load.until_answered(100)
            if cluster.workers:
                server = cluster.servers[0]
                killed = server.workers()[1]
                os.kill(killed, signal.SIGKILL)
                killed_at = time.monotonic()
                replaced = server.wait_for_log(rf"worker 1 started \(pid (?!{killed}\))(\d+)\)", REPLACED_WITHIN)
                server.wait_for_log(rf"\[worker 1\] serving \(pid {replaced.group(1)}\)", REPLACED_WITHIN)
                assert time.monotonic() - killed_at < REPLACED_WITHIN
                assert re.search(rf"worker 1 \(pid {killed}\) exited with signal SIGKILL", server.log())
            else:
                cluster.servers[1].stop(signal.SIGKILL)
            answered_at_kill = len(load.answered)
            await load.until_answered(answered_at_kill + 200)  # the others keep serving every client
        finally:
            load.stop.set()
            await clients
        survivor = cluster.url(0)
        stored = await stored_messages(http, survivor, admin, eventids)
    lost = set(load.answered) - set(stored)
    assert not lost, f"{len(lost)} answered calls were lost, e.g. {sorted(lost)[:5]}"
    assert len(stored) == len(set(stored)), "a call was stored twice"
    assert set(stored) <= load.sent


# --- --workers only ------------------------------------------------------------------------------


def workers_alive(server: ServerProcess) -> list[int]:
    """The server's workers still running (an exited one nobody has reaped yet is a zombie: not running)."""
    alive = []
    for pid in server.workers().values():
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            continue
        if state != "Z":
            alive.append(pid)
    return alive


async def test_the_parent_prepares_once_and_sigterm_stops_every_worker_after_its_calls(db: Any, tmp_path: Path) -> None:
    env = {key: value for key, value in ENV.items() if key != "RPCSERVER_ADMIN_PASSWORD"}
    with running_server(tmp_path, "--db", str(db), "--workers", "2", env=env) as server:
        cluster = Cluster([server], [server.url], workers=True)
        assert sorted(server.workers()) == [1, 2]
        [password] = re.findall(r"Admin password: (\S+)", server.log())  # printed once, by the parent
        async with new_connections() as http:
            admin = await login(http, server.url, "Admin", password)
            for _ in range(20):  # each on a new connection, hashed to a worker: all to one, a 1 in 2**19 chance
                await call(http, server.url, "apiinfo.version", [])
            eventids = await open_problems(http, server.url, admin, 8)
            load = Load(cluster, admin, eventids)
            clients = asyncio.gather(*(load.client(n) for n in range(CLIENTS)))
            try:
                await load.until_answered(100)
                server.process.send_signal(signal.SIGTERM)
                assert await asyncio.to_thread(server.process.wait, 20) == 0
            finally:
                load.stop.set()
                await clients
        log = server.log()
        assert log.count("] stopped") == 2 and log.rstrip().endswith("stopped"), log[-3000:]
        assert not workers_alive(server)
        # the lines per request say which worker served them
        assert all(re.search(rf"\[worker {n}\] req=\S+ /api_jsonrpc apiinfo\.version -> ok", log) for n in (1, 2))
    with running_server(tmp_path, "--db", str(db), env=env) as restarted:
        async with new_connections() as http:
            stored = await stored_messages(http, restarted.url, await login(http, restarted.url, "Admin", password), eventids)
    lost = set(load.answered) - set(stored)
    assert not lost, f"{len(lost)} answered calls were lost, e.g. {sorted(lost)[:5]}"


def test_workers_stop_by_themselves_when_the_parent_is_killed(tmp_path: Path) -> None:
    # Not a matter of store: the workers watch their parent, whatever they serve.
    with running_server(tmp_path, "--db", str(tmp_path / "orphans.db"), "--workers", "2", env=ENV) as server:
        workers = server.workers()
        server.stop(signal.SIGKILL)
        deadline = time.monotonic() + 10
        while workers_alive(server):
            assert time.monotonic() < deadline, f"workers {workers_alive(server)} still serve without their parent"
            time.sleep(0.1)
        assert server.log().count("the parent process has gone; stopping") == len(workers)


def test_workers_must_be_at_least_one() -> None:
    assert load_config({}, {"RPCSERVER_WORKERS": "4"}).workers == 4
    assert Config().workers == 1
    with pytest.raises(ConfigError, match="workers must be at least 1"):
        Config(workers=0)


def calls_counted(text: str) -> float:
    """rpcserver_calls_total of apiinfo.version answered ok, in a scrape's text."""
    found = re.search(r'^rpcserver_calls_total\{method="apiinfo\.version",outcome="ok"\} (\S+)$', text, re.M)
    return float(found[1]) if found else 0.0


async def test_metrics_add_up_every_worker_whichever_a_scrape_reaches(tmp_path: Path) -> None:
    # Not a matter of store: the series meet in files of one directory, whatever the workers serve.
    metrics_dir = tmp_path / "metrics"
    with running_server(tmp_path, "--db", str(tmp_path / "metrics.db"), "--workers", "2",
                        "--metrics-dir", str(metrics_dir), env=ENV) as server:
        async with new_connections() as http:
            for _ in range(20):  # each on a new connection: both workers serve some (all to one: a 1 in 2**19 chance)
                await call(http, server.url, "apiinfo.version", [])
            scrapes = []
            for _ in range(10):  # each on a new connection too: either worker answers the scrape
                async with http.get(f"{server.url}/metrics") as response:
                    scrapes.append(calls_counted(await response.text()))
        assert scrapes == [20.0] * 10
        log = server.log()
        assert all(re.search(rf"\[worker {n}\] req=\S+ /api_jsonrpc apiinfo\.version -> ok", log) for n in (1, 2))
        assert {path.name.split("_")[0] for path in metrics_dir.iterdir()} >= {"counter"}


def test_a_metrics_directory_holding_other_files_is_refused_untouched(tmp_path: Path) -> None:
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics" / "notes.txt").write_text("mine")
    result = run_cli(["serve", "--port", "0", "--db", str(tmp_path / "refused.db"), "--workers", "2",
                      "--metrics-dir", str(tmp_path / "metrics")], cwd=tmp_path, env=ENV)
    assert result.returncode == 2
    assert "metrics-dir: the metrics directory" in result.stderr and "notes.txt" in result.stderr
    assert (tmp_path / "metrics" / "notes.txt").read_text() == "mine"
    assert not (tmp_path / "refused.db").exists()
