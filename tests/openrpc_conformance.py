"""Holds the server to its own OpenRPC document: every successful call the test suite makes through
the `rpc` fixture must have params the document allows and a result its schema describes.

This is what keeps rpc.discover from drifting: a result shape changed in a handler, or a param
accepted that the document does not list, fails the test that exercised it.
"""

from __future__ import annotations

import functools
from typing import Any

from jsonschema import Draft7Validator

from methods.rpc import document


def params_schema(method: dict[str, Any]) -> dict[str, Any]:
    """JSON Schema of the whole `params` member a method object of the document allows."""
    params = method["params"]
    if method["paramStructure"] == "by-position":
        return {"type": "array", "items": params[0]["schema"]}
    if not params:
        return {"anyOf": [{"type": "object", "maxProperties": 0}, {"type": "array", "maxItems": 0}]}
    one = {
        "type": "object",
        "properties": {param["name"]: param["schema"] for param in params},
        "required": [param["name"] for param in params if param.get("required")],
        "additionalProperties": False,
    }
    return {"anyOf": [one, {"type": "array", "items": one}]} if "x-params-array" in method else one


@functools.cache
def _validators() -> dict[str, tuple[Draft7Validator, Draft7Validator]]:
    return {
        method["name"].lower(): (Draft7Validator(params_schema(method)), Draft7Validator(method["result"]["schema"]))
        for method in document()["methods"]
    }


def check(method: str, params: Any, response: Any) -> None:
    """Fail (AssertionError) if a successful answer, or the params that got it, break the document."""
    if not isinstance(response, dict) or "result" not in response or not isinstance(method, str):
        return
    validators = _validators().get(method.lower())
    if validators is None:  # a test's own method, or a name the server resolved loosely
        return
    params_validator, result_validator = validators
    problems = [f"params {error.json_path}: {error.message}" for error in params_validator.iter_errors(params)]
    problems += [f"result {error.json_path}: {error.message}" for error in result_validator.iter_errors(response["result"])]
    assert not problems, f"{method} answered outside its OpenRPC description:\n" + "\n".join(problems[:5])
