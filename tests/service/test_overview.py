"""The dashboard overview's figures, on both backends, from the store ``filled`` builds through
the real service paths (tests/service/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal

from earnest.service.disputes import Disputes
from earnest.service.overview import (
    CHART_DAYS,
    DaySettled,
    DraftTotal,
    MonthRevenue,
    Overview,
    add_drafts,
)
from earnest.store import Database
from tests.service.conftest import at

NOV_30 = datetime(2026, 11, 30, 12, tzinfo=UTC)


def on(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment


def test_an_empty_store_has_every_state_at_zero(db: Database) -> None:
    figures = Overview(db, on(NOV_30)).figures()
    assert figures.outcomes == {"open": 0, "in_review": 0, "confirmed": 0, "cancelled": 0}
    assert (figures.total_outcomes, figures.contested, figures.open_disputes) == (0, 0, 0)
    assert figures.drafts == ()


def test_figures_count_states_disputes_and_add_drafts_per_currency(filled: Database) -> None:
    Disputes(filled, lambda: at(5 * 24 * 60)).open("landing", "o3", "not shipped", actor="ops")
    figures = Overview(filled, on(NOV_30)).figures()
    assert figures.outcomes == {"open": 1, "in_review": 0, "confirmed": 3, "cancelled": 1}
    # o1, contested by a late failing signal (a dispute the system opened), and o3
    assert figures.contested == 2
    assert figures.open_disputes == 2
    assert figures.drafts == (
        DraftTotal("EUR", 1, Decimal("12.50"), Decimal(0), Decimal("12.50")),
        DraftTotal("USD", 2, Decimal("1.98"), Decimal(0), Decimal("1.98")),
    )


def test_drafts_are_rounded_as_their_invoices_then_added() -> None:
    rows = [
        ("USD", Decimal("0.005"), Decimal(0)),  # each invoice rounds half to even: 0.00
        ("USD", Decimal("0.015"), Decimal(0)),  # 0.02
        ("JPY", Decimal("10.5"), Decimal("0.5")),
    ]
    assert add_drafts(rows) == (
        DraftTotal("JPY", 1, Decimal("10.5"), Decimal("0.5"), Decimal("10")),
        DraftTotal("USD", 2, Decimal("0.020"), Decimal(0), Decimal("0.02")),
    )


def test_revenue_is_what_the_ledger_booked_per_calendar_month(filled: Database) -> None:
    Disputes(filled, lambda: at(5 * 24 * 60)).open("landing", "o3", "not shipped", actor="ops")
    now = Overview(filled, on(NOV_30)).figures()
    nov, dec = date(2026, 11, 1), date(2026, 12, 1)
    assert now.months == (date(2026, 10, 1), nov)
    assert [r for r in now.revenue if r.month == nov] == [
        MonthRevenue(nov, "EUR", Decimal("12.50"), Decimal(0)),
        MonthRevenue(nov, "USD", Decimal("1.98"), Decimal(0)),
    ]
    assert all(r.net == 0 for r in now.revenue if r.month != nov)  # October: nothing yet
    later = Overview(filled, on(datetime(2027, 1, 3, tzinfo=UTC))).figures()
    assert later.months == (dec, date(2027, 1, 1))
    assert all(r.net == 0 for r in later.revenue)  # nothing booked in December or January


def test_settlements_per_day_cover_thirty_days_up_to_today(filled: Database) -> None:
    figures = Overview(filled, on(NOV_30)).figures()
    assert len(figures.settled) == CHART_DAYS
    assert figures.settled[-1].day == date(2026, 11, 30)
    assert figures.settled[0].day == date(2026, 11, 1)
    # o3 settled by hand on the 23rd; o1, c1 confirmed and o2 cancelled at their review ends
    assert sum(d.confirmed for d in figures.settled) == 3
    assert sum(d.cancelled for d in figures.settled) == 1
    by_day = {d.day: d for d in figures.settled if d.total}
    assert by_day[date(2026, 11, 23)].confirmed >= 1
    assert DaySettled(date(2026, 11, 1), 0, 0) == figures.settled[0]
    months_later = Overview(filled, on(datetime(2027, 2, 1, tzinfo=UTC))).figures()
    assert all(d.total == 0 for d in months_later.settled)
