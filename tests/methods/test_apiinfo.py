"""apiinfo.version through the endpoint (ZA §3.4)."""

from __future__ import annotations

from typing import Any

import pytest

from .. import conftest
from ..conftest import error_of

TOKEN = "a" * 64
SESSION = "0424bd59b807674191e7d77572075f33"


@pytest.mark.parametrize("params", [{}, [], conftest.OMIT])
async def test_version_is_7_0_0(client: Any, params: Any) -> None:
    response = await conftest.post(client, conftest.request("apiinfo.version", params, id="v"))
    assert await response.json() == {"jsonrpc": "2.0", "result": "7.0.0", "id": "v"}


@pytest.mark.parametrize("params", [{"a": 1}, ["x"], {"output": "extend"}])
async def test_params_must_be_empty(rpc: Any, params: Any) -> None:
    assert error_of(await rpc("apiinfo.version", params)) == (-32602, "Invalid params.", 'Invalid parameter "/": should be empty.')


@pytest.mark.parametrize(
    "headers",
    [{"Authorization": f"Bearer {TOKEN}"}, {"Authorization": f"Bearer {SESSION}"}, {"X-API-Key": TOKEN}],
)
async def test_a_header_credential_is_refused(rpc: Any, headers: dict[str, str]) -> None:
    assert error_of(await rpc("apiinfo.version", headers=headers)) == (
        -32602,
        "Invalid params.",
        'The "apiinfo.version" method must be called without authorization header.',
    )


async def test_a_body_auth_is_refused(rpc: Any) -> None:
    assert error_of(await rpc("apiinfo.version", auth=SESSION)) == (
        -32602,
        "Invalid params.",
        'The "apiinfo.version" method must be called without the "auth" parameter.',
    )


async def test_the_method_name_is_echoed_as_sent(rpc: Any) -> None:
    assert error_of(await rpc("APIInfo.Version", auth=SESSION))[2] == 'The "APIInfo.Version" method must be called without the "auth" parameter.'


async def test_the_header_is_reported_before_the_body_auth(rpc: Any) -> None:
    response = await rpc("apiinfo.version", headers={"Authorization": f"Bearer {SESSION}"}, auth=SESSION)
    assert error_of(response)[2] == 'The "apiinfo.version" method must be called without authorization header.'


async def test_credentials_are_refused_before_params_are_checked(rpc: Any) -> None:
    response = await rpc("apiinfo.version", {"a": 1}, auth=SESSION)
    assert error_of(response)[2] == 'The "apiinfo.version" method must be called without the "auth" parameter.'


@pytest.mark.parametrize(
    "headers, members",
    [
        ({}, {"auth": None}),  # auth: null is no credential
        ({"Authorization": "Basic YWRtaW46emFiYml4"}, {}),  # zabbix_utils behind HTTP Basic
        ({"Authorization": "Bearer "}, {}),  # nothing after Bearer: no header
        ({"X-API-Key": ""}, {}),
    ],
)
async def test_what_is_no_credential_passes(rpc: Any, headers: dict[str, str], members: dict[str, Any]) -> None:
    assert (await rpc("apiinfo.version", headers=headers, **members))["result"] == "7.0.0"
