"""Invoices (SPEC 6): read drafts and finalized invoices, and finalize each period's invoices
once it has ended and its grace has passed.

An invoice is read from its running totals and aggregate charge lines, never from a scan of
the ledger, so an invoice of 100,000 charges reads as fast as one of 100. Finalization is a
source of due work for the scheduler (:class:`InvoiceClosing`): at ``period end + grace`` it
first applies every outcome deadline that fell before the period's end, then freezes the
customer's invoices of that period in the order SPEC 6 fixes (period end, customer id as
UTF-8 bytes, currency), numbers them from one gapless sequence, records each in the activity
log with the hash of the frozen invoice, and opens the customer's next period.
"""

from __future__ import annotations

import builtins
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from earnest.billing import ChargeLine, CreditLine, Period, lines_json, money_text, round_total
from earnest.clock import Clock
from earnest.engine import DeadlineReached, decide
from earnest.errors import Invalid, NotFound
from earnest.service.activity import SYSTEM, append_activity
from earnest.service.customers import UnknownCustomer
from earnest.service.pages import Page, check_limit, page_of
from earnest.service.recorder import Recorder
from earnest.service.settings import settings_of
from earnest.service.webhooks import PendingEvent, emit
from earnest.store import Database, Tx
from earnest.store.codec import dumps, to_us
from earnest.store.contracts import contract_version
from earnest.store.invoices import (
    InvoiceRow,
    billing_of,
    charge_lines,
    close_period,
    closed_through,
    credit_rows,
    customers_closing,
    drafts_of,
    earliest_open_end,
    finalized_after,
    freeze,
    get_invoice,
    line_charges,
    list_invoices,
    next_number,
)
from earnest.store.outcomes import load_due
from earnest.timefmt import format_time

__all__ = [
    "BATCH",
    "Invoice",
    "InvoiceClosing",
    "InvoiceRow",
    "Invoices",
    "LineCharge",
    "UnknownInvoice",
    "UnknownLine",
    "parse_period",
]

BATCH = 1_000  # customers closed per transaction
STATUSES = ("draft", "finalized")
_MICRO = timedelta(microseconds=1)


class UnknownInvoice(NotFound):
    code = "unknown_invoice"

    def __init__(self, ident: str) -> None:
        super().__init__(f"no invoice {ident!r}", field="id")


class UnknownLine(NotFound):
    code = "unknown_line"

    def __init__(self, invoice: str, contract: str, version: int) -> None:
        super().__init__(
            f"invoice {invoice!r} has no charge line of {contract!r} version {version}",
            field="line",
        )


def parse_period(text: str, *, field: str = "period") -> datetime:
    """``period=YYYY-MM-DD``: the moment (00:00 UTC that day) whose periods are selected."""
    try:
        day = date.fromisoformat(text)
    except (TypeError, ValueError):
        raise Invalid(f"{field} is a date YYYY-MM-DD, got {text!r}", field=field) from None
    if len(text) != 10:
        raise Invalid(f"{field} is a date YYYY-MM-DD, got {text!r}", field=field)
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


_money = money_text


@dataclass(frozen=True, slots=True)
class ChargeLineView:
    description: str
    contract: str
    contract_version: int
    quantity: int
    unit_price: Decimal

    @property
    def amount(self) -> Decimal:
        return self.unit_price * self.quantity


@dataclass(frozen=True, slots=True)
class CreditLineView:
    ledger_id: int
    outcome: str
    contract: str
    amount: Decimal  # positive: the credit; shown negative on the invoice
    reason: str | None
    booked_at: datetime


@dataclass(frozen=True, slots=True)
class LineCharge:
    """One charge behind a charge line: its outcome, as the outcome stands now."""

    ledger_id: int
    outcome: str  # the outcome's reference
    amount: Decimal
    booked_at: datetime
    state: str
    contested: bool
    credited: Decimal  # credited so far, on any invoice


@dataclass(frozen=True, slots=True)
class Invoice:
    """An invoice with its lines, as SPEC 8 shows it."""

    row: InvoiceRow
    charges: tuple[ChargeLineView, ...]
    credits: tuple[CreditLineView, ...]

    @property
    def id(self) -> str:
        return self.row.id

    @property
    def subtotal(self) -> Decimal:
        return self.row.subtotal

    @property
    def credited(self) -> Decimal:
        return self.row.credits

    @property
    def total(self) -> Decimal:
        return round_total(self.row.subtotal - self.row.credits, self.row.currency)

    def document(self) -> dict[str, Any]:
        """The invoice object of SPEC 8 (money as decimal strings); a finalized invoice's
        hash is the SHA-256 of this document's canonical JSON."""
        row = self.row
        currency = row.currency
        charges = [
            ChargeLine(c.description, c.contract, c.contract_version, c.quantity, c.unit_price,
                       c.amount)
            for c in self.charges
        ]  # fmt: skip
        credits = [CreditLine(c.outcome, c.contract, -c.amount, c.reason, c.ledger_id)
                   for c in self.credits]  # fmt: skip
        return {
            "id": row.id,
            "number": row.number,
            "status": row.status,
            "customer": row.customer,
            "currency": row.currency,
            "period": {"start": format_time(row.period.start), "end": format_time(row.period.end)},
            "lines": lines_json(charges, credits, currency),
            "subtotal": _money(row.subtotal, currency),
            "credits": _money(row.credits, currency),
            "total": format(self.total, "f"),  # rounded to ISO 4217's minor unit
            "finalized_at": None if row.finalized_at is None else format_time(row.finalized_at),
        }


def invoice_hash(invoice: Invoice) -> str:
    return hashlib.sha256(dumps(invoice.document()).encode()).hexdigest()


def description(tx: Tx, contract: str, version: int) -> str:
    """A charge line's description: the contract's name (its key when unnamed) and version."""
    found = contract_version(tx, contract, version)
    name = contract if found is None or not found.contract.name else found.contract.name
    return f"{name} (v{version})"


def load_invoice(tx: Tx, row: InvoiceRow) -> Invoice:
    charges = tuple(
        ChargeLineView(description(tx, contract, version), contract, version, quantity, price)
        for contract, version, price, quantity in charge_lines(tx, row.id)
    )
    credits = tuple(
        CreditLineView(ident, ref, contract, amount, reason, booked)
        for ident, contract, ref, amount, reason, booked in credit_rows(tx, row.id)
    )
    return Invoice(row, charges, credits)


class Invoices:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def get(self, ident: str) -> Invoice:
        with self.db.read() as tx:
            row = get_invoice(tx, ident)
            if row is None:
                raise UnknownInvoice(ident)
            return load_invoice(tx, row)

    def list(
        self,
        *,
        customer: str | None = None,
        status: str | None = None,
        period: str | None = None,
        limit: int,
        after: tuple[int, str] | None = None,
    ) -> Page[InvoiceRow]:
        """Newest first; filters by customer, status and ``period=YYYY-MM-DD`` (for each
        customer, its period containing that day)."""
        check_limit(limit)
        if status is not None and status not in STATUSES:
            raise Invalid(f"status is draft or finalized, got {status!r}", field="status")
        containing = None if period is None else parse_period(period)
        with self.db.read() as tx:
            found = list_invoices(
                tx, customer=customer, status=status, containing=containing, limit=limit + 1,
                after=after,
            )  # fmt: skip
        return page_of(found, limit, lambda last: (to_us(last.created_at), last.id))

    def line(
        self,
        ident: str,
        contract: str,
        version: int,
        *,
        limit: int,
        after: tuple[int] | None = None,
    ) -> tuple[Invoice, ChargeLineView, Page[LineCharge]]:
        """A charge line of invoice ``ident`` (the charges of ``contract`` version
        ``version``) and a page of the charges behind it, in booking order; ``after`` is
        the previous page's last ledger id. ``UnknownInvoice``, or ``UnknownLine`` when the
        invoice has no such line."""
        check_limit(limit)
        with self.db.read() as tx:
            row = get_invoice(tx, ident)
            if row is None:
                raise UnknownInvoice(ident)
            invoice = load_invoice(tx, row)
            line = next(
                (c for c in invoice.charges
                 if (c.contract, c.contract_version) == (contract, version)),
                None,
            )  # fmt: skip
            if line is None:
                raise UnknownLine(ident, contract, version)
            found = [
                LineCharge(*charge)
                for charge in line_charges(
                    tx, ident, contract, version, after_id=0 if after is None else after[0],
                    limit=limit + 1,
                )
            ]  # fmt: skip
        return invoice, line, page_of(found, limit, lambda last: (last.ledger_id,))

    def periods(self, customer: str) -> builtins.list[tuple[Period, str]]:
        """The customer's periods, past, current and next, each with its state: ``closed``
        (its invoices finalized), ``open`` or ``upcoming`` (starts after now)."""
        now = self.clock()
        with self.db.read() as tx:
            billing = billing_of(tx, [customer]).get(customer)
        if billing is None:
            raise UnknownCustomer(customer)
        found: list[tuple[Period, str]] = []
        for period in billing.days.periods():
            if period.start > now:
                # the next period, as the history stands now
                found.append((period, "upcoming"))
                return found
            found.append((period, "closed" if period.end <= billing.open.start else "open"))
        raise AssertionError("unreachable: periods run without end")


# Finalization ---------------------------------------------------------------------------


class InvoiceClosing:
    """The scheduler's source of period closings: due at each open period's end + grace."""

    name = "invoices"

    def __init__(self, db: Database, batch: int = BATCH) -> None:
        self.db = db
        self.batch = batch

    def next_due(self) -> datetime | None:
        with self.db.read() as tx:
            end = earliest_open_end(tx)
            if end is None:
                return None
            return end + settings_of(tx).grace

    def fire_due(self, now: datetime) -> int:
        with self.db.write() as tx:
            return close_due(tx, now, self.batch)


def close_due(tx: Tx, now: datetime, batch: int) -> int:
    """Close customers' periods due at ``now``, earliest period end first, up to ``batch``
    pieces of work (deadlines fired and customers closed); how many. Fewer than ``batch``
    means nothing more is due (the :class:`~earnest.service.due.DueWork` contract)."""
    settings = settings_of(tx)
    done = 0
    events: list[PendingEvent] = []
    while done < batch:
        end = earliest_open_end(tx)
        if end is None or end + settings.grace > now:
            break
        # Every deadline that fell before the period's end first, stamped with its own time,
        # so no charge settled by its window before the end misses the period's invoice.
        deadlines = load_due(tx, end - _MICRO, batch - done)
        if deadlines:
            recorder = Recorder()
            for stored in deadlines:
                recorder.record(stored, decide(stored.outcome, DeadlineReached(), end - _MICRO))
            recorder.flush(tx)
            done += len(deadlines)
            continue
        closing = customers_closing(tx, end, batch - done)
        assert closing, "the earliest open period end is some customer's"
        closed_through(tx, end)
        billing = billing_of(tx, [customer for customer, _ in closing])
        for customer, period in closing:
            for draft in drafts_of(tx, customer, period.start):
                events.append(_finalize(tx, draft, settings.invoice_prefix, end + settings.grace))
            close_period(tx, customer, billing[customer].days.after(period))
        done += len(closing)
    emit(tx, events)
    return done


def _finalize(tx: Tx, draft: InvoiceRow, prefix: str, at: datetime) -> PendingEvent:
    """Freeze and number ``draft``; its ``invoice.finalized`` webhook event, for the caller
    to emit with the batch's others (one read of the endpoints per transaction)."""
    sequence = next_number(tx)
    number = f"{prefix}-{sequence:06d}"
    row = InvoiceRow(
        draft.id, draft.customer, draft.currency, draft.period, "finalized", number, sequence,
        draft.subtotal, draft.credits, draft.created_at, at, None,
    )  # fmt: skip
    frozen = load_invoice(tx, row)
    digest = invoice_hash(frozen)
    freeze(tx, draft.id, number=number, sequence=sequence, at=at, digest=digest)
    append_activity(
        tx, at=at, actor=SYSTEM, action="invoice.finalized", subject=draft.id, before=None,
        after={"number": number, "customer": draft.customer, "currency": draft.currency,
               "total": format(frozen.total, "f"), "hash": digest},
    )  # fmt: skip
    return PendingEvent("invoice.finalized", at, f"invoice:{draft.id}", frozen.document)


def finalized_invoices(db: Database, chunk: int = 200) -> Iterator[Invoice]:
    """Every finalized invoice as stored, a chunk per read transaction."""
    after = ""
    while True:
        with db.read() as tx:
            rows = finalized_after(tx, after, chunk)
            invoices = [load_invoice(tx, row) for row in rows]
        yield from invoices
        if len(rows) < chunk:
            return
        after = rows[-1].id
