"""examples/webhook_receiver.py, run as users run it (a subprocess): it accepts what Earnest
signs, refuses what was tampered with, handles a retried webhook-id once, keeps an outcome's
newest state when an older event comes late, and receives Earnest's real deliveries."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from earnest.clock import utc_now
from earnest.contract import load_contract
from earnest.service.delivery import Sender, WebhookDelivery
from earnest.service.ingest import ingest
from earnest.service.signing import headers, new_secret
from earnest.service.webhooks import Webhooks
from earnest.store import connect
from earnest.store.contracts import save_contract
from tests.service.test_webhooks import QUICK, Clock, deliver_all

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "webhook_receiver.py"


@dataclass
class Running:
    url: str
    secret: str
    lines: queue.Queue[str]

    def post(self, event_id: str, event: dict[str, Any], **change: Any) -> httpx.Response:
        """``event`` signed as Earnest signs it, now; ``change`` tampers with the request."""
        body = json.dumps(event).encode()
        signed = headers(event_id, change.pop("timestamp", int(time.time())), body,
                         [change.pop("secret", self.secret)])  # fmt: skip
        return httpx.post(self.url, content=change.pop("body", body), headers=signed)

    def line(self) -> str:
        return self.lines.get(timeout=10)

    def quiet(self) -> bool:
        time.sleep(0.2)
        return self.lines.empty()


@contextmanager
def started(secret: str) -> Iterator[Running]:
    """The example as a subprocess on a free port, verifying with ``secret``."""
    with subprocess.Popen(
        [sys.executable, str(EXAMPLE), "--port", "0"],
        env={**os.environ, "EARNEST_WEBHOOK_SECRET": secret},
        stdout=subprocess.PIPE,
        text=True,
    ) as process:
        lines: queue.Queue[str] = queue.Queue()

        def read() -> None:
            for line in process.stdout or ():
                lines.put(line.rstrip("\n"))

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        try:
            first = lines.get(timeout=20)
            assert first.startswith("listening on http://127.0.0.1:"), first
            yield Running(first.removeprefix("listening on ") + "earnest", secret, lines)
        finally:
            process.terminate()
            process.wait(timeout=10)
            reader.join(timeout=10)


@pytest.fixture
def receiver() -> Iterator[Running]:
    with started(new_secret()) as running:
        yield running


def outcome_event(kind: str, at: datetime, state: str) -> dict[str, Any]:
    data = {"contract": "quick", "outcome": "o1", "customer": "acme", "state": state}
    return {"type": kind, "timestamp": at.isoformat().replace("+00:00", "Z"), "data": data}


def test_signed_accepted_tampered_refused(receiver: Running) -> None:
    now = datetime.now(UTC)
    event = outcome_event("outcome.in_review", now, "in_review")
    assert receiver.post("evt_1", event).status_code == 204
    assert receiver.line().startswith("outcome.in_review outcome quick/o1 at ")
    # Tampered: another body, another secret, an old timestamp, a signature header garbled.
    confirmed = json.dumps(outcome_event("outcome.confirmed", now, "confirmed")).encode()
    for change in (
        {"body": confirmed},
        {"body": b"\xff\xfe"},
        {"secret": new_secret()},
        {"timestamp": int(time.time()) - 3600},
    ):
        refused = receiver.post("evt_2", event, **change)
        assert refused.status_code == 400, change
    garbled = httpx.post(receiver.url, content=b"{}", headers={
        "webhook-id": "evt_3", "webhook-timestamp": str(int(time.time())),
        "webhook-signature": "nonsense"})  # fmt: skip
    assert garbled.status_code == 400
    assert httpx.post(receiver.url, content=b"{}").status_code == 400
    assert receiver.quiet()  # nothing refused was handled


def test_a_retry_is_handled_once_and_an_older_event_never_wins(receiver: Running) -> None:
    now = datetime.now(UTC)
    review = outcome_event(
        "outcome.in_review", now - timedelta(hours=1, microseconds=5), "in_review"
    )
    confirmed = outcome_event("outcome.confirmed", now - timedelta(hours=1), "confirmed")
    assert receiver.post("evt_c", confirmed).status_code == 204
    assert receiver.line().startswith("outcome.confirmed outcome quick/o1")
    assert receiver.post("evt_c", confirmed).status_code == 200  # Earnest retried: once only
    assert receiver.quiet()
    # A hand retry of the outcome's earlier event arrives last: the newer state stays.
    assert receiver.post("evt_r", review).status_code == 204
    assert receiver.line() == "older outcome.in_review of outcome quick/o1: kept the newer state"


def test_it_receives_earnests_real_deliveries(tmp_path: Path) -> None:
    clock = Clock(utc_now())  # the example checks timestamps against the real clock
    db = connect(str(tmp_path / "earnest.db"))
    db.migrate()
    with db.write() as tx:
        save_contract(tx, load_contract(QUICK, key="quick"), clock() - timedelta(days=1))
    hooks = Webhooks(db, clock)
    endpoint, secret = hooks.create("http://127.0.0.1:9/placeholder", actor="test")
    sender = Sender(db, clock=clock)
    try:
        with started(secret) as running:
            hooks.update(endpoint.id, {"url": running.url}, actor="test")
            item = {"contract": "quick", "outcome": "o1", "customer": "acme", "signal": "done"}
            ingest(db, [item], clock() - timedelta(seconds=1))
            deliver_all(WebhookDelivery(db, sender, clock=clock), clock)
            assert running.line().startswith("outcome.in_review outcome quick/o1 at ")
    finally:
        sender.close()
    [delivery] = hooks.deliveries(endpoint.id, limit=10).items
    assert (delivery.state, delivery.tries[0][1]) == ("delivered", 204)
    db.close()
