"""Billing in the store: billing-day histories, each customer's first open period, invoices
with running totals and aggregate charge lines, and the gapless invoice number (SPEC 6).

An invoice's id is derived from what identifies it, (customer, period start, currency): it is
opaque, it exists from the first ledger entry on, and a booking needs no lookup to name it.
Its ``subtotal`` and ``credits`` and its charge lines' quantities are kept current by every
booking, so a draft is never a scan of the ledger.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from earnest.billing import BillingDays, Period
from earnest.store.base import Tx
from earnest.store.codec import from_us, loads, money_value, opt_time, to_us

COUNTER = "invoice_number"
CLOSED_THROUGH = "closed_through"
_INVOICE = (
    "id, customer, currency, period_start, period_end, status, number, sequence, subtotal,"
    " credits, created_at, finalized_at, hash"
)


@functools.lru_cache(maxsize=65_536)
def invoice_id(customer: str, period_start: datetime, currency: str) -> str:
    """The invoice of (customer, period, currency): opaque, stable, unique."""
    key = f"{customer}\x00{period_start.isoformat()}\x00{currency}".encode()
    return "inv_" + hashlib.sha256(key).hexdigest()[:24]


def price_key(amount: Decimal) -> str:
    """A unit price as its line's key and text: exactly as the contract version wrote it
    (a version has one price, so its charges all write it alike)."""
    return format(amount, "f")


# Billing days and open periods ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Billing:
    """A customer's billing-day history and first open period (every one before is closed)."""

    days: BillingDays
    open: Period

    def place(self, moment: datetime) -> tuple[Period, Period | None]:
        """The period a ledger entry of ``moment`` is booked into, and the period it would
        have been in when that one is closed (SPEC 6: then the first open period)."""
        return self.days.place(moment, self.open)


def open_periods(tx: Tx, customers: Iterable[str]) -> dict[str, Period]:
    """Each stored customer's first open period."""
    return {
        ident: Period(from_us(int(start)), from_us(int(end)))
        for ident, start, end in tx.query_in(
            "SELECT id, open_start, open_end FROM customers WHERE id IN {values}", customers
        )
    }


def billing_days_of(tx: Tx, customers: Iterable[str]) -> dict[str, BillingDays]:
    changes: dict[str, list[tuple[datetime, int]]] = {}
    for customer, since, day in tx.query_in(
        "SELECT customer, since, billing_day FROM billing_days WHERE customer IN {values}"
        " ORDER BY customer, id",
        customers,
    ):
        changes.setdefault(customer, []).append((from_us(int(since)), int(day)))
    return {ident: BillingDays(tuple(found)) for ident, found in changes.items()}


def billing_of(tx: Tx, customers: Iterable[str]) -> dict[str, Billing]:
    """Each customer's billing (customers not stored are left out)."""
    wanted = list(dict.fromkeys(customers))
    days = billing_days_of(tx, wanted)
    return {
        ident: Billing(days[ident], period) for ident, period in open_periods(tx, wanted).items()
    }


def place_all(
    tx: Tx, bookings: Sequence[tuple[str, datetime]]
) -> list[tuple[Period, Period | None]]:
    """Where each ``(customer, moment)`` booking goes: ``Billing.place`` for each, reading a
    billing-day history only for customers with a booking outside their open period (most
    bookings fall in it: a settlement batch reads one row per customer)."""
    opens = open_periods(tx, (customer for customer, _ in bookings))
    outside = {c for c, moment in bookings if moment not in opens[c]}
    billing = {}
    if outside:
        days = billing_days_of(tx, outside)
        billing = {c: Billing(days[c], opens[c]) for c in outside}
    return [
        (opens[c], None) if c not in billing else billing[c].place(moment) for c, moment in bookings
    ]


def start_billing(tx: Tx, customers: Mapping[str, tuple[datetime, int]]) -> None:
    """Begin the billing-day history of new customers: ``{id: (created_at, billing_day)}``,
    their first open period being their first period."""
    closed = tx.one("SELECT value FROM counters WHERE name = ?", (CLOSED_THROUGH,))
    closed_us = 0 if closed is None else int(closed[0])
    rows = []
    for ident, (created, day) in customers.items():
        days = BillingDays.of(created, day)
        first = days.first()
        # A period end already closed (a creation stamped before it, committed after): its
        # numbers are given, so the customer's first open period is the one after it, and
        # entries stamped earlier move forward like any entry of a closed period.
        while to_us(first.end) <= closed_us:
            first = days.after(first)
        rows.append((to_us(first.start), to_us(first.end), ident))
    tx.executemany(
        "INSERT INTO billing_days (customer, since, billing_day)"
        " SELECT id, created_at, billing_day FROM customers WHERE id = ?",
        [(ident,) for ident in customers],
    )
    tx.executemany("UPDATE customers SET open_start = ?, open_end = ? WHERE id = ?", rows)


def billing_day_floor(tx: Tx, customer: str) -> datetime | None:
    """The earliest moment a billing-day change of ``customer`` may take effect without
    moving a period that is closed or already holds a ledger entry, and without going back
    before its last change: the latest of its first open period's start, its last invoiced
    period's start and its last change."""
    row = tx.one(
        "SELECT c.open_start,"
        " (SELECT MAX(i.period_start) FROM invoices i WHERE i.customer = c.id),"
        " (SELECT MAX(b.since) FROM billing_days b WHERE b.customer = c.id)"
        " FROM customers c WHERE c.id = ?",
        (customer,),
    )
    if row is None or row[0] is None:
        return None
    return from_us(max(int(value or 0) for value in row))


def change_billing_day(tx: Tx, customer: str, since: datetime, day: int) -> None:
    tx.execute(
        "INSERT INTO billing_days (customer, since, billing_day) VALUES (?, ?, ?)",
        (customer, to_us(since), day),
    )


def closed_through(tx: Tx, end: datetime) -> None:
    """Record that the period end ``end`` is being closed (the latest closed, monotonic)."""
    tx.execute(
        "UPDATE counters SET value = ? WHERE name = ? AND value < ?",
        (to_us(end), CLOSED_THROUGH, to_us(end)),
    )


def close_period(tx: Tx, customer: str, following: Period) -> None:
    """Make ``following`` the customer's first open period."""
    tx.execute(
        "UPDATE customers SET open_start = ?, open_end = ? WHERE id = ?",
        (to_us(following.start), to_us(following.end), customer),
    )


def earliest_open_end(tx: Tx) -> datetime | None:
    row = tx.one("SELECT MIN(open_end) FROM customers")
    return None if row is None or row[0] is None else from_us(int(row[0]))


def customers_closing(tx: Tx, end: datetime, limit: int) -> list[tuple[str, Period]]:
    """Up to ``limit`` customers whose open period ends at ``end``, by id as UTF-8 bytes."""
    rows = tx.query(
        f"SELECT id, open_start FROM customers WHERE open_end = ? ORDER BY id{tx.BYTES} LIMIT ?",
        (to_us(end), limit),
    )
    return [(ident, Period(from_us(int(start)), end)) for ident, start in rows]


# Invoices --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InvoiceRow:
    id: str
    customer: str
    currency: str
    period: Period
    status: str  # draft | finalized
    number: str | None
    sequence: int | None
    subtotal: Decimal
    credits: Decimal
    created_at: datetime
    finalized_at: datetime | None
    hash: str | None


def _invoice(row: Sequence[Any]) -> InvoiceRow:
    ident, customer, currency, start, end, status, number, sequence = row[:8]
    subtotal, credits, created, finalized, digest = row[8:]
    return InvoiceRow(
        ident, customer, currency, Period(from_us(int(start)), from_us(int(end))), status,
        number, None if sequence is None else int(sequence), money_value(subtotal) or Decimal(0),
        money_value(credits) or Decimal(0), from_us(int(created)),
        opt_time(None if finalized is None else int(finalized)), digest,
    )  # fmt: skip


def load_totals(tx: Tx, ids: Iterable[str]) -> dict[str, tuple[str, Decimal, Decimal]]:
    """``{id: (status, subtotal, credits)}`` of the invoices that exist: what a booking
    needs to bring their running totals up to date."""
    found = {}
    for ident, status, subtotal, credits in tx.query_in(
        "SELECT id, status, subtotal, credits FROM invoices WHERE id IN {values}", ids
    ):
        found[ident] = (status, Decimal(subtotal), Decimal(credits))
    return found


def get_invoice(tx: Tx, ident: str) -> InvoiceRow | None:
    row = tx.one(f"SELECT {_INVOICE} FROM invoices WHERE id = ?", (ident,))
    return None if row is None else _invoice(row)


def insert_invoices(tx: Tx, invoices: Sequence[InvoiceRow]) -> None:
    tx.insert_rows(
        "invoices",
        ("id", "customer", "currency", "period_start", "period_end", "status", "subtotal",
         "credits", "created_at"),
        [
            (i.id, i.customer, i.currency, to_us(i.period.start), to_us(i.period.end), i.status,
             tx.money(i.subtotal), tx.money(i.credits), to_us(i.created_at))
            for i in invoices
        ],
    )  # fmt: skip


def update_totals(tx: Tx, totals: Sequence[tuple[str, Decimal, Decimal]]) -> None:
    """Write each draft's new ``(id, subtotal, credits)``."""
    tx.executemany(
        "UPDATE invoices SET subtotal = ?, credits = ? WHERE id = ? AND status = 'draft'",
        [(tx.money(subtotal), tx.money(credits), ident) for ident, subtotal, credits in totals],
    )


def add_to_lines(tx: Tx, counts: Mapping[tuple[str, str, int, str], int]) -> None:
    """Add charges to charge lines: ``{(invoice, contract, version, unit price key): n}``."""
    tx.executemany(
        "INSERT INTO invoice_lines (invoice_id, contract, contract_version, unit_price, quantity)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (invoice_id, contract, contract_version, unit_price)"
        " DO UPDATE SET quantity = invoice_lines.quantity + excluded.quantity",
        [(*key, count) for key, count in counts.items()],
    )


def charge_lines(tx: Tx, invoice: str) -> list[tuple[str, int, Decimal, int]]:
    """``(contract, version, unit price, quantity)`` of each charge line, in that order."""
    rows = tx.query(
        "SELECT contract, contract_version, unit_price, quantity FROM invoice_lines"
        f" WHERE invoice_id = ? ORDER BY contract{tx.BYTES}, contract_version",
        (invoice,),
    )
    lines = [(c, int(v), Decimal(p), int(q)) for c, v, p, q in rows]
    lines.sort(key=lambda line: (line[0], line[1], line[2]))
    return lines


def credit_rows(tx: Tx, invoice: str) -> list[tuple[int, str, str, Decimal, str | None, datetime]]:
    """``(ledger id, contract, outcome ref, amount, reason, booked at)`` of each credit."""
    rows = tx.query(
        "SELECT l.id, o.contract, o.ref, l.amount, l.reason, l.booked_at FROM ledger l"
        " JOIN outcomes o ON o.id = l.outcome_id"
        " WHERE l.invoice_id = ? AND l.kind = 'credit' ORDER BY l.booked_at, l.id",
        (invoice,),
    )
    found = []
    for ident, contract, ref, amount, reason, booked in rows:
        value = money_value(amount)
        assert value is not None
        found.append((int(ident), contract, ref, value, reason, from_us(int(booked))))
    return found


def drafts_of(tx: Tx, customer: str, period_start: datetime) -> list[InvoiceRow]:
    """The customer's draft invoices of the period starting at ``period_start``, by currency."""
    rows = tx.query(
        f"SELECT {_INVOICE} FROM invoices WHERE customer = ? AND period_start = ?"
        f" AND status = 'draft' ORDER BY currency{tx.BYTES}",
        (customer, to_us(period_start)),
    )
    return [_invoice(row) for row in rows]


def next_number(tx: Tx) -> int:
    """Take the next invoice number (the caller holds the write lock: gapless, in order)."""
    row = tx.one(f"SELECT value FROM counters WHERE name = ?{tx.FOR_UPDATE}", (COUNTER,))
    assert row is not None
    value = int(row[0]) + 1
    tx.execute("UPDATE counters SET value = ? WHERE name = ?", (value, COUNTER))
    return value


def freeze(tx: Tx, ident: str, *, number: str, sequence: int, at: datetime, digest: str) -> None:
    tx.execute(
        "UPDATE invoices SET status = 'finalized', number = ?, sequence = ?, finalized_at = ?,"
        " hash = ? WHERE id = ? AND status = 'draft'",
        (number, sequence, to_us(at), digest, ident),
    )


def list_invoices(
    tx: Tx,
    *,
    customer: str | None,
    status: str | None,
    containing: datetime | None,
    limit: int,
    after: tuple[int, str] | None,
) -> list[InvoiceRow]:
    """Newest first (by creation, then id). ``containing``: only invoices whose period holds
    that moment (a ``period=`` filter: periods tile time, so one period per customer)."""
    where: list[str] = []
    params: list[Any] = []
    if customer is not None:
        where.append("customer = ?")
        params.append(customer)
    if status is not None:
        where.append("status = ?")
        params.append(status)
    if containing is not None:
        where.append("period_start <= ? AND period_end > ?")
        params += [to_us(containing), to_us(containing)]
    if after is not None:
        where.append("(created_at < ? OR (created_at = ? AND id > ?))")
        params += [after[0], after[0], after[1]]
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    rows = tx.query(
        f"SELECT {_INVOICE} FROM invoices{clause} ORDER BY created_at DESC, id LIMIT ?",
        [*params, limit],
    )
    return [_invoice(row) for row in rows]


def finalized_after(tx: Tx, after: str, limit: int) -> list[InvoiceRow]:
    """Finalized invoices by id, the ``limit`` after ``after``."""
    rows = tx.query(
        f"SELECT {_INVOICE} FROM invoices WHERE status = 'finalized' AND id > ?"
        " ORDER BY id LIMIT ?",
        (after, limit),
    )
    return [_invoice(row) for row in rows]


def invoice_ledger(tx: Tx, invoice: str) -> list[tuple[Any, ...]]:
    """Every ledger row on ``invoice``: ``(id, kind, customer, amount, currency, period_start,
    booked_at, reason, contract, contract_version, ref)``, in booking order."""
    return tx.query(
        "SELECT l.id, l.kind, l.customer, l.amount, l.currency, l.period_start, l.booked_at,"
        " l.reason, o.contract, o.contract_version, o.ref FROM ledger l"
        " JOIN outcomes o ON o.id = l.outcome_id WHERE l.invoice_id = ? ORDER BY l.id",
        (invoice,),
    )


def finalization_hashes(tx: Tx, ids: Iterable[str]) -> dict[str, str | None]:
    """The hash each invoice's ``invoice.finalized`` activity entry recorded."""
    rows = tx.query_in(
        "SELECT subject, after FROM activity WHERE action = 'invoice.finalized'"
        " AND subject IN {values}",
        ids,
    )
    found: dict[str, str | None] = {}
    for subject, after in rows:
        found[subject] = None if after is None else loads(after).get("hash")
    return found


def line_charges(
    tx: Tx, invoice: str, contract: str, version: int, *, after_id: int, limit: int
) -> list[tuple[int, str, Decimal, datetime, str, bool, Decimal]]:
    """The charges on ``invoice`` of outcomes of ``contract`` version ``version`` (one charge
    line), by ledger id after ``after_id``: ``(ledger id, outcome ref, amount, booked at,
    outcome state, contested, credited so far)``. A range scan of ``ledger_invoice``."""
    rows = tx.query(
        "SELECT l.id, o.ref, l.amount, l.booked_at, o.state, o.contested, o.credited"
        " FROM ledger l JOIN outcomes o ON o.id = l.outcome_id"
        " WHERE l.invoice_id = ? AND l.kind = 'charge' AND l.id > ?"
        " AND o.contract = ? AND o.contract_version = ? ORDER BY l.id LIMIT ?",
        (invoice, after_id, contract, version, limit),
    )
    found = []
    for ident, ref, amount, booked, state, contested, credited in rows:
        value = money_value(amount)
        assert value is not None
        found.append(
            (int(ident), ref, value, from_us(int(booked)), state, bool(contested),
             money_value(credited) or Decimal(0))
        )  # fmt: skip
    return found
