"""The dashboard overview's figures, on both backends, from the store ``filled`` builds through
the real service paths (tests/service/conftest.py)."""

from __future__ import annotations

from decimal import Decimal

from earnest.service.disputes import Disputes
from earnest.service.overview import DraftTotal, Overview, add_drafts
from earnest.store import Database
from tests.service.conftest import at


def test_an_empty_store_has_every_state_at_zero(db: Database) -> None:
    figures = Overview(db).figures()
    assert figures.outcomes == {"open": 0, "in_review": 0, "confirmed": 0, "cancelled": 0}
    assert (figures.total_outcomes, figures.contested, figures.open_disputes) == (0, 0, 0)
    assert figures.drafts == ()


def test_figures_count_states_disputes_and_add_drafts_per_currency(filled: Database) -> None:
    Disputes(filled, lambda: at(5 * 24 * 60)).open("landing", "o3", "not shipped", actor="ops")
    figures = Overview(filled).figures()
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
