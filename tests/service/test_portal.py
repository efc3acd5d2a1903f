"""The Portal service on both backends: links created (only the token's hash stored), listed
newest first a page at a time, revoked once, opened only while live; every read behind a link
scoped to its customer (another's invoice or outcome is unknown); the history a customer sees
without the vendor's own data; a dispute in the link's name."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest

from earnest.app import Earnest
from earnest.contract import load_contract
from earnest.engine import Scheduled
from earnest.errors import Invalid, NotFound
from earnest.rules import UnknownOutcome
from earnest.service.activity import CLI
from earnest.service.customers import UnknownCustomer
from earnest.service.invoices import UnknownInvoice
from earnest.service.portal import UnknownPortalLink, actor_of
from earnest.store import Database
from tests.contracts import T0

CONTRACT = """
key: ticket_resolved
conditions: resolved
price: $0.99
active_for: 48h
review_window: 24h
"""


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def app(db: Database) -> Earnest:
    found = Earnest(db, clock=Clock())
    found.contracts.save(load_contract(CONTRACT), actor=CLI)
    for customer in ("acme", "globex"):
        found.customers.put(customer, {}, actor=CLI)
        ref = f"{customer}/1"
        body = {
            "contract": "ticket_resolved", "outcome": ref, "customer": customer,
            "signal": "resolved", "data": {"secret": "vendor"}, "id": f"sig-{customer}",
        }  # fmt: skip
        assert found.signals.send(body).result.error is None
        found.outcomes.settle("ticket_resolved", ref, Scheduled.CONFIRM, "ok", actor="k123")
    return found


def test_links_are_created_listed_revoked_and_opened_while_live(app: Earnest) -> None:
    clock: Clock = app.clock  # type: ignore[assignment]
    made = []
    for _ in range(3):
        made.append(app.portal.create("acme", "1h", base_url="http://x/", actor=CLI))
        clock.now += timedelta(seconds=1)
    first = app.portal.list("acme", limit=2)
    assert [link.id for link in first.items] == [m.link.id for m in made[::-1][:2]]
    rest = app.portal.list("acme", limit=2, after=first.after)
    assert [link.id for link in rest.items] == [made[0].link.id]
    assert rest.after is None
    created = made[0]
    token = created.url.removeprefix("http://x/portal/")
    with app.db.read() as tx:
        stored = {row[0] for row in tx.query("SELECT token_hash FROM portal_links")}
    assert hashlib.sha256(token.encode()).hexdigest() in stored
    assert app.portal.open(token) == created.link
    assert app.portal.open(token[:-1] + "x") is None
    revoked = app.portal.revoke("acme", created.link.id, actor="admin@example.com")
    assert revoked.revoked_at == clock.now
    assert app.portal.open(token) is None
    clock.now += timedelta(minutes=5)
    assert app.portal.revoke("acme", created.link.id, actor=CLI).revoked_at == revoked.revoked_at
    later = made[2].url.removeprefix("http://x/portal/")
    assert app.portal.open(later) is not None
    clock.now = made[2].link.expires_at
    assert app.portal.open(later) is None
    actions = [e.action for e in app.activity.list(limit=10).items if e.subject.startswith("pl_")]
    assert actions == ["portal_link.revoked"] + ["portal_link.created"] * 3


def test_refusals(app: Earnest) -> None:
    with pytest.raises(UnknownCustomer):
        app.portal.create("nobody", base_url="http://x", actor=CLI)
    with pytest.raises(UnknownCustomer):
        app.portal.list("nobody", limit=5)
    with pytest.raises(Invalid) as bad:
        app.portal.create("acme", "1y", base_url="http://x", actor=CLI)
    assert bad.value.field == "expires_in"
    other = app.portal.create("globex", base_url="http://x", actor=CLI)
    with pytest.raises(UnknownPortalLink):
        app.portal.revoke("acme", other.link.id, actor=CLI)
    assert app.portal.list("acme", limit=5).items == []


def test_every_read_is_scoped_to_the_links_customer(app: Earnest) -> None:
    link = app.portal.create("acme", base_url="http://x", actor=CLI).link
    [own] = app.portal.invoices(link, limit=5).items
    [foreign] = app.invoices.list(customer="globex", limit=5).items
    assert own.customer == "acme"
    assert app.portal.statement(link, own.id, limit=5).charges[0][2] == "acme/1"
    for read in (
        lambda: app.portal.invoice(link, foreign.id),
        lambda: app.portal.statement(link, foreign.id, limit=5),
    ):
        with pytest.raises(UnknownInvoice):
            read()
    with pytest.raises(UnknownOutcome):
        app.portal.evidence(link, "ticket_resolved", "globex/1")
    with pytest.raises(NotFound):
        app.portal.dispute(link, "ticket_resolved", "globex/1", "not mine")
    assert app.disputes.list(limit=5).items == []


def test_the_customers_history_and_dispute(app: Earnest) -> None:
    link = app.portal.create("acme", base_url="http://x", actor=CLI).link
    answer = app.portal.dispute(link, "ticket_resolved", "acme/1", "never fixed")
    assert answer.dispute.opened_by == actor_of(link) == f"portal:{link.id}"
    evidence = app.portal.evidence(link, "ticket_resolved", "acme/1")
    assert evidence.dispute is not None
    assert not evidence.disputable  # open already
    kinds = {entry.kind: entry.data for entry in evidence.history}
    assert "data" not in kinds["signal"]
    assert "id" not in kinds["signal"]
    assert kinds["dispute"]["by"] == "you"
    settled = [e.data for e in evidence.history if e.kind == "transition" and "by" in e.data]
    assert [data["by"] for data in settled] == ["the vendor"]
    raw = app.outcomes.history("ticket_resolved", "acme/1")
    assert any(entry.data.get("by") == "k123" for entry in raw)  # the record is unchanged
