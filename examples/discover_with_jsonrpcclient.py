"""List every method the server offers, by family, with rpc.discover and jsonrpcclient, against `rpcserver serve --demo`.

    python examples/discover_with_jsonrpcclient.py [URL]      # URL defaults to http://127.0.0.1:8080

rpc.discover answers an OpenRPC 1.3 document and needs no credentials (it refuses any). Each method
carries its family as a tag (zabbix, incident, acknowledgement, discovery), a one-line summary, its
params and result as JSON Schema, and `x-credentials`: "none" for the methods callable without logging in.
"""

import sys

import requests
from jsonrpcclient import Error, Ok, parse, request

endpoint = (sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8080") + "/api_jsonrpc"

reply = requests.post(endpoint, json=request("rpc.discover"), timeout=10)
reply.raise_for_status()  # JSON-RPC errors come with HTTP 200; anything else is a transport failure
match parse(reply.json()):
    case Ok(document, _):
        pass
    case Error(code, message, data, _):
        sys.exit(f"rpc.discover failed: {code} {message} {data}")

print(f"{document['info']['title']} {document['info']['version']}, OpenRPC {document['openrpc']}")
by_family: dict[str, list[dict]] = {}
for method in document["methods"]:
    for tag in method["tags"]:
        by_family.setdefault(tag["name"], []).append(method)

for family, methods in by_family.items():
    print(f"\n{family} ({len(methods)})")
    for method in methods:
        open_mark = "  [no credentials]" if method["x-credentials"] == "none" else ""
        print(f"  {method['name']:<28} {method['summary']}{open_mark}")
