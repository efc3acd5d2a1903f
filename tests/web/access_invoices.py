"""The invoices area's rows of the dashboard's authorization matrix (``test_access.py``):
its routes, one request of each that would change something if it were allowed, and what
those requests name, created by :func:`seed` before every test."""

from __future__ import annotations

from earnest.app import Earnest

#: (method, path template) -> ``page`` (a signed-in read), ``admin`` (an admin's change),
#: ``user`` (any signed-in user's change), ``portal`` (a portal link's page: no session),
#: ``public``.
ROUTES: dict[tuple[str, str], str] = {}
#: (method, path template) -> (a path to send, a form body): every route but public and
#: portal ones.
REQUESTS: dict[tuple[str, str], tuple[str, dict[str, str]]] = {}


def seed(app: Earnest) -> None:
    """Create what :data:`REQUESTS` names (every area's seed runs, in one store)."""
