"""The `rpcserver` command."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sqlite3
import sys
from collections.abc import Sequence
from typing import NoReturn

import orjson

from . import __version__, accesslog
from .app import create_app
from .config import Config, ConfigError, env_name, load_config
from .domain.errors import DomainError
from .passwords import hash_password
from .server import ListenError, collect_less_often, run_event_loop, serve, stop_on_signals
from .storage import Storage, StorageOpenError, describe, users

USAGE_ERROR = 2
PROBLEMS_FOUND = 1
"""`rpcserver check`'s exit status when it found damage (2: it could not check)."""
DEFAULTS = Config()
LOG_FORMAT = "%(asctime)s %(levelname)s %(message)s"
"""What logging writes; the lines per request (accesslog.py) are made to read the same."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line a person can act on, not argparse's usage dump.
        self.exit(USAGE_ERROR, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="rpcserver",
        description="A JSON-RPC 2.0 server for the acknowledgement state of monitoring problems "
        "(Zabbix event.acknowledge, incident and time-bounded acknowledgement dialects).",
    )
    parser.add_argument("--version", action="version", version=f"rpcserver {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True
    serve_parser = commands.add_parser(
        "serve",
        help="run the server",
        description="Run the server. Every flag can also be set by the environment variable "
        "shown; a flag wins over its variable.",
    )

    def flag(name: str, help: str, **kwargs: object) -> None:
        dest = name.lstrip("-").replace("-", "_")
        default = getattr(DEFAULTS, dest)
        default = "none" if default is None else default
        shown = f" (default: {default}; {env_name(dest)})" if not isinstance(default, bool) else f" ({env_name(dest)}=1)"
        serve_parser.add_argument(name, dest=dest, default=None, help=help + shown, **kwargs)  # type: ignore[arg-type]

    flag("--host", "address to listen on; keep 127.0.0.1 unless clients on other machines need it", metavar="ADDR")
    flag("--port", "TCP port to listen on; 0 picks a free one", type=int, metavar="N")
    flag("--db", "SQLite database file, created with its schema if it does not exist; or a PostgreSQL database "
         "as postgresql://[user[:password]@]host[:port]/dbname, its schema created if it is empty", metavar="PATH|URL")
    flag("--demo", "load demo data into an empty database", action="store_const", const=True)
    flag("--body-limit", "largest request body accepted, in bytes (larger: HTTP 413)", type=int, metavar="BYTES")
    flag("--batch-limit", "most requests accepted in one JSON-RPC batch", type=int, metavar="N")
    flag("--depth-limit", "most levels of arrays and objects inside each other in a request body (2 to 1000)",
         type=int, metavar="N")
    flag("--ids-limit", "most items in any one array inside a call's params", type=int, metavar="N")
    flag("--string-limit", "most characters in any one string or key inside a call's params (at least 64)", type=int, metavar="N")
    flag("--synchronous", "SQLite synchronous mode; FULL makes every answered write survive a power loss",
         choices=["OFF", "NORMAL", "FULL", "EXTRA"], type=str.upper)
    flag("--log-level", "DEBUG, INFO (one line per request), WARNING or ERROR",
         choices=["DEBUG", "INFO", "WARNING", "ERROR"], type=str.upper)
    flag("--shutdown-timeout", "seconds to let calls in flight finish after SIGTERM", type=float, metavar="S")
    flag("--idempotency-ttl", "seconds an answer is kept for a repeat of its Idempotency-Key", type=int, metavar="S")
    flag("--trusted-proxies", "comma-separated addresses or networks of reverse proxies in front of the server: "
         "from them the client's address is taken from X-Forwarded-For", metavar="ADDR[,ADDR...]")
    flag("--no-metrics", "serve no GET /metrics (Prometheus text format, open to anyone who reaches the port)",
         action="store_const", const=True)
    flag("--metrics-dir", "with --workers: a directory of its own where the workers' /metrics series meet, emptied at "
         "start; by default a temporary one", metavar="DIR")
    flag("--workers", "worker processes serving the port, over the one database; more than 1: a parent binds the "
         "port, prepares the database once and replaces a worker that dies", type=int, metavar="N")
    flag("--ack-default-duration", 'how long an acknowledgement opened without an end lasts, in every dialect, e.g. "4h"; '
         "none: until ended", metavar="D")
    flag("--ack-max-duration", 'the longest end an acknowledgement may be given, e.g. "7d" (longer: refused); '
         'it caps --ack-default-duration and "recovery" ones too; none: no limit', metavar="D")
    flag("--flap-guard", 'seconds after a problem resolves within which its trigger\'s new problem inherits its '
         '"recovery" acknowledgements (0: never)', type=int, metavar="S")
    passwd_parser = commands.add_parser(
        "passwd",
        help="set a user's password, read from standard input",
        description="Set USER's password to the first line of standard input, in the database `serve` would "
        "open, and end the user's sessions. Example: echo 'n3w-pass' | rpcserver passwd Admin",
    )
    passwd_parser.add_argument("username", metavar="USER", help="the user's name (as for user.login)")
    backup_parser = commands.add_parser(
        "backup",
        help="write a consistent copy of the SQLite database, safe while the server runs",
        description="Write a consistent copy of the SQLite database `serve` would open into the new file DEST, "
        "while servers go on using it (SQLite's online backup: the copy holds every change answered before it "
        "began). `rpcserver serve --db DEST` serves the copy. A PostgreSQL database is pg_dump's to back up "
        "(exit status 2). Example: rpcserver backup --db /var/lib/rpcserver/rpcserver.db /backup/rpcserver-$(date +%F).db",
    )
    backup_parser.add_argument("dest", metavar="DEST", help="the new file to write (never overwritten)")
    check_parser = commands.add_parser(
        "check",
        help="check every page of the database; one line per problem",
        description="Check the whole database `serve` would open, while servers may go on using it, and print one "
        "line per problem found. SQLite: every page, index and foreign key (PRAGMA integrity_check and "
        "foreign_key_check). PostgreSQL: every table read through, and every index checked where the amcheck "
        "extension is installed. Exit status: 0 no problem, 1 problems found, 2 the database cannot be checked.",
    )
    for needs_db in (passwd_parser, backup_parser, check_parser):
        needs_db.add_argument("--db", dest="db", default=None, metavar="PATH|URL",
                              help=f"SQLite database file or postgresql:// URL (default: {DEFAULTS.db}; {env_name('db')})")
    copy_parser = commands.add_parser(
        "copy",
        help="copy a database into a new, empty one (SQLite or PostgreSQL, either way)",
        description="Copy everything in SOURCE (users, groups, roles, rights, tokens, hosts, triggers, events, problems, "
        "history, acknowledgements, suppressions) into the empty TARGET, in one transaction, ids kept; print a count "
        "per table. Each is a SQLite file or a postgresql:// URL; a TARGET that already holds users or events is "
        "refused untouched. Example: rpcserver copy rpcserver.db postgresql://rpc@db.example/rpcserver",
    )
    copy_parser.add_argument("source", metavar="SOURCE", help="the database to copy: a file path or postgresql:// URL")
    copy_parser.add_argument("target", metavar="TARGET", help="the empty database to copy into (created if a new file)")
    reference_parser = commands.add_parser(
        "reference",
        help="print the API reference (Markdown), or the OpenRPC document",
        description="Print the API reference generated from the server's method table and schemas, as "
        "Markdown (docs/api.md is this output), or with --openrpc as the document rpc.discover returns.",
    )
    shown = reference_parser.add_mutually_exclusive_group()
    shown.add_argument("--openrpc", action="store_const", dest="shown", const="openrpc",
                       help="print the OpenRPC document (JSON)")
    shown.add_argument("--methods", action="store_const", dest="shown", const="methods",
                       help="print only the tables of methods by family (README.md's)")
    return parser


def fail(message: str) -> NoReturn:
    print(f"rpcserver: error: {message}", file=sys.stderr)
    raise SystemExit(USAGE_ERROR)


def run_serve(config: Config) -> None:
    logging.basicConfig(level=config.log_level, stream=sys.stderr, format=LOG_FORMAT)
    accesslog.lighter_records()
    collect_less_often()

    async def main() -> None:
        stop = asyncio.Event()
        stop_on_signals(stop)
        await serve(config, create_app(config), stop)

    status = 0
    try:
        if config.workers > 1:
            from .workers import run_workers

            status = run_workers(config)
        else:
            run_event_loop(main())
    except (StorageOpenError, ListenError, ConfigError) as exc:
        fail(str(exc))
    except (DomainError, sqlite3.Error) as exc:  # a fault while preparing a new database: still one line
        fail(f"cannot start with database {describe(config.db)}: {exc}")
    if status:
        raise SystemExit(status)


def run_passwd(config: Config, username: str) -> None:
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        fail("no password on standard input (give it as the first line)")

    async def main() -> bool:
        storage = await Storage.open(config.db, synchronous=config.synchronous, readers=1)
        try:
            return await storage.write(users.set_password, username, await hash_password(password, config.password_cost))
        finally:
            await storage.close()

    try:
        changed = asyncio.run(main())
    except StorageOpenError as exc:
        fail(str(exc))
    if not changed:
        fail(f'no user "{username}" in {describe(config.db)}')
    print(f'Password of "{username}" changed; their sessions have ended.', file=sys.stderr)


def run_copy(source: str, target: str) -> None:
    from .storage.copy import CopyRefused, copy

    try:
        counts = asyncio.run(copy(source, target))
    except (StorageOpenError, CopyRefused) as exc:
        fail(str(exc))
    for table, count in counts.items():
        print(f"{table}: {count}")
    print(f"copied {describe(source)} into {describe(target)}", file=sys.stderr)


def run_backup(config: Config, dest: str) -> None:
    from .storage.maintenance import BackupRefused, backup

    try:
        pages = backup(config.db, dest)
    except (StorageOpenError, BackupRefused) as exc:
        fail(str(exc))
    print(f"backed up {describe(config.db)} into {dest} ({pages} pages)", file=sys.stderr)


def run_check(config: Config) -> None:
    from .storage.maintenance import check

    try:
        report = check(config.db)
    except StorageOpenError as exc:
        fail(str(exc))
    for problem in report.problems:
        print(problem)
    if report.unchecked:
        print(f"rpcserver: not checked: {report.unchecked}", file=sys.stderr)
    count = len(report.problems)
    print(f"checked {describe(config.db)}: {count or 'no'} problem{'' if count == 1 else 's'} found", file=sys.stderr)
    if count:
        raise SystemExit(PROBLEMS_FOUND)


def run_reference(shown: str | None) -> None:
    from methods.rpc import document  # the API's own modules: loaded only by the commands that need them

    from .reference import markdown, method_tables

    if shown == "openrpc":
        sys.stdout.write(orjson.dumps(document(), option=orjson.OPT_INDENT_2).decode() + "\n")
    elif shown == "methods":
        sys.stdout.write(method_tables(document()))
    else:
        sys.stdout.write(markdown(document()))


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    if args.command == "reference":
        run_reference(args.shown)
        return
    if args.command == "copy":
        run_copy(args.source, args.target)
        return
    overrides = {k: v for k, v in vars(args).items() if k not in ("command", "username", "dest")}
    try:
        config = load_config(overrides)
    except ConfigError as exc:
        fail(str(exc))
    if args.command == "serve":
        run_serve(config)
    elif args.command == "passwd":
        run_passwd(config, args.username)
    elif args.command == "backup":
        run_backup(config, args.dest)
    elif args.command == "check":
        run_check(config)
