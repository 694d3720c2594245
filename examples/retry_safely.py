"""An automation that retries safely: the same Idempotency-Key on every attempt, against `rpcserver serve --demo`.

    python examples/retry_safely.py [URL]      # URL defaults to http://127.0.0.1:8080

A script that acknowledges a problem and loses the answer (a timeout, a dropped connection) cannot
tell whether the acknowledgement was made. Sent again with the same `Idempotency-Key`, the request is
not run twice: the server answers what it answered the first time (`Idempotent-Replayed: true`), so
the problem gets one history row however often the script retries. Here the first answer is thrown
away on purpose, to show it.
"""

import json
import sys
import urllib.request
import uuid

url = (sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8080") + "/api_jsonrpc"


def post(body: dict, headers: dict | None = None) -> tuple[dict, dict]:
    """Send one request; (its answer, the answer's headers). Stops the script on a JSON-RPC error."""
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json", **(headers or {})})
    with urllib.request.urlopen(request, timeout=10) as response:
        answer, answer_headers = json.load(response), dict(response.headers)
    if "error" in answer:
        raise SystemExit(f"{body['method']}: {answer['error']['data']}")
    return answer, answer_headers


def call(method: str, params: dict, session: str | None = None) -> object:
    headers = {"Authorization": f"Bearer {session}"} if session else {}
    return post({"jsonrpc": "2.0", "method": method, "params": params, "id": 1}, headers)[0]["result"]


session = call("user.login", {"username": "operator", "password": "operator"})
problem = call("problem.get", {"output": ["eventid", "name"], "sortfield": ["eventid"], "limit": 1}, session)[0]
eventid = problem["eventid"]
print(f"problem {eventid}: {problem['name']}")

# One key per intended change, made once and reused by every attempt of it (store it with the job if
# the script itself may restart). The body must be the same bytes on every attempt.
key = str(uuid.uuid4())
body = {"jsonrpc": "2.0", "method": "event.acknowledge", "id": 1,
        "params": {"eventids": [eventid], "action": 4, "message": f"Runbook step 3 done (job {key[:8]})."}}
headers = {"Authorization": f"Bearer {session}", "Idempotency-Key": key}

post(body, headers)  # the change is made, but say its answer never arrived: the script only knows it failed
print("attempt 1: no answer (simulated); retrying with the same Idempotency-Key")
answer, answer_headers = post(body, headers)
print(f"attempt 2: {answer['result']}, Idempotent-Replayed: {answer_headers.get('Idempotent-Replayed')}")
if answer_headers.get("Idempotent-Replayed") != "true":
    raise SystemExit("the retry was run again instead of being answered from the first attempt")

history = call("event.get", {"eventids": [eventid], "output": ["eventid"], "selectAcknowledges": ["message"]}, session)
made = [row for row in history[0]["acknowledges"] if key[:8] in row["message"]]
print(f"history rows with this job's message: {len(made)}")
if len(made) != 1:
    raise SystemExit(f"expected one history row, found {len(made)}")
call("user.logout", {}, session)
