"""Which problem an Alertmanager or Grafana alert is (API.md §10): pure, no I/O.

Host: label `instance`, else `job`, else "alertmanager", its characters outside a host name's made `_`.
Trigger name: annotation `summary`, else label `alertname`. Severity from label `severity`. Tags: every
label. A label or annotation with an empty value counts as absent, as in Prometheus. Texts longer than
event.create takes are cut to its limits, so that a long label never costs an alert.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import InvalidValue

SEVERITIES = {"info": 1, "warning": 2, "critical": 4, "disaster": 5, "page": 5}
"""Label `severity` (any case) to Zabbix's severity; any other value is 3 (average)."""
OTHER_SEVERITY = 3
DEFAULT_HOST = "alertmanager"
HOST_NAME_LENGTH, NAME_LENGTH, TAG_LENGTH = 128, 2048, 255
"""event.create's limits: host, problem name, tag name and value."""
_NOT_IN_HOST_NAME = re.compile(r"[^A-Za-z0-9 ._-]")
"""What a host name may not contain (event.create's host rule)."""


@dataclass(frozen=True)
class AlertProblem:
    host: str
    name: str
    severity: int
    firing: bool
    """True: the alert fires (the problem opens or stays open); False: it is resolved."""
    tags: tuple[tuple[str, str], ...]


def host_name(labels: Mapping[str, str]) -> str:
    source = labels.get("instance") or labels.get("job") or DEFAULT_HOST
    return _NOT_IN_HOST_NAME.sub("_", source[:HOST_NAME_LENGTH])


def severity_of(labels: Mapping[str, str]) -> int:
    return SEVERITIES.get(labels.get("severity", "").strip().lower(), OTHER_SEVERITY)


def problem_of(alert: Mapping[str, Any], where: str) -> AlertProblem:
    """The problem of a loaded alert (`schemas.alertmanager`: status, labels, annotations).

    Raises:
        InvalidValue: the alert has no name (`where` names the alert).
    """
    labels, annotations = alert["labels"], alert["annotations"]
    name = annotations.get("summary") or labels.get("alertname")
    if not name:
        raise InvalidValue(where, 'it has neither an annotation "summary" nor a label "alertname" to name its problem')
    return AlertProblem(
        host=host_name(labels),
        name=name[:NAME_LENGTH],
        severity=severity_of(labels),
        firing=alert["status"] == "firing",
        tags=tuple((tag[:TAG_LENGTH], value[:TAG_LENGTH]) for tag, value in labels.items() if value),
    )
