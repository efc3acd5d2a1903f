"""The dashboard overview's figures (SPEC 11): revenue per currency for the current and the
previous calendar month, outcomes by state, settlements per day over the last 30 days,
contested outcomes, open disputes, and what the open drafts add up to per currency, read on
one snapshot.

Revenue of a month is what the ledger booked in it (UTC): its charges less its credits, per
currency, whichever invoice they landed on. A day's settlements are the outcomes confirmed or
cancelled that day (UTC)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from earnest.billing import minor_units
from earnest.clock import Clock
from earnest.engine import State
from earnest.store import Database
from earnest.store.codec import to_us
from earnest.store.overview import (
    booked_between,
    contested_outcomes,
    draft_amounts,
    open_disputes,
    outcomes_by_state,
    settled_per_day,
)

__all__ = ["DaySettled", "DraftTotal", "Figures", "MonthRevenue", "Overview"]

CHART_DAYS = 30


@dataclass(frozen=True, slots=True)
class DraftTotal:
    """The draft invoices of one currency: how many, and their totals added up."""

    currency: str
    invoices: int
    subtotal: Decimal
    credits: Decimal
    total: Decimal


@dataclass(frozen=True, slots=True)
class MonthRevenue:
    """What the ledger booked in one calendar month (UTC) in one currency."""

    month: date  # its first day
    currency: str
    charges: Decimal
    credits: Decimal

    @property
    def net(self) -> Decimal:
        return self.charges - self.credits


@dataclass(frozen=True, slots=True)
class DaySettled:
    day: date
    confirmed: int
    cancelled: int

    @property
    def total(self) -> int:
        return self.confirmed + self.cancelled


@dataclass(frozen=True, slots=True)
class Figures:
    outcomes: dict[str, int]  # every state of the lifecycle, in its order, zero included
    contested: int
    open_disputes: int
    drafts: tuple[DraftTotal, ...]  # by currency code
    months: tuple[date, date] = (date(1970, 1, 1), date(1970, 1, 1))  # previous, current
    revenue: tuple[MonthRevenue, ...] = ()  # by currency, then month
    settled: tuple[DaySettled, ...] = ()  # the last CHART_DAYS days, oldest first, today last

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


def month_start(day: date) -> date:
    return day.replace(day=1)


def previous_month(first: date) -> date:
    return (first - timedelta(days=1)).replace(day=1)


def next_month(first: date) -> date:
    return (first + timedelta(days=32)).replace(day=1)


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def add_revenue(
    month: date, rows: Iterable[tuple[str, str, Decimal, int]]
) -> dict[str, MonthRevenue]:
    """Per currency, the month's charges and credits (exact: amount times count)."""
    sums: dict[str, list[Decimal]] = {}
    for currency, kind, amount, count in rows:
        found = sums.setdefault(currency, [Decimal(0), Decimal(0)])
        found[0 if kind == "charge" else 1] += amount * count
    return {c: MonthRevenue(month, c, charges, credits) for c, (charges, credits) in sums.items()}


def days_settled(today: date, rows: Iterable[tuple[int, str, int]]) -> tuple[DaySettled, ...]:
    """The last ``CHART_DAYS`` days up to ``today``, every day listed, zero included."""
    counts: dict[tuple[int, str], int] = {(day, state): n for day, state, n in rows}
    first = today - timedelta(days=CHART_DAYS - 1)
    epoch = date(1970, 1, 1)
    found = []
    for offset in range(CHART_DAYS):
        day = first + timedelta(days=offset)
        number = (day - epoch).days
        found.append(
            DaySettled(
                day,
                counts.get((number, State.CONFIRMED.value), 0),
                counts.get((number, State.CANCELLED.value), 0),
            )
        )
    return tuple(found)


class Overview:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def figures(self) -> Figures:
        today = self.clock().astimezone(UTC).date()
        current = month_start(today)
        previous = previous_month(current)
        chart_from = to_us(midnight(today - timedelta(days=CHART_DAYS - 1)))
        with self.db.read() as tx:
            by_state = outcomes_by_state(tx)
            contested = contested_outcomes(tx)
            disputes = open_disputes(tx)
            drafts = draft_amounts(tx)
            last = booked_between(tx, to_us(midnight(previous)), to_us(midnight(current)))
            this = booked_between(
                tx, to_us(midnight(current)), to_us(midnight(next_month(current)))
            )
            settled = settled_per_day(tx, chart_from, CHART_DAYS)
        states = {state.value: by_state.get(state.value, 0) for state in State}
        before, now = add_revenue(previous, last), add_revenue(current, this)
        revenue = []
        for currency in sorted({*before, *now}):
            for month, found in ((previous, before), (current, now)):
                zero = MonthRevenue(month, currency, Decimal(0), Decimal(0))
                revenue.append(found.get(currency, zero))
        return Figures(
            states,
            contested,
            disputes,
            add_drafts(drafts),
            (previous, current),
            tuple(revenue),
            days_settled(today, settled),
        )
