"""Billing periods (SPEC section 6) from a customer's billing-day history.

A period is ``[start, end)``, from a billing day 00:00 UTC to the next. The first period is
the one containing the customer's creation under its billing day then. Each later period
starts where the one before ended and ends at the first occurrence, strictly after its start,
of the billing day in force before it began: a change of billing day never moves the period
in progress (it was in force only from inside it), the next period is a short one up to the
new day, then month to month; of several changes within one period the last counts. So the
periods tile time, with no gap and no overlap, whatever the history.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from itertools import pairwise

MIN_DAY = 1
MAX_DAY = 28  # every month has it


@dataclass(frozen=True, slots=True, order=True)
class Period:
    start: datetime
    end: datetime

    def __contains__(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def next_occurrence(after: date, billing_day: int) -> date:
    """The first date strictly after ``after`` whose day of the month is ``billing_day``."""
    assert MIN_DAY <= billing_day <= MAX_DAY
    if after.day < billing_day:
        return after.replace(day=billing_day)
    year, month = (after.year + 1, 1) if after.month == 12 else (after.year, after.month + 1)
    return date(year, month, billing_day)


def _start_containing(moment: datetime, billing_day: int) -> date:
    """The billing day, at or before ``moment``'s date, that starts its period."""
    day = moment.date()
    if day.day >= billing_day:
        return day.replace(day=billing_day)
    year, month = (day.year - 1, 12) if day.month == 1 else (day.year, day.month - 1)
    return date(year, month, billing_day)


@dataclass(frozen=True, slots=True)
class BillingDays:
    """A customer's billing-day history: ``(since, billing_day)`` in time order, the first
    being the customer's creation."""

    changes: tuple[tuple[datetime, int], ...]

    def __post_init__(self) -> None:
        assert self.changes, "a history starts with the customer's creation"
        assert all(MIN_DAY <= day <= MAX_DAY for _, day in self.changes)
        assert all(a[0] <= b[0] for a, b in pairwise(self.changes))

    @classmethod
    def of(
        cls, created_at: datetime, billing_day: int, *later: tuple[datetime, int]
    ) -> BillingDays:
        return cls(((created_at, billing_day), *later))

    def in_force_before(self, moment: datetime) -> int:
        """The billing day set last strictly before ``moment`` (the creation's if none)."""
        day = self.changes[0][1]
        for since, changed in self.changes:
            if since >= moment:
                break
            day = changed
        return day

    def first(self) -> Period:
        created, day = self.changes[0]
        start = _start_containing(created, day)
        return Period(midnight(start), midnight(next_occurrence(start, day)))

    def after(self, period: Period) -> Period:
        """The period that follows ``period``."""
        day = self.in_force_before(period.end)
        end = next_occurrence(period.end.date(), day)
        return Period(period.end, midnight(end))

    def periods(self) -> Iterator[Period]:
        """Every period from the first on, without end."""
        period = self.first()
        while True:
            yield period
            period = self.after(period)

    def place(self, moment: datetime, open_period: Period) -> tuple[Period, Period | None]:
        """Where a ledger entry of ``moment`` is billed, given the customer's first open
        period (every period before it is finalized): the period holding it, walked forward
        from ``open_period``; or ``open_period`` itself when ``moment`` is before it (SPEC 6:
        an entry of a finalized period goes to the first open one), with the period the entry
        would have been in (None when not moved; a moment before the customer's first period
        counts as in that first period)."""
        if moment < open_period.start:
            first = self.first()
            was = first if moment < first.start else self.containing(moment)
            return open_period, None if was == open_period else was
        period = open_period
        while moment >= period.end:
            period = self.after(period)
        return period, None

    def containing(self, moment: datetime) -> Period:
        """The period holding ``moment`` (at or after the first period's start)."""
        first = self.first()
        assert moment >= first.start, f"{moment} is before the customer's first period"
        for period in self.periods():
            if moment in period:
                return period
        raise AssertionError("unreachable: periods run without end")

    def between(self, start: datetime, end: datetime) -> list[Period]:
        """The periods overlapping ``[start, end)``, in order."""
        found: list[Period] = []
        for period in self.periods():
            if period.start >= end:
                return found
            if period.end > start:
                found.append(period)
        raise AssertionError("unreachable: periods run without end")


def tiles(periods: Sequence[Period]) -> bool:
    """No gap and no overlap: each period starts where the one before ended."""
    return all(a.end == b.start and a.start < a.end for a, b in pairwise(periods))
