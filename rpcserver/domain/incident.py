"""The incident dialect's states and transitions (UptimeIO's status machine, API.md §4). Pure."""

from __future__ import annotations

from typing import Any

OPEN, ACKNOWLEDGED, RESOLVED, CLOSED = "open", "acknowledged", "resolved", "closed"
STATUSES = (OPEN, ACKNOWLEDGED, RESOLVED, CLOSED)

TRANSITIONS: dict[str, tuple[str, ...]] = {
    OPEN: (ACKNOWLEDGED, RESOLVED),
    ACKNOWLEDGED: (OPEN, RESOLVED, CLOSED),
    RESOLVED: (CLOSED,),
    CLOSED: (),
}

DEFAULT_NOTES = {
    ACKNOWLEDGED: "Incident acknowledged",
    OPEN: "Incident reopened",
    RESOLVED: "Incident resolved",
    CLOSED: "Incident closed",
}

SEVERITY_NAMES = ("not_classified", "information", "warning", "average", "high", "disaster")


def status_of(*, closed: bool, resolved: bool, acknowledged: bool) -> str:
    """Derived, in this order: closed once closed; resolved once recovered; acknowledged while acknowledged."""
    if closed:
        return CLOSED
    if resolved:
        return RESOLVED
    return ACKNOWLEDGED if acknowledged else OPEN


class TransitionRefused(Exception):
    def __init__(self, from_status: str, to_status: str) -> None:
        super().__init__(f"{from_status} -> {to_status}")
        self.from_status = from_status
        self.to_status = to_status

    def data(self) -> dict[str, Any]:
        """The structured error data UptimeIO gives (API.md §4)."""
        valid = list(TRANSITIONS[self.from_status])
        return {
            "code": "VALIDATION_ERROR",
            "message": f"Cannot transition from {self.from_status} to {self.to_status}. "
            f"Valid transitions: {', '.join(valid) or 'none'}",
            "fromStatus": self.from_status,
            "toStatus": self.to_status,
            "validTransitions": valid,
        }


def check_transition(from_status: str, to_status: str) -> None:
    """Raises TransitionRefused unless the table allows it (acknowledging an acknowledged incident included)."""
    if to_status not in TRANSITIONS[from_status]:
        raise TransitionRefused(from_status, to_status)
