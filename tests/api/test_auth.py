"""The scope matrix over every endpoint: no key, a wrong key and a revoked key get 401; a key
of a scope that does not reach the endpoint gets 403; every other key gets through."""

from __future__ import annotations

import re
from typing import Any

import pytest

from earnest.api import create_app
from earnest.app import Earnest
from earnest.store.keys import revoke_key
from tests.api.conftest import Api
from tests.contracts import T0

SIGNAL = {"contract": "landing", "outcome": "o", "customer": "acme", "signal": "completed"}
# (method, path, body, the least scope); admin reaches everything.
ENDPOINTS: list[tuple[str, str, Any, str]] = [
    ("PUT", "/v1/contracts/landing", {"conditions": "a", "price": "$1", "active_for": "1h",
                                      "review_window": "0s"}, "admin"),
    ("POST", "/v1/contracts/validate?key=x", {"conditions": "a", "price": "$1",
                                             "active_for": "1h", "review_window": "0s"}, "read"),
    ("GET", "/v1/contracts", None, "read"),
    ("GET", "/v1/contracts/landing", None, "read"),
    ("GET", "/v1/contracts/landing/versions/1", None, "read"),
    ("POST", "/v1/contracts/landing/backtest", {"conditions": "a", "price": "$1",
                                               "active_for": "1h", "review_window": "0s"}, "read"),
    ("POST", "/v1/contracts/landing/archive", None, "admin"),
    ("POST", "/v1/signals", SIGNAL, "ingest"),
    ("POST", "/v1/signals/batch", {"signals": [SIGNAL]}, "ingest"),
    ("POST", "/v1/outcomes", {"contract": "landing", "outcome": "o", "customer": "acme"},
     "ingest"),
    ("GET", "/v1/outcomes", None, "read"),
    ("GET", "/v1/outcomes/landing/o", None, "read"),
    ("GET", "/v1/outcomes/landing/o/history", None, "read"),
    ("POST", "/v1/outcomes/landing/o/settle", {"decision": "cancel", "reason": "r"}, "admin"),
    ("GET", "/v1/customers", None, "read"),
    ("GET", "/v1/customers/acme", None, "read"),
    ("PUT", "/v1/customers/acme", {"billing_day": 2}, "admin"),
    ("POST", "/v1/keys", {"scope": "read"}, "admin"),
    ("GET", "/v1/keys", None, "admin"),
    ("DELETE", "/v1/keys/kunknown", None, "admin"),
    ("GET", "/v1/activity", None, "admin"),
    ("GET", "/v1/customers/acme/periods", None, "read"),
    ("POST", "/v1/customers/acme/portal-links", {"expires_in": "1d"}, "admin"),
    ("GET", "/v1/customers/acme/portal-links", None, "admin"),
    ("DELETE", "/v1/customers/acme/portal-links/pl_unknown", None, "admin"),
    ("GET", "/v1/ledger", None, "read"),
    ("GET", "/v1/invoices", None, "read"),
    ("GET", "/v1/invoices/inv_unknown", None, "read"),
    ("GET", "/v1/invoices/inv_unknown/csv", None, "read"),
    ("GET", "/v1/invoices/inv_unknown/pdf", None, "read"),
    ("GET", "/v1/invoices/inv_unknown/audit", None, "read"),
    ("POST", "/v1/outcomes/landing/o/disputes", {"reason": "r"}, "admin"),
    ("POST", "/v1/outcomes/landing/o/disputes/resolve", {"resolution": "reject", "note": "n"},
     "admin"),
    ("GET", "/v1/disputes", None, "read"),
    ("GET", "/v1/settings", None, "admin"),
    ("PUT", "/v1/settings", {"seller_name": "Seller"}, "admin"),
    ("POST", "/v1/webhooks", {"url": "https://crm.example/hook"}, "admin"),
    ("GET", "/v1/webhooks", None, "admin"),
    ("GET", "/v1/webhooks/we_unknown", None, "admin"),
    ("PATCH", "/v1/webhooks/we_unknown", {"enabled": False}, "admin"),
    ("DELETE", "/v1/webhooks/we_unknown", None, "admin"),
    ("POST", "/v1/webhooks/we_unknown/rotate-secret", None, "admin"),
    ("GET", "/v1/webhooks/we_unknown/deliveries", None, "admin"),
    ("POST", "/v1/webhooks/we_unknown/deliveries/1/retry", None, "admin"),
]  # fmt: skip
SCOPES = ("ingest", "read", "admin")
# Served by a route of a lesser scope whose handler asks for admin on this path: a
# customer's portal links under GET /v1/customers/{id:path} (read).
ADMIN_BY_HANDLER = {("GET", "/v1/customers/acme/portal-links")}


def call(api: Api, method: str, path: str, body: Any, headers: dict[str, str]) -> Any:
    return api.client.request(method, path, json=body, headers=headers)


@pytest.fixture
def seeded(api: Api) -> Api:
    api.landing()
    api.post("/v1/signals", SIGNAL, scope="ingest")
    return api


@pytest.mark.parametrize(("method", "path", "body", "least"), ENDPOINTS)
def test_matrix(seeded: Api, method: str, path: str, body: Any, least: str) -> None:
    api = seeded
    for headers in (
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer ek_nothere_secret"},
        {"Authorization": "Bearer " + api.keys["admin"][:-2] + "xx"},
        {"Authorization": "Bearer " + "x" * 5000},
    ):
        response = call(api, method, path, body, headers)
        assert response.status_code == 401, (headers, response.text)
        assert response.json()["error"]["code"] == "unauthorized"
        assert response.headers["www-authenticate"] == "Bearer"
    for scope in SCOPES:
        response = call(api, method, path, body, api.headers(scope))
        allowed = scope in ("admin", least)
        if allowed:
            assert response.status_code not in (401, 403), (scope, response.text)
            assert response.status_code < 500
        else:
            assert response.status_code == 403, (scope, response.text)
            assert response.json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize(("method", "path", "body", "least"), ENDPOINTS)
def test_revoked_key_stops_at_once(
    seeded: Api, method: str, path: str, body: Any, least: str
) -> None:
    api = seeded
    headers = api.headers("admin")
    assert call(api, "GET", "/v1/contracts", None, headers).status_code == 200
    with api.db.write() as tx:
        ident = api.keys["admin"].split("_")[1]
        revoke_key(tx, ident, T0)
    response = call(api, method, path, body, headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


def test_open_endpoints_need_no_key(api: Api) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}
    assert api.client.get("/openapi.json").json()["openapi"] == "3.1.0"


def _pattern(template: str) -> re.Pattern[str]:
    """A route's path template as a regular expression: ``{x:str}`` one segment, ``{x:path}``
    the rest."""
    parts = re.split(r"(\{[^}]+\})", template)
    return re.compile(
        "".join(
            (".+" if part.endswith(":path}") else "[^/]+")
            if part.startswith("{")
            else re.escape(part)
            for part in parts
        )
    )


def test_the_matrix_covers_every_route_that_needs_a_key(api: Api) -> None:
    """Authorisation is one app-wide hook: every route with a scope must be in the matrix
    above, with that scope, so a route added without a test (or a hook that replaces the
    app's) is caught."""
    app = create_app(Earnest(api.db))
    scoped = [
        (method, _pattern(route.path), handler.opt["scope"].value)
        for route in app.routes
        for handler in getattr(route, "route_handlers", [])
        if handler.opt.get("scope") is not None
        for method in handler.http_methods
    ]
    for method, pattern, scope in scoped:
        listed = [
            least
            for m, path, _, least in ENDPOINTS
            if m == method and pattern.fullmatch(path.partition("?")[0])
        ]
        assert listed, f"{method} {pattern.pattern} is not in the matrix"
        assert scope in listed, (method, pattern.pattern, scope, listed)
    for method, path, _, least in ENDPOINTS:
        assert any(
            m == method
            and pattern.fullmatch(path.partition("?")[0])
            and (scope == least or (method, path) in ADMIN_BY_HANDLER)
            for m, pattern, scope in scoped
        ), (method, path, least)
