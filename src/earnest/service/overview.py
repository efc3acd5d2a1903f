"""The dashboard overview's figures (SPEC 11): outcomes by state, contested outcomes, open
disputes, and what the open drafts add up to per currency, read on one snapshot."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from earnest.billing import minor_units
from earnest.engine import State
from earnest.store import Database
from earnest.store.overview import (
    contested_outcomes,
    draft_amounts,
    open_disputes,
    outcomes_by_state,
)

__all__ = ["DraftTotal", "Figures", "Overview"]


@dataclass(frozen=True, slots=True)
class DraftTotal:
    """The draft invoices of one currency: how many, and their totals added up."""

    currency: str
    invoices: int
    subtotal: Decimal
    credits: Decimal
    total: Decimal


@dataclass(frozen=True, slots=True)
class Figures:
    outcomes: dict[str, int]  # every state of the lifecycle, in its order, zero included
    contested: int
    open_disputes: int
    drafts: tuple[DraftTotal, ...]  # by currency code

    @property
    def total_outcomes(self) -> int:
        return sum(self.outcomes.values())


def add_drafts(rows: Iterable[tuple[str, Decimal, Decimal]]) -> tuple[DraftTotal, ...]:
    """Per currency, the drafts' totals, each rounded as its invoice rounds it, then added."""
    sums: dict[str, list[Decimal]] = {}
    counts: dict[str, int] = {}
    for currency, subtotal, credits in rows:
        quantum = Decimal(1).scaleb(-minor_units(currency))
        total = (subtotal - credits).quantize(quantum, rounding="ROUND_HALF_EVEN")
        found = sums.setdefault(currency, [Decimal(0), Decimal(0), Decimal(0)])
        found[0] += subtotal
        found[1] += credits
        found[2] += total
        counts[currency] = counts.get(currency, 0) + 1
    return tuple(
        DraftTotal(currency, counts[currency], *sums[currency]) for currency in sorted(sums)
    )


class Overview:
    def __init__(self, db: Database) -> None:
        self.db = db

    def figures(self) -> Figures:
        with self.db.read() as tx:
            by_state = outcomes_by_state(tx)
            contested = contested_outcomes(tx)
            disputes = open_disputes(tx)
            drafts = draft_amounts(tx)
        states = {state.value: by_state.get(state.value, 0) for state in State}
        return Figures(states, contested, disputes, add_drafts(drafts))
