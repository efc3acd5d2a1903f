"""The billing checker fails when it should: a store made by the billing worker passes, and
each way of breaking one invariant behind the service's back (a gap in the numbers, numbers out
of order, a running total or a line off, a ledger row on another invoice or outside its period,
an invoice changed after finalization, a finalization missing from the activity log, a period
left open past its due time, a stray ``contested``) is caught, with the invariant named."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pytest

from earnest.store import connect
from tests.crash.billing_checks import check_billing
from tests.crash.billing_worker import latest_time, run

ROUNDS = 40


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store of 40 worker rounds (several period ends, credits, disputes), checked once."""
    folder = tmp_path_factory.mktemp("billing")
    path = folder / "made.db"
    db = connect(str(path))
    db.migrate()
    db.close()
    with contextlib.redirect_stdout(None):  # its READY
        run(str(path), str(folder / "log"), "checks", ROUNDS)
    db = connect(str(path))
    report = check_billing(db, final_time=latest_time(db))
    db.close()
    assert report.finalized >= 3
    assert report.credits > 0
    return path


@pytest.fixture
def copy(made: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy.db"
    with (
        contextlib.closing(sqlite3.connect(made)) as source,
        contextlib.closing(sqlite3.connect(target)) as into,
    ):
        source.backup(into)
    return target


def tamper(path: Path, *statements: str) -> None:
    with contextlib.closing(sqlite3.connect(path)) as raw:
        for statement in statements:
            raw.execute(statement)
        raw.commit()


FIRST_FINALIZED = "(SELECT id FROM invoices WHERE sequence = 1)"
LAST = "(SELECT MAX(sequence) FROM invoices)"
CREDITED_FINALIZED = (
    "(SELECT l.id FROM ledger l JOIN invoices i ON i.id = l.invoice_id"
    " WHERE l.kind = 'credit' AND i.status = 'finalized' LIMIT 1)"
)

BREAKS = {
    "a gap in the numbers": (
        "not 1\\.\\.",
        f"UPDATE invoices SET sequence = sequence + 1, number = printf('EARN-%06d', sequence + 1)"
        f" WHERE sequence = {LAST}",
    ),
    "numbers out of order": (
        "numbered out of order",
        "UPDATE invoices SET sequence = -1, number = 'swapping' WHERE sequence = 1",
        "UPDATE invoices SET sequence = 1, number = 'EARN-000001' WHERE sequence = 2",
        "UPDATE invoices SET sequence = 2, number = 'EARN-000002' WHERE sequence = -1",
    ),
    "the counter": ("counters.invoice_number", "UPDATE counters SET value = value + 1"),
    "a running total": (
        "subtotal/credits",
        f"UPDATE invoices SET subtotal = '1000000' WHERE id = {FIRST_FINALIZED}",
    ),
    "a line's quantity": (
        "invoice lines differ",
        "UPDATE invoice_lines SET quantity = quantity + 1"
        " WHERE rowid = (SELECT MIN(rowid) FROM invoice_lines)",
    ),
    "a row on another period's invoice": (
        "ledger says period",
        "UPDATE ledger SET invoice_id = (SELECT o.id FROM invoices o JOIN invoices i"
        " ON o.customer = i.customer AND o.currency = i.currency AND o.id <> i.id"
        " WHERE i.id = ledger.invoice_id LIMIT 1)"
        " WHERE id = (SELECT l.id FROM ledger l JOIN invoices i ON i.customer = l.customer"
        " AND i.currency = l.currency AND i.id <> l.invoice_id ORDER BY l.id LIMIT 1)",
    ),
    "a row outside its period": (
        "outside its invoice's period",
        "UPDATE ledger SET booked_at = booked_at + 40 * 86400000000"
        " WHERE id = (SELECT MIN(id) FROM ledger)",
    ),
    "an invoice changed after finalization": (
        "changed after it was finalized",
        f"UPDATE ledger SET reason = 'edited' WHERE id = {CREDITED_FINALIZED}",
    ),
    "a finalization not in the activity log": (
        "finalized 0 times",
        f"DELETE FROM activity WHERE action = 'invoice.finalized' AND subject = {FIRST_FINALIZED}",
    ),
    "a period left open": (
        "still open",
        "UPDATE customers SET open_start = (SELECT period_start FROM invoices WHERE sequence = 1),"
        " open_end = (SELECT period_end FROM invoices WHERE sequence = 1)"
        " WHERE id = (SELECT customer FROM invoices WHERE sequence = 1)",
    ),
    "a stray contested": (
        "contested",
        "UPDATE outcomes SET contested = 1 WHERE id = (SELECT MIN(id) FROM outcomes"
        " WHERE state = 'confirmed' AND NOT contested)",
    ),
}


@pytest.mark.parametrize("broken", list(BREAKS))
def test_the_checker_names_what_is_broken(made: Path, copy: Path, broken: str) -> None:
    expected, *statements = BREAKS[broken]
    tamper(copy, *statements)
    db = connect(str(copy))
    try:
        with pytest.raises(AssertionError, match=expected):
            check_billing(db, final_time=latest_time(db))
    finally:
        db.close()
