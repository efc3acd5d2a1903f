"""Customers: list, read, create or edit (SPEC section 6). Every creation and edit by an
admin is recorded in the activity log; customers created on first mention by a signal are
recorded in that outcome's history instead (docs/decisions/0012)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from earnest.clock import Clock
from earnest.errors import NotFound
from earnest.service.activity import append_activity
from earnest.service.pages import Page, check_limit, page_of
from earnest.store import Database
from earnest.store.codec import to_us
from earnest.store.customers import (
    Customer,
    get_customer,
    insert_customer,
    list_customers,
    update_customer,
)
from earnest.store.invoices import billing_day_floor, change_billing_day

__all__ = ["Customer", "Customers", "UnknownCustomer"]


class UnknownCustomer(NotFound):
    code = "unknown_customer"

    def __init__(self, ident: str) -> None:
        super().__init__(f"no customer {ident!r}", field="id")


class Customers:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def list(self, *, limit: int, after: tuple[int, str] | None = None) -> Page[Customer]:
        check_limit(limit)
        with self.db.read() as tx:
            found = list_customers(tx, limit=limit + 1, after=after)
        return page_of(found, limit, lambda last: (to_us(last.created_at), last.id))

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
            elif changes.get("billing_day", before.billing_day) != before.billing_day:
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
        return after, before is None
