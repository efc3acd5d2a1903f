"""A real webhook receiver for the tests: an HTTP server on loopback that answers as told and
records every request, checking its signature with the ``standardwebhooks`` package (the
independent implementation of the Standard Webhooks specification)."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    verified: bool | None  # None: not checked (no secret given)
    status: int

    @property
    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass
class Receiver:
    """``answers``: what to answer next, in order (an HTTP status, or ``"hang"`` to answer
    nothing for ``hang_s``); when empty, 200."""

    secrets: list[str] = field(default_factory=list)
    answers: deque[int | str] = field(default_factory=deque)
    hang_s: float = 2.0
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                verified = receiver.verify(body, headers)
                with receiver.lock:
                    answer = receiver.answers.popleft() if receiver.answers else 200
                if answer == "hang":
                    time.sleep(receiver.hang_s)
                    status = 200
                else:
                    assert isinstance(answer, int)
                    status = answer
                with receiver.lock:
                    receiver.received.append(Received(headers, body, verified, status))
                try:
                    self.send_response(status)
                    self.send_header("content-length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass  # the sender gave up (a timeout)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def verify(self, body: bytes, headers: dict[str, str]) -> bool | None:
        if not self.secrets:
            return None
        for secret in self.secrets:
            try:
                Webhook(secret).verify(body, headers)
            except WebhookVerificationError:
                continue
            return True
        return False

    def wait_for(self, count: int, timeout_s: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.01)
        with self.lock:
            raise AssertionError(f"received {len(self.received)} requests, not {count}")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
