"""The webhook body schema (schemas/alertmanager.py) and the mapping after it, on any JSON: a body is
loaded and mapped, or refused with a `BadBody` or `InvalidValue` that says where; nothing else escapes."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from rpcserver.domain.alerts import problem_of
from rpcserver.domain.errors import InvalidValue
from schemas.alertmanager import BadBody, load_body

TEXT = st.sampled_from(["", "firing", "resolved", "x", "\x00", "4", "1"]) | st.text(max_size=8)
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3), max_leaves=12)
LABELS = st.dictionaries(st.sampled_from(["alertname", "instance", "job", "severity", "", "x"]), TEXT | JSON, max_size=4)
ALERT = st.fixed_dictionaries({}, optional={"status": TEXT | JSON, "labels": LABELS | JSON, "annotations": LABELS | JSON})
BODY = st.fixed_dictionaries({}, optional={"version": TEXT | JSON, "alerts": st.lists(ALERT | JSON, max_size=3) | JSON}) | JSON


@given(BODY)
def test_any_body_loads_or_is_refused_with_a_place(body: Any) -> None:
    try:
        alerts = load_body(body)
    except BadBody as bad:
        assert str(bad)
        return
    for index, alert in enumerate(alerts):
        assert set(alert) == {"status", "labels", "annotations"} and alert["status"] in ("firing", "resolved")
        try:
            problem = problem_of(alert, f"alerts[{index}]")
        except InvalidValue as refused:
            assert refused.field == f"alerts[{index}]"
            continue
        assert problem.name and all(tag and value and "\x00" not in tag + value for tag, value in problem.tags)
