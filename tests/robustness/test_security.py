"""Security as tests: who may call what, what a user without rights can reach, SQL-looking input,
and secrets at rest and in the log.

The method lists come from the registered method table, so a method added later is checked too.
"""

from __future__ import annotations

import re
import signal
import sqlite3
from pathlib import Path
from typing import Any

import orjson
import pytest
import requests

from methods import METHODS

from ..conftest import cached_world, error_of, result_of, storage_of
from ..server_process import running_server
from .wire import check_response

OPEN_METHODS = {"apiinfo.version", "user.login", "user.checkauthentication", "rpc.discover"}
GUARDED = sorted(name for name, method in METHODS.items() if not method.open)
MARKER = "zz-classified"
"""In the name of everything the user without rights must not see."""
PASSWORD = "long-enough-password"


def test_only_the_four_open_methods_are_open() -> None:
    assert {name.lower() for name, method in METHODS.items() if method.open} == OPEN_METHODS


# --- anonymous and forged credentials ---

FORGED = [
    ("none", {}, {}, "Not authorized."),
    ("unknown session", {"Authorization": "Bearer " + "0" * 32}, {}, "Session terminated, re-login, please."),
    ("unknown token", {"Authorization": "Bearer " + "f" * 64}, {}, "Not authorized."),
    ("unknown X-API-Key", {"X-API-Key": "a" * 64}, {}, "Not authorized."),
    ("unknown body auth", {}, {"auth": "b" * 32}, "Session terminated, re-login, please."),
    ("SQL as a session", {"Authorization": "Bearer ' OR '1'='1"}, {}, "Session terminated, re-login, please."),
    ("basic auth only", {"Authorization": "Basic QWRtaW46emFiYml4"}, {}, "Not authorized."),
]


BOOKKEEPING = ("sessions", "mass_call")
"""Tables a refused call may still write: a session's lastaccess, the rate limit's count of the caller's own calls."""


def table_names(conn: Any) -> list[str]:
    """The database's tables, on either store."""
    if conn.engine.name == "postgresql":
        sql = ("SELECT table_name FROM information_schema.tables"
               " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'")
    else:
        sql = "SELECT name FROM sqlite_schema WHERE type = 'table'"
    return [row[0] for row in conn.execute(sql)]


def database_snapshot(conn: sqlite3.Connection) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table but the bookkeeping ones."""
    tables = [table for table in table_names(conn) if table not in BOOKKEEPING]
    return {table: sorted(conn.execute(f'SELECT * FROM "{table}"').fetchall(), key=repr) for table in tables}


@pytest.mark.parametrize("method", GUARDED)
async def test_guarded_methods_refuse_missing_and_forged_credentials(rpc: Any, client: Any, admin: str, method: str) -> None:
    before = await storage_of(client).read(database_snapshot)
    for name, headers, members, expected in FORGED:
        response = await rpc(method, {}, headers=headers, **members)
        check_response(response, "")
        assert error_of(response) == (-32602, "Invalid params.", expected), name
    assert await storage_of(client).read(database_snapshot) == before


# --- a user without rights ---


@cached_world
async def world(call: Any, admin: str, login: Any) -> dict[str, Any]:
    """What the super admin has (every name carries MARKER), and two users without rights: one
    whose role allows no action, one with the default User role; neither has host group rights."""
    eventid = (await call("event.create", {"host": f"{MARKER}-host", "name": f"{MARKER} problem", "groups": [f"{MARKER} group"],
                                           "manual_close": 1, "severity": 3}, auth=admin))["eventids"][0]
    hostid = (await call("host.get", {"output": ["hostid"]}, auth=admin))[0]["hostid"]
    groupid = (await call("hostgroup.get", {"output": ["groupid"], "filter": {"name": f"{MARKER} group"}}, auth=admin))[0]["groupid"]
    triggerid = (await call("trigger.get", {"output": ["triggerid"]}, auth=admin))[0]["triggerid"]
    team = (await call("usergroup.create", {"name": f"{MARKER} team", "hostgroup_rights": [{"id": groupid, "permission": 3}]},
                       auth=admin))["usrgrpids"][0]
    roleid = (await call("role.create", {"name": f"{MARKER} role", "type": 2}, auth=admin))["roleids"][0]
    userid = (await call("user.create", {"username": f"{MARKER}-user", "name": MARKER, "passwd": PASSWORD, "roleid": roleid,
                                         "usrgrps": [{"usrgrpid": team}]}, auth=admin))["userids"][0]
    tokenid = (await call("token.create", {"name": f"{MARKER} token", "userid": userid}, auth=admin))["tokenids"][0]
    await call("token.generate", [tokenid], auth=admin)
    await call("event.acknowledge", {"eventids": eventid, "action": 6, "message": f"{MARKER} note"}, auth=admin)

    nothing = (await call("role.create", {"name": "Nothing allowed", "type": 1, "rules": {"actions.default_access": 0}},
                          auth=admin))["roleids"][0]
    own_group = (await call("usergroup.create", {"name": "Bystanders"}, auth=admin))["usrgrpids"][0]
    users = {}
    for username, own_role in (("nobody", nothing), ("plain", "1")):
        own_id = (await call("user.create", {"username": username, "passwd": PASSWORD, "roleid": own_role,
                                             "usrgrps": [{"usrgrpid": own_group}]}, auth=admin))["userids"][0]
        users[username] = {"session": await login(username, PASSWORD), "userid": own_id, "roleid": own_role}
    return {"eventid": eventid, "hostid": hostid, "groupid": groupid, "triggerid": triggerid, "team": team, "roleid": roleid,
            "userid": userid, "tokenid": tokenid, "own_group": own_group, "users": users}


def attacks(w: dict[str, Any], me: dict[str, Any]) -> dict[str, list[Any]]:
    """Params that would read or change the super admin's objects, or raise the caller's own rights."""
    event, secret_user = w["eventid"], w["userid"]
    return {
        "user.create": [{"username": "intruder", "passwd": PASSWORD, "roleid": "3", "usrgrps": [{"usrgrpid": "7"}]}],
        "user.update": [{"userid": secret_user, "name": "changed"}, {"userid": me["userid"], "roleid": "3"},
                        {"userid": me["userid"], "usrgrps": [{"usrgrpid": w["team"]}]},
                        {"userid": secret_user, "passwd": "new-password-1", "current_passwd": PASSWORD}],
        "user.delete": [[secret_user]],
        "user.get": [{"userids": secret_user}, {"search": {"username": MARKER}}],
        "usergroup.create": [{"name": "intruders", "hostgroup_rights": [{"id": w["groupid"], "permission": 3}], "users": [{"userid": me["userid"]}]}],
        "usergroup.update": [{"usrgrpid": w["own_group"], "hostgroup_rights": [{"id": w["groupid"], "permission": 3}]},
                             {"usrgrpid": w["team"], "users": [{"userid": me["userid"]}]}],
        "usergroup.delete": [[w["team"]]],
        "usergroup.get": [{"usrgrpids": w["team"]}, {"selectUsers": "extend"}],
        "role.create": [{"name": "intruder role", "type": 3}],
        "role.update": [{"roleid": me["roleid"], "type": 3}, {"roleid": me["roleid"], "rules": {"actions.default_access": 1}},
                        {"roleid": w["roleid"], "name": "changed"}],
        "role.delete": [[w["roleid"]]],
        "role.get": [{"roleids": w["roleid"]}, {"selectRules": "extend"}],
        "hostgroup.create": [{"name": "intruder group"}],
        "hostgroup.delete": [[w["groupid"]]],
        "hostgroup.get": [{"groupids": w["groupid"]}, {"selectHosts": "extend"}],
        "host.get": [{"hostids": w["hostid"]}],
        "trigger.get": [{"triggerids": w["triggerid"]}],
        "token.create": [{"name": "theirs", "userid": secret_user}],
        "token.generate": [[w["tokenid"]]],
        "token.delete": [[w["tokenid"]]],
        "token.get": [{"tokenids": w["tokenid"]}, {"userids": secret_user}],
        "event.create": [{"host": f"{MARKER}-host", "name": "injected", "groups": [f"{MARKER} group"]}],
        "event.acknowledge": [{"eventids": event, "action": action, "message": "x", "severity": 0}
                              for action in (1, 2, 4, 8, 16)] + [{"eventids": event, "action": 32, "suppress_until": 0}],
        "event.get": [{"eventids": event, "selectAcknowledges": "extend"}, {"selectHosts": "extend"}],
        "problem.get": [{"eventids": event, "selectAcknowledges": "extend"}, {"recent": True}],
        "acknowledgement.create": [{"eventid": event}, {"eventid": event, "notes": "x", "acknowledged_until": "1h"}],
        "acknowledgement.update": [{"acknowledgementid": n, "notes": "changed"} for n in (1, 2)],
        "acknowledgement.get": [{"eventids": event}],
        "incident.get": [{"incidentids": [event]}],
        "incident.acknowledge": [{"incidentid": event}],
        "incident.update": [{"incidentid": event, "status": status} for status in ("acknowledged", "open", "resolved", "closed")],
        "incident.resolve": [{"incidentid": event}],
        "incident.close": [{"incidentid": event}],
        "incident.massacknowledge": [{"incidentids": [event]}, {"paged_user": f"{MARKER}-user"}],
        "incident.massresolve": [{"incidentids": [event]}],
    }


async def test_the_users_without_rights_are_signed_in_and_see_themselves(rpc: Any, world: dict[str, Any]) -> None:
    """Else every refusal below would prove nothing."""
    for username, me in world["users"].items():
        response = await rpc("user.get", {"output": ["userid"], "filter": {"username": username}},
                             headers={"Authorization": f"Bearer {me['session']}"})
        assert result_of(response) == [{"userid": me["userid"]}]


@pytest.mark.parametrize("method", [name for name in GUARDED if name != "user.logout"])  # logout ends only one's own session
async def test_a_user_without_rights_can_neither_see_nor_change_anything(rpc: Any, client: Any, world: dict[str, Any], method: str) -> None:
    before = await storage_of(client).read(database_snapshot)
    for username, me in world["users"].items():
        for params in [{}, {"output": "extend"}, *attacks(world, me).get(method, [])]:
            response = await rpc(method, params, headers={"Authorization": f"Bearer {me['session']}"})
            check_response(response, "")
            text = orjson.dumps(response).decode().lower()
            assert MARKER not in text, f"{username} saw {text[:500]} with {method} {params}"
    assert await storage_of(client).read(database_snapshot) == before


# --- SQL-looking input ---

SQL_TEXTS = [
    "Robert'); DROP TABLE users;--",
    "' OR '1'='1",
    '" OR ""="',
    "1; DELETE FROM acknowledges WHERE 1=1",
    "%",
    "_",
    "a%b_c!d\\e",
    "x' UNION SELECT passwd FROM users --",
    "/* comment */ --",
]


@pytest.mark.parametrize("text", SQL_TEXTS)
async def test_sql_looking_input_is_stored_verbatim_and_matches_only_itself(call: Any, admin: str, client: Any, text: str) -> None:
    groupid = (await call("hostgroup.create", {"name": f"group {text}"}, auth=admin))["groupids"][0]
    userid = (await call("user.create", {"username": f"user {text}", "name": text, "surname": text, "passwd": PASSWORD,
                                         "roleid": "1", "usrgrps": [{"usrgrpid": "8"}]}, auth=admin))["userids"][0]
    eventid = (await call("event.create", {"host": "sql-host", "name": f"problem {text}", "tags": [{"tag": text, "value": text}],
                                           "opdata": text}, auth=admin))["eventids"][0]
    await call("event.acknowledge", {"eventids": eventid, "action": 4, "message": text}, auth=admin)
    tokenid = (await call("token.create", {"name": text[:64], "description": text}, auth=admin))["tokenids"][0]

    assert await call("hostgroup.get", {"groupids": groupid, "output": ["name"]}, auth=admin) == [{"name": f"group {text}"}]
    assert await call("user.get", {"userids": userid, "output": ["username", "name", "surname"]}, auth=admin) == [
        {"username": f"user {text}", "name": text, "surname": text}]
    (event,) = await call("event.get", {"eventids": eventid, "output": ["name"], "selectTags": "extend",
                                        "selectAcknowledges": ["message"]}, auth=admin)
    assert event == {"name": f"problem {text}", "tags": [{"tag": text, "value": text}], "acknowledges": [{"message": text}]}
    assert await call("token.get", {"tokenids": tokenid, "output": ["name", "description"]}, auth=admin) == [
        {"name": text[:64], "description": text}]

    # As a filter or a search it matches itself, not everything: no wildcard, no injected condition.
    assert await call("hostgroup.get", {"filter": {"name": f"group {text}"}, "output": ["groupid"]}, auth=admin) == [{"groupid": groupid}]
    assert await call("hostgroup.get", {"search": {"name": text}, "output": ["groupid"]}, auth=admin) == [{"groupid": groupid}]
    assert await call("user.get", {"search": {"name": text}, "output": ["userid"]}, auth=admin) == [{"userid": userid}]
    tables = set(await storage_of(client).read(table_names))
    assert {"users", "acknowledges", "hstgrp"} <= tables


# --- secrets at rest and in the log ---


def post(url: str, method: str, params: Any, credential: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {credential}"} if credential else {}
    answer = requests.post(f"{url}/api_jsonrpc", json={"jsonrpc": "2.0", "method": method, "params": params, "id": 1},
                           headers=headers, timeout=30).json()
    return answer


def test_passwords_and_tokens_are_never_stored_or_logged_in_plain_text(tmp_path: Path) -> None:
    admin_password = "Adm1n-secret-pass"
    user_password = "Us3r-secret-pass"
    new_password = "N3w-secret-pass"
    wrong_password = "Wr0ng-secret-pass"
    env = {"RPCSERVER_ADMIN_PASSWORD": admin_password, "RPCSERVER_PASSWORD_COST": "4"}
    db = tmp_path / "secrets.db"
    with running_server(tmp_path, "--db", str(db), "--log-level", "DEBUG", env=env) as server:
        url = server.url
        admin = post(url, "user.login", {"username": "Admin", "password": admin_password})["result"]
        userid = post(url, "user.create", {"username": "keeper", "passwd": user_password, "roleid": "1",
                                           "usrgrps": [{"usrgrpid": "8"}]}, admin)["result"]["userids"][0]
        assert "error" in post(url, "user.login", {"username": "keeper", "password": wrong_password})
        session = post(url, "user.login", {"username": "keeper", "password": user_password})["result"]
        post(url, "user.update", {"userid": userid, "passwd": new_password, "current_passwd": user_password}, session)
        session = post(url, "user.login", {"username": "keeper", "password": new_password, "userData": True})["result"]["sessionid"]
        tokenid = post(url, "token.create", {"name": "keeper's token"}, session)["result"]["tokenids"][0]
        token = post(url, "token.generate", [tokenid], session)["result"][0]["token"]
        assert post(url, "user.get", {"output": ["username"]}, token)["result"] == [{"username": "keeper"}]
        assert "result" in post(url, "user.checkAuthentication", {"token": token})
        assert post(url, "token.get", {"token": token, "output": ["name"]}, admin)["result"] == [{"name": "keeper's token"}]
        requests.post(f"{url}/api_jsonrpc", data=b"{not json " + token.encode(), timeout=10,
                      headers={"Content-Type": "application/json", "X-API-Key": token})
        assert server.stop(signal.SIGTERM) == 0
        log = server.log()

    secrets = {"admin password": admin_password, "user password": user_password, "new password": new_password,
               "wrong password": wrong_password, "token": token}
    stored = b"".join(path.read_bytes() for path in tmp_path.iterdir() if path.name.startswith(db.name))
    for name, secret in secrets.items():
        assert secret.encode() not in stored, f"the {name} is in the database file"
        assert secret not in log, f"the {name} is in the log"
    assert re.search(r"DEBUG", log), "the log was not at DEBUG level: the check proves less"
