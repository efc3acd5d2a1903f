"""Screenshots of the dashboard's main pages and a customer's evidence pages, for the docs.

    make screenshots      # or: .venv/bin/python scripts/screenshots.py [--out docs/screenshots]

The same setup as the browser tests (tests/web/browser/): Playwright for Python driving
Debian's ``chromium`` (``EARNEST_CHROMIUM`` or the one on ``PATH``; no browser download),
against a real ``earnest serve`` on a fresh SQLite file holding the demo's history (the
example contracts, about three months of outcomes, invoices and disputes, written as
``earnest demo`` writes them, from a fixed seed). CI does not run it: the pictures change
only when someone means them to.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import httpx
from playwright.sync_api import Page, sync_playwright

from earnest.bootstrap import build
from earnest.demo import write_history
from earnest.service.activity import CLI

ROOT = Path(__file__).resolve().parents[1]
WIDTH, HEIGHT = 1280, 900


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def fill(database: Path) -> tuple[str, str, dict[str, str]]:
    """The demo's history; the admin's email and password and the pages to picture."""
    app = build(str(database))
    try:
        setup, _ = write_history(app, datetime.now(UTC), random.Random(2026))
        with app.db.read() as tx:
            disputed = tx.one(
                "SELECT o.contract, o.ref, o.customer FROM disputes d"
                " JOIN outcomes o ON o.id = d.outcome_id WHERE d.state = 'resolved'"
                " ORDER BY d.id LIMIT 1"
            )
            invoice = tx.one(
                "SELECT id FROM invoices WHERE status = 'finalized' AND credits <> '0'"
                " ORDER BY created_at DESC LIMIT 1"
            )
        assert disputed is not None, "the demo resolves disputes"
        assert invoice is not None, "the demo finalizes invoices with credits"
        contract, ref, customer = (str(v) for v in disputed)
        outcome = f"/outcomes/{contract}/{quote(ref, safe='')}"
        pages = {
            "overview": "/",
            "contracts": "/contracts",
            "contract": f"/contracts/{contract}",
            "contract-editor": f"/contracts/{contract}/edit",
            "outcomes": "/outcomes",
            "outcome": outcome,
            "customers": "/customers",
            "customer": f"/customers/{customer}",
            "invoices": "/invoices",
            "invoice": f"/invoices/{invoice[0]}",
            "webhooks": "/webhooks",
            "activity": "/activity",
            "settings": "/settings",
        }
        link = app.portal.create(customer, base_url="http://127.0.0.1", actor=CLI)
        token_path = "/portal/" + link.url.rsplit("/portal/", 1)[1]
        pages["portal"] = token_path
        pages["portal-evidence"] = f"{token_path}/outcomes/{contract}/{quote(ref, safe='')}"
        return setup.user_email, setup.user_password, pages
    finally:
        app.close()


def chromium() -> str:
    found = os.environ.get("EARNEST_CHROMIUM") or shutil.which("chromium")
    if found is None:
        sys.exit("screenshots: Debian's chromium is not installed (apt-get install chromium)")
    return found


def shoot(page: Page, base: str, name: str, path: str, out: Path) -> None:
    page.goto(base + path)
    if page.url.endswith("/sign-in") or "/sign-in?" in page.url:
        raise RuntimeError(f"{name}: sent to the sign-in page")
    page.screenshot(path=str(out / f"{name}.png"), full_page=False)
    shown = "/portal/…" if path.startswith("/portal/") else path  # never print a token
    print(f"  {name:<16} {shown} -> {out / name}.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="earnest-screenshots-"))
    server = None
    try:
        database = workdir / "demo.db"
        email, password, pages = fill(database)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log = (workdir / "serve.log").open("wb")
        command = [sys.executable, "-m", "earnest.cli", "--database", str(database), "serve"]
        server = subprocess.Popen([*command, "--port", str(port)], stdout=log, stderr=log)
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(base + "/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                sys.exit(f"screenshots: serve did not start: {(workdir / 'serve.log').read_text()}")
            time.sleep(0.05)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium())
            context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
            page = context.new_page()
            page.goto(base + "/sign-in")
            page.get_by_label("Email").fill(email)
            page.get_by_label("Password").fill(password)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(base + "/")
            for name, path in pages.items():
                if not name.startswith("portal"):
                    shoot(page, base, name, path, args.out)
            customer = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
            portal = customer.new_page()
            for name, path in pages.items():
                if name.startswith("portal"):
                    shoot(portal, base, name, path, args.out)
            browser.close()
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=15)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
