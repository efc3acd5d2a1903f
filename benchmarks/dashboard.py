"""p99 of every dashboard and evidence page on a store of 1,000,000 history entries (B10).

Two fresh SQLite files with Earnest's schema (its migrations, through ``earnest contracts
apply``) and the landing-page contract are filled directly with plain ``sqlite3``, as the
recorder would have written them (``finalize.fill``: customers, settled outcomes, their
ledger rows, draft invoices with running totals and a resolved dispute with a partial credit
per customer; the ledger's daily counts), then the history of every outcome
(``history.entries_of``: 10 to 20 entries, interleaved as concurrent traffic leaves them)
until the big store holds at least 1,000,000 entries. Then, through the services, as
``earnest serve`` would: a webhook endpoint, the period's finalization (every invoice
numbered, an activity entry each, a webhook delivery each), a dashboard admin and a portal
link. The small store has 100x fewer outcomes and customers.

Both files are read whole (the OS page cache holds them), each is served by ``earnest
serve`` in its own process, and this process signs in through the form and fetches every
page, one request at a time, taking turns between the two servers, after a warm-up: the
overview; contracts (list, one, its editor); outcomes (unfiltered and by contract,
customer, state and contested; random outcomes' timelines); customers (list, random ones);
invoices (list, by status, random ones); webhooks (list, the endpoint with its
deliveries); the activity log; settings; and a customer's evidence pages (their invoices,
one invoice, one charge's evidence). Downloads (PDF, CSV) are files, not pages: not here.

The target is SPEC/issue 13's: every page's p99 under 200 ms on the big store. The ceiling,
measured in the same run, is the same page on the small store: ``ratio`` is the worst
page's p99 on the big store over its p99 on the small one (how far a page's time grows with
the store; 1 is flat).

    .venv/bin/python benchmarks/dashboard.py [--entries N] [--fetches N] [--json]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from common import stop
from earnest.app import Earnest
from earnest.service.activity import CLI
from earnest.service.invoices import InvoiceClosing
from earnest.store import connect
from finalize import NOW, PERIOD, Bill
from finalize import fill as fill_billing
from history import entries_of, read_whole
from ingest import PRAGMAS, free_port, percentile, prepare, start_server

TARGET_MS = 200.0
SCALE = 100  # the small store has this many times fewer outcomes and customers
CHARGES_PER_CUSTOMER = 40
WINDOW = 1_000  # outcomes whose entries interleave
EMAIL = "bench@example.com"
PASSWORD = "a benchmark password"
CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


@dataclass(slots=True, eq=False)
class Store:
    name: str
    database: Path
    customers: list[str]
    outcomes: int
    entries: int = 0
    invoices: list[str] = field(default_factory=list)
    endpoint: str = ""
    portal: str = ""  # the path of one customer's evidence pages
    portal_invoice: str = ""
    portal_outcome: str = ""


def _history(outcomes: list[tuple[int, str]], seed: int) -> Iterator[tuple[Any, ...]]:
    """``(outcome id, recorded_at, kind, data)`` of every outcome, ``WINDOW`` at a time
    taking turns."""
    rng = random.Random(seed)
    for first in range(0, len(outcomes), WINDOW):
        window = outcomes[first : first + WINDOW]
        pending = [
            (ident, iter(entries_of(ident, customer, opened, rng)))
            for ident, customer, opened in (
                (ident, customer, _opened(ident)) for ident, customer in window
            )
        ]
        while pending:
            still = []
            for ident, entries in pending:
                entry = next(entries, None)
                if entry is not None:
                    yield (ident, *entry)
                    still.append((ident, entries))
            pending = still


def _opened(ident: int) -> int:
    return int(PERIOD.start.timestamp() * 1_000_000) + ident * 20_000_000


def fill(database: Path, customers: int, seed: int) -> tuple[list[str], int, int]:
    """Customers with their charges, credits, disputes and draft invoices, then every
    outcome's history; the customers, the outcomes and the entries."""
    names = [f"cust-{i:05d}" for i in range(customers)]
    bills = [Bill(name, PERIOD, CHARGES_PER_CUSTOMER, 1) for name in names]
    fill_billing(database, names, PERIOD, bills)
    raw = sqlite3.connect(database, isolation_level=None)
    try:
        for pragma in PRAGMAS:
            raw.execute(pragma)
        raw.execute("BEGIN IMMEDIATE")
        outcomes = [
            (int(ident), str(customer))
            for ident, customer in raw.execute("SELECT id, customer FROM outcomes ORDER BY id")
        ]
        seq = 0

        def rows() -> Iterator[tuple[Any, ...]]:
            nonlocal seq
            for ident, recorded_at, kind, data in _history(outcomes, seed):
                seq += 1
                yield seq, ident, recorded_at, kind, data, f"{seq:064x}"

        raw.executemany(
            "INSERT INTO history (seq, outcome_id, recorded_at, kind, data, hash)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            rows(),
        )
        raw.execute("UPDATE chain_head SET seq = ?, hash = '' WHERE id = 1", (seq,))
        day = 86_400_000_000  # the ledger's daily counts, as booking keeps them
        raw.execute(
            "INSERT INTO ledger_days (day, currency, kind, amount, count)"
            f" SELECT booked_at / {day}, currency, kind, amount, COUNT(*) FROM ledger"
            f" GROUP BY booked_at / {day}, currency, kind, amount"
        )
        raw.execute("COMMIT")
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        raw.close()
    return names, len(outcomes), seq


def through_services(store: Store) -> None:
    """What serve would have done since: an endpoint, the period's finalization, a user,
    a portal link."""
    app = Earnest(connect(str(store.database)), clock=lambda: NOW)
    try:
        endpoint, _ = app.webhooks.create(
            "https://hooks.example.com/earnest", description="finance", actor=CLI
        )
        store.endpoint = endpoint.id
        closing = InvoiceClosing(app.db)
        while closing.fire_due(NOW + timedelta(hours=1)):
            pass
        app.users.create(EMAIL, "admin", PASSWORD, actor=CLI)
        customer = store.customers[len(store.customers) // 2]
        found = app.invoices.list(limit=1, customer=customer).items
        store.portal_invoice = found[0].id
        link = app.portal.create(customer, base_url="http://127.0.0.1", actor=CLI)
        store.portal = "/portal/" + link.url.rsplit("/portal/", 1)[1]
        with app.db.read() as tx:
            row = tx.one("SELECT ref FROM outcomes WHERE customer = ? LIMIT 1", (customer,))
            assert row is not None
            store.portal_outcome = f"{store.portal}/outcomes/landing_page/{row[0]}"
            store.invoices = [str(r[0]) for r in tx.query("SELECT id FROM invoices")]
    finally:
        app.close()


def build(workdir: Path, name: str, customers: int) -> Store:
    (workdir / name).mkdir()
    database, _ = prepare(workdir / name)
    names, outcomes, entries = fill(database, customers, seed=len(name))
    store = Store(name, database, names, outcomes, entries)
    through_services(store)
    return store


def pages(store: Store, rng: random.Random) -> dict[str, str]:
    """Every page, by name: one path each (random ids drawn afresh per fetch)."""
    customer = rng.choice(store.customers)
    ref = f"lp-{rng.randrange(1, store.outcomes + 1):08d}"
    invoice = rng.choice(store.invoices)
    return {
        "overview": "/",
        "contracts": "/contracts",
        "contract": "/contracts/landing_page",
        "contract editor": "/contracts/landing_page/edit",
        "outcomes": "/outcomes",
        "outcomes by contract+state": "/outcomes?contract=landing_page&state=confirmed",
        "outcomes by customer": f"/outcomes?customer={customer}",
        "outcomes contested": "/outcomes?contested=yes",
        "outcome timeline": f"/outcomes/landing_page/{ref}",
        "customers": "/customers",
        "customer": f"/customers/{customer}",
        "invoices": "/invoices",
        "invoices finalized": "/invoices?status=finalized",
        "invoice": f"/invoices/{invoice}",
        "webhooks": "/webhooks",
        "webhook endpoint": f"/webhooks/{store.endpoint}",
        "activity": "/activity",
        "settings": "/settings",
        "portal": store.portal,
        "portal invoice": f"{store.portal}/invoices/{store.portal_invoice}",
        "portal evidence": store.portal_outcome,
    }


def serve(store: Store, stack: ExitStack) -> httpx.Client:
    """``earnest serve`` on ``store``; a client signed in through the form (both closed by
    ``stack``)."""
    port = free_port()
    log = stack.enter_context((store.database.parent / "server.log").open("wb"))
    server = start_server(store.database, port, log)
    stack.callback(stop, server)
    client = stack.enter_context(httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30))
    form = client.get("/sign-in")
    token = CSRF.search(form.text)
    assert token is not None, form.text
    body = {"email": EMAIL, "password": PASSWORD, "csrf_token": token.group(1)}
    signed = client.post("/sign-in", data=body)
    assert signed.status_code == 303, signed.text
    return client


def fetch(
    stores: list[Store],
    clients: list[httpx.Client],
    fetches: int,
    warmup: int,
    only: list[str] | None = None,
) -> list[dict[str, list[float]]]:
    """Per store, per page, the seconds of each fetch (every page ``fetches`` times)."""
    rng = random.Random(11)
    times: list[dict[str, list[float]]] = [{} for _ in stores]
    for n in range(warmup + fetches):
        for index, (store, client) in enumerate(zip(stores, clients, strict=True)):
            for name, path in pages(store, rng).items():
                if only and name not in only:
                    continue
                started = time.perf_counter()
                response = client.get(path)
                took = time.perf_counter() - started
                if response.status_code != 200:
                    raise RuntimeError(f"{store.name} {path}: {response.status_code}")
                if n >= warmup:
                    times[index].setdefault(name, []).append(took)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000, help="at least, big store")
    parser.add_argument("--fetches", type=int, default=100, help="of every page, per store")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--only", nargs="*", help="measure only these pages (by name)")
    args = parser.parse_args()
    per_outcome = 15.5  # entries_of writes 10 to 20; 15.5 on average with the bills
    customers = -(-int(args.entries * 1.04 / per_outcome / CHARGES_PER_CUSTOMER) // SCALE) * SCALE
    workdir = Path(tempfile.mkdtemp(prefix="earnest-bench-dashboard-"))
    try:
        filling = time.perf_counter()
        big = build(workdir, "big", customers)
        small = build(workdir, "small", customers // SCALE)
        filled_s = time.perf_counter() - filling
        if big.entries < args.entries:
            raise RuntimeError(f"the big store holds {big.entries:,} entries, not {args.entries:,}")
        size = read_whole(big.database)
        read_whole(small.database)
        with ExitStack() as stack:
            clients = [serve(store, stack) for store in (big, small)]
            measured = fetch([big, small], clients, args.fetches, args.warmup, args.only)
    finally:
        if args.keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    big_p99 = {name: percentile(times, 0.99) * 1e3 for name, times in measured[0].items()}
    small_p99 = {name: percentile(times, 0.99) * 1e3 for name, times in measured[1].items()}
    worst = max(big_p99, key=lambda name: big_p99[name])
    ratio = big_p99[worst] / small_p99[worst]
    slowest = sorted(big_p99, key=lambda name: -big_p99[name])[:5]
    result = {
        "benchmark": "B10 dashboard",
        "what": (
            f"p99 of each of {len(big_p99)} dashboard and evidence pages (overview, contracts,"
            " outcomes filtered 4 ways, timelines, customers, invoices, webhooks, activity,"
            f" settings, portal), signed in, sequential, on a store of {big.entries:,} history"
            f" entries ({big.outcomes:,} outcomes, {len(big.customers):,} customers,"
            f" {len(big.invoices):,} finalized invoices), SQLite, file in the OS page cache,"
            " server in its own process, taking turns with the small store's server;"
            " the worst page"
        ),
        "figure": round(big_p99[worst], 1),
        "unit": f"ms ({worst})",
        "ceiling": round(small_p99[worst], 1),
        "ceiling_what": (
            f"the same page on a store {SCALE}x smaller ({small.entries:,} entries,"
            f" {len(small.customers):,} customers)"
        ),
        "ratio": round(ratio, 3),
        "target": f"every page p99 <= {TARGET_MS:.0f} ms on >= 1M entries",
        "met": big_p99[worst] <= TARGET_MS and big.entries >= 1_000_000,
        "detail": (
            "slowest p99 (big/small, ms): "
            + ", ".join(f"{n} {big_p99[n]:.1f}/{small_p99[n]:.1f}" for n in slowest)
            + f"; {args.fetches} fetches of each page per store after {args.warmup};"
            f" fill {filled_s:.0f} s; file {size / 2**20:.0f} MiB"
        ),
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"fill: {big.entries:,} + {small.entries:,} entries in {filled_s:.1f} s (not timed)")
    for name, p99 in big_p99.items():
        print(f"  {name:<28} p99 {p99:7.1f} ms   small {small_p99[name]:7.1f} ms")
    print(f"worst: {worst} {big_p99[worst]:.1f} ms (target <= {TARGET_MS:.0f} ms)")
    print(f"ratio big/small {ratio:.3f}: {'met' if result['met'] else 'NOT met'}")


if __name__ == "__main__":
    main()
