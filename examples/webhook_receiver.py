"""A webhook receiver that checks each delivery's signature, and a demonstration against a running rpcserver.

    rpcserver serve --demo                          # in another shell
    python examples/webhook_receiver.py [URL]       # URL defaults to http://127.0.0.1:8080

With a URL it shows the whole round trip: it listens on 127.0.0.1, registers itself with
`webhook.create` (as Admin/zabbix, with a secret), comments on a problem, checks the signed delivery
that arrives, and deletes the webhook. To keep receiving instead, run

    WEBHOOK_SECRET=... python examples/webhook_receiver.py --serve PORT

and register `http://<this host>:PORT/` with that secret. Standard library only.
"""

import hashlib
import hmac
import json
import os
import queue
import sys
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def signature_is_valid(secret: str, body: bytes, header: str) -> bool:
    """`X-Rpcserver-Signature` is "sha256=" and the hex HMAC-SHA256 of the raw body with the secret."""
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header)  # constant time: no hint to a forger


def receiver(secret: str, deliveries: queue.Queue[dict]) -> type[BaseHTTPRequestHandler]:
    seen: set[str] = set()

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if not signature_is_valid(secret, body, self.headers.get("X-Rpcserver-Signature", "")):
                self.send_response(401)  # not signed with our secret: refused (a non-2xx answer)
                self.end_headers()
                return
            # Deliveries come at least once: a repeat (same X-Rpcserver-Delivery) is answered, not applied twice.
            delivery = self.headers["X-Rpcserver-Delivery"]
            if delivery not in seen:
                seen.add(delivery)
                deliveries.put(json.loads(body))
            self.send_response(204)  # any 2xx within 10 s counts as delivered
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet: the demonstration prints what matters

    return Receiver


def call(url: str, method: str, params: object, auth: str | None = None) -> object:
    headers = {"Content-Type": "application/json"}
    if auth:
        headers["Authorization"] = f"Bearer {auth}"
    body = json.dumps({"jsonrpc": "2.0", "method": method, "params": params, "id": 1}).encode()
    with urllib.request.urlopen(urllib.request.Request(f"{url}/api_jsonrpc", body, headers)) as response:
        answer = json.load(response)
    if "error" in answer:
        raise SystemExit(f"{method} failed: {answer['error']}")
    return answer["result"]


def demonstrate(url: str) -> None:
    secret = os.urandom(16).hex()
    deliveries: queue.Queue[dict] = queue.Queue()
    server = ThreadingHTTPServer(("127.0.0.1", 0), receiver(secret, deliveries))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    session = call(url, "user.login", {"username": "Admin", "password": "zabbix"})
    hook = f"http://127.0.0.1:{server.server_address[1]}/"
    [webhookid] = call(url, "webhook.create", {"url": hook, "events": ["message"], "secret": secret}, session)["webhookids"]
    print(f"webhook {webhookid} posts to {hook}")
    try:
        [problem] = call(url, "problem.get", {"output": ["eventid", "name"], "limit": 1}, session)
        call(url, "event.acknowledge", {"eventids": problem["eventid"], "action": 4, "message": "seen by the receiver demo"},
             session)
        delivered = deliveries.get(timeout=30)  # the call was answered at once; the delivery follows
        print(f'received, signature valid: {delivered["event"]} on "{delivered["problem"]["name"]}"'
              f' by {delivered["username"]}: {delivered["message"]}')
    finally:
        call(url, "webhook.delete", [webhookid], session)
        call(url, "user.logout", [], session)
        server.shutdown()
        server.server_close()


def serve(port: int) -> None:
    deliveries: queue.Queue[dict] = queue.Queue()
    server = ThreadingHTTPServer(("0.0.0.0", port), receiver(os.environ["WEBHOOK_SECRET"], deliveries))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"receiving on port {port}")
    while True:
        print(json.dumps(deliveries.get()))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        serve(int(sys.argv[2]))
    else:
        demonstrate(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8080")
