"""The dashboard in a real browser: Playwright driving Debian's ``chromium`` (its executable
path set: Playwright downloads no browser) against a real ``earnest serve``.

One browser for the session; one server per test module, on a fresh SQLite database filled
by the module's own ``fill(database: Path) -> None`` if it has one (else :func:`fill`); a
fresh context (cookies) per test, and one more with JavaScript off for a test that asks for
``no_js_page``. Without ``chromium`` these tests are skipped, except under ``CI=true``, where
they fail (``.ci/run`` installs it)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
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
from earnest.service.activity import CLI

ADMIN, VIEWER = "admin@example.com", "viewer@example.com"
PASSWORD = "a long browser password"
PLANTED = '<script>window.pwned = 1</script><img src="x" onerror="window.pwned = 2">'
BLOCKING = ("serious", "critical")  # axe-core impacts that fail a page


def fill(database: Path) -> None:
    """The users every module signs in as: an admin and a viewer."""
    app = build(str(database))
    try:
        add_users(app)
    finally:
        app.close()


def add_users(app: Any) -> None:
    app.users.create(ADMIN, "admin", PASSWORD, actor=CLI)
    app.users.create(VIEWER, "viewer", PASSWORD, actor=CLI)


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


@pytest.fixture(scope="module")
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("browser")
    database = folder / "earnest.db"
    filler: Callable[[Path], None] = getattr(request.module, "fill", fill)
    filler(database)
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


@pytest.fixture
def no_js_page(browser: Browser) -> Iterator[Page]:
    """A page in a fresh context of its own with JavaScript turned off."""
    opened = browser.new_context(java_script_enabled=False)
    try:
        yield opened.new_page()
    finally:
        opened.close()


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


def blocking_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now."""
    response: dict[str, Any] = Axe().run(page).response
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
        for v in response["violations"]
        if v["impact"] in BLOCKING
    ]
