"""What every answer of the endpoint must look like, whatever was sent: the checks the fuzzing,
fault and security tests share."""

from __future__ import annotations

from typing import Any

import orjson

from rpcserver.errors import INTERNAL_ERROR, MESSAGES

LEAKS = (
    "Traceback", 'File "', ".py", "sqlite", "Error:", "SELECT ", "INSERT ", "UPDATE ", "DELETE ",
    " FROM ", "/work/", "/tmp/", "site-packages", "0x7f",
)
"""Fragments of exception text, SQL and paths: none may reach a client unless the client sent it."""


def strings_in(value: Any) -> list[str]:
    """Every string in a JSON value, keys included."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [text for item in value for text in strings_in(item)]
    if isinstance(value, dict):
        return [text for key, item in value.items() for text in (key, *strings_in(item))]
    return []


def assert_no_leak(value: Any, sent: str) -> None:
    """No fragment of LEAKS in `value` that the request itself did not contain."""
    for text in strings_in(value):
        for fragment in LEAKS:
            assert fragment not in text or fragment in sent, f"{fragment!r} leaked in {text[:300]!r}"


def is_notification(member: Any) -> bool:
    return isinstance(member, dict) and "id" not in member


def check_response(response: Any, sent: str, *, allow_internal: bool = False) -> None:
    """One JSON-RPC response object: `jsonrpc`, `id`, and a result or an error with exactly
    `code`, `message` (the code's fixed text) and `data`; never -32603 unless allowed."""
    assert isinstance(response, dict), response
    assert response.get("jsonrpc") == "2.0", response
    assert "id" in response, response
    assert ("result" in response) != ("error" in response), response
    assert set(response) <= {"jsonrpc", "id", "result", "error"}, response
    if "error" in response:
        error = response["error"]
        assert set(error) == {"code", "message", "data"}, error
        assert error["code"] in MESSAGES, error
        assert error["message"] == MESSAGES[error["code"]], error
        assert allow_internal or error["code"] != INTERNAL_ERROR, f"-32603 for input that is merely bad: {sent[:500]}"
        assert_no_leak(error["data"], sent)


def check_answer(status: int, content_type: str, body: bytes, sent: bytes, *, allow_internal: bool = False) -> Any:
    """A whole HTTP answer to a JSON-RPC POST: 200 with JSON (or an empty body when only
    notifications were sent), or 413 for a body over the limit. Returns the decoded answer."""
    if status == 413:
        return None
    assert status == 200, (status, body[:300])
    sent_text = sent.decode("utf-8", "replace")
    if body == b"":
        decoded = orjson.loads(sent)
        members = decoded if isinstance(decoded, list) else [decoded]
        assert members and all(is_notification(member) for member in members), sent_text[:300]
        return None
    assert content_type == "application/json", content_type
    answer = orjson.loads(body)
    responses = answer if isinstance(answer, list) else [answer]
    assert responses, "an empty batch answer"
    for response in responses:
        check_response(response, sent_text, allow_internal=allow_internal)
    return answer
