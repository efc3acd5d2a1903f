"""The dashboard overview's counts and sums, each one statement (SPEC 11)."""

from __future__ import annotations

from decimal import Decimal

from earnest.store.base import Tx
from earnest.store.codec import money_value


def outcomes_by_state(tx: Tx) -> dict[str, int]:
    return {
        str(state): int(n)
        for state, n in tx.query("SELECT state, COUNT(*) FROM outcomes GROUP BY state")
    }


def contested_outcomes(tx: Tx) -> int:
    row = tx.one("SELECT COUNT(*) FROM outcomes WHERE contested = ?", (True,))
    return 0 if row is None else int(row[0])


def open_disputes(tx: Tx) -> int:
    row = tx.one("SELECT COUNT(*) FROM disputes WHERE state = 'open'")
    return 0 if row is None else int(row[0])


def draft_amounts(tx: Tx) -> list[tuple[str, Decimal, Decimal]]:
    """Every draft invoice's ``(currency, subtotal, credits)``: summed by the caller, exactly
    (SQLite keeps money as decimal text, which its ``SUM`` would add as floats)."""
    rows = tx.query("SELECT currency, subtotal, credits FROM invoices WHERE status = 'draft'")
    found = []
    for currency, subtotal, credits in rows:
        amount, credited = money_value(subtotal), money_value(credits)
        assert amount is not None
        assert credited is not None
        found.append((str(currency), amount, credited))
    return found
