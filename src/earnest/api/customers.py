"""``/v1/customers``: list, read one, edit name, email and billing day (SPEC section 6)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from litestar import Router, get, put
from litestar.response import Response

from earnest.api.auth import require
from earnest.api.common import (
    AnyRequest,
    answer,
    cursor_param,
    database,
    encode_cursor,
    in_thread,
    json_object,
    limit_param,
    now,
    page,
    raw_segments,
    text_field,
)
from earnest.api.errors import ApiError
from earnest.api.views import CUSTOMER_COLUMNS, customer_json
from earnest.store.codec import to_us
from earnest.store.db import Database
from earnest.store.keys import Scope

FIELDS = frozenset({"name", "email", "billing_day"})
MAX_ID = 255
MAX_TEXT = 255
PREFIX = "/v1/customers/"


@get("/", opt=require(Scope.READ))
async def list_customers(request: AnyRequest) -> Response[bytes]:
    limit = limit_param(request)
    after = cursor_param(request, "customers", int, str)
    db = database(request)

    def load() -> list[tuple[Any, ...]]:
        sql = f"SELECT {CUSTOMER_COLUMNS} FROM customers"
        params: list[Any] = []
        if after is not None:
            sql += " WHERE created_at < ? OR (created_at = ? AND id > ?)"
            params = [after[0], after[0], after[1]]
        with db.read() as tx:
            return tx.query(sql + " ORDER BY created_at DESC, id LIMIT ?", [*params, limit + 1])

    rows = await in_thread(request, load)
    cursor = None
    if len(rows) > limit:
        cursor = encode_cursor("customers", [int(rows[limit - 1][4]), str(rows[limit - 1][0])])
    return answer(page([customer_json(r) for r in rows[:limit]], cursor))


def _one(db: Database, ident: str) -> tuple[Any, ...] | None:
    with db.read() as tx:
        return tx.one(f"SELECT {CUSTOMER_COLUMNS} FROM customers WHERE id = ?", (ident,))


def customer_id(request: AnyRequest) -> str:
    """The id from the raw path: ids may hold ``/``, percent-encoded by clients."""
    segments = raw_segments(request, PREFIX)
    if len(segments) != 1 or not segments[0]:
        raise ApiError(404, "not_found", f"no route {request.url.path!r}")
    return segments[0]


@get("/{id:path}", opt=require(Scope.READ))
async def get_customer(request: AnyRequest) -> Response[bytes]:
    ident = customer_id(request)
    row = await in_thread(request, _one, database(request), ident)
    if row is None:
        raise ApiError(404, "unknown_customer", f"no customer {ident!r}", "id")
    return answer(customer_json(row))


def _changes(body: Mapping[str, Any]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if "name" in body:
        changes["name"] = text_field(body, "name", MAX_TEXT)
    if "email" in body:
        email = text_field(body, "email", MAX_TEXT)
        if email is not None and ("@" not in email or any(c.isspace() for c in email)):
            raise ApiError(422, "invalid_field", f"{email!r} is not an email address", "email")
        changes["email"] = email
    if "billing_day" in body:
        day = body["billing_day"]
        if not isinstance(day, Decimal) or day != day.to_integral_value() or not 1 <= day <= 28:
            raise ApiError(
                422,
                "invalid_field",
                "billing_day must be a whole number from 1 to 28",
                "billing_day",
            )
        changes["billing_day"] = int(day)
    return changes


def _save(db: Database, ident: str, changes: dict[str, Any], moment: datetime) -> tuple[Any, bool]:
    with db.write() as tx:
        created = tx.one("SELECT id FROM customers WHERE id = ?", (ident,)) is None
        if created:
            tx.execute(
                "INSERT INTO customers (id, billing_day, created_at) VALUES (?, 1, ?)",
                (ident, to_us(moment)),
            )
        if changes:
            assignments = ", ".join(f"{name} = ?" for name in changes)
            tx.execute(
                f"UPDATE customers SET {assignments} WHERE id = ?", [*changes.values(), ident]
            )
        row = tx.one(f"SELECT {CUSTOMER_COLUMNS} FROM customers WHERE id = ?", (ident,))
    return row, created


@put("/{id:path}", opt=require(Scope.ADMIN))
async def put_customer(request: AnyRequest) -> Response[bytes]:
    ident = customer_id(request)
    if not ident or len(ident) > MAX_ID:
        raise ApiError(422, "invalid_field", f"a customer id is 1 to {MAX_ID} characters", "id")
    changes = _changes(await json_object(request, FIELDS))
    row, created = await in_thread(request, _save, database(request), ident, changes, now(request))
    return answer(customer_json(row), 201 if created else 200)


router = Router("/v1/customers", route_handlers=[list_customers, get_customer, put_customer])
