"""The customers' evidence pages at ``/portal/<token>`` (SPEC 11): a portal link's customer's
invoices and, per charge, why it was billed; a form to dispute a charge. Nothing of another
customer, ever. And the dashboard's page of a customer's links: create (the URL shown once),
revoke.

The evidence pages need no session (route opt ``public()``): the token in the path is the
credential, checked here on every request. Unknown, malformed, expired and revoked tokens,
and any id of another customer, get one and the same 404 page, which names nothing. Their
layout is their own (no dashboard navigation, nothing of the vendor's: the seller's name
only). The token is in the URL, so these pages are sent with ``Referrer-Policy: no-referrer``
and ``Cache-Control: no-store``, and their errors are logged without the path. The dispute
form carries a token derived from the link's (an HMAC): see docs/decisions/0025.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Any
from urllib.parse import quote, unquote_to_bytes

from litestar import HttpMethod, get, post, route
from litestar.exceptions import HTTPException
from litestar.handlers import HTTPRouteHandler
from litestar.response import Response

from earnest.contract.duration import format_duration
from earnest.errors import Conflict, EarnestError, Invalid, NotFound
from earnest.service.history import HistoryEntry
from earnest.service.portal import DEFAULT_EXPIRES, PortalLink, parse_expires
from earnest.web.common import (
    CSRF_FIELD,
    AnyRequest,
    earnest,
    page,
    redirect,
    signed_in,
    utf8_text,
    whole_number,
)
from earnest.web.customers import period_text, total
from earnest.web.guard import admin_only, public, same_token
from earnest.web.render import HEADERS, HTML, render
from earnest.web.timeline import Step, steps

log = logging.getLogger("earnest.web.portal")

PORTAL = "/portal/"
INVOICES_PAGE = 50  # invoices per page of the portal's home
CHARGES_PAGE = 50  # charges per page of an invoice
LINKS_PAGE = 50  # links per page of a customer's portal links
MAX_SEQ = 2**63 - 1
MAX_ID = 255
NUL = "\x00"
FORM_KEY = b"earnest portal form"  # what a link's form token is the HMAC of
PORTAL_HEADERS = {**HEADERS, "Referrer-Policy": "no-referrer"}
STATES = {
    "open": "Not decided yet",
    "in_review": "In review: not decided yet",
    "confirmed": "Billed",
    "cancelled": "Not billed",
}
VENDOR_DISPUTE = "Dispute opened by the vendor."
ON_TIMEOUT = {
    "confirm": "billed unless something says otherwise",
    "cancel": "not billed without evidence",
}


class PortalMissing(NotFound):
    """Every portal 404: nothing in it says what was missing, or whose."""

    def __init__(self) -> None:
        super().__init__("nothing here")


# Answers ----------------------------------------------------------------------------------


def portal_page(template: str, context: dict[str, Any], *, status: int = 200) -> Response[str]:
    """A page in the portal's own layout, never the dashboard's (no session, no navigation)."""
    shared = {"csrf_field": CSRF_FIELD, "period_text": period_text, "total": total}
    body = render(template, {**shared, **context})
    return Response(body, status_code=status, media_type=HTML, headers=PORTAL_HEADERS)


def missing() -> Response[str]:
    return portal_page("portal/missing.html", {}, status=404)


def portal_error(request: AnyRequest, exc: Exception) -> Response[str]:
    """Errors of the portal's routes: never the dashboard's page, never the path in a log."""
    if isinstance(exc, NotFound):
        return missing()
    status, message = 500, "Something went wrong on our side. Please try again later."
    if isinstance(exc, Invalid):
        status, message = 422, exc.message
    elif isinstance(exc, EarnestError):
        status, message = 400, exc.message
    elif isinstance(exc, HTTPException) and 400 <= exc.status_code < 500:
        if exc.status_code == 404:
            return missing()
        status, message = exc.status_code, "This request was not understood."
    else:
        log.exception("unhandled error on a portal page: %s /portal/…", request.method)
    return portal_page("portal/error.html", {"message": message}, status=status)


def on_portal_path(path: str) -> bool:
    """Whether ``path`` is the portal's (``/portal/…``), whatever follows."""
    return path == PORTAL.rstrip("/") or path.startswith(PORTAL)


def portal_unmatched(request: AnyRequest, exc: Exception) -> Response[str]:
    """An error of a portal path no route answered (no such page, a method no page takes):
    the portal's one 404, as for an unknown token; any other as the portal's routes answer
    it. Never the dashboard's page (its layout, a ``Referer`` sent with the token)."""
    if isinstance(exc, NotFound) or (
        isinstance(exc, HTTPException) and exc.status_code in (404, 405)
    ):
        return missing()
    return portal_error(request, exc)


# The link --------------------------------------------------------------------------------


async def open_link(request: AnyRequest) -> PortalLink:
    token = str(request.path_params["token"])
    app = earnest(request)
    if app.reads_never_wait:  # one row by a unique index: never waits in WAL mode
        found = app.portal.open(token)
    else:
        found = await app.read(lambda: app.portal.open(token))
    if found is None:
        raise PortalMissing()
    return found


def form_token(token: str) -> str:
    """The dispute form's CSRF token: an HMAC of this link's token, so a form of one link
    is no good on another, and nothing but a page of this link can have it."""
    return hmac.new(token.encode(), FORM_KEY, hashlib.sha256).hexdigest()


def base_of(request: AnyRequest) -> str:
    return f"{PORTAL}{request.path_params['token']}"


def evidence_href(base: str, contract: str, ref: str) -> str:
    return f"{base}/outcomes/{quote(contract, safe='')}/{quote(ref, safe='')}"


def _context(request: AnyRequest, link: PortalLink, **more: Any) -> dict[str, Any]:
    base = base_of(request)
    return {"base": base, "link": link, "evidence_href": evidence_href, **more}


async def _who(request: AnyRequest, link: PortalLink) -> dict[str, Any]:
    app = earnest(request)
    customer, seller = await app.read(lambda: app.portal.customer(link))
    return {"customer": customer, "seller": seller}


# The portal's home: the customer's invoices ------------------------------------------------


def _position_after(request: AnyRequest) -> tuple[int, str] | None:
    raw = request.query_params.get("after")
    if raw is None:
        return None
    moment, _, ident = raw.partition(".")
    refused = "after is not a position this list gave"
    if not 0 < len(ident) <= MAX_ID or NUL in ident:
        raise Invalid(refused, field="after")
    return whole_number(moment, "after", low=1, high=MAX_SEQ, message=refused), ident


@get(f"{PORTAL}{{token:str}}", opt=public(), exception_handlers={Exception: portal_error})
async def portal_home(request: AnyRequest) -> Response[str]:
    link = await open_link(request)
    after = _position_after(request)
    app = earnest(request)
    found = await app.read(lambda: app.portal.invoices(link, limit=INVOICES_PAGE, after=after))
    older = None if found.after is None else f"{found.after[0]}.{found.after[1]}"
    context = _context(request, link, invoices=found.items, older=older, paged=after is not None)
    return portal_page("portal/home.html", {**context, **await _who(request, link)})


# An invoice -------------------------------------------------------------------------------


def _seq_after(request: AnyRequest) -> int | None:
    raw = request.query_params.get("after")
    if raw is None:
        return None
    refused = "after is not a position this list gave"
    return whole_number(raw, "after", low=1, high=MAX_SEQ, message=refused)


def _invoice_id(request: AnyRequest) -> str:
    ident = str(request.path_params["id"])
    if not ident or len(ident) > MAX_ID or NUL in ident:
        raise PortalMissing()
    return ident


@get(
    f"{PORTAL}{{token:str}}/invoices/{{id:str}}",
    opt=public(),
    exception_handlers={Exception: portal_error},
)
async def portal_invoice(request: AnyRequest) -> Response[str]:
    link = await open_link(request)
    ident, after = _invoice_id(request), _seq_after(request)
    app = earnest(request)
    statement = await app.read(
        lambda: app.portal.statement(link, ident, limit=CHARGES_PAGE, after=after)
    )
    names = {
        line.contract: line.description.rsplit(" (v", 1)[0] for line in statement.invoice.charges
    }
    context = _context(request, link, statement=statement, invoice=statement.invoice, names=names)
    return portal_page("portal/invoice.html", {**context, **await _who(request, link)})


@get(
    f"{PORTAL}{{token:str}}/invoices/{{id:str}}/pdf",
    opt=public(),
    exception_handlers={Exception: portal_error},
)
async def portal_invoice_pdf(request: AnyRequest) -> Response[bytes]:
    import anyio.to_thread  # noqa: PLC0415

    from earnest.service.documents import invoice_pdf  # noqa: PLC0415  (WeasyPrint is heavy)

    link = await open_link(request)
    ident = _invoice_id(request)
    app = earnest(request)

    def inputs() -> tuple[Any, Any, Any]:
        invoice = app.portal.invoice(link, ident)
        return invoice, app.customers.get(link.customer), app.settings.get()

    invoice, customer, settings = await app.read(inputs)
    base_url = settings.public_base_url or str(request.base_url).rstrip("/")
    pdf = await anyio.to_thread.run_sync(lambda: invoice_pdf(invoice, customer, settings, base_url))
    name = f"{invoice.row.number or invoice.id}.pdf"
    headers = {  # no CSP: a browser's PDF viewer may not show a document under one
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "Content-Disposition": f'inline; filename="{name}"',
    }
    return Response(pdf, media_type="application/pdf", headers=headers)


# An outcome's evidence, and its dispute ----------------------------------------------------


def outcome_of(request: AnyRequest, *, action: str | None) -> tuple[str, str]:
    """``(contract, ref)`` from the raw path (a reference may hold ``/``, sent as ``%2F``),
    followed by ``action`` if given; anything else is missing."""
    raw: bytes = request.scope.get("raw_path") or quote(request.scope["path"]).encode()
    raw = raw.partition(b"?")[0]  # httpx's ASGI transport (tests) leaves the query in it
    parts = raw.split(b"/")  # '', 'portal', token, 'outcomes', contract, ref[, action]
    wanted = 7 if action else 6
    if len(parts) != wanted or parts[3] != b"outcomes" or (action and parts[6] != action.encode()):
        raise PortalMissing()
    try:
        contract, ref = (unquote_to_bytes(part).decode() for part in parts[4:6])
    except UnicodeDecodeError:
        raise PortalMissing() from None
    if not contract or not ref or NUL in contract + ref or max(len(contract), len(ref)) > MAX_ID:
        raise PortalMissing()
    return contract, ref


async def _evidence_page(
    request: AnyRequest,
    link: PortalLink,
    contract: str,
    ref: str,
    *,
    reason: str = "",
    error: str | None = None,
    refused: str | None = None,
    status: int = 200,
) -> Response[str]:
    after = _seq_after(request) if status == 200 else None
    app = earnest(request)
    evidence = await app.read(
        lambda: app.portal.evidence(link, contract, ref, after_seq=after or 0)
    )
    outcome = evidence.outcome
    base = base_of(request)
    context = _context(
        request, link,
        evidence=evidence, outcome=outcome, contract=outcome.contract,
        timeline=public_steps(evidence.history, currency=outcome.contract.price.currency),
        credit_why=credit_why,
        invoice_base=f"{base}/invoices/", state=STATES.get(outcome.state.value, ""),
        on_timeout=ON_TIMEOUT.get(outcome.contract.on_timeout.value, ""),
        here=evidence_href(base, contract, ref),
        action=evidence_href(base, contract, ref) + "/dispute",
        form_token=form_token(str(request.path_params["token"])),
        reason=reason, error=error, refused=refused,
        disputed=request.query_params.get("disputed") == "1", duration=format_duration,
        later=evidence.later, paged=after is not None,
    )  # fmt: skip
    return portal_page(
        "portal/evidence.html", {**context, **await _who(request, link)}, status=status
    )


def public_steps(history: Sequence[HistoryEntry], *, currency: str) -> list[Step]:
    """The timeline of ``history`` (entries in the customer's view,
    :func:`~earnest.service.portal.public_entry`): a dispute the vendor opened, whose reason
    is not the customer's to read, says only that the vendor opened it."""
    found = steps(history, currency=currency)
    return [
        replace(step, sentence=VENDOR_DISPUTE)
        if entry.kind == "dispute"
        and entry.data.get("action") == "opened"
        and "reason" not in entry.data
        else step
        for entry, step in zip(history, found, strict=True)
    ]


def credit_why(reason: str | None) -> str:
    """A credit's reason on the evidence page: a dispute's credit says so without the
    vendor's note (the credit's invoice line carries it, as SPEC 6 has it); a late signal's
    names the signal, as the timeline does."""
    if not reason:
        return ""
    if reason == "dispute" or reason.startswith("dispute:"):
        return "a dispute was resolved with this credit"
    return reason if reason.startswith("late signal") else ""


OUTCOME_PATH = f"{PORTAL}{{token:str}}/outcomes/{{contract:str}}/{{ref:path}}"


@get(OUTCOME_PATH, opt=public(), exception_handlers={Exception: portal_error})
async def portal_evidence(request: AnyRequest) -> Response[str]:
    link = await open_link(request)
    contract, ref = outcome_of(request, action=None)
    return await _evidence_page(request, link, contract, ref)


@post(OUTCOME_PATH, opt=public(), exception_handlers={Exception: portal_error})
async def portal_dispute(request: AnyRequest) -> Response[str]:
    """Dispute a charge in the link's name (actor ``portal:<link id>``). The link is checked
    before the body is read, again once it is read (a slow client may take its time), and
    by :meth:`Portal.dispute` in the transaction that records the dispute."""
    await open_link(request)
    contract, ref = outcome_of(request, action="dispute")
    form = await request.form()
    link = await open_link(request)
    sent, reason = form.get(CSRF_FIELD), form.get("reason")
    shown = reason[:2_000] if isinstance(reason, str) else ""
    if not same_token(sent if isinstance(sent, str) else None, form_token(link_token(request))):
        message = "This form is out of date. Reload the page and try again."
        return await _evidence_page(
            request, link, contract, ref, reason=shown, refused=message, status=403
        )
    app = earnest(request)
    try:
        if isinstance(reason, str):
            utf8_text(reason, "reason")  # bytes that were not UTF-8: refused, never guessed
        token = link_token(request)
        await app.write(lambda: app.portal.dispute(token, contract, ref, reason))
    except Invalid as invalid:
        return await _evidence_page(
            request, link, contract, ref, reason=shown, error=invalid.message, status=422
        )
    except Conflict as conflict:
        return await _evidence_page(
            request, link, contract, ref, reason=shown, refused=refusal(conflict), status=409
        )
    return redirect(evidence_href(base_of(request), contract, ref) + "?disputed=1")


@route(
    [
        f"{PORTAL}{{token:str}}",
        f"{PORTAL}{{token:str}}/invoices/{{id:str}}",
        f"{PORTAL}{{token:str}}/invoices/{{id:str}}/pdf",
        OUTCOME_PATH,
    ],
    http_method=[HttpMethod.OPTIONS],
    opt=public(),
    exception_handlers={Exception: portal_error},
)
async def portal_options(request: AnyRequest) -> Response[str]:
    """``OPTIONS`` on a portal page (no page takes it; a CORS preflight, which the portal
    never allows): the portal's one 404, rather than Litestar's own answer under the
    dashboard's guard (a redirect to sign in)."""
    return missing()


def link_token(request: AnyRequest) -> str:
    return str(request.path_params["token"])


def refusal(conflict: Conflict) -> str:
    if conflict.code == "dispute_open":
        return "This charge is already disputed: the vendor is looking into it."
    if conflict.code == "not_confirmed":
        return "Only a billed charge can be disputed, and this one is not billed."
    return conflict.message


# The dashboard: a customer's portal links -------------------------------------------------


def _customer_id(request: AnyRequest) -> str:
    ident = str(request.path_params["id"])
    if not ident or len(ident) > MAX_ID or NUL in ident:
        raise NotFound(f"no customer {ident[:64]!r}", field="id")
    return ident


def links_href(customer: str) -> str:
    return f"/customers/{quote(customer, safe='')}/portal-links"


async def _links_page(
    request: AnyRequest,
    customer_id: str,
    *,
    created: Any = None,
    expires: str = DEFAULT_EXPIRES,
    error: str | None = None,
    status: int = 200,
) -> Response[str]:
    after = _position_after(request)
    app = earnest(request)

    def load() -> tuple[Any, Any]:
        customer = app.customers.get(customer_id)
        return customer, app.portal.list(customer_id, limit=LINKS_PAGE, after=after)

    customer, found = await app.read(load)
    older = None if found.after is None else f"{found.after[0]}.{found.after[1]}"
    context = {
        "customer": customer, "links": found.items, "older": older, "paged": after is not None,
        "now": app.clock(), "href": links_href(customer_id), "created": created,
        "customer_url": f"/customers/{quote(customer_id, safe='')}",
        "expires": expires, "error": error,
        "revoked": request.query_params.get("revoked"),
    }  # fmt: skip
    return page(request, "portal/links.html", context, active="customers", status=status)


@get("/customers/{id:str}/portal-links")
async def links_page(request: AnyRequest) -> Response[str]:
    return await _links_page(request, _customer_id(request))


@post("/customers/{id:str}/portal-links", opt=admin_only())
async def create_link(request: AnyRequest) -> Response[str]:
    """A new link as the signed-in user; its URL is on this answer only."""
    customer = _customer_id(request)
    form = await request.form()
    expires = form.get("expires")
    wanted = expires.strip() if isinstance(expires, str) and expires.strip() else DEFAULT_EXPIRES
    app, who = earnest(request), signed_in(request).user.email
    base = str(request.base_url).rstrip("/")
    try:
        seconds = parse_expires(wanted, field="expires")
        created = await app.write(
            lambda: app.portal.create(customer, seconds, base_url=base, actor=who)
        )
    except Invalid as invalid:
        shown = expires[:64] if isinstance(expires, str) else ""
        return await _links_page(
            request, customer, expires=shown, error=invalid.message, status=422
        )
    return await _links_page(request, customer, created=created, status=201)


@post("/customers/{id:str}/portal-links/{link:str}/revoke", opt=admin_only())
async def revoke_link(request: AnyRequest) -> Response[str]:
    customer = _customer_id(request)
    ident = str(request.path_params["link"])
    if len(ident) > MAX_ID or NUL in ident:
        raise NotFound(f"no portal link {ident[:64]!r}", field="link")
    app, who = earnest(request), signed_in(request).user.email
    await app.write(lambda: app.portal.revoke(customer, ident, actor=who))
    return redirect(f"{links_href(customer)}?revoked={quote(ident, safe='')}")


#: This module's route handlers, mounted by :func:`earnest.web.dashboard`.
ROUTES: list[HTTPRouteHandler] = [
    portal_options,  # first: a path's first handler without OPTIONS gets Litestar's own
    portal_home,
    portal_invoice,
    portal_invoice_pdf,
    portal_evidence,
    portal_dispute,
    links_page,
    create_link,
    revoke_link,
]
