"""What a newcomer met at the command line: start-up that imports nothing heavy, one clear
line for a port in use (before any banner), and a warning for a misspelled signal."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from earnest.cli import main
from earnest.cli.base import COMMANDS
from earnest.errors import NotFound

HEAVY = ("alembic", "sqlalchemy", "psycopg", "litestar", "uvicorn", "httpx", "rich", "yaml")
TICKET = """\
key: ticket_resolved
conditions: resolved AND NOT reopened
price: $0.99
active_for: 48h
review_window: 24h
"""


def test_help_imports_no_driver_framework_or_migrations() -> None:
    script = (
        "import sys\n"
        "from earnest.cli import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert "Commands:" in result.stdout
    for name in ("serve", "worker", "demo", "contracts", "audit", "replay", "simulate"):
        assert f"  {name}" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_every_listed_command_loads() -> None:
    names = ("serve", "worker", "demo", "signal", "contracts", "keys", "history", "audit", "users")
    for name in names:
        result = CliRunner().invoke(main, [name, "--help"])
        assert result.exit_code == 0, (name, result.output)
        assert "Usage: " in result.output
    serve = CliRunner().invoke(main, ["serve", "--help"]).output
    assert "dashboard" in serve  # it exists now (tests/web)


def test_demo_on_a_port_in_use_is_one_line_before_any_banner(tmp_path: Path) -> None:
    running = tmp_path / "demo.db"
    running.write_text("the database of the demo already running there")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        command = [sys.executable, "-m", "earnest.cli", "demo", "--port", str(port)]
        command += ["--database", str(tmp_path / "demo.db")]
        result = subprocess.run(command, check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stdout == ""  # no URL, keys or curl commands for a server that never ran
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: cannot listen on 127.0.0.1:{port}: Address already in use"]
    assert running.read_text() == "the database of the demo already running there"


def test_a_signal_no_condition_reads_is_kept_with_a_warning(tmp_path: Path) -> None:
    database = str(tmp_path / "w.db")
    contract = tmp_path / "ticket_resolved.yaml"
    contract.write_text(TICKET, encoding="utf-8")
    runner = CliRunner()
    applied = runner.invoke(main, ["--database", database, "contracts", "apply", str(contract)])
    assert applied.exit_code == 0, applied.output
    common = ["--database", database, "signal", "--contract", "ticket_resolved"]
    typo = runner.invoke(main, [*common, "--outcome", "t1", "--customer", "acme", "--signal",
                                "resolvd"])  # fmt: skip
    assert typo.exit_code == 0, typo.output
    assert typo.stdout.startswith("accepted: ticket_resolved / t1")
    assert "warning: signal 'resolvd' appears in no condition" in typo.stderr
    right = runner.invoke(main, [*common, "--outcome", "t1", "--signal", "resolved"])
    assert right.exit_code == 0, right.output
    assert "warning" not in right.stderr


@click.command()
def boom() -> None:
    """A command whose use case refuses."""
    raise NotFound("no such thing", code="unknown_thing", field="thing")


def test_an_error_a_command_lets_through_is_one_line_and_exit_1(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(COMMANDS, "boom", ("tests.test_cli_start", "boom", "Refuse."))
    result = CliRunner().invoke(main, ["boom"])
    assert result.exit_code == 1
    assert result.stderr == "error: unknown_thing: no such thing (field: thing)\n"
