"""The outcomes area's rows of the dashboard's authorization matrix (``test_access.py``):
its routes, one request of each that would change something if it were allowed, and what
those requests name, created by :func:`seed` before every test."""

from __future__ import annotations

from earnest.app import Earnest
from earnest.contract import load_contract
from earnest.engine import Scheduled
from earnest.errors import NotFound
from tests.contracts import LANDING

#: (method, path template) -> ``page`` (a signed-in read), ``admin`` (an admin's change),
#: ``user`` (any signed-in user's change), ``portal`` (a portal link's page: no session),
#: ``public``.
ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/outcomes"): "page",
    ("GET", "/outcomes/{contract:str}/{rest:path}"): "page",
    ("POST", "/outcomes/{contract:str}/{rest:path}"): "admin",
}
#: (method, path template) -> (a path to send, a form body): every route but public and
#: portal ones.
REQUESTS: dict[tuple[str, str], tuple[str, dict[str, str]]] = {
    ("GET", "/outcomes"): ("/outcomes?contested=yes", {}),
    ("GET", "/outcomes/{contract:str}/{rest:path}"): ("/outcomes/landing/OUT-2", {}),
    ("POST", "/outcomes/{contract:str}/{rest:path}"): (
        "/outcomes/landing/OUT-1/settle",
        {"decision": "confirm", "reason": "checked by hand"},
    ),
}
#: The other changes of the one POST route, each refused alike (``test_outcomes.py``).
MORE_REQUESTS: tuple[tuple[str, dict[str, str]], ...] = (
    ("/outcomes/landing/OUT-3/disputes", {"reason": "never delivered"}),
    (
        "/outcomes/landing/OUT-2/disputes/resolve",
        {"resolution": "credit_partial", "amount": "0.40", "note": "half of it"},
    ),
)


def ensure_landing(app: Earnest) -> None:
    """The ``landing`` contract of ``tests/contracts.py``, unless another area saved it."""
    try:
        app.contracts.latest("landing")
    except NotFound:
        app.contracts.save(load_contract(LANDING, key="landing"), actor="seed")


def signals(ref: str, *names: tuple[str, object]) -> list[dict[str, object]]:
    return [
        {"contract": "landing", "outcome": ref, "customer": "acme", "signal": name, "value": value}
        for name, value in names
    ]


def seed(app: Earnest) -> None:
    """Create what :data:`REQUESTS` names (every area's seed runs, in one store): ``OUT-1``
    in review, ``OUT-2`` confirmed with an open dispute, ``OUT-3`` confirmed, undisputed."""
    ensure_landing(app)
    met = (("completed", True), ("score", 5))
    app.signals.batch(signals("OUT-1", *met))
    for ref in ("OUT-2", "OUT-3"):
        app.signals.batch(signals(ref, *met))
        app.outcomes.settle("landing", ref, Scheduled.CONFIRM, "delivered", actor="seed")
    app.disputes.open("landing", "OUT-2", "not what we asked for", actor="seed")
