"""How engine values become columns and JSON text, and back, exactly.

Times are integer microseconds since the epoch. JSON is written by msgspec with decimals as
JSON numbers (never through a float) and read back with every number as a ``Decimal``.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import msgspec

from earnest.contract.condition import Value
from earnest.engine import Observed
from earnest.jsonio import encode

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DECODER = msgspec.json.Decoder(float_hook=Decimal)


def to_us(moment: datetime) -> int:
    delta = moment - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


@functools.lru_cache(maxsize=4096)
def from_us(micros: int) -> datetime:
    """The time ``micros`` after the epoch. Memoised: the times of one batch repeat (its
    engine time is every touched outcome's clock), and datetimes are immutable."""
    return EPOCH + timedelta(0, 0, micros)


def opt_us(moment: datetime | None) -> int | None:
    return None if moment is None else to_us(moment)


def opt_time(micros: int | None) -> datetime | None:
    return None if micros is None else from_us(micros)


def dumps(value: Any) -> str:
    """Canonical JSON: sorted keys, no spaces, decimals as numbers, times as RFC 3339."""
    return encode(value).decode()


def loads(text: str | bytes) -> Any:
    """JSON with every non-integer number as a Decimal (integers: see :func:`as_value`)."""
    return _DECODER.decode(text)


def as_value(raw: Any) -> Value | None:
    """A JSON-decoded signal value as the engine sees it: every number a Decimal."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        return Decimal(raw)
    assert raw is None or isinstance(raw, (bool, str, Decimal)), f"not a value: {raw!r}"
    return raw


def dump_observed(observed: Mapping[str, Observed]) -> str:
    return dumps({name: [o.value, to_us(o.at)] for name, o in observed.items()})


def load_observed(text: str) -> dict[str, Observed]:
    return {
        name: Observed(as_value(value), from_us(int(at)))
        for name, (value, at) in loads(text).items()
    }


def money_value(column: Any) -> Decimal | None:
    if column is None:
        return None
    return column if isinstance(column, Decimal) else Decimal(column)


def entry_hash(
    previous: str, seq: int, outcome_id: int, recorded_at_us: int, *, kind: str, data: str
) -> str:
    """The hash chain: each entry's hash covers the previous hash and its canonical form."""
    canonical = f"{previous}\n{seq}|{outcome_id}|{recorded_at_us}|{kind}|{data}"
    return hashlib.sha256(canonical.encode()).hexdigest()
