"""A real server process to fuzz, and a synchronous client for hypothesis to drive it with.

The fuzzing caller is a super admin with an id no generated value is likely to name (so params
reach the schemas and storage, and a fuzzed user.update or user.delete does not lock it out);
when a fuzzed user.logout ends its session, the client logs in again.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import requests

from rpcserver.auth import SESSION_TERMINATED
from rpcserver.config import MAX_DEPTH_LIMIT
from rpcserver.passwords import hash_password_sync

from ..server_process import ServerProcess, running_server
from .strategies import to_json

FUZZER_USERID = 987_654_321
FUZZER = "fuzz-admin"
FUZZER_PASSWORD = "fuzz-admin-password"
ADMIN_PASSWORD = "zabbix-admin"
ENV = {
    "RPCSERVER_ADMIN_PASSWORD": ADMIN_PASSWORD,
    "RPCSERVER_PASSWORD_COST": "4",
    # The deepest setting there is, so that deep values get past the transport to the schemas and handlers.
    "RPCSERVER_DEPTH_LIMIT": str(MAX_DEPTH_LIMIT),
}
JSONRPC = "application/json-rpc"


@dataclass
class Answer:
    status: int
    content_type: str
    body: bytes


@dataclass
class FuzzClient:
    server: ServerProcess
    db: Path
    http: requests.Session = field(default_factory=requests.Session)
    session: str = ""

    @property
    def endpoint(self) -> str:
        return f"{self.server.url}/api_jsonrpc"

    def post(self, body: bytes, content_type: str = JSONRPC, credential: str | None = None) -> Answer:
        headers = {"Content-Type": content_type}
        if credential:
            headers["Authorization"] = f"Bearer {credential}"
        response = self.http.post(self.endpoint, data=body, headers=headers, timeout=30)
        return Answer(response.status_code, response.headers.get("Content-Type", "").split(";")[0], response.content)

    def call(self, method: str, params: Any, credential: str | None = None) -> dict[str, Any]:
        body = to_json({"jsonrpc": "2.0", "method": method, "params": params, "id": 1})
        return orjson.loads(self.post(body, credential=credential).body)

    def log_in(self) -> str:
        answer = self.call("user.login", {"username": FUZZER, "password": FUZZER_PASSWORD})
        assert "result" in answer, f"the fuzzing super admin can no longer log in: {answer}"
        self.session = answer["result"]
        return self.session

    def after(self, answer: Answer, credential: str | None) -> None:
        """Log in again if a call with the fuzzing session found it ended (a fuzzed user.logout)."""
        if credential == self.session and SESSION_TERMINATED.encode() in answer.body:
            self.log_in()

    def log_size(self) -> int:
        return len(self.server.log())

    def log_since(self, mark: int) -> str:
        return self.server.log()[mark:]

    def healthy(self) -> bool:
        return self.server.process.poll() is None and self.http.get(f"{self.server.url}/healthz", timeout=10).status_code == 200


def add_fuzzer(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO users (userid, username, passwd, roleid, autologout) VALUES (?, ?, ?, 3, '0')",
            (FUZZER_USERID, FUZZER, hash_password_sync(FUZZER_PASSWORD, 4)),
        )
    conn.close()


def seed(client: FuzzClient) -> None:
    """Objects for fuzzed ids to find: groups, hosts, problems, a user, a token."""
    events = [{"host": f"fuzz-host-{n}", "name": f"problem {n}", "groups": ["Fuzz"], "manual_close": n % 2, "severity": n}
              for n in range(4)]
    for method, params in (
        ("event.create", events),
        ("usergroup.create", {"name": "fuzz group"}),
        ("user.create", {"username": "fuzz-user", "passwd": "fuzz-user-password", "roleid": "1", "usrgrps": [{"usrgrpid": "8"}]}),
        ("token.create", {"name": "fuzz token"}),
    ):
        answer = client.call(method, params, client.session)
        assert "result" in answer, (method, answer)


def fuzz_server(workdir: Path) -> Iterator[FuzzClient]:
    db = workdir / "fuzz.db"
    with running_server(workdir, "--db", str(db), env=ENV) as server:
        add_fuzzer(db)
        client = FuzzClient(server, db)
        client.log_in()
        seed(client)
        yield client
        client.http.close()
