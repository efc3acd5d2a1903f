"""The dashboard in a real browser: Playwright driving Debian's ``chromium`` (its executable
path set: Playwright downloads no browser) against a real ``earnest serve`` on a fresh SQLite
database. Sign in, read the overview, change a setting, sign out; htmx appends older activity,
and everything reads without JavaScript too; HTML planted in a setting never runs; axe-core
finds no serious or critical violation on any page.

One browser for the session, one server for the module, a fresh context (cookies) per test.
Without ``chromium`` these tests are skipped, except under ``CI=true``, where they fail
(``.ci/run`` installs it)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    expect,
    sync_playwright,
)

from earnest.bootstrap import build
from earnest.contract import load_contract
from earnest.engine import Scheduled
from earnest.service.activity import CLI
from tests.contracts import LANDING

ADMIN, VIEWER = "admin@example.com", "viewer@example.com"
PASSWORD = "a long browser password"
PLANTED = '<script>window.pwned = 1</script><img src="x" onerror="window.pwned = 2">'
BLOCKING = ("serious", "critical")  # axe-core impacts that fail a page
SETTINGS_CHANGES = 55  # more activity than one page holds (50)


def chromium() -> str:
    found = os.environ.get("EARNEST_CHROMIUM") or shutil.which("chromium")
    if found is None:
        message = "Debian's chromium is not installed (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return found


@dataclass(frozen=True)
class Server:
    base: str
    log: Path

    def url(self, path: str) -> str:
        return self.base + path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _fill(database: Path) -> None:
    """Users, an outcome charged on a draft invoice, and a long activity log."""
    app = build(str(database))
    try:
        app.users.create(ADMIN, "admin", PASSWORD, actor=CLI)
        app.users.create(VIEWER, "viewer", PASSWORD, actor=CLI)
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


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("browser")
    database = folder / "earnest.db"
    _fill(database)
    port = _free_port()
    log = folder / "serve.log"
    command = [sys.executable, "-m", "earnest.cli", "--database", str(database), "serve"]
    with log.open("w") as out:
        process = subprocess.Popen(
            [*command, "--port", str(port)], stdout=out, stderr=subprocess.STDOUT
        )
    found = Server(f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(found.url("/healthz")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"serve did not start: {log.read_text()}"
            time.sleep(0.05)
        yield found
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    assert process.returncode == 0, log.read_text()[-3000:]
    assert "Traceback" not in log.read_text()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    executable = chromium()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    opened = browser.new_context()
    opened.set_default_timeout(10_000)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    found = context.new_page()
    errors: list[str] = []
    found.on("pageerror", lambda error: errors.append(str(error)))

    def console(message: ConsoleMessage) -> None:
        # A page answered 4xx on purpose (a refused form) is reported as a failed load of
        # the document itself: not an error of the page. Anything else is.
        if message.type == "error" and message.location.get("url") != found.url:
            errors.append(f"{message.text} ({message.location.get('url')})")

    found.on("console", console)
    setattr(found, "js_errors", errors)  # noqa: B010  (read back by assert_no_js_errors)
    return found


def assert_no_js_errors(page: Page) -> None:
    errors: list[str] = getattr(page, "js_errors")  # noqa: B009
    assert errors == []  # a CSP refusal or a failing script would be reported here


def sign_in(page: Page, server: Server, email: str, path: str = "/") -> None:
    page.goto(server.url(path))
    expect(page).to_have_url(server.url("/sign-in") + ("" if path == "/" else f"?next={path}"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(server.url(path))


def test_sign_in_read_the_overview_change_a_setting_sign_out(page: Page, server: Server) -> None:
    sign_in(page, server, ADMIN)
    expect(page.get_by_role("heading", name="Overview", level=1)).to_be_visible()
    drafts = page.get_by_role("table").filter(has_text="Currency")
    expect(drafts.get_by_role("row", name="USD")).to_contain_text("$0.99")
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


def test_everything_reads_without_javascript(browser: Browser, server: Server) -> None:
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, server, VIEWER, "/activity")
        expect(page.locator("#activity-rows > tr")).to_have_count(50)
        page.get_by_role("link", name="Older entries").click()
        expect(page).to_have_url(re.compile(r"/activity\?after=\d+$"))
        expect(page.get_by_role("link", name="Newest entries")).to_be_visible()
        page.get_by_role("link", name="Overview").click()
        expect(page.get_by_role("heading", name="Overview", level=1)).to_be_visible()
        page.get_by_role("button", name="Sign out").click()
        expect(page).to_have_url(server.url("/sign-in"))
    finally:
        context.close()


def blocking_violations(page: Page) -> list[dict[str, Any]]:
    response: dict[str, Any] = Axe().run(page).response
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
        for v in response["violations"]
        if v["impact"] in BLOCKING
    ]


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
