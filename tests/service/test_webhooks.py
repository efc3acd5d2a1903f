"""Webhooks (SPEC 10) on SQLite and PostgreSQL: events written with their change for the
endpoints that want them, signed per Standard Webhooks (checked by the ``standardwebhooks``
package on a real receiver), delivered at least once in per-outcome order, retried on the
SPEC's schedule (an injected clock), a 410 disabling its endpoint while another endpoint
keeps receiving; endpoint management refusing bad input and storing nothing."""

from __future__ import annotations

import base64
import json
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from earnest.clock import utc_now
from earnest.contract import load_contract
from earnest.errors import Invalid
from earnest.service.deadlines import catch_up
from earnest.service.delivery import SCHEDULE_S, Sender, WebhookDelivery, retry_delay
from earnest.service.disputes import Disputes
from earnest.service.ingest import ingest
from earnest.service.invoices import InvoiceClosing
from earnest.service.secrets import SecretKeyMissing, seal, unseal
from earnest.service.signing import headers, new_secret
from earnest.service.webhooks import UnknownDelivery, UnknownEndpoint, Webhooks
from earnest.store import Database
from earnest.store.contracts import save_contract
from tests.service.conftest import rows
from tests.service.receiver import Receiver

QUICK = """
active_for: 2h
review_window: 1h
price: 2.50 USD
conditions: done
after_settlement: flag
"""


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.close()


def setup_contract(db: Database, at: datetime) -> None:
    with db.write() as tx:
        save_contract(tx, load_contract(QUICK, key="quick"), at)


def signal(ref: str, name: str = "done", value: Any = True, **extra: Any) -> dict[str, Any]:
    return {"contract": "quick", "outcome": ref, "customer": "acme", "signal": name,
            "value": value, **extra}  # fmt: skip


def deliver_all(delivery: WebhookDelivery, clock: Clock, rounds: int = 50) -> None:
    """Claim and send until nothing is due at the clock's time and nothing is in flight."""
    for _ in range(rounds):
        delivery.sender.wait_idle()
        if delivery.fire_due(clock()) == 0:
            delivery.sender.wait_idle()
            if delivery.fire_due(clock()) == 0:
                return
    raise AssertionError("deliveries kept coming")


# Signing ------------------------------------------------------------------------------------


def test_signatures_verify_with_the_independent_library() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret[6:])) == 32
    body = b'{"type":"outcome.confirmed","timestamp":"2026-11-29T10:00:00Z","data":{}}'
    now = int(time.time())
    signed = headers("evt_1", now, body, [secret])
    assert Webhook(secret).verify(body, signed) is not None
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace(b"confirmed", b"cancelled"), signed)
    old = headers("evt_1", now - 3600, body, [secret])
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, old)
    # During a rotation both signatures go, space-separated; either secret verifies.
    other = new_secret()
    both = headers("evt_1", now, body, [other, secret])
    assert len(both["webhook-signature"].split(" ")) == 2
    assert Webhook(secret).verify(body, both) is not None
    assert Webhook(other).verify(body, both) is not None
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, both)


def test_secrets_are_sealed_with_the_key_and_refused_without_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = new_secret()
    monkeypatch.delenv("EARNEST_SECRET_KEY", raising=False)
    assert seal(secret) == "plain:" + secret
    monkeypatch.setenv("EARNEST_SECRET_KEY", "correct horse battery staple")
    sealed = seal(secret)
    assert sealed.startswith("fernet:")
    assert secret not in sealed
    assert unseal(sealed) == secret
    assert unseal("plain:" + secret) == secret  # a key set later still reads older secrets
    monkeypatch.setenv("EARNEST_SECRET_KEY", "another key")
    with pytest.raises(SecretKeyMissing):
        unseal(sealed)
    monkeypatch.delenv("EARNEST_SECRET_KEY")
    with pytest.raises(SecretKeyMissing):
        unseal(sealed)


def test_the_retry_schedule_has_jitter_and_an_end() -> None:
    import random

    rng = random.Random(7)
    for attempt, base in enumerate(SCHEDULE_S, start=1):
        delay = retry_delay(attempt, rng)
        assert delay is not None
        assert base * 0.9 <= delay.total_seconds() <= base * 1.1
    assert retry_delay(len(SCHEDULE_S) + 1, rng) is None


# The outbox -----------------------------------------------------------------------------------


def test_no_endpoint_no_events_and_each_endpoint_only_what_it_wants(db: Database) -> None:
    clock = Clock(datetime(2026, 11, 23, 10, tzinfo=UTC))
    setup_contract(db, clock())
    hooks = Webhooks(db, clock)
    ingest(db, [signal("before")], clock())
    catch_up(db, clock.advance(hours=2))
    assert rows(db, "SELECT COUNT(*) FROM webhook_events") == [(0,)]
    money, _ = hooks.create("https://a.example/hook", events=["charge.booked"], actor="k")
    every, _ = hooks.create("https://b.example/hook", actor="k")
    ingest(db, [signal("o1")], clock())
    catch_up(db, clock.advance(hours=2))
    Disputes(db, clock).open("quick", "o1", "not shipped", actor="k")
    by_endpoint = rows(
        db,
        "SELECT d.endpoint_id, v.type FROM webhook_deliveries d"
        " JOIN webhook_events v ON v.id = d.event_id ORDER BY d.id",
    )
    assert [t for e, t in by_endpoint if e == money.id] == ["charge.booked"]
    assert [t for e, t in by_endpoint if e == every.id] == [
        "outcome.in_review", "outcome.confirmed", "charge.booked", "outcome.contested",
        "dispute.opened",
    ]  # fmt: skip
    # Events no endpoint wants are not written at all.
    hooks.update(every.id, {"enabled": False}, actor="k")
    ingest(db, [signal("o2")], clock())
    types = [t for (t,) in rows(db, "SELECT type FROM webhook_events ORDER BY occurred_at, id")]
    assert types.count("outcome.in_review") == 1


def test_the_body_is_the_api_object_and_the_invoice_event_its_document(db: Database) -> None:
    clock = Clock(datetime(2026, 11, 23, 10, tzinfo=UTC))
    setup_contract(db, clock())
    Webhooks(db, clock).create("https://b.example/hook", actor="k")
    ingest(db, [signal("o1")], clock())
    catch_up(db, clock.advance(hours=2))
    InvoiceClosing(db).fire_due(datetime(2026, 12, 1, 0, 5, tzinfo=UTC))
    bodies = dict(rows(db, "SELECT type, body FROM webhook_events"))

    confirmed = json.loads(bodies["outcome.confirmed"])
    assert confirmed["type"] == "outcome.confirmed"
    assert confirmed["timestamp"] == "2026-11-23T11:00:00Z"  # when it happened
    assert confirmed["data"]["state"] == "confirmed"
    assert confirmed["data"]["charge"]["amount"] == "2.50"
    charge = json.loads(bodies["charge.booked"])["data"]
    assert (charge["kind"], charge["outcome"], charge["amount"]) == ("charge", "o1", "2.50")
    invoice = json.loads(bodies["invoice.finalized"])["data"]
    assert (invoice["number"], invoice["status"], invoice["total"]) == (
        "EARN-000001", "finalized", "2.50",
    )  # fmt: skip


# Delivery ---------------------------------------------------------------------------------------


def test_every_event_is_delivered_signed_and_in_order(db: Database, receiver: Receiver) -> None:
    clock = Clock(utc_now())  # the receiver checks timestamps against the real clock
    setup_contract(db, clock() - timedelta(days=1))
    hooks = Webhooks(db, clock)
    endpoint, secret = hooks.create(receiver.url, actor="k")
    receiver.secrets = [secret]
    sender = Sender(db, clock=clock)
    delivery = WebhookDelivery(db, sender, clock=clock)
    try:
        start = clock() - timedelta(hours=3)
        ingest(db, [signal(f"o{i}") for i in range(5)], start)
        catch_up(db, clock())  # each confirmed, charged
        deliver_all(delivery, clock)
        received = receiver.wait_for(15)
    finally:
        sender.close()
    assert all(r.verified for r in received)
    assert len({r.headers["webhook-id"] for r in received}) == 15
    for i in range(5):
        mine = [r.event["type"] for r in received if r.event["data"].get("outcome") == f"o{i}"]
        assert mine == ["outcome.in_review", "outcome.confirmed", "charge.booked"]
    states = rows(db, "SELECT state, attempts FROM webhook_deliveries")
    assert set(states) == {("delivered", 1)}
    page = hooks.deliveries(endpoint.id, limit=50)
    assert all(d.tries[0][1] == 200 for d in page.items)


def test_an_outcomes_next_event_waits_for_the_one_before(db: Database, receiver: Receiver) -> None:
    clock = Clock(datetime(2026, 11, 23, 10, tzinfo=UTC))
    setup_contract(db, clock())
    Webhooks(db, clock).create(receiver.url, actor="k")
    receiver.answers = deque([500])  # the outcome's first event fails once
    sender = Sender(db, clock=clock)
    delivery = WebhookDelivery(db, sender, clock=clock)
    try:
        ingest(db, [signal("o1"), signal("o2", customer="bolt")], clock())
        catch_up(db, clock.advance(hours=2))
        deliver_all(delivery, clock)
        # The first request answered 500: that outcome's later events wait; the other's go on.
        failed = receiver.received[0].event["data"]["outcome"]
        other = "o2" if failed == "o1" else "o1"

        def of(ref: str) -> list[str]:
            return [r.event["type"] for r in receiver.received if r.event["data"]["outcome"] == ref]

        assert of(failed) == ["outcome.in_review"]
        assert of(other) == ["outcome.in_review", "outcome.confirmed", "charge.booked"]
        clock.advance(seconds=6)
        deliver_all(delivery, clock)
    finally:
        sender.close()
    assert of(failed) == [
        "outcome.in_review", "outcome.in_review", "outcome.confirmed", "charge.booked",
    ]  # fmt: skip


def test_500_then_timeout_then_410_follows_the_schedule_and_disables(
    db: Database, receiver: Receiver
) -> None:
    healthy = Receiver()
    clock = Clock(datetime(2026, 11, 23, 10, tzinfo=UTC))
    setup_contract(db, clock())
    hooks = Webhooks(db, clock)
    failing, _ = hooks.create(receiver.url, events=["outcome.in_review"], actor="k")
    hooks.create(healthy.url, events=["outcome.in_review"], actor="k")
    receiver.answers = deque([500, "hang", 410])
    receiver.hang_s = 1.0
    sender = Sender(db, clock=clock, timeout_s=0.3)
    delivery = WebhookDelivery(db, sender, clock=clock)
    try:
        ingest(db, [signal("o1")], clock())
        deliver_all(delivery, clock)  # 500 at t0; the healthy endpoint gets it at once
        assert [r.status for r in receiver.received] == [500]
        assert len(healthy.received) == 1
        [(next_at,)] = rows(
            db, "SELECT next_at FROM webhook_deliveries WHERE endpoint_id = ?", (failing.id,)
        )
        wait = int(next_at) / 1e6 - clock().timestamp()
        assert 4.5 <= wait <= 5.5
        clock.advance(seconds=4)
        deliver_all(delivery, clock)
        assert len(receiver.received) == 1  # not yet
        ingest(db, [signal("o2")], clock())  # meanwhile another outcome, another event
        deliver_all(delivery, clock)
        assert len(healthy.received) == 2  # on time, whatever the failing endpoint does
        clock.advance(seconds=2)
        deliver_all(delivery, clock)  # the timeout
        attempts = rows(
            db,
            "SELECT a.status, a.error FROM webhook_attempts a JOIN webhook_deliveries d"
            " ON d.id = a.delivery_id WHERE d.endpoint_id = ? ORDER BY a.id",
            (failing.id,),
        )
        assert attempts[0] == (500, None)
        assert attempts[1][0] is None
        assert "no answer within" in attempts[1][1]
        clock.advance(minutes=6)
        deliver_all(delivery, clock)  # the 410
        assert not hooks.get(failing.id).enabled
        assert "410" in str(hooks.get(failing.id).disabled_reason)
        # Disabled: its pending deliveries stop, whatever the time.
        seen = len(receiver.received)
        clock.advance(hours=12)
        deliver_all(delivery, clock)
        assert len(receiver.received) == seen
        ingest(db, [signal("o3")], clock())
        deliver_all(delivery, clock)
        assert len(healthy.received) == 3
        # Enabled again: the pending ones resume.
        hooks.update(failing.id, {"enabled": True}, actor="k")
        clock.advance(hours=1)
        deliver_all(delivery, clock)
    finally:
        sender.close()
        healthy.close()
    assert [r.status for r in receiver.received][-1] == 200
    logged = rows(
        db, "SELECT actor, action FROM activity WHERE action LIKE 'webhook.%' ORDER BY seq"
    )
    assert ("system", "webhook.disabled") in logged


def test_a_delivery_fails_for_good_after_the_last_try_and_can_be_retried(
    db: Database, receiver: Receiver
) -> None:
    clock = Clock(datetime(2026, 11, 23, 10, tzinfo=UTC))
    setup_contract(db, clock())
    hooks = Webhooks(db, clock)
    endpoint, _ = hooks.create(receiver.url, events=["outcome.in_review"], actor="k")
    receiver.answers = deque([503] * (len(SCHEDULE_S) + 1))
    sender = Sender(db, clock=clock)
    delivery = WebhookDelivery(db, sender, clock=clock)
    try:
        ingest(db, [signal("o1")], clock())
        for _ in range(len(SCHEDULE_S) + 1):
            deliver_all(delivery, clock)
            clock.advance(hours=12)
        [(ident, state, attempts)] = rows(db, "SELECT id, state, attempts FROM webhook_deliveries")
        assert (state, attempts) == ("failed", len(SCHEDULE_S) + 1)
        hooks.retry(endpoint.id, int(ident), actor="k")
        deliver_all(delivery, clock)
    finally:
        sender.close()
    assert rows(db, "SELECT state, attempts FROM webhook_deliveries") == [
        ("delivered", len(SCHEDULE_S) + 2)
    ]
    with pytest.raises(Invalid, match="was delivered"):
        hooks.retry(endpoint.id, int(ident), actor="k")


def test_a_crashed_senders_claim_expires(db: Database) -> None:
    clock = Clock(datetime(2026, 11, 23, 10, tzinfo=UTC))
    setup_contract(db, clock())
    Webhooks(db, clock).create("http://127.0.0.1:9/never", events=["outcome.in_review"],
                               actor="k")  # fmt: skip
    ingest(db, [signal("o1")], clock())
    from earnest.store.webhooks import claim

    with db.write() as tx:  # a sender claims, then dies before recording
        taken = claim(tx, clock(), until=clock() + timedelta(seconds=60), limit=10, busy={},
                      per_endpoint=4)  # fmt: skip
    assert len(taken) == 1
    with db.write() as tx:
        assert claim(tx, clock.advance(seconds=30), until=clock() + timedelta(seconds=60),
                     limit=10, busy={}, per_endpoint=4) == []  # fmt: skip
    with db.write() as tx:
        again = claim(tx, clock.advance(seconds=31), until=clock() + timedelta(seconds=60),
                      limit=10, busy={}, per_endpoint=4)  # fmt: skip
    assert [c.id for c in again] == [c.id for c in taken]


# Management ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"url": "ftp://x.example/h"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"url": ""}, "url"),
        ({"url": "https://user:pw@x.example/"}, "url"),
        ({"url": "https://x.example:99999/"}, "url"),
        ({"url": "https://x.example/" + "a" * 2048}, "url"),
        ({"url": "https://x.example/", "events": ["outcome.exploded"]}, "events"),
        ({"url": "https://x.example/", "events": []}, "events"),
        ({"url": "https://x.example/", "events": "charge.booked"}, "events"),
        ({"url": "https://x.example/", "description": 5}, "description"),
        ({"url": "https://x.example/", "enabled": "yes"}, "enabled"),
    ],
)
def test_bad_endpoints_are_refused_by_field_and_store_nothing(
    db: Database, kwargs: dict[str, Any], field: str
) -> None:
    hooks = Webhooks(db, Clock(datetime(2026, 11, 23, tzinfo=UTC)))
    kwargs = dict(kwargs)
    url = kwargs.pop("url")
    with pytest.raises(Invalid) as refused:
        hooks.create(url, actor="k", **kwargs)
    assert refused.value.field == field
    assert rows(db, "SELECT COUNT(*) FROM webhook_endpoints") == [(0,)]
    assert rows(db, "SELECT COUNT(*) FROM activity") == [(0,)]


def test_unknown_ids_and_changes_are_refused(db: Database) -> None:
    hooks = Webhooks(db, Clock(datetime(2026, 11, 23, tzinfo=UTC)))
    endpoint, _ = hooks.create("https://x.example/h", actor="k")
    for call in (
        lambda: hooks.get("we_nope"),
        lambda: hooks.update("we_nope", {"enabled": False}, actor="k"),
        lambda: hooks.delete("we_nope", actor="k"),
        lambda: hooks.rotate_secret("we_nope", actor="k"),
        lambda: hooks.deliveries("we_nope", limit=5),
    ):
        with pytest.raises(UnknownEndpoint):
            call()
    with pytest.raises(Invalid) as refused:
        hooks.update(endpoint.id, {"secret": "whsec_x"}, actor="k")
    assert refused.value.field == "secret"
    with pytest.raises(UnknownDelivery):
        hooks.retry(endpoint.id, 12345, actor="k")
    with pytest.raises(Invalid):
        hooks.retry(endpoint.id, "1", actor="k")
    assert [a for (a,) in rows(db, "SELECT action FROM activity")] == ["webhook.created"]


def test_management_is_logged_without_secrets_and_rotation_signs_with_both(
    db: Database, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EARNEST_SECRET_KEY", "k" * 32)
    clock = Clock(utc_now())
    setup_contract(db, clock() - timedelta(days=1))
    hooks = Webhooks(db, clock)
    endpoint, old = hooks.create(receiver.url, events=["outcome.in_review"], actor="k")
    [(stored,)] = rows(db, "SELECT secret FROM webhook_endpoints")
    assert stored.startswith("fernet:")
    assert old not in stored
    _, new = hooks.rotate_secret(endpoint.id, actor="k")
    receiver.secrets = [old]
    sender = Sender(db, clock=clock)
    try:
        ingest(db, [signal("o1")], clock())
        deliver_all(WebhookDelivery(db, sender, clock=clock), clock)
        clock.advance(hours=25)  # the old secret has stopped signing
        ingest(db, [signal("o2")], clock())
        deliver_all(WebhookDelivery(db, sender, clock=clock), clock)
    finally:
        sender.close()
    first, second = receiver.wait_for(2)
    assert len(first.headers["webhook-signature"].split(" ")) == 2
    assert first.verified
    assert len(second.headers["webhook-signature"].split(" ")) == 1
    assert Webhook(new).verify(first.body, first.headers) is not None
    hooks.update(endpoint.id, {"description": "CRM"}, actor="k")
    hooks.delete(endpoint.id, actor="k")
    logged = rows(db, "SELECT action, before, after FROM activity ORDER BY seq")
    assert [a for a, _, _ in logged] == [
        "webhook.created", "webhook.secret_rotated", "webhook.updated", "webhook.deleted",
    ]  # fmt: skip
    text = " ".join(str(v) for row in logged for v in row)
    assert old not in text
    assert new not in text
    assert "whsec_" not in text
    assert hooks.list() == []


def test_events_behind_a_retry_are_not_due_before_it(db: Database, receiver: Receiver) -> None:
    """While an outcome's event waits for its retry, its later events wait too: the source
    says nothing is due until the retry, so the scheduler does not claim in vain each poll."""
    clock = Clock(datetime(2026, 11, 23, 10, tzinfo=UTC))
    setup_contract(db, clock())
    Webhooks(db, clock).create(receiver.url, actor="k")
    receiver.answers = deque([500] * 4)
    sender = Sender(db, clock=clock)
    delivery = WebhookDelivery(db, sender, clock=clock)
    try:
        ingest(db, [signal("o1")], clock())
        for wait_s in (0, 6, 5.5 * 60, 33 * 60):  # four failures: the next try about 2 h on
            clock.advance(seconds=wait_s)
            deliver_all(delivery, clock)
        assert len(receiver.received) == 4
        catch_up(db, clock.advance(minutes=25))  # confirmed and charged: due now, behind it
        due = delivery.next_due()
        assert due is not None
        assert due > clock() + timedelta(hours=1)
        assert delivery.fire_due(clock()) == 0
    finally:
        sender.close()
