"""The hash chain names the first entry that was edited, removed or reordered."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner

from earnest.cli import main
from earnest.service.audit import verify_chain
from earnest.store.codec import entry_hash
from earnest.store.db import Database
from tests.service.conftest import execute, rows


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
    assert clean.output == f"ok: {total(filled)} entries, chain intact\n"
    execute(filled, "DELETE FROM history WHERE seq = 4")
    broken = runner.invoke(main, ["audit", "verify", "--database", filled.url])
    assert broken.exit_code == 1
    assert "entry 4 removed" in broken.output
