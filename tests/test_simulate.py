"""`earnest simulate` on the bundled examples and on hand-made signal files."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from earnest.cli import main

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

LANDING_PAGE = """\
active_for: 48h
review_window: 24h
price: $0.99
conditions: completed AND score > 3 AND NOT disputed
on_timeout: confirm
"""


def simulate(contract: Path, signals: Path) -> tuple[int, dict[str, Any], str]:
    result = CliRunner().invoke(main, ["simulate", str(contract), str(signals), "--json"])
    return result.exit_code, json.loads(result.stdout), result.stderr


def decisions(report: dict[str, Any]) -> dict[str, tuple[str, str | None, str | None]]:
    return {
        o["outcome"]: (o["state"], o["review_reason"], o["charge"] and o["charge"]["amount"])
        for o in report["outcomes"]
    }


def test_ticket_resolved_story() -> None:
    code, report, stderr = simulate(
        EXAMPLES / "ticket_resolved.yaml", EXAMPLES / "ticket_resolved.jsonl"
    )
    assert (code, stderr) == (0, "")
    assert decisions(report) == {
        "T-1001": ("confirmed", "conditions_met", "0.99"),
        "T-1002": ("cancelled", "conditions_met", None),  # reopened inside the review window
        "T-1003": ("confirmed", "conditions_met", "0.99"),  # csat corrected from 3 to 4
        "T-1004": ("confirmed", "activity_timeout", "0.99"),  # no news is good news
        "T-1005": ("confirmed", "conditions_met", "0.99"),  # reopened after settlement: flag
        "T-1006": ("confirmed", "conditions_met", "0.99"),  # an older low score does not win
    }
    assert report["revenue"] == {"USD": "4.95"}
    first = report["outcomes"][0]
    assert first["opened_at"] == "2026-11-02T09:00:00Z"
    assert first["settled_at"] == "2026-11-03T09:30:00Z"  # csat at 09:30 + 24h review
    assert first["charge"] == {"amount": "0.99", "currency": "USD"}


def test_code_shipped_story() -> None:
    code, report, _ = simulate(EXAMPLES / "code_shipped.yaml", EXAMPLES / "code_shipped.jsonl")
    assert code == 0
    assert decisions(report) == {
        "acme/api#1234": ("confirmed", "conditions_met", "12.50"),
        "acme/api#1240": ("cancelled", "conditions_met", None),
        "globex/web#88": ("cancelled", "activity_timeout", None),
        "globex/web#91": ("confirmed", "conditions_met", "12.50"),  # the revert was retracted
        "initech/core#7": ("confirmed", "conditions_met", "12.50"),
    }
    # initech/core#7 was reverted after settlement: after_settlement credit nets it to zero.
    assert report["revenue"] == {"USD": "25.00"}
    reverted = next(o for o in report["outcomes"] if o["outcome"] == "initech/core#7")
    assert [(c["amount"], c["reason"]) for c in reverted["credits"]] == [
        ("12.50", "after_settlement")
    ]
    assert reverted["net"] == "0.00"
    # The outcomes add up to the revenue: each one's net, not its charge.
    nets = [Decimal(o["net"]) for o in report["outcomes"] if o["net"] is not None]
    assert sum(nets) == Decimal(report["revenue"]["USD"])
    never_merged = report["outcomes"][2]
    assert never_merged["settled_at"] == "2026-11-23T11:00:00Z"  # 14d activity + 7d review


def test_incident_resolved_story() -> None:
    code, report, _ = simulate(
        EXAMPLES / "incident_resolved.yaml", EXAMPLES / "incident_resolved.jsonl"
    )
    assert code == 0
    assert decisions(report) == {
        "INC-1": ("confirmed", "conditions_met", "150.00"),
        "INC-2": ("cancelled", "conditions_met", None),
        "INC-3": ("cancelled", "activity_timeout", None),  # sev3 is not billable
        "INC-4": ("confirmed", "activity_timeout", "150.00"),  # resolved during review
        "INC-5": ("confirmed", "conditions_met", "150.00"),  # recurrence after settlement ignored
    }
    assert report["revenue"] == {"EUR": "450.00"}


@pytest.fixture
def landing_page(tmp_path: Path) -> Path:
    path = tmp_path / "landing_page.yaml"
    path.write_text(LANDING_PAGE, encoding="utf-8")
    return path


def write_lines(tmp_path: Path, *lines: dict[str, Any] | str) -> Path:
    path = tmp_path / "signals.jsonl"
    text = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines)
    path.write_text(text + "\n", encoding="utf-8")
    return path


def line(outcome: str, signal: str, at: str, **extra: Any) -> dict[str, Any]:
    return {"outcome": outcome, "signal": signal, "at": at, **extra}


def test_invalid_lines_are_reported_with_their_number_and_skipped(
    landing_page: Path, tmp_path: Path
) -> None:
    signals = write_lines(
        tmp_path,
        line("a", "completed", "2026-01-01T00:00:00Z", customer="c1", id="1"),
        "{not json",
        line("a", "score", "2026-01-01T00:01:00Z", value=5),
        line("b", "completed", "2026-01-01T00:02:00Z"),  # opens an outcome with no customer
        line("a", "score", "2026-01-01T00:03:00Z", value=[1]),
        line("a", "completed", "2026-01-01T00:00:00Z", customer="c1", id="1", value=False),
        line("a", "completed", "2026-01-01T00:04:00Z", customer="someone-else"),
        {"outcome": "a", "signal": "score"},
    )
    code, report, stderr = simulate(landing_page, signals)
    assert code == 2
    rows = [re.fullmatch(r".*signals\.jsonl:(\d+): (.*)", r) for r in stderr.splitlines()]
    assert all(rows), stderr
    numbers = [int(m.group(1)) for m in rows if m]
    errors = [m.group(2) for m in rows if m]
    assert numbers == [2, 4, 5, 6, 7, 8]
    assert errors[0].startswith("invalid JSON: ")
    assert errors[1] == (
        "customer: outcome 'b' is not open yet: the signal that opens it needs a customer"
    )
    assert errors[2].startswith("value: expected true, false, a number, a string or null")
    assert errors[3] == "id: signal id '1' was already used for a different signal"
    assert errors[4] == "customer: outcome 'a' belongs to customer 'c1', not 'someone-else'"
    assert errors[5] == "at: is required"
    # The valid lines still ran: a met at 00:01, review until 00:01 next day.
    assert decisions(report) == {"a": ("confirmed", "conditions_met", "0.99")}


def test_virtual_clock_never_runs_backwards(landing_page: Path, tmp_path: Path) -> None:
    signals = write_lines(
        tmp_path,
        line("a", "completed", "2026-01-01T00:00:00Z", customer="c"),
        line("a", "score", "2026-01-01T10:00:00Z", value=5),
        # Earlier `at`: received at 10:00 (the clock), ordered at 09:00 for its value, so the
        # newer score of 5 still stands and the outcome confirms.
        line("a", "score", "2026-01-01T09:00:00Z", value=1),
    )
    code, report, _ = simulate(landing_page, signals)
    assert code == 0
    assert report["outcomes"][0]["settled_at"] == "2026-01-02T10:00:00Z"
    assert decisions(report) == {"a": ("confirmed", "conditions_met", "0.99")}


def test_deadlines_fire_after_the_last_signal(landing_page: Path, tmp_path: Path) -> None:
    signals = write_lines(
        tmp_path,
        line("quiet", "started", "2026-01-01T00:00:00Z", customer="c"),
        line("bad", "score", "2026-01-01T00:00:00Z", customer="c", value=2),
    )
    code, report, _ = simulate(landing_page, signals)
    assert code == 0
    assert decisions(report) == {
        "quiet": ("confirmed", "activity_timeout", "0.99"),  # on_timeout confirm
        "bad": ("cancelled", "activity_timeout", None),  # last check failed
    }
    assert [o["settled_at"] for o in report["outcomes"]] == [
        "2026-01-04T00:00:00Z"
    ] * 2  # 48h activity + 24h review
    assert report["revenue"] == {"USD": "0.99"}


def test_a_signal_after_a_passed_deadline_waits_for_it(landing_page: Path, tmp_path: Path) -> None:
    signals = write_lines(
        tmp_path,
        line("a", "completed", "2026-01-01T00:00:00Z", customer="c"),
        line("a", "score", "2026-01-01T00:00:01Z", value=4),
        # Received after the review window ended at 2026-01-02T00:00:01Z: it is late.
        line("a", "disputed", "2026-01-05T00:00:00Z"),
    )
    code, report, _ = simulate(landing_page, signals)
    assert code == 0
    assert report["outcomes"][0]["settled_at"] == "2026-01-02T00:00:01Z"
    assert decisions(report) == {"a": ("confirmed", "conditions_met", "0.99")}


def test_human_output_has_a_table_and_revenue() -> None:
    result = subprocess.run(
        [
            sys.executable, "-m", "earnest.cli", "simulate",
            str(EXAMPLES / "code_shipped.yaml"), str(EXAMPLES / "code_shipped.jsonl"),
        ],
        capture_output=True, text=True, check=False, env={"COLUMNS": "200", "PATH": ""},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "code_shipped: 5 outcomes" in result.stdout
    assert "globex/web#88" in result.stdout
    assert "(credited 12.50)" in result.stdout
    assert result.stdout.rstrip().endswith("revenue: 25.00 USD")


def test_an_invalid_contract_exits_2(tmp_path: Path) -> None:
    contract = tmp_path / "broken.yaml"
    contract.write_text("conditions: a AND\nprice: $1\nactive_for: 1h\nreview_window: 0\n")
    signals = write_lines(tmp_path, line("a", "x", "2026-01-01T00:00:00Z", customer="c"))
    result = CliRunner().invoke(main, ["simulate", str(contract), str(signals)])
    assert result.exit_code == 2
    assert "invalid contract" in result.stderr
    assert "conditions:" in result.stderr


def test_contracts_validate() -> None:
    ok = CliRunner().invoke(main, ["contracts", "validate", str(EXAMPLES / "code_shipped.yaml")])
    assert ok.exit_code == 0
    assert "code_shipped, 12.50 USD" in ok.stdout


def test_simulate_and_ingest_refuse_alike(landing_page: Path, tmp_path: Path) -> None:
    """One set of rules: the same signals are refused with the same code and field by the
    simulation and by the store's ingest."""
    from earnest.contract import load_contract
    from earnest.errors import EarnestError
    from earnest.service.ingest import ingest
    from earnest.signals import validate_signal
    from earnest.simulate import Simulation
    from earnest.store import connect
    from earnest.store.contracts import save_contract
    from earnest.timefmt import parse_time

    contract = load_contract(landing_page.read_bytes(), key="landing", format="yaml")
    at = "2026-01-01T00:00:00Z"
    signals = [
        {"contract": "landing", "outcome": "a", "signal": "completed", "customer": "c1", "id": "1"},
        {"contract": "landing", "outcome": "b", "signal": "completed"},  # no customer
        {"contract": "landing", "outcome": "a", "signal": "score", "id": "1"},  # id reused
        {"contract": "landing", "outcome": "a", "signal": "score", "customer": "c2"},
        {"contract": "other", "outcome": "a", "signal": "score", "customer": "c1"},
    ]
    signals = [{**s, "at": at} for s in signals]
    simulation = Simulation(contract)
    simulated: list[tuple[str, str | None] | None] = []
    for raw in signals:
        try:
            simulation.feed(validate_signal(raw, require_at=True))
            simulated.append(None)
        except EarnestError as error:
            simulated.append((error.code, error.field))
    db = connect(str(tmp_path / "rules.db"))
    db.migrate()
    with db.write() as tx:
        save_contract(tx, contract, parse_time(at))
    results = ingest(db, signals, parse_time(at))
    db.close()
    ingested = [None if r.error is None else (r.error.code, r.error.field) for r in results]
    assert (
        simulated
        == ingested
        == [
            None,
            ("customer_required", "customer"),
            ("idempotency_conflict", "id"),
            ("customer_mismatch", "customer"),
            ("unknown_contract", "contract"),
        ]
    )
