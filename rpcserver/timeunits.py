"""Zabbix time units: "90s", "15m", "1h", "1d", "1w" or plain seconds."""

from __future__ import annotations

import re

_UNIT = re.compile(r"^(\d{1,10})([smhdw]?)$")
_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def seconds_of(value: str) -> int | None:
    """Seconds in a time unit string, or None if it is not one."""
    match = _UNIT.match(value)
    return int(match.group(1)) * _SECONDS[match.group(2)] if match else None
