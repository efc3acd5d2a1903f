"""The portal area's rows of the dashboard's authorization matrix (``test_access.py``):
its routes, one request of each that would change something if it were allowed, and what
those requests name, created by :func:`seed` before every test. The evidence pages
(``portal``) need no session: their token is checked by ``test_portal.py``."""

from __future__ import annotations

from earnest.app import Earnest
from earnest.errors import NotFound
from earnest.service.activity import CLI

#: (method, path template) -> ``page`` (a signed-in read), ``admin`` (an admin's change),
#: ``user`` (any signed-in user's change), ``portal`` (a portal link's page: no session),
#: ``public``.
ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/customers/{id:str}/portal-links"): "page",
    ("POST", "/customers/{id:str}/portal-links"): "admin",
    ("POST", "/customers/{id:str}/portal-links/{link:str}/revoke"): "admin",
    ("GET", "/portal/{token:str}"): "portal",
    ("GET", "/portal/{token:str}/invoices/{id:str}"): "portal",
    ("GET", "/portal/{token:str}/invoices/{id:str}/pdf"): "portal",
    ("GET", "/portal/{token:str}/outcomes/{contract:str}/{ref:path}"): "portal",
    ("POST", "/portal/{token:str}/outcomes/{contract:str}/{ref:path}"): "portal",
}
#: The link :func:`seed` creates for ``acme`` (its id: the revoke request names it).
LINK = "pl_acce55acce55acce"
#: (method, path template) -> (a path to send, a form body): every route but public and
#: portal ones.
REQUESTS: dict[tuple[str, str], tuple[str, dict[str, str]]] = {
    ("GET", "/customers/{id:str}/portal-links"): ("/customers/acme/portal-links", {}),
    ("POST", "/customers/{id:str}/portal-links"): (
        "/customers/acme/portal-links",
        {"expires": "7d"},
    ),
    ("POST", "/customers/{id:str}/portal-links/{link:str}/revoke"): (
        f"/customers/acme/portal-links/{LINK}/revoke",
        {},
    ),
}


def seed(app: Earnest) -> None:
    """Create what :data:`REQUESTS` names (every area's seed runs, in one store): customer
    ``acme`` (unless another area made it) and a live link of it, :data:`LINK`."""
    try:
        app.customers.get("acme")
    except NotFound:
        app.customers.put("acme", {"name": "Acme Corp"}, actor=CLI)
    if not any(found.id == LINK for found in app.portal.list("acme", limit=50).items):
        created = app.portal.create("acme", base_url="http://testserver", actor=CLI)
        with app.db.write() as tx:  # the revoke request names it: give it a known id
            tx.execute("UPDATE portal_links SET id = ? WHERE id = ?", (LINK, created.link.id))
