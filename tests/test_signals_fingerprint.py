"""A signal's fingerprint tells a duplicate from a conflicting reuse of its id, exactly."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from earnest.signals import exact_number, validate_signal


def fingerprint(value: object) -> str:
    raw = {"contract": "c", "outcome": "o", "signal": "s", "value": value}
    return validate_signal(raw).fingerprint()


@pytest.mark.parametrize(
    ("a", "b"),
    [("4", "4.00"), ("0", "-0.0"), ("1E+2", "100"), ("0.50", "0.5")],
)
def test_equal_numbers_are_the_same_payload(a: str, b: str) -> None:
    assert fingerprint(Decimal(a)) == fingerprint(Decimal(b))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("1.00000000000000000000000000001", "1.00000000000000000000000000002"),
        ("4", "-4"),
        ("1E+999000", "1E+999001"),
    ],
)
def test_different_numbers_are_different_payloads(a: str, b: str) -> None:
    assert fingerprint(Decimal(a)) != fingerprint(Decimal(b))


def test_a_number_and_its_string_differ() -> None:
    assert fingerprint(Decimal(4)) != fingerprint("4")


@given(st.decimals(allow_nan=False, allow_infinity=False), st.integers(0, 5))
def test_exact_number_is_canonical_and_exact(value: Decimal, zeros: int) -> None:
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    padded = Decimal((sign, (*digits, *([0] * zeros)), exponent - zeros))  # same number
    assert exact_number(padded) == exact_number(value)
    text = exact_number(value)
    assert Decimal(text) == value
