"""A small store with every kind of history entry, built through the real service paths.

The ``db`` fixture (a migrated store on SQLite and on PostgreSQL) comes from
``tests/conftest.py``; ``filled`` builds on it:

- landing/o1: met, reviewed, confirmed and charged; a late failing signal then flags it;
- landing/o2: failed, timed out, scheduled cancel, cancelled;
- landing/o3: settled by hand (manual confirm), charged;
- credited/c1: confirmed and charged (``add_credit`` then credits it in full);
- landing/o4: opened last and still open.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from earnest.contract import load_contract
from earnest.engine import Scheduled, Settle, decide
from earnest.service.deadlines import fire_due
from earnest.service.ingest import ingest
from earnest.service.recorder import Recorder
from earnest.store import Database
from earnest.store.contracts import save_contract
from earnest.store.outcomes import load_one
from tests.contracts import LANDING, T0

CREDITED = """
active_for: 1h
review_window: 1h
price: 12.50 EUR
conditions: completed
after_settlement: credit
"""


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def sig(contract: str, outcome: str, signal: str, value: Any, **extra: Any) -> dict[str, Any]:
    return {"contract": contract, "outcome": outcome, "signal": signal, "value": value, **extra}


def settle(db: Database, contract: str, ref: str, decision: Scheduled, now: datetime) -> None:
    """A manual settlement, recorded the way every decision is."""
    with db.write() as tx:
        stored = load_one(tx, contract, ref)
        assert stored is not None
        recorder = Recorder()
        recorder.record(stored, decide(stored.outcome, Settle(decision, "checked", "ops"), now))
        recorder.flush(tx)


def fill(db: Database) -> None:
    with db.write() as tx:
        save_contract(tx, load_contract(LANDING, key="landing"), T0)
        save_contract(tx, load_contract(CREDITED, key="credited"), T0)
    accepted = ingest(
        db,
        [
            sig("landing", "o1", "completed", True, customer="acme", id="s1"),
            sig("landing", "o2", "completed", True, customer="acme", id="s2"),
            sig("landing", "o3", "completed", True, customer="bolt"),
            sig("credited", "c1", "completed", True, customer="bolt", data={"n": Decimal("1.50")}),
        ],
        T0,
    )
    assert all(r.status == "accepted" for r in accepted)
    ingest(
        db,
        [
            sig("landing", "o1", "score", 5, at="2026-11-23T09:59:00Z", id="s3"),
            sig("landing", "o2", "score", 2, id="s4"),
        ],
        at(1),
    )
    settle(db, "landing", "o3", Scheduled.CONFIRM, at(30))
    assert fire_due(db, at(3 * 24 * 60)) == 3  # o1 confirmed, o2 cancelled, c1 confirmed
    late = ingest(
        db,
        [
            sig("landing", "o1", "disputed", True, id="s5"),
            sig("landing", "o4", "score", Decimal("4.5"), customer="acme"),
        ],
        at(3 * 24 * 60 + 5),
    )
    assert [r.status for r in late] == ["accepted"] * 2


def add_credit(db: Database) -> None:
    """A late failing signal for credited/c1, whose contract credits the charge back."""
    [result] = ingest(db, [sig("credited", "c1", "completed", False)], at(3 * 24 * 60 + 6))
    assert result.status == "accepted"


@pytest.fixture
def filled(db: Database) -> Database:
    fill(db)
    return db


def rows(db: Database, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with db.read() as tx:
        return tx.query(sql, params)


def execute(db: Database, sql: str, params: tuple[Any, ...] = ()) -> None:
    """Tamper with the store behind the service's back."""
    with db.write() as tx:
        tx.execute(sql, params)


@pytest.fixture
def billing(db: Database) -> Any:
    """The billing services over ``db`` with a clock the test moves (tests/service/
    test_invoices.py: ``Billing``)."""
    from tests.service.test_invoices import NOV, Billing, Clock

    return Billing(db, Clock(NOV))
