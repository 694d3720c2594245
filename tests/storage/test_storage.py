"""Storage at the function level: group commit, savepoints, durability, reads, migrations."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from rpcserver.domain.errors import Unavailable
from rpcserver.errors import InvalidParams
from rpcserver.storage import Storage, StorageOpenError
from rpcserver.storage._writer import Failed, runs_together
from rpcserver.storage.sqlite.migrations import APPLICATION_ID, MIGRATIONS, Migration, sql_migration

NOTES = [sql_migration("notes", "CREATE TABLE note (id INTEGER PRIMARY KEY, text TEXT NOT NULL UNIQUE)")]


def add_note(conn: sqlite3.Connection, text: str) -> int:
    return conn.execute("INSERT INTO note (text) VALUES (?)", (text,)).lastrowid


def add_note_then_refuse(conn: sqlite3.Connection, text: str) -> None:
    add_note(conn, text)
    raise InvalidParams("refused after writing")


def notes(conn: sqlite3.Connection) -> list[str]:
    return [row[0] for row in conn.execute("SELECT text FROM note ORDER BY id")]


@pytest.fixture
async def storage(tmp_path: Path) -> Any:
    storage = await Storage.open(tmp_path / "s.db", migrations=NOTES)
    yield storage
    await storage.close()


async def test_a_write_returns_the_units_result(storage: Storage) -> None:
    assert await storage.write(add_note, "a") == 1
    assert await storage.read(notes) == ["a"]


async def test_concurrent_writes_share_transactions(storage: Storage) -> None:
    await asyncio.gather(*(storage.write(add_note, f"n{i}") for i in range(200)))
    assert storage.stats.units == 200
    assert storage.stats.commits < 200  # grouped
    assert len(await storage.read(notes)) == 200


async def test_a_failing_unit_rolls_back_alone(storage: Storage) -> None:
    outcomes = await asyncio.gather(
        storage.write(add_note, "before"),
        storage.write(add_note_then_refuse, "refused"),
        storage.write(add_note, "before"),  # UNIQUE violation: a database error in the unit
        storage.write(add_note, "after"),
        return_exceptions=True,
    )
    assert outcomes[0] == 1 and outcomes[3] > 1
    assert isinstance(outcomes[1], InvalidParams)
    assert isinstance(outcomes[2], sqlite3.IntegrityError)
    assert storage.stats.commits == 1  # all four units were in one transaction
    assert await storage.read(notes) == ["before", "after"]


def counted(runs: list[str], unit: Any) -> Any:
    def run(conn: sqlite3.Connection, text: str) -> Any:
        runs.append(text)
        return unit(conn, text)
    return run


def refuse(conn: sqlite3.Connection, text: str) -> None:
    raise InvalidParams(f"refused {text} before writing")


async def test_a_unit_refused_before_writing_fails_alone_and_nothing_runs_twice(storage: Storage) -> None:
    # Nothing to undo (no row changed): the batch needs no savepoint per unit, and no second run.
    runs: list[str] = []
    outcomes = await asyncio.gather(
        storage.write(counted(runs, add_note), "a"),
        storage.write(counted(runs, refuse), "r"),
        storage.write(counted(runs, add_note), "a"),  # UNIQUE violation: SQLite undoes the statement itself
        storage.write(counted(runs, add_note), "b"),
        return_exceptions=True,
    )
    assert outcomes[0] == 1 and outcomes[3] > 1
    assert isinstance(outcomes[1], InvalidParams) and isinstance(outcomes[2], sqlite3.IntegrityError)
    assert runs == ["a", "r", "a", "b"]
    assert storage.stats.commits == 1
    assert await storage.read(notes) == ["a", "b"]


async def test_a_unit_refused_after_writing_is_undone_alone_by_running_the_batch_again(storage: Storage) -> None:
    runs: list[str] = []
    outcomes = await asyncio.gather(
        storage.write(counted(runs, add_note), "a"),
        storage.write(counted(runs, add_note_then_refuse), "r"),
        storage.write(counted(runs, add_note), "b"),
        return_exceptions=True,
    )
    assert outcomes[0] == 1 and isinstance(outcomes[1], InvalidParams) and outcomes[2] > 1
    assert runs == ["a", "r", "a", "r", "b"]  # given up at "r", then all again, each in a savepoint
    assert storage.stats.commits == 1
    assert await storage.read(notes) == ["a", "b"]


RUN_TOGETHER: list[list[str]] = []
"""The texts of each run of `notes_together`, in order."""


def notes_together(conn: sqlite3.Connection, calls: list[tuple[Any, ...]]) -> list[Any]:
    """`add_note_together` of several calls as one unit; fails as a whole where a text says "fail together"."""
    RUN_TOGETHER.append([text for (text,) in calls])
    if any(text == "fail together" for (text,) in calls):
        raise RuntimeError("the calls failed together")
    outcomes: list[Any] = []
    for (text,) in calls:
        try:
            outcomes.append(add_note_together(conn, text))
        except InvalidParams as exc:
            outcomes.append(Failed(exc))
    return outcomes


@runs_together(notes_together)
def add_note_together(conn: sqlite3.Connection, text: str) -> int:
    if text.startswith("refuse"):
        raise InvalidParams(f"refused {text}")
    return add_note(conn, text)


async def answered(*writes: Any) -> list[Any]:
    """The writes' outcomes (an exception as the outcome), failing the test if one is never answered."""
    return await asyncio.wait_for(asyncio.gather(*writes, return_exceptions=True), 10)


@pytest.fixture
def together() -> Any:
    RUN_TOGETHER.clear()
    yield RUN_TOGETHER
    RUN_TOGETHER.clear()


async def test_units_that_run_together_run_as_one_and_answer_each(storage: Storage, together: list[list[str]]) -> None:
    texts = [f"n{i}" for i in range(20)]
    outcomes = await answered(*(storage.write(add_note_together, text) for text in texts))
    assert outcomes == list(range(1, 21))  # each its own result, in the order queued
    assert together == [texts] and storage.stats.units == 20 and storage.stats.commits == 1
    assert await storage.read(notes) == texts


async def test_a_call_refused_among_calls_run_together_fails_alone(storage: Storage, together: list[list[str]]) -> None:
    outcomes = await answered(*(storage.write(add_note_together, text) for text in ("a", "refuse b", "c")))
    assert outcomes[0] == 1 and isinstance(outcomes[1], InvalidParams) and outcomes[2] == 2
    assert together == [["a", "refuse b", "c"]]
    assert await storage.read(notes) == ["a", "c"]


async def test_calls_that_fail_together_run_again_each_alone(storage: Storage, together: list[list[str]]) -> None:
    outcomes = await answered(*(storage.write(add_note_together, text) for text in ("a", "fail together", "c")))
    assert outcomes == [1, 2, 3]  # alone, "fail together" is a note like any other
    assert together == [["a", "fail together", "c"]]  # run together once, then each alone
    assert storage.stats.commits == 2 and storage.stats.units == 6
    assert await storage.read(notes) == ["a", "fail together", "c"]


async def test_only_neighbours_of_one_kind_run_together(storage: Storage, together: list[list[str]]) -> None:
    outcomes = await answered(
        storage.write(add_note_together, "a"),
        storage.write(add_note, "b"),
        storage.write(add_note_together, "c"),
        storage.write(add_note_together, "d"),
    )
    assert outcomes == [1, 2, 3, 4]  # in the order queued
    assert together == [["c", "d"]]  # "a" ran alone: "b" stands between


async def test_a_failed_commit_fails_every_unit_of_the_batch(tmp_path: Path) -> None:
    # A deferred foreign key is checked at COMMIT: the whole transaction fails there.
    schema = [sql_migration("deferred", """
        CREATE TABLE parent (id INTEGER PRIMARY KEY);
        CREATE TABLE child (id INTEGER PRIMARY KEY,
            parent INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)""")]
    storage = await Storage.open(tmp_path / "d.db", migrations=schema)
    try:
        ok = storage.write(lambda c: c.execute("INSERT INTO parent (id) VALUES (1)"))
        dangling = storage.write(lambda c: c.execute("INSERT INTO child (parent) VALUES (99)"))
        outcomes = await asyncio.gather(ok, dangling, return_exceptions=True)
        assert all(isinstance(o, Unavailable) for o in outcomes)
        assert "nothing was changed" in str(outcomes[0])
        assert storage.stats.failed_batches == 1
        assert await storage.read(lambda c: c.execute("SELECT count(*) FROM parent").fetchone()[0]) == 0
        assert await storage.write(lambda c: c.execute("INSERT INTO parent (id) VALUES (2)").rowcount) == 1  # and it recovers
    finally:
        await storage.close()


async def test_answered_writes_survive_a_reopen(tmp_path: Path) -> None:
    storage = await Storage.open(tmp_path / "r.db", migrations=NOTES)
    await asyncio.gather(*(storage.write(add_note, f"n{i}") for i in range(50)))
    await storage.close()
    assert not (tmp_path / "r.db-wal").exists()  # closed cleanly: WAL checkpointed
    reopened = await Storage.open(tmp_path / "r.db", migrations=NOTES)
    try:
        assert len(await reopened.read(notes)) == 50
    finally:
        await reopened.close()


async def test_writes_are_on_disk_before_they_are_answered(tmp_path: Path) -> None:
    storage = await Storage.open(tmp_path / "w.db", migrations=NOTES)
    try:
        await storage.write(add_note, "durable")
        # Another connection, as another process would, sees the write at once.
        with sqlite3.connect(tmp_path / "w.db") as other:
            assert notes(other) == ["durable"]
    finally:
        await storage.close()


async def test_reads_see_one_snapshot_and_cannot_write(storage: Storage) -> None:
    await storage.write(add_note, "a")
    with pytest.raises(sqlite3.OperationalError, match="readonly|read-only"):
        await storage.read(add_note, "b")


async def test_connections_are_configured(storage: Storage) -> None:
    def pragmas(conn: sqlite3.Connection) -> tuple[Any, ...]:
        return tuple(conn.execute(f"PRAGMA {name}").fetchone()[0] for name in ("journal_mode", "foreign_keys", "synchronous", "busy_timeout"))

    assert await storage.write(pragmas) == ("wal", 1, 2, 5000)  # synchronous 2 = FULL
    assert await storage.read(pragmas) == ("wal", 1, 2, 5000)


async def test_migrations_run_in_order_once(tmp_path: Path) -> None:
    runs: list[int] = []
    steps = [Migration(f"step {n}", lambda conn, n=n: runs.append(n)) for n in (1, 2, 3)]
    first = await Storage.open(tmp_path / "m.db", migrations=steps[:2])
    await first.close()
    second = await Storage.open(tmp_path / "m.db", migrations=steps)
    await second.close()
    assert runs == [1, 2, 3]
    assert second.schema_version == 3
    with sqlite3.connect(tmp_path / "m.db") as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 3
        assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID


def _acknowledged_problem(conn: sqlite3.Connection) -> None:
    """A v1 database's acknowledged problem: its mirrors set, as v1 kept them."""
    conn.execute("INSERT INTO users (userid, username) VALUES (10, 'ops')")
    conn.execute("INSERT INTO hosts (hostid, host, name) VALUES (1, 'h', 'h')")
    conn.execute("INSERT INTO triggers (triggerid, hostid, description) VALUES (1, 1, 't')")
    conn.execute("INSERT INTO events (eventid, objectid, clock, value, acknowledged, name) VALUES (7, 1, 100, 1, 1, 'disk full')")
    conn.execute("INSERT INTO problem (eventid, objectid, clock, acknowledged, name) VALUES (7, 1, 100, 1, 'disk full')")
    conn.execute("INSERT INTO acknowledgement (eventid, userid, acknowledged_on, last_modified) VALUES (7, 10, 100, 100)")


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]


async def test_version_2_drops_the_acknowledged_mirrors_of_a_version_1_database(tmp_path: Path) -> None:
    v1 = await Storage.open(tmp_path / "v1.db", migrations=MIGRATIONS[:1])
    await v1.write(_acknowledged_problem)
    await v1.close()
    v2 = await Storage.open(tmp_path / "v1.db", migrations=MIGRATIONS[:2])
    try:
        assert v2.schema_version == 2
        kept = await v2.read(lambda c: (
            c.execute("SELECT eventid, name, value FROM events").fetchall(),
            c.execute("SELECT eventid, name FROM problem").fetchall(),
            c.execute("SELECT eventid, userid FROM acknowledgement").fetchall(),
            _columns(c, "events"), _columns(c, "problem"),
            c.execute("SELECT name FROM sqlite_schema WHERE type = 'trigger'").fetchall(),
        ))
        events, problems, spans, event_columns, problem_columns, triggers = kept
        assert (events, problems, spans) == ([(7, "disk full", 1)], [(7, "disk full")], [(7, 10)])
        assert "acknowledged" not in event_columns and "severity" in event_columns
        assert "acknowledged" not in problem_columns and "cause_eventid" in problem_columns
        assert triggers == []
        # the user's spans still go with the user, now without the trigger that followed them
        await v2.write(lambda c: c.execute("DELETE FROM users WHERE userid = 10"))
        assert await v2.read(lambda c: c.execute("SELECT count(*) FROM acknowledgement").fetchone()[0]) == 0
    finally:
        await v2.close()


async def test_a_failing_migration_changes_nothing(tmp_path: Path) -> None:
    broken = [sql_migration("half", "CREATE TABLE a (x); CREATE TABLE a (x)")]
    with pytest.raises(StorageOpenError, match="table a already exists"):
        await Storage.open(tmp_path / "f.db", migrations=broken)
    with sqlite3.connect(tmp_path / "f.db") as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0] == 0


async def test_a_newer_database_is_refused(tmp_path: Path) -> None:
    later = [Migration(f"later {n}", lambda conn: None) for n in (2, 3)]
    newer = await Storage.open(tmp_path / "n.db", migrations=[*NOTES, *later])
    await newer.close()
    with pytest.raises(StorageOpenError, match=r"schema version 3, newer than this rpcserver knows \(up to 1\); upgrade rpcserver"):
        await Storage.open(tmp_path / "n.db", migrations=NOTES)


async def test_a_foreign_database_is_refused(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "other.db") as conn:
        conn.execute("CREATE TABLE customers (id)")
    with pytest.raises(StorageOpenError, match="database of another program"):
        await Storage.open(tmp_path / "other.db", migrations=NOTES)


@pytest.mark.parametrize("content", [b"this is not a database, just text" * 100, b"SQLite format 3\x00" + b"\xff" * 4000])
async def test_a_corrupt_file_is_refused(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "bad.db").write_bytes(content)
    with pytest.raises(StorageOpenError, match="not an SQLite database, or it is corrupt"):
        await Storage.open(tmp_path / "bad.db", migrations=NOTES)


async def test_an_unopenable_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StorageOpenError, match="unable to open"):
        await Storage.open(tmp_path / "no" / "such" / "dir.db", migrations=NOTES)


async def test_writes_after_close_are_refused(tmp_path: Path) -> None:
    storage = await Storage.open(tmp_path / "c.db", migrations=NOTES)
    await storage.close()
    with pytest.raises(Unavailable, match="shutting down"):
        await storage.write(add_note, "late")
