"""The dashboard's pages: the overview, the activity log and the settings (SPEC 11). Each
handler reads its input, calls one use case through ``app.read`` or ``app.write``, and
renders a template; every change is made as the signed-in user."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from litestar import get, post
from litestar.response import Response

from earnest.errors import Invalid
from earnest.jsonio import dump_json
from earnest.service.activity import ActivityEntry
from earnest.service.settings import NAMES, InvalidSetting
from earnest.web.chart import settlements_chart
from earnest.web.common import (
    AnyRequest,
    earnest,
    page,
    redirect,
    signed_in,
    utf8_text,
    whole_number,
)
from earnest.web.guard import admin_only

ACTIVITY_PAGE = 50  # entries per page of the activity log
MAX_SEQ = 2**63 - 1
MAX_SHOWN = 200  # characters of one value in the activity log's change column

#: The settings form, in its order: name, label, hint, input kind.
SETTINGS_FORM: tuple[tuple[str, str, str, str], ...] = (
    ("seller_name", "Seller name", "Shown on every invoice.", "text"),
    ("seller_address", "Seller address", "One line per line of the address.", "textarea"),
    ("seller_tax_id", "Seller tax id", "VAT or other tax number, if any.", "text"),
    ("invoice_prefix", "Invoice number prefix", "Letters, digits, - or _, such as EARN.", "text"),
    (
        "invoice_grace",
        "Invoice grace",
        "How long after a period ends its invoices are finalized: 5m, 1h, 2d.",
        "text",
    ),
    (
        "public_base_url",
        "Public base URL",
        "Where customers reach Earnest, such as https://billing.example.com; empty: this"
        " server's own address.",
        "url",
    ),
)
OPTIONAL = frozenset({"seller_name", "seller_address", "seller_tax_id", "public_base_url"})
assert {name for name, *_ in SETTINGS_FORM} == set(NAMES), "the form lists every setting"


# Overview -------------------------------------------------------------------------------


@get("/")
async def overview(request: AnyRequest) -> Response[str]:
    app = earnest(request)
    figures = await app.read(app.overview.figures)
    context = {"figures": figures, "chart": settlements_chart(figures.settled)}
    return page(request, "overview.html", context, active="overview")


# Activity -------------------------------------------------------------------------------


def _after_param(request: AnyRequest) -> tuple[int] | None:
    raw = request.query_params.get("after")
    if raw is None:
        return None
    wanted = f"after is an entry number such as 120, got {raw[:40]!r}"
    return (whole_number(raw, "after", low=1, high=MAX_SEQ, message=wanted),)


def _shown(value: Any) -> str:
    if value is None:
        return "(none)"
    text = value if isinstance(value, str) else dump_json(value).decode()
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 1] + "…"


def changes(entry: ActivityEntry) -> list[tuple[str, str | None, str | None]]:
    """``(field, before, after)`` of each value the entry names, as text to show."""
    before: Mapping[str, Any] = entry.before or {}
    after: Mapping[str, Any] = entry.after or {}
    rows = []
    for name in dict.fromkeys([*before, *after]):
        old = _shown(before[name]) if name in before else None
        new = _shown(after[name]) if name in after else None
        rows.append((name, old, new))
    return rows


@get("/activity")
async def activity(request: AnyRequest) -> Response[str]:
    after = _after_param(request)
    app = earnest(request)
    found = await app.read(lambda: app.activity.list(limit=ACTIVITY_PAGE, after=after))
    entries = [(entry, changes(entry)) for entry in found.items]
    context = {
        "entries": entries,
        "older": None if found.after is None else found.after[0],
        "paged": after is not None,
    }
    return page(request, "activity.html", context, active="activity")


# Settings -------------------------------------------------------------------------------


def _form_values(values: Mapping[str, Any]) -> dict[str, str]:
    return {name: "" if values.get(name) is None else str(values[name]) for name in NAMES}


@get("/settings")
async def settings_page(request: AnyRequest) -> Response[str]:
    app = earnest(request)
    values = await app.read(app.settings.get)
    context = {
        "form": SETTINGS_FORM,
        "values": _form_values(values.as_dict()),
        "errors": {},
        "saved": request.query_params.get("saved") == "1",
    }
    return page(request, "settings.html", context, active="settings")


def settings_changes(form: Mapping[str, Any]) -> dict[str, Any]:
    """The settings a submitted form sets: every listed field it holds as text; an empty
    optional field restores its default. Other fields (the CSRF token) are not settings."""
    found: dict[str, Any] = {}
    for name in NAMES:
        value = form.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise InvalidSetting(f"{name} is text", field=name)
        try:
            utf8_text(value, name)
        except Invalid as error:
            raise InvalidSetting(error.message, field=name) from None
        found[name] = None if name in OPTIONAL and not value.strip() else value
    return found


@post("/settings", opt=admin_only())
async def save_settings(request: AnyRequest) -> Response[str]:
    form = await request.form()
    app, who = earnest(request), signed_in(request).user.email
    submitted = {name: form.get(name) for name in NAMES if name in form}
    try:
        wanted = settings_changes(form)
        await app.write(lambda: app.settings.put(wanted, actor=who))
    except InvalidSetting as error:
        shown = {k: v if isinstance(v, str) else "" for k, v in submitted.items()}
        current_values = (await app.read(app.settings.get)).as_dict()
        context = {
            "form": SETTINGS_FORM,
            "values": {**_form_values(current_values), **shown},
            "errors": {error.field or "": error.message},
            "saved": False,
        }
        return page(request, "settings.html", context, active="settings", status=422)
    return redirect("/settings?saved=1")
