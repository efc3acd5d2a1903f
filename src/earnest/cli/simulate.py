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


@click.command()
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
            except MalformedJson as error:  # its message starts "invalid JSON: "
                bad_lines += 1
                click.echo(f"{signals_file}:{number}: {error.message}", err=True)
            except EarnestError as error:  # the rules' refusals, as ingest's
                bad_lines += 1
                where = f"{error.field}: " if error.field else ""
                click.echo(f"{signals_file}:{number}: {where}{error.message}", err=True)
    simulation.finish()
    if as_json:
        click.echo(json.dumps(simulation.report(), ensure_ascii=False))
    else:
        _print_simulation(simulation)
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
