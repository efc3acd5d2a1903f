"""Who may do what on the dashboard (SPEC 11 and 12), over every route and method it has:
signed out, viewer, admin; forged, expired, signed-out sessions and those of a disabled user;
a missing, wrong or another session's CSRF token. A refusal changes nothing, and answers a
302 to the sign-in page or a 403, never a 5xx."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from earnest.service.activity import CLI
from tests.web import (
    access_contracts,
    access_customers,
    access_invoices,
    access_outcomes,
    access_portal,
    access_webhooks,
)
from tests.web.conftest import ADMIN, PASSWORD, VIEWER, Web, csrf_of

#: The routes of the foundation: (method, path template) -> what it is. ``page``: a
#: signed-in read; ``admin``: an admin's change; ``user``: any user's change; ``public``: no
#: session needed. Each area of the dashboard declares its own in ``access_<area>.py``.
CORE_ROUTES = {
    ("GET", "/"): "page",
    ("GET", "/activity"): "page",
    ("GET", "/settings"): "page",
    ("POST", "/settings"): "admin",
    ("POST", "/sign-out"): "user",
    ("GET", "/sign-in"): "public",
    ("POST", "/sign-in"): "public",
    ("GET", "/static/{name:str}"): "public",
}
#: A request of each route, with a body that would change something if it were allowed.
CORE_REQUESTS: dict[tuple[str, str], tuple[str, dict[str, str]]] = {
    ("GET", "/"): ("/", {}),
    ("GET", "/activity"): ("/activity", {}),
    ("GET", "/settings"): ("/settings", {}),
    ("POST", "/settings"): ("/settings", {"seller_name": "Changed Ltd", "invoice_grace": "1h"}),
    ("POST", "/sign-out"): ("/sign-out", {}),
}
AREAS = (
    access_contracts,
    access_outcomes,
    access_customers,
    access_invoices,
    access_webhooks,
    access_portal,
)
ROUTES = {**CORE_ROUTES, **{k: v for area in AREAS for k, v in area.ROUTES.items()}}
REQUESTS = {**CORE_REQUESTS, **{k: v for area in AREAS for k, v in area.REQUESTS.items()}}
API_PATHS = ("/v1", "/healthz", "/openapi.json")


@pytest.fixture(autouse=True)
def seeded(web: Web) -> None:
    """What the areas' requests name (a contract, a customer, outcomes, ...)."""
    for area in AREAS:
        area.seed(web.app)


def dashboard_routes(web: Web) -> set[tuple[str, str]]:
    app = web.client.app
    assert app is not None
    found = set()
    for route in app.routes:
        if route.path.startswith(API_PATHS):
            continue
        for method in route.methods:
            if method not in ("HEAD", "OPTIONS"):
                found.add((method, route.path))
    return found


def test_the_matrix_names_every_dashboard_route(web: Web) -> None:
    assert dashboard_routes(web) == set(ROUTES)
    assert {key for key, kind in ROUTES.items() if kind not in ("public", "portal")} <= set(
        REQUESTS
    )
    assert {key for key, kind in ROUTES.items() if kind not in ("public", "portal")} == {
        key for key in REQUESTS if ROUTES[key] != "portal"
    }


#: Columns that change on reads, outside the audit chains: usage stamps.
STAMPS = {"sessions": ("last_seen_at", "expires_at"), "api_keys": ("last_used_at",)}


def state(web: Web) -> dict[str, list[Any]]:
    """Everything a dashboard request could change: every row of every table (but the
    usage stamps a read moves on)."""
    found: dict[str, list[Any]] = {}
    with web.app.db.read() as tx:
        tables = tx.query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        for (table,) in tables:
            columns = [row[1] for row in tx.query(f"PRAGMA table_info({table})")]
            kept = [c for c in columns if c not in STAMPS.get(table, ())]
            listed = ", ".join(f'"{c}"' for c in kept)
            found[table] = sorted(tx.query(f'SELECT {listed} FROM "{table}"'), key=repr)
    return found


def send(web: Web, key: tuple[str, str], csrf: str | None) -> httpx.Response:
    path, body = REQUESTS[key]
    if key[0] == "GET":
        return web.get(path)
    data = dict(body) if csrf is None else {**body, "csrf_token": csrf}
    return web.post(path, data)


def assert_sent_to_sign_in(response: httpx.Response, path: str) -> None:
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith("/sign-in")
    if path != "/" and response.request.method == "GET":
        assert location == f"/sign-in?next={quote(path, safe='/')}"  # back there after


# Without a live session: every route but the public ones sends to the sign-in page --------


def _no_cookie(web: Web) -> None:
    web.as_session(None)


def _forged(web: Web) -> None:
    web.as_session(secrets.token_urlsafe(32))


def _expired(web: Web) -> None:
    web.session(ADMIN)
    web.clock.advance(hours=12)


def _signed_out(web: Web) -> None:
    signed = web.session(ADMIN)
    web.app.users.sign_out(signed.token)


def _disabled(web: Web) -> None:
    web.session(ADMIN)
    web.app.users.set_disabled(ADMIN, True, actor=CLI)


def _garbage(web: Web) -> None:
    web.as_session("\x7f" * 300)


NO_SESSION: dict[str, Callable[[Web], None]] = {
    "signed out": _no_cookie,
    "forged": _forged,
    "expired": _expired,
    "signed-out session": _signed_out,
    "disabled user": _disabled,
    "garbage cookie": _garbage,
}


@pytest.mark.parametrize("who", NO_SESSION)
@pytest.mark.parametrize("key", REQUESTS)
def test_without_a_live_session_nothing_but_sign_in(
    web: Web, who: str, key: tuple[str, str]
) -> None:
    NO_SESSION[who](web)
    before = state(web)
    response = send(web, key, csrf="x" * 43)
    assert_sent_to_sign_in(response, REQUESTS[key][0])
    if who != "signed out":  # the browser is told to forget the dead cookie
        assert 'earnest_session=""' in response.headers.get("set-cookie", "")
    assert state(web) == before


# With a live session: CSRF on every change, the role on admin routes ----------------------


def _csrf(web: Web, case: str, own: str) -> str | None:
    if case == "missing":
        return None
    if case == "wrong":
        return secrets.token_urlsafe(32)
    if case == "empty":
        return ""
    other = web.app.users.sign_in(VIEWER, PASSWORD, "192.0.2.11").csrf  # another session's
    assert other != own
    return other


@pytest.mark.parametrize("case", ["missing", "wrong", "empty", "another session's"])
@pytest.mark.parametrize("email", [ADMIN, VIEWER])
@pytest.mark.parametrize("key", [k for k in REQUESTS if k[0] == "POST"])
def test_a_change_without_its_sessions_csrf_token_is_refused(
    web: Web, key: tuple[str, str], email: str, case: str
) -> None:
    signed = web.session(email)
    token = _csrf(web, case, signed.csrf)
    before = state(web)
    response = send(web, key, csrf=token)
    assert response.status_code == 403, response.text
    assert "out of date" in response.text
    assert state(web) == before
    assert web.app.users.session(signed.token) is not None  # not signed out either


def test_a_viewer_reads_every_page_and_changes_nothing(web: Web) -> None:
    signed = web.session(VIEWER)
    for key, (path, _) in REQUESTS.items():
        if key[0] == "GET":
            assert web.get(path).status_code == 200, path
    before = state(web)
    response = send(web, ("POST", "/settings"), csrf=signed.csrf)
    assert response.status_code == 403
    assert "only an admin" in response.text
    assert state(web) == before
    header = {"X-CSRF-Token": signed.csrf}  # the htmx way of sending the token: same answer
    sent = web.client.post("/settings", data={"seller_name": "X"}, headers=header)
    assert sent.status_code == 403
    assert state(web) == before


def test_an_admin_changes_settings_as_itself(web: Web) -> None:
    signed = web.session(ADMIN)
    response = send(web, ("POST", "/settings"), csrf=signed.csrf)
    assert response.status_code == 303
    assert response.headers["location"] == "/settings?saved=1"
    assert web.app.settings.get().seller_name == "Changed Ltd"
    entry = web.app.activity.list(limit=1).items[0]
    assert (entry.actor, entry.action) == (ADMIN, "settings.updated")
    assert entry.after == {"seller_name": "Changed Ltd", "invoice_grace": "1h"}


@pytest.mark.parametrize("email", [ADMIN, VIEWER])
def test_sign_out_ends_the_session(web: Web, email: str) -> None:
    signed = web.session(email)
    response = send(web, ("POST", "/sign-out"), csrf=signed.csrf)
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in"
    assert web.app.users.session(signed.token) is None
    web.as_session(signed.token)  # the old cookie, kept by hand: nothing
    assert_sent_to_sign_in(web.get("/activity"), "/activity")


# The public routes -------------------------------------------------------------------------


def test_static_files_and_the_sign_in_page_need_no_session(web: Web) -> None:
    web.as_session(None)
    assert web.get("/static/earnest.css").status_code == 200
    assert web.get("/sign-in").status_code == 200


@pytest.mark.parametrize("case", ["missing", "wrong", "no cookie"])
def test_a_sign_in_without_its_forms_token_is_refused(web: Web, case: str) -> None:
    web.as_session(None)
    page = web.get("/sign-in")
    token = csrf_of(page)
    if case == "no cookie":
        web.client.cookies.clear()
    body = {"email": ADMIN, "password": PASSWORD}
    if case != "missing":
        body["csrf_token"] = token if case == "no cookie" else secrets.token_urlsafe(32)
    before = state(web)
    response = web.post("/sign-in", body)
    assert response.status_code == 403
    assert "expired" in response.text
    assert "earnest_session" not in response.headers.get("set-cookie", "")
    assert state(web) == before


def test_a_signed_in_browser_is_sent_on_from_the_sign_in_page(web: Web) -> None:
    web.session(VIEWER)
    response = web.get("/sign-in?next=/activity")
    assert response.status_code == 303
    assert response.headers["location"] == "/activity"
