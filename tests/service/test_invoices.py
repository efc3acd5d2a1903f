"""Invoices in the service, on SQLite and PostgreSQL: drafts always current, finalization at
period end + grace in SPEC 6's order with one gapless sequence, frozen for good (proved by
``audit verify`` and ``replay --verify``), billing-day changes, settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from earnest.billing import BillingDays, Booking, invoice_lines, totals
from earnest.contract import load_contract
from earnest.errors import Invalid
from earnest.service.audit import verify_all
from earnest.service.customers import Customers
from earnest.service.disputes import Disputes
from earnest.service.due import drain
from earnest.service.ingest import ingest
from earnest.service.invoices import InvoiceClosing, Invoices
from earnest.service.replay import replay_verify
from earnest.service.settings import InvalidSetting, Settings
from earnest.store import Database
from earnest.store.contracts import save_contract
from tests.service.conftest import execute, rows

NOV = datetime(2026, 11, 1, tzinfo=UTC)
DEC = datetime(2026, 12, 1, tzinfo=UTC)
JAN = datetime(2027, 1, 1, tzinfo=UTC)

# Settles by its window alone: met on the first signal, confirmed an hour later.
QUICK = """
name: Quick win
active_for: 2h
review_window: 1h
price: {price}
conditions: done
"""


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Billing:
    db: Database
    clock: Clock
    invoices: Invoices = field(init=False)
    customers: Customers = field(init=False)
    disputes: Disputes = field(init=False)
    settings: Settings = field(init=False)

    def __post_init__(self) -> None:
        self.invoices = Invoices(self.db, self.clock)
        self.customers = Customers(self.db, self.clock)
        self.disputes = Disputes(self.db, self.clock)
        self.settings = Settings(self.db, self.clock)

    def contract(self, key: str, price: str, at: datetime = NOV) -> None:
        with self.db.write() as tx:
            save_contract(tx, load_contract(QUICK.format(price=price), key=key), at)

    def win(self, contract: str, ref: str, customer: str, at: datetime) -> None:
        """An outcome met at ``at``, confirmed by its window an hour later."""
        item = {"contract": contract, "outcome": ref, "customer": customer, "signal": "done"}
        [result] = ingest(self.db, [item], at)
        assert result.status == "accepted", result

    def close(self, now: datetime) -> int:
        """The scheduler's catch-up at ``now``: every due deadline, then every due closing."""
        from earnest.service.deadlines import OutcomeDeadlines

        fired = drain(OutcomeDeadlines(self.db), now)
        return fired + drain(InvoiceClosing(self.db, batch=2), now)

    def numbered(self) -> list[tuple[str, str, str, str]]:
        return [
            (str(number), customer, currency, str(end))
            for number, customer, currency, end in rows(
                self.db,
                "SELECT number, customer, currency, period_end FROM invoices"
                " WHERE status = 'finalized' ORDER BY sequence",
            )
        ]


def micros(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000


def minutes(n: float, start: datetime = NOV) -> datetime:
    return start + timedelta(minutes=n)


def test_a_draft_is_always_current_and_equals_the_pure_core(billing: Billing) -> None:
    billing.contract("quick", "0.99 USD")
    billing.contract("big", "12.50 USD")
    for i in range(5):
        billing.win("quick", f"q{i}", "acme", minutes(10 + i))
    billing.win("big", "b1", "acme", minutes(20))
    billing.close(minutes(24 * 60))  # the windows end; the period is still open
    [row] = billing.invoices.list(limit=10).items
    invoice = billing.invoices.get(row.id)
    assert invoice.row.status == "draft"
    assert invoice.row.number is None
    document = invoice.document()
    assert document["period"] == {"start": "2026-11-01T00:00:00Z", "end": "2026-12-01T00:00:00Z"}
    assert [
        (line["description"], line["quantity"], line["amount"]) for line in document["lines"]
    ] == [
        ("Quick win (v1)", 1, "12.50"),
        ("Quick win (v1)", 5, "4.95"),
    ]
    assert (document["subtotal"], document["credits"], document["total"]) == (
        "17.45",
        "0.00",
        "17.45",
    )
    # The running totals are what the pure core computes from the ledger.
    ledger = rows(
        billing.db,
        "SELECT l.id, o.ref, o.contract, o.contract_version, l.amount, l.currency, l.booked_at"
        " FROM ledger l JOIN outcomes o ON o.id = l.outcome_id",
    )
    bookings = [
        Booking(int(i), "charge", ref, c, int(v), c, Decimal(str(a)), cur, NOV)
        for i, ref, c, v, a, cur, _ in ledger
    ]
    charges, credits = invoice_lines(bookings)
    assert totals(charges, credits, "USD").total == invoice.total == Decimal("17.45")


def test_finalization_waits_for_the_grace_then_numbers_in_spec_order(billing: Billing) -> None:
    billing.contract("usd", "1 USD")
    billing.contract("eur", "2 EUR")
    # Byte order of ids: "Zed" < "acme" < "émile" (upper case first, then ASCII, then é).
    for customer in ("émile", "acme", "Zed"):
        billing.win("usd", f"u-{customer}", customer, minutes(10))
        billing.win("eur", f"e-{customer}", customer, minutes(11))
    billing.customers.put("late15", {"billing_day": 15}, actor="cli")  # period ends 11-15
    billing.win("usd", "u-late15", "late15", minutes(12))
    billing.settings.put({"invoice_grace": "10m"}, actor="cli")
    closing = InvoiceClosing(billing.db)
    assert closing.next_due() == datetime(2026, 11, 15, 0, 10, tzinfo=UTC)
    billing.close(datetime(2026, 11, 15, 0, 9, 59, tzinfo=UTC))
    assert billing.numbered() == []
    billing.close(DEC + timedelta(minutes=10))  # catch-up across both period ends
    assert billing.numbered() == [
        ("EARN-000001", "late15", "USD", str(micros(datetime(2026, 11, 15, tzinfo=UTC)))),
        *[
            (f"EARN-{n:06d}", customer, currency, str(micros(DEC)))
            for n, (customer, currency) in enumerate(
                [("Zed", "EUR"), ("Zed", "USD"), ("acme", "EUR"), ("acme", "USD"),
                 ("émile", "EUR"), ("émile", "USD")],
                start=2,
            )
        ],
    ]  # fmt: skip
    finalized = billing.invoices.get(
        billing.invoices.list(customer="Zed", status="finalized", limit=5).items[0].id
    )
    assert finalized.row.finalized_at == DEC + timedelta(minutes=10)  # the due time, not "now"
    [(counter,)] = rows(billing.db, "SELECT value FROM counters WHERE name = 'invoice_number'")
    assert int(counter) == 7
    actions = rows(
        billing.db, "SELECT action, subject FROM activity WHERE action = 'invoice.finalized'"
    )
    assert len(actions) == 7
    assert verify_all(billing.db).ok
    assert replay_verify(billing.db).ok
    # Nothing more is due until the next period ends (late15's closes at 12-15).
    assert billing.close(DEC + timedelta(days=1)) == 0


def test_a_prefix_change_keeps_the_sequence(billing: Billing) -> None:
    billing.contract("usd", "1 USD")
    billing.win("usd", "a", "acme", minutes(10))
    billing.close(DEC + timedelta(minutes=5))
    billing.settings.put({"invoice_prefix": "ACME-INV"}, actor="cli")
    billing.win("usd", "b", "acme", DEC + timedelta(minutes=10))
    billing.close(JAN + timedelta(minutes=5))
    assert [n for n, *_ in billing.numbered()] == ["EARN-000001", "ACME-INV-000002"]


def test_a_finalized_invoice_never_changes_and_audit_proves_it(billing: Billing) -> None:
    billing.contract("usd", "0.99 USD")
    billing.win("usd", "a", "acme", minutes(10))
    billing.win("usd", "b", "acme", minutes(11))
    billing.close(DEC + timedelta(minutes=5))
    assert verify_all(billing.db).ok
    [(ident,)] = rows(billing.db, "SELECT id FROM invoices")
    execute(billing.db, "UPDATE invoice_lines SET quantity = 1 WHERE invoice_id = ?", (ident,))
    summary = verify_all(billing.db)
    assert not summary.ok
    assert summary.invoices.first_bad is not None
    assert "EARN-000001" in summary.invoices.first_bad
    assert "changed after finalization" in summary.invoices.first_bad
    report = replay_verify(billing.db)
    assert not report.ok
    assert [d.what for d in report.invoice_differences] == ["charge lines"]


def test_replay_names_an_invoice_whose_totals_drifted_from_its_ledger(billing: Billing) -> None:
    billing.contract("usd", "0.99 USD")
    billing.win("usd", "a", "acme", minutes(10))
    billing.close(DEC + timedelta(minutes=5))
    execute(billing.db, "UPDATE invoices SET subtotal = '1.98'")
    report = replay_verify(billing.db)
    assert [(d.number, d.what, d.stored, d.rebuilt) for d in report.invoice_differences] == [
        ("EARN-000001", "subtotal", "1.98", "0.99"),
        ("EARN-000001", "total", "1.98", "0.99"),
    ]


def test_a_credit_for_a_finalized_charge_lands_on_the_current_invoice(billing: Billing) -> None:
    billing.contract("usd", "10 USD")
    billing.win("usd", "a", "acme", minutes(10))
    billing.close(DEC + timedelta(minutes=5))
    billing.clock.now = DEC + timedelta(days=3)
    billing.disputes.open("usd", "a", "customer says it broke", actor="ops")
    answer = billing.disputes.resolve(
        "usd", "a", "credit", "partial refund", amount="4", actor="ops"
    )
    assert answer.dispute.credit_amount == Decimal("4")
    invoices = {i.period.start: i for i in billing.invoices.list(customer="acme", limit=10).items}
    assert set(invoices) == {NOV, DEC}
    november, december = invoices[NOV], invoices[DEC]
    assert (november.status, november.subtotal, november.credits) == (
        "finalized",
        Decimal(10),
        Decimal(0),
    )
    assert (december.status, december.subtotal, december.credits) == (
        "draft",
        Decimal(0),
        Decimal(4),
    )
    december_full = billing.invoices.get(december.id)
    assert december_full.document()["lines"] == [
        {"kind": "credit", "outcome": "a", "contract": "usd", "amount": "-4.00",
         "reason": "dispute: partial refund"},
    ]  # fmt: skip
    assert december_full.total == Decimal("-4.00")  # a credit note
    billing.close(JAN + timedelta(minutes=5))
    assert [n for n, *_ in billing.numbered()] == ["EARN-000001", "EARN-000002"]
    assert verify_all(billing.db).ok
    assert replay_verify(billing.db).ok


def test_billing_day_change_gives_a_short_period_and_is_logged(billing: Billing) -> None:
    billing.clock.now = minutes(5)
    billing.customers.put("acme", {"name": "Acme"}, actor="cli")
    billing.clock.now = datetime(2026, 11, 21, tzinfo=UTC)
    billing.customers.put("acme", {"billing_day": 25}, actor="cli")
    periods = [(p.start.date().isoformat(), p.end.date().isoformat(), state)
               for p, state in billing.invoices.periods("acme")]  # fmt: skip
    assert periods == [
        ("2026-11-01", "2026-12-01", "open"),
        ("2026-12-01", "2026-12-25", "upcoming"),
    ]
    billing.clock.now = datetime(2026, 12, 26, tzinfo=UTC)
    billing.close(billing.clock.now)
    periods = [(p.start.date().isoformat(), p.end.date().isoformat(), state)
               for p, state in billing.invoices.periods("acme")]  # fmt: skip
    assert periods == [
        ("2026-11-01", "2026-12-01", "closed"),
        ("2026-12-01", "2026-12-25", "closed"),
        ("2026-12-25", "2027-01-25", "open"),
        ("2027-01-25", "2027-02-25", "upcoming"),
    ]
    logged = rows(
        billing.db, "SELECT action, before, after FROM activity WHERE subject = 'acme' ORDER BY seq"
    )
    assert [a for a, _, _ in logged] == ["customer.created", "customer.updated"]
    assert '"billing_day":1' in logged[1][1]
    assert '"billing_day":25' in logged[1][2]


def test_a_customer_created_with_a_billing_day_starts_on_it(billing: Billing) -> None:
    billing.clock.now = datetime(2026, 11, 20, tzinfo=UTC)
    billing.customers.put("acme", {"billing_day": 15}, actor="cli")
    [(first, state), _] = billing.invoices.periods("acme")
    assert (first.start, first.end, state) == (
        datetime(2026, 11, 15, tzinfo=UTC), datetime(2026, 12, 15, tzinfo=UTC), "open",
    )  # fmt: skip
    assert [tuple(r) for r in rows(billing.db, "SELECT billing_day FROM billing_days")] == [(15,)]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"invoice_prefix": ""}, "invoice_prefix"),
        ({"invoice_prefix": "EARN 1"}, "invoice_prefix"),
        ({"invoice_grace": "-5m"}, "invoice_grace"),
        ({"invoice_grace": "9d"}, "invoice_grace"),
        ({"public_base_url": "ftp://x"}, "public_base_url"),
        ({"public_base_url": "https://x/?a=1"}, "public_base_url"),
        ({"seller_name": 5}, "seller_name"),
        ({"seller_name": "x" * 1001}, "seller_name"),
        ({"colour": "blue"}, "colour"),
        ({"seller_name": "Fine", "invoice_grace": "soon"}, "invoice_grace"),
    ],
)
def test_bad_settings_are_refused_by_name_and_store_nothing(
    billing: Billing, changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidSetting) as refused:
        billing.settings.put(changes, actor="cli")
    assert refused.value.field == field
    assert isinstance(refused.value, Invalid)
    assert rows(billing.db, "SELECT name FROM settings") == []
    assert rows(billing.db, "SELECT seq FROM activity") == []


def test_settings_changes_are_logged_with_before_and_after(billing: Billing) -> None:
    assert billing.settings.get().invoice_prefix == "EARN"
    after = billing.settings.put(
        {
            "seller_name": "  Earnest Labs ",
            "invoice_grace": "1h30m",
            "public_base_url": "https://b.example/",
        },
        actor="cli",
    )
    assert (after.seller_name, after.invoice_grace, after.public_base_url) == (
        "Earnest Labs", "1h30m", "https://b.example",
    )  # fmt: skip
    assert after.grace == timedelta(minutes=90)
    billing.settings.put({"seller_name": "Earnest Labs"}, actor="cli")  # unchanged: no entry
    billing.settings.put({"public_base_url": None}, actor="cli")
    logged = rows(billing.db, "SELECT actor, action, before, after FROM activity ORDER BY seq")
    assert [(a, b) for a, b, _, _ in logged] == [("cli", "settings.updated")] * 2
    assert billing.settings.get().public_base_url is None


def test_periods_tile_whatever_the_history(billing: Billing) -> None:
    """The store's open period walk agrees with the pure core's periods."""
    billing.clock.now = minutes(1)
    billing.customers.put("acme", {}, actor="cli")
    for day, when in (
        (10, datetime(2026, 11, 5, tzinfo=UTC)),
        (3, datetime(2026, 11, 6, tzinfo=UTC)),
    ):
        billing.clock.now = when
        billing.customers.put("acme", {"billing_day": day}, actor="cli")
    billing.close(datetime(2027, 3, 1, tzinfo=UTC))
    history = BillingDays.of(minutes(1), 1, (datetime(2026, 11, 5, tzinfo=UTC), 10),
                             (datetime(2026, 11, 6, tzinfo=UTC), 3))  # fmt: skip
    expected = history.between(NOV, datetime(2027, 3, 1, tzinfo=UTC))
    billing.clock.now = datetime(2027, 3, 1, tzinfo=UTC)
    found = [p for p, _ in billing.invoices.periods("acme")]
    assert found[: len(expected)] == expected
