"""The real server: uvicorn with uvloop and httptools, on a free port, under ``run_process``,
stopped by its event."""

from __future__ import annotations

import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from urllib.parse import quote

import httpx

from earnest.api.server import serve_http
from earnest.app import Earnest
from earnest.service.process import HttpServer, run_process
from earnest.store import Database
from tests.api.conftest import make_keys
from tests.contracts import LANDING


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def declare_huge_body(port: int, key: str) -> tuple[bytes, bytes]:
    """Declare 17 MiB and send none of it: the answer must come from the header alone."""
    request = (
        "POST /v1/signals/batch HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Bearer {key}\r\nContent-Length: {17 * 1024 * 1024}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(request.encode())
        answer = b""
        while b"body_too_large" not in answer:
            chunk = conn.recv(65536)
            if not chunk:
                break
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return head, body


def test_serve_http_until_stopped(sqlite_db: Database) -> None:
    keys = make_keys(sqlite_db)
    port = free_port()
    stop = threading.Event()
    # The way ``earnest serve`` runs it: the scheduler in a thread, HTTP until ``stop``.
    app = Earnest(sqlite_db)
    http: HttpServer = partial(serve_http, app, "127.0.0.1", port)
    thread = threading.Thread(
        target=run_process, args=(app.scheduler(), http), kwargs={"stop": stop}
    )
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.05)
        admin = {"Authorization": f"Bearer {keys['admin']}"}
        with httpx.Client(base_url=base, headers=admin) as client:
            put = client.put(
                "/v1/contracts/landing",
                content=LANDING,
                headers={"Content-Type": "application/yaml"},
            )
            assert put.status_code == 201
            ref = "acme/api#1234"
            sent = client.post(
                "/v1/signals",
                json={"contract": "landing", "outcome": ref, "customer": "acme",
                      "signal": "score", "value": 4},
            )  # fmt: skip
            assert sent.status_code == 200
            # A real server decodes %2F in scope["path"]: the reference must survive that.
            one = client.get(f"/v1/outcomes/landing/{quote(ref, safe='')}")
            assert one.status_code == 200
            assert one.json()["outcome"] == ref
            assert one.json()["values"] == {"score": 4}
            history = client.get(f"/v1/outcomes/landing/{quote(ref, safe='')}/history")
            assert [e["kind"] for e in history.json()["entries"]][:2] == ["opened", "signal"]
            burst = [
                {"contract": "landing", "outcome": f"c{n}", "customer": "acme", "signal": "s"}
                for n in range(40)
            ]
            with ThreadPoolExecutor(max_workers=16) as pool:
                answers = list(pool.map(lambda b: client.post("/v1/signals", json=b), burst))
            assert [a.status_code for a in answers] == [200] * 40
            listed = client.get("/v1/outcomes?limit=1000").json()["items"]
            assert len(listed) == 41
            status, body = declare_huge_body(port, keys["ingest"])
            assert status.startswith(b"HTTP/1.1 413")
            assert b'"code":"body_too_large"' in body
        assert httpx.get(f"{base}/v1/contracts").status_code == 401
    finally:
        stop.set()
        thread.join(timeout=15)
    assert not thread.is_alive()
