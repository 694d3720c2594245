"""Which problem an Alertmanager alert is (rpcserver/domain/alerts.py): host, name, severity, tags."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rpcserver.domain.alerts import AlertProblem, host_name, problem_of, severity_of
from rpcserver.domain.errors import InvalidValue
from schemas._fields import HOST_NAME


def alert(status: str = "firing", labels: dict[str, str] | None = None, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    return {"status": status, "labels": labels or {}, "annotations": annotations or {}}


@pytest.mark.parametrize(
    "labels, host",
    [
        ({"instance": "db-01:9100", "job": "node"}, "db-01_9100"),
        ({"instance": "", "job": "node"}, "node"),  # an empty label is an absent one
        ({"job": "blackbox/http"}, "blackbox_http"),
        ({"instance": "https://shop.example.org/health?x=1"}, "https___shop.example.org_health_x_1"),
        ({"instance": "Ünïcode host"}, "_n_code host"),
        ({}, "alertmanager"),
        ({"instance": "h" * 200}, "h" * 128),
    ],
)
def test_host_name(labels: dict[str, str], host: str) -> None:
    assert host_name(labels) == host


@given(st.dictionaries(st.sampled_from(["instance", "job", "other"]), st.text()))
def test_the_host_name_is_always_one_event_create_takes(labels: dict[str, str]) -> None:
    assert HOST_NAME.match(host_name(labels))


@pytest.mark.parametrize(
    "severity, expected",
    [("critical", 4), ("warning", 2), ("info", 1), ("disaster", 5), ("page", 5), ("Critical", 4), (" WARNING ", 2),
     ("error", 3), ("", 3), (None, 3)],
)
def test_severity(severity: str | None, expected: int) -> None:
    assert severity_of({} if severity is None else {"severity": severity}) == expected


def test_a_full_alert() -> None:
    labels = {"alertname": "NodeDown", "instance": "db-01", "severity": "critical", "empty": ""}
    assert problem_of(alert("resolved", labels, {"summary": "Node db-01 is down"}), "alerts[0]") == AlertProblem(
        host="db-01", name="Node db-01 is down", severity=4, firing=False,
        tags=(("alertname", "NodeDown"), ("instance", "db-01"), ("severity", "critical")),
    )


def test_the_name_falls_back_to_alertname_and_long_texts_are_cut() -> None:
    problem = problem_of(alert(labels={"alertname": "A" * 3000, "t" * 300: "v" * 300}, annotations={"summary": ""}), "x")
    assert (problem.name, problem.tags) == ("A" * 2048, (("alertname", "A" * 255), ("t" * 255, "v" * 255)))
    assert problem.firing and problem.severity == 3


def test_an_alert_without_a_name_is_refused() -> None:
    with pytest.raises(InvalidValue) as refused:
        problem_of(alert(labels={"instance": "h"}, annotations={"description": "d"}), "alerts[3]")
    assert refused.value.field == "alerts[3]"
