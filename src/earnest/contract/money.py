"""Money: an exact decimal amount in one ISO 4217 currency (SPEC section 2, ``price``).

A float never touches money. Prices are written as ``$0.99``, ``€1.50``, ``£2``, ``¥100``,
``0.99 USD``, ``USD 0.99`` or ``{amount: "0.99", currency: USD}``; :func:`parse_price` reads
all of them and raises ``ValueError`` with a message that the caller prefixes with the field name.

Choices (docs/decisions/0004-contract-format.md): currency codes are normalised to upper case;
only currencies in current use as legal tender are accepted (no historic codes, no funds, metals
or test codes); ``¥`` means JPY.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Context, Decimal
from functools import cache

from babel.core import get_global
from babel.numbers import get_currency_name, get_currency_precision, list_currencies

from earnest.contract.errors import describe

MAX_AMOUNT = Decimal(10) ** 9
MAX_PLACES = 6
MAX_PRICE_TEXT = 64  # characters; the longest valid form is far shorter

SYMBOLS: Mapping[str, str] = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY"}

EXAMPLES = "$0.99 or 0.99 USD"

# Enough digits for 10^9 with 6 places and for any invoice total of such amounts.
_CONTEXT = Context(prec=60)

_PLAIN_AMOUNT = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_EXPONENT_AMOUNT = re.compile(r"[0-9]*\.?[0-9]+[eE][-+]?[0-9]+")
_SYMBOL_FORM = re.compile(r"(?P<sign>[-+]?)\s*(?P<symbol>[$€£¥])\s*(?P<amount>.*)", re.DOTALL)
_CODE_FIRST = re.compile(r"(?P<code>[A-Za-z]{3})\s+(?P<amount>[-+]?[0-9.,]\S*)")
_CODE_LAST = re.compile(r"(?P<amount>[-+]?[0-9.,]\S*)\s+(?P<code>[A-Za-z]{3})")
_NUMBER_LIKE = re.compile(r"[-+]?[0-9.,]+(?:[eE][-+]?[0-9]+)?")
_ISO_CODE = re.compile(r"[A-Z]{3}")


@dataclass(frozen=True, slots=True)
class Money:
    """An exact, non-negative amount of one currency; 0.990 USD == 0.99 USD."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        assert isinstance(self.amount, Decimal), "money is always a Decimal, never a float"
        assert self.amount.is_finite(), "money is always finite"
        assert self.amount >= 0, "an amount is never negative"
        assert _ISO_CODE.fullmatch(self.currency), "a currency is an upper-case ISO 4217 code"

    def to_json(self) -> dict[str, str]:
        """``{"amount": "0.99", "currency": "USD"}``: the canonical amount text (see below)."""
        return {"amount": format_amount(self.amount, self.currency), "currency": self.currency}

    def round(self) -> Money:
        """Round half-even to the currency's minor unit (invoice totals, SPEC section 6)."""
        quantum = Decimal(1).scaleb(-minor_units(self.currency))
        rounded = self.amount.quantize(quantum, rounding=ROUND_HALF_EVEN, context=_CONTEXT)
        return Money(rounded, self.currency)

    def __str__(self) -> str:
        return f"{format_amount(self.amount, self.currency)} {self.currency}"


def minor_units(currency: str) -> int:
    """Decimal places of the currency's minor unit: JPY 0, USD 2, BHD 3 (from CLDR via babel)."""
    return int(get_currency_precision(currency))


def format_amount(amount: Decimal, currency: str) -> str:
    """The canonical amount text: plain decimal, no exponent, no trailing zeros beyond the
    currency's minor unit, and at least that many places: ``0.990`` USD -> ``"0.99"``,
    ``0.5`` USD -> ``"0.50"``, ``100`` JPY -> ``"100"``, ``0.000123`` USD -> ``"0.000123"``.
    """
    normal = amount.normalize(context=_CONTEXT)
    places = minor_units(currency)
    exponent = normal.as_tuple().exponent
    assert isinstance(exponent, int), "amounts are finite"
    if exponent > -places:
        normal = normal.quantize(Decimal(1).scaleb(-places), context=_CONTEXT)
    return format(normal, "f")


@cache
def current_currencies() -> frozenset[str]:
    """ISO 4217 codes in current use as legal tender somewhere (CLDR territory data)."""
    codes: set[str] = set()
    for entries in get_global("territory_currencies").values():
        for code, _start, end, tender in entries:
            if end is None and tender:
                codes.add(code)
    return frozenset(codes)


def parse_currency(value: object) -> str:
    """A current ISO 4217 code, normalised to upper case (``usd`` -> ``USD``)."""
    if not isinstance(value, str):
        raise ValueError(
            f"the currency must be an ISO 4217 code such as USD, got {describe(value)}"
        )
    code = value.strip().upper()
    if code in current_currencies():
        return code
    if _ISO_CODE.fullmatch(code) and code in list_currencies():
        name = get_currency_name(code, locale="en")
        raise ValueError(
            f"{code!r} ({name}) is not a currency in current use;"
            " use a current ISO 4217 code such as USD or EUR"
        )
    raise ValueError(f"{value!r} is not an ISO 4217 currency code such as USD or EUR")


def parse_amount(value: object) -> Decimal:
    """A decimal amount: text, ``Decimal`` or ``int``; 0 to 10^9, at most 6 places."""
    if isinstance(value, bool) or not isinstance(value, str | Decimal | int):
        if isinstance(value, float):
            raise ValueError(
                f"the amount {value!r} is a float, which cannot hold money exactly;"
                f' quote it: "{value!r}"'
            )
        raise ValueError(f'the amount must be a decimal such as "0.99", got {describe(value)}')
    amount = _amount_from_text(value.strip()) if isinstance(value, str) else Decimal(value)
    return _check_amount(amount, value)


def parse_price(value: object) -> Money:
    """Read a price in any form SPEC section 2 allows; raise ``ValueError`` saying what is wrong."""
    if isinstance(value, Mapping):
        return _price_from_mapping(value)
    if isinstance(value, str):
        return _price_from_text(value)
    if isinstance(value, bool) or not isinstance(value, int | Decimal | float):
        raise ValueError(f"expected a price such as {EXAMPLES}, got {describe(value)}")
    raise ValueError(f"needs a currency, e.g. {EXAMPLES}")


def _price_from_text(text: str) -> Money:
    if len(text) > MAX_PRICE_TEXT:
        raise ValueError(f"is longer than {MAX_PRICE_TEXT} characters; expected e.g. {EXAMPLES}")
    stripped = text.strip()
    if match := _SYMBOL_FORM.fullmatch(stripped):
        currency = SYMBOLS[match["symbol"]]
        if not match["amount"]:
            raise ValueError(f"{text!r} has no amount after {match['symbol']}; e.g. {EXAMPLES}")
        return Money(parse_amount(match["sign"] + match["amount"]), currency)
    match = _CODE_FIRST.fullmatch(stripped) or _CODE_LAST.fullmatch(stripped)
    if match:
        currency = parse_currency(match["code"])
        return Money(parse_amount(match["amount"]), currency)
    if _NUMBER_LIKE.fullmatch(stripped):
        raise ValueError(f"needs a currency, e.g. {EXAMPLES}")
    raise ValueError(
        f"{text!r} is not a price; write it as $0.99, €1.50, £2, ¥100, 0.99 USD or USD 0.99"
    )


def _price_from_mapping(value: Mapping[object, object]) -> Money:
    example = '{amount: "0.99", currency: USD}'
    unknown = [key for key in value if key not in ("amount", "currency")]
    if unknown:
        raise ValueError(
            f"has an unknown field {unknown[0]!r}; a price mapping has amount and currency"
        )
    if "amount" not in value:
        raise ValueError(f"needs an amount, e.g. {example}")
    if "currency" not in value:
        raise ValueError(f"needs a currency, e.g. {example}")
    currency = parse_currency(value["currency"])
    return Money(parse_amount(value["amount"]), currency)


def _amount_from_text(text: str) -> Decimal:
    if _PLAIN_AMOUNT.fullmatch(text):
        return Decimal(text)
    if text.startswith("-"):
        raise ValueError(f"cannot be negative, got {text}")
    if text.startswith("+"):
        raise ValueError(f"write the amount without a sign, got {text}")
    if "," in text and _NUMBER_LIKE.fullmatch(text):
        raise ValueError(
            f"write the amount with a decimal point and no thousands separators, got {text}"
        )
    if _EXPONENT_AMOUNT.fullmatch(text):
        raise _exponent_error(text, Decimal(text))
    raise ValueError(f"{text!r} is not a decimal amount such as 0.99")


def _check_amount(amount: Decimal, written: object) -> Decimal:
    if not amount.is_finite():
        raise ValueError(f"{written} is not an amount; expected a decimal such as 0.99")
    if amount.is_signed() and amount != 0:
        raise ValueError(f"cannot be negative, got {written}")
    exponent = amount.as_tuple().exponent
    assert isinstance(exponent, int)
    if exponent > 0:
        raise _exponent_error(written, amount)
    if -exponent > MAX_PLACES:
        raise ValueError(
            f"{written} has {-exponent} decimal places; at most {MAX_PLACES} are allowed"
        )
    if amount > MAX_AMOUNT:
        raise ValueError(f"{written} is more than the largest amount allowed, 1000000000")
    return abs(amount)  # turns a written -0 into 0


def _exponent_error(written: object, amount: Decimal) -> ValueError:
    return ValueError(
        f"{written} is in exponent notation; write the amount in full, e.g. {amount:f}"
    )
