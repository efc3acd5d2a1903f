"""Receive Earnest's webhooks: verify each one, handle each event once, keep the newest state.

    pip install standardwebhooks
    EARNEST_WEBHOOK_SECRET=whsec_... python examples/webhook_receiver.py --port 8001
    earnest webhooks add http://127.0.0.1:8001/earnest   # prints the secret, once

Earnest delivers at least once, and a delivery retried by hand may arrive after newer events
of the same outcome (docs/webhooks.md). So: verify the signature over the raw body, skip a
``webhook-id`` already handled, and let an event change what you keep only if its
``timestamp`` is not older than what you have. Here that state lives in memory; keep it in
your database, the ``webhook-id`` in a unique column, in the transaction that handles it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError


class Inbox:
    def __init__(self, secret: str) -> None:
        self.webhook = Webhook(secret)  # during a rotation, either signature verifies
        self.seen: set[str] = set()  # webhook-ids handled
        self.newest: dict[str, tuple[datetime, dict[str, Any]]] = {}  # subject -> (time, data)
        self.lock = threading.Lock()

    def receive(self, body: bytes, headers: dict[str, str]) -> int:
        """The HTTP status to answer: 2xx acknowledges (Earnest stops sending it), 4xx and
        5xx make Earnest retry. Never answer 410 by mistake: it disables the endpoint."""
        try:
            event = self.webhook.verify(body, headers)  # also refuses a timestamp 5 min off
        except (WebhookVerificationError, ValueError):
            return 400
        with self.lock:
            if headers["webhook-id"] in self.seen:
                return 200  # a retry of an event already handled
            self.seen.add(headers["webhook-id"])
            self.handle(event)
        return 204

    def handle(self, event: dict[str, Any]) -> None:
        at = datetime.fromisoformat(event["timestamp"])  # compare times, not their text
        data, subject = event["data"], subject_of(event)
        known = self.newest.get(subject)
        if known is not None and known[0] > at:
            print(f"older {event['type']} of {subject}: kept the newer state", flush=True)
            return
        self.newest[subject] = (at, data)
        print(f"{event['type']} {subject} at {event['timestamp']}", flush=True)


def subject_of(event: dict[str, Any]) -> str:
    """What the event is about: an outcome (its state), a ledger entry, a dispute, an invoice."""
    kind, data = event["type"], event["data"]
    if kind.startswith("outcome."):
        return f"outcome {data['contract']}/{data['outcome']}"
    if kind.endswith(".booked"):
        return f"{data['kind']} {data['id']}"
    return f"{kind.split('.')[0]} {data['id']}"


def serve(inbox: Inbox, host: str, port: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            status = inbox.receive(body, {k.lower(): v for k, v in self.headers.items()})
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass  # one line per event, printed by the inbox

    return ThreadingHTTPServer((host, port), Handler)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001, help="0: any free port")
    args = parser.parse_args()
    secret = os.environ.get("EARNEST_WEBHOOK_SECRET", "")
    if not secret.startswith("whsec_"):
        parser.error("set EARNEST_WEBHOOK_SECRET to the whsec_... secret `webhooks add` printed")
    server = serve(Inbox(secret), args.host, args.port)
    print(f"listening on http://{args.host}:{server.server_address[1]}/", flush=True)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C stops it
        server.serve_forever()


if __name__ == "__main__":
    main()
