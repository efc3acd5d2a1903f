"""Customers: created on first mention (billing day 1) or by an admin, then edited."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from earnest.store.base import Tx
from earnest.store.codec import from_us, to_us
from earnest.store.invoices import start_billing

EDITABLE = ("name", "email", "address", "tax_id", "billing_day")
_COLUMNS = "id, name, email, address, tax_id, billing_day, created_at"


@dataclass(frozen=True, slots=True)
class Customer:
    id: str
    name: str | None
    email: str | None
    address: str | None
    tax_id: str | None
    billing_day: int
    created_at: datetime

    def editable(self) -> dict[str, Any]:
        """The fields an edit may change, for the activity log's before and after."""
        return {name: getattr(self, name) for name in EDITABLE}


def _row(row: tuple[Any, ...]) -> Customer:
    ident, name, email, address, tax_id, billing_day, created_at = row
    return Customer(
        str(ident), name, email, address, tax_id, int(billing_day), from_us(int(created_at))
    )


def ensure_customers(tx: Tx, customers: Mapping[str, datetime]) -> None:
    """Store each customer not stored yet, created at the time given, with billing day 1."""
    known = {
        row[0] for row in tx.query_in("SELECT id FROM customers WHERE id IN {values}", customers)
    }
    new = {ident: created for ident, created in customers.items() if ident not in known}
    if not new:
        return
    tx.executemany(
        "INSERT INTO customers (id, billing_day, created_at) VALUES (?, 1, ?)",
        [(customer, to_us(created)) for customer, created in new.items()],
    )
    start_billing(tx, {ident: (created, 1) for ident, created in new.items()})


def get_customer(tx: Tx, ident: str) -> Customer | None:
    row = tx.one(f"SELECT {_COLUMNS} FROM customers WHERE id = ?", (ident,))
    return None if row is None else _row(row)


def list_customers(tx: Tx, *, limit: int, after: tuple[int, str] | None) -> list[Customer]:
    """Newest first; ``after`` is the (created_at µs, id) of the previous page's last item."""
    return [_row(row) for row in tx.newest_first(f"SELECT {_COLUMNS} FROM customers", after, limit)]


def insert_customer(tx: Tx, ident: str, now: datetime, billing_day: int = 1) -> None:
    tx.execute(
        "INSERT INTO customers (id, billing_day, created_at) VALUES (?, ?, ?)",
        (ident, billing_day, to_us(now)),
    )
    start_billing(tx, {ident: (now, billing_day)})


def update_customer(tx: Tx, ident: str, changes: Mapping[str, Any]) -> None:
    assert changes
    assert set(changes) <= set(EDITABLE), changes
    assignments = ", ".join(f"{name} = ?" for name in changes)
    tx.execute(f"UPDATE customers SET {assignments} WHERE id = ?", [*changes.values(), ident])


def billing_days(tx: Tx, customers: Iterable[str]) -> dict[str, int]:
    rows = tx.query_in("SELECT id, billing_day FROM customers WHERE id IN {values}", customers)
    return {ident: int(day) for ident, day in rows}


def list_customers_by_id(
    tx: Tx, *, limit: int, after: str | None
) -> list[tuple[Customer, datetime, datetime]]:
    """By id (the primary key's order: no sort), the ``limit`` after ``after``, each with
    its first open period's start and end (the dashboard's list)."""
    where, params = ("", []) if after is None else (" WHERE id > ?", [after])
    rows = tx.query(
        f"SELECT {_COLUMNS}, open_start, open_end FROM customers{where} ORDER BY id LIMIT ?",
        [*params, limit],
    )
    return [(_row(row[:7]), from_us(int(row[7])), from_us(int(row[8]))) for row in rows]
