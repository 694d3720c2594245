"""Ask a running rpcserver which Zabbix API version it speaks, with zabbix_utils, pyzabbix and plain JSON-RPC.

    rpcserver serve --demo            # in another shell
    python examples/version.py [URL]  # URL defaults to http://127.0.0.1:8080
"""

import json
import sys
import urllib.request

from pyzabbix import ZabbixAPI as PyZabbixAPI
from zabbix_utils import ZabbixAPI

url = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8080"

# zabbix_utils and pyzabbix append /api_jsonrpc.php to the URL they are given.
print("zabbix_utils:", ZabbixAPI(url=url).api_version())
print("pyzabbix:    ", PyZabbixAPI(server=url).api_version())

# Any JSON-RPC 2.0 client works; `params` may be left out.
request = urllib.request.Request(
    f"{url}/api_jsonrpc",
    data=json.dumps({"jsonrpc": "2.0", "method": "apiinfo.version", "id": 1}).encode(),
    headers={"Content-Type": "application/json"},
)
print("plain:       ", json.load(urllib.request.urlopen(request))["result"])
