"""JSON in and out of the HTTP API, exactly.

Reading: every number becomes a ``Decimal`` (never a float), ``NaN``/``Infinity`` and
duplicate keys are refused, and every error names the line and column. Writing goes through
the store's canonical encoder, so decimals stay JSON numbers and times RFC 3339.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec

from earnest.errors import Invalid

_ENCODER = msgspec.json.Encoder(decimal_format="number", order="sorted")
encode = _ENCODER.encode  # the canonical form, as bytes (the store hashes it: codec.dumps)

MAX_DEPTH_MESSAGE = "is nested too deeply"
# Well inside decimal.DefaultContext's Emax of 999,999: rounding a long number to the context's
# precision (``normalize()``) can raise its exponent by one, and must never overflow.
MAX_EXPONENT = 999_000
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class MalformedJson(Invalid):
    """Text that is not one JSON value; ``line`` and ``column`` are 1-based when known."""

    code = "malformed_json"

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message if line is None else f"{message} (line {line}, column {column})")
        self.line = line
        self.column = column


def parse_json(source: bytes | str) -> Any:
    """One JSON value with every number a ``Decimal``; raises :class:`MalformedJson`."""
    text = _text(source)
    try:
        value = json.loads(
            text,
            parse_float=_number,
            parse_int=_number,
            parse_constant=_refuse_constant,
            object_pairs_hook=_refuse_duplicates,
        )
    except json.JSONDecodeError as error:
        raise MalformedJson(f"invalid JSON: {error.msg}", error.lineno, error.colno) from None
    except _Refused as error:
        raise MalformedJson(f"invalid JSON: {error}") from None
    except RecursionError:
        raise MalformedJson(f"invalid JSON: {MAX_DEPTH_MESSAGE}") from None
    if _SURROGATE_ESCAPE.search(text):
        _refuse_surrogates(value)
    return value


def dump_json(value: Any) -> bytes:
    """Canonical JSON bytes: sorted keys, no spaces, decimals as numbers (never through a
    float), times as RFC 3339. The store hashes this form (``codec.dumps``)."""
    return encode(value)


class _Refused(ValueError):
    pass


def _text(source: bytes | str) -> str:
    if isinstance(source, str):
        return source
    try:
        return source.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = source.count(b"\n", 0, error.start) + 1
        column = error.start - (source.rfind(b"\n", 0, error.start) + 1) + 1
        raise MalformedJson(f"invalid UTF-8 ({error.reason})", line, column) from None


def _number(text: str) -> Decimal:
    """Numbers stay exact; their exponent is bounded by the default decimal context, so
    arithmetic on them (comparison, normalisation) can never overflow later."""
    try:
        number = Decimal(text)
    except InvalidOperation:  # an exponent beyond what any decimal can hold
        raise _Refused(f"the number {text[:40]} is out of range") from None
    if number and not -MAX_EXPONENT <= number.adjusted() <= MAX_EXPONENT:
        raise _Refused(f"the number {text[:40]} is out of range (at most 1e{MAX_EXPONENT})")
    return number


def _refuse_constant(name: str) -> Any:
    raise _Refused(f"{name} is not a number JSON allows")


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in pairs:
        if name in out:
            raise _Refused(f"the key {name!r} appears twice in one object")
        out[name] = value
    return out


def _refuse_surrogates(value: Any) -> None:
    """A lone UTF-16 surrogate (``"\\ud800"``) parses but cannot be stored or sent back."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise MalformedJson(
                    "invalid JSON: a string holds a lone UTF-16 surrogate"
                ) from None
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
