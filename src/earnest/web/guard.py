"""Who may do what on the dashboard, checked on the server for every request (SPEC 11).

The router's ``before_request`` hook, :func:`guard`, runs before every handler:

1. It looks the session cookie up. Unknown, signed out, idle for 12 hours or of a disabled
   user: no session.
2. A route marked :func:`public` (the sign-in page, static files) goes on as it is.
3. Without a session, :class:`SignInRequired`: a redirect to the sign-in page.
4. Any method but GET, HEAD and OPTIONS must carry the session's CSRF token, in the form's
   ``csrf_token`` field or an ``X-CSRF-Token`` header (htmx): else 403.
5. A route marked :func:`admin_only` refuses a viewer: 403, whatever the page shows or hides.
6. The session's idle clock starts again (written at most every 5 minutes).
"""

from __future__ import annotations

import hmac
from typing import Any

from earnest.errors import Forbidden, Unauthorized
from earnest.service.users import CurrentSession
from earnest.web.common import CSRF_FIELD, SESSION_COOKIE, AnyRequest, earnest

SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "x-csrf-token"


def public() -> dict[str, Any]:
    """Route ``opt``: no session needed."""
    return {"public": True}


def admin_only() -> dict[str, Any]:
    """Route ``opt``: admins only."""
    return {"admin": True}


class SignInRequired(Unauthorized):
    code = "sign_in_required"

    def __init__(self) -> None:
        super().__init__("sign in to see this page")


class CsrfRefused(Forbidden):
    code = "csrf_refused"

    def __init__(self) -> None:
        super().__init__(
            "this form is out of date or did not come from this dashboard: reload the page"
            " and try again"
        )


class AdminOnly(Forbidden):
    code = "admin_only"

    def __init__(self) -> None:
        super().__init__("only an admin may change this")


async def current_session(request: AnyRequest) -> CurrentSession | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    app = earnest(request)
    if app.reads_never_wait:  # one row by primary key: never waits in WAL mode
        return app.users.session(token)
    return await app.read(lambda: app.users.session(token))


async def guard(request: AnyRequest) -> None:
    found = await current_session(request)
    request.state.session = found
    opt = request.route_handler.opt
    if opt.get("public"):
        return
    if found is None:
        raise SignInRequired()
    if request.method not in SAFE and not same_token(await sent_csrf(request), found.csrf):
        raise CsrfRefused()
    if opt.get("admin") and not found.is_admin:
        raise AdminOnly()
    app = earnest(request)
    if app.users.needs_touch(found, app.clock()):
        await app.write(lambda: app.users.touch(found))


async def sent_csrf(request: AnyRequest) -> str | None:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    value = (await request.form()).get(CSRF_FIELD)
    return value if isinstance(value, str) else None


def same_token(sent: str | None, expected: str) -> bool:
    """In constant time (a token's prefix is never confirmed)."""
    if not sent or not expected:
        return False
    return hmac.compare_digest(sent.encode(), expected.encode())
