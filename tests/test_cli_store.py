"""The store commands through the CLI: contracts apply/list/show/archive and signal on a SQLite
file; ``earnest worker`` as a real process (clean stop on SIGTERM, catch-up on start)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from earnest.cli import main
from earnest.service.ingest import ingest
from earnest.store import connect
from earnest.store.codec import from_us

TICKET = """\
key: ticket_resolved
conditions: resolved AND NOT reopened AND csat >= 4
price: $0.99
active_for: 48h
review_window: 24h
on_timeout: confirm
"""
BROKEN = """\
key: broken
conditions: resolved AND AND csat >= 4
price: $0.99
active_for: 48h
review_window: 24h
"""


@pytest.fixture
def database(tmp_path: Path) -> str:
    return str(tmp_path / "cli.db")


def run(database: str, *args: str) -> Result:
    return CliRunner().invoke(main, [*args, "--database", database], catch_exceptions=False)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_apply_creates_versions_and_refuses_invalid_files(database: str, tmp_path: Path) -> None:
    ticket = write(tmp_path / "ticket.yaml", TICKET)
    first = run(database, "contracts", "apply", str(ticket))
    assert first.exit_code == 0, first.output
    assert "ticket_resolved created version 1" in first.output
    again = run(database, "contracts", "apply", str(ticket))
    assert "unchanged (version 1)" in again.output
    write(ticket, TICKET.replace("$0.99", "$1.25"))
    broken = write(tmp_path / "broken.yaml", BROKEN)
    mixed = run(database, "contracts", "apply", str(broken), str(ticket))
    assert mixed.exit_code == 1
    assert "broken.yaml: invalid, nothing saved" in mixed.output
    assert "conditions" in mixed.output
    assert "line 1, column" in mixed.output
    assert "created version 2" in mixed.output  # the valid file is still saved
    with connect(database).read() as tx:
        keys = tx.query("SELECT key, version FROM contract_versions ORDER BY key, version")
    assert keys == [("ticket_resolved", 1), ("ticket_resolved", 2)]


def test_list_show_and_archive(database: str, tmp_path: Path) -> None:
    connect(database).migrate()  # an empty Earnest database: read-only commands never create one
    assert "no contracts yet" in run(database, "contracts", "list").output
    run(database, "contracts", "apply", str(write(tmp_path / "ticket.yaml", TICKET)))
    run(
        database, "contracts", "apply", str(write(tmp_path / "t.yaml", TICKET.replace("48h", "2d")))
    )
    listed = run(database, "contracts", "list")
    assert "ticket_resolved" in listed.output
    assert "0.99 USD" in listed.output
    assert "active 2d" in listed.output
    shown = run(database, "contracts", "show", "ticket_resolved", "--version", "1", "--json")
    document = json.loads(shown.output)
    assert document["version"] == 1
    assert document["active_for"] == "2d"  # 48h is written canonically
    assert document["price"] == {"amount": "0.99", "currency": "USD"}
    assert document["archived"] is False
    assert document["fingerprint"].startswith("sha256:")
    text = run(database, "contracts", "show", "ticket_resolved").output
    assert "version: 1" in text
    assert "on_timeout: confirm" in text
    missing = run(database, "contracts", "show", "nope")
    assert missing.exit_code == 1
    assert "no contract with key 'nope'" in missing.output
    archived = run(database, "contracts", "archive", "ticket_resolved")
    assert archived.exit_code == 0
    assert json.loads(run(database, "contracts", "show", "ticket_resolved", "--json").output)[
        "archived"
    ]
    assert run(database, "contracts", "archive", "nope").exit_code == 1


def test_signal_opens_and_moves_an_outcome(database: str, tmp_path: Path) -> None:
    run(database, "contracts", "apply", str(write(tmp_path / "ticket.yaml", TICKET)))
    base = ["signal", "--contract", "ticket_resolved", "--outcome", "t-1"]
    opened = run(database, *base, "--signal", "resolved", "--customer", "acme", "--id", "s1")
    assert opened.exit_code == 0, opened.output
    assert "accepted: ticket_resolved / t-1" in opened.output
    assert "state: open" in opened.output
    scored = run(database, *base, "--signal", "csat", "--value", "4.5", "--data", '{"n": 1.5}')
    assert "values: resolved=true, csat=4.5" in scored.output
    met = run(database, *base, "--signal", "reopened", "--value", "false")
    assert "state: in_review (scheduled confirm, reason conditions_met)" in met.output
    assert "last_check: met" in met.output
    named = run(database, *base, "--signal", "note", "--value", "not json")
    assert 'note="not json"' in named.output
    duplicate = run(database, *base, "--signal", "resolved", "--customer", "acme", "--id", "s1")
    assert "duplicate: ticket_resolved / t-1" in duplicate.output
    with connect(database).read() as tx:
        signals = tx.one("SELECT COUNT(*) FROM signals")
    assert signals == (4,)  # the duplicate stored nothing


def test_a_rejected_signal_exits_1_with_code_and_field(database: str, tmp_path: Path) -> None:
    run(database, "contracts", "apply", str(write(tmp_path / "ticket.yaml", TICKET)))
    base = ["signal", "--contract", "ticket_resolved", "--outcome", "t-1", "--signal", "resolved"]
    refused = run(database, *base)
    assert refused.exit_code == 1
    assert "customer_required" in refused.output
    assert "(field: customer)" in refused.output
    unknown = run(database, "signal", "--contract", "nope", "--outcome", "x", "--signal", "a")
    assert "unknown_contract" in unknown.output
    assert "(field: contract)" in unknown.output
    bad_data = run(database, *base, "--customer", "acme", "--data", "{oops")
    assert bad_data.exit_code == 1
    assert "(field: data)" in bad_data.output
    with connect(database).read() as tx:
        assert tx.one("SELECT COUNT(*) FROM outcomes") == (0,)


def test_database_from_the_environment(tmp_path: Path) -> None:
    url = str(tmp_path / "env.db")
    result = CliRunner().invoke(
        main, ["keys", "create", "--scope", "read"], env={"EARNEST_DATABASE_URL": url}
    )
    assert result.exit_code == 0
    assert Path(url).exists()


def test_the_group_takes_database_too(tmp_path: Path) -> None:
    url = str(tmp_path / "group.db")
    created = CliRunner().invoke(main, ["--database", url, "keys", "create", "--scope", "read"])
    assert created.exit_code == 0, created.output
    listed = CliRunner().invoke(main, ["--database", url, "keys", "list"])
    assert listed.exit_code == 0, listed.output
    assert "read" in listed.output
    assert not (tmp_path / "earnest.db").exists()


@pytest.mark.parametrize(
    "command",
    [
        ["audit", "verify"],
        ["replay", "--verify"],
        ["history", "landing", "o1"],
        ["contracts", "list"],
        ["contracts", "show", "landing"],
        ["keys", "list"],
    ],
)
def test_read_only_commands_refuse_a_missing_database(tmp_path: Path, command: list[str]) -> None:
    missing = tmp_path / "typo.db"
    result = CliRunner().invoke(main, [*command, "--database", str(missing)])
    assert result.exit_code == 1
    assert f"no Earnest database at {missing}" in result.output
    assert not missing.exists()


def test_an_unusable_database_is_named_without_its_password() -> None:
    url = "postgresql://earnest:s3cret@127.0.0.1:1/none?connect_timeout=2"
    result = CliRunner().invoke(main, ["contracts", "list", "--database", url])
    assert result.exit_code == 1
    assert "cannot open database postgresql://earnest:***@127.0.0.1:1/none" in result.output
    assert "s3cret" not in result.output


# earnest worker as a real process ---------------------------------------------------------


def start_worker(database: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "earnest.cli", "worker", "--database", database],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    assert process.stderr is not None
    first = process.stdout.readline()  # printed once the database is migrated
    assert "earnest worker: scheduler running on" in first, first + process.stderr.read()
    return process


def stop_worker(process: subprocess.Popen[str]) -> tuple[str, float]:
    began = time.monotonic()
    process.send_signal(signal.SIGTERM)
    out, _ = process.communicate(timeout=10)
    return out, time.monotonic() - began


def test_worker_stops_cleanly_on_sigterm(database: str) -> None:
    process = start_worker(database)
    try:
        time.sleep(0.3)
        out, took_s = stop_worker(process)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0
    assert "earnest worker: stopped" in out
    assert took_s < 3


def test_worker_settles_on_start_what_fell_due_while_down(database: str, tmp_path: Path) -> None:
    quick = TICKET.replace("48h", "1s").replace("24h", "0s")
    run(database, "contracts", "apply", str(write(tmp_path / "quick.yaml", quick)))
    opened = datetime.now(UTC) - timedelta(hours=1)  # due 59 minutes ago, no worker running
    db = connect(database)
    [result] = ingest(
        db,
        [{"contract": "ticket_resolved", "outcome": "t-9", "signal": "x", "customer": "acme"}],
        opened,
    )
    assert result.status == "accepted"
    process = start_worker(database)
    try:
        deadline = time.monotonic() + 5
        row: tuple[object, ...] | None = None
        while time.monotonic() < deadline:
            with db.read() as tx:
                row = tx.one("SELECT state, settled_at FROM outcomes WHERE ref = 't-9'")
            if row is not None and row[0] == "confirmed":
                break
            time.sleep(0.05)
        _, took_s = stop_worker(process)
    finally:
        if process.poll() is None:
            process.kill()
        db.close()
    assert row is not None
    assert row[0] == "confirmed"
    assert from_us(int(str(row[1]))) == opened + timedelta(seconds=1)  # its own deadline
    assert process.returncode == 0
    assert took_s < 3
