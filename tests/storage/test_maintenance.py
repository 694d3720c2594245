"""`rpcserver backup` and `rpcserver check` (API.md §11), and start-up that reads only what it needs,
run as a user runs them: real processes on real databases."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import requests

from rpcserver.storage import Storage, describe

from ..conftest import ADMIN_PASSWORD, request
from ..server_process import run_cli, running_server
from ..stores import Postgres, url_of

SERVER_ENV = {"RPCSERVER_ADMIN_PASSWORD": ADMIN_PASSWORD, "RPCSERVER_PASSWORD_COST": "4"}
WRITERS = 3


def call(url: str, method: str, params: Any, auth: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {auth}"} if auth else {}
    answer = requests.post(f"{url}/api_jsonrpc", json=request(method, params), headers=headers, timeout=30).json()
    assert "result" in answer, answer
    return answer["result"]


def login(url: str) -> str:
    return str(call(url, "user.login", {"username": "Admin", "password": ADMIN_PASSWORD}))


def group_names(url: str) -> set[str]:
    return {group["name"] for group in call(url, "hostgroup.get", {"output": ["name"]}, login(url))}


def make_database(db: Any, groups: int = 0) -> None:
    """Our schema at `db` (either store), with `groups` host groups, closed."""

    async def make() -> None:
        storage = await Storage.open(db, readers=1)
        if groups:
            await storage.write(lambda conn: conn.executemany(
                "INSERT INTO hstgrp (name) VALUES (?)", [(f"Group {n:05d} " + "x" * 200,) for n in range(groups)]))
        await storage.close()

    asyncio.run(make())


def test_a_backup_taken_under_write_load_opens_and_holds_every_call_answered_before_it(tmp_path: Path, db: Any, store: str) -> None:
    with running_server(tmp_path, "--db", str(db), env=SERVER_ENV) as server:
        session = login(server.url)
        answered: list[tuple[float, str]] = []  # (when the answer came, the group it created)
        failures: list[BaseException] = []
        stop = threading.Event()

        def write(writer: int) -> None:
            n = 0
            try:
                while not stop.is_set():
                    name = f"Load {writer}-{n}"
                    call(server.url, "hostgroup.create", {"name": name}, session)
                    answered.append((time.monotonic(), name))
                    n += 1
            except BaseException as exc:  # reported in the test, not lost in the thread
                failures.append(exc)

        threads = [threading.Thread(target=write, args=(w,)) for w in range(WRITERS)]
        for thread in threads:
            thread.start()
        try:
            deadline = time.monotonic() + 30
            while len(answered) < 50 and time.monotonic() < deadline:
                time.sleep(0.01)
            began = time.monotonic()
            result = run_cli(["backup", "--db", str(db), str(tmp_path / "copy.db")], cwd=tmp_path)
        finally:
            stop.set()
            for thread in threads:
                thread.join(30)
        assert failures == []
        before = {name for when, name in answered if when < began}
        if store == "postgresql":
            assert result.returncode == 2
            assert result.stderr.splitlines() == [
                f"rpcserver: error: {describe(db)} is a PostgreSQL database: back it up with pg_dump (e.g. pg_dump "
                f"--format=custom --file {tmp_path / 'copy.db'} '{describe(db)}'), restore it with pg_restore"]
            assert not (tmp_path / "copy.db").exists()
            return
        assert result.returncode == 0, result.stderr
        assert len(before) >= 50
        assert any(when > began for when, _ in answered)  # the server went on answering writes meanwhile
    checked = run_cli(["check", "--db", str(tmp_path / "copy.db")], cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    with running_server(tmp_path, "--db", str(tmp_path / "copy.db"), env=SERVER_ENV) as copy:
        in_copy = group_names(copy.url)
    assert before <= in_copy


@pytest.mark.sqlite_only("a backup of PostgreSQL is pg_dump's (the test above checks that it says so)")
def test_a_backup_never_overwrites_and_refuses_what_is_not_ours(tmp_path: Path) -> None:
    make_database(tmp_path / "live.db")
    (tmp_path / "taken.db").write_bytes(b"precious")
    (tmp_path / "other.db").touch()
    with sqlite3.connect(tmp_path / "other.db") as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY)")
    conn.close()
    cases = [
        (["--db", str(tmp_path / "live.db"), str(tmp_path / "taken.db")],
         f"{tmp_path / 'taken.db'} already exists; give a new file (a backup never overwrites one)"),
        (["--db", str(tmp_path / "missing.db"), str(tmp_path / "new.db")],
         f"cannot use database {tmp_path / 'missing.db'}: there is no such file"),
        (["--db", str(tmp_path / "other.db"), str(tmp_path / "new.db")],
         f"cannot use database {tmp_path / 'other.db'}: it is not an rpcserver database"),
        (["--db", str(tmp_path / "live.db"), str(tmp_path / "no" / "new.db")],
         f"cannot write {tmp_path / 'no' / 'new.db'}: there is no folder {tmp_path / 'no'}"),
    ]
    for args, message in cases:
        result = run_cli(["backup", *args], cwd=tmp_path)
        assert (result.returncode, result.stderr) == (2, f"rpcserver: error: {message}\n")
    assert (tmp_path / "taken.db").read_bytes() == b"precious"
    assert not (tmp_path / "new.db").exists() and not (tmp_path / "missing.db").exists()


def test_check_of_a_sound_database_finds_nothing(tmp_path: Path, db: Any, store: str) -> None:
    make_database(db, groups=100)
    result = run_cli(["check", "--db", str(db)], cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""
    assert result.stderr.splitlines()[-1] == f"checked {describe(db)}: no problems found"


def leaf_pages(db: Path, table: str) -> list[int]:
    with sqlite3.connect(db) as conn:
        pages = [page for (page,) in conn.execute(
            "SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf' ORDER BY pageno", (table,))]
    conn.close()
    return pages


def damage_page(db: Path, page: int) -> None:
    with sqlite3.connect(db) as conn:
        size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    with open(db, "r+b") as file:
        file.seek((page - 1) * size)
        file.write(b"\xa5" * size)


@pytest.mark.sqlite_only("it damages a page of the file itself")
def test_check_finds_a_damaged_page_in_a_copy_and_says_so_line_by_line(tmp_path: Path) -> None:
    make_database(tmp_path / "live.db", groups=200)
    assert run_cli(["backup", "--db", str(tmp_path / "live.db"), str(tmp_path / "copy.db")], cwd=tmp_path).returncode == 0
    damage_page(tmp_path / "copy.db", leaf_pages(tmp_path / "copy.db", "hstgrp")[-1])
    result = run_cli(["check", "--db", str(tmp_path / "copy.db")], cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    problems = result.stdout.splitlines()
    assert problems and all(line.strip() for line in problems)
    assert result.stderr.splitlines() == [
        f"checked {tmp_path / 'copy.db'}: {len(problems)} problem{'' if len(problems) == 1 else 's'} found"]
    assert run_cli(["check", "--db", str(tmp_path / "live.db")], cwd=tmp_path).returncode == 0


@pytest.mark.sqlite_only("what start-up reads of a SQLite file")
def test_start_up_does_not_read_every_page_the_call_that_meets_a_damaged_one_says_so(tmp_path: Path) -> None:
    make_database(tmp_path / "live.db", groups=200)
    damage_page(tmp_path / "live.db", leaf_pages(tmp_path / "live.db", "hstgrp")[-1])  # not the first row's page
    with running_server(tmp_path, "--db", str(tmp_path / "live.db"), env=SERVER_ENV) as server:
        assert requests.get(f"{server.url}/healthz", timeout=10).json() == {"status": "ok"}
        answer = requests.post(f"{server.url}/api_jsonrpc", json=request("hostgroup.get", {}),
                               headers={"Authorization": f"Bearer {login(server.url)}"}, timeout=10).json()
        assert answer["error"]["code"] == -32500
        assert "malformed" not in str(answer)
    assert "a read met a database fault" in server.log()
    assert run_cli(["check", "--db", str(tmp_path / "live.db")], cwd=tmp_path).returncode == 1


@pytest.mark.parametrize("kind", ["missing", "foreign"])
def test_check_of_what_is_not_our_database_is_one_line_and_exit_2(
    tmp_path: Path, db: Any, store: str, kind: str, postgres: Postgres
) -> None:
    with ExitStack() as cleanup:
        if kind == "missing":
            db = url_of("no_such_database_here") if store == "postgresql" else tmp_path / "missing.db"
        elif store == "sqlite":
            db = tmp_path / "foreign.db"  # the test's own `db` holds rpcserver's schema already
            with sqlite3.connect(db) as conn:
                conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY)")
            conn.close()
        else:
            db = cleanup.enter_context(postgres.database(empty=True))
        result = run_cli(["check", "--db", str(db)], cwd=tmp_path)
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith(f"rpcserver: error: cannot use database {describe(db)}: ")
    assert result.stdout == ""
    if kind == "foreign":
        assert result.stderr.endswith("it is not an rpcserver database\n")
