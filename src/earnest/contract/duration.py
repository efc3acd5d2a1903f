"""Durations: ``90s``, ``15m``, ``48h``, ``7d``, ``2w``, compounds such as ``1h30m``, or whole
seconds (SPEC section 2, ``active_for`` and ``review_window``).

A compound writes its units largest first, each at most once (``1d12h``, not ``12h1d`` or
``1h1h``), so that every duration has one obvious spelling and a typo is not silently summed.
Units are lower-case. Bounds belong to the field and are checked by the loader.
"""

from __future__ import annotations

import re

from earnest.contract.errors import describe

UNITS: dict[str, int] = {"w": 604_800, "d": 86_400, "h": 3_600, "m": 60, "s": 1}
MAX_DURATION_TEXT = 64  # characters
EXAMPLE = "48h"

_DIGITS = re.compile(r"[0-9]+")
_PARTS = re.compile(r"(?:[0-9]+[A-Za-z]+)+")
_PART = re.compile(r"([0-9]+)([A-Za-z]+)")
_FRACTION = re.compile(r"[0-9]*[.,][0-9]+[A-Za-z]*")
_MISSING_UNIT = re.compile(r"(?:[0-9]+[A-Za-z]+)+[0-9]+")


def parse_duration(value: object) -> int:
    """Whole seconds from ``48h``, ``1h30m``, ``3600`` or ``"3600"``; ``ValueError`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(
            f"expected a duration such as {EXAMPLE}, 1h30m or a whole number of seconds,"
            f" got {describe(value)}"
        )
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"a duration cannot be negative, got {value}")
        return value
    return _parse_text(value)


def format_duration(seconds: int) -> str:
    """The canonical compact form, largest units first: 0 -> ``0s``, 90 -> ``1m30s``,
    172800 -> ``2d``, 1209600 -> ``2w``. ``parse_duration(format_duration(n)) == n``.
    """
    assert isinstance(seconds, int), "durations are whole seconds"
    assert not isinstance(seconds, bool), "durations are whole seconds, not booleans"
    assert seconds >= 0, "a duration is never negative"
    if seconds == 0:
        return "0s"
    parts: list[str] = []
    rest = seconds
    for unit, size in UNITS.items():
        count, rest = divmod(rest, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def _parse_text(text: str) -> int:
    if not text.strip():
        raise ValueError(f"expected a duration such as {EXAMPLE}, got empty text")
    if len(text) > MAX_DURATION_TEXT:
        raise ValueError(f"is longer than {MAX_DURATION_TEXT} characters; expected e.g. {EXAMPLE}")
    stripped = text.strip()
    if _DIGITS.fullmatch(stripped):
        return int(stripped)
    if _PARTS.fullmatch(stripped):
        return _sum_parts(stripped)
    raise ValueError(_why_not(stripped))


def _sum_parts(text: str) -> int:
    parts = _PART.findall(text)
    for _count, unit in parts:
        if unit not in UNITS:
            raise ValueError(_unknown_unit(text, unit))
    total = 0
    previous: str | None = None
    for count, unit in parts:
        if previous is not None:
            if unit == previous:
                raise ValueError(f"{text!r} gives the unit {unit!r} twice; write each unit once")
            if UNITS[unit] > UNITS[previous]:
                raise ValueError(
                    f"{text!r} has its units out of order; write the largest first,"
                    f" as in {format_duration(_lenient_sum(text))}"
                )
        previous = unit
        total += int(count) * UNITS[unit]
    return total


def _lenient_sum(text: str) -> int:
    """The sum the user probably meant, only to suggest the canonical spelling."""
    return sum(int(count) * UNITS[unit] for count, unit in _PART.findall(text))


def _unknown_unit(text: str, unit: str) -> str:
    if unit.lower() in UNITS:
        return f"{text!r} has the unit {unit!r}; units are lower-case: s, m, h, d, w"
    return f"{text!r} has an unknown unit {unit!r}; use s, m, h, d or w, as in 1h30m"


def _why_not(text: str) -> str:
    if text.startswith("-"):
        return f"a duration cannot be negative, got {text!r}"
    if _FRACTION.fullmatch(text):
        return f"{text!r} is not a whole number of units; write e.g. 1h30m instead of 1.5h"
    if _MISSING_UNIT.fullmatch(text) and all(u in UNITS for _, u in _PART.findall(text)):
        return f"{text!r} ends in a number without a unit; write e.g. 1h30m"
    if any(char.isspace() for char in text):
        return f"{text!r} has spaces; write durations without them, e.g. 1h30m"
    return f"{text!r} is not a duration; expected e.g. 90s, 15m, {EXAMPLE}, 7d, 2w or 1h30m"
