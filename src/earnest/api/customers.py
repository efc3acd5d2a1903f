"""``/v1/customers``: list, read one, its billing periods, edit name, email, address, tax id
and billing day (SPEC section 6)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from litestar import Router, get, put
from litestar.response import Response

from earnest.api.auth import require
from earnest.api.common import (
    AnyRequest,
    actor,
    answer,
    cursor_param,
    earnest,
    json_object,
    limit_param,
    page,
    raw_segments,
    text_field,
)
from earnest.api.errors import no_route
from earnest.api.portal import LINKS, create_link, list_links, revoke_link
from earnest.errors import Invalid
from earnest.service.keys import Scope
from earnest.service.views import billing_period_json, customer_json

FIELDS = frozenset({"name", "email", "address", "tax_id", "billing_day"})
MAX_ID = 255
MAX_TEXT = 255
MAX_ADDRESS = 1000
PREFIX = "/v1/customers/"


@get("/", opt=require(Scope.READ))
async def list_customers(request: AnyRequest) -> Response[bytes]:
    limit = limit_param(request)
    after = cursor_param(request, "customers", int, str)  # (created_at, id)
    app = earnest(request)
    found = await app.read(lambda: app.customers.list(limit=limit, after=after))
    return answer(page("customers", found, customer_json))


def customer_path(request: AnyRequest) -> tuple[str, str | None]:
    """The id from the raw path (ids may hold ``/``, percent-encoded by clients) and what
    follows it (``periods``), if anything."""
    segments = raw_segments(request, PREFIX)
    if not 1 <= len(segments) <= 2 or not segments[0]:
        raise no_route(request)
    return segments[0], segments[1] if len(segments) == 2 else None


def customer_id(request: AnyRequest) -> str:
    ident, rest = customer_path(request)
    if rest is not None:
        raise no_route(request)
    return ident


@get("/{id:path}", opt=require(Scope.READ))
async def get_customer(request: AnyRequest) -> Response[bytes]:
    ident, rest = customer_path(request)
    app = earnest(request)
    if rest is None:
        return answer(customer_json(await app.read(lambda: app.customers.get(ident))))
    if rest == "periods":
        periods = await app.read(lambda: app.invoices.periods(ident))
        return answer({"items": [billing_period_json(found) for found in periods]})
    if rest == LINKS:
        return await list_links(request, ident)  # admin keys only (api/portal.py)
    raise no_route(request)


def _changes(body: Mapping[str, Any]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if "name" in body:
        changes["name"] = text_field(body, "name", MAX_TEXT)
    if "email" in body:
        email = text_field(body, "email", MAX_TEXT)
        if email is not None and ("@" not in email or any(c.isspace() for c in email)):
            raise Invalid(f"{email!r} is not an email address", field="email")
        changes["email"] = email
    if "address" in body:
        changes["address"] = text_field(body, "address", MAX_ADDRESS)
    if "tax_id" in body:
        changes["tax_id"] = text_field(body, "tax_id", MAX_TEXT)
    if "billing_day" in body:
        day = body["billing_day"]
        if not isinstance(day, Decimal) or day != day.to_integral_value() or not 1 <= day <= 28:
            raise Invalid("billing_day must be a whole number from 1 to 28", field="billing_day")
        changes["billing_day"] = int(day)
    return changes


@put("/{id:path}", opt=require(Scope.ADMIN))
async def put_customer(request: AnyRequest) -> Response[bytes]:
    ident = customer_id(request)
    if not ident or len(ident) > MAX_ID:
        raise Invalid(f"a customer id is 1 to {MAX_ID} characters", field="id")
    changes = _changes(await json_object(request, FIELDS))
    app, who = earnest(request), actor(request)
    found, created = await app.write(lambda: app.customers.put(ident, changes, actor=who))
    return answer(customer_json(found), 201 if created else 200)


# POST and DELETE under a customer: its portal links (api/portal.py).
router = Router(
    "/v1/customers",
    route_handlers=[list_customers, get_customer, put_customer, create_link, revoke_link],
)
