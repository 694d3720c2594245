"""acknowledgement.*: Circonus-style acknowledgement spans (API.md §5), over the same spans that
event.acknowledge opens and ends. Typed JSON: ids as decimal strings, times as epoch seconds.

Every span is a historic record: it can be created, read, extended, shortened or ended (by setting
its end to now), never deleted, and not changed at all once it is no longer active.
"""

from __future__ import annotations

from typing import Any

from marshmallow import fields

from rpcserver.caller import Caller
from rpcserver.context import Context
from rpcserver.dispatch import ApiMethod, ByName
from rpcserver.errors import NO_PERMISSION_FOR_OPERATION, ApplicationError
from rpcserver.storage import acknowledgements, spans
from rpcserver.storage.spans import BOUNDED, BOUNDS, SpanQuery
from schemas.acknowledgement import (
    AcknowledgementCreateParams,
    AcknowledgementGetParams,
    AcknowledgementObject,
    AcknowledgementUpdateParams,
    stored_end,
)

CANNOT_DELETE = ("Acknowledgements cannot be deleted: they are a historic record. "
                 "Set acknowledged_until to now to end one.")

_create_params = AcknowledgementCreateParams()
_update_params = AcknowledgementUpdateParams()
_get_params = AcknowledgementGetParams()


def _check_role(caller: Caller, notes: str | None) -> None:
    """The role's problem actions bind here as in event.acknowledge: acknowledging (bits 2 and 16)
    and, for notes, commenting (bit 4)."""
    if not caller.may("acknowledge_problems") or (notes and not caller.may("add_problem_comments")):
        raise ApplicationError(NO_PERMISSION_FOR_OPERATION)


def as_object(row: dict[str, Any]) -> dict[str, Any]:
    """A stored span as the API shows it: ids as strings, `active` and `until_recovery` as booleans."""
    return {
        **row,
        "acknowledgementid": str(row["acknowledgementid"]),
        "eventid": str(row["eventid"]),
        "until_recovery": bool(row["until_recovery"]),
        "active": bool(row["active"]),
    }


async def create(ctx: Context, params: Any) -> dict[str, Any]:
    """Acknowledge a problem from now until `acknowledged_until`, or until ended; answers the new one.

    `acknowledged_until`: epoch seconds, a duration from now ("30m", "2h", "1d"), or "recovery" (until the
    problem resolves; a new problem of the same trigger within the server's --flap-guard inherits it); left out
    or null, the server's --ack-default-duration applies (none: until ended). An end further than the server's
    --ack-max-duration is refused. When it ends, the problem is unacknowledged again by itself (unless another
    acknowledgement is active), and its history says so. A time already past records the
    acknowledgement as ended at once. `notes` become the history row's message.
    """
    p = _create_params.load_params(params)
    end = stored_end(p.get("acknowledged_until"), ctx.settings.lifetime, ctx.now)
    _check_role(ctx.caller, p["notes"])
    return as_object(await ctx.storage.write(acknowledgements.create_span, p["eventid"], end, p["notes"], ctx.caller, ctx.now))


async def update(ctx: Context, params: Any) -> dict[str, Any]:
    """Extend, shorten or end an active acknowledgement, or change its notes; answers it as it is now.

    A time not ahead of now ends it now; "recovery" makes it last until the problem resolves; null gives it
    the server's default end from now. Fields left out stay as they are. An acknowledgement that is
    no longer active cannot be changed: create a new one.
    """
    p = _update_params.load_params(params)
    changes: dict[str, Any] = {}
    if "notes" in p:
        changes["notes"] = p["notes"]
    if "acknowledged_until" in p:
        changes["acknowledged_until"] = stored_end(p["acknowledged_until"], ctx.settings.lifetime, ctx.now)
    _check_role(ctx.caller, changes.get("notes"))
    span = await ctx.storage.write(acknowledgements.update_span, p["acknowledgementid"], changes, ctx.caller, ctx.now)
    return as_object(span)


async def get(ctx: Context, params: Any) -> list[dict[str, Any]]:
    """Acknowledgements of problems the caller may read, by id (ascending) unless sorted otherwise.

    Filters: ids, events, `active`, `acknowledged_by` (usernames), and bounds on `acknowledged_on` and
    `acknowledged_until` (`_lt`, `_le`, `_gt`, `_ge`, epoch seconds).
    """
    p = _get_params.load_params(params)
    query = SpanQuery(
        acknowledgementids=p.get("acknowledgementids"),
        eventids=p.get("eventids"),
        active=p.get("active"),
        acknowledged_by=p.get("acknowledged_by"),
        bounds=[(name, bound, p[f"{name}_{bound}"]) for name in BOUNDED for bound in BOUNDS if f"{name}_{bound}" in p],
        sortfield=p["sortfield"],
        sortorder=p["sortorder"],
        limit=p.get("limit"),
    )
    rows = await ctx.storage.read(spans.get_spans, query, ctx.caller.viewer, ctx.now)
    return [as_object(row) for row in rows]


async def delete(ctx: Context, params: Any) -> Any:
    """Always refused: acknowledgements are a historic record. End one with acknowledgement.update."""
    raise ApplicationError(CANNOT_DELETE)


_span = fields.Nested(AcknowledgementObject)

METHODS = {
    "acknowledgement.create": ApiMethod(
        create, params=ByName(AcknowledgementCreateParams), result=_span,
        example={"eventid": "6", "acknowledged_until": "30m", "notes": "Waiting for the ISP."},
    ),
    "acknowledgement.get": ApiMethod(
        get, params=ByName(AcknowledgementGetParams), result=fields.List(_span),
        example={"active": True, "sortfield": "acknowledged_until"},
    ),
    "acknowledgement.update": ApiMethod(update, params=ByName(AcknowledgementUpdateParams), result=_span),
    "acknowledgement.delete": ApiMethod(delete, result=fields.Raw(metadata={"description": "none: every call is refused"})),
}
