"""Request limits: JSON nesting depth, items per array, characters per string. The walk itself, then
each limit through the real endpoint at its default and as configured, then the settings."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import orjson
import pytest
import requests
from hypothesis import example, given, settings
from hypothesis import strategies as st

from rpcserver.config import Config, ConfigError, load_config
from rpcserver.context import Context
from rpcserver.dispatch import ApiMethod
from rpcserver.errors import InvalidParams
from rpcserver.limits import check_sizes, depth_refusal, too_deep, within_sizes
from schemas._base import first_error

from .conftest import ADMIN_PASSWORD, error_of, post, request, result_of, storage_of
from .server_process import running_server


def nested(levels: int, bottom: Any = 1) -> Any:
    """`bottom` inside `levels` arrays."""
    for _ in range(levels):
        bottom = [bottom]
    return bottom


def refusal_of(params: Any, max_items: int = 100_000, max_chars: int = 65_535) -> str | None:
    try:
        check_sizes(params, max_items, max_chars)
    except InvalidParams as exc:
        return exc.data
    return None


def too_many(path: str, limit: int) -> str:
    return f'Invalid parameter "{path}": too many values (at most {limit}); send them in parts.'


def too_long(path: str, limit: int) -> str:
    return f'Invalid parameter "{path}": value is too long (at most {limit} characters).'


def name_too_long(path: str, limit: int) -> str:
    return f'Invalid parameter "{path}": a parameter name is too long (at most {limit} characters).'


# --- the walk: depth ---


@pytest.mark.parametrize("value, depth", [
    (1, 0), ([], 1), ({}, 1), ([1, "x", None], 1), ({"a": {"b": []}}, 3), ([[], [[]], {"a": [{}]}], 4),
    (nested(40), 40), ({"a": 1, "b": nested(6), "c": [1]}, 7),
])
def test_depth_counts_arrays_and_objects_inside_each_other(value: Any, depth: int) -> None:
    body = orjson.dumps(value)
    assert not too_deep(body, value, max(depth, 1))
    if depth > 1:
        assert too_deep(body, value, depth - 1)


def test_brackets_inside_strings_do_not_count() -> None:
    value = {"a": "[[[[{{{{" * 10, "b": ["]]]]"]}
    assert not too_deep(orjson.dumps(value), value, 2)
    assert too_deep(orjson.dumps(value), value, 1)


def test_a_10000_id_array_is_shallow() -> None:
    value = {"jsonrpc": "2.0", "method": "event.acknowledge", "params": {"eventids": [str(n) for n in range(10_000)]}, "id": 1}
    body = orjson.dumps(value)
    assert not too_deep(body, value, 3)
    assert too_deep(body, value, 2)


# --- the walk: items and characters ---


@pytest.mark.parametrize("params, expected", [
    ({"ids": [1, 2, 3], "s": "abcde"}, None),  # exactly at the limits
    ({"ids": [1, 2, 3, 4]}, too_many("/ids", 3)),
    (["1", "2", "3", "4"], too_many("/", 3)),  # params that are themselves an array (user.delete)
    ({"a": 1, "b": 2, "c": 3, "d": 4}, None),  # an object's keys are parameter names: the schemas' to judge
    ({"rules": {"ui": [{"name": "a"}, {"name": "b"}, {"x": [1, 2, 3, 4]}]}}, too_many("/rules/ui/3/x", 3)),
    ({"find": {"name": "abcdef"}}, too_long("/find/name", 5)),
    (["abcdef"], too_long("/1", 5)),
    ({"tags": [{"tag": "t"}, {"tag": "t", "value": "abcdef"}]}, too_long("/tags/2/value", 5)),
    ({"out": ["a", "b", ["abcdef"]]}, too_long("/out/3/1", 5)),
    ({"abcde": 1}, None),
    ({"abcdef": 1}, name_too_long("/", 5)),
    ({"f": {"abcdef": "x"}}, name_too_long("/f", 5)),
    ([[[{"abcdef": 1}]]], name_too_long("/1/1/1", 5)),
    ({"a": nested(500, "abcdef")}, too_long("/a" + "/1" * 500, 5)),  # deep: a loop, not recursion
])
def test_sizes_name_the_first_excess_by_its_path(params: Any, expected: str | None) -> None:
    assert refusal_of(params, max_items=3, max_chars=5) == expected


def test_the_first_excess_in_the_order_sent_is_named() -> None:
    assert refusal_of({"a": "abcdef", "b": [1, 2, 3, 4]}, 3, 5) == too_long("/a", 5)
    assert refusal_of({"b": [1, 2, 3, 4], "a": "abcdef"}, 3, 5) == too_many("/b", 3)
    assert refusal_of({"a": [1, ["abcdef"]], "b": "abcdef"}, 3, 5) == too_long("/a/2/1", 5)
    # An object's keys before its values, as Zabbix looks at unknown keys first.
    assert refusal_of({"a": "abcdef", "abcdef": 1}, 3, 5) == name_too_long("/", 5)


def test_a_long_key_is_not_echoed() -> None:
    key = "k" * 100
    assert key not in refusal_of({"filter": {key: 1}}, 3, 99)


def test_paths_are_printed_as_the_schemas_print_them() -> None:
    ours = refusal_of({"tags": [{"tag": "t"}, {"value": "abcdef"}]}, 3, 5)
    schemas = first_error({"tags": {1: {"value": ["value is too long (at most 5 characters)"]}}}).data
    assert ours == schemas


# --- through the endpoint ---


async def echo(ctx: Context, params: Any) -> Any:
    return params


async def accept(ctx: Context, params: Any) -> str:
    return "accepted"  # not the params: encoding a deep result would fail for its own reasons


ECHO = {"test.echo": ApiMethod(echo, open=True), "test.accept": ApiMethod(accept, open=True)}


async def answer(client: Any, body: Any) -> Any:
    response = await post(client, body)
    assert response.status == 200
    raw = await response.read()
    return orjson.loads(raw) if raw else None


def depth_error(limit: int) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid request.", "data": depth_refusal(limit)}, "id": None}


def call_with_depth(depth: int) -> bytes:
    """A test.accept call nested `depth` levels deep in all: the request object, its params, then arrays
    (written by hand: orjson does not encode that deep)."""
    arrays = depth - 2
    return b'{"jsonrpc":"2.0","method":"test.accept","params":{"x":%s1%s},"id":1}' % (b"[" * arrays, b"]" * arrays)


@pytest.mark.parametrize("settings, limit", [({}, 32), ({"depth_limit": 5}, 5), ({"depth_limit": 1000}, 1000)])
async def test_depth_exactly_at_the_limit_passes_and_one_more_is_refused(make_client: Any, settings: dict[str, Any], limit: int) -> None:
    client = await make_client(ECHO, **settings)
    assert result_of(await answer(client, call_with_depth(limit))) == "accepted"
    assert await answer(client, call_with_depth(limit + 1)) == depth_error(limit)


@pytest.mark.parametrize("levels", [1025, 5000])
async def test_past_the_parsers_own_limit_the_same_refusal(client: Any, levels: int) -> None:
    assert await answer(client, b"[" * levels + b"]" * levels) == depth_error(32)


async def test_broken_json_within_the_parsers_limit_is_still_a_parse_error(client: Any) -> None:
    assert error_of(await answer(client, b"[" * 40))[0] == -32700


async def test_a_batch_too_deep_is_refused_as_a_whole(make_client: Any) -> None:
    client = await make_client(ECHO, depth_limit=5)
    fine = request("test.echo", {"x": 1}, id=1)
    deep_member = request("test.echo", {"x": nested(3)}, id=2)  # 5 levels alone, 6 inside the batch
    assert result_of(await answer(client, deep_member)) == {"x": nested(3)}
    assert await answer(client, [fine, deep_member]) == depth_error(5)


async def log_in(client: Any) -> dict[str, str]:
    session = result_of(await answer(client, request("user.login", {"username": "Admin", "password": ADMIN_PASSWORD})))
    return {"Authorization": f"Bearer {session}"}


async def test_ids_at_their_default_limit(make_client: Any) -> None:
    client = await make_client(ECHO)
    assert len(result_of(await answer(client, request("test.echo", {"eventids": list(range(100_000))})))["eventids"]) == 100_000
    refused = await answer(client, request("test.echo", {"eventids": list(range(100_001))}, id=9))
    assert refused["id"] == 9
    assert error_of(refused) == (-32602, "Invalid params.", too_many("/eventids", 100_000))


async def test_a_bulk_acknowledge_of_10000_ids_passes(client: Any) -> None:
    headers = await log_in(client)
    params = {"eventids": [str(n) for n in range(1, 10_001)], "action": 4, "message": "bulk"}
    response = await post(client, request("event.acknowledge", params), headers=headers)
    # No event exists: the ids got past the limits into the method, which found none to acknowledge.
    code, _, data = error_of(orjson.loads(await response.read()))
    assert (code, data) == (-32500, "No permissions to referred object or it does not exist!")


async def acknowledged(client: Any) -> list[tuple[Any, ...]]:
    return await storage_of(client).read(lambda conn: conn.execute("SELECT eventid, message FROM acknowledges").fetchall())


@pytest.fixture
async def three_problems(make_client: Any) -> tuple[Any, dict[str, str], list[str]]:
    """A client with ids_limit 3 and string_limit 64, Admin's session, and three problems."""
    client = await make_client(ids_limit=3, string_limit=64)
    headers = await log_in(client)
    events = [{"host": "web", "name": f"p{n}", "groups": ["Web"], "manual_close": 1} for n in range(3)]
    response = await post(client, request("event.create", events), headers=headers)
    return client, headers, result_of(orjson.loads(await response.read()))["eventids"]


async def test_configured_limits_refuse_and_change_nothing(three_problems: Any) -> None:
    client, headers, eventids = three_problems

    async def acknowledge(ids: list[Any], message: str) -> Any:
        return orjson.loads(await (await post(client, request("event.acknowledge", {"eventids": ids, "action": 4, "message": message}),
                                              headers=headers)).read())

    assert error_of(await acknowledge([*eventids, "999"], "hello")) == (-32602, "Invalid params.", too_many("/eventids", 3))
    # message has a width of its own (2048): under this ceiling of 64, the ceiling's text.
    assert error_of(await acknowledge(eventids, "x" * 65)) == (-32602, "Invalid params.", too_long("/message", 64))
    assert await acknowledged(client) == []
    assert result_of(await acknowledge(eventids, "x" * 64)) == {"eventids": [int(e) for e in eventids]}
    assert len(await acknowledged(client)) == 3


async def test_a_field_narrower_than_the_ceiling_keeps_its_own_text(client: Any) -> None:
    headers = await log_in(client)
    response = await post(client, request("event.acknowledge", {"eventids": "1", "action": 4, "message": "x" * 2049}), headers=headers)
    assert error_of(orjson.loads(await response.read()))[2] == 'Invalid parameter "/message": value is too long.'


async def test_params_that_are_an_array_are_named_slash(three_problems: Any) -> None:
    client, headers, _ = three_problems
    response = await post(client, request("user.delete", ["11", "12", "13", "14"]), headers=headers)
    assert error_of(orjson.loads(await response.read()))[2] == too_many("/", 3)


@pytest.mark.parametrize("params, path", [
    ({"name": "a", "description": "x" * 65}, "/1/description"),  # one object: counted as /1, as the schemas count it
    ([{"name": "a"}, {"name": "b", "description": "x" * 65}], "/2/description"),
])
async def test_create_and_update_paths_count_a_single_object_as_1(make_client: Any, params: Any, path: str) -> None:
    client = await make_client(string_limit=64)
    response = await post(client, request("token.create", params), headers=await log_in(client))
    assert error_of(orjson.loads(await response.read())) == (-32602, "Invalid params.", too_long(path, 64))
    assert await storage_of(client).read(lambda conn: conn.execute("SELECT count(*) FROM token").fetchone()[0]) == 0


async def test_strings_at_their_default_limit(client: Any) -> None:
    headers = await log_in(client)

    async def search(name: str) -> Any:
        return orjson.loads(await (await post(client, request("event.get", {"search": {"name": name}}), headers=headers)).read())

    assert result_of(await search("x" * 65_535)) == []
    assert error_of(await search("x" * 65_536)) == (-32602, "Invalid params.", too_long("/search/name", 65_535))


def nul_refused(path: str) -> tuple[int, str, str]:
    return (-32602, "Invalid params.", f'Invalid parameter "{path}": the character U+0000 (NUL) is not allowed in text.')


JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), st.text(max_size=12)),
    lambda inner: st.lists(inner, max_size=12) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=40,
)


@settings(max_examples=400, deadline=None)
@given(params=st.one_of(st.lists(JSON_VALUES, max_size=12), st.dictionaries(st.text(max_size=12), JSON_VALUES, max_size=4)),
       items_share=st.integers(1, 3), chars_share=st.integers(1, 3), slack=st.integers(-2, 2))
@example(params={"message": "x" * 40}, items_share=1, chars_share=2, slack=0)  # one string, most of the body
def test_a_body_within_sizes_never_holds_an_excess(params: Any, items_share: int, chars_share: int, slack: int) -> None:
    # within_sizes lets the endpoint skip the walk: it may only say so of a body the walk passes. The
    # params' own encoding is the tightest body holding them; limits near its length, or a share of it,
    # are where a wrong bound would show.
    body = orjson.dumps(params)
    max_items, max_chars = max(1, len(body) // items_share + slack), max(1, len(body) // chars_share + slack)
    if within_sizes(body, max_items, max_chars):
        check_sizes(params, max_items, max_chars)


def test_within_sizes_holds_only_below_both_limits_and_without_nul() -> None:
    body = orjson.dumps({"jsonrpc": "2.0", "method": "m", "params": {"eventids": ["1"]}, "id": 1})
    assert within_sizes(body, len(body), len(body))
    assert not within_sizes(body, len(body) - 1, len(body))
    assert not within_sizes(body, len(body), len(body) - 1)
    assert not within_sizes(orjson.dumps({"params": {"message": "a\x00b"}}), 1000, 1000)


def test_the_walk_refuses_nul_anywhere_in_a_string() -> None:
    assert refusal_of({"message": "a\x00b"}) == nul_refused("/message")[2]
    assert refusal_of({"tags": [{"tag": "t", "value": "\x00"}]}) == nul_refused("/tags/1/value")[2]
    assert refusal_of({"message": "a\\0b"}) is None  # an escaped backslash and a 0: two ordinary characters


async def test_nul_in_text_is_refused_on_every_store_and_changes_nothing(client: Any) -> None:
    """PostgreSQL cannot hold U+0000 in text, SQLite can: refused on both, so both answer alike."""
    headers = await log_in(client)
    async def call(method: str, params: Any) -> Any:
        return orjson.loads(await (await post(client, request(method, params), headers=headers)).read())

    created = await call("event.create", {"host": "web", "name": "p\x00", "groups": ["Web"]})
    assert error_of(created) == nul_refused("/1/name")  # one object of a create is counted as /1
    found = await call("event.get", {"search": {"name": "\x00"}})
    assert error_of(found) == nul_refused("/search/name")
    login = await answer(client, request("user.login", {"username": "Admin\x00", "password": ADMIN_PASSWORD}))
    assert error_of(login) == nul_refused("/username")
    assert await storage_of(client).read(lambda conn: conn.execute("SELECT count(*) FROM events").fetchone()[0]) == 0


async def test_a_huge_key_is_refused_without_being_echoed(client: Any) -> None:
    headers = await log_in(client)
    key = "k" * 10_000_000
    body = io.BytesIO(orjson.dumps(request("event.get", {key: 1})))  # aiohttp wants a stream for a body this big
    response = await client.post("/api_jsonrpc", data=body, headers={"Content-Type": "application/json-rpc", **headers})
    raw = await response.read()
    assert len(raw) < 1000
    assert error_of(orjson.loads(raw)) == (-32602, "Invalid params.", name_too_long("/", 65_535))


async def test_credentials_and_permissions_come_before_sizes(make_client: Any) -> None:
    client = await make_client(ids_limit=3)
    too_many_ids = {"eventids": [1, 2, 3, 4]}
    assert error_of(await answer(client, request("event.get", too_many_ids)))[2] == "Not authorized."
    headers = await log_in(client)
    # Admin's role (3) denies event.get from now on
    await storage_of(client).write(lambda conn: conn.execute(
        "INSERT INTO role_rule (roleid, name, value_int, value_str) VALUES (3, 'api.method.0', 0, 'event.get')"))
    response = await post(client, request("event.get", too_many_ids), headers=headers)
    assert error_of(orjson.loads(await response.read()))[2] == 'No permissions to call "event.get".'


async def test_in_a_batch_only_the_member_over_the_limit_fails(make_client: Any) -> None:
    client = await make_client(ECHO, ids_limit=3)
    batch = [request("test.echo", {"ids": [1, 2, 3]}, id=1), request("test.echo", {"ids": [1, 2, 3, 4]}, id=2),
             request("test.echo", {"ids": [4]}, id=3)]
    first, second, third = await answer(client, batch)
    assert result_of(first) == {"ids": [1, 2, 3]}
    assert (second["id"], error_of(second)) == (2, (-32602, "Invalid params.", too_many("/ids", 3)))
    assert result_of(third) == {"ids": [4]}


async def test_a_notification_over_a_limit_is_not_run_and_not_answered(make_client: Any) -> None:
    ran: list[Any] = []

    async def record(ctx: Context, params: Any) -> None:
        ran.append(params)

    client = await make_client({"test.record": ApiMethod(record, open=True)}, string_limit=64)
    response = await post(client, {"jsonrpc": "2.0", "method": "test.record", "params": {"s": "x" * 65}})
    assert (response.status, await response.read()) == (200, b"")
    assert ran == []
    assert result_of(await answer(client, request("test.record", {"s": "x" * 64}))) is None
    assert ran == [{"s": "x" * 64}]


# --- the settings ---


def test_defaults() -> None:
    config = Config()
    assert (config.depth_limit, config.ids_limit, config.string_limit) == (32, 100_000, 65_535)


@pytest.mark.parametrize("environ, message", [
    ({"RPCSERVER_DEPTH_LIMIT": "1"}, "depth-limit must be between 2 and 1000, not 1"),
    ({"RPCSERVER_DEPTH_LIMIT": "1001"}, "depth-limit must be between 2 and 1000, not 1001"),
    ({"RPCSERVER_DEPTH_LIMIT": "deep"}, "RPCSERVER_DEPTH_LIMIT: depth-limit: 'deep' is not a valid int"),
    ({"RPCSERVER_IDS_LIMIT": "0"}, "ids-limit must be at least 1"),
    ({"RPCSERVER_STRING_LIMIT": "63"}, "string-limit must be at least 64, the length of an API token (user.checkAuthentication takes one)"),
    ({"RPCSERVER_STRING_LIMIT": "64k"}, "RPCSERVER_STRING_LIMIT: string-limit: '64k' is not a valid int"),
])
def test_bad_values_are_refused(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config({}, environ=environ)
    assert str(info.value) == message


def test_flags_win_over_variables() -> None:
    environ = {"RPCSERVER_DEPTH_LIMIT": "10", "RPCSERVER_IDS_LIMIT": "20", "RPCSERVER_STRING_LIMIT": "300"}
    config = load_config({"ids_limit": 21}, environ=environ)
    assert (config.depth_limit, config.ids_limit, config.string_limit) == (10, 21, 300)


def test_a_server_started_with_variables_and_flags_applies_them(tmp_path: Path) -> None:
    env = {"RPCSERVER_DEPTH_LIMIT": "4", "RPCSERVER_IDS_LIMIT": "2", "RPCSERVER_PASSWORD_COST": "4"}
    with running_server(tmp_path, "--string-limit", "64", env=env) as server:
        def post_json(body: Any) -> Any:
            return requests.post(f"{server.url}/api_jsonrpc", json=body, timeout=10).json()

        login = request("user.login", {"username": "Admin", "password": ["a", "b", "c"]})
        assert error_of(post_json(login))[2] == too_many("/password", 2)
        login = request("user.login", {"username": "Admin", "password": "x" * 65})
        assert error_of(post_json(login))[2] == too_long("/password", 64)
        assert post_json(request("user.login", {"username": "Admin", "password": [[[1]]]})) == depth_error(4)
        assert server.stop() == 0
