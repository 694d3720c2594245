"""Fixtures shared by all tests: a real database on each store, the real app, and a JSON-RPC helper.

A test that takes `config` (or anything built on it: `client`, `rpc`, ...) runs once per store: on a
new SQLite file and on a new PostgreSQL database (tests/stores.py). `--store` picks one.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import pytest

from methods import METHODS
from rpcserver.app import create_app
from rpcserver.appkeys import ENDPOINT_KEY, STORAGE_KEY
from rpcserver.config import Config
from rpcserver.dispatch import ApiMethod
from rpcserver.storage import credentials
from rpcserver.storage.copy import TABLES
from rpcserver.storage.postgresql.schema import advance_sequences

from . import openrpc_conformance
from .stores import STORES, Postgres, SqliteTemplate

OMIT = object()


class FakeClock:
    """A clock tests move by hand: expiry and timeouts are tested without sleeping."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


ADMIN_PASSWORD = "zabbix"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--store", choices=[*STORES, "both"], default="both", help="the store(s) the tests run on")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sqlite_only(why): the test is of SQLite itself (its file, its PRAGMAs)")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "store" not in metafunc.fixturenames:
        return
    chosen = metafunc.config.getoption("store")
    stores = list(STORES) if chosen == "both" else [chosen]
    if metafunc.definition.get_closest_marker("sqlite_only"):
        stores = [store for store in stores if store == "sqlite"]
    # A module may share fixtures per store (STORE_SCOPE = "module"): its tests then run store by store.
    metafunc.parametrize("store", stores, scope=getattr(metafunc.module, "STORE_SCOPE", "function"))


@pytest.fixture(scope="session")
def postgres() -> Any:
    databases = Postgres()
    yield databases
    databases.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> SqliteTemplate:
    return SqliteTemplate(tmp_path_factory.mktemp("sqlite-template"))


@contextmanager
def database(store: str, folder: Path, postgres: Postgres, sqlite_template: SqliteTemplate) -> Iterator[Any]:
    """A new database on `store`: a SQLite file in `folder`, or a PostgreSQL database (its URL), each
    holding the schema and built-in rows, copied from a template (tests/stores.py)."""
    if store == "sqlite":
        yield sqlite_template.new_file(folder / "rpcserver.db")
        return
    with postgres.database() as url:
        yield url


@pytest.fixture
def db(store: str, tmp_path: Path, postgres: Postgres, sqlite_template: SqliteTemplate) -> Iterator[Any]:
    """Where the test's database is (`database`)."""
    with database(store, tmp_path, postgres, sqlite_template) as where:
        yield where


@pytest.fixture
def config(db: Any) -> Config:
    # A cheap password hash keeps tests fast; the production default is 2**14.
    return Config(db=db, port=0, admin_password=ADMIN_PASSWORD, password_cost=4)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_client(aiohttp_client: Any, config: Config, clock: FakeClock) -> Callable[..., Awaitable[Any]]:
    """A test client of the real app; `extra_methods` are added to the API's own table."""

    async def make(extra_methods: Mapping[str, ApiMethod] | None = None, **settings: Any) -> Any:
        app = create_app(replace(config, **settings), methods={**METHODS, **(extra_methods or {})}, clock=clock)
        return await aiohttp_client(app)

    return make


@pytest.fixture
async def client(make_client: Callable[..., Awaitable[Any]]) -> Any:
    return await make_client()


def storage_of(client: Any) -> Any:
    return client.server.app[STORAGE_KEY]


_WORLDS: dict[tuple[Any, ...], tuple[dict[str, tuple[list[str], list[tuple[Any, ...]]]], Any, float]] = {}
"""What each cached world made (`cached_world`): every row of every table, what it returned, the clock after."""


def _every_row(conn: Any) -> dict[str, tuple[list[str], list[tuple[Any, ...]]]]:
    rows = {}
    for table in TABLES:
        cursor = conn.execute(f"SELECT * FROM {table}")
        rows[table] = ([column[0] for column in cursor.description], [tuple(row) for row in cursor.fetchall()])
    return rows


def _restore(conn: Any, rows: dict[str, tuple[list[str], list[tuple[Any, ...]]]]) -> None:
    """The tables as the world left them; the sessions opened meanwhile (the test's own) kept."""
    made = {row[0] for row in rows["sessions"][1]}
    columns, sessions = rows["sessions"]
    kept = [row for row in _every_row(conn)["sessions"][1] if row[0] not in made]
    for table in reversed(TABLES):
        if table != credentials.TABLE:  # its row is the schema's; the inserts below bump it as the calls did
            conn.execute(f"DELETE FROM {table}")
    for table in TABLES:
        names, values = rows[table]
        if table != credentials.TABLE and values:
            conn.executemany(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})", values)
    if kept:
        conn.executemany(f"INSERT INTO sessions ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", kept)
    if conn.engine.name == "postgresql":
        advance_sequences(conn)


def cached_world(build: Callable[..., Awaitable[Any]]) -> Any:
    """A `world` fixture (built through the API from `call`, `login` and `admin`) made once per store, app
    settings and clock: later tests get its rows written into their new database (the ids, sessions and
    clock as the first build left them) and a copy of what it returned. A world of twenty calls costs
    0.1-0.2 s on PostgreSQL; its rows, a few milliseconds."""

    async def world(client: Any, call: Any, login: Any, admin: str, clock: FakeClock, store: str, postgres: Postgres) -> Any:
        storage = storage_of(client)
        config = client.server.app[ENDPOINT_KEY].config
        key = (build.__module__, build.__qualname__, store, repr(config), clock.now)
        if key in _WORLDS:
            rows, made, now = _WORLDS[key]
            if store == "postgresql":  # on a connection that has read the catalogs already (the app's are new)
                await asyncio.to_thread(postgres.run, str(config.db), _restore, rows)
            else:
                await storage.write(_restore, rows)
            clock.now = now
            return copy.deepcopy(made)
        made = await build(call=call, login=login, admin=admin)
        _WORLDS[key] = (await storage.read(_every_row), copy.deepcopy(made), clock.now)
        return made

    world.__doc__ = build.__doc__
    return pytest.fixture(name=build.__name__)(world)


def ten_thousand_problems(conn: Any) -> list[int]:
    """A unit of work: 10,000 open problems of the first trigger, written directly (faster than event.create); their ids."""
    triggerid = conn.execute("SELECT triggerid FROM triggers LIMIT 1").fetchone()[0]
    first = conn.execute("SELECT coalesce(max(eventid), 0) + 1 FROM events").fetchone()[0]
    rows = [(first + i, triggerid) for i in range(10_000)]
    conn.executemany("INSERT INTO events (eventid, objectid, clock, value, name) VALUES (?, ?, 1, 1, 'p')", rows)
    conn.executemany("INSERT INTO problem (eventid, objectid, clock, name) VALUES (?, ?, 1, 'p')", rows)
    if conn.engine.name == "postgresql":
        # As autovacuum would soon after such a load: planned on the statistics of the empty tables, the
        # lookup of 10,000 ids by json_ids() is a nested loop over every event (7 s instead of 0.1 s).
        conn.execute("ANALYZE events, problem, triggers")
    return [eventid for eventid, _ in rows]


async def post(client: Any, body: Any, *, path: str = "/api_jsonrpc", headers: Mapping[str, str] | None = None) -> Any:
    """POST a body (bytes as is, anything else as JSON) with the Zabbix clients' content type."""
    data = body if isinstance(body, bytes) else orjson.dumps(body)
    return await client.post(path, data=data, headers={"Content-Type": "application/json-rpc", **(headers or {})})


async def answer(client: Any, body: Any, **kwargs: Any) -> Any:
    """POST and decode; asserts the JSON-RPC transport rules (200, application/json)."""
    response = await post(client, body, **kwargs)
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/json"
    raw = await response.read()
    return orjson.loads(raw) if raw else None


def request(method: str, params: Any = OMIT, id: Any = 1, **members: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if params is not OMIT:
        body["params"] = params
    if id is not OMIT:
        body["id"] = id
    body.update(members)
    return body


@pytest.fixture
def rpc(client: Any) -> Callable[..., Awaitable[dict[str, Any]]]:
    """Call one method through the endpoint and return the whole response object."""

    async def call(method: str, params: Any = None, *, headers: Mapping[str, str] | None = None, **members: Any) -> dict[str, Any]:
        sent = {} if params is None else params
        response = await post(client, request(method, sent, **members), headers=headers)
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/json"
        answer = orjson.loads(await response.read())
        openrpc_conformance.check(method, sent, answer)
        return answer

    return call


def error_of(response: dict[str, Any]) -> tuple[int, str, Any]:
    """(code, message, data) of an error response; fails if the response is not an error."""
    assert "result" not in response, response
    error = response["error"]
    assert set(error) == {"code", "message", "data"}, error
    return error["code"], error["message"], error["data"]


def result_of(response: dict[str, Any]) -> Any:
    """The result of a response; fails, showing the error, if it is not a success."""
    assert "result" in response, response
    return response["result"]


@pytest.fixture
def call(rpc: Callable[..., Awaitable[dict[str, Any]]]) -> Callable[..., Awaitable[Any]]:
    """Call a method with a credential (a session id or token, sent as Bearer) and return its result."""

    async def run(method: str, params: Any = None, *, auth: str) -> Any:
        return result_of(await rpc(method, params, headers={"Authorization": f"Bearer {auth}"}))

    return run


@pytest.fixture
def login(rpc: Callable[..., Awaitable[dict[str, Any]]]) -> Callable[..., Awaitable[str]]:
    async def run(username: str, password: str) -> str:
        return result_of(await rpc("user.login", {"username": username, "password": password}))

    return run


@pytest.fixture
async def admin(login: Callable[..., Awaitable[str]]) -> str:
    """A session of the built-in super admin."""
    return await login("Admin", ADMIN_PASSWORD)
