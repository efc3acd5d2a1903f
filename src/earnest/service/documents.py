"""An invoice as documents (SPEC section 6, "Formats"): CSV lines and a PDF for the customer.

**CSV** (:func:`invoice_csv`, RFC 4180: ``\\r\\n`` line ends, a header row). One row per
invoice line, in the invoice object's order (charges, then credits), then three summary rows:

=============== =========================================================================
``kind``        ``charge`` | ``credit`` | ``subtotal`` | ``credits`` | ``total``
``amount``      signed, exact, as in the invoice object: a charge line's quantity × unit
                price, a credit line negative; ``subtotal`` the charges; ``credits`` the
                credits *negative* (so that subtotal + credits = total before rounding, and
                the column reads one way down); ``total`` rounded to the currency's minor unit
``currency``    on every row, so that rows copied out of the file keep their meaning
=============== =========================================================================

The other columns are those of the invoice object's lines (``description``, ``contract``,
``contract_version``, ``quantity``, ``unit_price`` for a charge; ``outcome``, ``reason`` for a
credit), empty where a line has none. Summing the ``charge`` rows gives ``subtotal`` and the
``credit`` rows ``-credits``, exactly. Text that a spreadsheet would run as a formula (a cell
starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return, in the description, outcome,
reason or customer columns) is prefixed with ``'`` (OWASP's advice for CSV injection): a
customer's dispute note must not become a formula on the vendor's accountant's machine.
:func:`invoices_csv` puts many invoices in one file: the same rows, each led by the invoice's
``invoice``, ``number``, ``status``, ``customer``, ``period_start`` and ``period_end``.

**PDF** (:func:`invoice_pdf`): rendered by WeasyPrint from the Jinja2 template
``earnest/templates/invoice.html`` (package data), with the seller's details from the settings
and the customer's; titled "Credit note" when the total is negative. Money is formatted by
babel for the currency (en_US), with the ISO 4217 minor unit's places at least (as the total is
rounded) and every place an exact amount has (a unit price of 0.000123 USD shows as such).
WeasyPrint is imported only when a PDF is made: it is slow to import and needs Pango.
"""

from __future__ import annotations

import copy
import csv
import io
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any

from earnest.billing import minor_units, money_text
from earnest.service.customers import Customer
from earnest.service.invoices import Invoice
from earnest.service.settings import SettingsValues
from earnest.timefmt import format_time

if TYPE_CHECKING:
    import jinja2

__all__ = [
    "EXPORT_COLUMNS",
    "INVOICE_COLUMNS",
    "LINE_COLUMNS",
    "format_money",
    "invoice_csv",
    "invoice_html",
    "invoice_pdf",
    "invoice_rows",
    "invoices_csv",
]

LOCALE = "en_US"
LINE_COLUMNS = (
    "kind", "description", "contract", "contract_version", "outcome", "quantity", "unit_price",
    "amount", "currency", "reason",
)  # fmt: skip
INVOICE_COLUMNS = ("invoice", "number", "status", "customer", "period_start", "period_end")
EXPORT_COLUMNS = INVOICE_COLUMNS + LINE_COLUMNS
#: Columns of free text, where a leading formula character is neutralised.
TEXT_COLUMNS = frozenset({"description", "outcome", "reason", "customer"})
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# CSV ------------------------------------------------------------------------------------


def _cell(column: str, value: Any) -> str:
    if value is None:
        return ""
    text = str(value)
    if column in TEXT_COLUMNS and text.startswith(_FORMULA_START):
        return "'" + text
    return text


def invoice_rows(invoice: Invoice) -> list[dict[str, str]]:
    """The CSV rows of one invoice (see the module's doc), as column → text."""
    document = invoice.document()
    currency = document["currency"]
    rows: list[dict[str, Any]] = [{**line, "currency": currency} for line in document["lines"]]
    rows += [
        {"kind": "subtotal", "amount": document["subtotal"], "currency": currency},
        {
            "kind": "credits",
            "amount": money_text(-invoice.credited, currency),
            "currency": currency,
        },
        {"kind": "total", "amount": document["total"], "currency": currency},
    ]
    return [{column: _cell(column, row.get(column)) for column in LINE_COLUMNS} for row in rows]


def _write(columns: Sequence[str], rows: Iterable[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def invoice_csv(invoice: Invoice) -> str:
    """One invoice's lines and totals as CSV (columns :data:`LINE_COLUMNS`)."""
    return _write(LINE_COLUMNS, invoice_rows(invoice))


def invoices_csv(invoices: Iterable[Invoice]) -> str:
    """Many invoices' rows in one CSV (columns :data:`EXPORT_COLUMNS`): each invoice's rows
    of :func:`invoice_csv`, led by the invoice's id, number, status, customer and period."""

    def rows() -> Iterable[dict[str, str]]:
        for invoice in invoices:
            row = invoice.row
            lead = {
                "invoice": row.id,
                "number": row.number or "",
                "status": row.status,
                "customer": _cell("customer", row.customer),
                "period_start": format_time(row.period.start),
                "period_end": format_time(row.period.end),
            }
            for line in invoice_rows(invoice):
                yield {**lead, **line}

    return _write(EXPORT_COLUMNS, rows())


# Money and dates for people --------------------------------------------------------------


def format_money(amount: Decimal, currency: str, locale: str = LOCALE) -> str:
    """``amount`` for a reader: babel's currency format for ``locale``, with the places of
    ISO 4217's minor unit at least and every place the exact amount has (never rounded)."""
    from babel import Locale  # noqa: PLC0415  (babel's locale data loads on first use)

    places = minor_units(currency)
    exponent = amount.normalize().as_tuple().exponent
    if isinstance(exponent, int):
        places = max(places, -exponent)
    found = Locale.parse(locale)
    pattern = copy.copy(found.currency_formats["standard"])
    pattern.frac_prec = (places, places)
    return str(pattern.apply(amount, found, currency=currency, currency_digits=False))


def _format_count(quantity: int, locale: str) -> str:
    from babel.numbers import format_decimal  # noqa: PLC0415

    return format_decimal(quantity, locale=locale)


def _format_day(moment: datetime, locale: str) -> str:
    from babel.dates import format_date  # noqa: PLC0415

    return format_date(moment.date(), format="medium", locale=locale)


# PDF ------------------------------------------------------------------------------------


@cache
def _environment() -> jinja2.Environment:
    import jinja2  # noqa: PLC0415

    return jinja2.Environment(
        loader=jinja2.PackageLoader("earnest", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def title_of(invoice: Invoice) -> str:
    """ "Credit note" when the invoice's total is negative, else "Invoice"."""
    return "Credit note" if invoice.total < 0 else "Invoice"


def invoice_html(
    invoice: Invoice,
    customer: Customer,
    settings: SettingsValues,
    base_url: str | None,
    *,
    locale: str = LOCALE,
) -> str:
    """The invoice as the HTML the PDF is made from."""
    row = invoice.row
    currency = row.currency

    def money(amount: Decimal) -> str:
        return format_money(amount, currency, locale)

    lines: list[dict[str, str]] = [
        {
            "description": line.description,
            "detail": "",
            "quantity": _format_count(line.quantity, locale),
            "unit_price": money(line.unit_price),
            "amount": money(line.amount),
        }
        for line in invoice.charges
    ]
    for credit in invoice.credits:
        detail = credit.contract + (f": {credit.reason}" if credit.reason else "")
        lines.append(
            {
                "description": f"Credit for {credit.outcome}",
                "detail": detail,
                "quantity": "",
                "unit_price": "",
                "amount": money(-credit.amount),
            }
        )
    draft = row.status != "finalized"
    title = title_of(invoice)
    number = row.number or "DRAFT"
    last_day = row.period.end - timedelta(days=1)
    context = {
        "title": title,
        "credit_note": title == "Credit note",
        "draft": draft,
        "number": number,
        "status": row.status,
        "issued": "not issued (draft)"
        if row.finalized_at is None
        else _format_day(row.finalized_at, locale),
        "period": f"{_format_day(row.period.start, locale)} – {_format_day(last_day, locale)}",
        "currency": currency,
        "seller": {
            "name": settings.seller_name,
            "address": settings.seller_address,
            "tax_id": settings.seller_tax_id,
        },
        "customer": {
            "id": customer.id,
            "name": customer.name or customer.id,
            "show_id": bool(customer.name) and customer.name != customer.id,
            "address": customer.address,
            "tax_id": customer.tax_id,
            "email": customer.email,
        },
        "lines": lines,
        "subtotal": money(invoice.subtotal),
        "credits": money(-invoice.credited),
        "total": money(invoice.total),
        "base_url": base_url,
        "footer": f"{title} {number} · {row.id}",
    }
    return _environment().get_template("invoice.html").render(context)


def invoice_pdf(
    invoice: Invoice,
    customer: Customer,
    settings: SettingsValues,
    base_url: str | None,
    *,
    locale: str = LOCALE,
) -> bytes:
    """The invoice as a PDF the customer can be sent (A4)."""
    import weasyprint  # noqa: PLC0415  (slow to import: only when a PDF is made)

    html = invoice_html(invoice, customer, settings, base_url, locale=locale)
    # No base URL: the document links to nothing, so rendering never fetches anything.
    document = weasyprint.HTML(string=html)
    pdf = document.write_pdf()
    assert pdf is not None  # None only when writing to a target
    return bytes(pdf)
