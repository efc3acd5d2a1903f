"""The customers area's rows of the dashboard's authorization matrix (``test_access.py``):
its routes, one request of each that would change something if it were allowed, and what
those requests name, created by :func:`seed` before every test."""

from __future__ import annotations

from earnest.app import Earnest
from earnest.errors import NotFound
from earnest.service.activity import CLI

#: (method, path template) -> ``page`` (a signed-in read), ``admin`` (an admin's change),
#: ``user`` (any signed-in user's change), ``portal`` (a portal link's page: no session),
#: ``public``.
ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/customers"): "page",
    ("GET", "/customers/{id:str}"): "page",
    ("POST", "/customers/{id:str}"): "admin",
}
#: (method, path template) -> (a path to send, a form body): every route but public and
#: portal ones.
REQUESTS: dict[tuple[str, str], tuple[str, dict[str, str]]] = {
    ("GET", "/customers"): ("/customers", {}),
    ("GET", "/customers/{id:str}"): ("/customers/acme", {}),
    ("POST", "/customers/{id:str}"): (
        "/customers/acme",
        {"name": "Changed Corp", "email": "changed@example.com", "billing_day": "15"},
    ),
}


def seed(app: Earnest) -> None:
    """Create what :data:`REQUESTS` names (every area's seed runs, in one store)."""
    try:
        app.customers.get("acme")
    except NotFound:
        app.customers.put("acme", {"name": "Acme Corp"}, actor=CLI)
