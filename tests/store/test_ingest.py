"""Durable ingest, on SQLite and on a real PostgreSQL server: one suite, both backends."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from earnest.api.errors import status_of
from earnest.contract import load_contract
from earnest.service.deadlines import fire_due
from earnest.service.ingest import ingest
from earnest.store import Database
from earnest.store.codec import from_us, loads
from earnest.store.contracts import archive_contract, latest_contract, save_contract
from tests.contracts import LANDING, T0


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


def put_contract(db: Database, text: str = LANDING, key: str = "landing") -> int:
    with db.write() as tx:
        stored, _ = save_contract(tx, load_contract(text, key=key), T0)
    return stored.version


def sig(outcome: str, signal: str, value: Any = True, **extra: Any) -> dict[str, Any]:
    return {"contract": "landing", "outcome": outcome, "signal": signal, "value": value, **extra}


def counts(db: Database) -> dict[str, int]:
    with db.read() as tx:
        return {
            table: int(tx.one(f"SELECT COUNT(*) FROM {table}")[0])  # type: ignore[index]
            for table in ("outcomes", "signals", "history", "ledger", "customers")
        }


def kinds(db: Database) -> list[str]:
    with db.read() as tx:
        return [row[0] for row in tx.query("SELECT kind FROM history ORDER BY seq")]


def test_a_first_signal_opens_the_outcome_and_pins_version_and_price(db: Database) -> None:
    put_contract(db)
    [result] = ingest(db, [sig("o1", "completed", customer="acme", id="s1")], T0)
    assert result.status == "accepted"
    assert result.outcome is not None
    assert result.outcome.state.value == "open"
    assert kinds(db) == ["opened", "signal", "check"]
    # A new price is version 2; the open outcome keeps version 1 and $0.99.
    assert put_contract(db, LANDING.replace("$0.99", "$5")) == 2
    [later] = ingest(db, [sig("o1", "score", 5, id="s2")], minutes(1))
    assert later.outcome is not None
    assert later.outcome.contract_version == 1
    assert later.outcome.contract.price.amount == Decimal("0.99")
    with db.read() as tx:
        customer = tx.one("SELECT id, billing_day FROM customers")
    assert customer == ("acme", 1)


def test_duplicates_are_answered_and_have_no_effect(db: Database) -> None:
    put_contract(db)
    ingest(db, [sig("o1", "completed", customer="acme", id="s1")], T0)
    before = counts(db)
    [again] = ingest(db, [sig("o1", "completed", customer="acme", id="s1")], minutes(5))
    assert again.status == "duplicate"
    assert again.outcome is not None
    assert again.outcome.ref == "o1"
    assert counts(db) == before
    [conflict] = ingest(db, [sig("o1", "completed", False, customer="acme", id="s1")], T0)
    assert conflict.status == "rejected"
    assert conflict.error is not None
    assert (status_of(conflict.error), conflict.error.code, conflict.error.field) == (
        409, "idempotency_conflict", "id"
    )  # fmt: skip
    assert counts(db) == before


def test_a_duplicate_inside_one_batch(db: Database) -> None:
    put_contract(db)
    results = ingest(
        db,
        [
            sig("o1", "completed", customer="acme", id="s1"),
            sig("o1", "completed", customer="acme", id="s1"),
            sig("o1", "score", 2, id="s1"),
        ],
        T0,
    )
    assert [r.status for r in results] == ["accepted", "duplicate", "rejected"]
    assert counts(db)["signals"] == 1


@pytest.mark.parametrize(
    ("item", "status", "code", "field"),
    [
        (sig("o1", "x", contract="nope", customer="acme"), 404, "unknown_contract", "contract"),
        (sig("o1", "x"), 422, "customer_required", "customer"),
        (sig("o1", "x", customer="acme", at="2026-11-23T10:06:00Z"), 422, "invalid_signal", "at"),
        (sig("o1", "x", [1], customer="acme"), 422, "invalid_signal", "value"),
        (sig("o1", "x" * 65, customer="acme"), 422, "invalid_signal", "signal"),
        (sig("o" * 256, "x", customer="acme"), 422, "invalid_signal", "outcome"),
        ({"contract": "landing"}, 422, "invalid_signal", "outcome"),
        ("not an object", 422, "invalid_signal", None),
    ],
)
def test_bad_input_gets_a_precise_error_and_stores_nothing(
    db: Database, item: Any, status: int, code: str, field: str | None
) -> None:
    put_contract(db)
    before = counts(db)
    [result] = ingest(db, [item], T0)
    assert result.status == "rejected"
    assert result.error is not None
    assert (status_of(result.error), result.error.code, result.error.field) == (status, code, field)
    assert counts(db) == before


def test_another_customer_for_an_existing_outcome_is_refused(db: Database) -> None:
    put_contract(db)
    ingest(db, [sig("o1", "completed", customer="acme")], T0)
    before = counts(db)
    [result] = ingest(db, [sig("o1", "score", 5, customer="globex")], T0)
    assert result.error is not None
    assert (status_of(result.error), result.error.code) == (409, "customer_mismatch")
    assert counts(db) == before


def test_a_batch_applies_valid_items_in_order_and_rejects_the_rest(db: Database) -> None:
    put_contract(db)
    results = ingest(
        db,
        [
            sig("o1", "completed", customer="acme"),
            sig("o2", "completed"),  # no customer to open o2
            sig("o1", "score", 5),
            {"contract": "landing", "outcome": "o3"},
        ],
        T0,
    )
    assert [(r.index, r.status) for r in results] == [
        (0, "accepted"), (1, "rejected"), (2, "accepted"), (3, "rejected")
    ]  # fmt: skip
    assert results[2].outcome is not None
    assert results[2].outcome.state.value == "in_review"
    assert kinds(db) == ["opened", "signal", "check", "signal", "check", "transition"]


def test_an_archived_contract_opens_nothing_but_open_outcomes_run_on(db: Database) -> None:
    put_contract(db)
    ingest(db, [sig("o1", "completed", customer="acme")], T0)
    with db.write() as tx:
        archive_contract(tx, "landing")
        stored = latest_contract(tx, "landing")
        assert stored is not None
        assert stored.archived
    [refused, still] = ingest(
        db, [sig("o2", "completed", customer="acme"), sig("o1", "score", 5)], minutes(1)
    )
    assert refused.error is not None
    assert (status_of(refused.error), refused.error.code) == (409, "contract_archived")
    assert still.status == "accepted"


def test_a_confirmed_outcome_books_exactly_one_charge(db: Database) -> None:
    put_contract(db)
    ingest(db, [sig("o1", "completed", customer="acme"), sig("o1", "score", 5)], T0)
    assert fire_due(db, minutes(60 * 23)) == 0  # the review window ends at T0 + 24h
    assert fire_due(db, minutes(60 * 24 + 5)) == 1
    with db.read() as tx:
        ledger = tx.query("SELECT kind, amount, currency, period_start, booked_at FROM ledger")
        state = tx.one("SELECT state, settled_at, deadline FROM outcomes")
    assert [(k, Decimal(a), c, p, from_us(b)) for k, a, c, p, b in ledger] == [
        ("charge", Decimal("0.99"), "USD", "2026-11-01", minutes(60 * 24))
    ]
    assert state == ("confirmed", int(minutes(60 * 24).timestamp() * 1_000_000), None)
    assert fire_due(db, minutes(60 * 48)) == 0
    # The database itself refuses a second charge for the outcome.
    refusals = (sqlite3.IntegrityError, psycopg.errors.UniqueViolation)
    with pytest.raises(refusals) as refused, db.write() as tx:
        tx.execute(
            "INSERT INTO ledger (kind, outcome_id, customer, amount, currency, period_start,"
            " booked_at, history_seq) SELECT 'charge', id, customer, '0.99', 'USD',"
            " '2026-11-01', 0, 0 FROM outcomes"
        )
    assert "unique" in str(refused.value).lower()


def test_a_signal_after_a_passed_deadline_is_applied_after_it(db: Database) -> None:
    put_contract(db)
    ingest(db, [sig("o1", "completed", customer="acme"), sig("o1", "score", 5)], T0)
    # No scheduler ran; the review ended at T0 + 24h. A dispute received later is late.
    [late] = ingest(db, [sig("o1", "disputed")], minutes(60 * 30))
    assert late.outcome is not None
    assert late.outcome.state.value == "confirmed"
    with db.read() as tx:
        rows = tx.query("SELECT kind, recorded_at, data FROM history ORDER BY seq")
    tail = [(kind, from_us(at)) for kind, at, _ in rows[-5:]]
    assert tail == [
        ("transition", minutes(60 * 24)),
        ("charge", minutes(60 * 24)),
        ("signal", minutes(60 * 30)),
        ("check", minutes(60 * 30)),
        ("dispute", minutes(60 * 30)),
    ]
    assert loads(rows[-3][2])["late"] is True


def test_history_seq_follows_commit_order_and_the_chain_head_is_the_tail(db: Database) -> None:
    put_contract(db)
    for n in range(5):
        ingest(db, [sig(f"o{n}", "completed", customer="acme")], minutes(n))
    with db.read() as tx:
        seqs = [row[0] for row in tx.query("SELECT seq FROM history ORDER BY seq")]
        last = tx.one("SELECT seq, hash FROM history ORDER BY seq DESC LIMIT 1")
        head = tx.one("SELECT seq, hash FROM chain_head")
    assert seqs == list(range(1, 16))
    assert head == last


def test_saving_identical_content_is_a_no_op(db: Database) -> None:
    assert put_contract(db) == 1
    assert put_contract(db, LANDING.replace("AND", "and")) == 1  # formatting only
    assert put_contract(db, LANDING.replace("24h", "12h")) == 2
