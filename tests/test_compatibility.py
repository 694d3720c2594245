"""docs/compatibility.md, row by row: each request exactly as its client sends it, through the endpoint.
What 7.0 refuses but has one sensible meaning is answered; what has none is refused with 7.0's text."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import ADMIN_PASSWORD, error_of, result_of

LOGINS = {
    # zabbix-promise 2.0.2 (lib/api.js, lib/wrapper.js): a random string id, "auth": null before login.
    "zabbix-promise": ({"user": "Admin", "password": ADMIN_PASSWORD}, {"id": "0.6140216489093542", "auth": None}),
    # zabbix-client 1.2.7 (dist/ZabbixAPI.js, dist/ZabbixSocket.js): likewise, its id a run of digits as a string.
    "zabbix-client": ({"user": "Admin", "password": ADMIN_PASSWORD}, {"id": "6140216489093542", "auth": None}),
    # go-zabbix (session.go, request.go): an integer id; auth left out while empty.
    "go-zabbix": ({"user": "Admin", "password": ADMIN_PASSWORD}, {"id": 2}),
    # py-zabbix 1.1.7 (pyzabbix/api.py): the id is always "1".
    "py-zabbix": ({"user": "Admin", "password": ADMIN_PASSWORD}, {"id": "1"}),
}


@pytest.mark.parametrize("client_name", LOGINS)
async def test_the_5x_login_of_clients_that_send_user(rpc: Any, client_name: str) -> None:
    params, members = LOGINS[client_name]
    session = result_of(await rpc("user.login", params, **members))
    # Every one of them then carries the session in the body's `auth`.
    assert result_of(await rpc("host.get", {"output": ["host"], "limit": 1}, id=members["id"], auth=session)) == []
    assert result_of(await rpc("user.logout", [], id=members["id"], auth=session)) is True  # the npm clients send []


async def test_go_zabbix_event_get_with_6x_selects(rpc: Any, call: Any, admin: str) -> None:
    # go-zabbix (event.go): EventGetParams always sends object and acknowledged; select_acknowledges is 6.x's name.
    await call("event.create", {"host": "web-01", "name": "Disk is slow"}, auth=admin)
    params = {"object": 0, "acknowledged": False, "selectHosts": "extend", "select_acknowledges": "extend"}
    [event] = result_of(await rpc("event.get", params, id=3, auth=admin))
    assert [host["host"] for host in event["hosts"]] == ["web-01"] and event["acknowledges"] == []


async def test_the_same_session_in_the_header_and_the_body(rpc: Any, admin: str) -> None:
    # grafana-zabbix (pkg/zabbixapi/zabbix_api.go) for a server below 7.0: Bearer header and body auth at once.
    answer = await rpc("problem.get", {"output": ["eventid"]}, id=2, auth=admin, headers={"Authorization": f"Bearer {admin}"})
    assert result_of(answer) == []


async def test_grafana_zabbix_problem_get(rpc: Any, call: Any, admin: str) -> None:
    # grafana-zabbix (zabbixAPIConnector.ts, getProblems): numbers as strings, as 7.0 itself takes them.
    await call("event.create", {"host": "web-01", "name": "Disk is slow", "severity": 4}, auth=admin)
    params = {"output": "extend", "selectAcknowledges": "extend", "selectSuppressionData": "extend", "selectTags": "extend",
              "source": "0", "object": "0", "sortfield": ["eventid"], "sortorder": "DESC", "evaltype": "0", "severities": ["4"]}
    [problem] = result_of(await rpc("problem.get", params, id=2, headers={"Authorization": f"Bearer {admin}"}))
    assert (problem["name"], problem["acknowledges"], problem["tags"]) == ("Disk is slow", [], [])


@pytest.mark.parametrize(
    "params, data",
    [
        # No meaning anywhere: a misspelt parameter.
        ({"selectHost": "extend"}, 'Invalid parameter "/": unexpected parameter "selectHost".'),
        # A problem has no host field to filter on (a script written against pyzabbix sends it).
        ({"filter": {"host": "web-01"}}, 'Invalid parameter "/filter": unexpected parameter "host".'),
    ],
)
async def test_what_has_no_meaning_is_refused_with_70s_text(rpc: Any, admin: str, params: Any, data: str) -> None:
    answer = await rpc("problem.get", params, headers={"Authorization": f"Bearer {admin}"})
    assert error_of(answer) == (-32602, "Invalid params.", data)


async def test_zabbix_api_checks_its_session_with_auth_in_the_body_and_is_refused(rpc: Any, admin: str) -> None:
    # zabbix-api 0.5.6 (test_login) sends its session as `auth` to an open method: every Zabbix version refuses that.
    answer = await rpc("user.checkAuthentication", {"sessionid": admin}, id=3, auth=admin)
    assert error_of(answer) == (-32602, "Invalid params.",
                                'The "user.checkAuthentication" method must be called without the "auth" parameter.')

