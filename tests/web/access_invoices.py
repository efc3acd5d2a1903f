"""The invoices area's rows of the dashboard's authorization matrix (``test_access.py``):
its routes, one request of each that would change something if it were allowed, and what
those requests name, created by :func:`seed` before every test.

Also the billing the invoices tests build on: a contract, charged outcomes (refs ``INV-``),
credits and finalized periods, written through the services with the fixture's clock."""

from __future__ import annotations

from datetime import UTC, datetime

from earnest.app import Earnest
from earnest.contract import load_contract
from earnest.engine import Scheduled
from earnest.errors import NotFound
from earnest.service.activity import CLI
from earnest.service.deadlines import OutcomeDeadlines
from earnest.service.due import drain
from earnest.service.invoices import InvoiceClosing
from earnest.store.invoices import invoice_id
from tests.contracts import LANDING

CONTRACT = "inv_landing"  # LANDING ($0.99), under a key only this area uses: its version 1
CUSTOMER = "inv-customer"  # created by its first signal at T0 (billing day 1)
NOVEMBER = datetime(2026, 11, 1, tzinfo=UTC)  # the period holding T0 under billing day 1
#: The seeded draft invoice: (customer, period start, currency) name it.
INVOICE = invoice_id(CUSTOMER, NOVEMBER, "USD")

#: (method, path template) -> ``page`` (a signed-in read), ``admin`` (an admin's change),
#: ``user`` (any signed-in user's change), ``portal`` (a portal link's page: no session),
#: ``public``.
ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/invoices"): "page",
    ("GET", "/invoices/{id:str}"): "page",
    ("GET", "/invoices/{id:str}/lines/{contract:str}/{version:str}"): "page",
    ("GET", "/invoices/{id:str}/csv"): "page",
    ("GET", "/invoices/{id:str}/pdf"): "page",
}
#: (method, path template) -> (a path to send, a form body): every route but public and
#: portal ones.
REQUESTS: dict[tuple[str, str], tuple[str, dict[str, str]]] = {
    ("GET", "/invoices"): ("/invoices", {}),  # the matrix compares ?next= verbatim
    ("GET", "/invoices/{id:str}"): (f"/invoices/{INVOICE}", {}),
    ("GET", "/invoices/{id:str}/lines/{contract:str}/{version:str}"): (
        f"/invoices/{INVOICE}/lines/{CONTRACT}/1",
        {},
    ),
    ("GET", "/invoices/{id:str}/csv"): (f"/invoices/{INVOICE}/csv", {}),
    ("GET", "/invoices/{id:str}/pdf"): (f"/invoices/{INVOICE}/pdf", {}),
}


def ensure_contract(app: Earnest, key: str = CONTRACT) -> None:
    try:
        app.contracts.latest(key)
    except NotFound:
        app.contracts.save(load_contract(LANDING, key=key), actor=CLI)


def charge(app: Earnest, ref: str, customer: str, contract: str = CONTRACT) -> None:
    """An outcome of ``customer`` met now and confirmed by hand now: charged $0.99."""
    ensure_contract(app, contract)
    body = {"contract": contract, "outcome": ref, "customer": customer, "signal": "completed"}
    answer = app.signals.send(body)
    assert answer.result.error is None, answer.result
    app.outcomes.settle(contract, ref, Scheduled.CONFIRM, "checked by hand", actor=CLI)


def credit(app: Earnest, ref: str, amount: str, note: str, contract: str = CONTRACT) -> None:
    """Dispute the charged outcome ``ref`` and resolve it with a credit of ``amount``."""
    app.disputes.open(contract, ref, "The customer says it did not help", actor=CLI)
    app.disputes.resolve(contract, ref, "credit", note, amount=amount, actor=CLI)


def close_periods(app: Earnest, now: datetime) -> None:
    """What the scheduler does by ``now``: every deadline, then every period closing due."""
    drain(OutcomeDeadlines(app.db), now)
    drain(InvoiceClosing(app.db), now)


def seed(app: Earnest) -> None:
    """Create what :data:`REQUESTS` names (every area's seed runs, in one store)."""
    try:
        app.outcomes.get(CONTRACT, "INV-SEED")
    except NotFound:
        charge(app, "INV-SEED", CUSTOMER)
