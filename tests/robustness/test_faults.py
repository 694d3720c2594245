"""Storage faults: a read-only database, a lock held by another connection, a full disk, a
corrupt page. Each gives a clear -32500, changes nothing, leaves the server up, and the server
works again once the fault clears. Start-up on an unusable file is one clear line, and leaves the
file as it was.

Most faults are injected into SQLite itself, on the writer's own connection (`PRAGMA query_only`,
`PRAGMA max_page_count`), by wrapping the writer's batch function: the code under test meets the
errors SQLite really raises. Where the tests may mount a tiny tmpfs, a real server process also
meets a real full disk.
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import os
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

import rpcserver.storage.sqlite as sqlite_backend
from rpcserver.domain.errors import Unavailable
from rpcserver.storage import Storage, StorageOpenError, _writer, credentials

from ..conftest import error_of, result_of, storage_of
from ..server_process import run_cli, running_server
from .wire import check_response

pytestmark = pytest.mark.sqlite_only(
    "read-only and full files, file locks and corrupt pages are SQLite's faults; a lost PostgreSQL database is "
    "tests/storage/test_postgresql.py's")

STORAGE_FAILED = (-32500, "Application error.", _writer.STORAGE_FAILED)
NO_LIMIT = 1073741823  # SQLite's default max_page_count


@dataclass
class Fault:
    """What the writer's connection suffers at its next batches."""

    read_only: bool = False
    read_only_inside: bool = False
    """Read-only from inside the transaction: the units' statements fail, BEGIN does not."""
    full: bool = False


@pytest.fixture
def fault(monkeypatch: pytest.MonkeyPatch) -> Fault:
    fault = Fault()
    real_run_batch = sqlite_backend.run_batch

    def run_batch(conn: sqlite3.Connection, units: list[_writer.Unit], writers_lock: int) -> Any:
        conn.execute(f"PRAGMA query_only = {'ON' if fault.read_only else 'OFF'}")
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages if fault.full else NO_LIMIT}")
        if fault.read_only_inside:
            units = [read_only_from_now(unit) for unit in units]
        return real_run_batch(conn, units, writers_lock)

    monkeypatch.setattr(sqlite_backend, "run_batch", run_batch)
    return fault


def read_only_from_now(unit: _writer.Unit) -> _writer.Unit:
    def faulty(conn: sqlite3.Connection) -> Any:
        conn.execute("PRAGMA query_only = ON")
        try:
            return unit(conn)
        finally:
            conn.execute("PRAGMA query_only = OFF")

    return faulty


@pytest.fixture
async def world(call: Any, admin: str) -> dict[str, Any]:
    eventids = (await call("event.create", [{"host": "db-01", "name": f"problem {n}", "groups": ["DB"]} for n in range(3)],
                           auth=admin))["eventids"]
    return {"admin": admin, "eventids": eventids}


def acknowledgements(conn: sqlite3.Connection) -> list[tuple[int, str]]:
    return conn.execute("SELECT eventid, message FROM acknowledges ORDER BY acknowledgeid").fetchall()


async def acknowledge(rpc: Any, world: dict[str, Any], message: str) -> dict[str, Any]:
    params = {"eventids": world["eventids"][0], "action": 6, "message": message}
    response = await rpc("event.acknowledge", params, headers={"Authorization": f"Bearer {world['admin']}"})
    check_response(response, message)
    return response


async def still_serving(rpc: Any, world: dict[str, Any]) -> None:
    assert result_of(await rpc("apiinfo.version")) == "7.0.0"
    events = await rpc("event.get", {"output": ["eventid"]}, headers={"Authorization": f"Bearer {world['admin']}"})
    assert len(result_of(events)) == 3


@pytest.mark.parametrize("kind", ["read_only", "read_only_inside"])
async def test_a_read_only_database_refuses_writes_clearly_and_recovers(
    rpc: Any, client: Any, world: dict[str, Any], fault: Fault, kind: str
) -> None:
    setattr(fault, kind, True)
    assert error_of(await acknowledge(rpc, world, "while read-only")) == STORAGE_FAILED
    assert error_of(await rpc("user.login", {"username": "Admin", "password": "zabbix"})) == STORAGE_FAILED
    await still_serving(rpc, world)
    assert await storage_of(client).read(acknowledgements) == []

    setattr(fault, kind, False)
    result_of(await acknowledge(rpc, world, "after"))
    assert await storage_of(client).read(acknowledgements) == [(world["eventids"][0], "after")]


async def test_a_full_disk_refuses_writes_clearly_and_recovers(rpc: Any, client: Any, world: dict[str, Any], fault: Fault) -> None:
    fault.full = True
    outcomes = [await acknowledge(rpc, world, f"{n:04} " + "x" * 2000) for n in range(30)]
    failed = [n for n, outcome in enumerate(outcomes) if "error" in outcome]
    assert failed, "the database never filled up"
    for n in failed:
        assert error_of(outcomes[n]) == STORAGE_FAILED
    stored = {message[:4] for _, message in await storage_of(client).read(acknowledgements)}
    assert stored == {f"{n:04}" for n, outcome in enumerate(outcomes) if "result" in outcome}
    await still_serving(rpc, world)

    fault.full = False
    result_of(await acknowledge(rpc, world, "after " + "x" * 2000))


@pytest.fixture
def short_busy_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """The writer waits 0.2 s for a lock instead of 5 s: the test need not take long."""
    monkeypatch.setattr(sqlite_backend, "BUSY_TIMEOUT_MS", 200)


async def test_a_lock_held_by_another_connection(short_busy_timeout: None, rpc: Any, client: Any, config: Any, world: dict[str, Any]) -> None:
    other = sqlite3.connect(config.db, isolation_level=None)
    try:
        other.execute("BEGIN EXCLUSIVE")
        assert error_of(await acknowledge(rpc, world, "while locked")) == STORAGE_FAILED
        await still_serving(rpc, world)  # reads do not wait for the lock
        other.execute("ROLLBACK")
        result_of(await acknowledge(rpc, world, "after"))
    finally:
        other.close()
    assert await storage_of(client).read(acknowledgements) == [(world["eventids"][0], "after")]


async def test_opening_a_database_another_program_holds_locked_is_refused(short_busy_timeout: None, tmp_path: Path) -> None:
    """Else start-up would open it, then fail half way at its first write (creating Admin)."""
    await (await Storage.open(tmp_path / "locked.db")).close()
    other = sqlite3.connect(tmp_path / "locked.db", isolation_level=None)
    try:
        other.execute("BEGIN EXCLUSIVE")
        with pytest.raises(StorageOpenError) as refused:
            await Storage.open(tmp_path / "locked.db")
        assert str(refused.value) == (f"cannot use database {tmp_path / 'locked.db'}: another program holds a lock on it "
                                      "(is another rpcserver using it?); try again once it lets go")
        other.execute("ROLLBACK")
        await (await Storage.open(tmp_path / "locked.db")).close()
    finally:
        other.close()


@contextmanager
def held_as_another_servers_writer_holds_it(db: Path) -> Iterator[Callable[[], None]]:
    """Hold `db` as another server's writer does through a batch: the writers' flock and SQLite's write
    lock. Yields the function that lets both go (called at the end if the test has not)."""
    other_writer = sqlite3.connect(db, isolation_level=None)
    writers_lock = os.open(db, os.O_RDONLY)
    fcntl.flock(writers_lock, fcntl.LOCK_EX)
    other_writer.execute("BEGIN IMMEDIATE")

    def release() -> None:
        if other_writer.in_transaction:
            other_writer.execute("COMMIT")
        fcntl.flock(writers_lock, fcntl.LOCK_UN)

    try:
        yield release
    finally:
        release()
        other_writer.close()
        os.close(writers_lock)


async def test_a_server_starting_while_another_servers_writer_holds_the_file_waits_its_turn(
        short_busy_timeout: None, tmp_path: Path) -> None:
    """Servers starting on one file (instances started together, or one beside running ones) take turns
    with the other servers' writers through their flock; start-up used to poll SQLite's lock instead,
    and a server starved past busy_timeout refused to start ("another program holds a lock")."""
    db = tmp_path / "shared.db"
    await (await Storage.open(db)).close()
    with held_as_another_servers_writer_holds_it(db) as release:
        opening = asyncio.ensure_future(Storage.open(db))
        await asyncio.sleep(1)  # five times the busy timeout
        assert not opening.done(), "start-up gave up while another server's writer held the file"
        release()
        await (await asyncio.wait_for(opening, 10)).close()


async def test_a_request_transaction_while_another_servers_writer_holds_the_file_waits_its_turn(
        short_busy_timeout: None, tmp_path: Path) -> None:
    """A request transaction (Idempotency-Key, Dry-Run) takes its turn with other servers' writers
    through their flock; it used to poll SQLite's lock and fail with -32500 past busy_timeout."""
    storage = await Storage.open(tmp_path / "shared.db")

    async def in_a_request_transaction() -> None:
        async with storage.transaction() as transaction:
            await transaction.write(lambda conn: conn.execute("INSERT INTO hstgrp (name) VALUES ('waited')"))
            await transaction.commit()

    try:
        with held_as_another_servers_writer_holds_it(tmp_path / "shared.db") as release:
            request = asyncio.ensure_future(in_a_request_transaction())
            await asyncio.sleep(1)  # five times the busy timeout
            assert not request.done(), "the request transaction gave up while another server's writer held the file"
            release()
            await asyncio.wait_for(request, 10)
        assert await storage.read(lambda conn: conn.execute("SELECT count(*) FROM hstgrp WHERE name = 'waited'").fetchone()) == (1,)
        await storage.write(lambda conn: None)  # and the writer's batches go on after it
    finally:
        await storage.close()


async def test_a_commit_failing_before_it_ends_rolls_the_request_transaction_back(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # The commit reads the credentials generation first; it used to mark the transaction ended before
    # that read, so a failing read left it open, holding the file against every other server's writer.
    db = tmp_path / "commit.db"
    storage = await Storage.open(db)
    other_writer = sqlite3.connect(db, isolation_level=None, timeout=0)
    writers_lock = os.open(db, os.O_RDONLY)
    try:
        def generation_fails(conn: Any) -> int:
            raise Unavailable(_writer.STORAGE_FAILED)

        with pytest.raises(Unavailable):
            async with storage.transaction() as transaction:
                await transaction.write(lambda conn: conn.execute("INSERT INTO hstgrp (name) VALUES ('not kept')"))
                monkeypatch.setattr(credentials, "generation", generation_fails)
                await transaction.commit()
        fcntl.flock(writers_lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free at once: raises if still held
        fcntl.flock(writers_lock, fcntl.LOCK_UN)
        other_writer.execute("BEGIN IMMEDIATE")  # SQLite's write lock too (no busy timeout)
        assert other_writer.execute("SELECT count(*) FROM hstgrp WHERE name = 'not kept'").fetchone() == (0,)
        other_writer.execute("ROLLBACK")
    finally:
        other_writer.close()
        os.close(writers_lock)
        await storage.close()


def corrupt_table(db: Path, table: str) -> None:
    """Overwrite the root page of `table` in the database file with garbage."""
    with sqlite3.connect(db) as conn:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        root = conn.execute("SELECT rootpage FROM sqlite_schema WHERE name = ?", (table,)).fetchone()[0]
    conn.close()
    with open(db, "r+b") as file:
        file.seek((root - 1) * page_size)
        file.write(b"\xa5" * page_size)


async def test_a_corrupt_page_found_while_serving(rpc: Any, config: Any, admin: str) -> None:
    corrupt_table(config.db, "hstgrp")  # untouched since start-up: its page is read from the file
    headers = {"Authorization": f"Bearer {admin}"}
    response = await rpc("hostgroup.get", {}, headers=headers)
    check_response(response, "")
    assert error_of(response) == (-32500, "Application error.", _writer.READ_FAILED)
    assert result_of(await rpc("user.get", {"output": ["username"]}, headers=headers)) == [{"username": "Admin"}]


# --- start-up on a file that is not ours ---


def foreign_database(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO customers (name) VALUES ('Ada')")
    conn.close()


def our_database(path: Path) -> None:
    """A database of ours with some rows, closed (its WAL checkpointed into the file)."""
    async def make() -> None:
        storage = await Storage.open(path)
        await storage.write(lambda conn: conn.executemany("INSERT INTO hstgrp (name) VALUES (?)", [(f"g{n}" * 100,) for n in range(100)]))
        await storage.close()

    asyncio.run(make())


def truncated_database(path: Path) -> None:
    """Ours, cut short after its first pages (a copy that stopped half way)."""
    our_database(path)
    path.write_bytes(path.read_bytes()[: 4096 * 3])


def corrupt_users_table(path: Path) -> None:
    """Ours, with the page of its users overwritten: unless opening checks the file, start-up fails
    half way (it finds no users and tries to create Admin) with a traceback."""
    our_database(path)
    corrupt_table(path, "users")


MAKERS: dict[str, tuple[Callable[[Path], None], str]] = {
    "text": (lambda p: p.write_text("name,email\nAda,ada@example.com\n" * 200), "the file is not an SQLite database, or it is corrupt"),
    "zeros": (lambda p: p.write_bytes(b"\x00" * 8192), "the file is not an SQLite database, or it is corrupt"),
    "garbage after the header": (lambda p: p.write_bytes(b"SQLite format 3\x00" + b"\x5a" * 8176),
                                 "the file is not an SQLite database, or it is corrupt"),
    "another program's database": (foreign_database, "it is an SQLite database of another program; give rpcserver a new file with --db"),
    "a truncated database": (truncated_database, "the file is not an SQLite database, or it is corrupt"),
    "ours with a corrupt table": (corrupt_users_table, "the file is not an SQLite database, or it is corrupt"),
    "a directory": (lambda p: p.mkdir(), "unable to open the file (does its folder exist, and may this user write there?)"),
}


@pytest.mark.parametrize("kind", MAKERS)
def test_start_up_on_an_unusable_file_is_one_clear_line(tmp_path: Path, kind: str) -> None:
    make, reason = MAKERS[kind]
    db = tmp_path / "bad.db"
    make(db)
    before = sorted((p.name, p.read_bytes()) for p in tmp_path.iterdir() if p.is_file())
    result = run_cli(["serve", "--db", str(db), "--port", "0"], cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [f"rpcserver: error: cannot use database {db}: {reason}"], result.stderr
    after = sorted((p.name, p.read_bytes()) for p in tmp_path.iterdir() if p.is_file())
    assert after == before, "the refused file was changed"


# --- a real full disk: a tiny tmpfs, where the environment lets the tests mount one ---


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount_point)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (it needs root with CAP_SYS_ADMIN)")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "--lazy", str(mount_point)], check=True)


def fill(disk: Path, leave: int) -> Path:
    """Write a ballast file until the disk has no room left, then give back `leave` bytes; return it."""
    ballast = disk / "ballast"
    with open(ballast, "wb") as file:
        try:
            while True:
                file.write(b"\0" * 65536)
                file.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    os.truncate(ballast, ballast.stat().st_size - leave)
    return ballast


def test_a_real_full_disk(tmp_path: Path, tiny_disk: Path) -> None:
    env = {"RPCSERVER_ADMIN_PASSWORD": "full-disk-admin", "RPCSERVER_PASSWORD_COST": "4"}
    with running_server(tmp_path, "--db", str(tiny_disk / "full.db"), env=env) as server:
        http = requests.Session()

        def call(method: str, params: Any, session: str | None = None) -> dict[str, Any]:
            headers = {"Authorization": f"Bearer {session}"} if session else {}
            body = {"jsonrpc": "2.0", "method": method, "params": params, "id": 1}
            response = http.post(f"{server.url}/api_jsonrpc", json=body, headers=headers, timeout=30).json()
            check_response(response, "")
            return response

        admin = result_of(call("user.login", {"username": "Admin", "password": env["RPCSERVER_ADMIN_PASSWORD"]}))
        eventid = result_of(call("event.create", {"host": "disk-01", "name": "disk full"}, admin))["eventids"][0]
        ballast = fill(tiny_disk, leave=256 * 1024)  # room for some calls, then none
        answered, refused = [], []
        for n in range(2000):
            message = f"{n:05} " + "x" * 2000
            response = call("event.acknowledge", {"eventids": eventid, "action": 4, "message": message}, admin)
            if "error" in response:
                assert error_of(response) == STORAGE_FAILED
                refused.append(message)
                if len(refused) == 3:
                    break
            else:
                answered.append(message)
        assert answered and refused, f"answered {len(answered)}, refused {len(refused)}: the disk did not fill up under load"
        assert http.get(f"{server.url}/healthz", timeout=10).status_code == 200

        ballast.unlink()  # room again
        after = "after the disk had room again"
        result_of(call("event.acknowledge", {"eventids": eventid, "action": 4, "message": after}, admin))
        (event,) = result_of(call("event.get", {"eventids": eventid, "output": ["eventid"], "selectAcknowledges": ["message"]}, admin))
        stored = {row["message"] for row in event["acknowledges"]}
        http.close()
        assert server.stop() == 0
    assert stored == {*answered, after}, f"answered {len(answered)}, refused {len(refused)}, stored {len(stored)}"
