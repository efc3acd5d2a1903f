"""Collects the decisions made inside one write transaction and writes them together.

Every decision's effects (history entries, the outcome's new state and deadline, charges and
credits, the signal rows) are written by :meth:`Recorder.flush` in the same transaction as the
reads that led to them: one transaction per decision, or per batch of decisions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from earnest.engine import Decision, Entry
from earnest.store.codec import to_us
from earnest.store.db import Tx
from earnest.store.outcomes import (
    LedgerItem,
    StoredOutcome,
    append_history,
    book,
    update_outcomes,
)


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
        first = len(self.entries)
        self.record(stored, decision)
        index = next(
            i for i in range(first, len(self.entries)) if self.entries[i][1].kind == "signal"
        )
        self.signals.append(_SignalRow(ident, fingerprint, stored.id, to_us(received_at), index))

    def flush(self, tx: Tx) -> list[int]:
        """Write everything recorded; returns the history ``seq`` of each pending entry."""
        seqs = append_history(tx, self.entries)
        update_outcomes(tx, list(self.touched.values()))
        tx.executemany(
            "INSERT INTO signals (id, fingerprint, outcome_id, received_at, history_seq)"
            " VALUES (?, ?, ?, ?, ?)",
            [
                (s.id, s.fingerprint, s.outcome_id, s.received_at_us, seqs[s.entry_index])
                for s in self.signals
            ],
        )
        book(
            tx,
            [
                LedgerItem(
                    b.entry.kind,
                    b.outcome_id,
                    b.customer,
                    b.entry.data["amount"],
                    b.entry.data["currency"],
                    b.entry.at,
                    seqs[b.entry_index],
                )
                for b in self.bookings
            ],
        )
        return seqs
