"""problem.get (ZA §4.4): the caller's readable problems, unresolved ones only unless `recent`."""

from __future__ import annotations

from typing import Any

from rpcserver.context import Context
from rpcserver.dispatch import ApiMethod, ByName
from rpcserver.storage import event_reads
from rpcserver.storage.event_reads import EventRead
from schemas._results import GetResult
from schemas.problem import ProblemGetParams, ProblemObject

from .event import filters_of, finish, query_of, selects_of

OK_PERIOD = 300
"""Seconds a resolved problem still shows with `recent: true` (Zabbix's ok_period, default 5m)."""

_params = ProblemGetParams()


async def get(ctx: Context, params: Any) -> Any:
    """Read the caller's unresolved problems: Zabbix 7.0's problem.get, every value as a string.

    With `recent: true`, problems resolved in the last 5 minutes too. `acknowledged` and `suppressed` are
    computed at the time of the call. Sub-selects: acknowledges (the 6.x name `select_acknowledges` is still
    taken), hosts (as event.get gives them; 7.0 refuses `selectHosts` here, 6.x clients send it),
    suppression_data, tags. `urls` is always empty.
    """
    p = _params.load_params(params)
    filters = filters_of(p)
    filters.recent_since = ctx.now - OK_PERIOD if p["recent"] else None
    read = EventRead(query_of(p), filters, selects_of(p, acknowledge_users=False))
    rows = await ctx.storage.read(event_reads.read_problems, read, ctx.caller, ctx.now)
    return finish(rows, p)


METHODS = {
    "problem.get": ApiMethod(
        get, params=ByName(ProblemGetParams), result=GetResult(ProblemObject),
        example={
            "output": ["eventid", "name", "severity"],
            "acknowledged": False,
            "severities": [4, 5],
            "sortfield": ["eventid"],
            "sortorder": "DESC",
        },
    ),
}
