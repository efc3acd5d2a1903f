"""A signal's fingerprint tells a duplicate from a conflicting reuse of its id, exactly."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from earnest.signals import InvalidSignal, SignalIn, exact_number, validate_signal
from earnest.timefmt import format_time, parse_time


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


def _stored_form(signal: SignalIn) -> str:
    """The fingerprint as first stored: changing its text would turn every retry of an
    already stored signal into a conflict."""
    value = signal.value
    payload = {
        "contract": signal.contract,
        "outcome": signal.outcome,
        "customer": signal.customer,
        "signal": signal.signal,
        "value": {"number": exact_number(value)} if isinstance(value, Decimal) else value,
        "at": format_time(signal.at) if signal.at is not None else None,
        "data": None,
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    if signal.data is None:
        return text
    # data keeps its numbers as JSON numbers (msgspec, sorted keys), so 1 and "1" differ.
    data = msgspec.json.Encoder(decimal_format="number", order="sorted").encode(signal.data)
    return text.replace(',"data":null,', f',"data":{data.decode()},', 1)


# U+0000 is refused at the top level (tests/test_signals.py); nested in data it is kept.
_any_texts = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=20)
_texts = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), min_size=1, max_size=20
)


@given(
    outcome=_texts,
    customer=st.none() | _texts,
    value=st.none() | st.booleans() | _texts | st.decimals(allow_nan=False, allow_infinity=False),
    at=st.none() | st.datetimes(datetime(1, 1, 1), timezones=st.just(UTC)),
    data=st.none()
    | st.dictionaries(
        _any_texts,
        st.none() | st.booleans() | _any_texts | st.decimals(allow_nan=False, allow_infinity=False),
        max_size=3,
    ),
)
def test_the_fingerprint_text_is_the_stored_form(
    outcome: str,
    customer: str | None,
    value: object,
    at: datetime | None,
    data: dict[str, object] | None,
) -> None:
    raw: dict[str, object] = {"contract": "c", "outcome": outcome, "signal": "s", "value": value}
    raw.update(customer=customer, data=data, at=None if at is None else format_time(at))
    signal = validate_signal(raw)
    assert signal.fingerprint() == _stored_form(signal)


def test_numbers_and_strings_in_data_are_different_payloads() -> None:
    def with_data(data: dict[str, object]) -> str:
        raw = {"contract": "c", "outcome": "o", "signal": "s", "data": data}
        return validate_signal(raw).fingerprint()

    assert with_data({"a": Decimal(1)}) != with_data({"a": "1"})
    assert with_data({"a": Decimal(1), "b": True}) == with_data({"b": True, "a": Decimal(1)})


def test_times_before_the_year_1000_round_trip() -> None:
    moment = datetime(999, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    assert format_time(moment) == "0999-01-02T03:04:05.000006Z"
    assert parse_time(format_time(moment)) == moment


@pytest.mark.parametrize(
    "field", ["contract", "outcome", "signal", "id", "customer", "value", "at"]
)
def test_u0000_in_a_top_level_string_is_refused_naming_the_field(field: str) -> None:
    raw: dict[str, object] = {"contract": "c", "outcome": "o", "signal": "s", field: "a\x00"}
    with pytest.raises(InvalidSignal) as refused:
        validate_signal(raw)
    assert refused.value.field == field
    assert refused.value.message == f"{field} must not contain the character U+0000"
    # nested in data it is stored as escaped JSON, and kept
    kept = validate_signal({"contract": "c", "outcome": "o", "signal": "s", "data": {"k": "\x00"}})
    assert kept.data == {"k": "\x00"}
