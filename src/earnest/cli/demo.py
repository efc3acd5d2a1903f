"""``earnest demo``: ``serve`` on a fresh demo database, with example contracts, a few months of
past history (finalized invoices, disputes, credits) and live traffic."""

from __future__ import annotations

import functools
import json
import random
import shlex
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import click

from earnest.api.server import bind, serve_http
from earnest.bootstrap import sqlite_file
from earnest.cli.base import fail, log_to_stderr, open_app
from earnest.cli.processes import dashboard_router
from earnest.demo import (
    CUSTOMERS,
    WINDOWS,
    DemoSetup,
    History,
    HttpSink,
    Traffic,
    remove_database_files,
    wait_until_healthy,
    write_history,
)
from earnest.errors import EarnestError
from earnest.service.activity import CLI
from earnest.service.process import run_process

DEFAULT_DEMO_DATABASE = "./earnest-demo.db"
_TRY_CONTRACT = "code_shipped"
_TRY_OUTCOME = "acme/api#try-1"  # a reference with "/" and "#", to show percent-encoding
PORTAL_CUSTOMER = "acme"  # whose evidence pages the banner links


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface for the HTTP API.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--database",
    "path",
    default=DEFAULT_DEMO_DATABASE,
    show_default=True,
    metavar="PATH",
    help="The demo's SQLite file. Deleted and created afresh on every run.",
)
@click.option(
    "--rate",
    default=4.0,
    show_default=True,
    type=click.FloatRange(0.1, 1000),
    help="Demo traffic, in signals per second.",
)
def demo(host: str, port: int, path: str, rate: float) -> None:
    """Serve a fresh demo database: the example contracts, a few months of past invoices and
    disputes, live demo traffic, and the dashboard with a generated admin sign-in."""
    log_to_stderr()
    web = [dashboard_router()]
    try:
        file = sqlite_file(path)
    except ValueError:
        fail("the demo runs on a SQLite file it may delete, not on PostgreSQL")
    try:
        sock = bind(host, port)  # first: a port in use is one error line, before any banner,
    except EarnestError as error:  # and before a running demo's database is deleted
        fail(error.message)
    try:
        remove_database_files(Path(file))
    except (ValueError, OSError) as error:
        sock.close()
        fail(str(error))
    app = open_app(file)
    try:
        # the past in virtual time, up to now; the live traffic follows it on the real clock
        setup, history = write_history(app, datetime.now(UTC), random.Random())
        base_url = f"http://{host}:{port}"
        evidence = app.portal.create(PORTAL_CUSTOMER, base_url=base_url, actor=CLI).url
        _print_banner(base_url, file, setup, history, rate, evidence=evidence)
        stop = threading.Event()
        traffic = threading.Thread(
            target=_send_traffic, args=(base_url, setup.ingest_key, rate, stop), name="demo-traffic"
        )
        traffic.start()
        try:
            http = functools.partial(serve_http, app, host, port, sock=sock, mount=web)
            run_process(app.scheduler(), http=http, stop=stop)
        finally:
            stop.set()
            traffic.join()
    finally:
        app.close()
    click.echo("earnest demo: stopped")


def _send_traffic(base_url: str, ingest_key: str, rate: float, stop: threading.Event) -> None:
    """Once the API answers, send demo traffic through it until ``stop``."""
    if not wait_until_healthy(base_url, stop):
        return
    sink = HttpSink(base_url, ingest_key)
    try:
        Traffic(rng=random.Random(), clock=lambda: datetime.now(UTC), sink=sink, rate=rate).run(
            stop
        )
    finally:
        sink.close()


def _print_banner(
    base_url: str, file: str, setup: DemoSetup, history: History, rate: float, *, evidence: str
) -> None:
    outcome_url = f"{base_url}/v1/outcomes/{_TRY_CONTRACT}/{quote(_TRY_OUTCOME, safe='')}"
    signal = {"contract": _TRY_CONTRACT, "outcome": _TRY_OUTCOME, "customer": "acme"}
    signal["signal"] = "merged"
    admin = f"Authorization: Bearer {setup.admin_key}"
    numbers = "none yet"
    if history.finalized:
        numbers = " to ".join(dict.fromkeys([history.finalized[0], history.finalized[-1]]))
    lines = [
        f"earnest demo: {base_url}",
        f"  dashboard:  {base_url}/  sign in as {setup.user_email}, password {setup.user_password}",
        f"  evidence:   {evidence}  ({PORTAL_CUSTOMER}'s evidence pages, as that customer sees"
        " them: a portal link valid 30 days)",
        f"  database:   {file} (fresh)",
        f"  admin key:  {setup.admin_key}",
        f"  ingest key: {setup.ingest_key}",
        "  contracts:  "
        + ", ".join(
            f"{key} (active {WINDOWS[key]['active_for']}, review {WINDOWS[key]['review_window']})"
            for key in setup.contracts
        ),
        f"  traffic:    ~{rate:g} signals/s for {', '.join(CUSTOMERS)}",
        f"  history:    since {history.start:%Y-%m-%d}: {len(history.finalized)} finalized"
        f" invoices ({numbers}), {history.drafts} drafts of the current periods,"
        f" {history.disputes} disputes",
        "",
        "Send a signal:",
        "  curl -s -X POST "
        + shlex.join(
            [
                f"{base_url}/v1/signals",
                "-H",
                f"Authorization: Bearer {setup.ingest_key}",
                "-H",
                "Content-Type: application/json",
                "-d",
                json.dumps(signal),
            ]
        ),
        "Read that outcome:",
        "  curl -s " + shlex.join([outcome_url, "-H", admin]),
        "Read its history:",
        "  curl -s " + shlex.join([f"{outcome_url}/history", "-H", admin]),
        "See the invoices (finalized and drafts), then one with its lines (an id from the list):",
        "  curl -s " + shlex.join([f"{base_url}/v1/invoices", "-H", admin]),
        "  curl -s " + shlex.join([f"{base_url}/v1/invoices/ID", "-H", admin]),
        "  earnest invoices list " + shlex.join(["--database", file]),
        "",
        "Ctrl-C stops it.",
    ]
    click.echo("\n".join(lines))
    sys.stdout.flush()  # a pipe buffers: whoever reads the keys must not wait for them
