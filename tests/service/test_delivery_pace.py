"""Webhook delivery keeps pace with its endpoint, not with the scheduler's poll (SPEC 10).

A sender that finished a request must not wait for the scheduler's next look to send the
outcome's next event, or to fill the slot it freed. Otherwise one endpoint gets at most
``PER_ENDPOINT`` requests per look (``IDLE_S``, 0.2 s: 20 a second), however fast it answers,
and a steady ingest of seven outcomes a second (three events each) outruns its webhooks for
good. Here 100 outcomes, three events each (in review, confirmed, charge booked, in that
order per outcome), would take at least 15 s at four a look.
"""

from __future__ import annotations

import time
from datetime import timedelta

from earnest.clock import utc_now
from earnest.contract import load_contract
from earnest.service.deadlines import catch_up
from earnest.service.delivery import Sender, WebhookDelivery
from earnest.service.ingest import ingest
from earnest.service.scheduler import Scheduler
from earnest.service.webhooks import Webhooks
from earnest.store import Database
from earnest.store.contracts import save_contract
from tests.service.receiver import Receiver

OUTCOMES = 100
WITHIN_S = 8.0  # 15 s or more if each send waited for the scheduler

CONTRACT = """
active_for: 2h
review_window: 1h
price: 2.50 USD
conditions: done
"""


def test_sends_follow_each_other_without_waiting_for_a_poll(db: Database) -> None:
    now = utc_now()  # the receiver checks timestamps against the real clock
    with db.write() as tx:
        save_contract(tx, load_contract(CONTRACT, key="quick"), now - timedelta(days=1))
    receiver = Receiver()
    _, secret = Webhooks(db, utc_now).create(receiver.url, actor="k")
    receiver.secrets = [secret]
    signals = [
        {"contract": "quick", "outcome": f"o{i}", "customer": "acme", "signal": "done"}
        for i in range(OUTCOMES)
    ]
    ingest(db, signals, now - timedelta(hours=3))
    catch_up(db, now)  # each: in review, confirmed, charge booked
    sender = Sender(db)
    scheduler = Scheduler(db, [WebhookDelivery(db, sender)], poll_s=0.2)
    started = time.monotonic()
    scheduler.start()
    try:
        received = receiver.wait_for(3 * OUTCOMES, timeout_s=WITHIN_S)
        took = time.monotonic() - started
    finally:
        scheduler.stop()
        sender.close()
        receiver.close()
    assert all(r.verified for r in received)
    assert len({r.headers["webhook-id"] for r in received}) == 3 * OUTCOMES, took
    for i in range(OUTCOMES):
        mine = [r.event["type"] for r in received if r.event["data"].get("outcome") == f"o{i}"]
        assert mine == ["outcome.in_review", "outcome.confirmed", "charge.booked"]


def test_a_closing_sender_claims_nothing_more(db: Database) -> None:
    """A clean stop waits for the requests in flight, not for the backlog to drain."""
    now = utc_now()
    with db.write() as tx:
        save_contract(tx, load_contract(CONTRACT, key="quick"), now - timedelta(days=1))
    receiver = Receiver()
    Webhooks(db, utc_now).create(receiver.url, actor="k")
    signals = [
        {"contract": "quick", "outcome": f"o{i}", "customer": "acme", "signal": "done"}
        for i in range(OUTCOMES)
    ]
    ingest(db, signals, now)
    sender = Sender(db)
    scheduler = Scheduler(db, [WebhookDelivery(db, sender)])
    scheduler.start()
    try:
        receiver.wait_for(1)
        scheduler.stop()
        sender.close()
        sent = len(receiver.received)
        with db.read() as tx:
            [(claimed,)] = tx.query(
                "SELECT COUNT(*) FROM webhook_deliveries WHERE claimed_until IS NOT NULL"
            )
    finally:
        receiver.close()
    assert sent < OUTCOMES
    assert claimed == 0  # every claim was sent and recorded
