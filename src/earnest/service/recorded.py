"""An outcome's recorded inputs, read back from its history.

The engine is pure and time is an input, so the history holds everything an outcome was given:
each ``signal`` entry (the signal as received, with its ``received_at``), each manual
settlement (a ``transition`` for a manual reason, with its note and actor) and each dispute
opened or resolved by a person, each at the engine time it was applied. ``replay --verify``
rebuilds outcomes from these inputs; a backtest replays their signals through a proposed
version. Checks, transitions, charges, credits and a late signal's system dispute are the
engine's own output, not inputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import msgspec

from earnest.engine import Input, OpenDispute, ResolveDispute, Scheduled, Settle, Signal
from earnest.store.codec import as_value, from_us, loads

SYSTEM = "system"  # the engine's actor for what it does itself
MANUAL = {"manual_confirm": Scheduled.CONFIRM, "manual_cancel": Scheduled.CANCEL}

History = Sequence[tuple[int, int, str, str]]  # seq, recorded_at µs, kind, data


class _SignalEntry(msgspec.Struct):
    """What a ``signal`` entry holds of the signal as received (its ``received_at`` is the
    entry's own time). Decoded straight into fields, the time by msgspec: a third of what a
    backtest spends reading went into a dict and an RFC 3339 parser."""

    signal: str
    at: datetime
    value: Any = None
    id: str | None = None
    data: dict[str, Any] | None = None


_SIGNAL = msgspec.json.Decoder(_SignalEntry, float_hook=Decimal)  # numbers as codec.loads


def recorded_inputs(history: History) -> list[tuple[Input, datetime]]:
    """The inputs the history records, each with the engine time it was applied at."""
    inputs: list[tuple[Input, datetime]] = []
    for _, recorded_at, kind, text in history:
        if kind == "signal":
            entry = _SIGNAL.decode(text)
            at = entry.at if entry.at.tzinfo is UTC else entry.at.astimezone(UTC)
            signal = Signal(entry.signal, as_value(entry.value), at, entry.id, entry.data)
            # A signal entry is recorded at the engine time it was received, its received_at.
            inputs.append((signal, from_us(recorded_at)))
        elif kind == "dispute":
            data = loads(text)
            if data.get("action") == "resolved":
                amount = data.get("amount") if data.get("resolution") == "credit" else None
                resolve = ResolveDispute(
                    data["resolution"], str(data.get("note") or ""), str(data["by"]),
                    None if amount is None else Decimal(amount),
                )  # fmt: skip
                inputs.append((resolve, from_us(recorded_at)))
            elif data.get("by") != SYSTEM:  # a system dispute is the engine's own output
                dispute = OpenDispute(str(data["reason"]), str(data["by"]))
                inputs.append((dispute, from_us(recorded_at)))
        elif kind == "transition":
            data = loads(text)
            decision = MANUAL.get(data.get("reason"))
            if decision is not None:
                settle = Settle(decision, str(data.get("note") or ""), data.get("by"))
                inputs.append((settle, from_us(recorded_at)))
    return inputs
