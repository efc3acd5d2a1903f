"""Rebuilding every outcome from its history gives back exactly what is stored."""

from __future__ import annotations

from decimal import Decimal

import pytest
from click.testing import CliRunner

from earnest.cli import main
from earnest.service.replay import replay_verify
from earnest.store import Database
from earnest.store.codec import loads
from tests.service.conftest import add_credit, execute, rows


def test_a_clean_store_replays_exactly(filled: Database) -> None:
    report = replay_verify(filled, chunk=2)
    assert report.differences == []
    assert report.ok
    assert report.outcomes == 5
    [(entries,)] = rows(filled, "SELECT COUNT(*) FROM history")
    assert report.entries == int(entries)


def test_a_tampered_state_is_reported(filled: Database) -> None:
    execute(filled, "UPDATE outcomes SET state = 'cancelled' WHERE ref = 'o1'")
    report = replay_verify(filled)
    assert not report.ok
    assert [(d.ref, d.what, d.stored, d.rebuilt) for d in report.differences] == [
        ("o1", "state", "cancelled", "confirmed")
    ]
    assert report.differing_outcomes == 1


def test_a_tampered_ledger_amount_is_reported(filled: Database) -> None:
    amount = Decimal("9.99") if filled.dialect == "postgresql" else "9.99"
    execute(
        filled,
        "UPDATE ledger SET amount = ?"
        " WHERE outcome_id = (SELECT id FROM outcomes WHERE ref = 'o3')",
        (amount,),
    )
    report = replay_verify(filled)
    [difference] = report.differences
    assert (difference.ref, difference.what) == ("o3", "ledger")
    assert "9.99" in difference.stored
    assert "0.99" in difference.rebuilt


def test_a_credit_replays_exactly(filled: Database) -> None:
    add_credit(filled)
    assert replay_verify(filled).differences == []


def test_a_missing_credit_is_reported(filled: Database) -> None:
    add_credit(filled)
    execute(filled, "DELETE FROM ledger WHERE kind = 'credit'")
    found = [d for d in replay_verify(filled).differences if d.what == "ledger"]
    assert [(d.contract, d.ref) for d in found] == [("credited", "c1")]
    assert "credit" in found[0].rebuilt
    assert "credit" not in found[0].stored


def test_a_tampered_signal_changes_what_follows(filled: Database) -> None:
    execute(
        filled,
        "UPDATE history SET data = replace(data, ?, ?) WHERE kind = 'signal' AND data LIKE ?",
        ('"value":5', '"value":2', '%"id":"s3"%'),
    )
    report = replay_verify(filled)
    found = {(d.ref, d.what) for d in report.differences}
    assert ("o1", "state") in found
    assert ("o1", "ledger") in found
    [check] = [d for d in report.differences if d.what.startswith("history entry")]
    assert '"verdict":"met"' in check.stored
    assert '"verdict":"failed"' in check.rebuilt


def test_a_tampered_observed_value_and_deadline_are_reported(filled: Database) -> None:
    execute(filled, "UPDATE outcomes SET deadline = NULL, observed = '{}' WHERE ref = 'o4'")
    found = {d.what for d in replay_verify(filled).differences}
    assert found == {"deadline", "observed"}


def test_cli_replay_verify(filled: Database) -> None:
    runner = CliRunner()
    clean = runner.invoke(main, ["replay", "--verify", "--database", filled.url])
    assert clean.exit_code == 0, clean.output
    assert ": 0 differences in 0 outcomes" in clean.output
    assert clean.output.startswith("5 outcomes rebuilt")
    execute(filled, "UPDATE outcomes SET charged = NULL WHERE ref = 'o1'")
    broken = runner.invoke(main, ["replay", "--verify", "--database", filled.url])
    assert broken.exit_code == 1
    assert "landing/o1: charged: stored none, rebuilt Decimal('0.99')" in broken.output
    assert "1 differences in 1 outcomes" in broken.output
    refused = runner.invoke(main, ["replay", "--database", filled.url])
    assert refused.exit_code == 2


def test_charge_and_credit_entries_name_their_ledger_row_with_money_as_text(
    filled: Database,
) -> None:
    add_credit(filled)
    ledger = rows(
        filled,
        "SELECT id, kind, amount, currency, period_start, history_seq, period_end, invoice_id"
        " FROM ledger",
    )
    assert {row[1] for row in ledger} == {"charge", "credit"}
    for ident, kind, amount, currency, period, seq, period_end, invoice in ledger:
        [(entry_kind, text)] = rows(filled, "SELECT kind, data FROM history WHERE seq = ?", (seq,))
        data = loads(text)
        assert entry_kind == kind
        assert data["ledger_id"] == ident
        assert isinstance(data["amount"], str)  # a decimal string, never a JSON number
        assert Decimal(data["amount"]) == Decimal(str(amount))
        assert data["currency"] == currency
        assert (data["period_start"], data["period_end"]) == (period, period_end)
        assert data["invoice"] == invoice


@pytest.mark.parametrize(
    ("moved", "stored", "rebuilt"),
    [
        ("customer = 'zed'", "'zed'", "'bolt'"),
        ("period_start = '2026-10-01'", "2026-10-01", "2026-11-01"),
    ],
    ids=["customer", "period"],
)
def test_a_charge_moved_to_another_customer_or_period_is_reported(
    filled: Database, moved: str, stored: str, rebuilt: str
) -> None:
    execute(filled, "INSERT INTO customers (id, billing_day, created_at) VALUES ('zed', 1, 0)")
    execute(
        filled,
        f"UPDATE ledger SET {moved} WHERE outcome_id = (SELECT id FROM outcomes WHERE ref = 'o3')",
    )
    [difference] = replay_verify(filled).differences
    assert (difference.ref, difference.what) == ("o3", "ledger")
    assert stored in difference.stored
    assert rebuilt in difference.rebuilt


def test_the_daily_booking_counts_agree_with_the_ledger(filled: Database) -> None:
    add_credit(filled)
    report = replay_verify(filled)
    assert report.day_differences == []
    [(kept,)] = rows(filled, "SELECT SUM(count) FROM ledger_days")
    [(booked,)] = rows(filled, "SELECT COUNT(*) FROM ledger")
    assert int(kept) == int(booked) == 4  # three charges and a credit, each counted once


def test_a_daily_count_out_of_step_is_reported(filled: Database) -> None:
    execute(filled, "UPDATE ledger_days SET count = count + 1 WHERE currency = 'EUR'")
    report = replay_verify(filled)
    assert not report.ok
    assert report.differences == []
    [line] = report.day_differences
    assert line.startswith("daily counts 2026-11-")
    assert "EUR charge 12.5" in line
    assert line.endswith("stored 2, the ledger holds 1")
    outcome = CliRunner().invoke(main, ["replay", "--verify", "--database", filled.url])
    assert outcome.exit_code == 1
    assert "daily booking counts: 1 differences" in outcome.output
