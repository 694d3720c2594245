"""Acknowledge a problem for 30 minutes, extend it, then cancel it, against `rpcserver serve --demo`.

    python examples/acknowledge_for_30_minutes.py [URL]      # URL defaults to http://127.0.0.1:8080

An acknowledgement that ends on its own: when it expires, the problem is unacknowledged again and its
history says so, with no client involved. Uses zabbix_utils, which calls any method by name.
"""

import sys
import time

from zabbix_utils import ZabbixAPI

url = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8080"
api = ZabbixAPI(url=url, user="operator", password="operator")


def show(what: str, span: dict) -> None:
    ends = time.strftime("%H:%M:%S", time.localtime(span["acknowledged_until"])) if span["acknowledged_until"] else "never"
    print(f"{what:<10} acknowledgement {span['acknowledgementid']} by {span['acknowledged_by']}: "
          f"active {span['active']}, ends {ends}, notes {span['notes']!r}")


def acknowledged(eventid: str) -> str:
    return api.event.get(eventids=eventid, output=["acknowledged"])[0]["acknowledged"]


problem = api.problem.get(output=["eventid", "name"], acknowledged=False, sortfield="eventid", limit=1)[0]
print(f"problem {problem['eventid']}: {problem['name']}")

# "30m" counts from now; epoch seconds work too. The Zabbix way: event.acknowledge with action 2 and
# the same acknowledged_until.
span = api.acknowledgement.create(eventid=problem["eventid"], acknowledged_until="30m", notes="Looking into it.")
show("created", span)
print("  acknowledged:", acknowledged(problem["eventid"]))

span = api.acknowledgement.update(acknowledgementid=span["acknowledgementid"], acknowledged_until="2h")
show("extended", span)

# A time in the past (0 included) ends it now; the history gets an "unacknowledged" row.
span = api.acknowledgement.update(acknowledgementid=span["acknowledgementid"], acknowledged_until=0)
show("cancelled", span)
print("  acknowledged:", acknowledged(problem["eventid"]))

(event,) = api.event.get(eventids=problem["eventid"], output=["eventid"], selectAcknowledges=["username", "action", "message"])
for row in reversed(event["acknowledges"]):
    print(f"  history: {row['username']} action {row['action']} {row['message']!r}")
api.logout()
