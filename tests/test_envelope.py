"""The envelope rules at the function level: each rule, its Zabbix text, and their order."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rpcserver.envelope import MEMBERS, NO_ID, EnvelopeError, parse_call, validate_call

VALID = {"jsonrpc": "2.0", "method": "apiinfo.version", "params": {}, "id": 1}


def refused(member: Any) -> EnvelopeError:
    with pytest.raises(EnvelopeError) as info:
        parse_call(member)
    return info.value


def test_a_valid_member_becomes_a_call() -> None:
    call = parse_call({**VALID, "auth": "0424bd59b807674191e7d77572075f33"})
    assert (call.method, call.params, call.id, call.auth) == ("apiinfo.version", {}, 1, "0424bd59b807674191e7d77572075f33")
    assert not call.is_notification


def test_missing_params_mean_an_empty_object() -> None:
    call = parse_call({"jsonrpc": "2.0", "method": "apiinfo.version", "id": 1})
    assert call.params == {}


def test_a_member_without_id_is_a_notification_but_null_id_is_not() -> None:
    assert parse_call({"jsonrpc": "2.0", "method": "m", "params": []}).id is NO_ID
    assert parse_call({"jsonrpc": "2.0", "method": "m", "params": []}).is_notification
    assert not parse_call({**VALID, "id": None}).is_notification


@pytest.mark.parametrize(
    "member, text",
    [
        (7, 'Invalid parameter "/": an array is expected.'),
        ("x", 'Invalid parameter "/": an array is expected.'),
        ({**VALID, "foo": 1}, 'Invalid parameter "/": unexpected parameter "foo".'),
        ({"method": "m", "params": {}, "id": 1}, 'Invalid parameter "/": the parameter "jsonrpc" is missing.'),
        ({**VALID, "jsonrpc": 2.0}, 'Invalid parameter "/jsonrpc": a character string is expected.'),
        ({**VALID, "jsonrpc": "1.0"}, 'Invalid parameter "/jsonrpc": value must be "2.0".'),
        ({"jsonrpc": "2.0", "params": {}, "id": 1}, 'Invalid parameter "/": the parameter "method" is missing.'),
        ({**VALID, "method": 5}, 'Invalid parameter "/method": a character string is expected.'),
        ({**VALID, "method": None}, 'Invalid parameter "/method": a character string is expected.'),
        ({**VALID, "params": None}, 'Invalid parameter "/params": an array or object is expected.'),
        ({**VALID, "params": "x"}, 'Invalid parameter "/params": an array or object is expected.'),
        ({**VALID, "params": 3}, 'Invalid parameter "/params": an array or object is expected.'),
        ({**VALID, "id": True}, 'Invalid parameter "/id": a string, number or null value is expected.'),
        ({**VALID, "id": {"a": 1}}, 'Invalid parameter "/id": a string, number or null value is expected.'),
        ({**VALID, "id": [1]}, 'Invalid parameter "/id": a string, number or null value is expected.'),
        ({**VALID, "auth": ""}, 'Invalid parameter "/auth": cannot be empty.'),
        ({**VALID, "auth": 5}, 'Invalid parameter "/auth": a character string is expected.'),
    ],
)
def test_each_rule_has_its_zabbix_text(member: Any, text: str) -> None:
    error = refused(member)
    assert error.data == text
    assert error.code == -32600


def test_the_id_is_echoed_only_when_it_is_valid() -> None:
    assert refused({**VALID, "jsonrpc": "1.0"}).id == 1
    assert refused({**VALID, "jsonrpc": "1.0", "id": "abc"}).id == "abc"
    assert refused({**VALID, "id": True}).id is None
    assert refused({"jsonrpc": "1.0", "method": "m", "params": {}}).id is None  # a notification is answered too


def test_unknown_members_are_reported_before_anything_else() -> None:
    assert refused({"foo": 1, "params": None}).data == 'Invalid parameter "/": unexpected parameter "foo".'


@pytest.mark.parametrize(
    "member, text",
    [
        ({"params": None, "id": True}, 'Invalid parameter "/": the parameter "jsonrpc" is missing.'),
        ({"jsonrpc": "1.0", "params": None}, 'Invalid parameter "/jsonrpc": value must be "2.0".'),
        ({"jsonrpc": "2.0", "params": None}, 'Invalid parameter "/": the parameter "method" is missing.'),
        ({"jsonrpc": "2.0", "method": "m", "params": None, "id": True}, 'Invalid parameter "/params": an array or object is expected.'),
        ({"jsonrpc": "2.0", "method": "m", "params": {}, "id": True, "auth": ""}, 'Invalid parameter "/id": a string, number or null value is expected.'),
    ],
)
def test_members_are_checked_in_zabbix_order(member: Any, text: str) -> None:
    assert refused(member).data == text


@pytest.mark.parametrize("id_", ["abc", 0, -7, 1.5, None, 2**63])
def test_ids_of_every_allowed_type_pass(id_: Any) -> None:
    assert parse_call({**VALID, "id": id_}).id == id_


JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=4))
MEMBER_VALUES = {
    "jsonrpc": st.one_of(st.sampled_from(["2.0", "1.0", "", "2.00"]), JSON_SCALARS),
    "method": st.one_of(st.sampled_from(["apiinfo.version", "", "event.acknowledge"]), JSON_SCALARS),
    "params": st.one_of(st.just({}), st.just([]), st.dictionaries(st.text(max_size=3), JSON_SCALARS, max_size=2),
                        st.lists(JSON_SCALARS, max_size=2), JSON_SCALARS),
    "id": st.one_of(JSON_SCALARS, st.just([1]), st.just({"a": 1})),
    "auth": st.one_of(st.sampled_from(["", "0424bd59b807674191e7d77572075f33"]), JSON_SCALARS),
}


@st.composite
def members(draw: st.DrawFn) -> Any:
    """Request objects near a valid one: each member kept, left out or given another value (of a right
    or a wrong type), sometimes with a member of another name; now and then not an object at all."""
    if draw(st.integers(0, 19)) == 0:
        return draw(st.one_of(JSON_SCALARS, st.lists(JSON_SCALARS, max_size=2)))
    member: dict[str, Any] = {**VALID, "auth": "0424bd59b807674191e7d77572075f33"}
    for name, values in MEMBER_VALUES.items():
        change = draw(st.integers(0, 7))
        if change == 0:
            del member[name]
        elif change == 1:
            member[name] = draw(values)
    if draw(st.integers(0, 9)) == 0:
        member[draw(st.text(max_size=3))] = 1
    return member


def outcome(parse: Any, member: Any) -> Any:
    try:
        call = parse(member)
    except EnvelopeError as exc:
        return ("refused", exc.data, exc.id)
    return ("call", call.method, call.params, call.id, call.auth)


@settings(max_examples=2000, deadline=None)
@given(members())
def test_the_quick_path_decides_as_the_rules_do(member: Any) -> None:
    # parse_call answers a well-formed member without validate_call's rule by rule walk: it must accept
    # exactly what the rules accept, as the same Call.
    assert outcome(parse_call, member) == outcome(validate_call, member)


def test_the_quick_path_takes_every_member_name() -> None:
    member = {**VALID, "auth": "0424bd59b807674191e7d77572075f33"}
    assert set(member) == set(MEMBERS)
    assert outcome(parse_call, member) == outcome(validate_call, member)
