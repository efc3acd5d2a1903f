"""Validating a signal as sent by a vendor (SPEC section 5), before anything is stored.

Pure: the time a signal is received is an argument. Every problem raises :class:`InvalidSignal`
naming the field, so callers can answer with a precise error and store nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from json.encoder import encode_basestring_ascii as _quote  # what json.dumps uses
from typing import Any

import msgspec

from earnest.contract.condition import Value
from earnest.errors import Invalid
from earnest.timefmt import format_time, parse_time

MAX_ID = 255
MAX_OUTCOME = 255
MAX_CUSTOMER = 255
MAX_SIGNAL = 64
MAX_STRING_VALUE = 1024
MAX_DATA_BYTES = 16 * 1024
MAX_FUTURE = timedelta(minutes=5)

SIGNAL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
CONTRACT_KEY = re.compile(r"[a-z][a-z0-9_]{0,63}")
FIELDS = frozenset({"id", "contract", "outcome", "customer", "signal", "value", "at", "data"})
NUL = "\x00"  # valid in JSON strings, but PostgreSQL text columns cannot hold it


class InvalidSignal(Invalid):
    """A signal that cannot be accepted as sent; ``field`` names the part that is wrong."""

    code = "invalid_signal"

    def __init__(self, field: str, message: str, code: str = "invalid_signal") -> None:
        super().__init__(message, code=code, field=field or None)

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class SignalIn(msgspec.Struct, frozen=True):
    """A validated signal. ``at`` is None when the sender left it to the time received."""

    contract: str
    outcome: str
    signal: str
    value: Value | None
    at: datetime | None
    id: str | None = None
    customer: str | None = None
    data: Mapping[str, Any] | None = None

    def occurred_at(self, received_at: datetime) -> datetime:
        return received_at if self.at is None else self.at

    def fingerprint(self) -> str:
        """A canonical form of the payload, for telling a duplicate from a conflicting id.

        Stored with each signal, so the text never changes: it is exactly ``json.dumps`` of
        the payload with sorted keys and compact separators, built by hand because this runs
        on every signal (tests/test_signals_fingerprint.py holds it to the ``json.dumps`` form).
        """
        data = self.data
        return "".join(
            (
                '{"at":',
                "null" if self.at is None else f'"{format_time(self.at)}"',
                ',"contract":',
                _quote(self.contract),
                ',"customer":',
                "null" if self.customer is None else _quote(self.customer),
                ',"data":',
                "null" if data is None else _data_json(data),
                ',"outcome":',
                _quote(self.outcome),
                ',"signal":',
                _quote(self.signal),
                ',"value":',
                _value_json(self.value),
                "}",
            )
        )


_DATA = msgspec.json.Encoder(decimal_format="number", order="sorted")


def _data_json(data: Mapping[str, Any]) -> str:
    """``data`` exactly: a number stays a JSON number, so ``1`` and ``"1"`` differ."""
    return _DATA.encode(data).decode()


def _value_json(value: Value | None) -> str:
    """A value in the fingerprint: a number as ``{"number": exact_number}``, so 4 and 4.00
    are one payload and a number never equals its string."""
    if value is None or isinstance(value, bool):
        return "null" if value is None else "true" if value else "false"
    if isinstance(value, Decimal):
        return f'{{"number":"{exact_number(value)}"}}'
    return _quote(value)


def exact_number(value: Decimal) -> str:
    """A canonical text for a finite Decimal: equal numbers give equal text (4 and 4.00),
    different ones different text, with no rounding (unlike ``Decimal.normalize``, which
    works to 28 digits) and no blow-up for huge exponents."""
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int), "only finite numbers are values"
    text = "".join(map(str, digits)).lstrip("0")
    if not text:
        return "0"
    stripped = text.rstrip("0")
    exponent += len(text) - len(stripped)
    return f"{'-' if sign else ''}{stripped}e{exponent}"


def validate_signal(
    raw: object,
    *,
    received_at: datetime | None = None,
    require_at: bool = False,
    default_contract: str | None = None,
) -> SignalIn:
    """Check one signal object. Numbers must already be ``Decimal`` (or ``int``), never float.

    ``received_at`` enables the "at most 5 minutes in the future" rule.
    """
    if not isinstance(raw, Mapping):
        raise InvalidSignal("", f"a signal must be a JSON object, got {_kind(raw)}")
    field = nul_field(raw)
    if field is not None:  # before anything else, so that every store refuses it alike
        raise InvalidSignal(str(field), f"{field} must not contain the character U+0000")
    for name in raw:
        if name not in FIELDS:
            raise InvalidSignal(str(name), f"unknown field {str(name)!r}")
    contract = raw.get("contract", default_contract)
    if contract is None:
        raise InvalidSignal("contract", "is required")
    _string(contract, "contract", 64)
    if not CONTRACT_KEY.fullmatch(contract):
        raise InvalidSignal("contract", f"{contract!r} is not a contract key")
    outcome = _string(raw.get("outcome"), "outcome", MAX_OUTCOME, required=True)
    signal = _string(raw.get("signal"), "signal", MAX_SIGNAL, required=True)
    if not SIGNAL_NAME.fullmatch(signal):
        raise InvalidSignal(
            "signal", f"{signal!r} is not a signal name (letters, digits and _, not first a digit)"
        )
    ident = raw.get("id")
    if ident is not None:
        _string(ident, "id", MAX_ID, required=True)
    customer = raw.get("customer")
    if customer is not None:
        _string(customer, "customer", MAX_CUSTOMER, required=True)
    value = _value(raw["value"]) if "value" in raw else True
    at = _at(raw.get("at"), received_at, require_at)
    data = _data(raw.get("data"))
    return SignalIn(contract, outcome, signal, value, at, ident, customer, data)


def nul_field(body: Mapping[str, Any]) -> str | None:
    """The first top-level field whose string holds U+0000 (``data`` and values nested deeper
    are stored as escaped JSON and may hold it)."""
    return next((k for k, v in body.items() if isinstance(v, str) and NUL in v), None)


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float, Decimal)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def _string(value: object, field: str, limit: int, *, required: bool = False) -> str:
    if value is None and required:
        raise InvalidSignal(field, "is required")
    if not isinstance(value, str):
        raise InvalidSignal(field, f"expected a string, got {_kind(value)}")
    if not value:
        raise InvalidSignal(field, "must not be empty")
    if len(value) > limit:
        raise InvalidSignal(field, f"is {len(value)} characters long; at most {limit} are allowed")
    return value


def _value(value: object) -> Value | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise InvalidSignal("value", "must be a finite number")
        return value
    if isinstance(value, float):
        raise InvalidSignal("value", "numbers must be parsed as decimals, never floats")
    if isinstance(value, str):
        if len(value) > MAX_STRING_VALUE:
            raise InvalidSignal(
                "value",
                f"is a string of {len(value)} characters; at most {MAX_STRING_VALUE} are allowed",
            )
        return value
    raise InvalidSignal(
        "value", f"expected true, false, a number, a string or null, got {_kind(value)}"
    )


def _at(value: object, received_at: datetime | None, required: bool) -> datetime | None:
    if value is None:
        if required:
            raise InvalidSignal("at", "is required")
        return None
    if not isinstance(value, str):
        raise InvalidSignal("at", f"expected an RFC 3339 time string, got {_kind(value)}")
    try:
        at = parse_time(value)
    except ValueError as error:
        raise InvalidSignal("at", str(error)) from None
    if received_at is not None and at - received_at > MAX_FUTURE:
        raise InvalidSignal(
            "at",
            f"{value} is more than 5 minutes after the time received ({format_time(received_at)})",
        )
    return at


def _data(value: object) -> Mapping[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise InvalidSignal("data", f"expected a JSON object, got {_kind(value)}")
    try:
        size = len(json.dumps(value, separators=(",", ":"), default=_decimal_text).encode())
    except (TypeError, ValueError) as error:
        raise InvalidSignal("data", f"is not JSON: {error}") from None
    if size > MAX_DATA_BYTES:
        raise InvalidSignal("data", f"is {size} bytes as JSON; at most {MAX_DATA_BYTES} allowed")
    return value


def _decimal_text(value: object) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON")
