"""Hypothesis strategies for hostile JSON: every type, odd text, huge numbers, deep nesting, and
params built from the parameter names a method accepts (so they reach its schema's fields
instead of stopping at the first unknown key)."""

from __future__ import annotations

import asyncio
import importlib
import json
import pkgutil
import time
from functools import cache
from typing import Any

from hypothesis import strategies as st
from marshmallow import Schema

import schemas
from methods import METHODS
from rpcserver.caller import SUPER_ADMIN, Caller, RoleRules
from rpcserver.config import Config
from rpcserver.context import Context
from rpcserver.errors import InvalidParams

ODD_TEXT = (
    "", " ", "\x00", "a\x00b", "\t\n\r", "\u202eevil", "e\u0301", "\U0001f600", "\ufeff", "\uffff", "\U0010ffff",
    "\u0663\u0664",  # Arabic-Indic digits: str.isdigit() says yes, an id parser must say no
    "１２", "-0", "+1", "1e3", "0x10", " 1", "1 ", "null", "true", "[]", "{}",
    "' OR 1=1 --", "1; DROP TABLE users", "%", "_", "*", "\\", '"', "!", "extend", "count", "ASC", "DESC",
    "x" * 256, "x" * 2049, "x" * 70_000, "9" * 20, "9" * 4300,
)
"""Strings that break careless code. Digit strings stop at 4300 digits, Python's int() limit:
longer ones are a known bug with a test of its own (test_fuzz.test_a_number_too_long_to_convert)."""

BIG_NUMBERS = (2**31 - 1, 2**31, -(2**31) - 1, 2**63 - 1, 2**63, 2**64 - 1, 2**64, 10**30, -(10**30), 1e308, -1e-308, 0.5)

DEEP = 900
"""Nesting for the deep values: deep, yet inside the fuzzed server's depth limit (1000, the most it can be set to)."""
DEEP_JSON = {
    # Markers stand for the deep values while hypothesis builds and shrinks (Python's own JSON
    # encoder would hit its recursion limit); `to_json` puts the deep text in their place.
    "\x00deep list\x00": "[" * DEEP + '"bottom"' + "]" * DEEP,
    "\x00deep object\x00": '{"a":' * DEEP + "1" + "}" * DEEP,
}


def _declared_keys(schema: type[Schema], into: set[str], seen: set[type]) -> None:
    if schema in seen:
        return
    seen.add(schema)
    for name, declared in schema._declared_fields.items():
        into.add(declared.data_key or name)
        for candidate in (declared, getattr(declared, "inner", None)):
            nested = getattr(candidate, "nested", None)
            if isinstance(nested, Schema):
                nested = type(nested)
            if isinstance(nested, type) and issubclass(nested, Schema):
                _declared_keys(nested, into, seen)


@cache
def family_keys(family: str) -> tuple[str, ...]:
    """Every parameter name (nested ones too) declared in `schemas/<family>.py` and the shared
    get params: what `family.*` methods may accept."""
    keys: set[str] = set()
    modules = [importlib.import_module("schemas._get")]
    if family in {info.name for info in pkgutil.iter_modules(schemas.__path__)}:
        modules.append(importlib.import_module(f"schemas.{family}"))
    for module in modules:
        for value in vars(module).values():
            if isinstance(value, Schema):
                value = type(value)
            if isinstance(value, type) and issubclass(value, Schema):
                _declared_keys(value, keys, set())
    keys |= {"output", "filter", "search", "sortfield", "sortorder", "limit", "countOutput", "preservekeys"}
    return tuple(sorted(keys))


class _NoStorage:
    """Where a probed handler would read or write: it stops the handler there."""

    async def read(self, *args: Any) -> Any:
        raise _Reached

    async def write(self, *args: Any) -> Any:
        raise _Reached


class _Reached(Exception):
    pass


async def _accepts(method: str, key: str) -> bool:
    """Whether `method` takes a parameter `key`: its schema does not call it unexpected."""
    caller = Caller(userid=1, username="probe", type=SUPER_ADMIN, roleid=3, rules=RoleRules())
    ctx = Context(caller, _NoStorage(), time.time, Config(password_cost=4), "probe", 0)  # type: ignore[arg-type]
    try:
        await METHODS[method].handler(ctx, {key: {"\x00probe": None}})
    except InvalidParams as exc:
        return f'unexpected parameter "{key}"' not in str(exc.data)
    except Exception:  # passed the schema (or one that checks elsewhere): count the key as known
        return True
    return True


@cache
def method_keys(method: str) -> tuple[str, ...]:
    """The top-level parameter names `method` accepts, found by asking its handler about each
    name its family declares; all the family's names if it accepts none."""
    family = family_keys(method.split(".")[0])

    async def probe() -> tuple[str, ...]:
        return tuple([key for key in family if await _accepts(method, key)])

    return asyncio.run(probe()) or family


def to_json(value: Any) -> bytes:
    """JSON as any client may send it: non-ASCII as UTF-8, integers of any size, deep values."""
    text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    for marker, deep in DEEP_JSON.items():
        text = text.replace(json.dumps(marker), deep)
    return text.encode()


def atoms(keys: tuple[str, ...]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-2, max_value=12),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.sampled_from(BIG_NUMBERS),
        st.floats(allow_nan=False, allow_infinity=False),
        st.integers(min_value=0, max_value=12).map(str),
        st.text(max_size=20),
        st.sampled_from(ODD_TEXT),
        st.sampled_from(keys),
    )


def json_values(keys: tuple[str, ...] = ()) -> st.SearchStrategy[Any]:
    """Any JSON value; object keys are often names the method knows."""
    names = st.sampled_from(keys) | st.text(max_size=8) if keys else st.text(max_size=8)
    return st.recursive(
        atoms(keys or ("x",)),
        lambda children: st.lists(children, max_size=4) | st.dictionaries(names, children, max_size=4),
        max_leaves=10,
    ) | st.sampled_from(tuple(DEEP_JSON))


def params_for(method: str) -> st.SearchStrategy[Any]:
    """A method's params: mostly objects of the names it accepts, sometimes of its family's
    names (nested objects take those), sometimes anything."""
    family = family_keys(method.split(".")[0])
    accepted = method_keys(method)
    values = json_values(family)
    known_only = st.dictionaries(st.sampled_from(accepted), values, max_size=5)
    mixed = st.dictionaries(st.sampled_from(family) | st.text(max_size=10), values, max_size=5)
    return st.one_of(known_only, known_only, known_only, mixed, st.lists(known_only, max_size=3), values)
