"""``earnest simulate``: a contract and a signal file in virtual time."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from earnest.contract import ContractError
from earnest.contract.money import format_amount
from earnest.errors import EarnestError
from earnest.files import load_contract_file
from earnest.jsonio import MalformedJson, parse_json
from earnest.signals import validate_signal
from earnest.simulate import Simulation, how_decided
from earnest.timefmt import format_time


@click.command()
@click.argument("contract_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("signals_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of a table.")
@click.option(
    "--invoices", "with_invoices", is_flag=True, help="Also print the invoices the run made."
)
def simulate(contract_file: Path, signals_file: Path, as_json: bool, with_invoices: bool) -> None:
    """Run SIGNALS_FILE (JSON Lines) through CONTRACT_FILE in virtual time.

    Each signal is received at its `at` (the clock never runs backwards); every deadline fires
    at its own time, until every outcome has settled. Invalid lines are reported on stderr with
    their line number and skipped; the exit status is then 2.

    With --invoices: every customer has billing day 1 from its first signal; charges fall in
    the period of their settlement, credits in that of their booking; an invoice whose period
    ended (plus the default 5 minutes' grace) before the simulation's end (its last event) is
    finalized and numbered EARN-000001 on, in SPEC order; the others are drafts.
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
            except MalformedJson as error:  # its message starts "invalid JSON: "
                bad_lines += 1
                click.echo(f"{signals_file}:{number}: {error.message}", err=True)
            except EarnestError as error:  # the rules' refusals, as ingest's
                bad_lines += 1
                where = f"{error.field}: " if error.field else ""
                click.echo(f"{signals_file}:{number}: {where}{error.message}", err=True)
    simulation.finish()
    if as_json:
        click.echo(json.dumps(simulation.report(invoices=with_invoices), ensure_ascii=False))
    else:
        _print_simulation(simulation)
        if with_invoices:
            _print_invoices(simulation)
    if bad_lines:
        sys.exit(2)


def _print_simulation(simulation: Simulation) -> None:
    console = Console()
    contract = simulation.contract
    table = Table(title=f"{contract.key}: {len(simulation.outcomes)} outcomes")
    for column in ("outcome", "customer", "state", "how it was decided", "charge"):
        table.add_column(column)
    for o in simulation.outcomes.values():
        charge = "-"
        if o.charged is not None and o.state.value == "confirmed":
            currency = contract.price.currency
            charge = f"{format_amount(o.charged, currency)} {currency}"
            if o.credited:
                charge += f" (credited {format_amount(o.credited, currency)})"
        table.add_row(o.ref, o.customer, o.state.value, how_decided(o), charge)
    console.print(table)
    for currency, amount in simulation.revenue().items():
        console.print(f"revenue: {format_amount(amount, currency)} {currency}")


def _print_invoices(simulation: Simulation) -> None:
    console = Console(highlight=False)
    invoices = simulation.invoices()
    as_of = format_time(simulation.ended) if simulation.ended else "-"
    console.print(f"\n{len(invoices)} invoices as of {as_of}", markup=False)
    for invoice in invoices:
        document = invoice.document()
        currency = invoice.currency
        what = invoice.number or "draft"
        start, end = invoice.period.start.date(), invoice.period.end.date()
        title = f"{what}: {invoice.customer}, {start} → {end}, {currency}"
        if invoice.finalized_at is not None:
            title += f", finalized {document['finalized_at']}"
        table = Table(title=title, title_justify="left")
        for column in ("line", "quantity", "unit price", "amount"):
            table.add_column(column, justify="left" if column == "line" else "right")
        for line in document["lines"]:
            if line["kind"] == "charge":
                table.add_row(
                    line["description"], str(line["quantity"]), line["unit_price"], line["amount"]
                )
            else:
                reason = f" ({line['reason']})" if line["reason"] else ""
                table.add_row(f"credit {line['outcome']}{reason}", "", "", line["amount"])
        table.add_section()
        table.add_row("subtotal", "", "", document["subtotal"])
        table.add_row("credits", "", "", document["credits"])
        table.add_row("total", "", "", f"{document['total']} {currency}")
        console.print(table)
