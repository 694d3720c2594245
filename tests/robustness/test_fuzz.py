"""Fuzzing a real server process: the envelope, raw bodies and every registered method's params.

Whatever arrives, the answer is HTTP 200 (412 for a wrong content type, 413 over the body limit)
with well-formed JSON-RPC: a result, or an error with `code`, `message` and `data`; never -32603
for input that is merely bad, never exception text, SQL or paths; and the server keeps answering
with nothing in its log that says it failed. Example counts are modest: the file runs in seconds.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from methods import METHODS
from rpcserver.config import MAX_DEPTH_LIMIT
from rpcserver.limits import depth_refusal

from .fuzz_server import FuzzClient, fuzz_server
from .strategies import ODD_TEXT, atoms, family_keys, json_values, params_for, to_json
from .wire import check_answer

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))
"""Examples per fuzzing test; FUZZ_EXAMPLES=2000 hunts longer (minutes instead of seconds)."""
FUZZ = settings(
    max_examples=EXAMPLES, deadline=None, database=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
ALL_METHODS = sorted(METHODS)
FAILURE_IN_LOG = ("Traceback", "internal error", "failed")


@pytest.fixture(scope="module")
def fuzz(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzClient]:
    yield from fuzz_server(tmp_path_factory.mktemp("fuzz"))


@pytest.fixture
def still_fine(fuzz: FuzzClient) -> Iterator[None]:
    """After the test: the process lives, answers /healthz, and logged no failure."""
    mark = fuzz.log_size()
    yield
    assert fuzz.healthy()
    logged = fuzz.log_since(mark)
    for sign in FAILURE_IN_LOG:
        assert sign not in logged, logged[max(0, logged.index(sign) - 500) : logged.index(sign) + 2000]


def send(fuzz: FuzzClient, body: bytes, content_type: str = "application/json-rpc", credential: str | None = None) -> Any:
    answer = fuzz.post(body, content_type, credential)
    fuzz.after(answer, credential)
    return check_answer(answer.status, answer.content_type, answer.body, body)


# --- every method's params ---


@pytest.mark.parametrize("method", ALL_METHODS)
def test_any_params_get_a_clean_answer(fuzz: FuzzClient, still_fine: None, method: str) -> None:
    signed_in = not METHODS[method].open  # open methods refuse any credential

    @FUZZ
    @given(params=params_for(method))
    def one(params: Any) -> None:
        body = to_json({"jsonrpc": "2.0", "method": method, "params": params, "id": 7})
        answer = send(fuzz, body, credential=fuzz.session if signed_in else None)
        assert answer["id"] == 7

    one()


@pytest.mark.parametrize("method", ALL_METHODS)
def test_deep_values_in_every_known_parameter(fuzz: FuzzClient, still_fine: None, method: str) -> None:
    signed_in = not METHODS[method].open
    levels = MAX_DEPTH_LIMIT - 2  # with the envelope's two levels: just inside the server's depth limit
    deep = "[" * levels + "]" * levels
    for key in family_keys(method.split(".")[0]):
        body = b'{"jsonrpc":"2.0","method":"%s","params":{"%s":%s},"id":1}' % (method.encode(), key.encode(), deep.encode())
        send(fuzz, body, credential=fuzz.session if signed_in else None)


# parse_id, Int32 and Timestamp once called int() on digit strings over Python's 4300-digit limit: -32603.
@pytest.mark.parametrize("method, params", [
    ("event.get", {"eventids": "9" * 5000}),
    ("event.acknowledge", {"eventids": "1", "action": "9" * 5000}),
    ("token.get", {"valid_at": "9" * 5000}),
])
def test_a_number_too_long_to_convert(fuzz: FuzzClient, method: str, params: Any) -> None:
    answer = fuzz.call(method, params, fuzz.session)
    assert answer["error"]["code"] == -32602, answer


# --- the envelope ---

ENVELOPE_KEYS = ("jsonrpc", "method", "params", "id", "auth")


def envelope_members() -> st.SearchStrategy[dict[str, Any]]:
    """Request objects that are nearly right: the right member names with any values, a known
    method name in odd spellings, now and then a stray member."""
    method_names = st.sampled_from(ALL_METHODS) | st.sampled_from(ALL_METHODS).map(str.upper) | st.sampled_from(
        ("", ".", "user.", ".get", "user.get.extra", "rpc.discover", "a" * 1000, "\x00", "user\x00.get")
    ) | st.text(max_size=30)
    values = json_values()
    member = st.fixed_dictionaries(
        {"jsonrpc": st.just("2.0")},
        optional={
            "method": method_names | values,
            "params": st.dictionaries(st.text(max_size=8), values, max_size=3) | values,
            "id": atoms(("x",)),
            "auth": st.sampled_from(("", "0" * 32, "f" * 64)) | values,
        },
    )
    stray = st.dictionaries(st.sampled_from(ENVELOPE_KEYS) | st.text(max_size=8), values, max_size=6)
    return member | stray


def test_any_json_document(fuzz: FuzzClient, still_fine: None) -> None:
    @FUZZ
    @given(document=json_values())
    def one(document: Any) -> None:
        send(fuzz, to_json(document))

    one()


def same_id(value: Any) -> Any:
    """An id as it compares after the trip: integers beyond 64 bits come back as the nearest float."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) >= 2**63 else value


def test_requests_and_batches_of_near_misses(fuzz: FuzzClient, still_fine: None) -> None:
    @FUZZ
    @given(members=st.lists(envelope_members(), min_size=1, max_size=6), single=st.booleans(), signed_in=st.booleans())
    def one(members: list[dict[str, Any]], single: bool, signed_in: bool) -> None:
        body = to_json(members[0] if single else members)
        answer = send(fuzz, body, credential=fuzz.session if signed_in else None)
        if isinstance(answer, list):
            sent_ids = [same_id(m["id"]) for m in members if "id" in m]
            assert len(answer) <= len(members)
            assert all(response["id"] is None or same_id(response["id"]) in sent_ids for response in answer)

    one()


def test_raw_bytes(fuzz: FuzzClient, still_fine: None) -> None:
    @FUZZ
    @given(body=st.binary(max_size=300))
    def one(body: bytes) -> None:
        send(fuzz, body)

    one()


INVALID_UTF8 = (b"\xff", b"\xc3\x28", b"\xe2\x82", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc0\xaf", b"\x80")


@pytest.mark.parametrize("bad", INVALID_UTF8)
@pytest.mark.parametrize("where", ["method", "params", "id", "key", "auth"])
def test_invalid_utf8_inside_a_request(fuzz: FuzzClient, still_fine: None, bad: bytes, where: str) -> None:
    parts = {"method": b'"apiinfo.version"', "params": b"{}", "id": b"1", "key": b'"jsonrpc"', "auth": b"null"}
    if where == "key":
        parts["key"] = b'"json' + bad + b'rpc"'
    else:
        parts[where] = b'"' + bad + b'"'
    body = b'{%s:"2.0","method":%s,"params":%s,"id":%s,"auth":%s}' % (parts["key"], parts["method"], parts["params"], parts["id"], parts["auth"])
    assert send(fuzz, body) == {
        "jsonrpc": "2.0", "id": None,
        "error": {"code": -32700, "message": "Parse error", "data": "Invalid JSON. An error occurred on the server while parsing the JSON text."},
    }


@pytest.mark.parametrize("body", [
    b'{"jsonrpc":"2.0","method":"apiinfo.version","params":{},"id":"\\ud800"}',  # a lone surrogate, escaped
    b'{"jsonrpc":"2.0","method":"apiinfo.version","params":{},"id":1e400}',  # infinity
    b'{"jsonrpc":"2.0","method":"apiinfo.version","params":{},"id":1}\x00',
    b"\xef\xbb\xbf{}",  # a byte order mark
    b"",
])
def test_bodies_the_parser_refuses(fuzz: FuzzClient, still_fine: None, body: bytes) -> None:
    assert send(fuzz, body)["error"]["code"] == -32700


@pytest.mark.parametrize("levels", [MAX_DEPTH_LIMIT + 1, 1100])  # over the limit; deeper than the parser goes
def test_bodies_too_deep(fuzz: FuzzClient, still_fine: None, levels: int) -> None:
    body = b"[" * levels + b"]" * levels
    assert send(fuzz, body) == {"jsonrpc": "2.0", "id": None, "error": {
        "code": -32600, "message": "Invalid request.", "data": depth_refusal(MAX_DEPTH_LIMIT)}}


HEADER_TEXT = st.characters(min_codepoint=0x20, max_codepoint=0x7E)  # what HTTP lets a header carry


CONTENT_TYPES = st.sampled_from(("", "text/plain", "application/x-www-form-urlencoded", "application/json-rpc2",
                                 "APPLICATION/JSON", "multipart/form-data; boundary=x", "application/json ;x"))


def test_wrong_content_types_are_412_with_an_empty_body(fuzz: FuzzClient, still_fine: None) -> None:
    @FUZZ
    @given(content_type=CONTENT_TYPES | st.text(HEADER_TEXT, max_size=40).map(str.strip))
    def one(content_type: str) -> None:
        if content_type.split(";", 1)[0] in ("application/json-rpc", "application/json", "application/jsonrequest"):
            return
        answer = fuzz.post(b'{"jsonrpc":"2.0","method":"apiinfo.version","params":{},"id":1}', content_type)
        assert (answer.status, answer.body) == (412, b"")

    one()


@pytest.mark.parametrize("text", ODD_TEXT)
def test_odd_text_round_trips_through_a_write_and_a_read(fuzz: FuzzClient, still_fine: None, text: str) -> None:
    """A message with bidi marks, astral or non-characters is stored and read back as sent; one with NUL
    is refused on every store (PostgreSQL cannot hold it)."""
    events = fuzz.call("event.get", {"output": ["eventid"], "value": 1, "limit": 1}, fuzz.session)["result"]
    eventid = events[0]["eventid"]
    answer = fuzz.call("event.acknowledge", {"eventids": eventid, "action": 4, "message": text}, fuzz.session)
    if text == "" or len(text) > 2048:
        assert answer["error"]["code"] == -32602, answer
        return
    if "\x00" in text:
        assert answer["error"]["data"] == 'Invalid parameter "/message": the character U+0000 (NUL) is not allowed in text.'
        return
    assert answer["result"] == {"eventids": [int(eventid)]}
    history = fuzz.call("event.get", {"eventids": eventid, "selectAcknowledges": ["message"], "output": ["eventid"]}, fuzz.session)
    assert text in [row["message"] for row in history["result"][0]["acknowledges"]]
