"""Acknowledge, comment and close a problem with pyzabbix against `rpcserver serve --demo`.

    python examples/acknowledge_with_pyzabbix.py [URL]      # URL defaults to http://127.0.0.1:8080

Closing needs read-write rights and a trigger that allows manual closing; the demo's operator has the
rights, and most demo triggers allow it.
"""

import sys

from pyzabbix import ZabbixAPI, ZabbixAPIException

CLOSE, ACKNOWLEDGE, MESSAGE = 1, 2, 4

url = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8080"
api = ZabbixAPI(server=url)
api.login("operator", "operator")

problems = api.problem.get(output=["eventid", "name"], sortfield="eventid")
for problem in problems:
    try:
        api.event.acknowledge(eventids=problem["eventid"], action=CLOSE | ACKNOWLEDGE | MESSAGE, message="Fixed, closing.")
        print(f"closed {problem['eventid']}: {problem['name']}")
        break
    except ZabbixAPIException as refused:  # e.g. "Cannot close problem: trigger does not allow manual closing."
        print(f"not closed {problem['eventid']}: {refused}")

still_open = api.problem.get(output=["eventid"], countOutput=True)
print("open problems left:", still_open)
api.user.logout()
