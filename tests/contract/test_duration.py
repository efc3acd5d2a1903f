"""Durations: every form SPEC section 2 allows, what is refused and why, the canonical form."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from earnest.contract.duration import UNITS, format_duration, parse_duration


def refusal(value: object) -> str:
    """The message ``parse_duration`` refuses ``value`` with."""
    with pytest.raises(ValueError) as caught:  # noqa: PT011 - the message is compared whole
        parse_duration(value)
    return str(caught.value)


@pytest.mark.parametrize(
    ("written", "seconds"),
    [
        ("90s", 90),
        ("15m", 900),
        ("48h", 172_800),
        ("7d", 604_800),
        ("2w", 1_209_600),
        ("1h30m", 5_400),
        ("1h30m15s", 5_415),
        ("1d12h", 129_600),
        ("1w2d3h4m5s", 604_800 + 2 * 86_400 + 3 * 3_600 + 4 * 60 + 5),
        ("1h0m", 3_600),
        ("0s", 0),
        ("0", 0),
        ("3600", 3_600),
        (" 48h ", 172_800),
        ("0048h", 172_800),
        (3600, 3_600),
        (0, 0),
    ],
)
def test_every_form_parses(written: object, seconds: int) -> None:
    assert parse_duration(written) == seconds


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("30m1h", "'30m1h' has its units out of order; write the largest first, as in 1h30m"),
        ("12h1d", "'12h1d' has its units out of order; write the largest first, as in 1d12h"),
        ("1h1h", "'1h1h' gives the unit 'h' twice; write each unit once"),
        ("1h30m30m", "'1h30m30m' gives the unit 'm' twice; write each unit once"),
        ("48H", "'48H' has the unit 'H'; units are lower-case: s, m, h, d, w"),
        ("5x", "'5x' has an unknown unit 'x'; use s, m, h, d or w, as in 1h30m"),
        ("30m1x", "'30m1x' has an unknown unit 'x'; use s, m, h, d or w, as in 1h30m"),
        ("100ms", "'100ms' has an unknown unit 'ms'; use s, m, h, d or w, as in 1h30m"),
        ("2hours", "'2hours' has an unknown unit 'hours'; use s, m, h, d or w, as in 1h30m"),
        ("1.5h", "'1.5h' is not a whole number of units; write e.g. 1h30m instead of 1.5h"),
        ("1.5", "'1.5' is not a whole number of units; write e.g. 1h30m instead of 1.5h"),
        ("-5s", "a duration cannot be negative, got '-5s'"),
        ("-5", "a duration cannot be negative, got '-5'"),
        ("1h 30m", "'1h 30m' has spaces; write durations without them, e.g. 1h30m"),
        ("1h30", "'1h30' ends in a number without a unit; write e.g. 1h30m"),
        ("h", "'h' is not a duration; expected e.g. 90s, 15m, 48h, 7d, 2w or 1h30m"),
        ("+5s", "'+5s' is not a duration; expected e.g. 90s, 15m, 48h, 7d, 2w or 1h30m"),
        ("1:30", "'1:30' is not a duration; expected e.g. 90s, 15m, 48h, 7d, 2w or 1h30m"),
        ("forever", "'forever' is not a duration; expected e.g. 90s, 15m, 48h, 7d, 2w or 1h30m"),
        ("", "expected a duration such as 48h, got empty text"),
        ("   ", "expected a duration such as 48h, got empty text"),
        ("1" * 65, "is longer than 64 characters; expected e.g. 48h"),
        (-1, "a duration cannot be negative, got -1"),
        (
            True,
            "expected a duration such as 48h, 1h30m or a whole number of seconds,"
            " got a boolean (true)",
        ),
        (
            False,
            "expected a duration such as 48h, 1h30m or a whole number of seconds,"
            " got a boolean (false)",
        ),
        (
            1.5,
            "expected a duration such as 48h, 1h30m or a whole number of seconds,"
            " got a float (1.5)",
        ),
        (
            3600.0,
            "expected a duration such as 48h, 1h30m or a whole number of seconds,"
            " got a float (3600.0)",
        ),
        (
            Decimal("1.5"),
            "expected a duration such as 48h, 1h30m or a whole number of seconds,"
            " got a number (1.5)",
        ),
        (
            None,
            "expected a duration such as 48h, 1h30m or a whole number of seconds,"
            " got nothing (null)",
        ),
        (
            ["48h"],
            "expected a duration such as 48h, 1h30m or a whole number of seconds, got a list",
        ),
        (
            {"h": 48},
            "expected a duration such as 48h, 1h30m or a whole number of seconds, got a mapping",
        ),
    ],
)
def test_bad_durations_are_refused_with_a_precise_message(written: object, message: str) -> None:
    assert refusal(written) == message


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (1, "1s"),
        (59, "59s"),
        (60, "1m"),
        (90, "1m30s"),
        (3_600, "1h"),
        (5_415, "1h30m15s"),
        (86_400, "1d"),
        (172_800, "2d"),
        (604_800, "1w"),
        (691_200, "1w1d"),
        (1_209_600, "2w"),
        (366 * 86_400, "52w2d"),
        (366 * 86_400 + 1, "52w2d1s"),
    ],
)
def test_format_duration_is_compact_and_canonical(seconds: int, text: str) -> None:
    assert format_duration(seconds) == text
    assert parse_duration(text) == seconds


def test_format_duration_asserts_whole_non_negative_seconds() -> None:
    with pytest.raises(AssertionError, match="never negative"):
        format_duration(-1)
    with pytest.raises(AssertionError, match="whole"):
        format_duration(True)


@given(st.integers(min_value=0, max_value=10**12))
def test_format_then_parse_is_the_identity(seconds: int) -> None:
    text = format_duration(seconds)
    assert parse_duration(text) == seconds
    assert parse_duration(str(seconds)) == seconds
    assert format_duration(parse_duration(text)) == text


@st.composite
def compounds(draw: st.DrawFn) -> tuple[str, int]:
    """Any well-formed compound: a non-empty subset of the units, largest first, any counts."""
    units = draw(st.lists(st.sampled_from(list(UNITS)), min_size=1, unique=True))
    units.sort(key=lambda unit: -UNITS[unit])
    counts = [draw(st.integers(min_value=0, max_value=10_000)) for _ in units]
    text = "".join(f"{count}{unit}" for count, unit in zip(counts, units, strict=True))
    return text, sum(count * UNITS[unit] for count, unit in zip(counts, units, strict=True))


@given(compounds())
def test_any_well_formed_compound_parses_to_its_sum(case: tuple[str, int]) -> None:
    text, seconds = case
    assert parse_duration(text) == seconds
    assert parse_duration(format_duration(seconds)) == seconds
