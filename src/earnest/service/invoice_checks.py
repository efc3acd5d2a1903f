"""Proving finalized invoices: rebuilt from the ledger (``replay --verify``) and unchanged
since they were frozen (``audit verify``).

- **Rebuilt**: every ledger row on a finalized invoice is read back and the invoice is built
  again by the pure billing core (:func:`earnest.billing.invoice_lines`, :func:`totals`); the
  stored charge lines, subtotal, credits and total must be what it gives. Each row must also
  belong there: the invoice's customer and currency, its id derived from the row's period, and
  a booking time before the period's end (an entry is only ever moved forward, never back).
- **Unchanged**: the invoice as stored now hashes to the hash frozen in the invoice row and to
  the hash its ``invoice.finalized`` activity entry recorded (the activity chain proves that
  entry unedited).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from earnest.billing import Booking, invoice_lines, totals
from earnest.billing.periods import midnight
from earnest.service.invoices import Invoice, finalized_invoices, invoice_hash
from earnest.store import Database
from earnest.store.codec import from_us, money_value
from earnest.store.invoices import finalization_hashes, invoice_id, invoice_ledger, price_key


@dataclass(frozen=True, slots=True)
class InvoiceDifference:
    invoice: str
    number: str | None
    what: str
    stored: str
    rebuilt: str

    def describe(self) -> str:
        return (
            f"invoice {self.number} ({self.invoice}): {self.what}:"
            f" stored {self.stored}, rebuilt {self.rebuilt}"
        )


def rebuild_differences(db: Database) -> Iterator[tuple[Invoice, list[InvoiceDifference]]]:
    """Each finalized invoice with how it differs from the one its ledger rows make."""
    for invoice in finalized_invoices(db):
        with db.read() as tx:
            rows = invoice_ledger(tx, invoice.id)
        yield invoice, _compare(invoice, rows)


def _compare(invoice: Invoice, rows: list[tuple[object, ...]]) -> list[InvoiceDifference]:
    row = invoice.row
    found: list[InvoiceDifference] = []

    def differ(what: str, stored: object, rebuilt: object) -> None:
        found.append(InvoiceDifference(row.id, row.number, what, str(stored), str(rebuilt)))

    bookings = []
    for (
        ident,
        kind,
        customer,
        amount,
        currency,
        start,
        booked,
        reason,
        contract,
        version,
        ref,
    ) in rows:
        value = money_value(amount)
        assert value is not None
        at = from_us(int(booked))  # type: ignore[call-overload]
        if customer != row.customer or currency != row.currency:
            differ(
                f"ledger row {ident}", f"{customer} {currency}", f"{row.customer} {row.currency}"
            )
        expected = invoice_id(
            str(customer), midnight(date.fromisoformat(str(start))), str(currency)
        )
        if expected != row.id:
            differ(f"ledger row {ident} period", f"on {row.id}", f"belongs on {expected}")
        if at >= row.period.end:
            differ(
                f"ledger row {ident} time", at.isoformat(), f"before {row.period.end.isoformat()}"
            )
        bookings.append(
            Booking(
                int(ident), kind, str(ref), str(contract), int(version), "",  # type: ignore[arg-type, call-overload]
                value, str(currency), at, None if reason is None else str(reason),
            )
        )  # fmt: skip
    charges, credits = invoice_lines(bookings)
    rebuilt_lines = [
        (c.contract, c.contract_version, price_key(c.unit_price), c.quantity) for c in charges
    ]
    stored_lines = [
        (c.contract, c.contract_version, price_key(c.unit_price), c.quantity)
        for c in invoice.charges
    ]
    if stored_lines != rebuilt_lines:
        differ("charge lines", stored_lines, rebuilt_lines)
    stored_credits = [(c.ledger_id, c.amount) for c in invoice.credits]
    rebuilt_credits = [(c.ledger_id, -c.amount) for c in credits]
    if stored_credits != rebuilt_credits:
        differ("credit lines", stored_credits, rebuilt_credits)
    summed = totals(charges, credits, row.currency)
    for what, was, now in (
        ("subtotal", row.subtotal, summed.subtotal),
        ("credits", row.credits, summed.credits),
        ("total", invoice.total, summed.total),
    ):
        if Decimal(was) != now:
            differ(what, was, now)
    return found


@dataclass(frozen=True, slots=True)
class FrozenReport:
    ok: bool
    checked: int
    first_bad: str | None = None

    def describe(self) -> str:
        if self.first_bad is None:
            return f"ok: {self.checked} finalized invoices, each as it was frozen"
        return f"broken: {self.first_bad}"


def verify_frozen(db: Database) -> FrozenReport:
    """Every finalized invoice hashes as it did when it was frozen."""
    checked = 0
    for invoice in finalized_invoices(db):
        with db.read() as tx:
            recorded = finalization_hashes(tx, [invoice.id]).get(invoice.id)
        now = invoice_hash(invoice)
        label = f"invoice {invoice.row.number} ({invoice.id})"
        if recorded is None:
            return FrozenReport(False, checked, f"{label}: no invoice.finalized activity entry")
        if now != recorded or invoice.row.hash != recorded:
            return FrozenReport(
                False, checked,
                f"{label} changed after finalization: it hashes to {now[:16]}…, its"
                f" finalization recorded {recorded[:16]}…",
            )  # fmt: skip
        checked += 1
    return FrozenReport(True, checked)
