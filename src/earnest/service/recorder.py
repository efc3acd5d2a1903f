"""Collects the decisions made inside one write transaction and writes them together.

Every decision's effects (history entries, the outcome's new state and deadline, charges and
credits, the signal rows, new customers and outcomes) are written by :meth:`Recorder.flush` in
the same transaction as the reads that led to them: one transaction per decision, or per batch
of decisions.

An outcome opened in the batch has no row yet: it carries a provisional negative id until
``flush`` inserts all new outcomes at once, in their final state, and puts the real ids into
the history entries, signal rows and ledger items that named it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import msgspec

from earnest.billing import Period, credit_reason
from earnest.engine import Decision, Entry
from earnest.service.webhooks import PendingEvent, emit
from earnest.store import Tx
from earnest.store.codec import to_us
from earnest.store.customers import ensure_customers
from earnest.store.disputes import latest_dispute, open_dispute, resolve_dispute
from earnest.store.invoices import (
    InvoiceRow,
    add_to_lines,
    insert_invoices,
    invoice_id,
    load_totals,
    place_all,
    price_key,
    update_totals,
)
from earnest.store.ledger import LedgerItem, book, entries_of, next_ledger_id
from earnest.store.outcomes import (
    StoredOutcome,
    append_history,
    insert_outcomes,
    update_outcomes,
)
from earnest.store.signals import insert_signals

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class _SignalRow:
    id: str | None
    fingerprint: str
    outcome_id: int
    received_at_us: int
    entry_index: int  # index of its "signal" entry among the pending entries


@dataclass(frozen=True, slots=True)
class _Booking:
    outcome_id: int
    customer: str
    contract: str
    contract_version: int
    entry: Entry
    entry_index: int


@dataclass(frozen=True, slots=True)
class _Placed:
    """A booking with what the store gives it: its ledger id, period and invoice."""

    booking: _Booking
    ledger_id: int
    period: Period
    invoice: str
    reason: str | None


@dataclass(slots=True)
class Recorder:
    touched: dict[int, StoredOutcome] = field(default_factory=dict)
    entries: list[tuple[int, Entry]] = field(default_factory=list)
    signals: list[_SignalRow] = field(default_factory=list)
    bookings: list[_Booking] = field(default_factory=list)
    opened: list[StoredOutcome] = field(default_factory=list)
    customers: dict[str, datetime] = field(default_factory=dict)  # first mention, when

    def open(self, opening: Decision) -> StoredOutcome:
        """Take the decision that opens a new outcome; it is inserted by :meth:`flush`, with
        its customer when that is new."""
        stored = StoredOutcome(-1 - len(self.opened), opening.outcome)
        self.opened.append(stored)
        self.customers.setdefault(opening.outcome.customer, opening.outcome.opened_at)
        self.record(stored, opening)
        return stored

    def record(self, stored: StoredOutcome, decision: Decision) -> None:
        """Take one decision for ``stored`` (its outcome becomes the decision's)."""
        stored.outcome = decision.outcome
        self.touched[stored.id] = stored
        outcome = decision.outcome
        for entry in decision.effects.entries:
            if entry.kind in ("charge", "credit"):
                self.bookings.append(
                    _Booking(
                        stored.id, outcome.customer, outcome.contract.key,
                        outcome.contract_version, entry, len(self.entries),
                    )
                )  # fmt: skip
            self.entries.append((stored.id, entry))

    def record_signal(
        self,
        stored: StoredOutcome,
        decision: Decision,
        ident: str | None,
        fingerprint: str,
        received_at: datetime,
    ) -> None:
        """Take the decision of one signal, and the signal's own row."""
        index = len(self.entries)
        for entry in decision.effects.entries:
            if entry.kind == "signal":
                break
            index += 1
        self.record(stored, decision)
        self.signals.append(_SignalRow(ident, fingerprint, stored.id, to_us(received_at), index))

    def flush(self, tx: Tx) -> list[int]:
        """Write everything recorded; returns the history ``seq`` of each pending entry."""
        real = self._insert_opened(tx)
        ledger = self._assign_ledger(tx)
        seqs = append_history(tx, [(real.get(o, o), entry) for o, entry in self.entries])
        update_outcomes(tx, [s for key, s in self.touched.items() if key > 0])  # new: inserted
        insert_signals(
            tx,
            [
                (
                    s.id,
                    s.fingerprint,
                    real.get(s.outcome_id, s.outcome_id),
                    s.received_at_us,
                    seqs[s.entry_index],
                )
                for s in self.signals
            ],
        )
        items = [
            LedgerItem(
                p.ledger_id,
                p.booking.entry.kind,
                real.get(p.booking.outcome_id, p.booking.outcome_id),
                p.booking.customer,
                Decimal(p.booking.entry.data["amount"]),
                p.booking.entry.data["currency"],
                _days(p.period)[0],
                p.booking.entry.at,
                seqs[p.booking.entry_index],
                _days(p.period)[1],
                p.invoice,
                p.reason,
            )
            for p in ledger
        ]
        book(tx, items)
        _add_to_invoices(tx, ledger)
        self._record_disputes(tx, real)
        emit(tx, self._events(tx, real, items))
        return seqs

    def _events(self, tx: Tx, real: dict[int, int], items: list[LedgerItem]) -> list[PendingEvent]:
        """The webhook events of the recorded decisions (SPEC 10), their data built only for
        the events an endpoint wants, from what this transaction wrote."""
        found: list[PendingEvent] = []
        booked = {item.id: item for item in items}
        ledgers: dict[int, list[LedgerItem]] | None = None

        def view(outcome_id: int) -> dict[str, Any]:
            from earnest.service import views  # noqa: PLC0415  (views imports this module's users)
            from earnest.service.outcomes import OutcomeView  # noqa: PLC0415

            nonlocal ledgers
            if ledgers is None:  # once per transaction, even if it finds no entry at all
                ledgers = entries_of(tx, [real.get(o, o) for o in self.touched])
            stored = self.touched[outcome_id]
            ident = real.get(outcome_id, outcome_id)
            return views.outcome_json(OutcomeView(stored.outcome, tuple(ledgers.get(ident, ()))))

        def ledger_row(ledger_id: int, outcome_id: int) -> dict[str, Any]:
            from earnest.service import views  # noqa: PLC0415
            from earnest.store.ledger import LedgerRow  # noqa: PLC0415

            outcome = self.touched[outcome_id].outcome
            row = LedgerRow(booked[ledger_id], outcome.contract.key, outcome.ref)
            return views.ledger_json(row)

        def dispute(outcome_id: int) -> dict[str, Any]:
            from earnest.service import views  # noqa: PLC0415

            found = latest_dispute(tx, real.get(outcome_id, outcome_id))
            assert found is not None
            return views.dispute_json(found)

        for outcome_id, entry in self.entries:
            key = f"outcome:{real.get(outcome_id, outcome_id)}"
            kinds: list[tuple[str, Callable[[], Any]]] = []
            if entry.kind == "transition" and entry.data["from"] != entry.data["to"]:
                to = entry.data["to"]
                if to in ("in_review", "confirmed", "cancelled"):
                    kinds.append((f"outcome.{to}", functools.partial(view, outcome_id)))
            elif entry.kind in ("charge", "credit"):
                build = functools.partial(ledger_row, entry.data["ledger_id"], outcome_id)
                kinds.append((f"{entry.kind}.booked", build))
            elif entry.kind == "dispute":
                if entry.data["action"] == "opened":
                    kinds.append(("outcome.contested", functools.partial(view, outcome_id)))
                    kinds.append(("dispute.opened", functools.partial(dispute, outcome_id)))
                else:
                    kinds.append(("dispute.resolved", functools.partial(dispute, outcome_id)))
            found += [PendingEvent(kind, entry.at, key, build) for kind, build in kinds]
        return found

    def _assign_ledger(self, tx: Tx) -> list[_Placed]:
        """Give each booking its ledger id, period and invoice, and write them into the
        booking's history entry, so the hash chain covers them (SPEC 6: an entry whose
        period is closed goes to the customer's first open period, and says so)."""
        if not self.bookings:
            return []
        places = place_all(tx, [(b.customer, b.entry.at) for b in self.bookings])
        ident = next_ledger_id(tx)
        placed = []
        for b, (period, moved_from) in zip(self.bookings, places, strict=True):
            entry = b.entry
            invoice = invoice_id(b.customer, period.start, entry.data["currency"])
            start, end = _days(period)
            data = {
                **entry.data,
                "ledger_id": ident,
                "period_start": start,
                "period_end": end,
                "invoice": invoice,
            }
            if moved_from is not None:
                data["moved_from"] = {
                    "start": moved_from.start.date().isoformat(),
                    "end": moved_from.end.date().isoformat(),
                    "why": "that period's invoice was already finalized",
                }
            booked = msgspec.structs.replace(entry, data=data)
            self.entries[b.entry_index] = (self.entries[b.entry_index][0], booked)
            placed.append(_Placed(b, ident, period, invoice, self._credit_reason(b)))
            ident += 1
        return placed

    def _credit_reason(self, booking: _Booking) -> str | None:
        """A credit line's reason (SPEC 6): the dispute's note, or the late signal (the one
        whose check led to the credit: the last signal entry of its outcome before it)."""
        if booking.entry.kind != "credit":
            return None
        late = None
        for outcome_id, earlier in reversed(self.entries[: booking.entry_index]):
            if outcome_id == booking.outcome_id and earlier.kind == "signal":
                late = str(earlier.data["signal"])
                break
        return credit_reason(booking.entry.data, late)

    def _record_disputes(self, tx: Tx, real: dict[int, int]) -> None:
        """Open or resolve the dispute rows the decisions' ``dispute`` entries describe."""
        for index, (outcome_id, entry) in enumerate(self.entries):
            if entry.kind != "dispute":
                continue
            outcome = real.get(outcome_id, outcome_id)
            stored = self.touched[outcome_id]
            if entry.data["action"] == "opened":
                open_dispute(
                    tx, outcome, stored.outcome.customer, entry.at,
                    by=entry.data["by"], reason=entry.data["reason"],
                )  # fmt: skip
                continue
            credit = None
            following = self.entries[index + 1] if index + 1 < len(self.entries) else None
            if following is not None and following[1].kind == "credit":
                credit = following[1].data["ledger_id"]
            amount = entry.data.get("amount")
            resolve_dispute(
                tx, outcome, entry.at, by=entry.data["by"], resolution=entry.data["resolution"],
                note=entry.data["note"], amount=None if amount is None else Decimal(amount),
                ledger_id=credit,
            )  # fmt: skip

    def _insert_opened(self, tx: Tx) -> dict[int, int]:
        """Insert new customers and outcomes; provisional id -> real id. Each opened
        :class:`StoredOutcome` gets its real id."""
        if not self.opened:
            return {}
        ensure_customers(tx, self.customers)
        ids = insert_outcomes(tx, [stored.outcome for stored in self.opened])
        real: dict[int, int] = {}
        for stored, ident in zip(self.opened, ids, strict=True):
            real[stored.id] = ident
            stored.id = ident
        return real


@functools.lru_cache(maxsize=1_024)
def _days(period: Period) -> tuple[str, str]:
    """A period's first day and the day after its last, as history and the ledger write them
    (the bookings of a batch share a few periods)."""
    return period.start.date().isoformat(), period.end.date().isoformat()


def _add_to_invoices(tx: Tx, placed: list[_Placed]) -> None:
    """Create the invoices the bookings are the first on, and bring each one's running
    totals and charge lines up to date."""
    if not placed:
        return
    deltas: dict[str, list[Decimal]] = {}
    lines: dict[tuple[str, str, int, str], int] = {}
    first: dict[str, _Placed] = {}
    for p in placed:
        amount = Decimal(p.booking.entry.data["amount"])
        delta = deltas.setdefault(p.invoice, [ZERO, ZERO])
        first.setdefault(p.invoice, p)
        if p.booking.entry.kind == "charge":
            delta[0] += amount
            key = (p.invoice, p.booking.contract, p.booking.contract_version, price_key(amount))
            lines[key] = lines.get(key, 0) + 1
        else:
            delta[1] += amount
    stored = load_totals(tx, deltas)
    new = []
    totals = []
    for ident, (charges, credits) in deltas.items():
        found = stored.get(ident)
        if found is None:
            p = first[ident]
            new.append(
                InvoiceRow(
                    ident, p.booking.customer, p.booking.entry.data["currency"], p.period,
                    "draft", None, None, charges, credits, p.booking.entry.at, None, None,
                )
            )  # fmt: skip
            continue
        status, subtotal, credited = found
        assert status == "draft", f"booking onto finalized invoice {ident}"
        totals.append((ident, subtotal + charges, credited + credits))
    insert_invoices(tx, new)
    update_totals(tx, totals)
    add_to_lines(tx, lines)
