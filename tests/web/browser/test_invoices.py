"""The invoices pages in a real browser against a real ``earnest serve``: find last month's
invoice by its filters, read its figures (a partial credit included), follow a charge line
to the outcomes behind it and on to one of them; download the PDF; resolve a dispute with a
partial credit and see it on the next invoice, the current draft; HTML planted in a customer
name and a credit reason is shown as text and never runs; axe-core on every page of the
area, refused filters included."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from earnest.bootstrap import build
from earnest.engine import Scheduled
from earnest.service.activity import CLI
from earnest.service.deadlines import OutcomeDeadlines
from earnest.service.due import drain
from earnest.service.ingest import ingest
from earnest.service.invoices import InvoiceClosing
from tests.web.access_invoices import ensure_contract
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

CONTRACT = "landing"


def month_starts(now: datetime) -> tuple[datetime, datetime]:
    """The first day of last month and of this month, 00:00 UTC: billing day 1's periods."""
    this = datetime(now.year, now.month, 1, tzinfo=UTC)
    last = (this - timedelta(days=1)).replace(day=1)
    return last, this


def charged(app: Any, refs: list[tuple[str, str]], at: datetime) -> None:
    """Outcomes ``(ref, customer)`` met at ``at`` and confirmed by hand a minute later."""
    items = [
        {"contract": CONTRACT, "outcome": ref, "customer": customer, "signal": "completed"}
        for ref, customer in refs
    ]
    assert all(result.status == "accepted" for result in ingest(app.db, items, at))
    for ref, _ in refs:
        app.outcomes.settle(
            CONTRACT, ref, Scheduled.CONFIRM, "checked by hand", actor=CLI,
            at=at + timedelta(minutes=1),
        )  # fmt: skip


def fill(database: Path) -> None:
    """Last month: acme's A-1 and A-2 charged, A-2 credited 0.40 (its invoice EARN-000001:
    $1.58), and the planted customer's E-1 (its note planted too), all finalized; this month
    so far: acme's A-3 on a draft."""
    app = build(str(database))
    try:
        add_users(app)
        ensure_contract(app, CONTRACT)
        last, this = month_starts(app.clock())
        start = last + timedelta(hours=1)
        charged(app, [("A-1", "acme"), ("A-2", "acme"), ("E-1", "planted")], start)
        app.customers.put("acme", {"name": "Acme Corp"}, actor=CLI)
        app.customers.put("planted", {"name": PLANTED, "address": PLANTED}, actor=CLI)
        for ref, amount, note in (
            ("A-2", "0.40", "Half the users affected"),
            ("E-1", "0.10", PLANTED),
        ):
            at = start + timedelta(days=1)
            app.disputes.open(CONTRACT, ref, "Did not help", actor=CLI, at=at)
            app.disputes.resolve(
                CONTRACT, ref, "credit", note, amount=amount, actor=CLI, at=at + timedelta(hours=1)
            )
        closing = this + timedelta(minutes=10)
        drain(OutcomeDeadlines(app.db), closing)
        drain(InvoiceClosing(app.db), closing)
        charged(app, [("A-3", "acme")], min(this + timedelta(minutes=20), app.clock()))
    finally:
        app.close()


def open_last_months_invoice(page: Page, server: Server) -> None:
    sign_in(page, server, VIEWER, "/invoices")
    page.get_by_label("Status").select_option("finalized")
    page.get_by_label("Customer").fill("acme")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(server.url("/invoices?period=&status=finalized&customer=acme"))
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(1)
    rows.get_by_role("link", name="EARN-000001").click()
    expect(page.get_by_role("heading", name="Invoice EARN-000001", level=1)).to_be_visible()


def test_open_an_invoice_and_follow_a_line_to_its_outcomes(page: Page, server: Server) -> None:
    open_last_months_invoice(page, server)
    totals = page.get_by_role("table", name="Totals")
    expect(totals.get_by_role("row", name="Subtotal")).to_contain_text("$1.98")
    expect(totals.get_by_role("row", name="Credits")).to_contain_text("-$0.40")
    expect(totals.get_by_role("row", name=re.compile("^Total"))).to_contain_text("$1.58")
    expect(page.get_by_role("row", name="A-2")).to_contain_text("Half the users affected")
    page.get_by_role("link", name="The 2 outcomes behind it").click()
    expect(
        page.get_by_role("heading", name="Outcomes behind landing (v1)", level=1)
    ).to_be_visible()
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(1)).to_contain_text("-$0.40")
    rows.get_by_role("link", name="A-2").click()
    expect(page).to_have_url(server.url(f"/outcomes/{CONTRACT}/A-2"))
    assert_no_js_errors(page)


def test_download_the_pdf(page: Page, server: Server) -> None:
    open_last_months_invoice(page, server)
    with page.expect_download() as waiting:
        page.get_by_role("link", name="Download the PDF").click()
    download = waiting.value
    assert download.suggested_filename == "EARN-000001.pdf"
    assert Path(download.path()).read_bytes().startswith(b"%PDF")
    with page.expect_download() as waiting:
        page.get_by_role("link", name="Download the CSV").click()
    sheet = Path(waiting.value.path()).read_text(encoding="utf-8")
    assert sheet.splitlines()[-1].startswith("total,")
    assert ",1.58,USD," in sheet.splitlines()[-1]
    assert_no_js_errors(page)


def test_a_partial_credit_shows_on_the_next_invoice(page: Page, server: Server) -> None:
    app = build(str(server.log.parent / "earnest.db"))  # as the outcomes pages' form would
    try:
        app.disputes.open(CONTRACT, "A-1", "Answered a day late", actor=ADMIN)
        app.disputes.resolve(
            CONTRACT, "A-1", "credit", "A quarter back", amount="0.25", actor=ADMIN
        )
    finally:
        app.close()
    sign_in(page, server, VIEWER, "/customers/acme")
    page.get_by_role("table").filter(has_text="Period").get_by_role(
        "link", name="Draft"
    ).first.click()
    expect(page.get_by_role("heading", name="Draft invoice", level=1)).to_be_visible()
    expect(page.get_by_role("note")).to_contain_text("Its period is still open")
    expect(page.get_by_role("row", name="A-1")).to_contain_text("-$0.25")
    totals = page.get_by_role("table", name="Totals")
    expect(totals.get_by_role("row", name="Total so far")).to_contain_text("$0.74")
    assert_no_js_errors(page)


def test_planted_html_in_a_name_and_a_reason_never_runs(page: Page, server: Server) -> None:
    sign_in(page, server, ADMIN, "/customers")
    expect(page.get_by_role("cell", name=PLANTED)).to_be_visible()
    page.get_by_role("link", name="planted").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Customer {PLANTED}")
    expect(page.get_by_label("Name")).to_have_value(PLANTED)
    page.get_by_role("link", name="EARN-000002").first.click()
    expect(page.get_by_role("row", name="E-1")).to_contain_text(PLANTED)
    for path in ("/invoices", "/invoices?customer=planted"):
        page.goto(server.url(path))
        expect(page.get_by_role("link", name="planted").first).to_be_visible()
    assert page.evaluate("window.pwned") is None
    assert page.locator("main script, main img").count() == 0
    assert_no_js_errors(page)


def test_no_page_has_a_serious_accessibility_violation(page: Page, server: Server) -> None:
    checked: dict[str, list[dict[str, Any]]] = {}
    sign_in(page, server, VIEWER, "/invoices")
    checked["/invoices"] = blocking_violations(page)
    page.goto(server.url("/invoices?status=paid&period=someday"))
    expect(page.locator("#status-error")).to_be_visible()
    checked["invoices refused"] = blocking_violations(page)
    page.goto(server.url("/invoices?status=finalized&customer=acme"))
    page.get_by_role("link", name="EARN-000001").click()
    checked["invoice"] = blocking_violations(page)
    page.get_by_role("link", name="The 2 outcomes behind it").click()
    checked["line"] = blocking_violations(page)
    page.goto(server.url("/invoices/inv_000000000000000000000000"))
    checked["unknown invoice"] = blocking_violations(page)
    page.goto(server.url("/invoices?status=draft&customer=acme"))
    page.get_by_role("link", name="Draft").click()
    checked["draft"] = blocking_violations(page)
    page.goto(server.url("/customers/acme"))
    checked["customer (viewer)"] = blocking_violations(page)
    assert {name: found for name, found in checked.items() if found} == {}
    assert_no_js_errors(page)
