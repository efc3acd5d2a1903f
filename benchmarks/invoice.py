"""p99 of ``GET /v1/invoices/{id}`` for an invoice of 100,000 charges against one of 100, for a
draft and for a finalized invoice (benchmark B8), SQLite.

A fresh SQLite file with Earnest's schema and the landing-page contract is filled directly
with plain ``sqlite3`` (``finalize.fill``, as the recorder would have written it) with two
customers on billing day 1: ``small`` with 100 charges in each of the previous and the current
period (the one holding the real clock's now, so the server's scheduler finalizes nothing),
``big`` with 100,000 in each; every invoice also holds three credits (disputes resolved with a
partial credit), so all four answers have the same lines (one charge line, three credit
lines) and the same size. The previous period's two invoices are then finalized in this
process by Earnest itself (``InvoiceClosing``: numbered, hashed, in the activity log); the
current period's two stay drafts.

``earnest serve`` then serves the file in its own process, and this process fetches the four
invoices with a read key, one request at a time, taking turns (draft small, draft big,
finalized small, finalized big) so that other load on the machine hits all four alike, after
a warm-up. The file is far smaller than the machine's memory and sits in the OS page cache.

Each big invoice's p99 is compared with the p99 of the small invoice in the same state (the
ceiling: the same read when there are 1,000 times fewer charges behind it); the ratio
reported is the larger of the two ratios, draft and finalized, and must be at most 2.
``detail`` adds the in-process p99 of ``Invoices.get()``.

    .venv/bin/python benchmarks/invoice.py [--small N] [--big N] [--fetches N] [--json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx

from earnest.billing import BillingDays
from earnest.service.invoices import InvoiceClosing, Invoices
from earnest.store import connect
from finalize import CREDIT, PRICE, Bill, fill
from history import Store, read_whole, serve
from ingest import percentile, prepare

TARGET = 2.0
CREDITS = 3  # on every invoice, so that every answer has the same lines


@dataclass(frozen=True, slots=True)
class Target:
    """One invoice to fetch, and what its answer must say."""

    name: str  # draft-small, draft-big, finalized-small, finalized-big
    bill: Bill
    status: str

    @property
    def subtotal(self) -> str:
        return str(PRICE * self.bill.charges)


def build(workdir: Path, small: int, big: int, now: datetime) -> tuple[Path, list[Target]]:
    """The store: the previous period's invoices finalized, the current period's drafts."""
    database, _ = prepare(workdir)
    current = BillingDays.of(now, 1).first()
    previous = BillingDays.of(current.start - timedelta(days=1), 1).first()
    bills = {
        (status, size): Bill(f"{size}-customer", period, charges, CREDITS, until)
        for status, period, until in (
            ("finalized", previous, None),
            ("draft", current, now),
        )
        for size, charges in (("small", small), ("big", big))
    }
    fill(database, ["small-customer", "big-customer"], previous, list(bills.values()))
    db = connect(str(database))
    try:
        closing = InvoiceClosing(db)
        while closing.fire_due(previous.end + timedelta(hours=1)):
            pass
    finally:
        db.close()
    targets = [Target(f"{status}-{size}", bill, status) for (status, size), bill in bills.items()]
    order = ["draft-small", "draft-big", "finalized-small", "finalized-big"]
    return database, sorted(targets, key=lambda t: order.index(t.name))


def check(target: Target, answer: httpx.Response) -> None:
    if answer.status_code != 200:
        raise RuntimeError(f"{target.name}: HTTP {answer.status_code}: {answer.text[:300]}")
    body = answer.json()
    kinds = sorted(line["kind"] for line in body["lines"])
    if (body["id"], body["status"], body["subtotal"], kinds) != (
        target.bill.invoice,
        target.status,
        target.subtotal,
        ["charge"] + ["credit"] * CREDITS,
    ):
        raise RuntimeError(f"{target.name}: unexpected answer {answer.text[:500]}")
    if Decimal(body["credits"]) != CREDIT * CREDITS:
        raise RuntimeError(f"{target.name}: credits {body['credits']}")


def fetch_http(
    database: Path, targets: list[Target], fetches: int, warmup: int
) -> list[list[float]]:
    """Sequential fetches through ``earnest serve``, taking turns between the invoices; each
    invoice's fetch times in seconds."""
    with ExitStack() as stack:
        client = serve(Store(database, 0, 0, 0), stack)
        latencies: list[list[float]] = [[] for _ in targets]
        for i in range(warmup + fetches):
            for target, times in zip(targets, latencies, strict=True):
                sent = time.perf_counter()
                answer = client.get(f"/v1/invoices/{target.bill.invoice}")
                took = time.perf_counter() - sent
                check(target, answer)
                if i >= warmup:
                    times.append(took)
    return latencies


def fetch_service(
    database: Path, targets: list[Target], fetches: int, warmup: int
) -> list[list[float]]:
    """Sequential ``Invoices.get()`` calls in this process, taking turns between the
    invoices; each invoice's call times in seconds."""
    db = connect(str(database))
    try:
        invoices = Invoices(db, lambda: datetime.now(UTC))
        latencies: list[list[float]] = [[] for _ in targets]
        for i in range(warmup + fetches):
            for target, times in zip(targets, latencies, strict=True):
                started = time.perf_counter()
                invoice = invoices.get(target.bill.invoice)
                took = time.perf_counter() - started
                assert invoice.row.status == target.status, (target.name, invoice.row.status)
                if i >= warmup:
                    times.append(took)
        return latencies
    finally:
        db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--small", type=int, default=100, help="charges on the small invoices")
    parser.add_argument("--big", type=int, default=100_000, help="charges on the big invoices")
    parser.add_argument("--fetches", type=int, default=3_000, help="of each invoice")
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="earnest-bench-invoice-"))
    try:
        filling = time.perf_counter()
        database, targets = build(workdir, args.small, args.big, datetime.now(UTC))
        filled_s = time.perf_counter() - filling
        size = read_whole(database)
        http = fetch_http(database, targets, args.fetches, args.warmup)
        service = fetch_service(database, targets, args.fetches, args.warmup)
    finally:
        if args.keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    p99 = {t.name: percentile(times, 0.99) for t, times in zip(targets, http, strict=True)}
    p50 = {t.name: percentile(times, 0.5) for t, times in zip(targets, http, strict=True)}
    in_p99 = {t.name: percentile(times, 0.99) for t, times in zip(targets, service, strict=True)}
    ratios = {
        state: p99[f"{state}-big"] / p99[f"{state}-small"] for state in ("draft", "finalized")
    }
    worst = max(ratios, key=lambda state: ratios[state])
    ratio = ratios[worst]

    def ms(values: dict[str, float], name: str) -> str:
        return f"{values[name] * 1e3:.2f}"

    result = {
        "benchmark": "B8 invoice",
        "what": (
            f"p99 of GET /v1/invoices/{{id}} for an invoice of {args.big:,} charges (and 3"
            " credits), draft and finalized, sequential, taking turns with the small ones,"
            " SQLite, file in the OS page cache, server in its own process; the worse of the"
            f" two ({worst})"
        ),
        "figure": round(p99[f"{worst}-big"] * 1e3, 2),
        "unit": "ms",
        "ceiling": round(p99[f"{worst}-small"] * 1e3, 2),
        "ceiling_what": f"the same fetch of an invoice of {args.small:,} charges in the same state",
        "ratio": round(ratio, 3),
        "target": f"p99(big)/p99(small) <= {TARGET:g}, draft and finalized",
        "met": all(r <= TARGET for r in ratios.values()),
        "detail": (
            f"draft p99 {ms(p99, 'draft-big')} vs {ms(p99, 'draft-small')} ms (ratio"
            f" {ratios['draft']:.3f}), finalized {ms(p99, 'finalized-big')} vs"
            f" {ms(p99, 'finalized-small')} ms (ratio {ratios['finalized']:.3f}); p50"
            f" {ms(p50, 'draft-big')}/{ms(p50, 'draft-small')} and"
            f" {ms(p50, 'finalized-big')}/{ms(p50, 'finalized-small')} ms; in-process"
            f" Invoices.get() p99 {ms(in_p99, 'draft-big')}/{ms(in_p99, 'draft-small')} and"
            f" {ms(in_p99, 'finalized-big')}/{ms(in_p99, 'finalized-small')} ms;"
            f" file {size / 2**20:.0f} MiB; {args.fetches:,} fetches each after {args.warmup:,}"
        ),
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"fill: 2 x {args.big:,} and 2 x {args.small:,} charges in {filled_s:.1f} s (not timed)")
    print(f"GET invoice: {result['detail']}")
    print(f"ratio {ratio:.3f} (target <= {TARGET:g}): {'met' if result['met'] else 'NOT met'}")


if __name__ == "__main__":
    main()
