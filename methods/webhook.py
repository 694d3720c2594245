"""webhook.*: webhooks that receive every history row on a problem (API.md §10, Out).

Super admins only: a webhook makes the server post to any address it can reach, the internal
network's too. The deliveries themselves are `rpcserver.webhooks`'; a call only writes them.
"""

from __future__ import annotations

from typing import Any

from rpcserver.context import Context
from rpcserver.dispatch import ApiMethod, ByName, ByPosition
from rpcserver.errors import ApplicationError
from rpcserver.storage import webhooks
from rpcserver.storage.webhooks import WebhookChange
from schemas._fields import Id, load_id_array
from schemas._results import ids_result
from schemas.webhook import WEBHOOK_GET_RESULT, WebhookCreate, WebhookGetParams, WebhookUpdate, load_update

from ._get import get_query, shape

_create_params = WebhookCreate()
_get_params = WebhookGetParams()


def _require_super_admin(ctx: Context, method: str) -> None:
    if not ctx.caller.is_super_admin:
        raise ApplicationError(f'No permissions to call "webhook.{method}".')


async def create(ctx: Context, params: Any) -> dict[str, list[str]]:
    """Create webhooks (super admins only), which receive every history row on a problem as a JSON POST.

    Each row of a kind in `events` (default all) is posted to `url`, signed with `secret` when one is set.
    """
    _require_super_admin(ctx, "create")
    new = [WebhookChange(one["url"], one["events"], one["secret"]) for one in _create_params.load_many(params)]
    webhookids = await ctx.storage.write(webhooks.create_webhooks, new)
    return {"webhookids": [str(webhookid) for webhookid in webhookids]}


async def get(ctx: Context, params: Any) -> Any:
    """Webhooks (super admins only) with the state of their deliveries; the secret is never shown.

    `last_status`: the HTTP status of the last attempt ("0": none yet, or no answer); `last_error`:
    why it failed ("" when it did not); `pending`: deliveries not made yet; `failed`: given up after 24 h.
    """
    _require_super_admin(ctx, "get")
    p = _get_params.load_params(params)
    rows = await ctx.storage.read(webhooks.select_webhooks, get_query(p, ("webhookids",)))
    return shape(rows, p, "webhookid")


async def update(ctx: Context, params: Any) -> dict[str, list[str]]:
    """Change webhooks' `url`, `events` or `secret` (super admins only).

    Pending deliveries go to the new URL, signed with the new secret.
    """
    _require_super_admin(ctx, "update")
    changes = {one["webhookid"]: WebhookChange(one["url"], one["events"], one["secret"]) for one in load_update(params)}
    await ctx.storage.write(webhooks.update_webhooks, changes)
    return {"webhookids": [str(webhookid) for webhookid in changes]}


async def delete(ctx: Context, params: Any) -> dict[str, list[str]]:
    """Delete webhooks (super admins only), with their pending deliveries."""
    _require_super_admin(ctx, "delete")
    webhookids = load_id_array(params)
    await ctx.storage.write(webhooks.delete_webhooks, webhookids)
    return {"webhookids": [str(webhookid) for webhookid in webhookids]}


_webhookids = ids_result("webhookids")

METHODS = {
    "webhook.create": ApiMethod(
        create, params=ByName(WebhookCreate, many=True), result=_webhookids,
        example={"url": "https://tickets.example.com/hooks/rpcserver", "events": ["acknowledged", "closed"],
                 "secret": "a shared secret"},
    ),
    "webhook.get": ApiMethod(
        get, params=ByName(WebhookGetParams), result=WEBHOOK_GET_RESULT,
        example={"output": ["webhookid", "url", "last_status", "pending"]},
    ),
    "webhook.update": ApiMethod(update, params=ByName(WebhookUpdate, many=True), result=_webhookids),
    "webhook.delete": ApiMethod(delete, params=ByPosition("webhookid", Id()), result=_webhookids),
}
