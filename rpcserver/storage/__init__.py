"""Storage: the only place that talks to a database.

Two backends behind one interface: SQLite (`sqlite/`, a file: the embedded default) and PostgreSQL
(`postgresql/`, a `postgresql://` URL: one database shared by several servers). Units of work and
read functions are plain functions of a `engine.Db` connection, written once in SQL both understand;
they run on the connection's thread. Writes go through one group-commit writer (`_writer`), reads
through a small pool of connections, each read in one snapshot. Every unit of work lives here, none
in a handler; what they refuse they raise as `rpcserver.domain.errors`, never as JSON-RPC errors.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit, urlunsplit

from . import credentials
from ._writer import TOGETHER, Failed, GroupCommitWriter, Outcomes, Unit, WriterObserver, WriterStats
from .engine import Db, Engine

__all__ = ["Storage", "StorageOpenError", "Store", "Transaction", "WriterStats", "describe", "is_postgresql_url"]

T = TypeVar("T")


def _select_one(conn: Db) -> None:
    conn.execute("SELECT 1").fetchone()


class StorageOpenError(Exception):
    """The database cannot be opened or used; the message says why, for a person."""


def is_postgresql_url(db: str | Path) -> bool:
    return str(db).startswith(("postgresql://", "postgres://"))


def describe(db: str | Path) -> str:
    """The database as it may be shown or logged: a path, or a URL without its password."""
    if not is_postgresql_url(db):
        return str(db)
    parts = urlsplit(str(db))
    if parts.password is None:
        return str(db)
    user, host = parts.netloc.rsplit("@", 1)
    return urlunsplit(parts._replace(netloc=f"{user.split(':', 1)[0]}:***@{host}"))


class Backend(Protocol):
    engine: Engine
    schema_version: int
    description: str
    """How the database is named to people: a path, or a URL without its password."""
    warnings: tuple[str, ...]
    """What whoever runs the server should know of the database (the server logs it as it starts)."""

    async def run_batch(self, units: list[Unit]) -> tuple[bool, Outcomes]: ...

    async def read(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T: ...

    async def begin_request(self) -> None: ...

    async def run_in_request(self, unit: Unit) -> Any: ...

    async def end_request(self, commit: bool) -> None: ...

    async def close(self) -> None: ...


class Store(Protocol):
    """What a handler writes and reads through: the `Storage`, or one request's `Transaction`."""

    async def write(self, unit: Callable[..., T], *args: Any) -> T: ...

    async def read(self, fn: Callable[..., T], *args: Any) -> T: ...


class Transaction:
    """One writer transaction for a whole HTTP request (API.md §8: Idempotency-Key, Dry-Run).

    Every write and read of the request runs on the writer connection, each in a savepoint of its
    own as in a group-committed batch (a failing unit rolls back alone), and reads see the
    request's own writes. Nothing is kept unless `commit` is awaited.
    """

    def __init__(self, backend: Backend, storage: Storage) -> None:
        self._backend = backend
        self._storage = storage
        self.ended = False

    async def write(self, unit: Callable[..., T], *args: Any) -> T:
        """Raises what `unit` raised (its changes rolled back), or Unavailable for a database fault."""
        result: T = await self._backend.run_in_request(lambda db: unit(db, *args))
        return result

    read = write

    async def commit(self) -> None:
        """Keep every change of the request. Raises Unavailable if the database kept nothing."""
        # As a group-committed batch does: callers cached in this process see the request's changes next call.
        generation = await self._backend.run_in_request(credentials.generation)
        self.ended = True  # not before: if that read fails, `Storage.transaction` still ends the transaction
        await self._backend.end_request(commit=True)
        self._storage.saw_credentials_generation(generation)


class Storage:
    def __init__(self, backend: Backend) -> None:
        self._backend = backend
        self._writer = GroupCommitWriter(self._run_batch)
        self._credentials_generation: int | None = None

    async def _run_batch(self, units: list[Unit]) -> tuple[bool, Outcomes]:
        # Each transaction ends by reading the credentials generation, so that callers cached in this
        # process see a change written here by the very next call (auth.Callers).
        committed, outcomes = await self._backend.run_batch([*units, credentials.generation])
        generation = outcomes.pop()
        if committed:
            self.saw_credentials_generation(None if isinstance(generation, Failed) else generation)
        return committed, outcomes

    @property
    def stats(self) -> WriterStats:
        return self._writer.stats

    def observe_writes(self, observer: WriterObserver) -> None:
        """Tell `observer` of the writer's queue depth as each batch starts, and of every committed batch."""
        self._writer.observer = observer

    @property
    def queue_depth(self) -> int:
        """Writes waiting for the writer now."""
        return self._writer.depth

    @property
    def schema_version(self) -> int:
        return self._backend.schema_version

    @property
    def description(self) -> str:
        return self._backend.description

    @property
    def warnings(self) -> tuple[str, ...]:
        """What whoever runs the server should know of the database, e.g. that PostgreSQL's autovacuum is off."""
        return self._backend.warnings

    @classmethod
    async def open(
        cls, db: str | Path, *, synchronous: str = "FULL", readers: int = 2, migrations: Sequence[Any] | None = None
    ) -> Storage:
        """Open (creating the schema if needed) and migrate the database `db`: a file path, or a
        `postgresql://` URL. `migrations` replaces SQLite's list (tests of the migration machinery).

        Raises:
            StorageOpenError: the database cannot be opened or written, is not ours, is corrupt, is
                newer than this code, or is held by another program; the text says which.
        """
        backend: Backend
        if is_postgresql_url(db):
            from .postgresql import PostgresBackend
            from .postgresql.schema import SchemaError as PgSchemaError

            try:
                backend = await PostgresBackend.open(str(db), readers=readers)
            except PgSchemaError as exc:
                raise StorageOpenError(f"cannot use database {describe(db)}: {exc}") from None
        else:
            from .sqlite import SqliteBackend
            from .sqlite.migrations import SchemaError

            try:
                extra = {} if migrations is None else {"migrations": migrations}
                backend = await SqliteBackend.open(str(db), synchronous=synchronous, readers=readers, **extra)
            except SchemaError as exc:
                raise StorageOpenError(f"cannot use database {db}: {exc}") from None
        return cls(backend)

    async def write(self, unit: Callable[..., T], *args: Any) -> T:
        """Run `unit(db, *args)` in the next group-committed transaction, atomically.

        Returns only after the transaction has committed. If `unit` raises, its changes are
        rolled back (alone) and the exception is raised here.
        """
        many = TOGETHER.get(unit)  # its calls queued side by side may run as one unit (`_writer.runs_together`)
        if args:
            return await self._writer.submit(lambda db: unit(db, *args), None if many is None else (many, args))
        return await self._writer.submit(unit)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """The writer connection for one request, in one transaction, until the block ends: rolled
        back then unless committed. Group-committed writes wait meanwhile (on SQLite, other
        processes' writers too), so the block should do no more than the request.

        Raises:
            Unavailable: the transaction cannot begin (the server is stopping, or the database fails).
        """
        async with self._writer.exclusive():
            await self._backend.begin_request()
            transaction = Transaction(self._backend, self)
            try:
                yield transaction
            finally:
                if not transaction.ended:
                    await self._backend.end_request(commit=False)

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(db, *args)` on a reader connection, in one snapshot of committed data.

        Raises:
            Unavailable: the database cannot be read (locked, failing, corrupt or unreachable).
        """
        return await self._backend.read(fn, args)

    async def ping(self) -> None:
        """Raises unless the database answers a query."""
        await self._backend.read(_select_one, ())

    @property
    def credentials_generation(self) -> int | None:
        """The newest credentials generation this process has read (storage/credentials.py), None when
        it is unknown (not read yet, or its last read failed)."""
        return self._credentials_generation

    def saw_credentials_generation(self, generation: int | None) -> None:
        """Note a generation read from the database: the newest wins; None (a failed read) forgets it."""
        if generation is None or self._credentials_generation is None:
            self._credentials_generation = generation
        else:
            self._credentials_generation = max(self._credentials_generation, generation)

    async def close(self) -> None:
        """Finish queued writes, then close every connection."""
        await self._writer.close()
        await self._backend.close()
