"""The API reference in Markdown, written from the OpenRPC document rpc.discover returns.

`rpcserver reference > docs/api.md` regenerates docs/api.md; a test fails when the file is stale.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

MAX_INT32 = 2**31 - 1
"""Integers bounded only by Zabbix's 32-bit columns read as plain `integer`."""
MAX_DEPTH = 3
"""Nested objects are listed this many levels deep; deeper ones are shown as `object`."""


def type_of(schema: dict[str, Any]) -> str:
    """A JSON Schema as a short phrase: `id`, `string (≤ 255 characters)`, `0, 1 or 2`, `array of id`, ..."""
    if "title" in schema:
        return schema["title"]
    if "anyOf" in schema:
        return _alternatives(schema["anyOf"])
    if "enum" in schema:
        values = [f'"{value}"' if isinstance(value, str) else str(value) for value in schema["enum"]]
        return values[0] if len(values) == 1 else f"{', '.join(values[:-1])} or {values[-1]}"
    kind = schema.get("type")
    if isinstance(kind, list):
        return " or ".join(kind)
    if kind == "array":
        return f"array of {type_of(schema.get('items', {}))}"
    if kind == "string":
        return "string" + _string_limits(schema)
    if kind == "integer" and "minimum" in schema and "maximum" in schema and schema["maximum"] < MAX_INT32:
        return f"integer {schema['minimum']}-{schema['maximum']}"
    if kind == "object" and not schema.get("properties") and isinstance(schema.get("additionalProperties"), dict):
        values = schema["additionalProperties"]
        return f"object of {type_of(values)}" if values else "object"
    return kind or "any"


def _string_limits(schema: dict[str, Any]) -> str:
    limits = []
    if schema.get("minLength"):
        limits.append("not empty")
    if "maxLength" in schema:
        limits.append(f"≤ {schema['maxLength']} characters")
    if "pattern" in schema:
        limits.append(f"matching `{schema['pattern']}`")
    return f" ({', '.join(limits)})" if limits else ""


def _alternatives(options: list[dict[str, Any]]) -> str:
    """`anyOf` as a phrase. Zabbix's numbers also come as strings of digits: an integer and a string of
    digits read as the integer alone; one value or an array of them as `X, or an array of them`."""
    kinds = [option.get("type") for option in options]
    if kinds == ["integer", "string"] and "pattern" in options[1]:
        return type_of(options[0])
    if len(options) == 2 and options[1].get("type") == "array" and options[1].get("items") == options[0]:
        return f"{type_of(options[0])}, or an array of them"
    shown = [type_of(option) for option in options if option.get("type") != "null"]
    nullable = len(shown) < len(options)
    phrase = " or ".join(dict.fromkeys(shown))
    return f"{phrase} or null" if nullable else phrase


def _properties(schema: dict[str, Any]) -> dict[str, Any] | None:
    """The named fields of an object schema, also inside `array of` and `X or null`."""
    if schema.get("properties"):
        return schema
    if schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        return _properties(schema["items"])
    for option in schema.get("anyOf", ()):
        found = _properties(option)
        if found:
            return found
    return None


def _field_rows(schema: dict[str, Any], glossary: dict[str, str], prefix: str = "", depth: int = 1) -> list[str]:
    """Table rows of an object's fields, nested objects' fields as `parent.child`."""
    rows = []
    required = set(schema.get("required", ()))
    for name, field in schema["properties"].items():
        path = f"{prefix}{name}"
        rows.append(_row(path, field, name in required, glossary))
        nested = _properties(field)
        if nested and depth < MAX_DEPTH:
            rows.extend(_field_rows(nested, glossary, f"{path}.", depth + 1))
    return rows


def _row(name: str, schema: dict[str, Any], required: bool, glossary: dict[str, str]) -> str:
    default = f"`{_json(schema['default'])}`" if "default" in schema else ""
    description = schema.get("description", "")
    if description == glossary.get(schema.get("title", "")):
        description = ""  # the type's own meaning, in the list of types: not repeated on every row
    cells = [f"`{name}`", _escape(type_of(schema)), "yes" if required else "", default, _escape(description)]
    return "| " + " | ".join(cells) + " |"


def _json(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


FIELD_HEADER = ["| name | type | required | default | description |", "|---|---|---|---|---|"]


def _params(method: dict[str, Any], glossary: dict[str, str]) -> list[str]:
    params = method["params"]
    if not params:
        return ["Params: none (`{}`, `[]` or left out)."]
    if method["paramStructure"] == "by-position":
        only = params[0]
        return [f"Params: an array of {only['name']}s ({type_of(only['schema'])}), e.g. `[\"1\", \"2\"]`."]
    lines = ["Params: an object" + (", or an array of such objects." if "x-params-array" in method else "."), ""]
    lines += FIELD_HEADER
    for param in params:
        lines.append(_row(param["name"], param["schema"], bool(param.get("required")), glossary))
        nested = _properties(param["schema"])
        if nested:
            lines.extend(_field_rows(nested, glossary, f"{param['name']}.", 2))
    return lines


def _result(method: dict[str, Any], glossary: dict[str, str]) -> list[str]:
    schema = method["result"]["schema"]
    described = f" {schema['description']}" if "description" in schema else ""
    lines = [f"Result: {_escape(type_of(schema))}.{described}"]
    fields = _properties(schema)
    if fields:
        lines += ["", *FIELD_HEADER, *_field_rows(fields, glossary)]
    return lines


def _method(method: dict[str, Any], glossary: dict[str, str]) -> list[str]:
    credentials = "none (refuses any)" if method.get("x-credentials") == "none" else "required"
    lines = [f"### {method['name']}", "", method["summary"], ""]
    if "description" in method:
        lines += [method["description"], ""]
    lines += [f"Credentials: {credentials}.", ""]
    lines += _params(method, glossary) + [""] + _result(method, glossary) + [""] + _example(method)
    return lines


def _example(method: dict[str, Any]) -> list[str]:
    """The method's example as the whole request to send, ready to copy."""
    if "examples" not in method:
        return []
    values = method["examples"][0]["params"]
    by_name = method["paramStructure"] != "by-position"
    params = {value["name"]: value["value"] for value in values} if by_name else [value["value"] for value in values]
    body = {"jsonrpc": "2.0", "method": method["name"], "params": params, "id": 1}
    credential = "" if method.get("x-credentials") == "none" else ", with `Authorization: Bearer <Admin's session id>`"
    return [f"Example, on a new `rpcserver serve --demo`{credential}:", "", "```json", _compact(body), "```", ""]


def _compact(body: dict[str, Any]) -> str:
    """The request on one line, or one member a line when that is too long to read."""
    line = json.dumps(body, ensure_ascii=False)
    if len(line) <= 110:
        return line
    members = [f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}" for key, value in body.items()]
    return "{\n" + ",\n".join(members) + "\n}"


def _named_types(document: dict[str, Any]) -> dict[str, str]:
    """Every titled schema (`id`, `timestamp`, ...) with its meaning: the reference's list of types.
    A field may describe itself in place of its type's meaning; the type's is the one most often seen."""
    seen: dict[str, Counter[str]] = {}

    def visit(value: Any) -> None:
        if isinstance(value, dict):
            if isinstance(value.get("title"), str) and "description" in value:
                seen.setdefault(value["title"], Counter())[value["description"]] += 1
            for item in value.values():
                visit(item)
        elif isinstance(value, list):
            for item in value:
                visit(item)

    visit(document["methods"])
    return {title: meanings.most_common(1)[0][0] for title, meanings in seen.items()}


def markdown(document: dict[str, Any]) -> str:
    """The whole reference: the contents by family, then every method."""
    lines = [
        "# API reference",
        "",
        f"Generated from the OpenRPC {document['openrpc']} document that `rpc.discover` returns (rpcserver "
        f"{document['info']['version']}); regenerate with `rpcserver reference > docs/api.md`.",
        "",
        document["info"]["description"],
        "",
        "Errors: every error has `code`, `message` and `data`; `data` says what went wrong.",
        "",
        "| code | message | when |",
        "|---|---|---|",
    ]
    for error in document["components"]["errors"].values():
        lines.append(f"| {error['code']} | {error['message']} | {_escape(error['data'])} |")
    glossary = _named_types(document)
    lines += ["", "Types used below:", "", "| type | what it is |", "|---|---|"]
    for title, meaning in sorted(glossary.items()):
        lines.append(f"| {title} | {_escape(meaning)} |")
    lines.append("")
    for family, methods in _families(document).items():
        lines += [f"## The {family.capitalize()} family", "", *_table(methods, link="")]
        for method in methods:
            lines += _method(method, glossary)
    return "\n".join(lines).rstrip("\n") + "\n"


def method_tables(document: dict[str, Any], link: str = "docs/api.md") -> str:
    """Every method by family with its summary, each linked to its entry in the reference (README.md)."""
    lines = []
    for family, methods in _families(document).items():
        lines += [f"**The {family.capitalize()} family**", "", *_table(methods, link)]
    return "\n".join(lines).rstrip("\n") + "\n"


def _families(document: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    families: dict[str, list[dict[str, Any]]] = {}
    for method in document["methods"]:
        families.setdefault(method["tags"][0]["name"], []).append(method)
    return families


def _table(methods: list[dict[str, Any]], link: str) -> list[str]:
    rows = [f"| [`{m['name']}`]({link}#{_anchor(m['name'])}) | {_escape(m['summary'])} |" for m in methods]
    return ["| method | what it does |", "|---|---|", *rows, ""]


def _anchor(name: str) -> str:
    """GitHub's heading anchor: lower case, dots and other punctuation dropped."""
    return "".join(ch for ch in name.lower() if ch.isalnum() or ch in "-_ ").replace(" ", "-")
