"""Pages as HTML: one Jinja2 environment (every value escaped by the engine, never by hand),
the filters that format money, counts and times for people (babel), and the headers every
page carries."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from typing import Any

import jinja2
from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal

from earnest.service.documents import LOCALE, format_money
from earnest.timefmt import format_time
from earnest.web.static import HTMX, static_url

HTML = "text/html"  # Litestar adds "; charset=utf-8"
# Scripts and styles from this origin only: a value planted in the data can never run.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
    " connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",  # pages show billing data: never kept by a shared cache
}


def when(moment: datetime) -> str:
    """``23 Nov 2026, 10:00:05 UTC``."""
    return format_datetime(moment, "d MMM y, HH:mm:ss", tzinfo=UTC, locale=LOCALE) + " UTC"


def month(first: date) -> str:
    """``November 2026``."""
    return str(format_date(first, "LLLL y", locale=LOCALE))


def day(moment: date) -> str:
    """``24 Nov 2026``."""
    return str(format_date(moment, "d MMM y", locale=LOCALE))


def count(number: int) -> str:
    return str(format_decimal(number, locale=LOCALE))


def money(amount: Decimal, currency: str) -> str:
    return format_money(amount, currency)


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("earnest.web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        when=when, count=count, money=money, rfc3339=format_time, month=month, day=day
    )
    env.globals.update(static=static_url, htmx=HTMX)
    return env


def render(template: str, context: dict[str, Any]) -> str:
    return environment().get_template(template).render(context)
