"""The invoices pages (SPEC 11): by period and status; each invoice with its lines, each
line opening the outcomes behind it; PDF and CSV.

``/invoices`` filters as ``GET /v1/invoices`` does (``period=YYYY-MM-DD``: for each customer,
its period containing that day; ``status``; ``customer``), newest first, 50 a page.
``/invoices/{id}`` shows the invoice as its PDF reads, each charge line linking to
``/invoices/{id}/lines/{contract}/{version}``: the charges behind it, 50 a page, each opening
its outcome. ``/invoices/{id}/pdf`` and ``/csv`` are the API's documents, as attachments.
"""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from litestar import get
from litestar.handlers import HTTPRouteHandler
from litestar.response import Response

from earnest.errors import Invalid, NotFound
from earnest.service.customers import Customer
from earnest.service.documents import invoice_csv, invoice_pdf, title_of
from earnest.service.invoices import STATUSES, Invoice, parse_period
from earnest.service.settings import SettingsValues
from earnest.web.common import (
    MAX_ID,
    NUL,
    AnyRequest,
    earnest,
    page,
    path_id,
    text_param,
    whole_number,
)
from earnest.web.customers import HELPERS
from earnest.web.render import HEADERS

INVOICES_PAGE = 50  # invoices per page of the list
CHARGES_PAGE = 50  # charges per page of a line's outcomes
MAX_US = 2**63 - 1
MAX_VERSION = 2**31 - 1
CSV = "text/csv"  # Litestar adds "; charset=utf-8"
PDF = "application/pdf"


# The list -------------------------------------------------------------------------------


def _filters(request: AnyRequest) -> tuple[dict[str, str], dict[str, str]]:
    """The list's filters as given (empty ones left out) and the error of each bad one."""
    given: dict[str, str] = {}
    errors: dict[str, str] = {}
    for name in ("period", "status", "customer"):
        value = request.query_params.get(name)
        if value:
            given[name] = value
    try:
        text_param(request, "customer")
    except Invalid as error:
        errors["customer"] = error.message
    if "status" in given and given["status"] not in STATUSES:
        errors["status"] = f"status is one of {', '.join(STATUSES)}; got {given['status'][:64]!r}"
    if "period" in given:
        try:
            parse_period(given["period"][:64])
        except Invalid:
            errors["period"] = f"period is a date YYYY-MM-DD, got {given['period'][:64]!r}"
    return given, errors


def _after(request: AnyRequest) -> tuple[int, str] | None:
    """``after=<created µs>:<id>``: where the previous page ended."""
    raw = request.query_params.get("after")
    if not raw:
        return None
    moment, _, ident = raw.partition(":")
    wanted = f"after is a position this list handed out, got {raw[:64]!r}"
    if not ident or len(ident) > MAX_ID or NUL in ident:
        raise Invalid(wanted, field="after")
    return whole_number(moment, "after", low=0, high=MAX_US, message=wanted), ident


@get("/invoices")
async def invoices_page(request: AnyRequest) -> Response[str]:
    given, errors = _filters(request)
    context: dict[str, Any] = {"filters": given, "errors": errors, "statuses": STATUSES, **HELPERS}
    if errors:
        context.update(rows=[], older=None, paged=False)
        return page(request, "invoices/list.html", context, active="invoices", status=422)
    after = _after(request)
    app = earnest(request)
    found = await app.read(
        lambda: app.invoices.list(
            customer=given.get("customer"), status=given.get("status"),
            period=given.get("period"), limit=INVOICES_PAGE, after=after,
        )
    )  # fmt: skip
    older = None if found.after is None else f"{found.after[0]}:{found.after[1]}"
    context.update(rows=found.items, older=older, paged=after is not None)
    return page(request, "invoices/list.html", context, active="invoices")


# One invoice ----------------------------------------------------------------------------


async def _parties(request: AnyRequest, ident: str) -> tuple[Invoice, Customer, SettingsValues]:
    app = earnest(request)

    def load() -> tuple[Invoice, Customer, SettingsValues]:
        invoice = app.invoices.get(ident)
        return invoice, app.customers.get(invoice.row.customer), app.settings.get()

    return await app.read(load)


@get("/invoices/{id:str}")
async def invoice_page(request: AnyRequest) -> Response[str]:
    invoice, customer, settings = await _parties(request, path_id(request, what="invoice"))
    context = {
        "invoice": invoice,
        "row": invoice.row,
        "title": title_of(invoice),
        "customer": customer,
        "seller": settings,
        **HELPERS,
    }
    return page(request, "invoices/invoice.html", context, active="invoices")


def _version(request: AnyRequest) -> int:
    raw = str(request.path_params["version"])
    try:
        return whole_number(raw, "version", low=1, high=MAX_VERSION)
    except Invalid:
        raise NotFound(f"no contract version {raw[:64]!r}", field="version") from None


def _after_charge(request: AnyRequest) -> tuple[int] | None:
    raw = request.query_params.get("after")
    if not raw:
        return None
    wanted = f"after is a charge number such as 120, got {raw[:40]!r}"
    return (whole_number(raw, "after", low=1, high=MAX_US, message=wanted),)


@get("/invoices/{id:str}/lines/{contract:str}/{version:str}")
async def line_page(request: AnyRequest) -> Response[str]:
    ident = path_id(request, what="invoice")
    contract = path_id(request, "contract", what="contract")
    version = _version(request)
    after = _after_charge(request)
    app = earnest(request)
    invoice, line, found = await app.read(
        lambda: app.invoices.line(ident, contract, version, limit=CHARGES_PAGE, after=after)
    )
    context = {
        "invoice": invoice,
        "row": invoice.row,
        "line": line,
        "charges": found.items,
        "older": None if found.after is None else found.after[0],
        "paged": after is not None,
        **HELPERS,
    }
    return page(request, "invoices/line.html", context, active="invoices")


# Documents ------------------------------------------------------------------------------


def _download(body: bytes, media_type: str, invoice: Invoice, extension: str) -> Response[bytes]:
    """As an attachment named after the invoice's number (a draft's id): letters, digits,
    ``-`` and ``_`` only, so the header needs no quoting."""
    name = f"{invoice.row.number or invoice.id}.{extension}"
    headers = {**HEADERS, "Content-Disposition": f'attachment; filename="{name}"'}
    return Response(body, media_type=media_type, headers=headers)


@get("/invoices/{id:str}/csv")
async def invoice_csv_file(request: AnyRequest) -> Response[bytes]:
    ident = path_id(request, what="invoice")
    app = earnest(request)
    invoice = await app.read(lambda: app.invoices.get(ident))
    return _download(invoice_csv(invoice).encode(), CSV, invoice, "csv")


@get("/invoices/{id:str}/pdf")
async def invoice_pdf_file(request: AnyRequest) -> Response[bytes]:
    invoice, customer, settings = await _parties(request, path_id(request, what="invoice"))
    # The public base URL when set, else the address this request came to (SPEC 6).
    base_url = settings.public_base_url or str(request.base_url).rstrip("/")
    pdf = await anyio.to_thread.run_sync(lambda: invoice_pdf(invoice, customer, settings, base_url))
    return _download(pdf, PDF, invoice, "pdf")


#: This module's route handlers, mounted by :func:`earnest.web.dashboard`.
ROUTES: list[HTTPRouteHandler] = [
    invoices_page,
    invoice_page,
    line_page,
    invoice_csv_file,
    invoice_pdf_file,
]
