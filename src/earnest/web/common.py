"""What every dashboard handler needs: the application, the signed-in session, a page with
its layout, redirects and the session's cookie."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.response import Response

from earnest.app import Earnest
from earnest.errors import Invalid, NotFound
from earnest.service.users import CurrentSession
from earnest.web.render import HEADERS, HTML, render

AnyRequest = Request[Any, Any, Any]
Connection = ASGIConnection[Any, Any, Any, Any]

SESSION_COOKIE = "earnest_session"
SIGN_IN_COOKIE = "earnest_sign_in"  # the sign-in form's CSRF token, before any session
CSRF_FIELD = "csrf_token"
SIGN_IN = "/sign-in"
MAX_NEXT = 2_000  # characters of a ?next= path
MAX_ID = 255  # characters of an id in a path or a query (as the API)
MAX_INT = 2**63 - 1  # the largest number a store's integer column holds
MAX_DIGITS = len(str(MAX_INT))  # 19
NUL = "\x00"  # PostgreSQL text columns cannot hold it
REPLACED = "\ufffd"  # what the form and query decoders put for bytes that are not UTF-8

#: The navigation (SPEC 11), in its order: (key, path, label). A page passes its key as
#: ``active`` to :func:`page`.
NAV = (
    ("overview", "/", "Overview"),
    ("contracts", "/contracts", "Contracts"),
    ("outcomes", "/outcomes", "Outcomes"),
    ("customers", "/customers", "Customers"),
    ("invoices", "/invoices", "Invoices"),
    ("webhooks", "/webhooks", "Webhooks"),
    ("activity", "/activity", "Activity"),
    ("settings", "/settings", "Settings"),
)


@dataclass(frozen=True, slots=True)
class WebConfig:
    """How the dashboard is served. ``secure_cookies``: mark cookies ``Secure`` always
    (True), never (False), or when the request came over https (None; behind a proxy on
    this machine, uvicorn takes the scheme from ``X-Forwarded-Proto``)."""

    secure_cookies: bool | None = None


def earnest(request: Connection) -> Earnest:
    app: Earnest = request.app.state.earnest
    return app


def config(request: Connection) -> WebConfig:
    found: WebConfig = request.route_handler.opt.get("web", WebConfig())
    return found


def current(request: Connection) -> CurrentSession | None:
    """The request's live session (the guard looked it up), or None on a public page."""
    found: CurrentSession | None = getattr(request.state, "session", None)
    return found


def signed_in(request: Connection) -> CurrentSession:
    found = current(request)
    assert found is not None, "the guard lets no signed-out request reach this handler"
    return found


def page(
    request: Connection,
    template: str,
    context: dict[str, Any],
    *,
    active: str | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response[str]:
    """``template`` in the layout: the navigation, who is signed in, the CSRF token."""
    session = current(request)
    base = {
        "session": session,
        "csrf": session.csrf if session is not None else "",
        "nav": NAV if session is not None else (),
        "active": active,
        "csrf_field": CSRF_FIELD,
    }
    body = render(template, {**base, **context})
    return Response(
        body, status_code=status, media_type=HTML, headers={**HEADERS, **(headers or {})}
    )


def redirect(location: str, *, status: int = 303) -> Response[str]:
    """Go to ``location`` (a path of this site); 303 after a form, so the browser GETs it."""
    return Response("", status_code=status, headers={**HEADERS, "Location": location})


def safe_next(value: Any) -> str:
    """A ``?next=`` to return to after signing in: a path of this site, else ``/``."""
    if not isinstance(value, str) or not value.startswith("/") or len(value) > MAX_NEXT:
        return "/"
    if value.startswith(("//", "/\\")) or not value.isprintable() or value.startswith(SIGN_IN):
        return "/"
    return value


def sign_in_url(next_path: str | None) -> str:
    if next_path is None or safe_next(next_path) == "/":
        return SIGN_IN
    return f"{SIGN_IN}?next={quote(next_path, safe='/')}"


def secure(request: Connection) -> bool:
    setting = config(request).secure_cookies
    return request.url.scheme == "https" if setting is None else setting


def session_cookie(request: Connection, token: str) -> Cookie:
    """HttpOnly (no script reads it), SameSite=Lax (no other site's form sends it), kept
    until the browser closes: the server ends the session at sign-out or when idle."""
    return Cookie(
        key=SESSION_COOKIE,
        value=token,
        path="/",
        httponly=True,
        samesite="lax",
        secure=secure(request),
    )


def sign_in_cookie(request: Connection, token: str) -> Cookie:
    return Cookie(
        key=SIGN_IN_COOKIE,
        value=token,
        path=SIGN_IN,
        httponly=True,
        samesite="strict",
        secure=secure(request),
    )


def client_address(request: Connection) -> str:
    """The address sign-ins are throttled by (a proxy on this machine may forward it)."""
    client = request.client
    return client.host if client is not None and client.host else "unknown"


# Reading the request ----------------------------------------------------------------------


def whole_number(
    raw: str, field: str, *, low: int = 1, high: int = MAX_INT, message: str | None = None
) -> int:
    """``raw`` (a query or path value) as a whole number from ``low`` to ``high`` (at most
    :data:`MAX_INT`, what the store's integer columns hold); else :class:`Invalid` naming
    ``field`` (``message``, or one saying what is wanted). Only ASCII digits; leading zeros
    are allowed, but never make Python's ``int()`` read more than 19 digits."""
    digits = raw.lstrip("0")
    if (
        not raw
        or not raw.isascii()
        or not raw.isdigit()
        or len(digits) > MAX_DIGITS
        or not low <= int(digits or "0") <= high
    ):
        shown = raw[:40] + ("…" if len(raw) > 40 else "")
        wanted = f"{field} is a whole number from {low} to {high}, got {shown!r}"
        raise Invalid(message or wanted, field=field)
    return int(digits or "0")


def identifier(value: str, field: str) -> str:
    """An id sent in a query or a form: 1 to 255 characters without U+0000 (what a text
    column of either store holds), else :class:`Invalid` naming ``field``."""
    if not value or len(value) > MAX_ID or NUL in value:
        raise Invalid(f"{field} is 1 to {MAX_ID} characters, without U+0000", field=field)
    return value


def path_id(request: AnyRequest, name: str = "id", *, what: str = "customer") -> str:
    """A path segment naming a stored thing: else 404 (nothing stored has U+0000 or more
    than 255 characters in its id)."""
    value = str(request.path_params[name])
    if not value or NUL in value or len(value) > MAX_ID:
        raise NotFound(f"no {what} {value[:64]!r}", field=name)
    return value


def text_param(request: AnyRequest, name: str) -> str | None:
    """An identifier in the query string (empty: not given), as the API's filters read it:
    at most 255 characters, no U+0000."""
    value: str | None = request.query_params.get(name)
    if not value:
        return None
    return identifier(value, name)


def utf8_text(value: str, field: str) -> str:
    """A form's text as sent, refused (:class:`Invalid` naming ``field``) when its bytes
    were not UTF-8: the decoder put U+FFFD for them, and a guess is never stored."""
    if REPLACED in value:
        raise Invalid(f"{field} is not valid UTF-8 text (the form sent other bytes)", field=field)
    return value
