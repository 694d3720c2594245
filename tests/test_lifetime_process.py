"""Acknowledgement lifetime end to end (API.md §9): a real `rpcserver serve` with the policy given as
flags, real short durations, on each store: a default that ends by itself, a maximum, a "recovery"
acknowledgement ended by the recovery, carried over within the flap guard and not after it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import requests

from .server_process import run_cli, running_server

PASSWORD = "Lifetime-pass-1"
GUARD = 2
DEFAULT = 1
"""Seconds: the shortest default duration there is, and a guard a call made at once is well within."""
PROBLEM = {"host": "e2e-01", "name": "Disk is full", "manual_close": 1}
WAIT = 60
"""A bound on every wait for the server's own work, never an assertion about speed."""


class Api:
    def __init__(self, url: str) -> None:
        self.url = f"{url}/api_jsonrpc"
        self.session = ""

    def rpc(self, method: str, params: Any) -> Any:
        headers = {"Content-Type": "application/json-rpc"}
        if self.session:
            headers["Authorization"] = f"Bearer {self.session}"
        return requests.post(self.url, json={"jsonrpc": "2.0", "method": method, "params": params, "id": 1},
                             headers=headers, timeout=10).json()

    def call(self, method: str, params: Any) -> Any:
        answer = self.rpc(method, params)
        assert "result" in answer, answer
        return answer["result"]

    def actions(self, eventid: str) -> list[tuple[str, str]]:
        (event,) = self.call("event.get", {"eventids": eventid, "selectAcknowledges": ["action", "message"]})
        return [(row["action"], row["message"]) for row in reversed(event["acknowledges"])]  # oldest first

    def acknowledged(self, eventid: str) -> str:
        (event,) = self.call("event.get", {"eventids": eventid, "output": ["acknowledged"]})
        return str(event["acknowledged"])

    def open_problem(self) -> str:
        return str(self.call("event.create", PROBLEM)["eventids"][0])

    def resolve(self) -> None:
        self.call("event.create", {**PROBLEM, "value": 0})


def test_the_policy_of_a_real_server(tmp_path: Path, db: Any) -> None:
    flags = ("--db", str(db), "--ack-default-duration", f"{DEFAULT}s", "--ack-max-duration", "1h", "--flap-guard", str(GUARD))
    with running_server(tmp_path, *flags, env={"RPCSERVER_ADMIN_PASSWORD": PASSWORD}) as server:
        api = Api(server.url)
        api.session = api.call("user.login", {"username": "Admin", "password": PASSWORD})
        first = api.open_problem()

        api.call("event.acknowledge", {"eventids": first, "action": 2})
        (span,) = api.call("acknowledgement.get", {"eventids": first})
        assert span["acknowledged_until"] - span["acknowledged_on"] == DEFAULT
        deadline = time.time() + WAIT
        while api.acknowledged(first) == "1" or ("16", "") not in api.actions(first):
            assert time.time() < deadline, "the default end was not recorded"
            time.sleep(0.1)

        refused = api.rpc("acknowledgement.create", {"eventid": first, "acknowledged_until": "61m"})
        assert refused["error"]["data"] == 'Invalid parameter "/acknowledged_until": at most 1h from now.'

        recovery = api.call("acknowledgement.create", {"eventid": first, "acknowledged_until": "recovery"})
        assert recovery["until_recovery"] is True
        assert recovery["acknowledged_until"] == recovery["acknowledged_on"] + 3600  # the maximum, at the latest
        api.resolve()
        assert [action for action, _ in api.actions(first)] == ["2", "16", "2", "16"]

        second = api.open_problem()  # at once: within the guard
        assert api.acknowledged(second) == "1"
        assert api.actions(second) == [
            ("6", f"Acknowledgement carried over from problem {first} (reopened within {GUARD} s).")]

        api.resolve()
        time.sleep(GUARD + 1.1)  # past the guard, counted in the server's whole seconds
        third = api.open_problem()
        assert api.acknowledged(third) == "0"
        assert api.actions(third) == []


def test_a_bad_duration_or_guard_stops_the_server_at_start(tmp_path: Path) -> None:
    refused = run_cli(["serve", "--db", str(tmp_path / "never.db"), "--ack-max-duration", "5x"], cwd=tmp_path)
    assert (refused.returncode, refused.stdout) == (2, "")
    assert refused.stderr == ('rpcserver: error: ack-max-duration must be a duration of at least 1 second such as '
                              '"30m", "4h" or "7d", not \'5x\'\n')
    assert not (tmp_path / "never.db").exists()
    refused = run_cli(["serve", "--db", str(tmp_path / "never.db")], cwd=tmp_path, env={"RPCSERVER_FLAP_GUARD": "-5"})
    assert (refused.returncode, refused.stderr) == (2, "rpcserver: error: flap-guard must not be negative\n")
