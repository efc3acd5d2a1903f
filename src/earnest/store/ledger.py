"""The ledger: charges and credits, immutable, each tied to the history entry that booked it.

A ledger entry's id is assigned before its history entry is written, so the entry (and with
it the hash chain) names the ledger row, its amount, currency and period: a row moved to
another customer or period, or edited, no longer matches the chain (``audit verify``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import msgspec

from earnest.store.base import Tx
from earnest.store.codec import from_us, money_value, to_us

_COLUMNS = (
    "id", "kind", "outcome_id", "customer", "amount", "currency", "period_start", "booked_at",
    "history_seq", "period_end", "invoice_id", "reason",
)  # fmt: skip


class LedgerItem(msgspec.Struct, frozen=True):
    """One ledger entry (a Struct: a settlement batch builds a thousand of them)."""

    id: int
    kind: str  # charge | credit
    outcome_id: int
    customer: str
    amount: Decimal
    currency: str
    period: str  # the billing period's first day, YYYY-MM-DD
    booked_at: datetime
    history_seq: int
    period_end: str | None = None  # the day after its last, YYYY-MM-DD
    invoice: str | None = None
    reason: str | None = None  # a credit's: the dispute's note, or the late signal


def period_start(day: date, billing_day: int) -> date:
    """The first day of the billing period containing ``day`` (periods start at 00:00 UTC
    on the customer's billing day, 1 to 28)."""
    assert 1 <= billing_day <= 28
    if day.day >= billing_day:
        return day.replace(day=billing_day)
    if day.month == 1:
        return date(day.year - 1, 12, billing_day)
    return date(day.year, day.month - 1, billing_day)


def next_ledger_id(tx: Tx) -> int:
    """The id the next ledger entry takes. Safe because writers are serialized (the one
    writer lock on both databases), so no two transactions allocate at once."""
    row = tx.one("SELECT MAX(id) FROM ledger")
    return 1 if row is None or row[0] is None else int(row[0]) + 1


DAY_US = 86_400_000_000


def book(tx: Tx, items: Sequence[LedgerItem]) -> None:
    """Insert the ledger rows, and count them in ``ledger_days`` (per UTC day of booking,
    currency, kind and amount) in the same transaction."""
    days: dict[tuple[int, str, str, Any], int] = {}
    for item in items:
        key = (to_us(item.booked_at) // DAY_US, item.currency, item.kind, tx.money(item.amount))
        days[key] = days.get(key, 0) + 1
    tx.executemany(
        "INSERT INTO ledger_days (day, currency, kind, amount, count) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (day, currency, kind, amount) DO UPDATE"
        " SET count = ledger_days.count + excluded.count",
        [(*key, count) for key, count in days.items()],
    )
    tx.insert_rows(
        "ledger",
        _COLUMNS,
        [
            (
                item.id,
                item.kind,
                item.outcome_id,
                item.customer,
                tx.money(item.amount),
                item.currency,
                item.period,
                to_us(item.booked_at),
                item.history_seq,
                item.period_end,
                item.invoice,
                item.reason,
            )
            for item in items
        ],
    )


def ledger_item(row: Sequence[Any]) -> LedgerItem:
    ident, kind, outcome_id, customer, amount, currency, period, booked_at, seq = row[:9]
    period_end, invoice, reason = row[9:12]
    value = money_value(amount)
    assert value is not None
    return LedgerItem(
        int(ident), kind, int(outcome_id), customer, value, currency, str(period),
        from_us(int(booked_at)), int(seq), period_end, invoice, reason,
    )  # fmt: skip


def entries_of(tx: Tx, outcome_ids: Iterable[int]) -> dict[int, list[LedgerItem]]:
    """Every ledger entry of each outcome, in booking order, by outcome id."""
    found: dict[int, list[LedgerItem]] = {}
    for row in tx.query_in(
        f"SELECT {', '.join(_COLUMNS)} FROM ledger WHERE outcome_id IN {{values}} ORDER BY id",
        outcome_ids,
    ):
        item = ledger_item(row)
        found.setdefault(item.outcome_id, []).append(item)
    return found


# Reading the ledger back ------------------------------------------------------------------

_LISTED = ", ".join(f"l.{name}" for name in _COLUMNS) + ", o.contract, o.ref"
_JOINED = " FROM ledger l JOIN outcomes o ON o.id = l.outcome_id"


class LedgerRow(msgspec.Struct, frozen=True):
    """A ledger entry with the identity of its outcome, as lists and audits show it."""

    item: LedgerItem
    contract: str
    outcome: str  # the outcome's reference


def _listed(row: Sequence[Any]) -> LedgerRow:
    return LedgerRow(ledger_item(row[:12]), row[12], row[13])


def list_ledger(
    tx: Tx,
    *,
    customer: str | None = None,
    kind: str | None = None,
    containing: date | None = None,
    limit: int,
    before_id: int | None = None,
) -> list[LedgerRow]:
    """Charges and credits, newest first (ids grow with booking order), below ``before_id``.
    ``containing``: only entries whose billing period holds that day (periods run from
    00:00 UTC on a billing day, so comparing days is exact; ISO dates compare as text)."""
    where: list[str] = []
    params: list[Any] = []
    if customer is not None:
        where.append("l.customer = ?")
        params.append(customer)
    if kind is not None:
        where.append("l.kind = ?")
        params.append(kind)
    if containing is not None:
        day = containing.isoformat()
        where.append("l.period_start <= ? AND l.period_end > ?")
        params += [day, day]
    if before_id is not None:
        where.append("l.id < ?")
        params.append(before_id)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    rows = tx.query(
        f"SELECT {_LISTED}{_JOINED}{clause} ORDER BY l.id DESC LIMIT ?", [*params, limit]
    )
    return [_listed(row) for row in rows]


def invoice_outcomes(tx: Tx, invoice: str, *, after_id: int, limit: int) -> list[tuple[int, int]]:
    """``(first ledger id, outcome id)`` of up to ``limit`` outcomes with an entry on
    ``invoice``, in the order of their first entry there, after ``after_id`` (a previous
    page's last first id).

    Two ordered range scans of the ``ledger_invoice`` index, merged: the charges (a charge
    is its outcome's first ledger entry, so always its first on the invoice) and the credits
    whose outcome has no earlier entry on the invoice (its charge, found by the one-charge
    index, or an earlier credit). No page reads the whole invoice."""
    charges = tx.query(
        "SELECT id, outcome_id FROM ledger WHERE invoice_id = ? AND kind = 'charge' AND id > ?"
        " ORDER BY id LIMIT ?",
        (invoice, after_id, limit),
    )
    credits = tx.query(
        "SELECT c.id, c.outcome_id FROM ledger c"
        " WHERE c.invoice_id = ? AND c.kind = 'credit' AND c.id > ?"
        " AND NOT EXISTS (SELECT 1 FROM ledger e WHERE e.outcome_id = c.outcome_id"
        " AND e.kind = 'charge' AND e.invoice_id = c.invoice_id)"
        " AND NOT EXISTS (SELECT 1 FROM ledger e WHERE e.invoice_id = c.invoice_id"
        " AND e.kind = 'credit' AND e.id < c.id AND e.outcome_id = c.outcome_id)"
        " ORDER BY c.id LIMIT ?",
        (invoice, after_id, limit),
    )
    found = sorted((int(first), int(outcome_id)) for first, outcome_id in charges + credits)
    return found[:limit]


def invoice_entries(tx: Tx, invoice: str, outcome_ids: Iterable[int]) -> list[LedgerRow]:
    """The entries on ``invoice`` of the given outcomes, in booking order."""
    rows = tx.query_in(
        f"SELECT {_LISTED}{_JOINED} WHERE l.invoice_id = ? AND l.outcome_id IN {{values}}",
        outcome_ids,
        before=(invoice,),
    )
    return sorted((_listed(row) for row in rows), key=lambda found: found.item.id)


DayKey = tuple[int, str, str, Decimal]  # day (since the epoch), currency, kind, amount


def day_counts(tx: Tx) -> dict[DayKey, int]:
    """``ledger_days`` as kept by :func:`book`."""
    rows = tx.query("SELECT day, currency, kind, amount, count FROM ledger_days")
    return {_day_key(row): int(row[4]) for row in rows if int(row[4])}


def day_counts_of_ledger(tx: Tx) -> dict[DayKey, int]:
    """What ``ledger_days`` should hold, counted from the ledger itself."""
    rows = tx.query(
        f"SELECT booked_at / {DAY_US}, currency, kind, amount, COUNT(*) FROM ledger"
        f" GROUP BY booked_at / {DAY_US}, currency, kind, amount"
    )
    found: dict[DayKey, int] = {}
    for row in rows:  # amounts equal as numbers but written apart add up (0.99 and 0.990)
        key = _day_key(row)
        found[key] = found.get(key, 0) + int(row[4])
    return found


def _day_key(row: Sequence[Any]) -> DayKey:
    amount = money_value(row[3])
    assert amount is not None
    return (int(row[0]), str(row[1]), str(row[2]), amount)
