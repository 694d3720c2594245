"""Real client libraries against a real server process, as users run them."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
import requests
from jsonrpcclient import Error, Ok, parse, request, request_uuid
from pyzabbix import ZabbixAPI as PyZabbixAPI
from zabbix_api import ZabbixAPI as ZabbixApiClient
from zabbix_api import ZabbixAPIException as ZabbixApiError
from zabbix_utils import APIRequestError, AsyncZabbixAPI, ZabbixAPI

from .npm_packages import npm_package
from .server_process import ServerProcess, running_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    workdir: Path = tmp_path_factory.mktemp("clients")
    with running_server(workdir, "--demo") as process:
        yield process


@pytest.mark.parametrize("suffix", ["", "/", "/api_jsonrpc.php", "/zabbix"])
def test_zabbix_utils_reads_the_version(server: ServerProcess, suffix: str) -> None:
    # zabbix_utils appends api_jsonrpc.php to whatever URL it is given.
    api = ZabbixAPI(url=server.url + suffix)
    assert str(api.api_version()) == "7.0.0"
    assert api.apiinfo.version() == "7.0.0"


def test_zabbix_utils_gets_zabbix_errors(server: ServerProcess) -> None:
    api = ZabbixAPI(url=server.url)
    with pytest.raises(APIRequestError) as info:
        api.apiinfo.version(output="extend")
    assert str(info.value) == 'Invalid params. Invalid parameter "/": should be empty.'
    assert (info.value.code, info.value.data) == (-32602, 'Invalid parameter "/": should be empty.')


async def test_async_zabbix_utils_reads_the_version(server: ServerProcess) -> None:
    async with aiohttp.ClientSession() as session:
        api = AsyncZabbixAPI(url=server.url, client_session=session)  # probes the version with urllib
        assert str(api.api_version()) == "7.0.0"
        assert await api.apiinfo.version() == "7.0.0"  # through aiohttp: needs application/json back


@pytest.mark.parametrize("server_url", ["", "/zabbix"])
def test_pyzabbix_reads_the_version(server: ServerProcess, server_url: str) -> None:
    assert PyZabbixAPI(server=server.url + server_url).api_version() == "7.0.0"
    assert PyZabbixAPI(server=server.url, detect_version=False).apiinfo.version() == "7.0.0"


def test_jsonrpcclient_single_and_batch(server: ServerProcess) -> None:
    url = f"{server.url}/api_jsonrpc"
    single = request("apiinfo.version")  # jsonrpcclient leaves out empty params
    assert "params" not in single
    assert parse(requests.post(url, json=single, timeout=10).json()) == Ok("7.0.0", single["id"])
    batch = [request_uuid("apiinfo.version"), request("no.such")]
    answers = list(parse(requests.post(url, json=batch, timeout=10).json()))
    assert answers[0] == Ok("7.0.0", batch[0]["id"])
    assert isinstance(answers[1], Error)
    assert (answers[1].code, answers[1].message, answers[1].data) == (-32601, "Method not found.", 'Incorrect API "no".')


# --- logging in, reading hosts and logging out, as each client does it (against --demo data) ---


def test_zabbix_utils_with_user_and_password(server: ServerProcess) -> None:
    api = ZabbixAPI(url=server.url, user="Admin", password="zabbix")  # session goes in the Bearer header
    hosts = api.host.get(output=["hostid", "host"], filter={"host": ["web-01"]})
    assert [h["host"] for h in hosts] == ["web-01"] and hosts[0]["hostid"].isdigit()
    assert api.check_auth() is True
    api.logout()


def test_zabbix_utils_with_a_token(server: ServerProcess) -> None:
    admin = ZabbixAPI(url=server.url, user="Admin", password="zabbix")
    tokenid = admin.token.create(name=f"e2e-{id(admin)}")["tokenids"][0]
    secret = admin.token.generate(tokenid)[0]["token"]
    api = ZabbixAPI(url=server.url, token=secret)
    assert {h["host"] for h in api.host.get(output=["host"])} >= {"web-01", "db-01"}
    assert api.check_auth() is True
    api.logout()  # with a token: sends nothing
    admin.token.delete(tokenid)
    admin.logout()


async def test_async_zabbix_utils_logs_in_reads_and_logs_out(server: ServerProcess) -> None:
    api = AsyncZabbixAPI(url=server.url)
    await api.login(user="viewer", password="viewer")
    hosts = await api.host.get(output=["host"], selectHostGroups=["name"])
    assert hosts and all(h["hostgroups"] for h in hosts)
    await api.logout()


@pytest.mark.parametrize("detect_version", [True, False])
def test_pyzabbix_logs_in_reads_and_logs_out(server: ServerProcess, detect_version: bool) -> None:
    # detect_version=False: 6.0 style, `user` instead of `username` and the session in the body's `auth`.
    api = PyZabbixAPI(server=server.url, detect_version=detect_version)
    api.login("operator", "operator")
    hosts = api.host.get(output=["host"], filter={"host": "db-01"})
    assert [h["host"] for h in hosts] == ["db-01"]
    assert api.user.logout() is True


# --- the acknowledge flow, as users of each Zabbix client run it ---


def test_zabbix_utils_acknowledge_flow(server: ServerProcess) -> None:
    api = ZabbixAPI(url=server.url, user="operator", password="operator")
    problems = api.problem.get(output=["eventid", "acknowledged"], filter={"acknowledged": 0}, sortfield="eventid")
    eventid = problems[0]["eventid"]
    assert api.event.acknowledge(eventids=eventid, action=6, message="zabbix_utils was here") == {"eventids": [int(eventid)]}
    (event,) = api.event.get(eventids=eventid, output=["acknowledged"], selectAcknowledges=["username", "message", "action"])
    assert event["acknowledged"] == "1"
    assert event["acknowledges"][0] == {"username": "operator", "message": "zabbix_utils was here", "action": "6"}
    with pytest.raises(APIRequestError, match='Incorrect value for field "message": cannot be empty.'):
        api.event.acknowledge(eventids=eventid, action=4)
    api.logout()


def test_pyzabbix_acknowledge_flow(server: ServerProcess) -> None:
    from pyzabbix import ZabbixAPIException

    api = PyZabbixAPI(server=server.url)
    api.login("operator", "operator")
    closable = api.problem.get(output=["eventid"], filter={"name": "High CPU utilization"})[0]["eventid"]
    assert api.event.acknowledge(eventids=[closable], action=1 | 4, message="closing") == {"eventids": [int(closable)]}
    assert api.problem.get(eventids=closable, countOutput=True) == "0"  # resolved: gone from problem.get
    not_closable = api.problem.get(output=["eventid"], filter={"name": "Nginx is not running"})[0]["eventid"]
    with pytest.raises(ZabbixAPIException, match="Cannot close problem: trigger does not allow manual closing."):
        api.event.acknowledge(eventids=[not_closable], action=1)
    api.user.logout()


# Clients that know one form whatever the server's version: the 5.x login (`user`), the session in the
# body's `auth` (`"auth": null` before login), user.logout with `[]`, 6.x's selectHosts on problem.get
# and select_acknowledges on event.get (API.md §3a, docs/compatibility.md).

ZABBIX_PROMISE = ("zabbix-promise@2.0.2", "NHyAj6oEp3EyIVJssxkmyV1ZehBEq03P/4fWFx+0CuY46nh0u55YdA0XXRzziItJeQy6LIBbQ2ln44SJB1prUA==")
CLIENTS = Path(__file__).parent / "clients"
NODE_TIMEOUT = 60


def test_zabbix_api_lists_and_acknowledges(server: ServerProcess) -> None:
    api = ZabbixApiClient(server=server.url)  # appends /api_jsonrpc.php
    api.login("operator", "operator")  # probes the version first; then every call carries the session in `auth`
    problems = api.problem.get({"output": ["eventid", "name"], "selectHosts": ["host", "name"], "acknowledged": False,
                                "sortfield": "eventid"})
    assert problems and all(problem["hosts"] and set(problem["hosts"][0]) == {"host", "name"} for problem in problems)
    eventid = problems[0]["eventid"]
    assert api.event.acknowledge({"eventids": [eventid], "action": 6, "message": "zabbix-api was here"}) == {"eventids": [int(eventid)]}
    [event] = api.event.get({"eventids": eventid, "output": ["acknowledged"], "selectAcknowledges": ["message"]})
    assert event["acknowledged"] == "1" and event["acknowledges"][0]["message"] == "zabbix-api was here"
    with pytest.raises(ZabbixApiError, match='Incorrect value for field "message": cannot be empty.'):
        api.event.acknowledge({"eventids": eventid, "action": 4})
    api.logout()
    assert api.auth == ""


def test_zabbix_promise_on_node_lists_and_acknowledges(server: ServerProcess, tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    with npm_package(*ZABBIX_PROMISE) as archive:
        # Python 3.12+ warns unless told how to filter members; 3.11 before 3.11.4 has no filters.
        archive.extractall(tmp_path, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    run = subprocess.run([node, str(CLIENTS / "zabbix_promise_flow.js"), str(tmp_path / "package"), f"{server.url}/api_jsonrpc.php"],
                         check=False, capture_output=True, text=True, timeout=NODE_TIMEOUT, stdin=subprocess.DEVNULL)
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout)
    assert re.fullmatch(r"[0-9a-f]{32}", seen["session"])
    assert seen["problems"] and all(problem["hosts"] and set(problem["hosts"][0]) == {"host"} for problem in seen["problems"])
    assert seen["acknowledged"] == {"eventids": [int(seen["eventid"])]}
    assert seen["events"] == [{"acknowledged": "1", "acknowledges": [{"message": "zabbix-promise was here"}]}]
    assert seen["refused"] == {"code": -32602, "message": "Invalid params.",
                               "data": 'Incorrect value for field "message": cannot be empty.'}
    assert seen["loggedOut"] is True


# --- examples/: every script runs as its docstring says, against a fresh demo server of its own ---

EXAMPLES = Path(__file__).parent.parent / "examples"
EXAMPLE_SCRIPTS = sorted([*EXAMPLES.glob("*.py"), *EXAMPLES.glob("*.sh")])
EXAMPLE_TIMEOUT = 60


@pytest.fixture(scope="module")
def examples_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    # The examples change state (acknowledge, close), so they do not share the other tests' server;
    # they run one after another against this one, each leaving enough open problems for the next.
    with running_server(tmp_path_factory.mktemp("examples"), "--demo") as process:
        yield process


@pytest.mark.parametrize("script", EXAMPLE_SCRIPTS, ids=lambda script: script.name)
def test_example_runs_against_the_demo(examples_server: ServerProcess, script: Path) -> None:
    # -W default shows the warnings Python hides by default, ResourceWarning (an unclosed session or socket)
    # among them, so that the empty-stderr check below catches them.
    interpreter = ["sh"] if script.suffix == ".sh" else [sys.executable, "-W", "default"]
    run = subprocess.run([*interpreter, str(script), examples_server.url], check=False, capture_output=True,
                         text=True, timeout=EXAMPLE_TIMEOUT, stdin=subprocess.DEVNULL)
    assert run.returncode == 0, f"{script.name} exited with {run.returncode}:\n{run.stdout}\n{run.stderr}"
    assert run.stderr == "", f"{script.name} wrote to standard error (a warning?):\n{run.stderr}"


def test_the_examples_readme_lists_every_script() -> None:
    listed = set(re.findall(r"^\| *`([^`]+)`", (EXAMPLES / "README.md").read_text(), flags=re.MULTILINE))
    scripts = {script.name for script in EXAMPLE_SCRIPTS}
    assert sorted(scripts - listed) == [], "scripts missing from the table in examples/README.md"
    assert sorted(listed - scripts) == [], "examples/README.md lists scripts that do not exist"
    not_executable = [script.name for script in EXAMPLE_SCRIPTS if script.suffix == ".sh" and not os.access(script, os.X_OK)]
    assert not_executable == [], "shell examples should also run as ./examples/<name>.sh"
