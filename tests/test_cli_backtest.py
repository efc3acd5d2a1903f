"""``earnest backtest`` and ``earnest contracts diff`` on a SQLite store filled through ingest and
the scheduler's deadlines: the report as a table and as JSON, a contract file that does not
validate refused as ``contracts validate`` refuses it, bad ranges and keys by name, nothing
written, no database created."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from earnest.cli import main
from earnest.contract import load_contract
from earnest.service.contracts import Contracts
from earnest.service.deadlines import catch_up
from earnest.service.ingest import ingest
from earnest.store import connect

START = datetime(2025, 1, 6, 9, tzinfo=UTC)  # in the past: the CLI runs on the real clock
SINCE = ["--since", "2025-01-01T00:00:00Z"]
TICKET = """key: ticket
name: Ticket solved
conditions: solved AND csat >= 4
price: $2
active_for: 48h
review_window: 24h
on_timeout: cancel
"""


def signal(ref: str, name: str, value: Any = True, **extra: Any) -> dict[str, Any]:
    return {"contract": "ticket", "outcome": ref, "signal": name, "value": value, **extra}


@pytest.fixture
def store(tmp_path: Path) -> str:
    """t1 csat 4 and t2 csat 5, confirmed; t3 never rated, cancelled by its timeout."""
    url = str(tmp_path / "earnest.db")
    db = connect(url)
    db.migrate()
    try:
        contracts = Contracts(db, lambda: START)
        contracts.save(load_contract(TICKET), actor="test")
        contracts.save(load_contract(TICKET.replace("$2", "$3")), actor="test")  # version 2
        contracts.save(load_contract(TICKET), actor="test")  # version 3, as version 1
        timed = [
            (START, signal("t1", "solved", customer="acme")),
            (START + timedelta(minutes=1), signal("t1", "csat", 4)),
            (START + timedelta(minutes=2), signal("t2", "solved", customer="acme")),
            (START + timedelta(minutes=3), signal("t2", "csat", 5)),
            (START + timedelta(minutes=4), signal("t3", "solved", customer="bolt")),
        ]
        for at, item in timed:
            [result] = ingest(db, [item], at)
            assert result.status == "accepted"
        catch_up(db, START + timedelta(days=5))
    finally:
        db.close()
    return url


def run(url: str, *args: str) -> Result:
    """The command on a wide terminal (a table's cells are not wrapped)."""
    env = {"COLUMNS": "200", "EARNEST_BACKTEST_NICE": "0"}  # pytest's own priority stays
    return CliRunner().invoke(main, ["--database", url, *args], env=env)


def proposal(tmp_path: Path, text: str, name: str = "ticket.yaml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_the_json_report(store: str, tmp_path: Path) -> None:
    stricter = proposal(tmp_path, TICKET.replace("csat >= 4", "csat >= 5"))
    result = run(store, "backtest", stricter, *SINCE, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["contract"], report["version"]) == ("ticket", 4)
    assert (report["outcomes"], report["replayed"], report["changed"]) == (3, 3, 1)
    [t1] = report["differences"]
    assert t1["outcome"] == "t1"
    assert t1["change"] == "confirmed → cancelled"
    assert t1["before"]["charge"] == {"amount": "2.00", "currency": "USD"}
    assert t1["after"]["charge"] is None
    assert "csat >= 5: csat = 4 ✗" in t1["after"]["explanation"]
    assert report["changes"] == {"confirmed → cancelled": 1}
    assert report["revenue"] == {"USD": {"before": "4.00", "after": "2.00", "difference": "-2.00"}}
    assert report["since"] == "2025-01-01T00:00:00Z"


def test_the_table_and_summary(store: str, tmp_path: Path) -> None:
    cheaper = proposal(tmp_path, TICKET.replace("$2", "$1.50"))
    result = run(store, "backtest", cheaper, *SINCE)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "ticket: proposed version 4" in out
    assert "price: 2.00 USD → 1.50 USD" in out  # what changed from the latest version
    assert "outcomes that would differ (2)" in out
    assert "confirmed 2.00 USD" in out
    assert "confirmed 1.50 USD" in out
    assert "changes: price changed 2" in out
    assert "charged revenue USD: before 4.00, after 3.00, difference -1.00" in out
    assert "3 outcomes opened 2025-01-01T00:00:00Z → " in out


def test_the_version_in_force_reproduces_everything(store: str, tmp_path: Path) -> None:
    same = proposal(tmp_path, TICKET)
    report = json.loads(run(store, "backtest", same, *SINCE, "--json").stdout)
    assert report["version"] == 3  # the latest version with this content
    assert (report["changed"], report["differences"]) == (0, [])
    result = run(store, "backtest", same, *SINCE)
    assert "the same content as version 3" in result.stdout
    assert "0 would change" in result.stdout


def test_the_key_comes_from_the_file_else_from_key(store: str, tmp_path: Path) -> None:
    unnamed = proposal(tmp_path, TICKET.replace("key: ticket\n", ""), "proposal.yaml")
    # no key in the document: the file's name gives it, and no contract has that key
    result = run(store, "backtest", unnamed, *SINCE)
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "error: unknown_contract: no contract with key 'proposal' (field: key)"
    )
    result = run(store, "backtest", unnamed, "--key", "ticket", *SINCE, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["outcomes"] == 3
    named = proposal(tmp_path, TICKET)
    result = run(store, "backtest", named, "--key", "other", *SINCE)
    assert result.exit_code == 1
    assert "'ticket' does not match the expected key 'other'" in result.stderr


def test_an_invalid_contract_gets_the_errors_of_validate(store: str, tmp_path: Path) -> None:
    broken = proposal(tmp_path, TICKET.replace("csat >= 4", "csat >= ").replace("48h", "2 days"))
    validate = CliRunner().invoke(main, ["contracts", "validate", broken], env={"COLUMNS": "200"})
    result = run(store, "backtest", broken, *SINCE)
    assert (validate.exit_code, result.exit_code) == (1, 1)
    problems = validate.stdout.splitlines()[1:]
    assert len(problems) >= 4  # two fields, with a caret under the condition's problem
    assert result.stderr.splitlines()[1:] == problems
    assert result.stderr.splitlines()[0] == f"✗ {broken}: invalid, nothing run"
    assert result.stdout == ""


def test_bad_ranges_are_refused_by_name(store: str, tmp_path: Path) -> None:
    file = proposal(tmp_path, TICKET)
    result = run(
        store,
        "backtest",
        file,
        "--since",
        "2025-02-01T00:00:00Z",
        "--until",
        "2025-01-01T00:00:00Z",
    )
    assert result.exit_code == 1
    assert result.stderr.startswith("error: invalid_range: since (2025-02-01T00:00:00Z) is after")
    assert result.stderr.strip().endswith("(field: since)")
    result = run(store, "backtest", file, "--until", "yesterday")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: invalid_time: ")
    assert result.stderr.strip().endswith("(field: until)")


def test_nothing_is_written_and_no_database_is_created(store: str, tmp_path: Path) -> None:
    before = Path(store).read_bytes()
    assert run(store, "backtest", proposal(tmp_path, TICKET), *SINCE).exit_code == 0
    assert Path(store).read_bytes() == before
    missing = tmp_path / "missing.db"
    result = run(str(missing), "backtest", proposal(tmp_path, TICKET))
    assert result.exit_code == 1
    assert not missing.exists()


def test_contracts_diff(store: str) -> None:
    result = run(store, "contracts", "diff", "ticket", "1", "2")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "ticket: version 1 → version 2",
        "  price: 2.00 USD → 3.00 USD",
    ]
    result = run(store, "contracts", "diff", "ticket", "1", "3")
    assert result.stdout.splitlines()[1] == "  no difference"
    document = json.loads(run(store, "contracts", "diff", "ticket", "2", "1", "--json").stdout)
    assert document == {
        "key": "ticket",
        "from": 2,
        "to": 1,
        "changes": [
            {
                "field": "price",
                "before": {"amount": "3.00", "currency": "USD"},
                "after": {"amount": "2.00", "currency": "USD"},
            }
        ],
    }
    result = run(store, "contracts", "diff", "ticket", "1", "9")
    assert result.exit_code == 1
    assert "no contract with key 'ticket' at version 9" in result.stderr


@pytest.mark.parametrize(("setting", "niceness"), [(None, 10), ("0", 0), ("15", 15)])
def test_a_backtest_s_process_yields_the_cpu_to_ingest(setting: str | None, niceness: int) -> None:
    env = {k: v for k, v in os.environ.items() if k != "EARNEST_BACKTEST_NICE"}
    if setting is not None:
        env["EARNEST_BACKTEST_NICE"] = setting
    code = "from earnest.service.backtest import lower_priority; print(lower_priority())"
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert int(done.stdout) == niceness
