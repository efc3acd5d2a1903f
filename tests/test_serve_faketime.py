"""End to end across a period's end: the real ``earnest serve`` under a shifted system clock.

Debian's ``faketime`` (its libfaketime, preloaded with ``FAKETIME="@2026-11-30 23:59:53"``, as
``faketime -f`` does) starts the server's clock at 2026-11-30 23:59:53 UTC, seven seconds before
acme's November period ends (``FAKETIME_DONT_FAKE_MONOTONIC=1``: only the wall clock moves,
so timeouts and the event loop run on real time). With ``invoice_grace`` at 1s, a charge
settled by its window before the end must be on an invoice that ``serve`` itself finalizes,
numbered EARN-000001, at 2026-12-01 00:00:01, and a charge after the end on December's draft,
all seen over HTTP with an admin key made by ``earnest keys create``.

Without ``faketime`` the test is skipped, except under ``CI=true``, where it fails (``.ci/run``
installs it). libfaketime 0.9.10 breaks Python 3.11's ``time.sleep`` when the monotonic clock
is not faked (wolfcw/libfaketime#426: ``clock_nanosleep`` with ``TIMER_ABSTIME`` gets EINVAL);
the server never calls it, and nothing here runs under faketime but the server and the CLI.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

START = "2026-11-30 23:59:53"  # UTC: seven seconds before acme's period ends
WAIT_S = 30.0  # the most the finalization may take in real time (it is due ~8 s in)
CONTRACT = """
active_for: 1h
review_window: 1s
price: $5
conditions: done
on_timeout: cancel
"""


def libfaketime() -> str:
    """The library Debian's ``faketime`` preloads (the package's install check: the command)."""
    if shutil.which("faketime") is not None:
        for pattern in (
            "/usr/lib/*/faketime/libfaketime.so.1",
            "/usr/lib/faketime/libfaketime.so.1",
        ):
            found = sorted(glob.glob(pattern))
            if found:
                return found[0]
    message = "faketime is not installed (apt-get install faketime)"
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def faked(*args: str) -> list[str]:
    return [sys.executable, "-m", "earnest.cli", *args]


def fake_env() -> dict[str, str]:
    """What ``faketime -f "@START"`` sets, preloaded straight into the server, so that it is
    this test's child: stopped by its own SIGTERM (the ``faketime`` command would die of it
    and leave the server running)."""
    return {
        **os.environ, "TZ": "UTC", "LD_PRELOAD": libfaketime(), "FAKETIME": f"@{START}",
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
    }  # fmt: skip


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cli(database: Path, *args: str) -> str:
    done = subprocess.run(
        faked("--database", str(database), *args),
        env=fake_env(), capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """``earnest serve`` under faketime: (base URL, admin key)."""
    database = tmp_path / "earnest.db"
    key = cli(database, "keys", "create", "--scope", "admin").strip().splitlines()[-1]
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            faked("--database", str(database), "serve", "--port", str(port)),
            env=fake_env(), stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"serve did not start: {log.read_text()}"
            time.sleep(0.05)
        yield base, key
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    assert process.returncode == 0, log.read_text()[-3000:]


def acme_invoices(client: httpx.Client) -> list[dict[str, Any]]:
    answer = client.get("/v1/invoices", params={"customer": "acme"})
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def test_serve_finalizes_the_period_that_ended_on_its_own_clock(
    server: tuple[str, str],
) -> None:
    base, key = server
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}) as client:
        put = client.put(
            "/v1/contracts/quick", content=CONTRACT, headers={"Content-Type": "application/yaml"}
        )
        assert put.status_code == 201, put.text
        grace = client.put("/v1/settings", json={"invoice_grace": "1s"})
        assert grace.status_code == 200, grace.text
        sent = client.post(
            "/v1/signals",
            json={"contract": "quick", "outcome": "a1", "customer": "acme", "signal": "done"},
        )
        assert sent.status_code == 200, sent.text
        review_ends = sent.json()["outcome"]["review_ends_at"]
        assert review_ends < "2026-12-01T00:00:00", f"the server started too slowly: {sent.text}"

        deadline = time.monotonic() + WAIT_S
        while not [i for i in acme_invoices(client) if i["status"] == "finalized"]:
            assert time.monotonic() < deadline, f"not finalized: {acme_invoices(client)}"
            time.sleep(0.2)
        [november] = acme_invoices(client)
        assert november["number"] == "EARN-000001"
        assert november["period"] == {
            "start": "2026-11-01T00:00:00Z",
            "end": "2026-12-01T00:00:00Z",
        }
        assert november["finalized_at"] == "2026-12-01T00:00:01Z"  # its end plus the grace
        assert (november["subtotal"], november["total"]) == ("5.00", "5.00")
        full = client.get(f"/v1/invoices/{november['id']}").json()
        assert [(line["kind"], line["quantity"]) for line in full["lines"]] == [("charge", 1)]

        # After the end: December's draft, unnumbered; November's invoice unchanged.
        later = client.post(
            "/v1/signals",
            json={"contract": "quick", "outcome": "a2", "customer": "acme", "signal": "done"},
        )
        assert later.status_code == 200, later.text
        deadline = time.monotonic() + WAIT_S
        while len(acme_invoices(client)) < 2:
            assert time.monotonic() < deadline, f"no December draft: {acme_invoices(client)}"
            time.sleep(0.2)
        december = next(i for i in acme_invoices(client) if i["id"] != november["id"])
        assert december["status"] == "draft"
        assert december["number"] is None
        assert december["period"]["start"] == "2026-12-01T00:00:00Z"
        assert client.get(f"/v1/invoices/{november['id']}").json() == full
