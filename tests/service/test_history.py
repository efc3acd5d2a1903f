"""An outcome's history and its timeline, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from earnest.cli import main
from earnest.rules import UnknownOutcome
from earnest.service.history import read_history as outcome_history
from earnest.service.history import render_timeline
from earnest.store import Database
from tests.service.conftest import add_credit, rows

O1_TIMELINE = """\
2026-11-23 10:00:00Z  opened     customer acme, contract landing v1, price 0.99 USD, active until 2026-11-25 10:00:00Z
2026-11-23 10:00:00Z  signal     completed = true (at 10:00:00Z) [id s1]
2026-11-23 10:00:00Z  check      undecided: completed = true ✓ · score > 3: score unseen ✗ · NOT disputed: disputed unseen ✓
2026-11-23 10:01:00Z  signal     score = 5 (at 09:59:00Z) [id s3]
2026-11-23 10:01:00Z  check      met: completed = true ✓ · score > 3: score = 5 ✓ · NOT disputed: disputed unseen ✓
2026-11-23 10:01:00Z  transition open → in_review (conditions_met), scheduled confirm, review ends 2026-11-24 10:01:00Z
2026-11-24 10:01:00Z  transition in_review → confirmed (review_window_ended)
2026-11-24 10:01:00Z  charge     0.99 USD, period 2026-11-01 → 2026-12-01
2026-11-26 10:05:00Z  signal     disputed = true (at 10:05:00Z) [id s5] late: after settlement
2026-11-26 10:05:00Z  check      failed: completed = true ✓ · score > 3: score = 5 ✓ · NOT disputed: disputed = true ✗
2026-11-26 10:05:00Z  dispute    opened by system: late signal disputed (s5) failed the check"""  # noqa: E501


def test_history_comes_back_in_seq_order_with_explained_checks(filled: Database) -> None:
    entries = outcome_history(filled, "landing", "o1")
    stored = rows(
        filled,
        "SELECT h.seq, h.hash FROM history h JOIN outcomes o ON o.id = h.outcome_id"
        " WHERE o.ref = 'o1' AND o.contract = 'landing' ORDER BY h.seq",
    )
    assert [(e.seq, e.hash) for e in entries] == [(int(s), h) for s, h in stored]
    assert [e.kind for e in entries] == [
        "opened", "signal", "check", "signal", "check", "transition", "transition", "charge",
        "signal", "check", "dispute",
    ]  # fmt: skip
    met = entries[4]
    assert met.data["verdict"] == "met"
    assert met.data["explanation"] == (
        "completed = true ✓ · score > 3: score = 5 ✓ · NOT disputed: disputed unseen ✓ → met"
    )
    assert entries[0].recorded_at.isoformat() == "2026-11-23T10:00:00+00:00"


def test_the_timeline_reads_one_line_per_entry(filled: Database) -> None:
    assert render_timeline(outcome_history(filled, "landing", "o1")) == O1_TIMELINE
    manual = render_timeline(outcome_history(filled, "landing", "o3")).splitlines()
    assert manual[-2].endswith("transition open → confirmed (manual_confirm), by ops: checked")
    add_credit(filled)
    credited = render_timeline(outcome_history(filled, "credited", "c1")).splitlines()
    assert credited[-1] == (
        "2026-11-26 10:06:00Z  credit     12.50 EUR (after_settlement),"
        " period 2026-11-01 → 2026-12-01"
    )


def test_an_unknown_outcome_is_an_error(filled: Database) -> None:
    with pytest.raises(UnknownOutcome, match="no outcome 'nope' for contract 'landing'"):
        outcome_history(filled, "landing", "nope")
    with pytest.raises(UnknownOutcome):
        outcome_history(filled, "credited", "o1")  # the ref exists, under another contract


def test_history_reads_through_the_outcome_index(filled: Database) -> None:
    query = (
        "SELECT seq, recorded_at, kind, data, hash FROM history WHERE outcome_id = ? ORDER BY seq"
    )
    with filled.read() as tx:
        if filled.dialect == "sqlite":
            plan = tx.query("EXPLAIN QUERY PLAN " + query, (1,))
            text = " ".join(str(row[-1]) for row in plan)
            assert "USING INDEX history_outcome" in text
            assert "TEMP B-TREE" not in text
            return
        # A tiny table would be scanned whatever the indexes; forbid scans to see that the
        # index can serve the query, in order (no Sort node).
        tx.execute("SET LOCAL enable_seqscan = off")
        tx.execute("SET LOCAL enable_bitmapscan = off")
        text = " ".join(str(row[0]) for row in tx.query("EXPLAIN " + query, (1,)))
    assert "history_outcome" in text
    assert "Sort" not in text


def test_cli_history_prints_the_timeline(filled: Database) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["history", "landing", "o1", "--database", filled.url])
    assert result.exit_code == 0, result.output
    assert result.output == O1_TIMELINE + "\n"
    missing = runner.invoke(main, ["history", "landing", "nope", "--database", filled.url])
    assert missing.exit_code == 1
    assert "no outcome 'nope' for contract 'landing'" in missing.output
