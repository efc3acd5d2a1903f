"""The ``earnest`` command."""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, NoReturn

import click
from rich.console import Console
from rich.table import Table

from earnest import __version__
from earnest.cli_audit import register as register_audit_commands
from earnest.contract import ContractError, contract_to_dict, format_duration
from earnest.contract.condition import Value
from earnest.contract.money import format_amount
from earnest.engine import Outcome
from earnest.files import load_contract_file
from earnest.service.ingest import ingest
from earnest.service.process import run_process
from earnest.signals import InvalidSignal, validate_signal
from earnest.simulate import Simulation, how_decided
from earnest.store.contracts import (
    StoredContract,
    UnknownContract,
    archive_contract,
    contract_version,
    latest_contract,
    list_contracts,
    save_contract,
)
from earnest.store.db import Database, redact
from earnest.timefmt import format_time

DATABASE_ENV = "EARNEST_DATABASE_URL"
DEFAULT_DATABASE = "./earnest.db"


def _refuse_constant(text: str) -> NoReturn:
    raise ValueError(f"{text} is not a number")


def parse_json(text: str) -> Any:
    """JSON with every number as an exact Decimal, never a float."""
    return json.loads(text, parse_float=Decimal, parse_int=Decimal, parse_constant=_refuse_constant)


def with_database(command: Callable[..., None]) -> Callable[..., None]:
    """Add ``--database URL`` (or ``$EARNEST_DATABASE_URL``); pass the command a migrated
    :class:`Database` as ``db``. Messages never show the URL's password."""

    @click.option(
        "--database",
        "database_url",
        envvar=DATABASE_ENV,
        default=DEFAULT_DATABASE,
        show_default=True,
        metavar="URL",
        help=f"A SQLite file path or postgresql://… URL (env {DATABASE_ENV}).",
    )
    @functools.wraps(command)
    def with_db(database_url: str, **kwargs: Any) -> None:
        db = open_database(database_url)
        try:
            command(db=db, **kwargs)
        finally:
            db.close()

    return with_db


def open_database(url: str) -> Database:
    """The database at ``url``, migrated to the latest schema; exit 1 with a clear message."""
    try:
        db = Database(url)
        db.migrate()
    except Exception as error:  # any driver's connection error: say which database, briefly
        reason = _scrub(str(error).strip().splitlines()[0] if str(error).strip() else "", url)
        click.echo(f"earnest: cannot open database {redact(url)}: {reason}", err=True)
        sys.exit(1)
    return db


def _scrub(text: str, url: str) -> str:
    """``text`` without the password of ``url``, should a driver's message repeat it."""
    redacted = redact(url)
    if redacted == url:
        return text.replace(url, redacted)
    password = url.split("://", 1)[1].split("@", 1)[0].partition(":")[2]
    text = text.replace(url, redacted)
    return text.replace(password, "***") if password else text


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="earnest")
def main() -> None:
    """Earnest: outcome-based billing. Contracts in, signals in, exact bills out."""


@main.command()
@click.argument("contract_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("signals_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of a table.")
def simulate(contract_file: Path, signals_file: Path, as_json: bool) -> None:
    """Run SIGNALS_FILE (JSON Lines) through CONTRACT_FILE in virtual time.

    Each signal is received at its `at` (the clock never runs backwards); every deadline fires
    at its own time, until every outcome has settled. Invalid lines are reported on stderr with
    their line number and skipped; the exit status is then 2.
    """
    try:
        contract = load_contract_file(contract_file)
    except ContractError as error:
        click.echo(f"{contract_file}: invalid contract\n{error}", err=True)
        sys.exit(2)
    simulation = Simulation(contract)
    bad_lines = 0
    with signals_file.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                raw = parse_json(line)
                signal = validate_signal(raw, require_at=True, default_contract=contract.key)
                simulation.feed(signal)
            except InvalidSignal as error:
                bad_lines += 1
                click.echo(f"{signals_file}:{number}: {error}", err=True)
            except ValueError as error:
                bad_lines += 1
                click.echo(f"{signals_file}:{number}: invalid JSON: {error}", err=True)
    simulation.finish()
    if as_json:
        click.echo(json.dumps(simulation.report(), ensure_ascii=False))
    else:
        _print_simulation(simulation)
    if bad_lines:
        sys.exit(2)


@main.group()
def contracts() -> None:
    """Manage contracts from YAML or JSON files."""


@contracts.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
def contracts_validate(files: tuple[Path, ...]) -> None:
    """Validate contract FILES without saving them. Exit status 1 if any is invalid."""
    console = Console(highlight=False)
    failed = 0
    for path in files:
        try:
            contract = load_contract_file(path)
        except ContractError as error:
            failed += 1
            console.print(f"[red]✗[/red] {path}", markup=True)
            for problem in error.errors:
                console.print("  " + str(problem).replace("\n", "\n  "), markup=False)
            continue
        console.print(
            f"[green]✓[/green] {path}: {contract.key}, {contract.price.amount} "
            f"{contract.price.currency}",
            markup=True,
        )
    if failed:
        sys.exit(1)


@contracts.command("apply")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@with_database
def contracts_apply(db: Database, files: tuple[Path, ...]) -> None:
    """Validate and save contract FILES: a changed contract becomes a new version.

    An invalid file is reported with its errors and saves nothing; the others are still
    saved. Exit status 1 if any file is invalid.
    """
    console = Console(highlight=False, soft_wrap=True)  # paths and carets never wrap
    failed = 0
    for path in files:
        try:
            contract = load_contract_file(path)
        except ContractError as error:
            failed += 1
            console.print(f"[red]✗[/red] {path}: invalid, nothing saved", markup=True)
            for problem in error.errors:
                console.print("  " + str(problem).replace("\n", "\n  "), markup=False)
            continue
        with db.write() as tx:
            stored, created = save_contract(tx, contract, datetime.now(UTC))
        what = (
            f"created version {stored.version}"
            if created
            else f"unchanged (version {stored.version})"
        )
        console.print(f"[green]✓[/green] {path}: {contract.key} {what}", markup=True)
    if failed:
        sys.exit(1)


@contracts.command("list")
@with_database
def contracts_list(db: Database) -> None:
    """List every contract at its latest version."""
    with db.read() as tx:
        stored = list_contracts(tx)
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
@with_database
def contracts_show(db: Database, key: str, version: int | None, as_json: bool) -> None:
    """Show contract KEY (its latest version, or --version N)."""
    try:
        with db.read() as tx:
            stored = (
                latest_contract(tx, key) if version is None else contract_version(tx, key, version)
            )
    except UnknownContract as error:
        _fail(str(error))
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


@contracts.command("archive")
@click.argument("key")
@with_database
def contracts_archive(db: Database, key: str) -> None:
    """Archive contract KEY: it opens no new outcomes; open ones run to their end."""
    try:
        with db.write() as tx:
            stored = archive_contract(tx, key)
    except UnknownContract as error:
        _fail(str(error))
    click.echo(f"{key}: archived (latest version {stored.version})")


@main.command("signal")
@click.option("--contract", required=True, help="The contract key.")
@click.option("--outcome", required=True, help="The vendor's reference for the unit of work.")
@click.option("--signal", "name", required=True, help="The signal name.")
@click.option("--value", help="JSON (true, false, null, a number) or else a string. Default true.")
@click.option("--customer", help="Required when the signal opens the outcome.")
@click.option("--at", help="When it happened, RFC 3339 (default: now).")
@click.option("--id", "ident", help="Idempotency key.")
@click.option("--data", help="A JSON object kept for the audit trail.")
@with_database
def signal_command(  # click passes every option by name
    *,
    db: Database,
    contract: str,
    outcome: str,
    name: str,
    value: str | None,
    customer: str | None,
    at: str | None,
    ident: str | None,
    data: str | None,
) -> None:
    """Send one signal, received now, and print the outcome's state afterwards."""
    raw: dict[str, Any] = {"contract": contract, "outcome": outcome, "signal": name}
    if value is not None:
        raw["value"] = _value_option(value)
    optional = {"customer": customer, "at": at, "id": ident}
    raw.update({field: given for field, given in optional.items() if given is not None})
    if data is not None:
        try:
            raw["data"] = parse_json(data)
        except ValueError as error:
            _fail(f"invalid_signal: --data is not JSON: {error} (field: data)")
    [result] = ingest(db, [raw], datetime.now(UTC))
    if result.status == "rejected":
        assert result.error is not None
        problem = result.error
        where = f" (field: {problem.field})" if problem.field else ""
        _fail(f"{problem.code}: {problem.message}{where}")
    click.echo(f"{result.status}: {contract} / {outcome}")
    if result.outcome is not None:
        _print_outcome(result.outcome)


def _value_option(text: str) -> Any:
    """``--value``: JSON when it parses (numbers as Decimal), else the text as a string."""
    try:
        return parse_json(text)
    except ValueError:
        return text


def _contract_document(stored: StoredContract) -> dict[str, Any]:
    """A contract as the API returns it: its fields plus key, version, fingerprint, archived,
    created_at (SPEC section 8)."""
    return {
        **contract_to_dict(stored.contract),
        "version": stored.version,
        "fingerprint": stored.fingerprint,
        "archived": stored.archived,
        "created_at": format_time(stored.created_at),
    }


def _print_outcome(outcome: Outcome) -> None:
    state = outcome.state.value
    if outcome.scheduled is not None:
        state += f" (scheduled {outcome.scheduled.value}"
        reason = outcome.review_reason.value if outcome.review_reason else "none"
        state += f", reason {reason})"
    lines = {
        "customer": outcome.customer,
        "state": state,
        "contract_version": str(outcome.contract_version),
        "opened_at": format_time(outcome.opened_at),
        "active_until": format_time(outcome.active_until),
        "review_ends_at": _time_or_none(outcome.review_ends_at),
        "settled_at": _time_or_none(outcome.settled_at),
        "values": ", ".join(f"{k}={_show_value(v)}" for k, v in outcome.values.items()) or "-",
        "last_check": outcome.last_verdict.value if outcome.last_verdict else "-",
    }
    if outcome.charged is not None:
        currency = outcome.contract.price.currency
        lines["charge"] = f"{format_amount(outcome.charged, currency)} {currency}"
    if outcome.contested:
        lines["contested"] = "true"
    for label, text in lines.items():
        click.echo(f"  {label}: {text}")


def _time_or_none(moment: datetime | None) -> str:
    return "-" if moment is None else format_time(moment)


def _show_value(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


@main.command()
@with_database
def worker(db: Database) -> None:
    """Run the scheduler (no HTTP) until SIGTERM or Ctrl-C: for extra processes on PostgreSQL."""
    _log_to_stderr()
    click.echo(f"earnest worker: scheduler running on {redact(db.url)}; SIGTERM or Ctrl-C stops it")
    run_process(db)
    click.echo("earnest worker: stopped")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface for the HTTP API.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@with_database
def serve(db: Database, host: str, port: int) -> None:
    """Run the API, dashboard and scheduler in one process until SIGTERM or Ctrl-C."""
    _log_to_stderr()
    click.echo(
        f"earnest serve: scheduler running on {redact(db.url)}; the HTTP API is not yet"
        f" available (it will listen on http://{host}:{port}); SIGTERM or Ctrl-C stops it"
    )
    run_process(db)
    click.echo("earnest serve: stopped")


def _log_to_stderr() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def _print_simulation(simulation: Simulation) -> None:
    console = Console()
    contract = simulation.contract
    table = Table(title=f"{contract.key}: {len(simulation.outcomes)} outcomes")
    for column in ("outcome", "customer", "state", "how it was decided", "charge"):
        table.add_column(column)
    for tracked in simulation.outcomes.values():
        o = tracked.outcome
        charge = "-"
        if o.charged is not None and o.state.value == "confirmed":
            currency = contract.price.currency
            charge = f"{format_amount(o.charged, currency)} {currency}"
            if tracked.credited:
                charge += f" (credited {format_amount(tracked.credited, currency)})"
        table.add_row(o.ref, o.customer, o.state.value, how_decided(o), charge)
    console.print(table)
    for currency, amount in simulation.revenue().items():
        console.print(f"revenue: {format_amount(amount, currency)} {currency}")


register_audit_commands(main)  # history, audit verify, replay --verify


if __name__ == "__main__":
    main()
