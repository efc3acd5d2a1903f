"""``earnest backtest``: what a proposed contract would have billed, against the database's
recorded history (SPEC sections 2 and 9)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from earnest.app import Earnest
from earnest.backtest import BacktestReport, Side
from earnest.cli.base import with_app
from earnest.cli.contracts import valid_files
from earnest.contract import Contract
from earnest.contract.diff import contract_changes
from earnest.contract.money import format_amount
from earnest.files import load_contract_file
from earnest.service.backtest import lower_priority, parse_bound
from earnest.timefmt import format_time


@click.command()
@click.argument("contract_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--key", help="The contract's key when the file names none (default: its name).")
@click.option(
    "--since",
    metavar="TIME",
    help="Outcomes opened from TIME (RFC 3339; default: 30 days before --until).",
)
@click.option(
    "--until", metavar="TIME", help="Outcomes opened before TIME (RFC 3339; default: now)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@with_app(creates=False)
def backtest(
    *,
    app: Earnest,
    contract_file: Path,
    key: str | None,
    since: str | None,
    until: str | None,
    as_json: bool,
) -> None:
    """Replay CONTRACT_FILE over the recorded history and show what it would change.

    Every outcome of the contract opened in [--since, --until) is replayed from its recorded
    signals, each received when it was, through the proposed contract, in virtual time up to
    now, and compared with what happened: state, review reason, charge. Outcomes settled by
    hand keep their decision; disputes and credits are reported, not re-run. Nothing is
    written. A file that does not validate gets the errors of `contracts validate` (exit 1).
    """
    start, end = parse_bound(since, "since"), parse_bound(until, "until")
    lower_priority()  # ingest first: this process takes the CPU that is left
    errors = Console(stderr=True, highlight=False)  # as `contracts validate` prints them
    found = valid_files(
        (contract_file,), errors, ": invalid, nothing run",
        lambda path: load_contract_file(path, key=key),
    )  # fmt: skip
    for _, contract in found:
        report = app.contracts.backtest(contract, since=start, until=end)
        if as_json:
            click.echo(json.dumps(report.json(), ensure_ascii=False))
            continue
        latest = app.contracts.latest(contract.key)  # it exists: the backtest found it
        _print(report, _heading(latest.version, latest.contract, contract))


def _heading(version: int, stored: Contract, proposed: Contract) -> list[str]:
    changes = contract_changes(stored, proposed)
    if not changes:
        return [f"the same content as version {version}"]
    return [f"changed from version {version}:", *(f"  {c.describe()}" for c in changes)]


def _print(report: BacktestReport, heading: list[str]) -> None:
    console = Console(highlight=False, soft_wrap=True)
    span = f"{_time(report.since)} → {_time(report.until)}"
    console.print(f"{report.contract}: proposed version {report.version}", markup=False)
    for line in heading:
        console.print(line, markup=False)
    if report.differences:
        table = Table(title=f"outcomes that would differ ({report.changed})", title_justify="left")
        for column in ("outcome", "customer", "change", "before", "after", "why (after)"):
            table.add_column(column)
        for d in report.differences:
            why = d.after.explanation or d.after.how
            table.add_row(d.ref, d.customer, d.change, _side(d.before), _side(d.after), why)
        console.print(table)
    if report.changed > len(report.differences):
        console.print(f"(the first {len(report.differences)} of {report.changed} listed)")
    for line in summary(report, span):
        console.print(line, markup=False)


def summary(report: BacktestReport, span: str) -> list[str]:
    """The short summary under the table."""
    lines = [
        f"{report.outcomes:,} outcomes opened {span}, as of {format_time(report.now)}:"
        f" {report.replayed:,} replayed ({report.signals:,} signals), {report.changed:,}"
        f" would change, {report.unchanged:,} would not; {report.still_open:,} still open",
    ]
    if report.changes:
        kinds = sorted(report.changes.items(), key=lambda item: (-item[1], item[0]))
        lines.append("changes: " + ", ".join(f"{kind} {count:,}" for kind, count in kinds))
    for currency, (before, after, difference) in report.revenue().items():
        sign = "+" if difference > 0 else ""
        lines.append(
            f"charged revenue {currency}: before {format_amount(before, currency)},"
            f" after {format_amount(after, currency)},"
            f" difference {sign}{format_amount(difference, currency)}"
        )
    if report.manual:
        lines.append(f"{report.manual:,} settled by hand: their decisions stand (not re-decided)")
    if report.credits or report.disputed:
        credits = ", ".join(f"{format_amount(a, c)} {c}" for c, a in report.credits.items())
        lines.append(
            f"credits as recorded (not re-run): {credits or 'none'} on {report.credited:,}"
            f" outcomes; {report.disputed:,} outcomes disputed"
        )
    return lines


def _side(side: Side) -> str:
    if side.charge is None:
        return side.state.value
    amount, currency = side.charge
    return f"{side.state.value} {format_amount(amount, currency)} {currency}"


def _time(moment: datetime | None) -> str:
    return "-" if moment is None else format_time(moment)
