"""``earnest contracts``: validate, apply, list, show and archive contracts."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from earnest.app import Earnest
from earnest.cli.base import fail, with_app
from earnest.contract import Contract, ContractError, format_duration
from earnest.contract.diff import contract_changes
from earnest.files import load_contract_file
from earnest.rules import UnknownContract
from earnest.service.activity import CLI
from earnest.service.contracts import StoredContract
from earnest.service.pages import MAX_LIMIT, every
from earnest.service.views import contract_json
from earnest.timefmt import format_time


@click.group()
def contracts() -> None:
    """Manage contracts from YAML or JSON files."""


def valid_files(
    files: tuple[Path, ...],
    console: Console,
    invalid: str,
    load: Callable[[Path], Contract] = load_contract_file,
) -> Iterator[tuple[Path, Contract]]:
    """Each file that validates, as ``(path, contract)``; each that does not is reported with
    its errors (field, line, column, caret) and skipped. Exit status 1 at the end if any was."""
    failed = 0
    for path in files:
        try:
            contract = load(path)
        except ContractError as error:
            failed += 1
            console.print(f"[red]✗[/red] {path}{invalid}", markup=True)
            for problem in error.errors:
                console.print("  " + str(problem).replace("\n", "\n  "), markup=False)
            continue
        yield path, contract
    if failed:
        sys.exit(1)


@contracts.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
def contracts_validate(files: tuple[Path, ...]) -> None:
    """Validate contract FILES without saving them. Exit status 1 if any is invalid."""
    console = Console(highlight=False)
    for path, contract in valid_files(files, console, ""):
        console.print(
            f"[green]✓[/green] {path}: {contract.key}, {contract.price.amount} "
            f"{contract.price.currency}",
            markup=True,
        )


@contracts.command("apply")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@with_app()
def contracts_apply(app: Earnest, files: tuple[Path, ...]) -> None:
    """Validate and save contract FILES: a changed contract becomes a new version.

    An invalid file is reported with its errors and saves nothing; the others are still
    saved. Exit status 1 if any file is invalid.
    """
    console = Console(highlight=False, soft_wrap=True)  # paths and carets never wrap
    for path, contract in valid_files(files, console, ": invalid, nothing saved"):
        stored, created = app.contracts.save(contract, actor=CLI)
        what = (
            f"created version {stored.version}"
            if created
            else f"unchanged (version {stored.version})"
        )
        console.print(f"[green]✓[/green] {path}: {contract.key} {what}", markup=True)


@contracts.command("list")
@with_app(creates=False)
def contracts_list(app: Earnest) -> None:
    """List every contract at its latest version."""
    stored = every(lambda after: app.contracts.list(limit=MAX_LIMIT, after=after))
    if not stored:
        click.echo("no contracts yet: add one with `earnest contracts apply FILE`")
        return
    table = Table()
    for column in ("key", "version", "price", "windows", "archived"):
        table.add_column(column)
    for entry in stored:
        contract = entry.contract
        windows = (
            f"active {format_duration(contract.active_for_s)},"
            f" review {format_duration(contract.review_window_s)}"
        )
        archived = "yes" if entry.archived else "no"
        table.add_row(contract.key, str(entry.version), str(contract.price), windows, archived)
    Console(highlight=False).print(table)


@contracts.command("show")
@click.argument("key")
@click.option(
    "--version", "version", type=click.IntRange(min=1), help="One version (default: latest)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the contract as JSON.")
@with_app(creates=False)
def contracts_show(app: Earnest, key: str, version: int | None, as_json: bool) -> None:
    """Show contract KEY (its latest version, or --version N)."""
    try:
        stored = (
            app.contracts.latest(key) if version is None else app.contracts.version(key, version)
        )
    except UnknownContract as error:
        fail(str(error))
    document = _contract_document(stored)
    if as_json:
        click.echo(json.dumps(document, ensure_ascii=False, indent=2))
        return
    for name, value in document.items():
        if isinstance(value, list):
            click.echo(f"{name}:")
            for item in value:
                click.echo(f"  - {item}")
        elif isinstance(value, dict):
            click.echo(f"{name}: {value['amount']} {value['currency']}")
        elif value is not None:
            click.echo(f"{name}: {str(value).lower() if isinstance(value, bool) else value}")


@contracts.command("diff")
@click.argument("key")
@click.argument("v1", type=click.IntRange(min=1))
@click.argument("v2", type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True, help="Print the differences as JSON.")
@with_app(creates=False)
def contracts_diff(app: Earnest, key: str, v1: int, v2: int, as_json: bool) -> None:
    """Show how contract KEY's version V2 differs from its version V1, field by field."""
    try:
        before, after = app.contracts.version(key, v1), app.contracts.version(key, v2)
    except UnknownContract as error:
        fail(str(error))
    changes = contract_changes(before.contract, after.contract)
    if as_json:
        document = {
            "key": key,
            "from": v1,
            "to": v2,
            "changes": [{"field": c.field, "before": c.before, "after": c.after} for c in changes],
        }
        click.echo(json.dumps(document, ensure_ascii=False, indent=2))
        return
    click.echo(f"{key}: version {v1} → version {v2}")
    for change in changes:
        click.echo(f"  {change.describe()}")
    if not changes:
        click.echo("  no difference")


@contracts.command("archive")
@click.argument("key")
@with_app()
def contracts_archive(app: Earnest, key: str) -> None:
    """Archive contract KEY: it opens no new outcomes; open ones run to their end."""
    try:
        stored = app.contracts.archive(key, actor=CLI)
    except UnknownContract as error:
        fail(str(error))
    click.echo(f"{key}: archived (latest version {stored.version})")


def _contract_document(stored: StoredContract) -> dict[str, Any]:
    """A contract exactly as the API returns it (SPEC section 8), times as RFC 3339 text."""
    return {**contract_json(stored), "created_at": format_time(stored.created_at)}
