"""Size limits on what a request may hold: JSON nesting depth, items per array, characters per string.

Pure functions of decoded JSON; transport.py applies the depth to a whole body, the dispatcher
the other two to each call's params. Paths are Zabbix's, as schemas/_base.py prints them:
`/eventids/3` (arrays counted from 1), `/` for the params themselves.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain
from typing import Any

from .errors import InvalidParams

_Entries = Iterator[tuple[Any, Any]]


def too_deep(body: bytes, value: Any, limit: int) -> bool:
    """Whether arrays and objects nest more than `limit` levels deep in `value`, decoded from `body`.

    Every array or object in `value` opened with a `[` or `{` byte of `body`, so a body with at
    most `limit` of them cannot be too deep: that count (fast, in C) spares most bodies the walk.
    """
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    level = [value] if type(value) is list or type(value) is dict else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return True
        items = chain.from_iterable([c.values() if type(c) is dict else c for c in level])
        level = [item for item in items if type(item) is list or type(item) is dict]
    return False


def depth_refusal(limit: int) -> str:
    """The `data` of the -32600 for a body nested too deep (by our limit or the JSON parser's)."""
    return f"JSON nested deeper than {limit} levels (arrays and objects inside each other); this server takes at most {limit}."


def _child(path: str, key: Any) -> str:
    return f"/{key}" if path == "/" else f"{path}/{key}"


def _entries(container: list[Any] | dict[str, Any]) -> _Entries:
    """(key as a path shows it, value) pairs: array positions count from 1."""
    return enumerate(container, 1) if isinstance(container, list) else iter(container.items())


def within_sizes(body: bytes, max_items: int, max_chars: int) -> bool:
    """Whether no call in the JSON `body` can break `check_sizes`, whatever it holds: then the walk is
    skipped (nearly every request is a few hundred bytes).

    A decoded string or key has no more characters than its encoding has bytes, an array of n items
    takes at least 2n + 1 bytes, and U+0000 can only be written as the escape \\u0000 (JSON takes no
    raw control character, and only a lower-case u).
    """
    return len(body) <= max_items and len(body) <= max_chars and b"\\u0000" not in body


def check_sizes(params: list[Any] | dict[str, Any], max_items: int, max_chars: int) -> None:
    """Refuse params with an array of more than `max_items` items, a string or an object key of
    more than `max_chars` characters, or a string holding U+0000. The first one found is named: depth first in the order
    sent, an object's keys before its values (Zabbix also looks at the keys first).

    Objects are not counted: their keys are parameter names, which the schemas check one by one.
    Fields narrower than `max_chars` (Zabbix's column widths) are the schemas' to check: this is
    the ceiling for every string, so that none of any length reaches a handler or an error text.

    Raises:
        InvalidParams: e.g. `Invalid parameter "/eventids": too many values (at most 100000); send them in parts.`
    """
    _check_container("/", params, max_items, max_chars)
    # A loop with an explicit stack, not recursion (any depth the parser took is fine); a `for`
    # resumes its iterator where it broke off to go down into a child.
    stack: list[tuple[str, _Entries]] = []
    path, entries = "/", _entries(params)
    while True:
        for key, item in entries:
            kind = type(item)
            if kind is str:
                if len(item) > max_chars:
                    raise InvalidParams(f'Invalid parameter "{_child(path, key)}": value is too long (at most {max_chars} characters).')
                if "\x00" in item:
                    # PostgreSQL cannot hold it in text and SQLite can: refused on both, so both stores answer alike.
                    raise InvalidParams(f'Invalid parameter "{_child(path, key)}": the character U+0000 (NUL) is not allowed in text.')
            elif kind is list or kind is dict:
                stack.append((path, entries))
                path = _child(path, key)
                _check_container(path, item, max_items, max_chars)
                entries = _entries(item)
                break
        else:
            if not stack:
                return
            path, entries = stack.pop()


def _check_container(path: str, container: list[Any] | dict[str, Any], max_items: int, max_chars: int) -> None:
    if type(container) is list:
        if len(container) > max_items:
            raise InvalidParams(f'Invalid parameter "{path}": too many values (at most {max_items}); send them in parts.')
    elif max(map(len, container), default=0) > max_chars:
        # The key itself is not shown: it is the thing too long to echo.
        raise InvalidParams(f'Invalid parameter "{path}": a parameter name is too long (at most {max_chars} characters).')

