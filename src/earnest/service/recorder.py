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
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

import msgspec

from earnest.engine import Decision, Entry
from earnest.store import Tx
from earnest.store.codec import to_us
from earnest.store.customers import billing_days, ensure_customers
from earnest.store.ledger import LedgerItem, book, next_ledger_id, period_start
from earnest.store.outcomes import (
    StoredOutcome,
    append_history,
    insert_outcomes,
    update_outcomes,
)
from earnest.store.signals import insert_signals


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
    entry: Entry
    entry_index: int


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
        for entry in decision.effects.entries:
            if entry.kind in ("charge", "credit"):
                self.bookings.append(
                    _Booking(stored.id, decision.outcome.customer, entry, len(self.entries))
                )
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
        book(
            tx,
            [
                LedgerItem(
                    ident,
                    b.entry.kind,
                    real.get(b.outcome_id, b.outcome_id),
                    b.customer,
                    Decimal(b.entry.data["amount"]),
                    b.entry.data["currency"],
                    period,
                    b.entry.at,
                    seqs[b.entry_index],
                )
                for b, ident, period in ledger
            ],
        )
        return seqs

    def _assign_ledger(self, tx: Tx) -> list[tuple[_Booking, int, str]]:
        """Give each booking its ledger id and period, and write both into the booking's
        history entry, so the hash chain covers them: ``(booking, id, period)`` each."""
        if not self.bookings:
            return []
        days = billing_days(tx, {b.customer for b in self.bookings})
        ident = next_ledger_id(tx)
        assigned = []
        for b in self.bookings:
            entry = b.entry
            period = _period(entry.at.date(), days.get(b.customer, 1))
            data = {**entry.data, "ledger_id": ident, "period": period}
            booked = msgspec.structs.replace(entry, data=data)
            self.entries[b.entry_index] = (self.entries[b.entry_index][0], booked)
            assigned.append((b, ident, period))
            ident += 1
        return assigned

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


@functools.lru_cache(maxsize=1024)
def _period(day: date, billing_day: int) -> str:
    """The first day of the billing period holding ``day``: many bookings of a batch share
    their day (a settlement batch, all at one deadline)."""
    return period_start(day, billing_day).isoformat()
