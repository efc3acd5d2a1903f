"""The outcome's fields are declared once. Its row is ``store.outcomes.COLUMNS`` (row mapping,
inserts, updates and ``replay --verify`` derive from it); its JSON view, the OpenAPI schema
and the SDK's type are held to one another here and in tests/client/test_types.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from earnest.api import schemas
from earnest.contract import load_contract
from earnest.engine import DeadlineReached, Open, Signal, decide
from earnest.service.outcomes import OutcomeView
from earnest.service.views import outcome_json
from earnest.store import connect
from earnest.store.ledger import LedgerItem
from earnest.store.outcomes import COLUMNS, MONEY, MUTABLE, TIMES, columns_of

T0 = datetime(2026, 11, 23, 9, tzinfo=UTC)
CONTRACT = load_contract(
    {
        "key": "landing",
        "conditions": "completed AND score > 3",
        "price": "$0.99",
        "active_for": "1h",
        "review_window": "0s",
        "after_settlement": "credit",
    }
)


def confirmed_and_credited() -> OutcomeView:
    outcome = decide(None, Open(CONTRACT, 1, "o1", "acme"), T0).outcome
    for name, value in (("completed", True), ("score", Decimal(5))):
        outcome = decide(outcome, Signal(name, value, T0), T0).outcome
    outcome = decide(outcome, DeadlineReached(), T0 + timedelta(hours=2)).outcome
    late = decide(outcome, Signal("score", Decimal(1), T0), T0 + timedelta(hours=3)).outcome
    assert late.charged == Decimal("0.99")
    assert late.credited == Decimal("0.99")
    charge = LedgerItem(1, "charge", 1, "acme", Decimal("0.99"), "USD", "2026-11-01", T0, 5)
    credit = LedgerItem(2, "credit", 1, "acme", Decimal("0.99"), "USD", "2026-11-01", T0, 9)
    return OutcomeView(late, (charge, credit))


def test_the_json_view_answers_exactly_the_schema_fields() -> None:
    view = confirmed_and_credited()
    assert set(outcome_json(view)) == set(schemas.Outcome.__struct_fields__)
    assert set(outcome_json(OutcomeView(view.outcome))) == set(schemas.Outcome.__struct_fields__)


def test_a_credited_outcome_reads_as_credited() -> None:
    shown = outcome_json(confirmed_and_credited())
    assert shown["charge"]["amount"] == "0.99"
    assert [c["amount"] for c in shown["credits"]] == ["0.99"]
    assert shown["net"] == "0.00"


def test_the_row_is_declared_once() -> None:
    """``columns_of`` maps every declared column but ``id``, in the declared order, and the
    money and time columns it names exist."""
    outcome = confirmed_and_credited().outcome
    assert tuple(columns_of(outcome)) == COLUMNS[1:]
    assert set(COLUMNS) >= MONEY | TIMES


def test_what_is_written_is_the_declaration(tmp_path: Path) -> None:
    """The written-out hot-path mapping (``_columns``) agrees with ``columns_of``."""
    from earnest.store.outcomes import _columns

    db = connect(str(tmp_path / "fields.db"))
    db.migrate()
    with db.read() as tx:
        outcome = confirmed_and_credited().outcome
        written = dict(zip(MUTABLE, _columns(tx, outcome), strict=True))
        declared = columns_of(outcome)
        for name in MUTABLE:
            value = declared[name]
            expected = tx.money(value) if name in MONEY else value
            assert written[name] == expected, name
    db.close()
