"""Params and results of webhook.* (API.md §10, Out): webhooks that receive the problems' history."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from marshmallow import ValidationError, fields

from rpcserver.storage.webhooks import KINDS

from ._base import ZabbixSchema, refuse_repeats
from ._fields import Id, String, Strings
from ._get import get_params_schema
from ._results import GetResult, strings_object

URL_LENGTH = 2048
SECRET_LENGTH = 255
OUTPUT_FIELDS = ("webhookid", "url", "events", "last_status", "last_error", "pending", "failed")
"""Everything but the secret, which is never shown."""


def _is_http_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


class WebhookUrl(String):
    """An absolute http or https URL with a host."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=URL_LENGTH, not_empty=True, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        url = super()._deserialize(value, attr, data, **kwargs)
        if url != url.strip() or not _is_http_url(url):
            raise ValidationError("an http or https URL is expected")
        return url

    def json_type(self) -> dict[str, Any]:
        return {**super().json_type(), "format": "uri", "pattern": "^https?://"}


class Kinds(Strings):
    """A non-empty set of the event kinds (`storage.webhooks.KINDS`)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=KINDS, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[str]:
        kinds = super()._deserialize(value, attr, data, **kwargs)
        if not kinds:
            raise ValidationError("cannot be empty")
        return kinds


class WebhookCreate(ZabbixSchema):
    url = WebhookUrl(required=True)
    events = Kinds(load_default=lambda: list(KINDS), metadata={"description": "the kinds delivered; default all"})
    secret = String(max_length=SECRET_LENGTH, load_default="",
                    metadata={"description": "signs each delivery (X-Rpcserver-Signature); empty: unsigned"})


class WebhookUpdate(ZabbixSchema):
    webhookid = Id(required=True)
    url = WebhookUrl(load_default=None)
    events = Kinds(load_default=None)
    secret = String(max_length=SECRET_LENGTH, load_default=None)


_update_params = WebhookUpdate()


def load_update(params: Any) -> list[dict[str, Any]]:
    changes = _update_params.load_many(params)
    refuse_repeats(changes, ("webhookid",))
    return changes


WebhookGetParams = get_params_schema(
    "WebhookGetParams",
    id_params=("webhookids",),
    output_fields=OUTPUT_FIELDS,
    filter_fields=("webhookid", "url", "last_status"),
    search_fields=("url", "last_error"),
    sort_fields=("webhookid", "url"),
)

WEBHOOK_GET_RESULT = GetResult(strings_object(
    "Webhook", [name for name in OUTPUT_FIELDS if name != "events"],
    events=fields.List(fields.String(), metadata={"description": "the kinds delivered"}),
))
