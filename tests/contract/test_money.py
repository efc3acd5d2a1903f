"""Prices: every form SPEC section 2 allows, every bound, and exact canonical output."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from earnest.contract.money import (
    MAX_AMOUNT,
    Money,
    current_currencies,
    format_amount,
    minor_units,
    parse_price,
)

D = Decimal


def refusal(value: object) -> str:
    """The message ``parse_price`` refuses ``value`` with."""
    with pytest.raises(ValueError) as caught:  # noqa: PT011 - the message is compared whole
        parse_price(value)
    return str(caught.value)


@pytest.mark.parametrize(
    ("written", "amount", "currency"),
    [
        ("$0.99", "0.99", "USD"),
        ("€1.50", "1.50", "EUR"),
        ("£2", "2", "GBP"),
        ("¥100", "100", "JPY"),
        ("0.99 USD", "0.99", "USD"),
        ("USD 0.99", "0.99", "USD"),
        ("12.5 CHF", "12.5", "CHF"),
        ("BHD 1.125", "1.125", "BHD"),
        ("$ 0.99", "0.99", "USD"),
        ("  0.99   USD  ", "0.99", "USD"),
        ("$0", "0", "USD"),
        ("$0.000001", "0.000001", "USD"),
        ("$007", "7", "USD"),
        ({"amount": "0.99", "currency": "USD"}, "0.99", "USD"),
        ({"amount": D("0.99"), "currency": "USD"}, "0.99", "USD"),
        ({"amount": 3, "currency": "EUR"}, "3", "EUR"),
        ({"amount": " 0.99 ", "currency": " USD "}, "0.99", "USD"),
    ],
)
def test_every_form_parses(written: object, amount: str, currency: str) -> None:
    money = parse_price(written)
    assert money == Money(D(amount), currency)
    assert isinstance(money.amount, Decimal)


def test_lower_case_currency_codes_are_normalised() -> None:
    assert parse_price("0.99 usd") == Money(D("0.99"), "USD")
    assert parse_price("eur 1") == Money(D("1"), "EUR")
    assert parse_price({"amount": "1", "currency": "gbp"}) == Money(D("1"), "GBP")


@pytest.mark.parametrize(
    ("written", "amount"),
    [
        ("$0.123456", "0.123456"),  # six places: the most allowed
        ("$1000000000", "1000000000"),  # 10^9: the largest amount
        ("$1000000000.000000", "1000000000"),
        ("$0", "0"),
    ],
)
def test_amounts_at_the_bounds_are_accepted(written: str, amount: str) -> None:
    assert parse_price(written).amount == D(amount)


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("$0.1234567", "0.1234567 has 7 decimal places; at most 6 are allowed"),
        ("$0.9900000", "0.9900000 has 7 decimal places; at most 6 are allowed"),
        (
            "1000000000.000001 USD",
            "1000000000.000001 is more than the largest amount allowed, 1000000000",
        ),
        ("$1000000001", "1000000001 is more than the largest amount allowed, 1000000000"),
        ("0.99 ABC", "'ABC' is not an ISO 4217 currency code such as USD or EUR"),
        ("0.99 abc", "'abc' is not an ISO 4217 currency code such as USD or EUR"),
        (
            "0.99 DEM",
            "'DEM' (German Mark) is not a currency in current use;"
            " use a current ISO 4217 code such as USD or EUR",
        ),
        (
            "XAU 1",
            "'XAU' (Gold) is not a currency in current use;"
            " use a current ISO 4217 code such as USD or EUR",
        ),
        (
            "XTS 1",
            "'XTS' (Testing Currency Code) is not a currency in current use;"
            " use a current ISO 4217 code such as USD or EUR",
        ),
        ("0.99", "needs a currency, e.g. $0.99 or 0.99 USD"),
        ("100", "needs a currency, e.g. $0.99 or 0.99 USD"),
        ("-$1", "cannot be negative, got -1"),
        ("$-1", "cannot be negative, got -1"),
        ("-0.5 EUR", "cannot be negative, got -0.5"),
        ("+$1", "write the amount without a sign, got +1"),
        ("USD +1", "write the amount without a sign, got +1"),
        ("1e3 USD", "1e3 is in exponent notation; write the amount in full, e.g. 1000"),
        ("$1E-2", "1E-2 is in exponent notation; write the amount in full, e.g. 0.01"),
        (
            "1,000 USD",
            "write the amount with a decimal point and no thousands separators, got 1,000",
        ),
        ("1,50 EUR", "write the amount with a decimal point and no thousands separators, got 1,50"),
        ("$.5", "'.5' is not a decimal amount such as 0.99"),
        ("$5.", "'5.' is not a decimal amount such as 0.99"),
        ("$", "'$' has no amount after $; e.g. $0.99 or 0.99 USD"),
        (
            "NaN USD",
            "'NaN USD' is not a price; write it as $0.99, €1.50, £2, ¥100, 0.99 USD or USD 0.99",
        ),
        (
            "free",
            "'free' is not a price; write it as $0.99, €1.50, £2, ¥100, 0.99 USD or USD 0.99",
        ),
        (
            "US$1",
            "'US$1' is not a price; write it as $0.99, €1.50, £2, ¥100, 0.99 USD or USD 0.99",
        ),
        (
            "0.99 EURO",
            "'0.99 EURO' is not a price; write it as $0.99, €1.50, £2, ¥100, 0.99 USD or USD 0.99",
        ),
        ("", "'' is not a price; write it as $0.99, €1.50, £2, ¥100, 0.99 USD or USD 0.99"),
        ("$" + "9" * 70, "is longer than 64 characters; expected e.g. $0.99 or 0.99 USD"),
    ],
)
def test_bad_text_is_refused_with_a_precise_message(written: str, message: str) -> None:
    assert refusal(written) == message


@pytest.mark.parametrize(
    ("written", "message"),
    [
        (0.99, "needs a currency, e.g. $0.99 or 0.99 USD"),
        (5, "needs a currency, e.g. $0.99 or 0.99 USD"),
        (D("0.99"), "needs a currency, e.g. $0.99 or 0.99 USD"),
        (True, "expected a price such as $0.99 or 0.99 USD, got a boolean (true)"),
        (None, "expected a price such as $0.99 or 0.99 USD, got nothing (null)"),
        (["$1"], "expected a price such as $0.99 or 0.99 USD, got a list"),
        (
            {"amount": 0.99, "currency": "USD"},
            'the amount 0.99 is a float, which cannot hold money exactly; quote it: "0.99"',
        ),
        (
            {"amount": True, "currency": "USD"},
            'the amount must be a decimal such as "0.99", got a boolean (true)',
        ),
        (
            {"amount": [1], "currency": "USD"},
            'the amount must be a decimal such as "0.99", got a list',
        ),
        (
            {"amount": "1", "currency": 840},
            "the currency must be an ISO 4217 code such as USD, got a number (840)",
        ),
        ({"amount": "1"}, 'needs a currency, e.g. {amount: "0.99", currency: USD}'),
        ({"currency": "USD"}, 'needs an amount, e.g. {amount: "0.99", currency: USD}'),
        (
            {"amount": "1", "currency": "USD", "amont": "2"},
            "has an unknown field 'amont'; a price mapping has amount and currency",
        ),
        ({"amount": "$1", "currency": "USD"}, "'$1' is not a decimal amount such as 0.99"),
        ({"amount": -1, "currency": "USD"}, "cannot be negative, got -1"),
        ({"amount": D("-0.01"), "currency": "USD"}, "cannot be negative, got -0.01"),
        (
            {"amount": D("1E+3"), "currency": "USD"},
            "1E+3 is in exponent notation; write the amount in full, e.g. 1000",
        ),
        (
            {"amount": D("NaN"), "currency": "USD"},
            "NaN is not an amount; expected a decimal such as 0.99",
        ),
        (
            {"amount": D("Infinity"), "currency": "USD"},
            "Infinity is not an amount; expected a decimal such as 0.99",
        ),
        (
            {"amount": D("0.0000001"), "currency": "USD"},
            "1E-7 has 7 decimal places; at most 6 are allowed",
        ),
        (
            {"amount": 10**9 + 1, "currency": "USD"},
            "1000000001 is more than the largest amount allowed, 1000000000",
        ),
    ],
)
def test_bad_values_are_refused_with_a_precise_message(written: object, message: str) -> None:
    assert refusal(written) == message


def test_a_written_negative_zero_is_zero() -> None:
    money = parse_price({"amount": D("-0"), "currency": "USD"})
    assert money.amount == 0
    assert not money.amount.is_signed()


@pytest.mark.parametrize(("currency", "places"), [("JPY", 0), ("USD", 2), ("EUR", 2), ("BHD", 3)])
def test_minor_units_come_from_the_currency(currency: str, places: int) -> None:
    assert minor_units(currency) == places


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        ("0.99", "USD", "0.99"),
        ("0.990", "USD", "0.99"),
        ("0.5", "USD", "0.50"),
        ("2", "GBP", "2.00"),
        ("100", "JPY", "100"),
        ("100.0", "JPY", "100"),
        ("0.000123", "USD", "0.000123"),
        ("1E+3", "USD", "1000.00"),
        ("1000000000", "JPY", "1000000000"),
        ("0", "USD", "0.00"),
        ("1.2", "BHD", "1.200"),
    ],
)
def test_to_json_gives_the_canonical_plain_amount(amount: str, currency: str, text: str) -> None:
    money = Money(D(amount), currency)
    assert money.to_json() == {"amount": text, "currency": currency}
    assert format_amount(D(amount), currency) == text
    assert str(money) == f"{text} {currency}"


def test_equal_amounts_are_equal_money() -> None:
    assert Money(D("0.990"), "USD") == Money(D("0.99"), "USD")
    assert hash(Money(D("0.990"), "USD")) == hash(Money(D("0.99"), "USD"))
    assert Money(D("0.99"), "USD") != Money(D("0.99"), "EUR")


@pytest.mark.parametrize(
    ("amount", "currency", "rounded"),
    [
        ("0.125", "USD", "0.12"),  # half to even: down
        ("0.135", "USD", "0.14"),  # half to even: up
        ("0.12500001", "USD", "0.13"),
        ("2.5", "JPY", "2"),
        ("3.5", "JPY", "4"),
        ("0.0005", "BHD", "0.000"),
        ("1000000000.005", "USD", "1000000000.00"),
        ("7", "USD", "7.00"),
    ],
)
def test_round_is_half_even_to_the_minor_unit(amount: str, currency: str, rounded: str) -> None:
    result = Money(D(amount), currency).round()
    assert result.currency == currency
    assert str(result.amount) == rounded


def test_money_asserts_its_invariants() -> None:
    with pytest.raises(AssertionError, match="never negative"):
        Money(D("-1"), "USD")
    with pytest.raises(AssertionError, match="never a float"):
        Money(0.5, "USD")  # type: ignore[arg-type]
    with pytest.raises(AssertionError, match="upper-case ISO 4217"):
        Money(D(1), "usd")


def test_only_current_legal_tender_is_accepted() -> None:
    codes = current_currencies()
    assert {"USD", "EUR", "GBP", "JPY", "CHF", "BHD", "INR"} <= codes
    assert not {"DEM", "FRF", "HRK", "XAU", "XTS", "XXX", "CNH"} & codes


amounts = st.decimals(
    min_value=0, max_value=MAX_AMOUNT, places=6, allow_nan=False, allow_infinity=False
)
currencies = st.sampled_from(sorted(current_currencies()))


@given(amount=amounts, currency=currencies)
def test_every_written_form_round_trips(amount: Decimal, currency: str) -> None:
    money = Money(amount, currency)
    plain = f"{amount:f}"
    assert parse_price(f"{plain} {currency}") == money
    assert parse_price(f"{currency} {plain}") == money
    assert parse_price({"amount": plain, "currency": currency.lower()}) == money
    assert parse_price({"amount": amount, "currency": currency}) == money
    assert parse_price(money.to_json()) == money
    assert parse_price(str(money)) == money
    assert parse_price(money.to_json()).to_json() == money.to_json()
    assert "E" not in money.to_json()["amount"]


@given(amount=amounts)
def test_symbol_forms_round_trip(amount: Decimal) -> None:
    plain = f"{amount:f}"
    for symbol, currency in (("$", "USD"), ("€", "EUR"), ("£", "GBP"), ("¥", "JPY")):
        assert parse_price(symbol + plain) == Money(amount, currency)


@given(amount=amounts, currency=currencies)
def test_rounding_is_within_half_a_minor_unit(amount: Decimal, currency: str) -> None:
    rounded = Money(amount, currency).round()
    unit = Decimal(1).scaleb(-minor_units(currency))
    assert abs(rounded.amount - amount) <= unit / 2
    assert rounded.round() == rounded
