"""One outcome's history, read back: entries in ``seq`` order, and a readable timeline.

Reads go through the ``(outcome_id, seq)`` index only, so an outcome's history comes back in
milliseconds whatever the size of the store (SPEC section 7). A check entry records its verdict
and the values used; its plain-text explanation is derived here, from those values and the
outcome's pinned contract version (docs/decisions/0006), memoised by the compiled condition: it
depends on nothing else, and a contract's checks repeat a few value combinations.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from earnest.contract.condition import Condition
from earnest.contract.condition.render import value_text
from earnest.contract.money import format_amount
from earnest.rules import UnknownOutcome
from earnest.store import Database
from earnest.store.codec import as_value, from_us, loads
from earnest.store.contracts import pinned
from earnest.store.outcomes import history_rows, identity
from earnest.timefmt import parse_time

KIND_WIDTH = 11  # "transition", the longest kind, and a space


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    seq: int
    recorded_at: datetime
    kind: str
    data: Mapping[str, Any]
    hash: str


def read_history(db: Database, contract: str, ref: str) -> list[HistoryEntry]:
    """The outcome's history in ``seq`` order; raises :class:`UnknownOutcome`."""
    with db.read() as tx:
        found = identity(tx, contract, ref)
        if found is None:
            raise UnknownOutcome(contract, ref)
        outcome_id, version = found
        condition = pinned(tx, contract, version).condition
        rows = history_rows(tx, outcome_id)
    return explained(rows, condition)


def explained(
    rows: Iterable[tuple[int, int, str, str, str]], condition: Condition
) -> list[HistoryEntry]:
    """History rows (``seq, recorded_at µs, kind, data, hash``) as entries, each check with
    the explanation ``condition`` (the outcome's pinned one) gives its values."""
    entries = []
    for seq, recorded_at, kind, text, digest in rows:
        data: dict[str, Any] = loads(text)
        if kind == "check":
            values = {name: as_value(raw) for name, raw in data.get("values", {}).items()}
            seen = {name: value for name, value in values.items() if value is not None}
            data["explanation"] = condition.explanation_text(seen)  # memoised per condition
        entries.append(HistoryEntry(seq, from_us(recorded_at), kind, data, digest))
    return entries


# The timeline ---------------------------------------------------------------------------


def render_timeline(entries: Sequence[HistoryEntry]) -> str:
    """One line per entry: time, kind, and a plain summary of what happened."""
    lines = []
    for entry in entries:
        summary = _summary(entry)
        lines.append(f"{_moment(entry.recorded_at)}  {entry.kind:<{KIND_WIDTH}}{summary}".rstrip())
    return "\n".join(lines)


def _summary(entry: HistoryEntry) -> str:
    data, at = entry.data, entry.recorded_at
    if entry.kind == "opened":
        return _opened(data)
    if entry.kind == "signal":
        return _signal(data, at)
    if entry.kind == "check":
        return _check(data)
    if entry.kind == "transition":
        return _transition(data)
    if entry.kind in ("charge", "credit"):
        return _money(data)
    if entry.kind == "flag":
        return _flag(data)
    if entry.kind == "dispute":
        return _dispute(data)
    return " ".join(f"{key}={value}" for key, value in sorted(data.items()))


def _opened(data: Mapping[str, Any]) -> str:
    price = data.get("price") or {}
    parts = [
        f"customer {data.get('customer')}",
        f"contract {data.get('contract')} v{data.get('contract_version')}",
        f"price {price.get('amount')} {price.get('currency')}",
    ]
    if data.get("active_until"):
        parts.append(f"active until {_moment(parse_time(data['active_until']))}")
    return ", ".join(parts)


def _signal(data: Mapping[str, Any], recorded_at: datetime) -> str:
    name = data.get("signal")
    value = as_value(data.get("value"))
    text = f"{name} retracted" if value is None else f"{name} = {value_text(value)}"
    if data.get("at"):
        at = parse_time(data["at"])
        shown = _clock(at) if at.date() == recorded_at.date() else _moment(at)
        text += f" (at {shown})"
    if data.get("id") is not None:
        text += f" [id {data['id']}]"
    if data.get("late"):
        text += " late: after settlement"
    return text


def _check(data: Mapping[str, Any]) -> str:
    verdict = str(data.get("verdict"))
    explanation = str(data.get("explanation", ""))
    # The explanation ends with "→ verdict"; the timeline leads with the verdict instead.
    reasons = explanation.rsplit(" → ", 1)[0]
    return f"{verdict}: {reasons}" if reasons else verdict


def _transition(data: Mapping[str, Any]) -> str:
    text = f"{data.get('from')} → {data.get('to')} ({data.get('reason')})"
    if data.get("scheduled") and data.get("to") == "in_review":
        text += f", scheduled {data['scheduled']}"
    if data.get("to") == "in_review" and data.get("review_ends_at"):
        text += f", review ends {_moment(parse_time(data['review_ends_at']))}"
    if data.get("by"):
        text += f", by {data['by']}"
    if data.get("note"):
        text += f": {data['note']}"
    return text


def _money(data: Mapping[str, Any]) -> str:
    amount, currency = data.get("amount"), str(data.get("currency"))
    shown = format_amount(Decimal(amount), currency) if amount is not None else "?"
    text = f"{shown} {currency}"
    if data.get("reason"):
        text += f" ({data['reason']})"
    if data.get("period_start"):
        text += f", period {data['period_start']} → {data.get('period_end')}"
    moved = data.get("moved_from")
    if moved:
        text += f" (moved from {moved.get('start')} → {moved.get('end')}: {moved.get('why')})"
    return text


def _dispute(data: Mapping[str, Any]) -> str:
    if data.get("action") == "opened":
        return f"opened by {data.get('by')}: {data.get('reason')}"
    text = f"resolved by {data.get('by')}: {data.get('resolution')}"
    if data.get("amount") is not None:
        text += f" {data['amount']}"
    if data.get("note"):
        text += f" ({data['note']})"
    return text


def _flag(data: Mapping[str, Any]) -> str:
    text = "contested" if data.get("contested") else "uncontested"
    if data.get("reason"):
        text += f" ({data['reason']})"
    if data.get("signal") is not None:
        text += f", signal {data['signal']}"
    return text


def _moment(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d ") + _clock(moment)


def _clock(moment: datetime) -> str:
    fraction = f".{moment.microsecond:06d}" if moment.microsecond else ""
    return moment.strftime("%H:%M:%S") + fraction + "Z"
