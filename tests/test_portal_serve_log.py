"""A real ``earnest serve``: a portal link made by ``earnest portal-link`` opens its pages,
and nothing the server writes (its log on stderr, its banner on stdout) ever holds the
token, whatever was asked: pages, a 404 under the link, a refused and an accepted dispute,
a revoked link."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import httpx

from earnest.app import Earnest
from earnest.contract import load_contract
from earnest.engine import Scheduled
from earnest.service.activity import CLI
from earnest.store import connect

CONTRACT = """
key: ticket_resolved
conditions: resolved
price: $0.99
active_for: 48h
review_window: 24h
"""


def _earnest(*args: str) -> list[str]:
    return [sys.executable, "-m", "earnest.cli", *args]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _fill(database: str) -> None:
    app = Earnest(connect(database))
    app.db.migrate()
    app.contracts.save(load_contract(CONTRACT), actor=CLI)
    app.signals.batch(
        [{"contract": "ticket_resolved", "outcome": "T/1", "customer": "acme",
          "signal": "resolved"}]
    )  # fmt: skip
    app.outcomes.settle("ticket_resolved", "T/1", Scheduled.CONFIRM, "done", actor=CLI)
    app.close()


def test_the_token_is_never_in_the_servers_output(tmp_path: Path) -> None:
    database = str(tmp_path / "earnest.db")
    _fill(database)
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    settings = _earnest("--database", database, "settings", "set", "public_base_url", base_url)
    subprocess.run(settings, check=True, capture_output=True)
    made = subprocess.run(
        _earnest("--database", database, "portal-link", "acme"),
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    url = made.stdout.strip().splitlines()[-1]
    token = url.rsplit("/", 1)[1]
    assert url == f"{base_url}/portal/{token}"
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    with out.open("w") as stdout, err.open("w") as stderr:
        server = subprocess.Popen(
            _earnest("--database", database, "serve", "--port", str(port)),
            stdout=stdout, stderr=stderr,
        )  # fmt: skip
        try:
            _exercise(base_url, url, token, database)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
    written = out.read_text() + err.read_text()
    assert "earnest serve" in written  # the banner: the output was captured
    assert token not in written
    assert not re.search(r"/portal/[A-Za-z0-9_-]{8}", written)


def _exercise(base_url: str, url: str, token: str, database: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{base_url}/healthz").status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "serve did not start"
        time.sleep(0.05)
    home = httpx.get(url)
    assert home.status_code == 200
    assert home.headers["referrer-policy"] == "no-referrer"
    evidence = f"{url}/outcomes/ticket_resolved/{quote('T/1', safe='')}"
    page = httpx.get(evidence)
    assert page.status_code == 200
    assert httpx.get(f"{url}/nothing/here").status_code == 404
    assert httpx.get(f"{url}/invoices/inv_x").status_code == 404
    refused = httpx.post(f"{evidence}/dispute", data={"reason": "r", "csrf_token": "forged"})
    assert refused.status_code == 403
    form = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert form is not None
    accepted = httpx.post(f"{evidence}/dispute", data={"reason": "r", "csrf_token": form[1]})
    assert accepted.status_code == 303
    app = Earnest(connect(database))
    [link] = app.portal.list("acme", limit=5).items
    app.portal.revoke("acme", link.id, actor=CLI)
    app.close()
    assert httpx.get(url).status_code == 404
