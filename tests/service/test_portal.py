"""The Portal service on both backends: links created (only the token's hash stored), listed
newest first a page at a time, revoked once, opened only while live; every read behind a link
scoped to its customer (another's invoice or outcome is unknown); the history a customer sees
without the vendor's own data; a dispute in the link's name."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from earnest.app import Earnest
from earnest.contract import load_contract
from earnest.engine import Scheduled
from earnest.errors import Invalid, NotFound
from earnest.rules import UnknownOutcome
from earnest.service.activity import CLI
from earnest.service.customers import UnknownCustomer
from earnest.service.history import HistoryEntry
from earnest.service.invoices import UnknownInvoice
from earnest.service.portal import (
    ClosedPortalLink,
    PortalLink,
    UnknownPortalLink,
    actor_of,
    public_entry,
)
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


def made(app: Earnest, customer: str, expires: str = "30d") -> tuple[PortalLink, str]:
    """A new link to ``customer``'s pages and its token."""
    created = app.portal.create(customer, expires, base_url="http://x", actor=CLI)
    return created.link, created.url.removeprefix("http://x/portal/")


def test_every_read_is_scoped_to_the_links_customer(app: Earnest) -> None:
    link, token = made(app, "acme")
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
        app.portal.dispute(token, "ticket_resolved", "globex/1", "not mine")
    assert app.disputes.list(limit=5).items == []


def test_the_customers_history_and_dispute(app: Earnest) -> None:
    link, token = made(app, "acme")
    answer = app.portal.dispute(token, "ticket_resolved", "acme/1", "never fixed")
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
    assert kinds["dispute"]["reason"] == "never fixed"  # the customer's own words


def _recorded(app: Earnest) -> tuple[object, ...]:
    """Everything a dispute would change: disputes, the history, the activity log."""
    with app.db.read() as tx:
        return tuple(
            tuple(tx.query(f"SELECT * FROM {table} ORDER BY 1"))
            for table in ("disputes", "history", "activity", "ledger", "outcomes")
        )


@pytest.mark.parametrize("how", ["revoked", "expired", "unknown"])
def test_a_dispute_is_refused_unless_the_link_is_live_in_its_own_transaction(
    app: Earnest, how: str
) -> None:
    clock: Clock = app.clock  # type: ignore[assignment]
    link, token = made(app, "acme", "1h")
    assert app.portal.open(token) == link  # the page was opened with a live link ...
    if how == "revoked":  # ... and the link revoked before the form was sent
        app.portal.revoke("acme", link.id, actor=CLI)
    elif how == "expired":
        clock.now = link.expires_at
    else:
        token = token[:-1] + ("A" if token[-1] != "A" else "B")
    before = _recorded(app)
    with pytest.raises(ClosedPortalLink) as refused:
        app.portal.dispute(token, "ticket_resolved", "acme/1", "never fixed")
    assert isinstance(refused.value, NotFound)
    assert token not in refused.value.message
    assert _recorded(app) == before
    with pytest.raises(ClosedPortalLink):  # a link that opens nothing is refused first
        app.portal.dispute(token, "ticket_resolved", "acme/1", "")


def test_a_live_link_disputes_until_the_last_moment(app: Earnest) -> None:
    clock: Clock = app.clock  # type: ignore[assignment]
    link, token = made(app, "acme", "1h")
    clock.now = link.expires_at - timedelta(microseconds=1)
    answer = app.portal.dispute(token, "ticket_resolved", "acme/1", "never fixed")
    assert (answer.dispute.opened_by, answer.dispute.opened_at) == (actor_of(link), clock.now)


def test_the_vendors_words_are_not_the_customers_to_read(app: Earnest) -> None:
    link, _ = made(app, "acme")
    app.disputes.open("ticket_resolved", "acme/1", "internal: churn risk", actor="k123")
    open_ = app.portal.evidence(link, "ticket_resolved", "acme/1")
    assert open_.dispute is not None
    assert (open_.dispute.opened_by, open_.dispute.reason) == ("the vendor", "")
    [opened] = [e.data for e in open_.history if e.kind == "dispute"]
    assert opened == {"action": "opened", "by": "the vendor"}
    app.disputes.resolve(
        "ticket_resolved", "acme/1", "credit", "internal: goodwill", amount="0.5", actor="k123"
    )
    resolved = app.portal.evidence(link, "ticket_resolved", "acme/1")
    assert resolved.dispute is not None
    shown = resolved.dispute
    assert (shown.reason, shown.note, shown.resolved_by) == ("", None, "the vendor")
    assert (shown.resolution, shown.credit_amount) == ("credit", Decimal("0.5"))
    entries = [(e.kind, e.data) for e in resolved.history]
    assert ("dispute", {"action": "resolved", "by": "the vendor", "resolution": "credit",
                        "amount": "0.5"}) in entries  # fmt: skip
    for kind, data in entries:
        assert "note" not in data, kind  # the settlement's "ok", the credit's note
        assert "internal" not in str(data), kind
    raw = app.disputes.list(limit=5).items[0]
    assert (raw.reason, raw.note) == ("internal: churn risk", "internal: goodwill")  # as recorded


def test_a_legacy_flag_keeps_no_reason() -> None:
    data = {"contested": True, "reason": "late signal reopened (sig-1) failed", "signal": "sig-1"}
    shown = public_entry(HistoryEntry(7, T0, "flag", data, "h"))
    assert shown.data == {"contested": True}
    assert (shown.seq, shown.kind) == (7, "flag")
