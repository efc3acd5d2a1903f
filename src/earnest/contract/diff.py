"""The field-by-field difference between two contracts (``earnest contracts diff``, the
dashboard's version diff, the backtest's heading)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from earnest.contract.loader import contract_to_dict
from earnest.contract.model import Contract


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One field that differs: its values in the canonical form of ``contract_to_dict``."""

    field: str
    before: Any
    after: Any

    def describe(self) -> str:
        return f"{self.field}: {shown(self.before)} → {shown(self.after)}"


def contract_changes(before: Contract, after: Contract) -> list[FieldChange]:
    """Every field (in the order of a contract document, the key aside) whose canonical value
    differs. Spelling alone (``$0.99`` or ``0.99 USD``, ``1d`` or ``24h``) is no change;
    conditions compare as written, so rewording one is a change even if it means the same."""
    old, new = contract_to_dict(before), contract_to_dict(after)
    return [
        FieldChange(name, old[name], new[name])
        for name in old
        if name != "key" and old[name] != new[name]
    ]


def shown(value: Any) -> str:
    """A field's value in one line: a price as ``0.99 USD``, conditions joined by AND."""
    if value is None:
        return "(none)"
    if isinstance(value, dict):
        return f"{value['amount']} {value['currency']}"
    if isinstance(value, list):
        return " AND ".join(f"({item})" for item in value)
    return str(value)
