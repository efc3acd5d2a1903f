"""The webhooks pages (SPEC 11): endpoints, deliveries, failures, retry.

``/webhooks`` lists the endpoints with how their deliveries are going, the deliveries that
need a person (failed for good, or retrying) across endpoints, and the form to add one;
``/webhooks/{id}`` is one endpoint: edit, enable or disable, rotate its secret, delete it,
and its deliveries with every attempt and a retry. A secret is on one page only: the answer
to the form that made it (adding the endpoint, rotating its secret), never again."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

from litestar import get, post
from litestar.datastructures import FormMultiDict
from litestar.handlers import HTTPRouteHandler
from litestar.response import Response

from earnest.app import Earnest
from earnest.errors import Conflict, Invalid
from earnest.service.webhooks import (
    DELIVERY_STATES,
    EVENT_TYPES,
    SUMMARY_CAP,
    Endpoint,
    UnknownDelivery,
    UnknownEndpoint,
)
from earnest.timefmt import format_time
from earnest.web.common import (
    MAX_INT,
    NUL,
    AnyRequest,
    earnest,
    page,
    redirect,
    signed_in,
    utf8_text,
    whole_number,
)
from earnest.web.guard import admin_only

DELIVERIES_PAGE = 50  # deliveries per page, as the activity log
MAX_ID = 100  # characters of an endpoint id in a path: theirs are 23
MAX_DELIVERY_DIGITS = 18  # every delivery id fits a signed 64-bit integer
FIELDS = ("url", "events", "description")
#: What each event type means, for the form's checkboxes (docs/webhooks.md).
EVENT_HINTS = {
    "outcome.in_review": "an outcome entered its review window",
    "outcome.confirmed": "an outcome was confirmed and charged",
    "outcome.cancelled": "an outcome was cancelled",
    "outcome.contested": "a dispute was opened on a confirmed outcome",
    "charge.booked": "a charge went into the ledger",
    "credit.booked": "a credit went into the ledger",
    "dispute.opened": "a dispute was opened",
    "dispute.resolved": "a dispute was rejected or resolved by a credit",
    "invoice.finalized": "an invoice was frozen and numbered",
}
assert tuple(EVENT_HINTS) == EVENT_TYPES, "the form explains every event type"


def href(ident: str, tail: str = "") -> str:
    return f"/webhooks/{quote(ident, safe='')}{tail}"


# Input ------------------------------------------------------------------------------------


def _endpoint_id(request: AnyRequest) -> str:
    ident: str = request.path_params["id"]
    if len(ident) > MAX_ID or NUL in ident:  # no endpoint has such an id (nor could store it)
        raise UnknownEndpoint(ident[:MAX_ID] + ("…" if len(ident) > MAX_ID else ""))
    return ident


def _delivery_id(request: AnyRequest) -> int | str:
    """The delivery id as a number; any other text goes to the use case, which names it."""
    raw: str = request.path_params["delivery"]
    if not raw.isascii() or not raw.isdigit():
        return raw[:40]
    if len(raw) > MAX_DELIVERY_DIGITS:
        raise UnknownDelivery(raw[:40])
    return int(raw)


def _after(request: AnyRequest) -> tuple[int] | None:
    raw = request.query_params.get("after")
    if raw is None:
        return None
    wanted = f"after is a delivery number such as 120, got {raw[:40]!r}"
    return (whole_number(raw, "after", low=0, high=MAX_INT, message=wanted),)


def _state(request: AnyRequest, default: str | None) -> str | None:
    raw = request.query_params.get("state")
    if raw is None or raw == "":
        return default
    if raw not in DELIVERY_STATES:
        raise Invalid(f"state is one of {', '.join(DELIVERY_STATES)}", field="state")
    return str(raw)


def _shown_id(raw: str | None) -> int | None:
    """A delivery number a redirect named, for its notice (nothing else is echoed)."""
    if raw is None or not raw.isascii() or not raw.isdigit() or len(raw) > MAX_DELIVERY_DIGITS:
        return None
    return int(raw)


def _text(form: FormMultiDict, name: str) -> str:
    value = form.get(name, "")
    if not isinstance(value, str):
        raise Invalid(f"{name} is text", field=name)
    return value


def endpoint_fields(form: FormMultiDict) -> dict[str, Any]:
    """``url``, ``events`` and ``description`` as the use case takes them: ``events`` None
    for every type (``every`` = ``all``), else the types checked; an empty description is
    none. A text whose bytes were not UTF-8 is refused (events: the use case names any
    that is not an event type)."""
    url = utf8_text(_text(form, "url"), "url")
    every = _text(form, "every")
    events: list[Any] | None = None
    if every != "all":
        events = list(form.getall("events", []))
        if not events:
            raise Invalid("choose at least one event type, or every type", field="events")
    description = utf8_text(_text(form, "description"), "description")
    return {
        "url": url,
        "events": events,
        "description": description if description.strip() else None,
    }


def form_values(form: FormMultiDict | None, endpoint: Endpoint | None) -> dict[str, Any]:
    """What the form shows: what was sent (after a refusal), else the endpoint's values."""
    if form is not None:
        checked = [e for e in form.getall("events", []) if isinstance(e, str)]
        return {
            "url": form.get("url") if isinstance(form.get("url"), str) else "",
            "description": d if isinstance(d := form.get("description"), str) else "",
            "every": form.get("every") == "all",
            "events": checked,
        }
    if endpoint is None:
        return {"url": "", "description": "", "every": True, "events": []}
    return {
        "url": endpoint.url,
        "description": endpoint.description or "",
        "every": endpoint.events is None,
        "events": list(endpoint.events or ()),
    }


# The list ---------------------------------------------------------------------------------


async def _list_page(
    request: AnyRequest,
    *,
    form: FormMultiDict | None = None,
    errors: Mapping[str, str] | None = None,
    status: int = 200,
) -> Response[str]:
    app = earnest(request)
    trouble = _state(request, "failed")
    after = _after(request)
    assert trouble is not None
    endpoints = await app.read(app.webhooks.summaries)
    troubles = await app.read(
        lambda: app.webhooks.troubles(trouble, limit=DELIVERIES_PAGE, after=after)
    )
    urls = {endpoint.id: endpoint.url for endpoint, _ in endpoints}
    older = None
    if troubles.after is not None:
        older = "/webhooks?" + urlencode({"state": trouble, "after": troubles.after[0]})
    context = {
        "endpoints": endpoints,
        "troubles": troubles.items,
        "trouble": trouble,
        "urls": urls,
        "older": older,
        "paged": after is not None,
        "values": form_values(form, None),
        "errors": dict(errors or {}),
        "event_types": EVENT_HINTS,
        "cap": SUMMARY_CAP,
        "deleted": "deleted" in request.query_params,
        "retried": _shown_id(request.query_params.get("retried")),
        "href": href,
    }
    return page(request, "webhooks/list.html", context, active="webhooks", status=status)


@get("/webhooks")
async def webhooks_page(request: AnyRequest) -> Response[str]:
    return await _list_page(request)


@post("/webhooks", opt=admin_only())
async def add_webhook(request: AnyRequest) -> Response[str]:
    form = await request.form()
    app, who = earnest(request), signed_in(request).user.email
    try:
        fields = endpoint_fields(form)
        endpoint, secret = await app.write(
            lambda: app.webhooks.create(
                fields["url"],
                events=fields["events"],
                description=fields["description"],
                actor=who,
            )
        )
    except Invalid as error:
        errors = {error.field if error.field in FIELDS else "url": error.message}
        return await _list_page(request, form=form, errors=errors, status=422)
    context = {"endpoint": endpoint, "secret": secret, "rotated": False, "href": href}
    return page(request, "webhooks/secret.html", context, active="webhooks", status=201)


# One endpoint -----------------------------------------------------------------------------


async def _endpoint_page(
    request: AnyRequest,
    *,
    form: FormMultiDict | None = None,
    errors: Mapping[str, str] | None = None,
    status: int = 200,
) -> Response[str]:
    ident = _endpoint_id(request)
    state = _state(request, None)
    after = _after(request)
    app = earnest(request)
    endpoint = await app.read(lambda: app.webhooks.get(ident))
    found = await app.read(
        lambda: app.webhooks.deliveries(ident, limit=DELIVERIES_PAGE, after=after, state=state)
    )
    here = href(ident)
    older = None
    if found.after is not None:
        query = {"state": state} if state else {}
        older = f"{here}?{urlencode({**query, 'after': found.after[0]})}"
    context = {
        "endpoint": endpoint,
        "deliveries": found.items,
        "state": state,
        "states": DELIVERY_STATES,
        "older": older,
        "paged": after is not None,
        "values": form_values(form, endpoint),
        "errors": dict(errors or {}),
        "event_types": EVENT_HINTS,
        "rotating": endpoint.previous_until is not None and endpoint.previous_until > app.clock(),
        "rotation": rotation_mark(endpoint),
        "notice": request.query_params.get("done"),
        "retried": _shown_id(request.query_params.get("delivery")),
        "href": href,
    }
    return page(request, "webhooks/endpoint.html", context, active="webhooks", status=status)


@get("/webhooks/{id:str}")
async def webhook_page(request: AnyRequest) -> Response[str]:
    return await _endpoint_page(request)


@post("/webhooks/{id:str}", opt=admin_only())
async def edit_webhook(request: AnyRequest) -> Response[str]:
    ident = _endpoint_id(request)
    form = await request.form()
    app, who = earnest(request), signed_in(request).user.email
    try:
        fields = endpoint_fields(form)
        await app.write(lambda: app.webhooks.update(ident, fields, actor=who))
    except Invalid as error:
        errors = {error.field if error.field in FIELDS else "url": error.message}
        return await _endpoint_page(request, form=form, errors=errors, status=422)
    return redirect(href(ident, "?done=saved"))


async def _set_enabled(request: AnyRequest, enabled: bool) -> Response[str]:
    ident = _endpoint_id(request)
    app, who = earnest(request), signed_in(request).user.email
    await app.write(lambda: app.webhooks.update(ident, {"enabled": enabled}, actor=who))
    return redirect(href(ident, "?done=" + ("enabled" if enabled else "disabled")))


@post("/webhooks/{id:str}/enable", opt=admin_only())
async def enable_webhook(request: AnyRequest) -> Response[str]:
    return await _set_enabled(request, True)


@post("/webhooks/{id:str}/disable", opt=admin_only())
async def disable_webhook(request: AnyRequest) -> Response[str]:
    return await _set_enabled(request, False)


def rotation_mark(endpoint: Endpoint) -> str:
    """What the rotate form carries back: the rotation it saw (its end), or ``none``."""
    until = endpoint.previous_until
    return "none" if until is None else format_time(until)


class RotatedMeanwhile(Conflict):
    code = "rotated_meanwhile"


def _rotate(app: Earnest, ident: str, seen: str, who: str) -> tuple[Endpoint, str]:
    """Rotate unless another rotation came after the form was shown: a form sent twice (a
    reload of the answer) would otherwise drop, at once, the old secret that receivers
    still use. On the writer thread, so no rotation comes between the check and this one."""
    if rotation_mark(app.webhooks.get(ident)) != seen:
        raise RotatedMeanwhile(
            "the secret was rotated since this form was shown (was it sent twice?), and the"
            " new secret was shown then; open the endpoint to rotate it again"
        )
    return app.webhooks.rotate_secret(ident, actor=who)


@post("/webhooks/{id:str}/rotate-secret", opt=admin_only())
async def rotate_webhook_secret(request: AnyRequest) -> Response[str]:
    ident = _endpoint_id(request)
    seen = _text(await request.form(), "rotation")
    app, who = earnest(request), signed_in(request).user.email
    endpoint, secret = await app.write(lambda: _rotate(app, ident, seen, who))
    context = {"endpoint": endpoint, "secret": secret, "rotated": True, "href": href}
    return page(request, "webhooks/secret.html", context, active="webhooks")


@get("/webhooks/{id:str}/delete")
async def delete_webhook_page(request: AnyRequest) -> Response[str]:
    ident = _endpoint_id(request)
    app = earnest(request)
    endpoint = await app.read(lambda: app.webhooks.get(ident))
    context = {"endpoint": endpoint, "href": href}
    return page(request, "webhooks/delete.html", context, active="webhooks")


@post("/webhooks/{id:str}/delete", opt=admin_only())
async def delete_webhook(request: AnyRequest) -> Response[str]:
    ident = _endpoint_id(request)
    app, who = earnest(request), signed_in(request).user.email
    await app.write(lambda: app.webhooks.delete(ident, actor=who))
    return redirect("/webhooks?deleted=1")


@post("/webhooks/{id:str}/deliveries/{delivery:str}/retry", opt=admin_only())
async def retry_delivery(request: AnyRequest) -> Response[str]:
    """Make a failed (or retrying) delivery due now; back to the page the button was on."""
    ident, delivery = _endpoint_id(request), _delivery_id(request)
    back = _text(await request.form(), "back")
    app, who = earnest(request), signed_in(request).user.email
    await app.write(lambda: app.webhooks.retry(ident, delivery, actor=who))
    if back == "list":
        return redirect(f"/webhooks?retried={delivery}")
    return redirect(href(ident, f"?done=retried&delivery={delivery}"))


#: This module's route handlers, mounted by :func:`earnest.web.dashboard`.
ROUTES: list[HTTPRouteHandler] = [
    webhooks_page,
    add_webhook,
    webhook_page,
    edit_webhook,
    enable_webhook,
    disable_webhook,
    rotate_webhook_secret,
    delete_webhook_page,
    delete_webhook,
    retry_delivery,
]
