"""The keys of what `create_app` keeps on the aiohttp application, typed, in one module (as aiohttp-demos
keeps them). The types are imported for mypy only, so any module may import these keys."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from .context import Clock
    from .expiry import Expiry
    from .metrics import Metrics
    from .storage import Storage
    from .transport import Endpoint
    from .webhooks import Deliveries

STORAGE_KEY: web.AppKey[Storage] = web.AppKey("storage")
EXPIRY_KEY: web.AppKey[Expiry] = web.AppKey("expiry")
ENDPOINT_KEY: web.AppKey[Endpoint] = web.AppKey("endpoint")
METRICS_KEY: web.AppKey[Metrics] = web.AppKey("metrics")
CLOCK_KEY: web.AppKey[Clock] = web.AppKey("clock")
DELIVERIES_KEY: web.AppKey[Deliveries] = web.AppKey("deliveries")
