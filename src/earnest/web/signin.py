"""Signing in and out (SPEC 11).

The sign-in form has no session to carry a CSRF token yet, so it carries a random one that is
also in a cookie only this page receives (``SameSite=Strict``): a form posted from another
site cannot know it (login CSRF). Every refusal reads the same; a blocked email or address is
told when to try again (429, ``Retry-After``). Success starts a new session (a new token
whatever the browser had, so a planted cookie is never promoted) and returns to ``?next=``.
"""

from __future__ import annotations

import secrets
from typing import Any

from litestar import get, post
from litestar.response import Response

from earnest.errors import EarnestError
from earnest.service.users import MAX_EMAIL, MAX_PASSWORD, SignInRefused, TooManySignIns
from earnest.web.common import (
    CSRF_FIELD,
    SESSION_COOKIE,
    SIGN_IN,
    SIGN_IN_COOKIE,
    AnyRequest,
    client_address,
    current,
    earnest,
    page,
    redirect,
    safe_next,
    session_cookie,
    sign_in_cookie,
)
from earnest.web.guard import public, same_token

TOKEN_CHARS = 43  # secrets.token_urlsafe(32)


def _form_token(request: AnyRequest) -> str:
    """The browser's sign-in token if it has a well-formed one (other tabs keep working),
    else a new one."""
    held = request.cookies.get(SIGN_IN_COOKIE, "")
    if (
        len(held) == TOKEN_CHARS
        and held.isascii()
        and held.replace("-", "").replace("_", "").isalnum()
    ):
        return held
    return secrets.token_urlsafe(32)


def _form(
    request: AnyRequest,
    *,
    email: str = "",
    next_path: str = "/",
    error: str | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response[str]:
    token = _form_token(request)
    context: dict[str, Any] = {
        "email": email,
        "next": next_path,
        "error": error,
        "sign_in_token": token,
        "max_email": MAX_EMAIL,
        "max_password": MAX_PASSWORD,
    }
    answer = page(request, "sign_in.html", context, status=status, headers=headers)
    answer.set_cookie(sign_in_cookie(request, token))
    return answer


@get(SIGN_IN, opt=public())
async def sign_in_page(request: AnyRequest) -> Response[str]:
    next_path = safe_next(request.query_params.get("next"))
    if current(request) is not None:
        return redirect(next_path)
    return _form(request, next_path=next_path)


@post(SIGN_IN, opt=public())
async def sign_in(request: AnyRequest) -> Response[str]:
    form = await request.form()
    email, password, next_value = form.get("email"), form.get("password"), form.get("next")
    next_path = safe_next(next_value)
    shown = email[:MAX_EMAIL] if isinstance(email, str) else ""
    sent = form.get(CSRF_FIELD)
    if not same_token(
        sent if isinstance(sent, str) else None, request.cookies.get(SIGN_IN_COOKIE, "")
    ):
        message = "This sign-in form had expired. Please sign in again."
        return _form(request, email=shown, next_path=next_path, error=message, status=403)
    app, address = earnest(request), client_address(request)
    replacing = request.cookies.get(SESSION_COOKIE)
    try:
        check = await app.read(lambda: app.users.check_sign_in(email, password, address))
        signed_in = await app.write(lambda: app.users.finish_sign_in(check, replacing=replacing))
    except TooManySignIns as error:
        retry = {"Retry-After": str(error.retry_after_s)}
        message = f"Too many failed sign-ins. Try again in {error.retry_after_s} seconds."
        return _form(
            request, email=shown, next_path=next_path, error=message, status=429, headers=retry
        )
    except SignInRefused:
        message = "The email or the password is wrong."
        return _form(request, email=shown, next_path=next_path, error=message, status=401)
    except EarnestError as error:  # anything else a use case refuses: the same form, its reason
        return _form(request, email=shown, next_path=next_path, error=error.message, status=422)
    answer = redirect(next_path)
    answer.set_cookie(session_cookie(request, signed_in.token))
    answer.delete_cookie(SIGN_IN_COOKIE, path=SIGN_IN)
    return answer


@post("/sign-out")
async def sign_out(request: AnyRequest) -> Response[str]:
    """The guard has checked the session and its CSRF token: end the session."""
    app, token = earnest(request), request.cookies.get(SESSION_COOKIE)
    await app.write(lambda: app.users.sign_out(token))
    answer = redirect(SIGN_IN)
    answer.delete_cookie(SESSION_COOKIE, path="/")
    return answer
