"""A "recovery" acknowledgement's end over several servers on one PostgreSQL database (API.md §7, §9):
whichever instances resolve the problem at once, and however, the end is one action-16 row."""

from __future__ import annotations

import asyncio

from .test_shared_database import ACK, CLOSE, Instance, admin, history, instances, problems

__all__ = ["admin", "instances"]  # fixtures

UNACK = 16


async def test_resolutions_racing_through_three_instances_end_the_acknowledgement_once(
        instances: list[Instance], admin: str) -> None:
    first, second, third = instances
    eventids = await problems(first, admin, 5)
    for n, eventid in enumerate(eventids):
        await second.call("event.acknowledge", {"eventids": eventid, "action": ACK, "acknowledged_until": "recovery"}, admin)
        await asyncio.gather(
            first.rpc("event.acknowledge", {"eventids": eventid, "action": CLOSE}, admin),
            second.rpc("event.create", {"host": "shared-01", "name": f"problem {n}", "value": 0}, admin),
            third.rpc("incident.resolve", {"incidentid": str(eventid)}, admin),
            first.rpc("event.create", {"host": "shared-01", "name": f"problem {n}", "value": 0}, admin),
        )
        actions = await history(third, admin, eventid)
        assert actions.count(UNACK) == 1, actions
        shown = await first.call("problem.get", {"eventids": eventid, "recent": True, "output": ["acknowledged"]}, admin)
        assert shown == [{"acknowledged": "0"}]
