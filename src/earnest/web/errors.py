"""Every error the dashboard answers, as a page (or, signed out, a redirect to sign in).

Use cases raise :class:`~earnest.errors.EarnestError`; its branch gives the status. Litestar's
own 4xx (a body over the limit, a malformed form) become the same page. Anything else is a
bug: logged, and answered 500 with no detail.
"""

from __future__ import annotations

import logging

from litestar.exceptions import HTTPException
from litestar.response import Response

from earnest.errors import (
    Conflict,
    EarnestError,
    Forbidden,
    Invalid,
    NotFound,
    Unauthorized,
    Unavailable,
)
from earnest.service.users import TooManySignIns
from earnest.web.common import SESSION_COOKIE, AnyRequest, page, redirect, sign_in_url
from earnest.web.guard import SignInRequired

log = logging.getLogger("earnest.web")

_BY_CLASS: tuple[tuple[type[EarnestError], int], ...] = (
    (TooManySignIns, 429),
    (Invalid, 422),
    (NotFound, 404),
    (Conflict, 409),
    (Unauthorized, 401),
    (Forbidden, 403),
    (Unavailable, 503),
)
_TITLES = {
    400: "Bad request",
    401: "Not signed in",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed",
    409: "Conflict",
    413: "Too large",
    422: "Not accepted",
    429: "Too many attempts",
    500: "Something went wrong",
    503: "Unavailable",
}


def status_of(error: EarnestError) -> int:
    return next((status for kind, status in _BY_CLASS if isinstance(error, kind)), 500)


def error_page(request: AnyRequest, status: int, message: str) -> Response[str]:
    title = _TITLES.get(status, "Error")
    return page(request, "error.html", {"title": title, "message": message}, status=status)


def handle_exception(request: AnyRequest, exc: Exception) -> Response[str]:
    if isinstance(exc, SignInRequired):
        wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        answer = redirect(sign_in_url(wanted if request.method == "GET" else None), status=302)
        if SESSION_COOKIE in request.cookies:  # forged, expired or signed out: forget it
            answer.delete_cookie(SESSION_COOKIE, path="/")
        return answer
    if isinstance(exc, EarnestError):
        return error_page(request, status_of(exc), exc.message)
    if isinstance(exc, HTTPException) and 400 <= exc.status_code < 500:
        return error_page(request, exc.status_code, _TITLES.get(exc.status_code, "Bad request"))
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_page(request, 500, "An unexpected error happened; it has been logged.")
