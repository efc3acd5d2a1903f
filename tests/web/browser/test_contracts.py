"""The contracts pages in a real browser against a real ``earnest serve``: open the landing
contract, edit its price and see the check say valid as you type, run the backtest of the
edit and read its figures, save it as version 2, and see the next outcome pinned to version
2; the same without JavaScript (Check, backtest and save as plain form posts) and archive;
HTML planted in a contract's name and description is shown as text and never runs; axe-core
on every page of the area, the editor valid and invalid, a backtest and a refused save
included."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from playwright.sync_api import Page, expect

from earnest.bootstrap import build
from earnest.clock import utc_now
from earnest.contract import load_contract
from earnest.service.activity import CLI
from earnest.service.keys import Scope
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

KEYS: dict[str, str] = {}  # the API keys the fill made: ingest, read


def fill(database: Path) -> None:
    """Users; the landing contract with three outcomes opened five days ago (settled by
    now: confirmed, each charged $0.99); a contract to edit without JavaScript, one to archive, and
    one whose name and description are planted HTML; an ingest key and a read key."""
    past = utc_now() - timedelta(days=5)
    app = build(str(database), clock=lambda: past)
    try:
        add_users(app)
        app.contracts.save(load_contract(LANDING, key="landing"), actor=CLI)
        for ref, score in (("T-1", 5), ("T-2", 4), ("T/3 #x", 4)):
            for signal in ({"signal": "completed"}, {"signal": "score", "value": score}):
                body = {"contract": "landing", "outcome": ref, "customer": "acme", **signal}
                assert app.signals.send(body).result.error is None
    finally:
        app.close()
    app = build(str(database))
    try:
        for key in ("plain", "retired"):
            app.contracts.save(load_contract(LANDING, key=key), actor=CLI)
        planted = LANDING + f"name: '{PLANTED}'\ndescription: '{PLANTED}'\n"
        app.contracts.save(load_contract(planted, key="planted"), actor=CLI)
        KEYS["ingest"] = app.keys.create(Scope.INGEST, "browser", actor=CLI)[1]
        KEYS["read"] = app.keys.create(Scope.READ, "browser", actor=CLI)[1]
    finally:
        app.close()


def test_edit_the_price_see_the_backtest_save_and_pin_the_next_outcome(
    page: Page, server: Server
) -> None:
    sign_in(page, server, ADMIN, "/contracts")
    page.get_by_role("link", name="landing", exact=True).click()
    expect(page).to_have_url(server.url("/contracts/landing"))
    expect(page.get_by_role("heading", name="Terms of version 1")).to_be_visible()
    page.get_by_role("link", name="Edit", exact=True).click()

    editor = page.get_by_label("Contract (YAML)")
    text = editor.input_value()
    assert "price: 0.99 USD" in text
    editor.fill(text.replace("price: 0.99 USD", "price: lots"))
    check = page.locator("#yaml-check")
    expect(check).to_contain_text("Not valid")
    expect(check).to_contain_text("(line 3, column 8)")
    expect(check.locator(".contract-caret")).to_have_text("price: lots\n       ^")
    editor.fill(text.replace("price: 0.99 USD", "price: $1.50"))
    expect(check).to_contain_text("Valid.")
    expect(check).to_contain_text("price: 0.99 USD → 1.50 USD")

    page.get_by_role("button", name="Run the backtest").click()
    backtest = page.locator("#backtest")
    expect(backtest).to_contain_text("Backtest of the edit", timeout=30_000)
    expect(backtest).to_contain_text("The 3 outcomes opened")
    usd = backtest.get_by_role("row", name="USD")
    expect(usd).to_have_text(re.compile(r"USD\s*\$2\.97\s*\$4\.50\s*\+\$1\.53"))
    expect(backtest.get_by_role("link", name="T/3 #x")).to_have_attribute(
        "href", "/outcomes/landing/" + quote("T/3 #x", safe="")
    )
    expect(page).to_have_url(server.url("/contracts/landing/edit"))  # all in place

    page.get_by_role("button", name="Save as a new version").click()
    expect(page).to_have_url(server.url("/contracts/landing?saved=2"))
    expect(page.get_by_role("status")).to_have_text("Saved as version 2.")
    expect(page.get_by_role("heading", name="Terms of version 2")).to_be_visible()
    expect(page.get_by_role("row", name=re.compile("^Version 2"))).to_contain_text(ADMIN)

    sent = httpx.post(
        server.url("/v1/signals"),
        json={"contract": "landing", "outcome": "NEW-1", "customer": "acme", "signal": "completed"},
        headers={"Authorization": f"Bearer {KEYS['ingest']}"},
    )
    assert sent.status_code == 200, sent.text
    assert sent.json()["outcome"]["contract_version"] == 2
    assert sent.json()["outcome"]["price"] == {"amount": "1.50", "currency": "USD"}
    read = httpx.get(
        server.url("/v1/outcomes/landing/NEW-1"),
        headers={"Authorization": f"Bearer {KEYS['read']}"},
    )
    assert read.json()["contract_version"] == 2
    page.goto(server.url("/outcomes/landing/NEW-1"))
    expect(page.get_by_text("landing, version 2")).to_be_visible()
    assert_no_js_errors(page)


def test_without_javascript_check_backtest_save_and_archive(
    no_js_page: Page, server: Server
) -> None:
    sign_in(no_js_page, server, ADMIN, "/contracts/plain/edit")
    editor = no_js_page.get_by_label("Contract (YAML)")
    text = editor.input_value()
    editor.fill(text.replace("review_window: 1d", "review_window: soon"))
    no_js_page.get_by_role("button", name="Check").click()
    expect(no_js_page.locator("#yaml-check")).to_contain_text("review_window")
    expect(no_js_page.locator(".contract-caret")).to_contain_text("review_window: soon")
    expect(editor).to_have_attribute("aria-invalid", "true")
    no_js_page.get_by_role("button", name="Save as a new version").click()
    expect(no_js_page.locator("#yaml-check")).to_contain_text("Not valid")  # refused, kept
    expect(editor).to_have_value(text.replace("review_window: 1d", "review_window: soon"))

    editor.fill(text.replace("review_window: 1d", "review_window: 2d"))
    no_js_page.get_by_role("button", name="Check").click()
    expect(no_js_page.locator("#yaml-check")).to_contain_text("review_window: 1d → 2d")
    no_js_page.get_by_role("button", name="Run the backtest").click()
    expect(no_js_page.locator("#backtest")).to_contain_text("The 0 outcomes opened")
    no_js_page.get_by_role("button", name="Save as a new version").click()
    expect(no_js_page).to_have_url(server.url("/contracts/plain?saved=2"))

    no_js_page.get_by_role("link", name="Archive…").click()
    no_js_page.get_by_role("button", name="Archive plain").click()
    expect(no_js_page).to_have_url(server.url("/contracts/plain?archived=1"))
    expect(no_js_page.get_by_text("archived: opens no new outcomes")).to_be_visible()
    no_js_page.get_by_role("link", name="Contracts", exact=True).first.click()
    expect(no_js_page.get_by_role("row").filter(has_text="plain")).to_contain_text("archived")


def test_planted_html_in_a_contract_never_runs(page: Page, server: Server) -> None:
    sign_in(page, server, VIEWER, "/contracts")
    expect(page.get_by_role("row").filter(has_text="planted").first).to_contain_text(PLANTED)
    for path in ("/contracts/planted", "/contracts/planted/versions/1", "/contracts/planted/edit"):
        page.goto(server.url(path))
        assert page.locator("main script, main img").count() == 0
    expect(page.get_by_label("Contract (YAML)")).to_have_value(re.compile(re.escape(PLANTED)))
    page.goto(server.url("/contracts/planted"))
    expect(page.get_by_role("heading", level=1)).to_have_text(PLANTED)
    assert page.evaluate("window.pwned") is None
    assert_no_js_errors(page)


def test_no_contracts_page_has_a_serious_accessibility_violation(
    page: Page, server: Server
) -> None:
    checked: dict[str, list[dict[str, Any]]] = {}
    sign_in(page, server, ADMIN, "/contracts")
    for path in (
        "/contracts",
        "/contracts/retired",
        "/contracts/retired/versions/1",
        "/contracts/retired/diff?from=1&to=1",
        "/contracts/retired/archive",
        "/contracts/new",
        "/contracts/nothing",
    ):
        page.goto(server.url(path))
        checked[path] = blocking_violations(page)
    page.goto(server.url("/contracts/retired/edit"))
    checked["editor"] = blocking_violations(page)
    editor = page.get_by_label("Contract (YAML)")
    text = editor.input_value()
    editor.fill(text.replace("score > 3", "score >> 3"))
    expect(page.locator("#yaml-check")).to_contain_text("Not valid")
    checked["editor, invalid"] = blocking_violations(page)
    editor.fill(text.replace("score > 3", "score > 2"))
    expect(page.locator("#yaml-check")).to_contain_text("Valid.")
    checked["editor, valid"] = blocking_violations(page)
    page.get_by_role("button", name="Run the backtest").click()
    expect(page.locator("#backtest")).to_contain_text("Backtest of the edit", timeout=30_000)
    checked["backtest"] = blocking_violations(page)
    editor.fill("key: retired\nprice: nothing\n")
    page.get_by_role("button", name="Save as a new version").click()
    expect(page.locator("#yaml-check")).to_contain_text("Not valid")
    checked["save refused"] = blocking_violations(page)
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, server, VIEWER, "/contracts/retired/edit")
    checked["editor (viewer)"] = blocking_violations(page)
    page.goto(server.url("/contracts/retired"))
    checked["contract (viewer)"] = blocking_violations(page)
    assert {name: found for name, found in checked.items() if found} == {}
    assert_no_js_errors(page)
