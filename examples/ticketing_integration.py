"""A ticketing system's side of the incident dialect, with plain JSON-RPC against `rpcserver serve --demo`.

    python examples/ticketing_integration.py [URL]      # URL defaults to http://127.0.0.1:8080

It takes the incidents the on-call user was paged for, acknowledges one in the ticket's name
(OmniCenter style: a free-text acknowledger and a comment), then resolves it when the ticket is done.
"""

import json
import sys
import urllib.request

url = (sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8080") + "/api_jsonrpc"
_ids = iter(range(1, 1_000_000))


def call(method: str, params: dict, key: str | None = None):
    headers = {"Content-Type": "application/json"}
    if key:
        headers["X-API-Key"] = key  # any credential: an API token, or a session as here
    body = json.dumps({"jsonrpc": "2.0", "method": method, "params": params, "id": next(_ids)}).encode()
    answer = json.load(urllib.request.urlopen(urllib.request.Request(url, body, headers)))
    if "error" in answer:
        raise RuntimeError(f"{method}: {answer['error']['data']}")
    return answer["result"]


key = call("user.login", {"username": "operator", "password": "operator"})
paged = call("incident.get", {"paged_user": "operator", "status": ["open"]}, key)
for incident in paged:
    print(f"#{incident['incidentid']} {incident['severity']:<14} {incident['host']}: {incident['title']}")

ticket = "INC-1042"
for incident in paged:
    acknowledged = call("incident.acknowledge", {"incidentid": incident["incidentid"],
                                                 "acknowledged_by": "Ticketing System", "comment": f"{ticket} opened"}, key)
    print(f"acknowledged #{acknowledged['incidentid']} by {acknowledged['acknowledged_by']}, assigned to {acknowledged['assigned_to']}")
    try:
        resolved = call("incident.resolve", {"incidentid": incident["incidentid"], "comment": f"{ticket} done"}, key)
    except RuntimeError as refused:  # e.g. the trigger does not allow manual closing
        print(f"  not resolved: {refused}")
        continue
    print(f"resolved #{resolved['incidentid']} at {resolved['resolved_at']}; notes:")
    for note in resolved["notes"]:
        print(f"  {note['status_from']} -> {note['status_to']}: {note['text']} ({note['username']})")
    break
call("user.logout", {}, key)
