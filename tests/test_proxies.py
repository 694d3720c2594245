"""The client's address behind trusted reverse proxies (docs/deploy.md): X-Forwarded-For, believed only from them."""

from __future__ import annotations

from typing import Any

import pytest

from rpcserver.config import Config, ConfigError, load_config
from rpcserver.proxies import client_address, parse_networks

from .conftest import ADMIN_PASSWORD, request, result_of

LOCAL = parse_networks("127.0.0.1, 10.0.0.0/8")


@pytest.mark.parametrize("remote, forwarded, address", [
    ("127.0.0.1", ["203.0.113.7"], "203.0.113.7"),
    ("127.0.0.1", ["198.51.100.1, 203.0.113.7"], "203.0.113.7"),  # the client's own claim is not believed
    ("127.0.0.1", ["203.0.113.7, 10.1.2.3"], "203.0.113.7"),  # through two proxies of ours
    ("127.0.0.1", ["203.0.113.7", "10.1.2.3"], "203.0.113.7"),  # the header sent twice
    ("127.0.0.1", ["10.1.2.3"], "10.1.2.3"),  # only proxies: the farthest
    ("127.0.0.1", ["bogus, 10.1.2.3"], "10.1.2.3"),
    ("127.0.0.1", ["2001:db8::1"], "2001:db8::1"),
    ("127.0.0.1", [], "127.0.0.1"),
    ("203.0.113.9", ["198.51.100.1"], "203.0.113.9"),  # not from a trusted proxy: the header is anyone's
])
def test_the_client_is_the_last_address_no_trusted_proxy_added(remote: str, forwarded: list[str], address: str) -> None:
    assert client_address(remote, forwarded, LOCAL) == address


def test_without_trusted_proxies_the_header_is_ignored() -> None:
    assert client_address("127.0.0.1", ["203.0.113.7"], ()) == "127.0.0.1"


def test_a_bad_address_is_refused_with_its_name() -> None:
    with pytest.raises(ConfigError, match=r"trusted-proxies: 'localhost' is not an IP address or network"):
        load_config({}, {"RPCSERVER_TRUSTED_PROXIES": "127.0.0.1, localhost"})
    assert Config(trusted_proxies="127.0.0.1, ::1, 10.0.0.0/8").trusted_proxies


async def user_ip(client: Any, forwarded: str | None) -> str:
    headers = {"Content-Type": "application/json-rpc", **({"X-Forwarded-For": forwarded} if forwarded else {})}
    body = request("user.login", {"username": "Admin", "password": ADMIN_PASSWORD, "userData": True})
    response = await client.post("/api_jsonrpc", json=body, headers=headers)
    return str(result_of(await response.json())["userip"])


async def test_behind_a_trusted_proxy_the_client_address_is_recorded(make_client: Any) -> None:
    client = await make_client(trusted_proxies="127.0.0.1")
    assert await user_ip(client, "198.51.100.1, 203.0.113.7") == "203.0.113.7"  # userData's userip
    assert await user_ip(client, None) == "127.0.0.1"  # no header: the connection's address
    headers = {"Content-Type": "application/json-rpc"}
    wrong = request("user.login", {"username": "Admin", "password": "wrong"})
    await client.post("/api_jsonrpc", json=wrong, headers={**headers, "X-Forwarded-For": "203.0.113.8"})
    login = request("user.login", {"username": "Admin", "password": ADMIN_PASSWORD})
    session = result_of(await (await client.post("/api_jsonrpc", json=login, headers=headers)).json())
    users = request("user.get", {"output": ["attempt_ip"], "filter": {"username": "Admin"}})
    answer = await client.post("/api_jsonrpc", json=users, headers={**headers, "Authorization": f"Bearer {session}"})
    assert result_of(await answer.json()) == [{"attempt_ip": "203.0.113.8"}]  # where the wrong password came from


async def test_without_trusted_proxies_a_forwarded_address_is_not_believed(client: Any) -> None:
    assert await user_ip(client, "203.0.113.7") == "127.0.0.1"
