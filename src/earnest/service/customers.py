"""Customers: list, read, create or edit (SPEC section 6). Every creation and edit by an
admin is recorded in the activity log; customers created on first mention by a signal are
recorded in that outcome's history instead (docs/decisions/0012)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from earnest.billing import Period
from earnest.clock import Clock
from earnest.errors import Invalid, NotFound
from earnest.service.activity import append_activity
from earnest.service.pages import Page, check_limit, page_of
from earnest.store import Database, Tx
from earnest.store.codec import to_us
from earnest.store.customers import (
    Customer,
    get_customer,
    insert_customer,
    list_customers,
    list_customers_by_id,
    update_customer,
)
from earnest.store.invoices import billing_day_floor, change_billing_day

__all__ = ["Customer", "CustomerRow", "Customers", "UnknownCustomer", "check_changes"]

MAX_TEXT = 255  # characters of a name, an email or a tax id
MAX_ADDRESS = 1000
TEXTS = {"name": MAX_TEXT, "email": MAX_TEXT, "address": MAX_ADDRESS, "tax_id": MAX_TEXT}


class UnknownCustomer(NotFound):
    code = "unknown_customer"

    def __init__(self, ident: str) -> None:
        super().__init__(f"no customer {ident!r}", field="id")


@dataclass(frozen=True, slots=True)
class CustomerRow:
    """A customer as lists show it: with its first open period (its invoices not final)."""

    customer: Customer
    open: Period


def check_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    """The edit ``changes`` as ``PUT /v1/customers/{id}`` accepts them, else ``Invalid``
    naming the field: texts of at most 255 characters (an address 1,000), not blank, no
    U+0000, or None to clear; an email with an ``@`` and no white space; a billing day a
    whole number from 1 to 28."""
    checked: dict[str, Any] = {}
    for name, value in changes.items():
        if name == "billing_day":
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 28:
                raise Invalid(
                    "billing_day must be a whole number from 1 to 28", field="billing_day"
                )
        elif name in TEXTS:
            _check_text(name, value)
        else:
            raise Invalid(f"{name} is not a customer field", field=name)
        checked[name] = value
    return checked


def _check_text(name: str, value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        raise Invalid(f"{name} must be a string", field=name)
    if not value.strip():
        raise Invalid(f"{name} must not be empty", field=name)
    if len(value) > TEXTS[name]:
        raise Invalid(f"{name} is {len(value)} characters; at most {TEXTS[name]}", field=name)
    if "\x00" in value:
        raise Invalid(f"{name} must not contain the character U+0000", field=name)
    if name == "email" and ("@" not in value or any(c.isspace() for c in value)):
        raise Invalid(f"{value!r} is not an email address", field="email")


class Customers:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def list(self, *, limit: int, after: tuple[int, str] | None = None) -> Page[Customer]:
        check_limit(limit)
        with self.db.read() as tx:
            found = list_customers(tx, limit=limit + 1, after=after)
        return page_of(found, limit, lambda last: (to_us(last.created_at), last.id))

    def browse(self, *, limit: int, after: str | None = None) -> Page[CustomerRow]:
        """By id (the dashboard's list: its primary key's order, so no page sorts the
        table), each with its first open period; ``after`` the previous page's last id."""
        check_limit(limit)
        with self.db.read() as tx:
            found = [
                CustomerRow(customer, Period(start, end))
                for customer, start, end in list_customers_by_id(tx, limit=limit + 1, after=after)
            ]
        return page_of(found, limit, lambda last: (last.customer.id,))

    def get(self, ident: str) -> Customer:
        with self.db.read() as tx:
            found = get_customer(tx, ident)
        if found is None:
            raise UnknownCustomer(ident)
        return found

    def put(self, ident: str, changes: Mapping[str, Any], *, actor: str) -> tuple[Customer, bool]:
        """Create ``ident`` if new, then apply ``changes`` (validated fields):
        ``(customer, created)``."""
        with self.db.write() as tx:
            now = self.clock()  # read holding the write lock: after every earlier commit here
            before = get_customer(tx, ident)
            if before is None:  # its first period follows its billing day at creation
                insert_customer(tx, ident, now, changes.get("billing_day", 1))
            return _apply(tx, ident, before, changes, actor=actor, now=now), before is None

    def edit(self, ident: str, changes: Mapping[str, Any], *, actor: str) -> Customer:
        """Apply ``changes`` (checked by :func:`check_changes`) to the stored customer
        ``ident``; ``UnknownCustomer`` if there is none (an edit never creates one)."""
        checked = check_changes(changes)
        with self.db.write() as tx:
            now = self.clock()
            before = get_customer(tx, ident)
            if before is None:
                raise UnknownCustomer(ident)
            return _apply(tx, ident, before, checked, actor=actor, now=now)


def _apply(
    tx: Tx,
    ident: str,
    before: Customer | None,
    changes: Mapping[str, Any],
    *,
    actor: str,
    now: datetime,
) -> Customer:
    """Apply ``changes`` to ``ident`` (just inserted when ``before`` is None) and record
    the creation or the edit in the activity log."""
    if before is not None and changes.get("billing_day", before.billing_day) != before.billing_day:
        # SPEC 6: a change never moves the period in progress. Its clock may be behind
        # a commit of another process (or read before this lock): it is then in force
        # from the period it would otherwise redefine under entries already in it.
        floor = billing_day_floor(tx, ident)
        since = now if floor is None else max(now, floor)
        change_billing_day(tx, ident, since, changes["billing_day"])
    if changes:
        update_customer(tx, ident, changes)
    after = get_customer(tx, ident)
    assert after is not None
    if before is None:
        append_activity(
            tx,
            at=now,
            actor=actor,
            action="customer.created",
            subject=ident,
            before=None,
            after=after.editable(),
        )
    elif before.editable() != after.editable():
        append_activity(
            tx,
            at=now,
            actor=actor,
            action="customer.updated",
            subject=ident,
            before=before.editable(),
            after=after.editable(),
        )
    return after
