"""Invoice lines and totals (SPEC section 6): exact lines, totals rounded half-even to the
ISO 4217 minor unit (not CLDR's), the creditable remainder; and over random ledgers and
billing-day histories, every entry on exactly one invoice and the sums adding up."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from earnest.billing import (
    BillingDays,
    Booking,
    Period,
    creditable,
    invoice_lines,
    minor_units,
    totals,
)
from earnest.contract.money import minor_units as display_units

T0 = datetime(2026, 11, 2, tzinfo=UTC)


def charge(ident: int, amount: str, contract: str = "ticket", version: int = 1) -> Booking:
    return Booking(ident, "charge", f"o{ident}", contract, version, contract.title(),
                   Decimal(amount), "USD", T0 + timedelta(hours=ident))  # fmt: skip


def credit(ident: int, amount: str, reason: str = "dispute: reopened") -> Booking:
    return Booking(ident, "credit", f"o{ident}", "ticket", 1, "Ticket", Decimal(amount), "USD",
                   T0 + timedelta(hours=ident), reason)  # fmt: skip


def test_the_spec_invoice() -> None:
    """120 charges at 0.99 and one credit of 0.99: 118.80, 0.99, 117.81."""
    bookings = [charge(i, "0.99") for i in range(1, 121)] + [credit(121, "0.99")]
    charges, credits = invoice_lines(bookings)
    assert [(c.quantity, c.unit_price, c.amount) for c in charges] == [
        (120, Decimal("0.99"), Decimal("118.80"))
    ]
    assert [(c.outcome, c.amount, c.reason) for c in credits] == [
        ("o121", Decimal("-0.99"), "dispute: reopened")
    ]
    shown = totals(charges, credits, "USD")
    assert (shown.subtotal, shown.credits, shown.total) == (
        Decimal("118.80"), Decimal("0.99"), Decimal("117.81"),
    )  # fmt: skip


def test_charges_group_by_contract_version_and_unit_price() -> None:
    bookings = [
        charge(1, "0.99"), charge(2, "0.990"), charge(3, "1.25"),
        charge(4, "0.99", version=2), charge(5, "0.99", contract="code"),
    ]  # fmt: skip
    charges, _ = invoice_lines(bookings)
    assert [(c.contract, c.contract_version, c.quantity, str(c.amount)) for c in charges] == [
        ("code", 1, 1, "0.99"),
        ("ticket", 1, 2, "1.98"),
        ("ticket", 1, 1, "1.25"),
        ("ticket", 2, 1, "0.99"),
    ]


def test_only_the_total_is_rounded_half_even() -> None:
    charges, credits = invoice_lines([charge(1, "0.125"), charge(2, "0.125", version=2)])
    shown = totals(charges, credits, "USD")
    assert shown.subtotal == Decimal("0.250")
    assert totals(*invoice_lines([charge(1, "0.125")]), "USD").total == Decimal("0.12")
    assert totals(*invoice_lines([charge(1, "0.135")]), "USD").total == Decimal("0.14")


def test_an_invoice_of_credits_only_has_a_negative_total() -> None:
    shown = totals(*invoice_lines([credit(1, "12.50")]), "USD")
    assert (shown.subtotal, shown.credits, shown.total) == (
        Decimal(0), Decimal("12.50"), Decimal("-12.50"),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("currency", "iso", "cldr"),
    [("USD", 2, 2), ("JPY", 0, 0), ("BHD", 3, 3), ("CLF", 4, 4), ("IQD", 3, 0), ("HUF", 2, 0)],
)
def test_minor_units_are_iso_4217s_not_cldrs(currency: str, iso: int, cldr: int) -> None:
    assert minor_units(currency) == iso
    assert display_units(currency) == cldr  # the display digits differ for IQD and HUF


def test_a_currency_without_a_minor_unit_cannot_be_invoiced() -> None:
    with pytest.raises(ValueError, match="no minor unit"):
        minor_units("XAU")
    with pytest.raises(ValueError, match="not an ISO 4217 currency"):
        minor_units("ZZZ")


def test_the_creditable_remainder() -> None:
    assert creditable(Decimal("12.50"), []) == Decimal("12.50")
    assert creditable(Decimal("12.50"), [Decimal("5"), Decimal("7.50")]) == 0
    with pytest.raises(AssertionError):
        creditable(Decimal("1"), [Decimal("1.01")])


# Properties over random ledgers -------------------------------------------------------------

CURRENCIES = ("USD", "JPY", "BHD", "EUR")
amounts = st.decimals(min_value=Decimal("0.000001"), max_value=Decimal(1000), places=6)


@st.composite
def ledgers(draw: st.DrawFn) -> tuple[dict[str, BillingDays], list[tuple[str, Booking]]]:
    customers = {}
    for name in draw(st.lists(st.sampled_from("abcde"), min_size=1, max_size=4, unique=True)):
        created = T0 - timedelta(days=draw(st.integers(0, 60)))
        changes = [
            (created + timedelta(days=d), draw(st.integers(1, 28)))
            for d in sorted(draw(st.lists(st.integers(0, 200), max_size=4)))
        ]
        customers[name] = BillingDays.of(created, draw(st.integers(1, 28)), *changes)
    entries = []
    for ident in range(draw(st.integers(0, 40))):
        customer = draw(st.sampled_from(sorted(customers)))
        created = customers[customer].changes[0][0]
        moment = created + timedelta(seconds=draw(st.integers(0, 300 * 86_400)))
        kind: Literal["charge", "credit"] = draw(st.sampled_from(["charge", "charge", "credit"]))
        booking = Booking(ident, kind, f"o{ident}", draw(st.sampled_from(["t", "c"])),
                          draw(st.integers(1, 2)), "x", draw(amounts),
                          draw(st.sampled_from(CURRENCIES)), moment)  # fmt: skip
        entries.append((customer, booking))
    return customers, entries


def invoices(
    customers: dict[str, BillingDays], entries: list[tuple[str, Booking]]
) -> dict[tuple[str, Period, str], list[Booking]]:
    found: dict[tuple[str, Period, str], list[Booking]] = defaultdict(list)
    for customer, booking in entries:
        period = customers[customer].containing(booking.at)
        found[(customer, period, booking.currency)].append(booking)
    return found


@given(ledgers())
def test_every_ledger_entry_lands_on_exactly_one_invoice(
    ledger: tuple[dict[str, BillingDays], list[tuple[str, Booking]]],
) -> None:
    customers, entries = ledger
    found = invoices(customers, entries)
    placed = [b.id for members in found.values() for b in members]
    assert sorted(placed) == sorted(b.id for _, b in entries)  # each once
    for (_, period, currency), members in found.items():
        assert all(b.at in period and b.currency == currency for b in members)
        # and the invoice's lines carry each entry once: charges by count, credits by line
        charges, credits = invoice_lines(members)
        assert sum(c.quantity for c in charges) + len(credits) == len(members)


@given(ledgers())
def test_subtotals_less_credits_add_up_to_the_ledger_per_currency(
    ledger: tuple[dict[str, BillingDays], list[tuple[str, Booking]]],
) -> None:
    customers, entries = ledger
    billed: dict[str, Decimal] = defaultdict(Decimal)
    for (_, _, currency), members in invoices(customers, entries).items():
        shown = totals(*invoice_lines(members), currency)
        billed[currency] += shown.subtotal - shown.credits
    booked: dict[str, Decimal] = defaultdict(Decimal)
    for _, b in entries:
        booked[b.currency] += b.amount if b.kind == "charge" else -b.amount
    assert dict(billed) == dict(booked)


@given(ledgers())
def test_rounding_only_touches_totals(
    ledger: tuple[dict[str, BillingDays], list[tuple[str, Booking]]],
) -> None:
    customers, entries = ledger
    for (_, _, currency), members in invoices(customers, entries).items():
        charges, credits = invoice_lines(members)
        shown = totals(charges, credits, currency)
        exact = sum((b.amount for b in members if b.kind == "charge"), start=Decimal(0))
        assert shown.subtotal == exact
        assert all(c.amount == c.unit_price * c.quantity for c in charges)
        unit = Decimal(1).scaleb(-minor_units(currency))
        assert abs(shown.total - (shown.subtotal - shown.credits)) <= unit / 2
        assert shown.total == shown.total.quantize(unit)


@given(st.decimals(min_value=Decimal("0.01"), max_value=Decimal(10**9), places=6),
       st.lists(st.decimals(min_value=0, max_value=1, places=6), max_size=10))  # fmt: skip
def test_credits_up_to_the_remainder_never_exceed_the_charge(
    amount: Decimal, shares: list[Decimal]
) -> None:
    credited: list[Decimal] = []
    for share in shares:
        remainder = creditable(amount, credited)
        credited.append((remainder * share).quantize(Decimal("0.000001"), rounding="ROUND_DOWN"))
    assert 0 <= creditable(amount, credited) <= amount
    assert sum(credited) <= amount
