"""``earnest invoices``, ``earnest disputes`` and ``earnest settings`` (SPEC section 9).

Each command calls one use case and prints its answer: a table for people, ``--json`` for
programs (the API's shapes, from :mod:`earnest.service.views`). Bad input (an unknown id, a
bad period, amount, status or setting) is the service's refusal, printed by the group as
``error: <code>: <message>`` with exit status 1, and stores nothing. Commands that only read,
and those that act on what must already exist (disputes), never create a database.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import click
from rich import box
from rich.console import Console
from rich.table import Table

from earnest.app import Earnest
from earnest.cli.base import fail, with_app
from earnest.errors import Invalid
from earnest.service.activity import CLI
from earnest.service.invoices import Invoice
from earnest.service.pages import MAX_LIMIT, every
from earnest.service.views import dispute_json, invoice_summary_json, settings_json
from earnest.timefmt import format_time

__all__ = ["disputes", "invoices", "settings"]

#: What ``settings set NAME VALUE`` reads as "no value": the optional setting's default.
CLEARS = ("", "null")


def _plain(value: Any) -> Any:
    """``json.dumps``'s fallback: times as RFC 3339, decimals as exact text."""
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    raise TypeError(f"{type(value).__name__} is not JSON")


def print_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=_plain))


def _console() -> Console:
    return Console(highlight=False, soft_wrap=False)


def _table() -> Table:
    """A rule under the head, no side borders."""
    return Table(box=box.SIMPLE_HEAD, pad_edge=False)


def _print_table(table: Table) -> None:
    """Print ``table`` whole: as wide as its widest row needs, even past the terminal's
    width (an id cut short or folded cannot be copied)."""
    console = _console()
    needed = console.measure(table, options=console.options.update_width(10_000)).maximum
    if needed > console.width:
        console = Console(highlight=False, width=needed)
    console.print(table)


def _day(moment: datetime) -> str:
    return moment.date().isoformat()


def _write_output(output: Path | None, data: bytes, what: str) -> None:
    """``data`` to the file ``output`` (a note on stderr), or to stdout (none or ``-``)."""
    if output is None or str(output) == "-":
        click.echo(data, nl=False)  # bytes go to the binary stream as they are
        return
    try:
        output.write_bytes(data)
    except OSError as error:
        fail(f"cannot write {output}: {error.strerror or error}")
    click.echo(f"wrote {output}: {what}", err=True)


# Invoices -------------------------------------------------------------------------------


@click.group()
def invoices() -> None:
    """Invoices: drafts while their period runs, then finalized and numbered."""


def _title(invoice: Invoice) -> str:
    kind = "Credit note" if invoice.total < 0 else "Invoice"
    return f"{kind} {invoice.row.number}" if invoice.row.number else f"Draft {kind.lower()}"


@invoices.command("list")
@click.option("--customer", help="Only this customer's invoices.")
@click.option(
    "--period", metavar="YYYY-MM-DD", help="For each customer, its period containing this day."
)
@click.option("--status", metavar="draft|finalized", help="Only drafts or finalized invoices.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list (the API's items).")
@with_app(creates=False)
def invoices_list(
    app: Earnest, customer: str | None, period: str | None, status: str | None, as_json: bool
) -> None:
    """List invoices, newest first, drafts included, with their totals (--json: subtotal and
    credits too)."""
    rows = every(
        lambda after: app.invoices.list(
            customer=customer, status=status, period=period, limit=MAX_LIMIT, after=after
        )
    )
    documents = [invoice_summary_json(row) for row in rows]
    if as_json:
        print_json(documents)
        return
    if not documents:
        click.echo("no invoices")
        return
    table = _table()
    table.add_column("number", no_wrap=True)
    table.add_column("customer", no_wrap=True)
    table.add_column("from", no_wrap=True)
    table.add_column("to", no_wrap=True)
    table.add_column("total", justify="right", no_wrap=True)
    table.add_column("id", no_wrap=True)
    for row, document in zip(rows, documents, strict=True):
        table.add_row(
            row.number or "draft",
            row.customer,
            _day(row.period.start),
            _day(row.period.end),
            f"{document['total']} {row.currency}",
            row.id,
        )
    _print_table(table)


@invoices.command("show")
@click.argument("ident", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="Print the invoice object (SPEC 8).")
@with_app(creates=False)
def invoices_show(app: Earnest, ident: str, as_json: bool) -> None:
    """Show invoice ID with its lines and totals."""
    invoice = app.invoices.get(ident)
    document = invoice.document()
    if as_json:
        print_json(document)
        return
    row = invoice.row
    console = _console()
    console.print(_title(invoice), style="bold", markup=False)
    details = [
        ("id", row.id),
        ("status", row.status),
        ("customer", row.customer),
        ("period", f"{format_time(row.period.start)} → {format_time(row.period.end)}"),
        ("currency", row.currency),
        ("finalized", document["finalized_at"] or "- (a draft: the period is open)"),
    ]
    for name, value in details:
        console.print(f"{name}: {value}", markup=False)
    table = _table()
    for column in ("line", "contract", "quantity", "unit price", "amount"):
        table.add_column(
            column, justify="right" if column in ("quantity", "amount") else "left", no_wrap=True
        )
    table.add_column("reason", max_width=50)
    for line in document["lines"]:
        if line["kind"] == "charge":
            table.add_row(
                line["description"], line["contract"], str(line["quantity"]),
                line["unit_price"], line["amount"], "",
            )  # fmt: skip
        else:
            table.add_row(
                f"credit {line['outcome']}", line["contract"], "", "", line["amount"],
                line["reason"] or "",
            )  # fmt: skip
    if document["lines"]:
        _print_table(table)
    else:
        console.print("no lines", markup=False)
    console.print(f"subtotal: {document['subtotal']}", markup=False)
    console.print(f"credits:  {document['credits']}", markup=False)
    console.print(f"total:    {document['total']} {row.currency}", style="bold", markup=False)


@invoices.command("pdf")
@click.argument("ident", metavar="ID")
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
    help="The PDF file to write ('-': standard output).",
)  # fmt: skip
@with_app(creates=False)
def invoices_pdf(app: Earnest, ident: str, output: Path) -> None:
    """Write invoice ID as the PDF sent to the customer (a credit note if its total is
    negative), with the seller's details from the settings."""
    from earnest.service.documents import invoice_pdf  # noqa: PLC0415  (WeasyPrint is heavy)

    invoice = app.invoices.get(ident)
    customer = app.customers.get(invoice.row.customer)
    settings = app.settings.get()
    pdf = invoice_pdf(invoice, customer, settings, settings.public_base_url)
    _write_output(output, pdf, f"{_title(invoice)}, {len(pdf):,} bytes")


@invoices.command("export")
@click.option(
    "--period", required=True, metavar="YYYY-MM-DD",
    help="For each customer, its period containing this day.",
)  # fmt: skip
@click.option(
    "--format", "file_format", type=click.Choice(["csv", "json"]), default="csv",
    show_default=True, help="csv: every line, led by its invoice; json: every invoice object.",
)  # fmt: skip
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
    help="The file to write (default: standard output).",
)  # fmt: skip
@with_app(creates=False)
def invoices_export(app: Earnest, period: str, file_format: str, output: Path | None) -> None:
    """Export every invoice of a period, in numbering order (period end, customer, currency),
    drafts included."""
    from earnest.service.documents import invoices_csv  # noqa: PLC0415

    rows = every(lambda after: app.invoices.list(period=period, limit=MAX_LIMIT, after=after))
    rows.sort(key=lambda r: (r.period.end, r.customer.encode(), r.currency))
    found = [app.invoices.get(row.id) for row in rows]
    if file_format == "json":
        text = json.dumps([i.document() for i in found], ensure_ascii=False, indent=2) + "\n"
    else:
        text = invoices_csv(found)
    _write_output(output, text.encode(), f"{len(found)} invoices")


# Disputes -------------------------------------------------------------------------------


@click.group()
def disputes() -> None:
    """Disputes of confirmed outcomes' charges: open, resolve, list."""


def _credit_text(dispute: Any) -> str:
    found = dispute_json(dispute)["credit"]
    return "-" if found is None else f"{found['amount']} {found['currency']}"


@disputes.command("open")
@click.argument("contract")
@click.argument("outcome")
@click.option("--reason", required=True, help="Why the charge is disputed.")
@with_app(creates=False)
def disputes_open(app: Earnest, contract: str, outcome: str, reason: str) -> None:
    """Dispute the charge of the confirmed OUTCOME of CONTRACT: it is contested until the
    dispute is resolved."""
    answer = app.disputes.open(contract, outcome, reason, actor=CLI)
    dispute = answer.dispute
    click.echo(f"opened dispute {dispute.id} on {contract} {outcome}: {dispute.reason}")


@disputes.command("resolve")
@click.argument("contract")
@click.argument("outcome")
@click.option("--reject", is_flag=True, help="The charge stands.")
@click.option(
    "--credit", "credit", is_flag=False, flag_value="", default=None, metavar="[AMOUNT]",
    help="Credit AMOUNT (default: all that is still creditable) into the current period.",
)  # fmt: skip
@click.option("--note", required=True, help="The resolution; a credit's reason on the invoice.")
@with_app(creates=False)
def disputes_resolve(
    *, app: Earnest, contract: str, outcome: str, reject: bool, credit: str | None, note: str
) -> None:
    """Resolve the open dispute of OUTCOME of CONTRACT: --reject, or --credit [AMOUNT]."""
    if reject == (credit is not None):
        raise Invalid("resolve with --reject or with --credit [AMOUNT], one of the two",
                      field="resolution")  # fmt: skip
    resolution = "reject" if reject else "credit"
    amount = credit or None  # --credit alone: all that is still creditable
    answer = app.disputes.resolve(contract, outcome, resolution, note, amount=amount, actor=CLI)
    dispute = answer.dispute
    if dispute.resolution == "credit":
        what = f"credited {_credit_text(dispute)}"
    else:
        what = "rejected: the charge stands"
    click.echo(f"resolved dispute {dispute.id} on {contract} {outcome}: {what}")


@disputes.command("list")
@click.option("--state", metavar="open|resolved", help="Only open or resolved disputes.")
@click.option("--customer", help="Only this customer's disputes.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list (the API's items).")
@with_app(creates=False)
def disputes_list(app: Earnest, state: str | None, customer: str | None, as_json: bool) -> None:
    """List disputes, newest first."""
    found = every(
        lambda after: app.disputes.list(
            state=state, customer=customer, limit=MAX_LIMIT, after=after
        )
    )
    if as_json:
        print_json([dispute_json(d) for d in found])
        return
    if not found:
        click.echo("no disputes")
        return
    table = _table()
    for column in ("id", "contract", "outcome", "customer", "state", "opened", "credit"):
        table.add_column(column, no_wrap=True)
    table.add_column("reason; resolution", max_width=50)
    for d in found:
        text = d.reason
        if d.resolution is not None:
            text += f"; {d.resolution}" + (f": {d.note}" if d.note else "")
        table.add_row(
            str(d.id), d.contract, d.outcome, d.customer, d.state,
            f"{_day(d.opened_at)} {d.opened_by}", _credit_text(d), text,
        )  # fmt: skip
    _print_table(table)


# Settings -------------------------------------------------------------------------------


@click.group()
def settings() -> None:
    """Seller details, invoice prefix, grace before finalization, public base URL."""


_UNSET: dict[str, str] = {
    "public_base_url": "(not set: the address serve listens on)",
}


@settings.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print the settings as JSON.")
@with_app(creates=False)
def settings_show(app: Earnest, as_json: bool) -> None:
    """Show every setting."""
    values = settings_json(app.settings.get())
    if as_json:
        print_json(values)
        return
    for name, value in values.items():
        shown = _UNSET.get(name, "(not set)") if value is None else value
        click.echo(f"{name}: {_one_line(str(shown))}")


def _one_line(text: str) -> str:
    """A multi-line value (an address) on one line, its lines separated by ' / '."""
    return " / ".join(part.strip() for part in text.splitlines()) if "\n" in text else text


@settings.command("set")
@click.argument("name")
@click.argument("value")
@with_app()
def settings_set(app: Earnest, name: str, value: str) -> None:
    """Set NAME to VALUE; VALUE "" or null clears an optional setting (its default).

    The settings: seller_name, seller_address, seller_tax_id, invoice_prefix (EARN),
    invoice_grace (a duration, 5m), public_base_url. A change is in the activity log."""
    after = app.settings.put({name: None if value in CLEARS else value}, actor=CLI)
    shown = getattr(after, name)
    click.echo(f"{name}: {_UNSET.get(name, '(not set)') if shown is None else _one_line(shown)}")
