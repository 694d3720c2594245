"""The API's handlers, one module per API object; `METHODS` is the whole method table."""

from __future__ import annotations

from rpcserver.dispatch import ApiMethod

from . import apiinfo

__all__ = ["METHODS"]

METHODS: dict[str, ApiMethod] = {
    **apiinfo.METHODS,
}
