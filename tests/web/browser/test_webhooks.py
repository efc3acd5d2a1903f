"""The webhooks pages in a real browser against a real ``earnest serve`` (its scheduler
delivering to a real receiver on loopback, which checks every signature): add an endpoint
and see its secret once; a delivery that failed for good, retried by hand, failing again
(the receiver answers 500) and then delivered, signed with the secret; disable, rotate,
delete; HTML planted in a description is shown as text and never runs; axe-core on every
page, a refused form included."""

from __future__ import annotations

import re
import time
from functools import cache
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from earnest.bootstrap import build
from earnest.service.activity import CLI
from tests.service.receiver import Receiver
from tests.web.access_webhooks import add_delivery
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

PAGED = 60  # deliveries of one endpoint: more than a page (50)
SECRET = re.compile(r"^whsec_[A-Za-z0-9+/]{43}=$")


@cache
def receiver() -> Receiver:
    """One receiver for the module's server (its URL is in the store before serve starts)."""
    return Receiver()


def fill(database: Path) -> None:
    """Users; an endpoint to the receiver, described with planted HTML, with a delivery that
    failed for good (its secret given to the receiver, which then verifies every request)."""
    app = build(str(database))
    try:
        add_users(app)
        endpoint, secret = app.webhooks.create(receiver().url, description=PLANTED, actor=CLI)
        receiver().secrets.append(secret)
        add_delivery(app.db, endpoint.id, at=app.clock(), failures=8, state="failed")
        paged, _ = app.webhooks.create(receiver().url, description="Paged", actor=CLI)
        for n in range(PAGED):
            add_delivery(app.db, paged.id, at=app.clock(), state="delivered", event=f"evt_{n}")
    finally:
        app.close()


def seeded_endpoint(page: Page) -> None:
    """From the list, open the endpoint the fill made (its description is the planted HTML)."""
    page.get_by_role("row").filter(has_text=PLANTED).get_by_role("link").click()
    expect(page.get_by_role("heading", name="Webhook endpoint", level=1)).to_be_visible()


def wait_for_state(page: Page, row: Any, state: str, timeout_s: float = 15) -> None:
    """Reload the page until ``row`` shows ``state`` (the scheduler polls every 0.2 s)."""
    deadline = time.monotonic() + timeout_s
    while True:
        if state in row.inner_text():
            return
        assert time.monotonic() < deadline, row.inner_text()
        time.sleep(0.2)
        page.reload()


def test_add_an_endpoint_and_see_its_secret_once(page: Page, server: Server) -> None:
    sign_in(page, server, ADMIN, "/webhooks")
    page.get_by_label("URL", exact=True).fill(receiver().url + "/second")
    page.get_by_label("Description", exact=True).fill("The CRM")
    page.get_by_label("Only the types checked here:").check()
    page.get_by_role("checkbox", name="outcome.confirmed").check()
    page.get_by_role("checkbox", name="credit.booked").check()
    page.get_by_role("button", name="Add endpoint").click()

    expect(page.get_by_role("heading", name="Endpoint added", level=1)).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("Copy the secret now")
    secret = page.get_by_label("Signing secret").input_value()
    assert SECRET.match(secret), secret
    assert blocking_violations(page) == []

    page.get_by_role("link", name="I have copied it: go to the endpoint").click()
    expect(page.get_by_role("heading", name="Webhook endpoint", level=1)).to_be_visible()
    expect(page.get_by_text("outcome.confirmed, credit.booked")).to_be_visible()
    assert secret not in page.content()
    assert "whsec_" not in page.content()
    page.reload()
    assert "whsec_" not in page.content()
    page.goto(server.url("/webhooks"))
    expect(page.get_by_role("row").filter(has_text="The CRM")).to_contain_text("enabled")
    assert "whsec_" not in page.content()
    assert_no_js_errors(page)


def test_a_refused_form_says_why_next_to_the_field(page: Page, server: Server) -> None:
    sign_in(page, server, ADMIN, "/webhooks")
    before = page.get_by_role("row").count()
    page.get_by_label("URL", exact=True).fill("ftp://files.example.com/in")
    page.get_by_role("button", name="Add endpoint").click()
    expect(page.locator("#url-error")).to_contain_text("http or https")
    expect(page.get_by_label("URL", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("URL", exact=True)).to_have_value("ftp://files.example.com/in")
    assert blocking_violations(page) == []
    page.get_by_label("URL", exact=True).fill("https://hooks.example.com/in")
    page.get_by_label("Only the types checked here:").check()
    page.get_by_role("button", name="Add endpoint").click()
    expect(page.locator("#events-error")).to_contain_text("at least one event type")
    assert blocking_violations(page) == []
    page.goto(server.url("/webhooks"))
    expect(page.get_by_role("row")).to_have_count(before)  # nothing was added
    assert_no_js_errors(page)


def test_a_failed_delivery_retried_by_hand(page: Page, server: Server) -> None:
    sign_in(page, server, ADMIN, "/webhooks")
    failures = page.locator("#trouble-rows > tr")
    expect(failures).to_have_count(1)
    expect(failures).to_contain_text("charge.booked")
    expect(page.get_by_role("row").filter(has_text=PLANTED)).to_contain_text("1")
    assert blocking_violations(page) == []

    receiver().answers.append(500)  # the first retry fails again
    failures.get_by_role("button", name=re.compile(r"Retry delivery \d+ now")).click()
    expect(page.get_by_role("status")).to_contain_text("will be sent again now")
    seeded_endpoint(page)
    row = page.locator("#delivery-rows > tr").first
    receiver().wait_for(1)
    wait_for_state(page, row, "failed")
    expect(row).to_contain_text("500")
    row.get_by_text("9 attempts").click()  # the attempts open
    expect(row.locator(".wh-tries li")).to_have_count(9)

    row.get_by_role("button", name=re.compile(r"Retry delivery \d+ now")).click()
    expect(page.get_by_role("status")).to_contain_text("will be sent again now")
    row = page.locator("#delivery-rows > tr").first
    wait_for_state(page, row, "delivered")
    expect(row).to_contain_text("200")
    received = receiver().wait_for(2)
    assert [r.status for r in received[:2]] == [500, 200]
    assert all(r.verified for r in received[:2])  # signed with the secret shown at creation
    assert received[0].headers["webhook-id"] == received[1].headers["webhook-id"]
    assert blocking_violations(page) == []
    page.get_by_role("link", name="Failed").click()
    expect(page.get_by_text("No failed delivery.")).to_be_visible()
    assert blocking_violations(page) == []
    assert_no_js_errors(page)


def test_disable_rotate_and_delete(page: Page, server: Server) -> None:
    sign_in(page, server, ADMIN, "/webhooks")
    page.get_by_label("URL", exact=True).fill("http://127.0.0.1:9/unreachable")
    page.get_by_label("Description", exact=True).fill("To be removed")
    page.get_by_role("button", name="Add endpoint").click()
    page.get_by_role("link", name="I have copied it: go to the endpoint").click()

    page.get_by_role("button", name="Disable").click()
    expect(page.get_by_role("status")).to_contain_text("The endpoint is disabled")
    expect(page.get_by_role("button", name="Enable")).to_be_visible()
    assert blocking_violations(page) == []
    page.get_by_role("button", name="Enable").click()
    expect(page.get_by_role("status")).to_contain_text("The endpoint is enabled")

    page.get_by_role("button", name="Rotate secret").click()
    expect(page.get_by_role("heading", name="New signing secret", level=1)).to_be_visible()
    secret = page.get_by_label("Signing secret").input_value()
    assert SECRET.match(secret), secret
    expect(page.get_by_text("keeps signing too")).to_be_visible()
    assert blocking_violations(page) == []
    page.get_by_role("link", name="I have copied it: go to the endpoint").click()
    expect(page.get_by_text("Old secret signs until")).to_be_visible()
    assert secret not in page.content()

    page.get_by_role("link", name="Delete…").click()
    expect(page.get_by_role("heading", name="Delete this endpoint?", level=1)).to_be_visible()
    assert blocking_violations(page) == []
    page.get_by_role("button", name="Delete the endpoint").click()
    expect(page.get_by_role("status")).to_contain_text("The endpoint was deleted")
    expect(page.get_by_role("row").filter(has_text="To be removed")).to_have_count(0)

    page.goto(server.url("/activity"))
    newest = page.locator("#activity-rows > tr").first
    expect(newest).to_contain_text(ADMIN)
    expect(newest).to_contain_text("webhook.deleted")
    assert "whsec_" not in page.content()
    assert_no_js_errors(page)


def test_planted_html_in_a_description_never_runs(page: Page, server: Server) -> None:
    sign_in(page, server, ADMIN, "/webhooks")
    expect(page.get_by_text(PLANTED).first).to_be_visible()  # shown as text
    seeded_endpoint(page)
    expect(page.get_by_label("Description", exact=True)).to_have_value(PLANTED)
    expect(page.get_by_text(PLANTED).first).to_be_visible()
    page.get_by_role("link", name="Delete…").click()
    expect(page.get_by_text(PLANTED).first).to_be_visible()
    assert page.evaluate("window.pwned") is None
    assert page.locator("main script, main img").count() == 0
    assert_no_js_errors(page)


def test_a_viewer_reads_the_pages_without_forms(page: Page, server: Server) -> None:
    sign_in(page, server, VIEWER, "/webhooks")
    expect(page.get_by_role("heading", name="Endpoints")).to_be_visible()
    expect(page.get_by_role("button", name="Add endpoint")).to_have_count(0)
    assert blocking_violations(page) == []
    page.get_by_role("link", name="Retrying").click()
    assert blocking_violations(page) == []
    seeded_endpoint(page)
    expect(page.get_by_role("heading", name="Deliveries")).to_be_visible()
    for name in ("Disable", "Rotate secret", "Save changes"):
        expect(page.get_by_role("button", name=name)).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile("Retry"))).to_have_count(0)
    assert blocking_violations(page) == []
    assert_no_js_errors(page)


def test_older_deliveries_appended_in_place_or_as_a_link(
    page: Page, server: Server, no_js_page: Page
) -> None:
    sign_in(page, server, VIEWER, "/webhooks")
    page.get_by_role("row").filter(has_text="Paged").get_by_role("link").click()
    here = page.url
    rows = page.locator("#delivery-rows > tr")
    expect(rows).to_have_count(50)
    page.get_by_role("link", name="Older deliveries").click()
    expect(rows).to_have_count(PAGED)
    numbers = [int(text) for text in rows.locator("td:first-child").all_inner_texts()]
    assert numbers == sorted(numbers, reverse=True)
    assert len(set(numbers)) == PAGED
    expect(page).to_have_url(here)  # appended, not navigated
    expect(page.get_by_role("link", name="Older deliveries")).to_have_count(0)
    assert_no_js_errors(page)

    sign_in(no_js_page, server, VIEWER, "/webhooks")
    no_js_page.goto(here)
    no_js_page.get_by_role("link", name="Older deliveries").click()
    expect(no_js_page).to_have_url(re.compile(r"/webhooks/we_[0-9a-f]+\?after=\d+$"))
    expect(no_js_page.locator("#delivery-rows > tr")).to_have_count(PAGED - 50)
    expect(no_js_page.get_by_role("link", name="Newest deliveries")).to_be_visible()
    older = no_js_page.url
    page.goto(older)  # axe needs JavaScript: the second page, in the first browser
    expect(page.locator("#delivery-rows > tr")).to_have_count(PAGED - 50)
    assert blocking_violations(page) == []
