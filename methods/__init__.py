"""The API's handlers, one module per API object; `METHODS` is the whole method table."""

from __future__ import annotations

from rpcserver.dispatch import ApiMethod

from . import (
    acknowledgement,
    apiinfo,
    event,
    host,
    hostgroup,
    incident,
    problem,
    role,
    rpc,
    token,
    trigger,
    user,
    usergroup,
    webhook,
)

__all__ = ["METHODS"]

METHODS: dict[str, ApiMethod] = {
    **apiinfo.METHODS,
    **user.METHODS,
    **usergroup.METHODS,
    **role.METHODS,
    **hostgroup.METHODS,
    **host.METHODS,
    **trigger.METHODS,
    **token.METHODS,
    **event.METHODS,
    **problem.METHODS,
    **acknowledgement.METHODS,
    **incident.METHODS,
    **webhook.METHODS,
    **rpc.METHODS,
}
