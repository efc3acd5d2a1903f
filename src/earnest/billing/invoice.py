"""Invoice lines and totals from ledger entries (SPEC section 6), exactly.

Charges are grouped by contract, contract version and unit price, each line's amount being
quantity × unit price, exact; credits are one line each, negative. ``subtotal`` (the charges)
and ``credits`` are exact sums; only ``total`` = subtotal − credits is rounded, half-even, to
the currency's ISO 4217 minor unit (ISO's digits: IQD 3, HUF 2, where CLDR's display digits
say 0).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Literal

import iso4217
import msgspec

from earnest.contract.money import format_amount

ZERO = Decimal(0)


def minor_units(currency: str) -> int:
    """Decimal places of the currency's minor unit in ISO 4217: JPY 0, USD 2, BHD 3, CLF 4.
    ``ValueError`` for a code that is not a currency or has none (gold, XAU)."""
    try:
        exponent = iso4217.Currency(currency).exponent
    except ValueError:
        raise ValueError(f"{currency!r} is not an ISO 4217 currency") from None
    if exponent is None:
        raise ValueError(f"{currency} has no minor unit in ISO 4217: it cannot be invoiced")
    return int(exponent)


class Booking(msgspec.Struct, frozen=True):
    """A ledger entry as an invoice needs it. ``amount`` is positive for both kinds."""

    id: int
    kind: Literal["charge", "credit"]
    outcome: str
    contract: str
    contract_version: int
    description: str  # the contract's name (its key when it has none)
    amount: Decimal
    currency: str
    at: datetime
    reason: str | None = None  # a credit's: the dispute's note, or the late signal


@dataclass(frozen=True, slots=True)
class ChargeLine:
    description: str
    contract: str
    contract_version: int
    quantity: int
    unit_price: Decimal
    amount: Decimal  # quantity × unit price, exact


@dataclass(frozen=True, slots=True)
class CreditLine:
    outcome: str
    contract: str
    amount: Decimal  # negative
    reason: str | None
    ledger_id: int


@dataclass(frozen=True, slots=True)
class Totals:
    subtotal: Decimal  # the charges, exact
    credits: Decimal  # the credits, exact, positive
    total: Decimal  # round(subtotal - credits), half-even to the currency's minor unit


def invoice_lines(bookings: Iterable[Booking]) -> tuple[list[ChargeLine], list[CreditLine]]:
    """The lines of one invoice (one currency): charge lines in (contract, version, unit
    price) order, then credit lines in booking order."""
    groups: dict[tuple[str, int, Decimal], list[Booking]] = {}
    credits: list[Booking] = []
    currencies = set()
    for booking in bookings:
        # A charge may be 0 (a free contract books 0.00); a credit never is.
        assert booking.amount > 0 or (booking.kind == "charge" and booking.amount == 0)
        currencies.add(booking.currency)
        if booking.kind == "charge":
            # Decimal("0.99") and Decimal("0.990") are one unit price: grouped by value.
            key = (booking.contract, booking.contract_version, booking.amount.normalize())
            groups.setdefault(key, []).append(booking)
        else:
            credits.append(booking)
    assert len(currencies) <= 1, "an invoice is in one currency"
    charge_lines = [
        ChargeLine(
            members[0].description,
            contract,
            version,
            len(members),
            members[0].amount,
            members[0].amount * len(members),
        )
        for (contract, version, _), members in sorted(groups.items())
    ]
    credit_lines = [
        CreditLine(c.outcome, c.contract, -c.amount, c.reason, c.id)
        for c in sorted(credits, key=lambda c: (c.at, c.id))
    ]
    return charge_lines, credit_lines


def round_total(amount: Decimal, currency: str) -> Decimal:
    """An invoice total: half-even to the currency's ISO 4217 minor unit; a credit that
    rounds away leaves ``0.00``, never ``-0.00``."""
    quantum = Decimal(1).scaleb(-minor_units(currency))
    total = amount.quantize(quantum, rounding=ROUND_HALF_EVEN)
    return total.copy_abs() if total == 0 else total


def totals(charges: Sequence[ChargeLine], credits: Sequence[CreditLine], currency: str) -> Totals:
    subtotal = sum((line.amount for line in charges), start=ZERO)
    credited = -sum((line.amount for line in credits), start=ZERO)
    return Totals(subtotal, credited, round_total(subtotal - credited, currency))


def money_text(amount: Decimal, currency: str) -> str:
    """An exact amount as every answer writes it (the ledger's canonical text: at least the
    currency's display places, every further digit kept), signed; never ``-0``."""
    if amount < 0:
        return "-" + format_amount(-amount, currency)
    return format_amount(abs(amount), currency)


def lines_json(
    charges: Iterable[ChargeLine], credits: Iterable[CreditLine], currency: str
) -> list[dict[str, Any]]:
    """An invoice's lines as SPEC 8's invoice object shows them: charge lines, then credits
    (negative), money as exact decimal text."""
    lines: list[dict[str, Any]] = [
        {
            "kind": "charge", "description": line.description, "contract": line.contract,
            "contract_version": line.contract_version, "quantity": line.quantity,
            "unit_price": money_text(line.unit_price, currency),
            "amount": money_text(line.amount, currency),
        }
        for line in charges
    ]  # fmt: skip
    lines += [
        {
            "kind": "credit", "outcome": line.outcome, "contract": line.contract,
            "amount": money_text(line.amount, currency), "reason": line.reason,
        }
        for line in credits
    ]  # fmt: skip
    return lines


def credit_reason(credit: Mapping[str, Any], late_signal: str | None) -> str:
    """A credit line's reason (SPEC 6) from its ``credit`` entry's data: the dispute's note,
    or the late signal (its name) whose failing check led to it."""
    if credit.get("reason") == "dispute":
        return f"dispute: {credit.get('note') or ''}".rstrip(": ")
    return "late signal" if late_signal is None else f"late signal {late_signal}"


def creditable(charge: Decimal, credited: Iterable[Decimal]) -> Decimal:
    """What may still be credited against a charge: the charge less every earlier credit
    (SPEC section 6: a credit is never more than that; nothing is left at zero)."""
    remainder = charge - sum(credited, start=ZERO)
    assert remainder >= 0, "credits never exceed their charge"
    return remainder
