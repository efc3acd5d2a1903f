"""The customers pages in a real browser against a real ``earnest serve``: edit a customer's
name and billing day and see both, the next period running to the new day, and the edit in
the activity log under the admin's email; a refused billing day shown next to its field,
nothing saved; a viewer reads without a form; HTML planted in a customer's name and address
is shown as text and never runs; axe-core on every page of the area, a refused form
included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from earnest.bootstrap import build
from earnest.service.activity import CLI
from earnest.web.customers import day_text
from tests.web.browser.conftest import (
    ADMIN,
    PLANTED,
    VIEWER,
    Server,
    add_users,
    assert_no_js_errors,
    blocking_violations,
    sign_in,
)

MANY = 55  # customers named zz-00 to zz-54, besides acme, globex and planted


def fill(database: Path) -> None:
    """Users; acme and globex (billing day 1), and a customer named with planted HTML."""
    app = build(str(database))
    try:
        add_users(app)
        app.customers.put("acme", {"name": "Acme Corp", "email": "ap@acme.example"}, actor=CLI)
        app.customers.put("globex", {"name": "Globex"}, actor=CLI)
        app.customers.put("planted", {"name": PLANTED, "address": PLANTED}, actor=CLI)
        for n in range(MANY):  # more than a page of the list (50), all after "planted"
            app.customers.put(f"zz-{n:02d}", {}, actor=CLI)
    finally:
        app.close()


def test_htmx_appends_more_customers_in_place(page: Page, server: Server) -> None:
    sign_in(page, server, VIEWER, "/customers")
    rows = page.locator("#customer-rows > tr")
    expect(rows).to_have_count(50)
    page.get_by_role("link", name="More customers").click()
    expect(rows).to_have_count(MANY + 3)
    expect(rows.last).to_contain_text(f"zz-{MANY - 1:02d}")
    expect(page).to_have_url(server.url("/customers"))  # appended, not navigated
    expect(page.get_by_role("link", name="More customers")).to_have_count(0)
    assert_no_js_errors(page)


def test_the_list_pages_without_javascript(no_js_page: Page, server: Server) -> None:
    sign_in(no_js_page, server, VIEWER, "/customers")
    no_js_page.get_by_role("link", name="More customers").click()
    expect(no_js_page).to_have_url(server.url(f"/customers?after=zz-{50 - 3 - 1:02d}"))
    expect(no_js_page.locator("#customer-rows > tr")).to_have_count(MANY + 3 - 50)
    expect(no_js_page.get_by_role("link", name="First customers")).to_be_visible()


def next_month(now: datetime) -> datetime:
    first = datetime(now.year, now.month, 1, tzinfo=UTC)
    return (first + timedelta(days=32)).replace(day=1)


def test_edit_a_customers_name_and_billing_day(page: Page, server: Server) -> None:
    sign_in(page, server, ADMIN, "/customers")
    page.get_by_role("link", name="globex").click()
    expect(page.get_by_role("heading", name="Customer Globex", level=1)).to_be_visible()
    page.get_by_label("Billing day").fill("31")
    page.get_by_label("Name").fill("Globex Industries")
    page.get_by_role("button", name="Save customer").click()
    expect(page.locator("#billing_day-error")).to_contain_text("whole number from 1 to 28")
    expect(page.get_by_label("Billing day")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Name")).to_have_value("Globex Industries")  # kept as typed
    expect(page.get_by_role("heading", level=1)).to_have_text("Customer Globex")  # not saved

    page.get_by_label("Billing day").fill("15")
    page.get_by_role("button", name="Save customer").click()
    expect(page.get_by_role("status")).to_have_text("Customer saved.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Customer Globex Industries")
    expect(page.get_by_label("Billing day")).to_have_value("15")
    start = next_month(datetime.now(UTC))  # the period in progress keeps its end
    upcoming = f"{day_text(start)} – {day_text(start.replace(day=14))}"
    expect(page.get_by_role("row", name=upcoming)).to_contain_text("upcoming")

    page.get_by_role("link", name="Activity").click()
    newest = page.get_by_role("row").nth(1)
    expect(newest).to_contain_text(ADMIN)
    expect(newest).to_contain_text("customer.updated")
    expect(newest).to_contain_text("Globex Industries")
    assert_no_js_errors(page)


def test_a_viewer_reads_a_customer_without_a_form(page: Page, server: Server) -> None:
    sign_in(page, server, VIEWER, "/customers")
    row = page.get_by_role("row").filter(has_text="acme")
    expect(row).to_contain_text("ap@acme.example")
    row.get_by_role("link", name="acme").click()
    expect(page.get_by_role("heading", name="Customer Acme Corp", level=1)).to_be_visible()
    expect(page.get_by_text("Only an admin can edit a customer.")).to_be_visible()
    expect(page.get_by_role("button", name="Save customer")).to_have_count(0)
    expect(page.get_by_role("link", name="Portal links")).to_have_attribute(
        "href", "/customers/acme/portal-links"
    )
    expect(page.get_by_role("link", name="Its outcomes")).to_have_attribute(
        "href", "/outcomes?customer=acme"
    )
    assert_no_js_errors(page)


def test_planted_html_in_a_customer_never_runs(page: Page, server: Server) -> None:
    sign_in(page, server, ADMIN, "/customers")
    expect(page.get_by_role("cell", name=PLANTED)).to_be_visible()
    page.get_by_role("link", name="planted").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Customer {PLANTED}")
    expect(page.get_by_label("Name")).to_have_value(PLANTED)
    expect(page.get_by_label("Address")).to_have_value(PLANTED)
    assert page.evaluate("window.pwned") is None
    assert page.locator("main script, main img").count() == 0
    assert_no_js_errors(page)


def test_no_page_has_a_serious_accessibility_violation(page: Page, server: Server) -> None:
    checked: dict[str, list[dict[str, Any]]] = {}
    sign_in(page, server, ADMIN, "/customers")
    checked["/customers"] = blocking_violations(page)
    page.goto(server.url("/customers?after=acme"))
    checked["/customers?after=acme"] = blocking_violations(page)
    page.goto(server.url("/customers/acme"))
    checked["customer"] = blocking_violations(page)
    page.get_by_label("Email").fill("not an email")
    page.get_by_role("button", name="Save customer").click()
    expect(page.locator("#email-error")).to_be_visible()
    checked["customer refused"] = blocking_violations(page)
    page.goto(server.url("/customers/nobody"))
    checked["unknown customer"] = blocking_violations(page)
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, server, VIEWER, "/customers/acme")
    checked["customer (viewer)"] = blocking_violations(page)
    assert {name: found for name, found in checked.items() if found} == {}
