"""rpc.discover: a valid OpenRPC 1.3 document that describes every method the server has, served
open through the endpoint, and the reference in docs/ generated from it and current."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Any

import orjson
import pytest
from jsonschema import Draft7Validator
from referencing import Registry
from referencing.jsonschema import DRAFT7

from methods import METHODS
from methods.rpc import document
from rpcserver.dispatch import ByName
from rpcserver.reference import markdown, method_tables

from . import openrpc_conformance
from .conftest import ADMIN_PASSWORD, error_of, post, request, result_of
from .npm_packages import npm_package

OPENRPC_META_SCHEMA = (
    "@open-rpc/meta-schema@1.14.9",
    "2/CbDzOVpcaSnMs28TsRv8MKJwJi0TTYFlQ6q6qobAH26oIuhYgcZooKf4l71emgntU6MMcFQCA0h4mJ4dBCdA==",
)
JSON_SCHEMA_META_SCHEMA = (
    "@json-schema-tools/meta-schema@1.8.0",
    "pbRAbHidPTf96LhmHXA6bl4D4tz4HrwjZ7A5ConcLFPdCj+93GhsCCFsq+AWti4VOs+9QTezX5l0zLNA+TZv1g==",
)
"""The OpenRPC project's meta-schema and the JSON Schema meta-schema it refers to, as published on npm
(pinned releases, with their sha512 integrity hashes)."""

DOCS = Path(__file__).parent.parent / "docs"
README = Path(__file__).parent.parent / "README.md"
REGENERATE = "regenerate with: rpcserver reference > docs/api.md && rpcserver reference --openrpc > docs/openrpc.json"


def _member(archive: tarfile.TarFile, name: str) -> str:
    member = archive.extractfile(name)
    assert member is not None, name
    return member.read().decode()


def openrpc_validator() -> Draft7Validator:
    """A validator of OpenRPC documents. The OpenRPC package ships its meta-schema as a JavaScript
    module whose one export is the JSON document."""
    with npm_package(*OPENRPC_META_SCHEMA) as archive:
        source = _member(archive, "package/index.js")
    start = source.index("exports.openrpcDocument = {") + len("exports.openrpcDocument = ")
    meta_schema = json.loads(source[start: source.rindex("};") + 1])
    with npm_package(*JSON_SCHEMA_META_SCHEMA) as archive:
        dialect = json.loads(_member(archive, "package/schema.json"))
    # The OpenRPC meta-schema refers to the dialect by its $id, with and without the final "/".
    resource = DRAFT7.create_resource(dialect)
    registry = Registry().with_resources([(dialect["$id"], resource), (dialect["$id"].rstrip("/"), resource)])
    return Draft7Validator(meta_schema, registry=registry)


def test_the_document_is_valid_openrpc() -> None:
    errors = [f"{error.json_path}: {error.message[:200]}" for error in openrpc_validator().iter_errors(document())]
    assert not errors, "\n".join(errors[:10])


def test_the_meta_schema_refuses_what_openrpc_does_not_allow() -> None:
    broken = json.loads(json.dumps(document()))
    del broken["methods"][0]["params"]
    broken["methods"][1]["paramStructure"] = "by-anything"
    broken["methods"][2]["result"]["schema"] = {"type": 5}
    assert {tuple(error.path)[:2] for error in openrpc_validator().iter_errors(broken)} == {
        ("methods", 0), ("methods", 1), ("methods", 2)}


def test_every_schema_in_the_document_is_valid_json_schema() -> None:
    for method in document()["methods"]:
        for described in [*method["params"], method["result"]]:
            Draft7Validator.check_schema(described["schema"])


def test_every_method_is_described_once() -> None:
    described = {method["name"]: method for method in document()["methods"]}
    assert len(described) == len(document()["methods"])
    assert sorted(name.lower() for name in described) == sorted(name.lower() for name in METHODS)
    for name, method in described.items():
        assert 0 < len(method["summary"]) <= 100, name  # one line in a table
        assert method["summary"] == method["summary"].strip(), name
        assert method["tags"][0]["name"] in ("zabbix", "incident", "acknowledgement", "discovery"), name
    assert described["user.checkAuthentication"]["x-credentials"] == "none"
    assert described["event.acknowledge"]["x-credentials"] == "required"


async def test_rpc_discover_is_open_and_answers_the_document(rpc: Any, admin: str) -> None:
    assert result_of(await rpc("rpc.discover")) == orjson.loads(orjson.dumps(document()))
    assert result_of(await rpc("RPC.Discover", [])) == result_of(await rpc("rpc.discover"))
    refused = await rpc("rpc.discover", headers={"Authorization": f"Bearer {admin}"})
    assert error_of(refused)[0] == -32602  # an open method refuses credentials, as apiinfo.version does
    assert error_of(await rpc("rpc.discover", {"x": 1})) == (-32602, "Invalid params.", 'Invalid parameter "/": should be empty.')


async def test_described_params_are_exactly_those_the_methods_take(rpc: Any, admin: str) -> None:
    """Zabbix's checks name an unknown parameter before anything else: every described name must
    pass that check and a name the document does not give must fail it."""
    headers = {"Authorization": f"Bearer {admin}"}
    for name, method in METHODS.items():
        if not isinstance(method.params, ByName):
            continue
        credentials = {} if method.open else {"headers": headers}
        refused = await rpc(name, {"not_a_param": 1}, **credentials)
        where = "/1" if method.params.many else "/"  # one object stands for an array of one: Zabbix names it
        assert error_of(refused)[2] == f'Invalid parameter "{where}": unexpected parameter "not_a_param".', name
        for param in method.params.schema().fields.values():
            key = param.data_key or param.name
            answer = await rpc(name, {key: None}, **credentials)
            if "error" in answer:
                assert "unexpected parameter" not in str(answer["error"]["data"]), (name, key)


def test_the_reference_in_docs_is_current() -> None:
    assert (DOCS / "api.md").read_text() == markdown(document()), REGENERATE
    assert json.loads((DOCS / "openrpc.json").read_text()) == orjson.loads(orjson.dumps(document())), REGENERATE


def test_the_readme_lists_every_method_as_the_document_does() -> None:
    readme = README.read_text()
    start = readme.index("-->\n", readme.index("<!-- methods:")) + len("-->\n")
    listed = readme[start: readme.index("<!-- end of methods -->")]
    assert listed == method_tables(document()), "put the output of `rpcserver reference --methods` in README.md's Methods"


WITHOUT_EXAMPLE = {
    "user.checkAuthentication": "needs the session id or token of its reader",
    "token.generate": "needs a token that token.create made",
    "token.delete": "needs a token that token.create made",
    "acknowledgement.update": "needs an acknowledgement that acknowledgement.create made",
    "acknowledgement.delete": "always refused",
    "webhook.update": "needs a webhook that webhook.create made",
    "webhook.delete": "needs a webhook that webhook.create made",
}


EMPTY_ON_A_NEW_DEMO = {"token.get", "acknowledgement.get", "webhook.get"}
"""The demo has no tokens, acknowledgements or webhooks yet: their examples rightly find nothing."""


def test_every_method_has_an_example_or_a_reason() -> None:
    assert {name for name, method in METHODS.items() if method.example is None} == set(WITHOUT_EXAMPLE)


@pytest.mark.parametrize("name", sorted(name for name, method in METHODS.items() if method.example is not None))
async def test_the_example_works_on_a_new_demo(make_client: Any, name: str) -> None:
    """As docs/api.md shows it: on a new `rpcserver serve --demo`, as Admin unless the method is open."""
    client = await make_client(demo=True)
    method = METHODS[name]
    headers = {}
    if not method.open:
        login = await post(client, request("user.login", {"username": "Admin", "password": ADMIN_PASSWORD}))
        headers = {"Authorization": f"Bearer {result_of(orjson.loads(await login.read()))}"}
    answer = orjson.loads(await (await post(client, request(name, method.example), headers=headers)).read())
    assert "result" in answer, answer
    openrpc_conformance.check(name, method.example, answer)
    if name.endswith(".get") and name not in EMPTY_ON_A_NEW_DEMO:
        assert answer["result"], f"{name}'s example finds nothing on the demo data"
