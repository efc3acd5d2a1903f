"""The read-only audit commands: ``history``, ``audit verify`` and ``replay --verify``.

None of them writes anything but the
schema (``migrate`` is safe to repeat), and each exits 1 when what it checks is not so.
"""

from __future__ import annotations

import sys

import click

from earnest.cli.base import fail, main, with_database
from earnest.service.audit import verify_chain
from earnest.service.history import UnknownOutcome, outcome_history, render_timeline
from earnest.service.replay import replay_verify
from earnest.store.db import Database


@main.command()
@click.argument("contract")
@click.argument("outcome")
@with_database
def history(db: Database, contract: str, outcome: str) -> None:
    """Print the history of OUTCOME under CONTRACT as a readable timeline."""
    try:
        entries = outcome_history(db, contract, outcome)
    except UnknownOutcome as error:
        fail(str(error))
    click.echo(render_timeline(entries))


@main.group()
def audit() -> None:
    """Prove the history intact."""


@audit.command("verify")
@with_database
def audit_verify(db: Database) -> None:
    """Check the history hash chain; exit 1 naming the first bad entry."""
    report = verify_chain(db)
    if not report.ok:
        click.echo(report.describe(), err=True)
        sys.exit(1)
    click.echo(report.describe())


@main.command()
@click.option(
    "--verify", is_flag=True, help="Compare the rebuilt outcomes and ledger with the store."
)
@with_database
def replay(db: Database, verify: bool) -> None:
    """Rebuild every outcome and its ledger rows from the recorded history."""
    if not verify:
        raise click.UsageError("replay only verifies (it never writes): pass --verify")
    report = replay_verify(db)
    for difference in report.differences:
        click.echo(difference.describe())
    hidden = report.total_differences - len(report.differences)
    if hidden:
        click.echo(f"… and {hidden} more differences")
    click.echo(report.describe())
    if not report.ok:
        sys.exit(1)
