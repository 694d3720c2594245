"""What differs between the two databases, and nothing else.

Every query is written once, in the SQL both SQLite and PostgreSQL understand: `?` and `:name`
placeholders (the PostgreSQL connection translates them), `RETURNING` for new ids, `ON CONFLICT`,
`coalesce`, `CASE`. Where the two really differ, the query asks its connection's `engine` for the
fragment: an id list as rows, a case-insensitive LIKE, JSON built by the database. A unit of work
or read function receives a `Db`; `db.engine` is how it tells the two apart, and only here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

Params = Sequence[Any] | Mapping[str, Any]


class Cursor(Protocol):
    rowcount: int

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Any: ...


class Db(Protocol):
    """The connection a unit of work or read function is given: sqlite3's, or ours over psycopg's."""

    engine: Engine

    def execute(self, sql: str, params: Params = ..., /) -> Any: ...

    def executemany(self, sql: str, rows: Iterable[Params], /) -> Any: ...


class Engine:
    """SQLite's fragments; `PostgresEngine` overrides those PostgreSQL writes differently."""

    name = "sqlite"

    def ids(self, param: str) -> str:
        """A FROM item of the ids in the JSON array bound as `:param`: rows (key = position, value = id)."""
        return f"json_each(:{param})"

    def like(self, expr: str, param: str, *, negate: bool = False) -> str:
        """`expr` matches the pattern bound as `:param` (`!` escapes), ignoring ASCII case, as Zabbix's search does."""
        return f"{expr} {'NOT LIKE' if negate else 'LIKE'} :{param} ESCAPE '!'"

    def json_object(self, pairs: Iterable[tuple[str, str]]) -> str:
        """SQL of a JSON object of (name, SQL of its value); a value is a string unless it is itself
        made by a JSON function of this engine (`json_object`, `json_array`)."""
        return "json_object(" + ", ".join(f"'{name}', {sql}" for name, sql in pairs) + ")"

    def json_array(self, obj: str, source: str, where: str, order: str) -> str:
        """SQL of a JSON array (never null) of `obj` over the rows of `source` that match `where`, in `order`."""
        return (f"json((SELECT json_group_array(json(o)) FROM (SELECT {obj} AS o FROM {source} WHERE {where}"
                f" ORDER BY {order})))")

    def concat(self, expr: str) -> str:
        """An aggregate: the texts of `expr` joined with commas, in the rows' order."""
        return f"group_concat({expr})"

    def empty_json_array(self) -> str:
        """SQL of an empty JSON array, a JSON value (not a string) in `json_object`."""
        return "json_array()"

    def json_or(self, subquery: str, default: str) -> str:
        """SQL of the JSON value a scalar `subquery` (of a JSON function of this engine) gives, or of
        the JSON text `default` (a literal, no quotes in it) when it finds no row."""
        return f"json(coalesce(({subquery}), '{default}'))"

    def nocase_order(self, expr: str) -> str:
        """A sort key of the text `expr` (a NOCASE column) that orders as SQLite's NOCASE: bytewise
        after folding ASCII letters only."""
        return expr

    def texts(self, param: str, alias: str) -> str:
        """A FROM item, named `alias`, of the texts in the JSON array bound as `:param`: rows of `alias.value`."""
        return f"json_each(:{param}) AS {alias}"

    def lock_events(self, param: str) -> str | None:
        """A statement that locks, until the transaction ends, the events whose ids are in the JSON
        array bound as `:param`, in id order (no deadlock between two units); run it before reading
        the state a unit will change. None here: SQLite's one writer already holds the database."""
        return None

    def lock_trigger(self, param: str) -> str | None:
        """A statement that locks, until the transaction ends, the trigger whose id is bound as `:param`;
        run it before reading whether the trigger has a problem open. None here: SQLite's one writer
        already holds the database."""
        return None

    def lock_key(self, key: int) -> str | None:
        """A statement that holds the lock named by `key` until the transaction ends: a unit taking
        the same key in another process waits for it. For work that must happen once across servers
        but has no row to lock yet. None here: SQLite's one writer already holds the database."""
        return None

    def nocase_equals(self, expr: str, value: str) -> str:
        """`expr` (a NOCASE name: username, role or user group name) equals the text `value` (SQL: `?`,
        `:name`) as SQLite's NOCASE compares: ignoring the case of ASCII letters only ('É' is not 'é')."""
        return f"{expr} = {value}"


class PostgresEngine(Engine):
    name = "postgresql"

    def ids(self, param: str) -> str:
        return f"json_ids(:{param})"  # a set-returning function of the schema (postgresql/schema.py)

    def like(self, expr: str, param: str, *, negate: bool = False) -> str:
        # lower() in the C collation folds ASCII letters only, as SQLite's LIKE ignores only their case.
        return (f'lower(({expr}) COLLATE "C") {"NOT LIKE" if negate else "LIKE"}'
                f' lower(CAST(:{param} AS TEXT) COLLATE "C") ESCAPE \'!\'')

    def json_object(self, pairs: Iterable[tuple[str, str]]) -> str:
        return "json_build_object(" + ", ".join(f"'{name}', {sql}" for name, sql in pairs) + ")"

    def json_array(self, obj: str, source: str, where: str, order: str) -> str:
        return f"coalesce((SELECT json_agg({obj} ORDER BY {order}) FROM {source} WHERE {where}), '[]'::json)"

    def concat(self, expr: str) -> str:
        return f"string_agg({expr}, ',')"

    def empty_json_array(self) -> str:
        return "json_build_array()"

    def json_or(self, subquery: str, default: str) -> str:
        return f"coalesce(({subquery}), '{default}'::json)"

    def nocase_order(self, expr: str) -> str:
        # lower() in the C collation folds ASCII letters only, as NOCASE does.
        return f'lower(({expr}) COLLATE "C")'

    def texts(self, param: str, alias: str) -> str:
        return f"jsonb_array_elements_text(CAST(:{param} AS jsonb)) AS {alias}(value)"

    def lock_events(self, param: str) -> str | None:
        # Several servers (writer connections) may change the same problem at once.
        return f"SELECT eventid FROM events WHERE eventid IN (SELECT value FROM json_ids(:{param})) ORDER BY eventid FOR UPDATE"

    def lock_trigger(self, param: str) -> str | None:
        # Several servers may ingest events of one trigger at once.
        return f"SELECT triggerid FROM triggers WHERE triggerid = :{param} FOR UPDATE"

    def lock_key(self, key: int) -> str | None:
        return f"SELECT pg_advisory_xact_lock({int(key)})"

    def nocase_equals(self, expr: str, value: str) -> str:
        # lower() in the C collation folds ASCII letters only, as NOCASE does ('É' stays 'É').
        return f'lower(({expr}) COLLATE "C") = lower(CAST({value} AS TEXT) COLLATE "C")'


SQLITE = Engine()
POSTGRESQL = PostgresEngine()
