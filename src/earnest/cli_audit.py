"""The read-only audit commands: ``history``, ``audit verify`` and ``replay --verify``.

Registered on the ``earnest`` group by :func:`register`. None of them writes anything but the
schema (``migrate`` is safe to repeat), and each exits 1 when what it checks is not so.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from earnest.service.audit import verify_chain
from earnest.service.history import UnknownOutcome, outcome_history, render_timeline
from earnest.service.replay import replay_verify
from earnest.store.db import DEFAULT_URL, Database, redact

F = TypeVar("F", bound=Callable[..., Any])


def database_option(function: F) -> F:
    option = click.option(
        "--database",
        "database_url",
        envvar="EARNEST_DATABASE_URL",
        default=DEFAULT_URL,
        show_default=True,
        help="postgresql://… or a SQLite file path (env EARNEST_DATABASE_URL).",
    )
    return option(function)


def open_database(url: str) -> Database:
    try:
        db = Database(url)
        db.migrate()
    except Exception as error:  # any driver error: say which database, never the password
        raise click.ClickException(f"cannot open database {redact(url)}: {error}") from error
    return db


def register(main: click.Group) -> None:
    main.add_command(history)
    main.add_command(audit)
    main.add_command(replay)


@click.command()
@click.argument("contract")
@click.argument("outcome")
@database_option
def history(contract: str, outcome: str, database_url: str) -> None:
    """Print the history of OUTCOME under CONTRACT as a readable timeline."""
    db = open_database(database_url)
    try:
        entries = outcome_history(db, contract, outcome)
    except UnknownOutcome as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)
    finally:
        db.close()
    click.echo(render_timeline(entries))


@click.group()
def audit() -> None:
    """Prove the history intact."""


@audit.command("verify")
@database_option
def audit_verify(database_url: str) -> None:
    """Check the history hash chain; exit 1 naming the first bad entry."""
    db = open_database(database_url)
    try:
        report = verify_chain(db)
    finally:
        db.close()
    if not report.ok:
        click.echo(report.describe(), err=True)
        sys.exit(1)
    click.echo(report.describe())


@click.command()
@click.option(
    "--verify", is_flag=True, help="Compare the rebuilt outcomes and ledger with the store."
)
@database_option
def replay(verify: bool, database_url: str) -> None:
    """Rebuild every outcome and its ledger rows from the recorded history."""
    if not verify:
        raise click.UsageError("replay only verifies (it never writes): pass --verify")
    db = open_database(database_url)
    try:
        report = replay_verify(db)
    finally:
        db.close()
    for difference in report.differences:
        click.echo(difference.describe())
    hidden = report.total_differences - len(report.differences)
    if hidden:
        click.echo(f"… and {hidden} more differences")
    click.echo(report.describe())
    if not report.ok:
        sys.exit(1)
