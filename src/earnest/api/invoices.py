"""``/v1/invoices``: list (drafts included, with totals, without lines), one invoice with its
lines, the invoice as CSV and as PDF, and its audit: every outcome behind it with its full
history (SPEC sections 6 and 8).

The CSV and the PDF come from ``earnest.service.documents``, imported when first asked for:
the PDF renderer (WeasyPrint) is heavy, and most processes never render one. The PDF is
rendered on a worker thread, not on the event loop.
"""

from __future__ import annotations

import anyio.to_thread
from litestar import Router, get
from litestar.response import Response

from earnest.api.auth import require
from earnest.api.common import (
    AnyRequest,
    answer,
    cursor_param,
    earnest,
    limit_param,
    page,
    path_param,
)
from earnest.api.filters import choice_filter, period_filter, text_filter
from earnest.service.customers import Customer
from earnest.service.invoices import STATUSES, Invoice
from earnest.service.keys import Scope
from earnest.service.settings import SettingsValues
from earnest.service.views import audit_json, invoice_json, invoice_summary_json

CSV = "text/csv; charset=utf-8"
PDF = "application/pdf"


@get("/", opt=require(Scope.READ))
async def list_invoices(request: AnyRequest) -> Response[bytes]:
    """Newest first; each invoice with its totals and without its lines."""
    limit = limit_param(request)
    after = cursor_param(request, "invoices", int, str)  # (created_at, id)
    customer = text_filter(request, "customer")
    status = choice_filter(request, "status", STATUSES)
    period = period_filter(request)
    app = earnest(request)
    found = await app.read(
        lambda: app.invoices.list(
            customer=customer, status=status, period=period, limit=limit, after=after
        )
    )
    return answer(page("invoices", found, invoice_summary_json))


@get("/{id:str}", opt=require(Scope.READ))
async def get_invoice(request: AnyRequest) -> Response[bytes]:
    ident = path_param(request, "id")
    app = earnest(request)
    return answer(invoice_json(await app.read(lambda: app.invoices.get(ident))))


def _file_name(invoice: Invoice, extension: str) -> str:
    """The invoice's number (a draft's id): letters, digits, '-' and '_' only."""
    return f"{invoice.row.number or invoice.id}.{extension}"


@get("/{id:str}/csv", opt=require(Scope.READ))
async def get_invoice_csv(request: AnyRequest) -> Response[bytes]:
    from earnest.service.documents import invoice_csv  # noqa: PLC0415  (WeasyPrint is heavy)

    ident = path_param(request, "id")
    app = earnest(request)
    invoice = await app.read(lambda: app.invoices.get(ident))
    disposition = f'attachment; filename="{_file_name(invoice, "csv")}"'
    return Response(
        invoice_csv(invoice).encode(),
        media_type=CSV,
        headers={"Content-Disposition": disposition},
    )


@get("/{id:str}/pdf", opt=require(Scope.READ))
async def get_invoice_pdf(request: AnyRequest) -> Response[bytes]:
    from earnest.service.documents import invoice_pdf  # noqa: PLC0415  (WeasyPrint is heavy)

    ident = path_param(request, "id")
    app = earnest(request)

    def inputs() -> tuple[Invoice, Customer, SettingsValues]:
        invoice = app.invoices.get(ident)
        return invoice, app.customers.get(invoice.row.customer), app.settings.get()

    invoice, customer, settings = await app.read(inputs)
    # The public base URL when set, else the address this request came to (SPEC 6).
    base_url = settings.public_base_url or str(request.base_url).rstrip("/")
    pdf = await anyio.to_thread.run_sync(lambda: invoice_pdf(invoice, customer, settings, base_url))
    disposition = f'inline; filename="{_file_name(invoice, "pdf")}"'
    return Response(pdf, media_type=PDF, headers={"Content-Disposition": disposition})


@get("/{id:str}/audit", opt=require(Scope.READ))
async def get_invoice_audit(request: AnyRequest) -> Response[bytes]:
    """Every outcome behind the invoice, in the order of its first entry on it (oldest
    first, as the invoice reads), each with its entries there and its full history."""
    ident = path_param(request, "id")
    limit = limit_param(request)
    after = cursor_param(request, "audit", int)  # (first ledger id on the invoice,)
    app = earnest(request)
    found = await app.read(lambda: app.ledger.audit(ident, limit=limit, after=after))
    return answer(page("audit", found, audit_json))


router = Router(
    "/v1/invoices",
    route_handlers=[
        list_invoices,
        get_invoice,
        get_invoice_csv,
        get_invoice_pdf,
        get_invoice_audit,
    ],
)
