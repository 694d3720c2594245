"""Acknowledge problems with zabbix_utils, the official Zabbix client, against `rpcserver serve --demo`.

    python examples/acknowledge_with_zabbix_utils.py [URL]      # URL defaults to http://127.0.0.1:8080

Logs in as the demo's read-write user, lists the open problems, acknowledges the most severe one with a
message, and shows its history.
"""

import sys

from zabbix_utils import ZabbixAPI

ACKNOWLEDGE, MESSAGE = 2, 4

url = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8080"
api = ZabbixAPI(url=url, user="operator", password="operator")  # the session goes in a Bearer header

problems = api.problem.get(output=["eventid", "name", "severity", "acknowledged"], sortfield="eventid", sortorder="DESC")
for problem in problems:
    print(f"{problem['eventid']:>6}  severity {problem['severity']}  acknowledged {problem['acknowledged']}  {problem['name']}")

worst = max(problems, key=lambda p: int(p["severity"]))
result = api.event.acknowledge(eventids=worst["eventid"], action=ACKNOWLEDGE | MESSAGE, message="Looking into it.")
print("acknowledged:", result["eventids"])

(event,) = api.event.get(eventids=worst["eventid"], output=["eventid", "acknowledged"],
                         selectAcknowledges=["clock", "username", "action", "message"])
for row in event["acknowledges"]:
    print(f"  {row['username']}: action {row['action']} {row['message']!r}")
api.logout()
