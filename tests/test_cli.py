"""The `rpcserver` command as a user runs it: a real process on 127.0.0.1."""

from __future__ import annotations

import signal
import socket
import sqlite3
from pathlib import Path
from typing import Any

import orjson
import pytest
import requests

from methods.rpc import document
from rpcserver.reference import markdown, method_tables
from rpcserver.storage.sqlite.migrations import APPLICATION_ID

from .server_process import run_cli, running_server

FLAGS = ["--host", "--port", "--db", "--demo", "--body-limit", "--batch-limit", "--depth-limit", "--ids-limit", "--string-limit", "--synchronous", "--log-level", "--shutdown-timeout", "--idempotency-ttl", "--no-metrics", "--metrics-dir", "--trusted-proxies", "--workers"]


def version(url: str, **kwargs: object) -> requests.Response:
    body = {"jsonrpc": "2.0", "method": "apiinfo.version", "params": {"password": "hunter2"} if kwargs.pop("secret", False) else {}, "id": 1}
    return requests.post(f"{url}/api_jsonrpc", json=body, timeout=10)


def test_help_explains_every_flag_and_its_variable(tmp_path: Path) -> None:
    result = run_cli(["serve", "--help"], cwd=tmp_path)
    assert result.returncode == 0
    for flag in FLAGS:
        assert flag in result.stdout
        assert "RPCSERVER_" + flag[2:].replace("-", "_").upper() in result.stdout


@pytest.mark.parametrize(
    "args, env, message",
    [
        (["serve", "--bogus"], {}, "rpcserver: error: unrecognized arguments: --bogus"),
        (["serve", "--port", "eighty"], {}, "rpcserver serve: error: argument --port: invalid int value: 'eighty'"),
        (["serve"], {"RPCSERVER_PORT": "eighty"}, "rpcserver: error: RPCSERVER_PORT: port: 'eighty' is not a valid int"),
        (["serve", "--db", "/nonexistent/dir/x.db"], {}, "rpcserver: error: cannot use database /nonexistent/dir/x.db: unable to open the file"),
        (["launch"], {}, "rpcserver: error: argument COMMAND: invalid choice: 'launch'"),
        (["serve", "--workers", "0"], {}, "rpcserver: error: workers must be at least 1"),
        (["serve", "--workers", "2", "--db", "/nonexistent/dir/x.db"], {},
         "rpcserver: error: cannot use database /nonexistent/dir/x.db: unable to open the file"),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_2(tmp_path: Path, args: list[str], env: dict[str, str], message: str) -> None:
    result = run_cli(args, cwd=tmp_path, env=env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(message), result.stderr


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_port_in_use_is_one_clear_line_and_exit_2(tmp_path: Path, workers: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli(["serve", "--port", str(port), "--db", str(tmp_path / "p.db"), "--workers", workers], cwd=tmp_path)
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"rpcserver: error: cannot listen on 127.0.0.1:{port}: "), result.stderr
    assert "in use" in last.lower()
    assert "Traceback" not in result.stderr


def test_a_database_newer_than_the_code_refuses_to_start(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "new.db") as conn:
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute("PRAGMA user_version = 999")
    result = run_cli(["serve", "--db", str(tmp_path / "new.db"), "--port", "0"], cwd=tmp_path)
    assert result.returncode == 2
    assert "schema version 999, newer than this rpcserver knows" in result.stderr
    assert "Traceback" not in result.stderr


def test_serves_with_the_default_database_in_the_working_directory(tmp_path: Path) -> None:
    with running_server(tmp_path, "--demo") as server:
        assert version(server.url).json() == {"jsonrpc": "2.0", "result": "7.0.0", "id": 1}
        assert (tmp_path / "rpcserver.db").exists()
        assert server.stop() == 0


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads which files the process has mapped (Linux)")
def test_a_server_on_sqlite_does_not_load_the_postgresql_driver(tmp_path: Path) -> None:
    # psycopg and libpq would cost every SQLite server their start-up time and memory, for nothing.
    with running_server(tmp_path, "--demo") as server:
        assert version(server.url).status_code == 200
        assert requests.get(f"{server.url}/metrics", timeout=10).status_code == 200
        mapped = Path(f"/proc/{server.process.pid}/maps").read_text()
    assert "python" in mapped  # the right process, and a map that names its files
    assert "psycopg" not in mapped and "libpq" not in mapped


def test_environment_variables_configure_the_server(tmp_path: Path) -> None:
    with running_server(tmp_path, env={"RPCSERVER_DB": str(tmp_path / "from-env.db"), "RPCSERVER_BATCH_LIMIT": "1"}) as server:
        batch = [{"jsonrpc": "2.0", "method": "apiinfo.version", "params": {}, "id": i} for i in range(2)]
        answer = requests.post(f"{server.url}/api_jsonrpc", json=batch, timeout=10).json()
        assert answer["error"]["data"].startswith("A batch may hold at most 1 requests")
        assert (tmp_path / "from-env.db").exists()


def test_sigterm_stops_cleanly_and_closes_the_database(tmp_path: Path) -> None:
    with running_server(tmp_path, "--db", str(tmp_path / "t.db")) as server:
        assert version(server.url).status_code == 200
        assert server.stop(signal.SIGTERM) == 0
        assert "stopped" in server.log()
    assert not (tmp_path / "t.db-wal").exists()  # the last connection closed: WAL checkpointed away


def test_one_log_line_per_request_without_params(tmp_path: Path) -> None:
    with running_server(tmp_path) as server:
        version(server.url, secret=True)
        version(server.url)
        server.stop()
        log = server.log()
    request_lines = [line for line in log.splitlines() if " req=" in line]
    assert len(request_lines) == 2
    assert "apiinfo.version -> -32602" in request_lines[0]
    assert "apiinfo.version -> ok" in request_lines[1]
    assert "hunter2" not in log


def test_passwd_sets_a_password_read_from_stdin(tmp_path: Path) -> None:
    import subprocess

    from .server_process import rpcserver_command

    with running_server(tmp_path, "--demo"):
        pass  # creates ./rpcserver.db with Admin/zabbix
    changed = subprocess.run([*rpcserver_command(), "passwd", "Admin"], cwd=tmp_path, input="n3w-secret-pass\n",
                             capture_output=True, text=True, timeout=30)
    assert changed.returncode == 0, changed.stderr
    unknown = subprocess.run([*rpcserver_command(), "passwd", "nobody"], cwd=tmp_path, input="x\n",
                             capture_output=True, text=True, timeout=30)
    assert unknown.returncode == 2
    assert unknown.stderr.strip() == 'rpcserver: error: no user "nobody" in rpcserver.db'
    empty = subprocess.run([*rpcserver_command(), "passwd", "Admin"], cwd=tmp_path, input="",
                           capture_output=True, text=True, timeout=30)
    assert empty.returncode == 2
    with running_server(tmp_path) as server:
        def login(password: str) -> dict:
            body = {"jsonrpc": "2.0", "method": "user.login", "params": {"username": "Admin", "password": password}, "id": 1}
            return requests.post(f"{server.url}/api_jsonrpc", json=body, timeout=10).json()

        assert "error" in login("zabbix")
        assert len(login("n3w-secret-pass")["result"]) == 32


@pytest.mark.parametrize(("args", "expected"), [
    ([], lambda: markdown(document())),
    (["--methods"], lambda: method_tables(document())),
    (["--openrpc"], lambda: orjson.dumps(document(), option=orjson.OPT_INDENT_2).decode() + "\n"),
])
def test_reference_prints_the_document_in_each_form(tmp_path: Path, args: list[str], expected: Any) -> None:
    result = run_cli(["reference", *args], cwd=tmp_path)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == expected()
