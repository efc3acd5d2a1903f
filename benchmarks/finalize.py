"""Finalizing one period end of 10,000 customers holding 1,000,000 charges (benchmark B7).

A fresh SQLite file with Earnest's schema (its migrations, through ``earnest contracts
apply``) and the landing-page contract is filled directly with plain ``sqlite3``, as the
recorder would have written it: customers on billing day 1 whose first open period is
October 2026, their billing-day histories, one settled (confirmed) outcome per charge, the
ledger (each row on its invoice), one draft invoice per customer with its running totals and
its aggregate charge line, and one credit per customer (a dispute resolved with a partial
credit: the ledger row with its reason, the outcome's ``credited``, the ``disputes`` row).
History entries are not written: finalization does not read them (``ledger.history_seq``
names entries that do not exist; the hash chain is not valid).

Timed: the catch-up that finalizes all of them, in this process, as the scheduler of
``earnest serve`` and ``earnest worker`` does after downtime: ``InvoiceClosing(db).fire_due(
now)`` until it returns 0, a day after the period end (1,000 customers per transaction:
each invoice numbered from the gapless counter, frozen with the SHA-256 of its document, an
``invoice.finalized`` entry in the activity log, the customer's next period opened).

The ceiling, measured in the same run on a copy of the file taken before finalizing (same
PRAGMAs: WAL, ``synchronous=FULL``), is finalizing from the ledger with plain ``sqlite3``:
read every ledger row with the columns an invoice needs (joined to its outcome for the
contract, version and reference), group them per invoice in Python into charge lines,
subtotal, credit lines and a rounded total, number the invoices in SPEC 6's order, hash each
one, and write the invoice rows (status, number, sequence, finalized_at, hash: one UPDATE per
invoice, and the counter) in one transaction. Earnest reads each invoice's running totals and
aggregate lines instead of the ledger (decision 0016), so its ratio may exceed 1: it reads far
less than the ceiling, though it writes more (the activity log, the customers' open periods)
and commits once per 1,000 customers. Both files are read whole before timing, so both sit
in the OS page cache.

    .venv/bin/python benchmarks/finalize.py [--customers N] [--charges N] [--json]
    .venv/bin/python benchmarks/finalize.py --cprofile   # profile the catch-up in-process
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import json
import pstats
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from earnest.billing import Period
from earnest.service.invoices import BATCH, InvoiceClosing
from earnest.service.process import tune_gc
from earnest.store import connect
from earnest.store.codec import to_us
from earnest.store.invoices import invoice_id, price_key
from history import read_whole
from ingest import PRAGMAS, percentile, prepare
from settle import open_raw, snapshot

TARGET = 0.30
PERIOD = Period(datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC))
NOW = PERIOD.end + timedelta(days=1)  # the catch-up after a day of downtime
PRICE = Decimal("0.99")  # the landing-page contract's price
CREDIT = Decimal("0.40")
CREDIT_REASON = "dispute: partial refund"
HOUR_US = 3_600_000_000
LEDGER = (
    "INSERT INTO ledger (id, kind, outcome_id, customer, amount, currency, period_start,"
    " booked_at, history_seq, period_end, invoice_id, reason)"
    f" VALUES ({', '.join('?' * 12)})"
)
OUTCOME = (
    "INSERT INTO outcomes (id, contract, ref, contract_version, customer, state, scheduled,"
    " review_reason, opened_at, active_until, review_ends_at, settled_at, clock, deadline,"
    f" observed, last_verdict, contested, charged, credited) VALUES ({', '.join('?' * 19)})"
)


# The store, as the recorder would have written it ------------------------------------------


@dataclass(frozen=True, slots=True)
class Bill:
    """A draft invoice to fill: ``charges`` charges of ``customer`` in ``period``, settled
    one after the other from the period's start until ``until`` (default: 80% of the
    period), the first ``credits`` of them credited ``CREDIT`` one second later."""

    customer: str
    period: Period
    charges: int
    credits: int = 0
    until: datetime | None = None

    @property
    def invoice(self) -> str:
        return invoice_id(self.customer, self.period.start, "USD")

    def settled_us(self, n: int) -> int:
        start = to_us(self.period.start)
        end = to_us(self.until) if self.until is not None else None
        if end is None:
            end = start + (to_us(self.period.end) - start) * 4 // 5
        return start + n * max(1, (end - start) // max(1, self.charges))


def _day(moment: datetime) -> str:
    return moment.date().isoformat()


def _outcomes(bills: Sequence[Bill]) -> Iterator[tuple[Any, ...]]:
    ident = 0
    for bill in bills:
        for n in range(bill.charges):
            ident += 1
            settled = bill.settled_us(n)
            opened = settled - 25 * HOUR_US
            credited = CREDIT if n < bill.credits else Decimal(0)
            yield (
                ident, "landing_page", f"lp-{ident:08d}", 1, bill.customer, "confirmed",
                "confirm", "conditions_met", opened, opened + 48 * HOUR_US, settled, settled,
                settled, None, f'{{"completed":[true,{opened}],"score":[5,{opened}]}}', "met",
                False, str(PRICE), str(credited),
            )  # fmt: skip


def _charges(bills: Sequence[Bill]) -> Iterator[tuple[Any, ...]]:
    """The charges: ledger id = outcome id (all charges are booked before any credit)."""
    ident = 0
    for bill in bills:
        invoice, start, end = bill.invoice, _day(bill.period.start), _day(bill.period.end)
        for n in range(bill.charges):
            ident += 1
            yield (
                ident, "charge", ident, bill.customer, str(PRICE), "USD", start,
                bill.settled_us(n), ident, end, invoice, None,
            )  # fmt: skip


def fill(
    database: Path, customers: Sequence[str], open_period: Period, bills: Sequence[Bill]
) -> int:
    """Customers (billing day 1, created at ``open_period.start``, which is their first open
    period) and ``bills``, each as the recorder would have booked it: a settled outcome per
    charge, its ledger row on the invoice, each credit a dispute resolved with a partial
    credit, the invoice's running totals and aggregate charge line. How many ledger rows."""
    created = to_us(open_period.start)
    raw = sqlite3.connect(database, isolation_level=None)
    try:
        for pragma in PRAGMAS:
            raw.execute(pragma)
        raw.execute("BEGIN IMMEDIATE")
        raw.executemany(
            "INSERT INTO customers (id, billing_day, created_at, open_start, open_end)"
            " VALUES (?, 1, ?, ?, ?)",
            ((c, created, created, to_us(open_period.end)) for c in customers),
        )
        raw.executemany(
            "INSERT INTO billing_days (customer, since, billing_day) VALUES (?, ?, 1)",
            ((c, created) for c in customers),
        )
        raw.executemany(OUTCOME, _outcomes(bills))
        raw.executemany(LEDGER, _charges(bills))
        ledger_id = sum(bill.charges for bill in bills)
        credits: list[tuple[Any, ...]] = []
        disputes: list[tuple[Any, ...]] = []
        base = 1  # the id of the bill's first outcome: ids run bill after bill
        for bill in bills:
            start, end = _day(bill.period.start), _day(bill.period.end)
            for n in range(bill.credits):
                ledger_id += 1
                outcome = base + n
                booked = bill.settled_us(n) + 1_000_000
                credits.append(
                    (ledger_id, "credit", outcome, bill.customer, str(CREDIT), "USD", start,
                     booked, ledger_id, end, bill.invoice, CREDIT_REASON)
                )  # fmt: skip
                disputes.append(
                    (outcome, bill.customer, "resolved", "not what was ordered", "demo-admin",
                     booked - 1_000, "credit", "partial refund", "demo-admin", booked,
                     str(CREDIT), ledger_id)
                )  # fmt: skip
            base += bill.charges
        raw.executemany(LEDGER, credits)
        raw.executemany(
            "INSERT INTO disputes (outcome_id, customer, state, reason, opened_by, opened_at,"
            " resolution, note, resolved_by, resolved_at, credit_amount, credit_ledger_id)"
            f" VALUES ({', '.join('?' * 12)})",
            disputes,
        )
        raw.executemany(
            "INSERT INTO invoices (id, customer, currency, period_start, period_end, status,"
            f" subtotal, credits, created_at) VALUES ({', '.join('?' * 9)})",
            (
                (bill.invoice, bill.customer, "USD", to_us(bill.period.start),
                 to_us(bill.period.end), "draft", str(PRICE * bill.charges),
                 str(CREDIT * bill.credits), bill.settled_us(0))
                for bill in bills
            ),
        )  # fmt: skip
        raw.executemany(
            "INSERT INTO invoice_lines (invoice_id, contract, contract_version, unit_price,"
            " quantity) VALUES (?, 'landing_page', 1, ?, ?)",
            ((bill.invoice, price_key(PRICE), bill.charges) for bill in bills if bill.charges),
        )
        raw.execute("COMMIT")
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        raw.close()
    return ledger_id


# The ceiling: finalizing from the ledger with plain sqlite3 --------------------------------


@dataclass(slots=True)
class _Draft:
    """What a scan of the ledger gathers for one invoice."""

    lines: dict[tuple[str, int, str], int] = field(default_factory=dict)  # by amount text
    credits: list[tuple[int, str, str, str, str | None, int]] = field(default_factory=list)


def ceiling(database: Path, end: datetime, at: datetime) -> tuple[float, float, dict[str, str]]:
    """Finalize every draft whose period ends by ``end`` from a scan of the ledger, in one
    transaction: (seconds reading and grouping, seconds in all, number of each invoice)."""
    raw = open_raw(database)
    try:
        started = time.perf_counter()
        raw.execute("BEGIN IMMEDIATE")
        drafts = raw.execute(
            "SELECT id, customer, currency, period_start, period_end, subtotal, credits"
            " FROM invoices WHERE status = 'draft' AND period_end <= ?",
            (to_us(end),),
        ).fetchall()
        scanned: dict[str, _Draft] = {row[0]: _Draft() for row in drafts}
        for ident, kind, amount, contract, version, ref, reason, booked, invoice in raw.execute(
            "SELECT l.id, l.kind, l.amount, o.contract, o.contract_version, o.ref, l.reason,"
            " l.booked_at, l.invoice_id FROM ledger l JOIN outcomes o ON o.id = l.outcome_id"
        ):
            draft = scanned.get(invoice)
            if draft is None:
                continue  # a period still open
            if kind == "charge":
                key = (contract, version, amount)
                draft.lines[key] = draft.lines.get(key, 0) + 1
            else:
                draft.credits.append((ident, ref, contract, amount, reason, booked))
        read = time.perf_counter() - started
        (counter,) = raw.execute(
            "SELECT value FROM counters WHERE name = 'invoice_number'"
        ).fetchone()
        numbers: dict[str, str] = {}
        updates = []
        drafts.sort(key=lambda row: (row[4], row[1].encode(), row[2].encode()))
        for row in drafts:
            ident, subtotal, credited = row[0], row[5], row[6]
            counter += 1
            number = f"EARN-{counter:06d}"
            document = _document(row, number, scanned[ident])
            if (document["subtotal"], document["credits"]) != (subtotal, credited):
                raise RuntimeError(f"{ident}: the ledger and the running totals differ")
            digest = hashlib.sha256(
                json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
            ).hexdigest()
            updates.append((number, counter, to_us(at), digest, ident))
            numbers[ident] = number
        raw.executemany(
            "UPDATE invoices SET status = 'finalized', number = ?, sequence = ?,"
            " finalized_at = ?, hash = ? WHERE id = ? AND status = 'draft'",
            updates,
        )
        raw.execute("UPDATE counters SET value = ? WHERE name = 'invoice_number'", (counter,))
        raw.execute("COMMIT")
        return read, time.perf_counter() - started, numbers
    finally:
        raw.close()


def _document(row: Sequence[Any], number: str, draft: _Draft) -> dict[str, Any]:
    """The invoice's lines and totals, from what the scan gathered (USD: 2 places); ``row``
    is the draft's row as :func:`ceiling` selects it."""
    ident, customer, currency, start, end = row[:5]
    lines: list[dict[str, Any]] = []
    subtotal = Decimal(0)
    by_price: dict[tuple[str, int, str], int] = {}
    for (contract, version, text), count in draft.lines.items():
        key = (contract, version, price_key(Decimal(text)))
        by_price[key] = by_price.get(key, 0) + count
    for (contract, version, price), quantity in sorted(by_price.items()):
        line = Decimal(price) * quantity
        subtotal += line
        lines.append(
            {"kind": "charge", "contract": contract, "contract_version": version,
             "quantity": quantity, "unit_price": price, "amount": str(line)}
        )  # fmt: skip
    credited = Decimal(0)
    for _, ref, contract, amount, reason, _ in sorted(draft.credits, key=lambda c: (c[5], c[0])):
        credited += Decimal(amount)
        lines.append(
            {"kind": "credit", "outcome": ref, "contract": contract, "amount": f"-{amount}",
             "reason": reason}
        )  # fmt: skip
    total = (subtotal - credited).quantize(Decimal("0.01"), rounding="ROUND_HALF_EVEN")
    return {
        "id": ident, "number": number, "customer": customer, "currency": currency,
        "period": [start, end], "lines": lines, "subtotal": str(subtotal),
        "credits": str(credited), "total": str(total),
    }  # fmt: skip


# Earnest --------------------------------------------------------------------------------


@dataclass(slots=True)
class Run:
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)  # per transaction
    done: int = 0  # customers closed (and deadlines fired: none here)


def finalize(database: Path, now: datetime, profile: bool = False) -> Run:
    """``InvoiceClosing(db).fire_due(now)`` until it returns 0, timed."""
    db = connect(str(database))
    closing = InvoiceClosing(db)
    run = Run()
    try:
        closing.next_due()  # connects, outside the timing
        tune_gc()  # as `earnest worker` and `earnest serve` do before their scheduler starts
        profiler = cProfile.Profile() if profile else None
        if profiler is not None:
            profiler.enable()
        started = time.perf_counter()
        while True:
            sent = time.perf_counter()
            count = closing.fire_due(now)
            if not count:
                break
            run.latencies.append(time.perf_counter() - sent)
            run.done += count
        run.seconds = time.perf_counter() - started
        if profiler is not None:
            profiler.disable()
            stats = pstats.Stats(profiler, stream=sys.stderr)
            stats.sort_stats("tottime").print_stats(20)
            stats.sort_stats("cumulative").print_stats(40)
    finally:
        db.close()
    return run


def check(database: Path, bills: Sequence[Bill], numbers: dict[str, str]) -> None:
    """Every invoice finalized, numbered 1..n in customer order as the ceiling numbered it,
    with its activity entry; every customer's next period open."""
    with sqlite3.connect(database) as raw:
        found = dict(
            raw.execute(
                "SELECT id, number FROM invoices WHERE status = 'finalized' ORDER BY sequence"
            ).fetchall()
        )
        entries = raw.execute(
            "SELECT COUNT(*) FROM activity WHERE action = 'invoice.finalized'"
        ).fetchone()[0]
        moved = raw.execute(
            "SELECT COUNT(*) FROM customers WHERE open_start = ?", (to_us(PERIOD.end),)
        ).fetchone()[0]
    raw.close()
    expected = {
        bill.invoice: f"EARN-{n:06d}"
        for n, bill in enumerate(sorted(bills, key=lambda b: b.customer.encode()), 1)
    }
    if found != expected or numbers != expected:
        raise RuntimeError("invoices not finalized, or not numbered in customer order")
    if entries != len(bills) or moved != len(bills):
        raise RuntimeError(f"{entries} activity entries, {moved} customers moved on")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--charges", type=int, default=1_000_000, help="in all")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--cprofile", action="store_true", help="profile the catch-up")
    args = parser.parse_args()
    per, extra = divmod(args.charges, args.customers)
    names = [f"cust-{i:05d}" for i in range(args.customers)]
    bills = [Bill(name, PERIOD, per + (i < extra), 1) for i, name in enumerate(names)]
    workdir = Path(tempfile.mkdtemp(prefix="earnest-bench-finalize-"))
    try:
        database, _ = prepare(workdir)
        filling = time.perf_counter()
        rows = fill(database, names, PERIOD, bills)
        copy = workdir / "ceiling.db"
        snapshot(database, copy)
        filled_s = time.perf_counter() - filling
        size = read_whole(database) + read_whole(copy)
        read_s, base_s, numbers = ceiling(copy, PERIOD.end, PERIOD.end + timedelta(minutes=5))
        ours = finalize(database, NOW, args.cprofile)
        check(database, bills, numbers)
    finally:
        if args.keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    invoices = len(bills)
    rate, base_rate = invoices / ours.seconds, invoices / base_s
    ratio = rate / base_rate
    result = {
        "benchmark": "B7 finalize",
        "what": (
            f"invoices/s finalizing one period end of {invoices:,} customers holding"
            f" {args.charges:,} charges (one invoice each, one credit each): InvoiceClosing"
            f".fire_due() until 0, {BATCH:,} customers per transaction, SQLite WAL"
            " synchronous=FULL, file in the OS page cache"
        ),
        "figure": round(rate),
        "unit": "invoices/s",
        "ceiling": round(base_rate),
        "ceiling_what": (
            f"plain sqlite3 finalizing from the ledger: read all {rows:,} ledger rows (joined"
            " to their outcomes), group them per invoice in Python (lines, totals, hash), write"
            f" the {invoices:,} invoice rows (status, number, hash), one transaction, same"
            " PRAGMAs, on a copy of the store"
        ),
        "ratio": round(ratio, 3),
        "target": f"ratio >= {TARGET:.2f}",
        "met": ratio >= TARGET,
        "detail": (
            f"{invoices:,} finalized in {ours.seconds:.2f} s, {len(ours.latencies)}"
            f" transactions, p50 {percentile(ours.latencies, 0.5) * 1e3:.0f} ms; ceiling"
            f" {base_s:.2f} s, of which reading and grouping the ledger {read_s:.2f} s;"
            " Earnest reads running totals, not the ledger, so it may beat the ceiling;"
            f" files {size / 2 / 2**20:.0f} MiB each"
        ),
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"fill: {rows:,} ledger rows, {invoices:,} invoices in {filled_s:.1f} s (not timed)")
    print(f"catch-up: {rate:,.0f} invoices/s ({result['detail']})")
    print(f"ceiling (plain sqlite3 from the ledger): {base_rate:,.0f} invoices/s")
    print(f"ratio {ratio:.3f} (target >= {TARGET:.2f}): {'met' if result['met'] else 'NOT met'}")


if __name__ == "__main__":
    main()
