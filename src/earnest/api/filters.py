"""Query filters of the billing lists (ledger, invoices, disputes): each refused with 422
``invalid_filter`` naming the parameter, before any use case runs."""

from __future__ import annotations

from collections.abc import Iterable

from earnest.api.common import AnyRequest
from earnest.errors import Invalid
from earnest.service.invoices import parse_period
from earnest.signals import NUL

MAX_FILTER = 255


def _bad(name: str, message: str) -> Invalid:
    return Invalid(message, code="invalid_filter", field=name)


def text_filter(request: AnyRequest, name: str) -> str | None:
    """An identifier to filter on (a customer id): at most 255 characters, no U+0000."""
    value: str | None = request.query_params.get(name)
    if value is None:
        return None
    if not value or len(value) > MAX_FILTER or NUL in value:
        raise _bad(name, f"{name} is 1 to {MAX_FILTER} characters, without U+0000")
    return value


def choice_filter(request: AnyRequest, name: str, choices: Iterable[str]) -> str | None:
    value: str | None = request.query_params.get(name)
    if value is None:
        return None
    allowed = tuple(choices)
    if value not in allowed:
        raise _bad(name, f"{name} is one of {', '.join(allowed)}; got {value[:64]!r}")
    return value


def period_filter(request: AnyRequest) -> str | None:
    """``period=YYYY-MM-DD``: for each customer, its billing period containing that day."""
    value: str | None = request.query_params.get("period")
    if value is None:
        return None
    try:
        parse_period(value[:64])
    except Invalid:
        raise _bad("period", f"period is a date YYYY-MM-DD, got {value[:64]!r}") from None
    return value
