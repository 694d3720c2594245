"""Acknowledge a problem with zabbix_utils' AsyncZabbixAPI (zabbix_utils >= 2.0) against `rpcserver serve --demo`.

    python examples/acknowledge_with_zabbix_utils_async.py [URL]      # URL defaults to http://127.0.0.1:8080

Logs in as the demo's read-write user, lists the unacknowledged problems, acknowledges the first with a
message, and logs out. The script owns the aiohttp session, so it is closed even when a call fails:
AsyncZabbixAPI closes a session it made itself only on a successful logout.
"""

import asyncio
import sys

import aiohttp
from zabbix_utils import AsyncZabbixAPI

ACKNOWLEDGE, MESSAGE = 2, 4

url = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8080"


async def main() -> None:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        api = AsyncZabbixAPI(url=url, client_session=session)  # reads the server's version here, synchronously
        await api.login(user="operator", password="operator")  # the session id then goes in a Bearer header
        try:
            problems = await api.problem.get(output=["eventid", "name", "severity"], acknowledged=False, sortfield="eventid")
            for problem in problems:
                print(f"{problem['eventid']:>6}  severity {problem['severity']}  {problem['name']}")
            if not problems:
                sys.exit("no unacknowledged problem left to acknowledge")

            first = problems[0]
            result = await api.event.acknowledge(eventids=first["eventid"], action=ACKNOWLEDGE | MESSAGE,
                                                 message="Acknowledged from asyncio.")
            print("acknowledged:", result["eventids"])
            (event,) = await api.event.get(eventids=first["eventid"], output=["acknowledged"],
                                           selectAcknowledges=["username", "action", "message"])
            print(f"  acknowledged {event['acknowledged']}, last by {event['acknowledges'][0]['username']}: "
                  f"{event['acknowledges'][0]['message']!r}")
        finally:
            await api.logout()
    print("logged out, session closed")


asyncio.run(main())
