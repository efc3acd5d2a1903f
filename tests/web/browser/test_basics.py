"""The dashboard's basics in a real browser (see ``conftest.py``): sign in, read the
overview, change a setting, sign out; htmx appends older activity, and everything reads
without JavaScript too; HTML planted in a setting never runs; axe-core finds no serious or
critical violation on the overview, activity, settings and sign-in pages."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from earnest.bootstrap import build
from earnest.contract import load_contract
from earnest.engine import Scheduled
from earnest.service.activity import CLI
from tests.contracts import LANDING
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

SETTINGS_CHANGES = 55  # more activity than one page holds (50)


def fill(database: Path) -> None:
    """Users, an outcome charged on a draft invoice, and a long activity log."""
    app = build(str(database))
    try:
        add_users(app)
        app.contracts.save(load_contract(LANDING, key="landing"), actor=CLI)
        for ref in ("T-1", "T-2"):
            body = {
                "contract": "landing",
                "outcome": ref,
                "customer": "acme",
                "signal": "completed",
            }
            assert app.signals.send(body).result.error is None
        app.outcomes.settle("landing", "T-1", Scheduled.CONFIRM, "checked by hand", actor=CLI)
        for n in range(SETTINGS_CHANGES):
            app.settings.put({"seller_tax_id": f"TAX-{n}"}, actor=CLI)
        app.settings.put({"seller_name": PLANTED}, actor=CLI)
    finally:
        app.close()


def test_sign_in_read_the_overview_change_a_setting_sign_out(page: Page, server: Server) -> None:
    sign_in(page, server, ADMIN)
    expect(page.get_by_role("heading", name="Overview", level=1)).to_be_visible()
    drafts = page.get_by_role("region", name="Draft invoices")
    expect(drafts.get_by_role("row", name="USD")).to_contain_text("$0.99")
    revenue = page.get_by_role("region", name="Revenue")
    expect(revenue.get_by_role("row").filter(has_text="so far")).to_contain_text("$0.99")
    chart = page.get_by_role("img", name=re.compile("Settlements per day"))
    expect(chart).to_contain_text("1 confirmed and 0 cancelled over 30 days")
    expect(page.get_by_role("row", name="confirmed")).to_contain_text("1")
    expect(page.get_by_role("row", name="open")).to_contain_text("1")

    page.get_by_role("navigation", name="Dashboard").get_by_role("link", name="Settings").click()
    expect(page).to_have_url(server.url("/settings"))
    page.get_by_label("Invoice grace").fill("soon")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator("#invoice_grace-error")).to_contain_text("not a duration")
    expect(page.get_by_label("Invoice grace")).to_have_attribute("aria-invalid", "true")
    page.get_by_label("Invoice grace").fill("10m")
    page.get_by_label("Seller address").fill("1 Main Street\nSpringfield")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("status")).to_have_text("Settings saved.")
    expect(page.get_by_label("Invoice grace")).to_have_value("10m")

    page.get_by_role("link", name="Activity").click()
    newest = page.get_by_role("row").nth(1)
    expect(newest).to_contain_text(ADMIN)
    expect(newest).to_contain_text("settings.updated")
    expect(newest).to_contain_text("10m")

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(server.url("/sign-in"))
    page.goto(server.url("/settings"))
    expect(page).to_have_url(server.url("/sign-in?next=/settings"))
    assert_no_js_errors(page)


def test_a_viewer_reads_settings_without_a_form(page: Page, server: Server) -> None:
    sign_in(page, server, VIEWER, "/settings")
    expect(page.get_by_text("Only an admin can change the settings.")).to_be_visible()
    expect(page.get_by_role("button", name="Save settings")).to_have_count(0)
    assert_no_js_errors(page)


def test_planted_html_in_a_setting_never_runs(page: Page, server: Server) -> None:
    sign_in(page, server, ADMIN, "/settings")
    expect(page.get_by_label("Seller name")).to_have_value(PLANTED)
    page.goto(server.url("/activity"))
    expect(page.get_by_text(PLANTED).first).to_be_visible()  # shown as text
    assert page.evaluate("window.pwned") is None
    assert page.locator("main script, main img").count() == 0
    assert_no_js_errors(page)


def test_htmx_appends_older_activity_in_place(page: Page, server: Server) -> None:
    sign_in(page, server, VIEWER, "/activity")
    rows = page.locator("#activity-rows > tr")
    expect(rows).to_have_count(50)
    page.get_by_role("link", name="Older entries").click()
    expect(rows.last.locator("td").first).to_have_text("1")  # down to the first entry
    seqs = [int(text) for text in rows.locator("td:first-child").all_inner_texts()]
    assert seqs == list(range(len(seqs), 0, -1))
    assert len(seqs) > SETTINGS_CHANGES
    expect(page).to_have_url(server.url("/activity"))  # appended, not navigated
    expect(page.get_by_role("link", name="Older entries")).to_have_count(0)
    assert_no_js_errors(page)


def test_everything_reads_without_javascript(no_js_page: Page, server: Server) -> None:
    sign_in(no_js_page, server, VIEWER, "/activity")
    expect(no_js_page.locator("#activity-rows > tr")).to_have_count(50)
    no_js_page.get_by_role("link", name="Older entries").click()
    expect(no_js_page).to_have_url(re.compile(r"/activity\?after=\d+$"))
    expect(no_js_page.get_by_role("link", name="Newest entries")).to_be_visible()
    no_js_page.get_by_role("link", name="Overview").click()
    expect(no_js_page.get_by_role("heading", name="Overview", level=1)).to_be_visible()
    no_js_page.get_by_role("button", name="Sign out").click()
    expect(no_js_page).to_have_url(server.url("/sign-in"))


def test_no_page_has_a_serious_accessibility_violation(page: Page, server: Server) -> None:
    checked: dict[str, list[dict[str, Any]]] = {}
    page.goto(server.url("/sign-in"))
    checked["sign-in"] = blocking_violations(page)
    page.get_by_label("Email").fill(ADMIN)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    checked["sign-in refused"] = blocking_violations(page)
    sign_in(page, server, ADMIN)
    for path in ("/", "/activity", "/activity?after=3", "/settings", "/static/nothing.css"):
        page.goto(server.url(path))
        checked[path] = blocking_violations(page)
    page.get_by_role("link", name="Settings").click()
    page.get_by_label("Public base URL").fill("ftp://nope")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator("#public_base_url-error")).to_be_visible()
    checked["settings refused"] = blocking_violations(page)
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, server, VIEWER, "/settings")
    checked["settings (viewer)"] = blocking_violations(page)
    assert {name: found for name, found in checked.items() if found} == {}
