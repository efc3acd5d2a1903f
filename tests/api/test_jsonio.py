"""``earnest.jsonio``: exact numbers, refusals with line and column."""

from __future__ import annotations

from decimal import Decimal

import pytest

from earnest.jsonio import MalformedJson, dump_json, parse_json


def test_every_number_is_a_decimal() -> None:
    parsed = parse_json(
        b'{"a": 1, "b": 0.1, "c": [1e3, -2.50], "d": 123456789012345678901234567890}'
    )
    assert parsed == {
        "a": Decimal(1),
        "b": Decimal("0.1"),
        "c": [Decimal("1E+3"), Decimal("-2.50")],
        "d": Decimal("123456789012345678901234567890"),
    }
    assert all(isinstance(v, Decimal) for v in (parsed["a"], parsed["b"], *parsed["c"]))


def test_round_trip_keeps_numbers_exact() -> None:
    text = b'{"v":0.10000000000000000000000000001}'
    assert dump_json(parse_json(text)) == text


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('{"a": NaN}', "NaN"),
        ('{"a": -Infinity}', "Infinity"),
        ('{"a": 1, "a": 2}', "'a' appears twice"),
        ('{\n  "a": tru\n}', "line 2, column 8"),
        ("[1, 2", "line 1, column 6"),
        ("1e99999999999999999999", "out of range"),
        ("1e1000000", "out of range"),
        ("9." + "9" * 40 + "e999999", "out of range"),
        ('"\\udc00"', "surrogate"),
    ],
)
def test_refusals(text: str, needle: str) -> None:
    with pytest.raises(MalformedJson) as caught:
        parse_json(text)
    assert needle in caught.value.message


def test_invalid_utf8_names_its_position() -> None:
    with pytest.raises(MalformedJson) as caught:
        parse_json(b'{"a":\n "\xff"}')
    assert (caught.value.line, caught.value.column) == (2, 3)


def test_numbers_in_range_are_fine_and_normalise() -> None:
    parsed = parse_json("[0, 0.0, 1e-999000, 9." + "9" * 40 + "e998999]")
    assert parsed[:3] == [Decimal(0), Decimal("0.0"), Decimal("1e-999000")]
    for number in parsed:
        number.normalize()  # would raise decimal.Overflow outside the bound
