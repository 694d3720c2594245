"""Params of apiinfo.* methods."""

from __future__ import annotations

from typing import Any

from ._base import require_empty


def load_version_params(params: Any) -> None:
    require_empty(params)
