"""problem.get (ZA §4.4): the caller's readable problems, unresolved ones only unless `recent`."""

from __future__ import annotations

from typing import Any

from rpcserver.context import Context
from rpcserver.dispatch import ApiMethod
from rpcserver.storage import event_reads
from rpcserver.storage.event_reads import EventRead
from schemas.problem import ProblemGetParams

from .event import filters_of, finish, query_of, selects_of

OK_PERIOD = 300
"""Seconds a resolved problem still shows with `recent: true` (Zabbix's ok_period, default 5m)."""

_params = ProblemGetParams()


async def get(ctx: Context, params: Any) -> Any:
    p = _params.load_params(params)
    filters = filters_of(p)
    filters.recent_since = ctx.now - OK_PERIOD if p["recent"] else None
    read = EventRead(query_of(p), filters, selects_of(p, acknowledge_users=False))
    rows = await ctx.storage.read(event_reads.read_problems, read, ctx.caller, ctx.now)
    return finish(rows, p)


METHODS = {
    "problem.get": ApiMethod(get),
}
