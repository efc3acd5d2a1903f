"""Portal links in a real browser (see ``conftest.py``): an admin creates a customer's link on
the dashboard (a bad expiry refused next to its field), then a fresh browser, the customer's,
opens it: its invoice (a draft, marked so), the evidence of a charge (terms and timeline),
a dispute refused without a reason and then recorded with one. Revoked, the link opens the
404 page. HTML planted in the customer's name and in the dispute's reason never runs;
axe-core finds no serious or critical violation on any of these pages; the server's log
never holds the token."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, expect

from earnest.bootstrap import build
from earnest.contract import load_contract
from earnest.engine import Scheduled
from earnest.service.activity import CLI
from tests.web.browser.conftest import (
    ADMIN,
    PLANTED,
    Server,
    add_users,
    assert_no_js_errors,
    blocking_violations,
    sign_in,
)

CONTRACT = """
key: ticket_resolved
name: Support ticket resolved
description: Billed when the agent resolves a ticket and the customer keeps it closed.
conditions: resolved AND NOT reopened
price: $0.99
active_for: 48h
review_window: 24h
"""


def fill(database: Path) -> None:
    """Users; customer ``acme`` (its name planted HTML) with a charge on a draft invoice;
    customer ``globex`` with one of its own."""
    app = build(str(database))
    try:
        add_users(app)
        app.contracts.save(load_contract(CONTRACT), actor=CLI)
        app.settings.put({"seller_name": "Example Agents Ltd"}, actor=CLI)
        for customer, name in (("acme", PLANTED), ("globex", "Globex Ltd")):
            app.customers.put(customer, {"name": name}, actor=CLI)
            ref = f"{customer}/ticket#1"
            body = {"contract": "ticket_resolved", "outcome": ref, "customer": customer,
                    "signal": "resolved", "data": {"note": "vendor-only"}}  # fmt: skip
            assert app.signals.send(body).result.error is None
            app.outcomes.settle("ticket_resolved", ref, Scheduled.CONFIRM, "kept", actor=ADMIN)
    finally:
        app.close()


def test_a_link_made_on_the_dashboard_opens_the_customers_evidence(
    browser: Browser, page: Page, server: Server
) -> None:
    checked: dict[str, list[dict[str, Any]]] = {}
    sign_in(page, server, ADMIN, "/customers/acme/portal-links")
    checked["links"] = blocking_violations(page)
    page.get_by_label("Expires after").fill("soon")
    page.get_by_role("button", name="Create a link").click()
    expect(page.locator("#expires-error")).to_contain_text("not a duration")
    expect(page.get_by_label("Expires after")).to_have_attribute("aria-invalid", "true")
    checked["links refused"] = blocking_violations(page)
    page.get_by_label("Expires after").fill("7d")
    page.get_by_role("button", name="Create a link").click()
    url = page.locator("#new-link").input_value()
    assert url.startswith(server.url("/portal/"))
    checked["links created"] = blocking_violations(page)
    assert_no_js_errors(page)

    customer = browser.new_context()  # the customer's browser: no session
    try:
        portal = customer.new_page()
        portal.goto(url)
        expect(portal.get_by_role("heading", name="Your invoices", level=1)).to_be_visible()
        expect(portal.get_by_role("banner")).to_contain_text(PLANTED)  # as text
        expect(portal.get_by_role("banner")).to_contain_text("Example Agents Ltd")
        expect(portal.get_by_role("link", name="Activity")).to_have_count(0)
        expect(portal.get_by_role("row").nth(1)).to_contain_text("draft")
        checked["portal home"] = blocking_violations(portal)

        portal.get_by_role("link", name="Draft (USD)").click()
        expect(portal.get_by_role("note")).to_contain_text("This is a draft")
        checked["portal invoice"] = blocking_violations(portal)

        portal.get_by_role("link", name="acme/ticket#1").click()
        expect(portal.get_by_role("heading", name="acme/ticket#1", level=1)).to_be_visible()
        expect(portal.get_by_text("Support ticket resolved, version 1")).to_be_visible()
        expect(portal.get_by_text("resolved AND NOT reopened")).to_be_visible()
        expect(portal.locator(".timeline")).to_contain_text("resolved")
        expect(portal.locator("main")).not_to_contain_text("vendor-only")
        expect(portal.locator("main")).not_to_contain_text(ADMIN)
        checked["portal evidence"] = blocking_violations(portal)

        portal.get_by_role("button", name="Dispute this charge").click()
        expect(portal.locator("#reason-error")).to_contain_text("reason is required")
        checked["portal dispute refused"] = blocking_violations(portal)
        portal.get_by_label("Why do you dispute it?").fill(PLANTED)
        portal.get_by_role("button", name="Dispute this charge").click()
        expect(portal.get_by_role("status")).to_contain_text("Your dispute was recorded")
        expect(portal.locator("main")).to_contain_text(PLANTED)  # the reason, as text
        expect(portal.locator("main")).to_contain_text("You disputed this charge on")
        expect(portal.get_by_role("button", name="Dispute this charge")).to_have_count(0)
        checked["portal disputed"] = blocking_violations(portal)
        assert portal.evaluate("window.pwned") is None

        page.goto(server.url("/customers/acme/portal-links"))  # the admin revokes it
        page.get_by_role("button", name="Revoke").click()
        expect(page.get_by_role("status")).to_contain_text("revoked")
        checked["links revoked"] = blocking_violations(page)
        portal.goto(url)
        expect(portal.get_by_role("heading", name="Not found", level=1)).to_be_visible()
        checked["portal 404"] = blocking_violations(portal)
        assert portal.evaluate("window.pwned") is None
    finally:
        customer.close()
    assert page.evaluate("window.pwned") is None
    assert checked == {name: [] for name in checked}
    assert url.rsplit("/", 1)[1] not in server.log.read_text()
    app = build(str(server.log.parent / "earnest.db"))  # the dispute is the link's
    try:
        [link] = app.portal.list("acme", limit=5).items
        [dispute] = app.disputes.list(customer="acme", limit=5).items
    finally:
        app.close()
    assert (dispute.opened_by, dispute.reason) == (f"portal:{link.id}", PLANTED)
