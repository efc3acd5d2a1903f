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
    row = tx.one("SELECT COUNT(*) FROM outcomes WHERE contested")  # index outcomes_contested
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


DAY_US = 86_400_000_000


def booked_between(tx: Tx, start_us: int, end_us: int) -> list[tuple[str, str, Decimal, int]]:
    """``(currency, kind, amount, how many)`` of the ledger rows booked in ``[start, end)``
    (UTC midnights), from the daily counts (``ledger_days``): grouped by amount, so the
    caller multiplies and adds exactly."""
    assert start_us % DAY_US == 0
    assert end_us % DAY_US == 0
    rows = tx.query(
        "SELECT currency, kind, amount, SUM(count) FROM ledger_days"
        " WHERE day >= ? AND day < ? GROUP BY currency, kind, amount",
        (start_us // DAY_US, end_us // DAY_US),
    )
    found = []
    for currency, kind, amount, count in rows:
        value = money_value(amount)
        assert value is not None
        found.append((str(currency), str(kind), value, int(count)))
    return found


def settled_per_day(tx: Tx, since_us: int, days: int) -> list[tuple[int, str, int]]:
    """``(day, state, how many)`` of the outcomes settled on each of ``days`` days from
    ``since_us`` (a UTC midnight), ``day`` counted from the Unix epoch: one count per day over
    the index ``outcomes_settled`` (a day's range is counted in the index; one grouping of
    the whole range would sort every row)."""
    assert since_us % DAY_US == 0
    found: list[tuple[int, str, int]] = []
    for offset in range(days):
        start = since_us + offset * DAY_US
        rows = tx.query(
            "SELECT state, COUNT(*) FROM outcomes"
            " WHERE settled_at >= ? AND settled_at < ? GROUP BY state",
            (start, start + DAY_US),
        )
        found.extend((start // DAY_US, str(state), int(count)) for state, count in rows)
    return found
