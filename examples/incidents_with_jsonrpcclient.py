"""Work incidents with jsonrpcclient and requests against `rpcserver serve --demo`.

    python examples/incidents_with_jsonrpcclient.py [URL]      # URL defaults to http://127.0.0.1:8080

The incident family: typed JSON and a status per incident (open, acknowledged, resolved, closed) that
moves only along allowed transitions. The script lists the open incidents, acknowledges one, hands it
back with a note, resolves one whose trigger allows manual closing, then shows how a refused transition
reads. jsonrpcclient only builds requests and parses answers, so the credential is added by hand: the
session id from user.login, as `Authorization: Bearer <session>`.
"""

import sys
from typing import Any

import requests
from jsonrpcclient import Error, Ok, parse, request

APPLICATION_ERROR = -32500

endpoint = (sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8080") + "/api_jsonrpc"


def call(method: str, params: dict, session: str | None = None) -> Ok | Error:
    headers = {"Authorization": f"Bearer {session}"} if session else {}
    reply = requests.post(endpoint, json=request(method, params=params), headers=headers, timeout=10)
    reply.raise_for_status()  # JSON-RPC errors come with HTTP 200; anything else is a transport failure
    return parse(reply.json())


def result(method: str, params: dict, session: str | None = None) -> Any:
    """The call's result; the script stops on an error, which none of these calls expects."""
    match call(method, params, session):
        case Ok(value, _):
            return value
        case Error(code, message, data, _):
            sys.exit(f"{method} failed: {code} {message} {data}")


def show(incident: dict) -> None:
    print(f"#{incident['incidentid']} {incident['status']:<12} {incident['severity']:<14} "
          f"{incident['host']}: {incident['title']}")


session = result("user.login", {"username": "operator", "password": "operator"})

open_incidents = result("incident.get", {"status": ["open"]}, session)
for incident in open_incidents:
    show(incident)
if not open_incidents:
    sys.exit("no open incident left to work on")

first = open_incidents[0]["incidentid"]
acknowledged = result("incident.acknowledge", {"incidentid": first, "comment": "On it."}, session)
print(f"acknowledged #{first}: status {acknowledged['status']}, assigned to {acknowledged['assigned_to']}")

# incident.update moves to any allowed status; the note goes into the incident's notes and the problem's history.
reopened = result("incident.update", {"incidentid": first, "status": "open", "note": "Not mine, back to the queue."}, session)
print(f"updated #{first}: status {reopened['status']}, note {reopened['notes'][-1]['text']!r}")

for incident in open_incidents:
    match call("incident.resolve", {"incidentid": incident["incidentid"], "comment": "Fixed."}, session):
        case Ok(resolved, _):
            break
        case Error(_, _, reason, _):  # e.g. the trigger does not allow manual closing
            print(f"not resolved #{incident['incidentid']}: {reason}")
else:
    sys.exit("no open incident could be resolved")
print(f"resolved #{resolved['incidentid']} at {resolved['resolved_at']}; notes:")
for note in resolved["notes"]:
    print(f"  {note['status_from']} -> {note['status_to']}: {note['text']} ({note['username']})")

# A refused transition is -32500 with `data` an object saying why and what is allowed instead.
match call("incident.acknowledge", {"incidentid": resolved["incidentid"]}, session):
    case Error(APPLICATION_ERROR, _, {"message": reason, "fromStatus": status, "validTransitions": allowed}, _):
        print(f"acknowledging resolved #{resolved['incidentid']} was refused: {reason}")
        print(f"  a program reads it from `data`: from {status!r} only {allowed} are allowed")
    case unexpected:
        sys.exit(f"expected a refused transition, got {unexpected}")

result("user.logout", {}, session)
