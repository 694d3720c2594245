"""The webhook body of Prometheus Alertmanager (version "4") and of Grafana's webhook contact point
(version "1": the same shape plus fields of its own), as POST /hooks/alertmanager reads it (API.md §10).

Only what the mapping uses is checked: the alerts, each one's status, labels and annotations. The rest
(receiver, groupKey, externalURL, startsAt, fingerprint, Grafana's title, values, ...) is let through
unread, so either sender's body loads as it is. A refusal says where, as `alerts[2].status: ...`.
"""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields

FIRING, RESOLVED = "firing", "resolved"
VERSIONS = {"4": "Alertmanager", "1": "Grafana"}
"""The body versions understood, and who sends them."""


SHOWN_LENGTH = 64
"""Characters of a sent value an error repeats: enough to find it, never the whole of a long one."""


def shown(text: str) -> str:
    """A sent text as an error quotes it: cut, and without NULs."""
    text = text.replace("\x00", "")
    return f'"{text[:SHOWN_LENGTH]}..."' if len(text) > SHOWN_LENGTH else f'"{text}"'


class StringMap(fields.Field[dict[str, str]]):
    """Labels or annotations (`item`: "label", "annotation"): an object of strings (null, as Go may send an
    empty map, is `{}`)."""

    def __init__(self, *, item: str, **kwargs: Any) -> None:
        super().__init__(load_default=dict, allow_none=True, **kwargs)
        self.item = item

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dict[str, str]:
        if not isinstance(value, dict):
            raise ValidationError(f"the {self.item}s must be an object of strings")
        for name, text in value.items():
            if name == "":
                raise ValidationError(f"a {self.item} name cannot be empty")
            if not isinstance(text, str):
                raise ValidationError(f"the {self.item} {shown(name)} must be a string, not {type(text).__name__}")
            if "\x00" in name or "\x00" in text:  # PostgreSQL cannot store it; refused on both stores alike
                raise ValidationError(f"the {self.item} {shown(name)} holds a NUL character")
        return value


class Text(fields.String):
    default_error_messages = {"invalid": "must be a string", "required": "is missing", "null": "must be a string"}


class AlertSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    status = Text(required=True)
    labels = StringMap(item="label")
    annotations = StringMap(item="annotation")

    def load_alert(self, value: Any) -> dict[str, Any]:
        loaded: dict[str, Any] = self.load(value)
        if loaded["status"] not in (FIRING, RESOLVED):
            raise ValidationError({"status": [f'{shown(loaded["status"])} is neither "{FIRING}" nor "{RESOLVED}"']})
        loaded["labels"] = loaded["labels"] or {}
        loaded["annotations"] = loaded["annotations"] or {}
        return loaded


_alert = AlertSchema()


class WebhookBody(Schema):
    class Meta:
        unknown = EXCLUDE

    version = Text()
    alerts = fields.List(fields.Raw(), required=True, error_messages={
        "required": 'is missing: this is not an Alertmanager or Grafana webhook body',
        "invalid": "must be an array of alerts",
        "null": "must be an array of alerts",
    })


_body = WebhookBody()


class BadBody(ValueError):
    """What is wrong with a body, for the person who sent it: `where: what`."""


def _first_message(messages: Any, path: str) -> str:
    """`where: what` of marshmallow's first error."""
    while isinstance(messages, dict):
        key, messages = next(iter(messages.items()))
        path = key if not path else f"{path}.{key}"
    while isinstance(messages, list):
        messages = messages[0]
    return f"{path}: {messages}" if path else str(messages)


def load_body(body: Any) -> list[dict[str, Any]]:
    """The alerts of a decoded webhook body, each `{status, labels, annotations}`, in the order sent.

    Raises:
        BadBody: the body is not one Alertmanager or Grafana sends.
    """
    if not isinstance(body, dict):
        raise BadBody("the body must be a JSON object: the webhook body of Alertmanager or Grafana")
    try:
        loaded = _body.load(body)
    except ValidationError as exc:
        raise BadBody(_first_message(exc.messages, "")) from None
    version = loaded.get("version")
    if version is not None and version not in VERSIONS:
        known = " or ".join(f'"{v}" ({sender})' for v, sender in VERSIONS.items())
        raise BadBody(f"version: {shown(version)} is not a webhook version understood here, which are {known}")
    alerts = []
    for index, alert in enumerate(loaded["alerts"]):
        where = f"alerts[{index}]"
        if not isinstance(alert, dict):
            raise BadBody(f"{where}: an alert must be a JSON object")
        try:
            alerts.append(_alert.load_alert(alert))
        except ValidationError as exc:
            raise BadBody(_first_message(exc.messages, where)) from None
    return alerts
