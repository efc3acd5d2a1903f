"""Several processes on one PostgreSQL database finalizing the same periods (SPEC section 12:
"each invoice is finalized once").

1. Three billing workers (``billing_worker.py`` with a round count) run the same virtual-clock
   schedule at once: each ingests its own signals for the same outcomes, settles by hand,
   opens and resolves disputes, fires deadlines and closes the periods due, with random batch
   sizes, so that they keep closing the same period ends against one another.
2. Then 24 more customers (billing days 1 to 24) each get charges over two months, nothing
   closed, and three closers start at one instant with the same ``now``: two loop over
   ``InvoiceClosing(db, batch).fire_due(now)`` (batches of 1 to 3 customers) and deadlines,
   one runs the real scheduler on a clock stopped at ``now``.

Afterwards (:func:`tests.crash.billing_checks.check_billing`): each invoice finalized once,
with one number, the numbers 1..n without a gap in SPEC 6's order, every ledger row on one
invoice, and everything else :func:`tests.crash.checks.check_store` checks.
"""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from earnest.service.customers import Customers
from earnest.service.ingest import ingest
from earnest.store import Database, connect
from tests.crash.billing_checks import check_billing
from tests.crash.billing_worker import latest_time, schedule, setup
from tests.crash.checks import check_store, read_lines

WORKER = Path(__file__).with_name("billing_worker.py")
PROCESSES = 3
ROUNDS = 12
BULK = 24  # customers of the closers' race


def run_workers(url: str, tmp_path: Path) -> tuple[list[list[str]], list[list[str]]]:
    logs = [tmp_path / f"acks-{n}.log" for n in range(PROCESSES)]
    errors = [tmp_path / f"worker-{n}.err" for n in range(PROCESSES)]
    processes = []
    for n, (log, err) in enumerate(zip(logs, errors, strict=True)):
        with err.open("w") as stderr:
            processes.append(
                subprocess.Popen(
                    [sys.executable, str(WORKER), url, str(log), f"p{n}", str(ROUNDS)],
                    stdout=subprocess.DEVNULL,
                    stderr=stderr,
                )
            )
    codes = [process.wait(timeout=120) for process in processes]
    assert codes == [0] * PROCESSES, [err.read_text()[-3000:] for err in errors]
    acked: list[list[str]] = []
    intents: list[list[str]] = []
    for log in logs:
        done, torn = read_lines(log)
        sent, intent_torn = read_lines(log.with_name(log.name + ".intent"))
        assert not torn
        assert not intent_torn
        assert len(done) == len(sent)
        acked += done
        intents += sent
    return acked, intents


def book_without_closing(db: Database) -> list[list[str]]:
    """Customers ``bulk-NN`` (billing day NN % 28 + 1), each with a charge every ~10 days for
    two months; deadlines and periods left for the closers. The acknowledged signal ids."""
    start = latest_time(db) + timedelta(hours=1)
    customers = Customers(db, lambda: start)
    for n in range(BULK):
        customers.put(f"bulk-{n:02d}", {"billing_day": n % 28 + 1}, actor="cli")
    acked = []
    for day in range(0, 60, 10):
        batch = [
            {"id": f"bulk-{n}-{day}", "contract": "yen", "outcome": f"bulk-{n}-{day}",
             "customer": f"bulk-{n:02d}", "signal": "done"}
            for n in range(BULK)
        ]  # fmt: skip
        results = ingest(db, batch, start + timedelta(days=day, hours=day % 7))
        assert [r.status for r in results] == ["accepted"] * BULK
        acked.append([str(item["id"]) for item in batch])
    return acked


def race_closers(url: str, db: Database, tmp_path: Path) -> list[int]:
    now = latest_time(db) + timedelta(days=40)
    seeds = [f"c{n}" for n in range(PROCESSES - 1)] + ["c-s"]  # "s": the real scheduler
    errors = [tmp_path / f"closer-{seed}.err" for seed in seeds]
    closers = []
    for seed, err in zip(seeds, errors, strict=True):
        with err.open("w") as stderr:
            closers.append(
                subprocess.Popen(
                    [sys.executable, str(WORKER), "--close", url, now.isoformat(), seed],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=stderr,
                    text=True,
                )
            )
    for closer in closers:
        assert closer.stdout is not None
        assert closer.stdout.readline() == "READY\n", [e.read_text() for e in errors]
    for closer in closers:  # go, all at once
        assert closer.stdin is not None
        closer.stdin.write("go\n")
        closer.stdin.close()
    did = []
    for closer, err in zip(closers, errors, strict=True):
        assert closer.stdout is not None
        out = closer.stdout.read()
        closer.stdout.close()
        assert closer.wait(timeout=120) == 0, err.read_text()[-3000:]
        did.append(int(out.split()[-1]))
    return did


def test_concurrent_closers_finalize_each_invoice_once(pg_icu_url: str, tmp_path: Path) -> None:
    pg_url = pg_icu_url  # a default collation that is not byte order (tests/crash/conftest.py)
    db = connect(pg_url)
    db.migrate()
    setup(db, schedule(1)[0])  # once, before the workers race to do it
    started = time.monotonic()
    acked, intents = run_workers(pg_url, tmp_path)
    workers_s = time.monotonic() - started
    mixed = check_billing(db, final_time=None, verifiers=False)  # a slower worker may owe a closing
    bulk = book_without_closing(db)
    booked_s = time.monotonic() - started
    did = race_closers(pg_url, db, tmp_path)
    closers_s = time.monotonic() - started
    final = latest_time(db)
    report = check_store(db, acked=acked + bulk, intents=intents + bulk, final_time=final)
    billing = check_billing(db, final_time=final, verifiers=False)  # check_store ran them
    db.close()
    print(f"workers {workers_s:.1f} s, booked {booked_s:.1f} s, closers {closers_s:.1f} s")
    print(
        f"{PROCESSES} workers x {ROUNDS} rounds: {mixed};"
        f" then {PROCESSES} closers did {did}: {billing}; {report}"
    )
    assert mixed.finalized > 0
    assert mixed.period_ends >= 2
    assert sum(1 for n in did if n > 0) >= 2, f"the closers did not race: {did}"
    assert billing.finalized >= mixed.finalized + 3 * BULK
