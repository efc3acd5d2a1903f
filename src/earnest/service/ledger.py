"""The ledger as its readers see it (SPEC 6 and 8): charges and credits, newest first, and
every outcome behind one invoice with its full history (the invoice's audit).

Both read the ledger rows as booked; an invoice's audit is what proves each of its lines: the
outcomes whose charges and credits are on it, in the order of their first entry there, each
with the entries on this invoice and its whole hash-chained history.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from earnest.contract.condition import Condition
from earnest.errors import Invalid
from earnest.service.history import HistoryEntry
from earnest.service.invoices import UnknownInvoice, parse_period
from earnest.service.pages import Page, check_limit, page_of
from earnest.store import Database, Tx
from earnest.store.codec import as_value, from_us, loads
from earnest.store.invoices import get_invoice
from earnest.store.ledger import (
    LedgerRow,
    invoice_entries,
    invoice_outcomes,
    list_ledger,
)
from earnest.store.outcomes import history_rows, load_by_ids

__all__ = ["KINDS", "AuditItem", "Ledger", "LedgerRow"]

KINDS = ("charge", "credit")


@dataclass(frozen=True, slots=True)
class AuditItem:
    """One outcome behind an invoice: its entries on the invoice and its whole history."""

    contract: str
    outcome: str
    customer: str
    entries: tuple[LedgerRow, ...]
    history: tuple[HistoryEntry, ...]
    position: int  # its first ledger id on the invoice: the page's sort key


def _history(tx: Tx, outcome_id: int, condition: Condition) -> tuple[HistoryEntry, ...]:
    """As :func:`earnest.service.history.read_history`, inside the caller's transaction."""
    entries = []
    for seq, recorded_at, kind, text, digest in history_rows(tx, outcome_id):
        data: dict[str, Any] = loads(text)
        if kind == "check":
            values = {name: as_value(raw) for name, raw in data.get("values", {}).items()}
            seen = {name: value for name, value in values.items() if value is not None}
            data["explanation"] = condition.explanation_text(seen)
        entries.append(HistoryEntry(seq, from_us(recorded_at), kind, data, digest))
    return tuple(entries)


class Ledger:
    def __init__(self, db: Database) -> None:
        self.db = db

    def list(
        self,
        *,
        customer: str | None = None,
        kind: str | None = None,
        period: str | None = None,
        limit: int,
        after: tuple[int] | None = None,
    ) -> Page[LedgerRow]:
        """Charges and credits, newest first; ``kind`` charge or credit, ``period``
        YYYY-MM-DD (for each customer, its period containing that day); ``after`` is a
        previous page's ``after`` (the last entry's id)."""
        check_limit(limit)
        if kind is not None and kind not in KINDS:
            raise Invalid(f"kind is charge or credit, got {kind!r}", field="kind")
        containing = None if period is None else parse_period(period).date()
        with self.db.read() as tx:
            found = list_ledger(
                tx, customer=customer, kind=kind, containing=containing, limit=limit + 1,
                before_id=None if after is None else after[0],
            )  # fmt: skip
        return page_of(found, limit, lambda last: (last.item.id,))

    def audit(
        self, invoice: str, *, limit: int, after: tuple[int] | None = None
    ) -> Page[AuditItem]:
        """Every outcome with a charge or credit on ``invoice``, in the order of its first
        entry there, with those entries and its full history; raises ``UnknownInvoice``."""
        check_limit(limit)
        with self.db.read() as tx:
            if get_invoice(tx, invoice) is None:
                raise UnknownInvoice(invoice)
            firsts = invoice_outcomes(
                tx, invoice, after_id=0 if after is None else after[0], limit=limit + 1
            )
            ids = [outcome_id for _, outcome_id in firsts[:limit]]
            outcomes = load_by_ids(tx, ids)
            entries: dict[int, list[LedgerRow]] = {}
            for row in invoice_entries(tx, invoice, ids):
                entries.setdefault(row.item.outcome_id, []).append(row)
            items = []
            for first, outcome_id in firsts[:limit]:
                outcome = outcomes[outcome_id].outcome
                items.append(
                    AuditItem(
                        outcome.contract.key, outcome.ref, outcome.customer,
                        tuple(entries[outcome_id]),
                        _history(tx, outcome_id, outcome.contract.condition),
                        first,
                    )
                )  # fmt: skip
        more = len(firsts) > limit
        return Page(items, (items[-1].position,) if more else None)
