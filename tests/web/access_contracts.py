"""The contracts area's rows of the dashboard's authorization matrix (``test_access.py``):
its routes, one request of each that would change something if it were allowed, and what
those requests name, created by :func:`seed` before every test."""

from __future__ import annotations

from earnest.app import Earnest
from earnest.contract import load_contract
from earnest.rules import UnknownContract
from earnest.service.activity import CLI
from tests.contracts import LANDING

EDITED = LANDING.replace("$0.99", "$7.77")  # differs from any landing a seed saves

#: (method, path template) -> ``page`` (a signed-in read), ``admin`` (an admin's change),
#: ``user`` (any signed-in user's change), ``portal`` (a portal link's page: no session),
#: ``public``. Checking a text changes nothing and costs one parse: any user may; the
#: backtest costs a process and its CPU: admins only (docs/decisions/0021).
ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/contracts"): "page",
    ("GET", "/contracts/new"): "page",
    ("POST", "/contracts/new"): "admin",
    ("POST", "/contracts/validate"): "user",
    ("GET", "/contracts/validate"): "page",
    ("GET", "/contracts/{key:str}"): "page",
    ("GET", "/contracts/{key:str}/versions/{version:str}"): "page",
    ("GET", "/contracts/{key:str}/diff"): "page",
    ("GET", "/contracts/{key:str}/edit"): "page",
    ("POST", "/contracts/{key:str}/edit"): "admin",
    ("POST", "/contracts/{key:str}/backtest"): "admin",
    ("GET", "/contracts/{key:str}/archive"): "page",
    ("POST", "/contracts/{key:str}/archive"): "admin",
}
#: (method, path template) -> (a path to send, a form body): every route but public and
#: portal ones.
REQUESTS: dict[tuple[str, str], tuple[str, dict[str, str]]] = {
    ("GET", "/contracts"): ("/contracts", {}),
    ("GET", "/contracts/new"): ("/contracts/new", {}),
    ("POST", "/contracts/new"): ("/contracts/new", {"yaml": "key: matrix_new\n" + LANDING}),
    ("POST", "/contracts/validate"): (
        "/contracts/validate",
        {"yaml": EDITED, "editing": "landing"},
    ),
    ("GET", "/contracts/validate"): ("/contracts/validate", {}),
    ("GET", "/contracts/{key:str}"): ("/contracts/landing", {}),
    ("GET", "/contracts/{key:str}/versions/{version:str}"): ("/contracts/landing/versions/1", {}),
    ("GET", "/contracts/{key:str}/diff"): ("/contracts/landing/diff", {}),
    ("GET", "/contracts/{key:str}/edit"): ("/contracts/landing/edit", {}),
    ("POST", "/contracts/{key:str}/edit"): ("/contracts/landing/edit", {"yaml": EDITED}),
    ("POST", "/contracts/{key:str}/backtest"): ("/contracts/landing/backtest", {"yaml": EDITED}),
    ("GET", "/contracts/{key:str}/archive"): ("/contracts/landing/archive", {}),
    ("POST", "/contracts/{key:str}/archive"): ("/contracts/landing/archive", {}),
}


def seed(app: Earnest) -> None:
    """Create what :data:`REQUESTS` names (every area's seed runs, in one store): the
    ``landing`` and ``validate`` contracts, unless another area's seed saved them already."""
    for key in ("landing", "validate"):
        try:
            app.contracts.latest(key)
        except UnknownContract:
            app.contracts.save(load_contract(LANDING, key=key), actor=CLI)
