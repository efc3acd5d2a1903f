"""The outcomes pages in a real browser (see ``conftest.py``): filter the list, open an
outcome and read its timeline, settle one by hand, open a dispute and resolve it with a
partial credit, see the credit on the outcome and on its invoice; the same without
JavaScript; a refused form; HTML planted in signal data and a dispute's reason shown as
text; axe-core on the list (with and without results), an outcome and a refused form."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

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

EXTRA = 55  # open outcomes beyond the named ones: more than a page of the list (50)
PLANTED_REF = "OUT-planted <b>"


def _signals(ref: str, **values: Any) -> list[dict[str, Any]]:
    return [
        {"contract": "landing", "outcome": ref, "customer": "acme", "signal": name, "value": v}
        for name, v in values.items()
    ]


def fill(database: Path) -> None:
    """``OUT-1`` and ``OUT-5`` in review, ``OUT-2`` and ``OUT-3`` confirmed, ``OUT-4``
    confirmed with an open dispute, ``OUT-planted <b>`` confirmed with planted HTML in its
    signal's data and its dispute's reason, and many open ones."""
    app = build(str(database))
    try:
        add_users(app)
        app.contracts.save(load_contract(LANDING, key="landing"), actor=CLI)
        for ref in ("OUT-1", "OUT-2", "OUT-3", "OUT-4", "OUT-5"):
            app.signals.batch(_signals(ref, completed=True, score=5))
        for ref in ("OUT-2", "OUT-3", "OUT-4"):
            app.outcomes.settle("landing", ref, Scheduled.CONFIRM, "delivered", actor=CLI)
        app.disputes.open("landing", "OUT-4", "the page never loaded", actor=CLI)
        planted = {**_signals(PLANTED_REF, completed=True)[0], "data": {"note": PLANTED}}
        app.signals.batch([planted, *_signals(PLANTED_REF, score=4)])
        app.outcomes.settle("landing", PLANTED_REF, Scheduled.CONFIRM, PLANTED, actor=CLI)
        app.disputes.open("landing", PLANTED_REF, PLANTED, actor=CLI)
        app.signals.batch(
            [item for n in range(EXTRA) for item in _signals(f"OUT-X{n:02d}", completed=True)]
        )
    finally:
        app.close()


def outcome(ref: str) -> str:
    return f"/outcomes/landing/{quote(ref, safe='')}"


def test_filter_open_an_outcome_read_its_timeline_and_settle_it(page: Page, server: Server) -> None:
    sign_in(page, server, ADMIN, "/outcomes")
    page.get_by_label("State").select_option("in_review")
    page.get_by_label("Customer").fill("acme")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"/outcomes\?.*state=in_review"))
    rows = page.locator("#outcome-rows > tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("OUT-5")
    expect(rows.nth(1)).to_contain_text("in review")

    page.get_by_role("link", name="OUT-1", exact=True).click()
    expect(page).to_have_url(server.url(outcome("OUT-1")))
    expect(page.get_by_role("heading", level=1)).to_have_text("Outcome OUT-1")
    timeline = page.locator(".timeline")
    expect(timeline).to_contain_text("Signal “completed” arrived: true")
    expect(timeline).to_contain_text("Conditions met: completed is true, score > 3 holds")
    expect(timeline).to_contain_text("Review window opened because the conditions were met")

    page.get_by_label("Cancel (charge nothing)").check()
    page.get_by_label("Note").fill("a duplicate of OUT-2")
    page.get_by_role("button", name="Settle").click()
    expect(page.get_by_role("status")).to_have_text("The outcome was settled.")
    expect(timeline).to_contain_text(f"Cancelled by hand by {ADMIN}: “a duplicate of OUT-2”.")
    expect(page.locator(".oc-state").first).to_have_text("cancelled")
    expect(page.get_by_role("button", name="Settle")).to_have_count(0)
    assert_no_js_errors(page)


def test_open_a_dispute_resolve_it_with_a_partial_credit_and_find_it_on_the_invoice(
    page: Page, server: Server
) -> None:
    sign_in(page, server, ADMIN, outcome("OUT-2"))
    page.get_by_label("Reason").fill("only half of it was delivered")
    page.get_by_role("button", name="Open the dispute").click()
    expect(page.get_by_role("status")).to_have_text("The dispute was opened.")
    expect(page.get_by_text("Contested: a dispute is open")).to_be_visible()
    expect(page.locator(".timeline")).to_contain_text(
        f"Dispute opened by {ADMIN}: “only half of it was delivered”."
    )

    page.goto(server.url("/outcomes?contested=yes"))
    expect(page.get_by_role("link", name="OUT-2", exact=True)).to_be_visible()
    page.get_by_role("link", name="OUT-2", exact=True).click()

    page.get_by_label("Accept in part: credit the amount below").check()
    page.get_by_label("Amount (USD)").fill("0.40")
    page.get_by_label("Note").fill("half, as agreed")
    page.get_by_role("button", name="Resolve").click()
    expect(page.get_by_role("status")).to_have_text("The dispute was resolved.")
    expect(page.locator(".oc-net")).to_have_text("$0.59")
    expect(page.locator(".oc-credits")).to_contain_text("$0.40 (dispute: half, as agreed)")
    expect(page.locator(".timeline")).to_contain_text(
        f"Dispute resolved by {ADMIN} with a credit of $0.40: “half, as agreed”."
    )
    expect(page.locator(".timeline")).to_contain_text(
        "Credited $0.40 when the dispute was resolved"
    )

    page.locator(".oc-credits").get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"/invoices/inv_\w+$"))
    credit = page.get_by_role("row").filter(has_text="OUT-2").filter(has_text="half, as agreed")
    expect(credit).to_contain_text("-$0.40")
    assert_no_js_errors(page)


def test_a_refused_resolution_says_why_next_to_the_field(page: Page, server: Server) -> None:
    sign_in(page, server, ADMIN, outcome("OUT-4"))
    page.get_by_label("Accept in part: credit the amount below").check()
    page.get_by_label("Amount (USD)").fill("5")
    page.get_by_label("Note").fill("too much")
    page.get_by_role("button", name="Resolve").click()
    expect(page.locator("#resolve-amount-error")).to_contain_text("more than the 0.99 USD")
    expect(page.get_by_label("Amount (USD)")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Amount (USD)")).to_have_value("5")
    expect(page.get_by_role("alert")).to_contain_text("Nothing was changed")
    expect(page.get_by_text("Contested: a dispute is open")).to_be_visible()
    assert blocking_violations(page) == []
    assert_no_js_errors(page)


def test_planted_html_in_signal_data_and_a_dispute_reason_never_runs(
    page: Page, server: Server
) -> None:
    sign_in(page, server, ADMIN, "/outcomes")
    page.goto(server.url("/outcomes?contested=yes"))
    page.get_by_role("link", name=PLANTED_REF).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(PLANTED_REF)
    timeline = page.locator(".timeline")
    expect(timeline).to_contain_text(PLANTED)  # the signal's data, as text
    expect(timeline).to_contain_text(f"Dispute opened by {CLI}: “{PLANTED}”.")
    expect(page.get_by_role("cell", name=PLANTED)).to_be_visible()  # the disputes table
    assert page.evaluate("window.pwned") is None
    assert page.locator("main script, main img, main b").count() == 0
    assert_no_js_errors(page)


def test_a_viewer_reads_an_outcome_without_its_forms(page: Page, server: Server) -> None:
    sign_in(page, server, VIEWER, outcome("OUT-5"))
    expect(page.get_by_text("Only an admin can settle an outcome")).to_be_visible()
    expect(page.get_by_role("button", name="Settle")).to_have_count(0)
    expect(page.locator(".timeline")).to_contain_text("Review window opened")
    assert_no_js_errors(page)


def test_htmx_appends_older_outcomes_in_place(page: Page, server: Server) -> None:
    sign_in(page, server, VIEWER, "/outcomes")
    page.goto(server.url("/outcomes?state=open"))
    rows = page.locator("#outcome-rows > tr")
    expect(rows).to_have_count(50)
    page.get_by_role("link", name="Older outcomes").click()
    expect(rows).to_have_count(EXTRA)
    expect(page).to_have_url(server.url("/outcomes?state=open"))
    expect(page.get_by_role("link", name="Older outcomes")).to_have_count(0)
    assert_no_js_errors(page)


def test_filtering_and_settling_work_without_javascript(no_js_page: Page, server: Server) -> None:
    sign_in(no_js_page, server, ADMIN, "/outcomes")
    no_js_page.get_by_label("State").select_option("open")
    no_js_page.get_by_role("button", name="Filter").click()
    expect(no_js_page.locator("#outcome-rows > tr")).to_have_count(50)
    no_js_page.get_by_role("link", name="Older outcomes").click()
    expect(no_js_page).to_have_url(re.compile(r"/outcomes\?state=open&after=\d+$"))
    expect(no_js_page.locator("#outcome-rows > tr")).to_have_count(EXTRA - 50)
    no_js_page.get_by_role("link", name="OUT-X00").click()
    no_js_page.get_by_label("Confirm (charge $0.99)").check()
    no_js_page.get_by_label("Note").fill("checked without scripts")
    no_js_page.get_by_role("button", name="Settle").click()
    expect(no_js_page.get_by_role("status")).to_have_text("The outcome was settled.")
    expect(no_js_page.locator(".timeline")).to_contain_text("Charged $0.99.")


def test_no_outcomes_page_has_a_serious_accessibility_violation(page: Page, server: Server) -> None:
    sign_in(page, server, ADMIN, "/outcomes")
    checked: dict[str, list[dict[str, Any]]] = {"list": blocking_violations(page)}
    page.goto(server.url("/outcomes?customer=nobody"))
    expect(page.get_by_text("No outcome matches these filters.")).to_be_visible()
    checked["list, no results"] = blocking_violations(page)
    page.goto(server.url("/outcomes?state=settled"))
    expect(page.locator("#filter-state-error")).to_be_visible()
    checked["list, a bad filter"] = blocking_violations(page)
    for ref in ("OUT-5", "OUT-4", "OUT-3"):  # in review, disputed, confirmed: each form
        page.goto(server.url(outcome(ref)))
        checked[ref] = blocking_violations(page)
    page.goto(server.url(outcome("OUT-5")))
    page.get_by_label("Note").fill(" ")
    page.get_by_role("button", name="Settle").click()
    expect(page.locator("#settle-reason-error")).to_contain_text("reason is required")
    checked["a refused settle"] = blocking_violations(page)
    assert checked == {name: [] for name in checked}
    assert_no_js_errors(page)
