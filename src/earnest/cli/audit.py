"""The read-only audit commands: ``history``, ``audit verify`` and ``replay --verify``.

None of them writes anything but the schema (``migrate`` is safe to repeat); each refuses a
database that does not exist rather than create it, and exits 1 when what it checks is not so.
"""

from __future__ import annotations

import sys

import click

from earnest.app import Earnest
from earnest.cli.base import fail, with_app
from earnest.rules import UnknownOutcome
from earnest.service.history import render_timeline


@click.command()
@click.argument("contract")
@click.argument("outcome")
@with_app(creates=False)
def history(app: Earnest, contract: str, outcome: str) -> None:
    """Print the history of OUTCOME under CONTRACT as a readable timeline."""
    try:
        entries = app.outcomes.history(contract, outcome)
    except UnknownOutcome as error:
        fail(str(error))
    click.echo(render_timeline(entries))


@click.group()
def audit() -> None:
    """Prove the history and the activity log intact."""


@audit.command("verify")
@with_app(creates=False)
def audit_verify(app: Earnest) -> None:
    """Check both hash chains (and the ledger against the history); exit 1 naming the
    first bad entry."""
    summary = app.audit.verify()
    for line in summary.lines():
        click.echo(line, err=not summary.ok)
    if not summary.ok:
        sys.exit(1)


@click.command()
@click.option(
    "--verify", is_flag=True, help="Compare the rebuilt outcomes and ledger with the store."
)
@with_app(creates=False)
def replay(app: Earnest, verify: bool) -> None:
    """Rebuild every outcome and its ledger rows from the recorded history."""
    if not verify:
        raise click.UsageError("replay only verifies (it never writes): pass --verify")
    report = app.audit.replay()
    for line in [
        *(d.describe() for d in report.differences),
        *(d.describe() for d in report.invoice_differences),
        *report.day_differences,
    ]:
        click.echo(line)
    hidden = report.total_differences - len(report.differences)
    if hidden:
        click.echo(f"… and {hidden} more differences")
    click.echo(report.describe())
    if not report.ok:
        sys.exit(1)
