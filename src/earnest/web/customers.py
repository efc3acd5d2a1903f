"""The customers pages (SPEC 11): the list, edit (name, email, billing day), their periods
and invoices, and their portal links.

``/customers`` lists them by id, 50 a page; ``/customers/{id}`` shows one with its periods,
its newest invoices and an edit form (admins only) checked as ``PUT /v1/customers/{id}``
checks its body, each error next to its field."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode

from babel.dates import format_date
from litestar import get, post
from litestar.handlers import HTTPRouteHandler
from litestar.response import Response

from earnest.billing import Period, round_total
from earnest.errors import Invalid
from earnest.service.customers import Customer, check_changes
from earnest.service.documents import LOCALE
from earnest.service.invoices import InvoiceRow
from earnest.web.common import (
    AnyRequest,
    earnest,
    page,
    path_id,
    redirect,
    signed_in,
    text_param,
    utf8_text,
)
from earnest.web.guard import admin_only

CUSTOMERS_PAGE = 50  # customers per page of the list
INVOICES_SHOWN = 50  # a customer's newest invoices on its page
PERIODS_SHOWN = 36  # a customer's newest periods on its page

#: The edit form, in its order: name, label, hint, input kind.
FORM: tuple[tuple[str, str, str, str], ...] = (
    ("name", "Name", "Shown on its invoices instead of the id. Empty: none.", "text"),
    ("email", "Email", "Where invoices are sent, such as billing@example.com.", "email"),
    (
        "billing_day",
        "Billing day",
        "The day of the month its periods start, 1 to 28. A change never moves the period in"
        " progress: that one ends as planned, the next runs to the new day (a short period),"
        " then month to month.",
        "number",
    ),
    ("address", "Address", "One line per line of the address, as on its invoices.", "textarea"),
    ("tax_id", "Tax id", "VAT or other tax number, if any.", "text"),
)
TEXT_FIELDS = ("name", "email", "address", "tax_id")


# Shared with the invoices pages -----------------------------------------------------------


def q(value: str) -> str:
    """``value`` as one path segment (ids may hold ``/``, ``?`` or anything)."""
    return quote(value, safe="")


def customer_href(ident: str) -> str:
    return f"/customers/{q(ident)}"


def query(**params: str | None) -> str:
    """``?a=1&b=2`` of the params that are set, or ``""``."""
    found = {name: value for name, value in params.items() if value}
    return "?" + urlencode(found) if found else ""


def day_text(moment: datetime) -> str:
    return str(format_date(moment, "d MMM y", locale=LOCALE))


def period_text(period: Period) -> str:
    """``1 Nov 2026 – 30 Nov 2026``: its first and last day (it ends at 00:00 on the day
    after its last)."""
    return f"{day_text(period.start)} – {day_text(period.end - timedelta(days=1))}"


def total(invoice: InvoiceRow) -> Decimal:
    """An invoice's total: subtotal less credits, rounded to its currency's minor unit."""
    return round_total(invoice.subtotal - invoice.credits, invoice.currency)


HELPERS = {
    "total": total,
    "q": q,
    "query": query,
    "customer_href": customer_href,
    "period_text": period_text,
    "day_text": day_text,
}


# The list -------------------------------------------------------------------------------


@get("/customers")
async def customers_page(request: AnyRequest) -> Response[str]:
    after = text_param(request, "after")
    app = earnest(request)
    found = await app.read(lambda: app.customers.browse(limit=CUSTOMERS_PAGE, after=after))
    context = {
        "rows": found.items,
        "older": None if found.after is None else found.after[0],
        "paged": after is not None,
        **HELPERS,
    }
    return page(request, "customers/list.html", context, active="customers")


# One customer ---------------------------------------------------------------------------


def _values(customer: Customer) -> dict[str, str]:
    return {
        name: "" if getattr(customer, name) is None else str(getattr(customer, name))
        for name, *_ in FORM
    }


async def _customer_page(
    request: AnyRequest,
    ident: str,
    *,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
) -> Response[str]:
    app = earnest(request)

    def load() -> tuple[Customer, Any, Any]:
        customer = app.customers.get(ident)
        periods = app.invoices.periods(ident)
        invoices = app.invoices.list(customer=ident, limit=INVOICES_SHOWN)
        return customer, periods, invoices

    customer, periods, invoices = await app.read(load)
    newest = list(reversed(periods))
    by_start: dict[datetime, list[Any]] = {}
    for invoice in invoices.items:
        by_start.setdefault(invoice.period.start, []).append(invoice)
    context = {
        "customer": customer,
        "form": FORM,
        "values": {**_values(customer), **(values or {})},
        "errors": errors or {},
        "saved": errors is None and request.query_params.get("saved") == "1",
        "periods": [(period, state, by_start.get(period.start, [])) for period, state in newest][
            :PERIODS_SHOWN
        ],
        "earlier": max(0, len(newest) - PERIODS_SHOWN),
        "invoices": invoices.items,
        "more_invoices": invoices.after is not None,
        **HELPERS,
    }
    status = 422 if errors else 200
    return page(request, "customers/customer.html", context, active="customers", status=status)


@get("/customers/{id:str}")
async def customer_page(request: AnyRequest) -> Response[str]:
    return await _customer_page(request, path_id(request))


def form_changes(form: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The changes a submitted edit form asks for, and the error of each refused field.

    Every field the form holds is set (a field it lacks is left as it is): a blank text
    clears it; texts lose their outer white space and an address its ``\\r``. Each is
    checked as the API checks it (:func:`~earnest.service.customers.check_changes`)."""
    changes: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name in TEXT_FIELDS:
        if name not in form:
            continue
        value = form.get(name)
        if not isinstance(value, str):
            errors[name] = f"{name} must be text"
            continue
        try:
            utf8_text(value, name)
        except Invalid as error:
            errors[name] = error.message
            continue
        cleaned = value.replace("\r\n", "\n").replace("\r", "\n").strip()
        changes[name] = cleaned or None
    if "billing_day" in form:
        raw = form.get("billing_day")
        text = raw.strip() if isinstance(raw, str) else ""
        if text.isascii() and text.isdigit() and len(text) <= 2:
            changes["billing_day"] = int(text)
        else:
            errors["billing_day"] = "billing_day must be a whole number from 1 to 28"
    for name, value in list(changes.items()):
        try:
            check_changes({name: value})
        except Invalid as error:
            errors[name] = error.message
            del changes[name]
    return changes, errors


@post("/customers/{id:str}", opt=admin_only())
async def edit_customer(request: AnyRequest) -> Response[str]:
    ident = path_id(request)
    form = await request.form()
    app, who = earnest(request), signed_in(request).user.email
    changes, errors = form_changes(form)
    if errors:  # nothing is stored: every field is shown back as typed
        shown = {
            name: value if isinstance(value, str) else ""
            for name in (n for n, *_ in FORM)
            if name in form
            for value in [form.get(name)]
        }
        return await _customer_page(request, ident, values=shown, errors=errors)
    await app.write(lambda: app.customers.edit(ident, changes, actor=who))
    return redirect(f"{customer_href(ident)}?saved=1")


#: This module's route handlers, mounted by :func:`earnest.web.dashboard`.
ROUTES: list[HTTPRouteHandler] = [customers_page, customer_page, edit_customer]
