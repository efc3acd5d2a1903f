"""The hash chain names the first entry that was edited, removed or reordered."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner

from earnest.cli import main
from earnest.service.audit import verify_activity, verify_all, verify_chain, verify_ledger
from earnest.store import Database
from earnest.store.activity import append_activity
from earnest.store.codec import dumps, entry_hash, loads
from tests.contracts import T0
from tests.service.conftest import add_credit, execute, rows
from tests.store.test_activity import append_log


def total(db: Database) -> int:
    [(count,)] = rows(db, "SELECT COUNT(*) FROM history")
    return int(count)


def entry(db: Database, seq: int) -> tuple[Any, ...]:
    [row] = rows(
        db, "SELECT outcome_id, recorded_at, kind, data, hash FROM history WHERE seq = ?", (seq,)
    )
    return row


@pytest.mark.parametrize("chunk", [1, 3, 5_000])
def test_a_clean_store_verifies(filled: Database, chunk: int) -> None:
    report = verify_chain(filled, chunk=chunk)
    assert report.ok
    assert report.first_bad is None
    assert report.checked == total(filled) > 30
    assert report.describe() == f"ok: {total(filled)} entries, chain intact"


def test_an_empty_store_verifies(db: Database) -> None:
    report = verify_chain(db)
    assert (report.ok, report.checked) == (True, 0)


@pytest.mark.parametrize("chunk", [3, 5_000])
def test_an_edited_entry_is_named(filled: Database, chunk: int) -> None:
    execute(filled, "UPDATE history SET data = data || ' ' WHERE seq = 9")
    report = verify_chain(filled, chunk=chunk)
    assert not report.ok
    assert report.first_bad is not None
    assert (report.first_bad.seq, report.first_bad.problem) == (9, "edited")
    assert report.checked == 8
    outcome = rows(
        filled,
        "SELECT o.contract, o.ref FROM history h JOIN outcomes o ON o.id = h.outcome_id"
        " WHERE h.seq = 9",
    )
    assert (report.first_bad.contract, report.first_bad.ref) == outcome[0]
    assert "entry 9 (outcome" in report.describe()


def test_an_edit_with_a_recomputed_hash_breaks_the_next_entry(filled: Database) -> None:
    outcome_id, recorded_at, kind, data, _ = entry(filled, 9)
    previous = entry(filled, 8)[4]
    forged = data + " "
    digest = entry_hash(previous, 9, outcome_id, recorded_at, kind=kind, data=forged)
    execute(filled, "UPDATE history SET data = ?, hash = ? WHERE seq = 9", (forged, digest))
    report = verify_chain(filled)
    assert report.first_bad is not None
    assert (report.first_bad.seq, report.first_bad.problem) == (10, "edited")


def test_an_edited_time_is_named(filled: Database) -> None:
    execute(filled, "UPDATE history SET recorded_at = recorded_at + 1 WHERE seq = 20")
    report = verify_chain(filled)
    assert report.first_bad is not None
    assert report.first_bad.seq == 20


@pytest.mark.parametrize("chunk", [2, 5_000])
def test_a_removed_entry_is_named(filled: Database, chunk: int) -> None:
    execute(filled, "DELETE FROM history WHERE seq = 7")
    report = verify_chain(filled, chunk=chunk)
    assert report.first_bad is not None
    assert (report.first_bad.seq, report.first_bad.problem) == (7, "removed")
    assert report.checked == 6


def test_removing_the_first_entry_is_named(filled: Database) -> None:
    execute(filled, "DELETE FROM history WHERE seq = 1")
    report = verify_chain(filled)
    assert report.first_bad is not None
    assert (report.first_bad.seq, report.first_bad.problem) == (1, "removed")


def test_swapped_entries_are_named(filled: Database) -> None:
    a, b = entry(filled, 12), entry(filled, 15)
    assert a[3] != b[3]
    execute(filled, "UPDATE history SET data = ? WHERE seq = 12", (b[3],))
    execute(filled, "UPDATE history SET data = ? WHERE seq = 15", (a[3],))
    report = verify_chain(filled)
    assert report.first_bad is not None
    assert (report.first_bad.seq, report.first_bad.problem) == (12, "edited")


def test_rows_swapped_whole_are_named(filled: Database) -> None:
    a, b = entry(filled, 12), entry(filled, 15)
    update = (
        "UPDATE history SET outcome_id = ?, recorded_at = ?, kind = ?, data = ?, hash = ?"
        " WHERE seq = ?"
    )
    execute(filled, update, (*b, 12))
    execute(filled, update, (*a, 15))
    report = verify_chain(filled)
    assert report.first_bad is not None
    assert report.first_bad.seq == 12


def test_a_removed_last_entry_is_named(filled: Database) -> None:
    last = total(filled)
    execute(filled, "DELETE FROM history WHERE seq = ?", (last,))
    report = verify_chain(filled)
    assert report.first_bad is not None
    assert (report.first_bad.seq, report.first_bad.problem) == (last, "truncated")
    assert report.checked == last - 1


def test_a_rewound_chain_head_is_named(filled: Database) -> None:
    last = total(filled)
    execute(filled, "UPDATE chain_head SET hash = 'x'")
    report = verify_chain(filled)
    assert report.first_bad is not None
    assert (report.first_bad.seq, report.first_bad.problem) == (last, "truncated")


def test_cli_audit_verify(filled: Database) -> None:
    runner = CliRunner()
    clean = runner.invoke(main, ["audit", "verify", "--database", filled.url])
    assert clean.exit_code == 0, clean.output
    assert clean.output == (
        f"history: ok: {total(filled)} entries, chain intact\n"
        "activity: ok: 0 entries, chain intact\n"
        "invoices: ok: 0 finalized invoices, each as it was frozen\n"
    )
    execute(filled, "DELETE FROM history WHERE seq = 4")
    broken = runner.invoke(main, ["audit", "verify", "--database", filled.url])
    assert broken.exit_code == 1
    assert "entry 4 removed" in broken.output


# The activity chain ------------------------------------------------------------------------

ACTIVITY: list[tuple[str, str, str, dict[str, Any] | None, dict[str, Any] | None]] = [
    ("cli", "contract.saved", "ticket_resolved", None, {"version": 1}),
    ("k_admin01", "customer.created", "acme", None, {"name": "Acme"}),
    ("k_admin01", "key.created", "k_ingest1", None, {"scope": "ingest"}),
    ("cli", "contract.saved", "ticket_resolved", {"version": 1}, {"version": 2}),
    ("system", "customer.updated", "acme", {"billing_day": 1}, {"billing_day": 15}),
    ("k_admin01", "key.revoked", "k_ingest1", {"revoked": False}, {"revoked": True}),
]


@pytest.fixture
def logged(db: Database) -> Database:
    """Six activity entries, each appended in its own write transaction."""
    append_log(db, ACTIVITY)
    return db


@pytest.mark.parametrize("chunk", [1, 4, 5_000])
def test_a_clean_activity_log_verifies(logged: Database, chunk: int) -> None:
    report = verify_activity(logged, chunk=chunk)
    assert (report.ok, report.checked, report.first_bad) == (True, len(ACTIVITY), None)
    assert report.describe() == f"ok: {len(ACTIVITY)} entries, chain intact"


def test_an_empty_activity_log_verifies(db: Database) -> None:
    report = verify_activity(db)
    assert (report.ok, report.checked) == (True, 0)


@pytest.mark.parametrize("chunk", [2, 5_000])
def test_an_edited_after_is_named(logged: Database, chunk: int) -> None:
    execute(logged, "UPDATE activity SET after = ? WHERE seq = 4", ('{"version":3}',))
    report = verify_activity(logged, chunk=chunk)
    assert not report.ok
    assert report.first_bad is not None
    assert (report.first_bad.seq, report.first_bad.problem) == (4, "edited")
    assert report.checked == 3
    assert report.describe().startswith(
        "broken: activity entry 4 (contract.saved ticket_resolved) edited: stored hash"
    )


def test_an_edited_actor_is_named(logged: Database) -> None:
    execute(logged, "UPDATE activity SET actor = 'cli' WHERE seq = 2")
    report = verify_activity(logged)
    assert report.first_bad is not None
    assert (report.first_bad.seq, report.first_bad.problem) == (2, "edited")
    assert "activity entry 2 (customer.created acme) edited" in report.describe()


def test_an_after_set_to_null_is_named(logged: Database) -> None:
    execute(logged, "UPDATE activity SET before = 'null' WHERE seq = 1")
    report = verify_activity(logged)
    assert report.first_bad is not None
    assert (report.first_bad.seq, report.first_bad.problem) == (1, "edited")


@pytest.mark.parametrize("chunk", [1, 5_000])
def test_a_removed_activity_entry_is_named(logged: Database, chunk: int) -> None:
    execute(logged, "DELETE FROM activity WHERE seq = 3")
    report = verify_activity(logged, chunk=chunk)
    assert report.first_bad is not None
    assert (report.first_bad.seq, report.first_bad.problem) == (3, "removed")
    assert report.checked == 2
    assert "activity entry 3 removed: entry 3 is missing" in report.describe()


def test_a_removed_last_activity_entry_is_named(logged: Database) -> None:
    execute(logged, "DELETE FROM activity WHERE seq = ?", (len(ACTIVITY),))
    report = verify_activity(logged)
    assert report.first_bad is not None
    assert (report.first_bad.seq, report.first_bad.problem) == (len(ACTIVITY), "truncated")
    assert report.checked == len(ACTIVITY) - 1
    assert "the activity head is at 6 but the last entry is 5" in report.describe()


def test_a_rewound_activity_head_is_named(logged: Database) -> None:
    execute(logged, "UPDATE activity_head SET hash = 'x'")
    report = verify_activity(logged)
    assert report.first_bad is not None
    assert (report.first_bad.seq, report.first_bad.problem) == (len(ACTIVITY), "truncated")


def test_each_chain_is_judged_alone(filled: Database) -> None:
    with filled.write() as tx:
        append_activity(
            tx, at=T0, actor="cli", action="contract.saved", subject="landing", before=None,
            after={"version": 1},
        )  # fmt: skip
    assert (verify_chain(filled).checked, verify_activity(filled).checked) == (total(filled), 1)
    execute(filled, "UPDATE activity SET actor = 'system'")
    assert verify_chain(filled).ok
    assert not verify_activity(filled).ok


# Both chains and the ledger together --------------------------------------------------------


def test_verify_all_prints_one_line_per_chain(filled: Database) -> None:
    with filled.write() as tx:
        append_activity(
            tx, at=T0, actor="cli", action="contract.saved", subject="landing", before=None,
            after={"version": 1},
        )  # fmt: skip
    summary = verify_all(filled)
    assert summary.ok
    assert summary.lines() == [
        f"history: ok: {total(filled)} entries, chain intact",
        "activity: ok: 1 entries, chain intact",
        "invoices: ok: 0 finalized invoices, each as it was frozen",
    ]
    execute(filled, "UPDATE activity SET subject = 'other'")
    broken = verify_all(filled)
    assert not broken.ok
    assert broken.history.ok
    assert broken.lines()[1].startswith(
        "activity: broken: activity entry 1 (contract.saved other) edited"
    )


def test_verify_all_fails_on_a_broken_history(filled: Database) -> None:
    execute(filled, "DELETE FROM history WHERE seq = 4")
    summary = verify_all(filled)
    assert not summary.ok
    assert summary.activity.ok
    assert summary.lines()[0].startswith("history: broken: entry 4 removed")


# The ledger against the history ------------------------------------------------------------


def ledger_row(db: Database, ref: str, kind: str = "charge") -> tuple[int, str, str]:
    """The id, customer and period start of the ledger row of ``kind`` for outcome ``ref``."""
    [row] = rows(
        db,
        "SELECT l.id, l.customer, l.period_start FROM ledger l"
        " JOIN outcomes o ON o.id = l.outcome_id WHERE o.ref = ? AND l.kind = ?",
        (ref, kind),
    )
    return int(row[0]), str(row[1]), str(row[2])


@pytest.fixture
def credited(filled: Database) -> Database:
    add_credit(filled)
    return filled


def ledger_size(db: Database) -> int:
    [(count,)] = rows(db, "SELECT COUNT(*) FROM ledger")
    return int(count)


@pytest.mark.parametrize("chunk", [1, 2, 5_000])
def test_an_untouched_ledger_agrees_with_the_history(credited: Database, chunk: int) -> None:
    assert ledger_size(credited) == 4  # three charges and a credit
    report = verify_ledger(credited, chunk=chunk)
    assert (report.ok, report.checked, report.first_bad) == (True, 4, None)
    assert report.describe() == "ok: 4 ledger rows, all agree with the history"
    assert verify_all(credited).ok


def test_history_entries_name_their_ledger_rows(credited: Database) -> None:
    """What the cross-check relies on: each charge and credit entry carries its row's id."""
    booked = rows(
        credited,
        "SELECT l.id, h.data FROM ledger l JOIN history h ON h.seq = l.history_seq ORDER BY l.id",
    )
    assert len(booked) == 4
    for ident, data in booked:
        assert f'"ledger_id":{ident}' in data


def test_a_row_moved_to_another_customer_is_named(credited: Database) -> None:
    ident, customer, _ = ledger_row(credited, "o1")
    assert customer == "acme"
    execute(credited, "UPDATE ledger SET customer = 'bolt' WHERE id = ?", (ident,))
    assert verify_chain(credited).ok  # the chain alone cannot see it
    report = verify_ledger(credited)
    assert report.first_bad is not None
    assert (report.first_bad.seq, report.first_bad.problem) == (ident, "edited")
    assert (report.first_bad.contract, report.first_bad.ref) == ("landing", "o1")
    assert report.first_bad.describe() == (
        f"ledger row {ident} (outcome landing/o1) edited: it is booked to customer 'bolt',"
        " but the outcome was opened for 'acme'"
    )
    summary = verify_all(credited)
    assert not summary.ok
    assert summary.lines()[0].startswith(
        f"history: broken: ledger row {ident} (outcome landing/o1)"
    )


def test_a_row_moved_to_another_period_is_named(credited: Database) -> None:
    ident, _, period = ledger_row(credited, "o3")
    assert period == "2026-11-01"
    execute(credited, "UPDATE ledger SET period_start = '2026-12-01' WHERE id = ?", (ident,))
    report = verify_ledger(credited)
    assert report.first_bad is not None
    assert (report.first_bad.seq, report.first_bad.problem) == (ident, "edited")
    assert (report.first_bad.contract, report.first_bad.ref) == ("landing", "o3")
    assert "period from 2026-12-01" in report.first_bad.detail
    assert "says from 2026-11-01" in report.first_bad.detail


def test_an_edited_amount_is_named(credited: Database) -> None:
    ident, _, _ = ledger_row(credited, "c1", "credit")
    execute(credited, "UPDATE ledger SET amount = '1.50' WHERE id = ?", (ident,))
    report = verify_ledger(credited)
    assert report.first_bad is not None
    assert (report.first_bad.seq, report.first_bad.problem) == (ident, "edited")
    assert (report.first_bad.contract, report.first_bad.ref) == ("credited", "c1")
    assert "its amount is 1.50" in report.first_bad.detail
    assert "says 12.50" in report.first_bad.detail


def test_an_amount_written_with_other_digits_is_the_same_amount(credited: Database) -> None:
    ident, _, _ = ledger_row(credited, "c1")
    execute(credited, "UPDATE ledger SET amount = '12.5000' WHERE id = ?", (ident,))
    assert verify_ledger(credited).ok


def test_a_removed_ledger_row_is_named(credited: Database) -> None:
    ident, _, _ = ledger_row(credited, "o3")
    execute(credited, "DELETE FROM ledger WHERE id = ?", (ident,))
    report = verify_ledger(credited)
    assert report.first_bad is not None
    assert (report.first_bad.seq, report.first_bad.problem) == (ident, "removed")
    assert (report.first_bad.contract, report.first_bad.ref) == ("landing", "o3")
    assert report.checked == 3


def test_a_row_pointed_at_another_entry_is_named(credited: Database) -> None:
    ident, _, _ = ledger_row(credited, "o1")
    [(check_seq,)] = rows(
        credited,
        "SELECT MIN(h.seq) FROM history h JOIN outcomes o ON o.id = h.outcome_id"
        " WHERE o.ref = 'o1' AND h.kind = 'check'",
    )
    execute(credited, "UPDATE ledger SET history_seq = ? WHERE id = ?", (check_seq, ident))
    report = verify_ledger(credited)
    assert report.first_bad is not None
    assert (report.first_bad.seq, report.first_bad.problem) == (ident, "unrecorded")
    assert f"its history entry {check_seq} is a check" in report.first_bad.detail


def test_entries_that_name_no_ledger_row_are_judged_on_the_rest(credited: Database) -> None:
    """An older store's charge entries carry no ``ledger_id`` or ``period``: the ledger row is
    still judged on its outcome, kind, amount, currency and customer."""
    ident, _, _ = ledger_row(credited, "o1")
    [(seq, data)] = rows(
        credited,
        "SELECT h.seq, h.data FROM history h JOIN ledger l ON l.history_seq = h.seq WHERE l.id = ?",
        (ident,),
    )
    placed = ("ledger_id", "period", "period_start", "period_end", "invoice")
    older = {k: v for k, v in loads(data).items() if k not in placed}
    execute(credited, "UPDATE history SET data = ? WHERE seq = ?", (dumps(older), seq))
    execute(credited, "UPDATE ledger SET period_start = '2026-12-01' WHERE id = ?", (ident,))
    assert verify_ledger(credited).ok
    execute(credited, "UPDATE ledger SET customer = 'bolt' WHERE id = ?", (ident,))
    report = verify_ledger(credited)
    assert report.first_bad is not None
    assert (report.first_bad.seq, report.first_bad.problem) == (ident, "edited")


def test_cli_audit_verify_names_a_moved_ledger_row(credited: Database) -> None:
    ident, _, _ = ledger_row(credited, "o1")
    execute(credited, "UPDATE ledger SET customer = 'bolt' WHERE id = ?", (ident,))
    result = CliRunner().invoke(main, ["audit", "verify", "--database", credited.url])
    assert result.exit_code == 1
    assert f"history: broken: ledger row {ident} (outcome landing/o1) edited" in result.output
    assert "activity: ok: 0 entries, chain intact" in result.output


def test_cli_audit_verify_names_an_edited_activity_entry(logged: Database) -> None:
    execute(logged, "UPDATE activity SET after = '{}' WHERE seq = 5")
    result = CliRunner().invoke(main, ["audit", "verify", "--database", logged.url])
    assert result.exit_code == 1
    assert "history: ok: 0 entries, chain intact" in result.output
    assert "activity: broken: activity entry 5 (customer.updated acme) edited" in result.output
