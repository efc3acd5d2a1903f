"""Disputes (SPEC 6): at most one open per outcome (a partial unique index says so), each
opened and resolved by the decision whose ``dispute`` history entry describes it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from earnest.store.base import Tx
from earnest.store.codec import from_us, money_value, opt_time, to_us

_COLUMNS = (
    "d.id, o.contract, o.ref, d.customer, d.state, d.reason, d.opened_by, d.opened_at,"
    " d.resolution, d.note, d.resolved_by, d.resolved_at, d.credit_amount, d.credit_ledger_id,"
    " l.currency"
)
_FROM = (
    " FROM disputes d JOIN outcomes o ON o.id = d.outcome_id"
    " LEFT JOIN ledger l ON l.id = d.credit_ledger_id"
)


@dataclass(frozen=True, slots=True)
class Dispute:
    id: int
    contract: str
    outcome: str
    customer: str
    state: str  # open | resolved
    reason: str
    opened_by: str
    opened_at: datetime
    resolution: str | None  # reject | credit
    note: str | None
    resolved_by: str | None
    resolved_at: datetime | None
    credit_amount: Decimal | None
    credit_ledger_id: int | None
    credit_currency: str | None = None  # the credit's (its charge's) currency


def _dispute(row: Sequence[Any]) -> Dispute:
    ident, contract, ref, customer, state, reason, opened_by, opened_at = row[:8]
    resolution, note, resolved_by, resolved_at, amount, ledger_id, currency = row[8:]
    return Dispute(
        int(ident), contract, ref, customer, state, reason, opened_by, from_us(int(opened_at)),
        resolution, note, resolved_by, opt_time(None if resolved_at is None else int(resolved_at)),
        money_value(amount), None if ledger_id is None else int(ledger_id), currency,
    )  # fmt: skip


def open_dispute(
    tx: Tx, outcome_id: int, customer: str, at: datetime, *, by: str, reason: str
) -> None:
    tx.execute(
        "INSERT INTO disputes (outcome_id, customer, state, reason, opened_by, opened_at)"
        " VALUES (?, ?, 'open', ?, ?, ?)",
        (outcome_id, customer, reason, by, to_us(at)),
    )


def resolve_dispute(
    tx: Tx,
    outcome_id: int,
    at: datetime,
    *,
    by: str,
    resolution: str,
    note: str,
    amount: Decimal | None,
    ledger_id: int | None,
) -> None:
    tx.execute(
        "UPDATE disputes SET state = 'resolved', resolution = ?, note = ?, resolved_by = ?,"
        " resolved_at = ?, credit_amount = ?, credit_ledger_id = ?"
        " WHERE outcome_id = ? AND state = 'open'",
        (resolution, note, by, to_us(at), tx.money(amount), ledger_id, outcome_id),
    )


def latest_dispute(tx: Tx, outcome_id: int) -> Dispute | None:
    row = tx.one(
        f"SELECT {_COLUMNS}{_FROM} WHERE d.outcome_id = ? ORDER BY d.id DESC", (outcome_id,)
    )
    return None if row is None else _dispute(row)


def disputes_of(tx: Tx, outcome_id: int, *, limit: int) -> list[Dispute]:
    """The outcome's latest ``limit`` disputes, newest first (the ``disputes_outcome`` index)."""
    rows = tx.query(
        f"SELECT {_COLUMNS}{_FROM} WHERE d.outcome_id = ? ORDER BY d.id DESC LIMIT ?",
        (outcome_id, limit),
    )
    return [_dispute(row) for row in rows]


def list_disputes(
    tx: Tx, *, state: str | None, customer: str | None, limit: int, before_id: int | None
) -> list[Dispute]:
    """Newest first (ids grow with opening order); ``before_id``: the previous page's last."""
    where: list[str] = []
    params: list[Any] = []
    if state is not None:
        where.append("d.state = ?")
        params.append(state)
    if customer is not None:
        where.append("d.customer = ?")
        params.append(customer)
    if before_id is not None:
        where.append("d.id < ?")
        params.append(before_id)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    rows = tx.query(
        f"SELECT {_COLUMNS}{_FROM}{clause} ORDER BY d.id DESC LIMIT ?", [*params, limit]
    )
    return [_dispute(row) for row in rows]
