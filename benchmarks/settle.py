"""Settlements per second when 100,000 review windows end at the same instant (benchmark B3).

A fresh SQLite file (the landing-page contract: review window 24 h, on timeout confirm) is
filled in this process, untimed, through ``ingest()`` at one engine time ``T0``: two signals
per outcome (``completed``, naming the customer, then ``score`` 5), so every outcome waits in
review until ``T0 + 24h``. Timed: ``catch_up(db, T0 + 24h)``, what the scheduler of
``earnest serve`` and ``earnest worker`` runs on start, in this process (there is no client:
the scheduler's work is the whole load). Every outcome must end settled with exactly one
charge in the ledger.

The ceiling, measured in the same run, is the least any store must do for those settlements:
the rows the settlement wrote (history entries, outcome updates, ledger rows, the invoices the
charges are on with their running totals and charge lines, the chain head),
read back from Earnest's file and written with plain ``sqlite3`` into a copy of the file taken
before settling (same table sizes, same schema and PRAGMAs: WAL, ``synchronous=FULL``), one
transaction per 1,000 outcomes, as Earnest's scheduler batches them. Each ceiling transaction
runs right after Earnest commits the batch it copies (neither timing includes the other), so
that other load on the machine, the disk's above all, weighs on both alike.

    .venv/bin/python benchmarks/settle.py [--outcomes N] [--json]
    .venv/bin/python benchmarks/settle.py --cprofile   # profile catch_up() in-process
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import shutil
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from earnest.service.deadlines import BATCH, catch_up
from earnest.service.ingest import MAX_BATCH, ingest
from earnest.service.process import tune_gc
from earnest.store import Database, connect
from earnest.store.codec import to_us
from ingest import PRAGMAS, Load, percentile, prepare

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
REVIEW = timedelta(hours=24)  # the landing-page contract's review window
TARGET = 0.30


def fill(db: Database, outcomes: int) -> None:
    """``outcomes`` outcomes, all in review until ``T0 + 24h``, in batches of 10,000 signals."""
    customers = max(1, outcomes // 20)
    per_batch = MAX_BATCH // 2
    for first in range(0, outcomes, per_batch):
        batch: list[dict[str, Any]] = []
        for ref in range(first, min(outcomes, first + per_batch)):
            common = {"contract": "landing_page", "outcome": f"lp-{ref:06d}"}
            batch.append(
                {
                    **common,
                    "id": f"done-{ref:06d}",
                    "customer": f"cust-{ref % customers:05d}",
                    "signal": "completed",
                }
            )
            batch.append({**common, "id": f"score-{ref:06d}", "signal": "score", "value": 5})
        results = ingest(db, batch, T0)
        refused = [r for r in results if r.status != "accepted"]
        if refused:
            raise RuntimeError(f"{len(refused)} signals not accepted: {refused[0]}")
    with db.read() as tx:
        row = tx.one(
            "SELECT COUNT(*) FROM outcomes WHERE state = 'in_review' AND deadline = ?",
            (to_us(T0 + REVIEW),),
        )
    if row is None or int(row[0]) != outcomes:
        raise RuntimeError(f"{row} outcomes in review until T0 + 24h, expected {outcomes}")


def snapshot(source: Path, target: Path) -> None:
    """A consistent copy of ``source`` (its WAL included), through SQLite's backup API."""
    with sqlite3.connect(source) as raw, sqlite3.connect(target) as copy:
        raw.backup(copy)
    copy.close()
    raw.close()


def check(database: Path, outcomes: int, head_before: int) -> tuple[int, int]:
    """Every outcome settled (confirmed: on timeout) once, with one charge.

    Returns (settlements, history entries written by the settlement)."""
    with sqlite3.connect(database) as raw:
        settled = raw.execute(
            "SELECT COUNT(*) FROM outcomes WHERE state = 'confirmed' AND settled_at IS NOT NULL"
        ).fetchone()
        charges = raw.execute(
            "SELECT COUNT(*), COUNT(DISTINCT outcome_id) FROM ledger WHERE kind = 'charge'"
        ).fetchone()
        transitions = raw.execute(
            "SELECT COUNT(*), COUNT(DISTINCT outcome_id) FROM history WHERE seq > ?"
            " AND kind = 'transition' AND data LIKE '%\"to\":\"confirmed\"%'",
            (head_before,),
        ).fetchone()
        written = raw.execute("SELECT COUNT(*) FROM history WHERE seq > ?", (head_before,))
        entries = int(written.fetchone()[0])
    raw.close()
    counts = (int(settled[0]), *map(int, charges), *map(int, transitions))
    if counts != (outcomes,) * 5:
        raise RuntimeError(
            "expected every outcome settled once with one charge: settled, charges, charged"
            f" outcomes, settling transitions, settled outcomes = {counts}, not {outcomes}"
        )
    return outcomes, entries


# The ceiling: the same rows with plain sqlite3 -------------------------------------------

_MUTABLE = (
    "state", "scheduled", "review_reason", "active_until", "review_ends_at", "settled_at",
    "clock", "deadline", "observed", "last_verdict", "contested", "charged", "credited",
)  # fmt: skip
UPDATE_OUTCOME = f"UPDATE outcomes SET {', '.join(f'{c} = ?' for c in _MUTABLE)} WHERE id = ?"
LEDGER_COLUMNS = (
    "id, kind, outcome_id, customer, amount, currency, period_start, booked_at, history_seq,"
    " period_end, invoice_id, reason"
)
INVOICE_COLUMNS = (
    "id, customer, currency, period_start, period_end, status, subtotal, credits, created_at"
)


@dataclass(slots=True)
class Batch:
    history: list[tuple[Any, ...]]
    outcomes: list[tuple[Any, ...]]
    ledger: list[tuple[Any, ...]]
    invoices: list[tuple[Any, ...]]  # the drafts the charges are on, with their new totals
    lines: list[tuple[Any, ...]]  # and their charge lines
    head: tuple[Any, ...]


def written_rows(reader: sqlite3.Connection, after_seq: int, after_ledger: int) -> Batch:
    """The rows one committed settlement batch wrote: its history entries (``seq`` after
    ``after_seq``), the outcome rows they name, its ledger rows (``id`` after
    ``after_ledger``) and the chain head."""
    history = reader.execute(
        "SELECT seq, outcome_id, recorded_at, kind, data, hash FROM history WHERE seq > ?"
        " ORDER BY seq",
        (after_seq,),
    ).fetchall()
    ids = list(dict.fromkeys(int(row[1]) for row in history))
    outcomes: list[tuple[Any, ...]] = []
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ", ".join("?" * len(chunk))
        outcomes += reader.execute(
            f"SELECT {', '.join(_MUTABLE)}, id FROM outcomes WHERE id IN ({marks})", chunk
        ).fetchall()
    ledger = reader.execute(
        f"SELECT {LEDGER_COLUMNS} FROM ledger WHERE id > ? ORDER BY id", (after_ledger,)
    ).fetchall()
    assert {int(row[2]) for row in ledger} <= set(ids), "a ledger row of another batch"
    invoice_ids = list(dict.fromkeys(row[10] for row in ledger))
    invoices: list[tuple[Any, ...]] = []
    lines: list[tuple[Any, ...]] = []
    for start in range(0, len(invoice_ids), 500):
        chunk = invoice_ids[start : start + 500]
        marks = ", ".join("?" * len(chunk))
        invoices += reader.execute(
            f"SELECT {INVOICE_COLUMNS} FROM invoices WHERE id IN ({marks})", chunk
        ).fetchall()
        lines += reader.execute(
            "SELECT invoice_id, contract, contract_version, unit_price, quantity"
            f" FROM invoice_lines WHERE invoice_id IN ({marks})",
            chunk,
        ).fetchall()
    head = (history[-1][0], history[-1][5]) if history else (after_seq, "")
    return Batch(history, outcomes, ledger, invoices, lines, head)


def write(raw: sqlite3.Connection, batch: Batch) -> None:
    """The ceiling's transaction: ``batch`` written with plain sqlite3."""
    raw.execute("BEGIN IMMEDIATE")
    raw.executemany(
        "INSERT INTO history (seq, outcome_id, recorded_at, kind, data, hash)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        batch.history,
    )
    raw.executemany(UPDATE_OUTCOME, batch.outcomes)
    raw.executemany(
        f"INSERT INTO ledger ({LEDGER_COLUMNS}) VALUES ({', '.join('?' * 12)})", batch.ledger
    )
    # The running totals: each draft created or its totals set, each charge line counted.
    raw.executemany(
        f"INSERT INTO invoices ({INVOICE_COLUMNS}) VALUES ({', '.join('?' * 9)})"
        " ON CONFLICT (id) DO UPDATE SET subtotal = excluded.subtotal,"
        " credits = excluded.credits",
        batch.invoices,
    )
    raw.executemany(
        "INSERT INTO invoice_lines (invoice_id, contract, contract_version, unit_price, quantity)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (invoice_id, contract, contract_version, unit_price)"
        " DO UPDATE SET quantity = excluded.quantity",
        batch.lines,
    )
    raw.execute("UPDATE chain_head SET seq = ?, hash = ? WHERE id = 1", batch.head)
    raw.execute("COMMIT")


def open_raw(database: Path) -> sqlite3.Connection:
    raw = sqlite3.connect(database, isolation_level=None)
    for pragma in PRAGMAS:
        raw.execute(pragma)
    return raw


# Earnest and the ceiling, batch after batch ---------------------------------------------


def settle(db: Database, database: Path, copy: Path, profile: bool = False) -> tuple[Load, Load]:
    """``catch_up`` at ``T0 + 24h`` on ``database``; each time Earnest commits a batch, the
    ceiling writes the same rows into ``copy`` (outside Earnest's timing), so that both meet
    the same load on the machine. Earnest's and the ceiling's timings."""
    ours, base = Load(), Load()
    reader, target = open_raw(database), open_raw(copy)
    after_seq, after_ledger = head(database), 0  # the store has no ledger rows yet
    profiler = cProfile.Profile() if profile else None
    last = time.perf_counter()

    def fired(count: int) -> None:
        nonlocal after_seq, after_ledger, last
        took = time.perf_counter() - last
        if profiler is not None:
            profiler.disable()
        ours.latencies.append(took)
        ours.seconds += took
        ours.signals += count
        if count:
            batch = written_rows(reader, after_seq, after_ledger)
            assert len(batch.outcomes) == count, (len(batch.outcomes), count)
            started = time.perf_counter()
            write(target, batch)
            took = time.perf_counter() - started
            base.latencies.append(took)
            base.seconds += took
            base.signals += count
            after_seq = int(batch.head[0])
            after_ledger = max([after_ledger, *(int(row[0]) for row in batch.ledger)])
        if profiler is not None:
            profiler.enable()
        last = time.perf_counter()

    try:
        if profiler is not None:
            profiler.enable()
        tune_gc()  # as `earnest worker` and `earnest serve` do before their scheduler starts
        total = catch_up(db, T0 + REVIEW, fired=fired)
        if profiler is not None:
            profiler.disable()
    finally:
        reader.close()
        target.close()
    assert total == ours.signals
    if profiler is not None:
        stats = pstats.Stats(profiler, stream=sys.stderr)
        stats.sort_stats("tottime").print_stats(20)
        stats.sort_stats("cumulative").print_stats(40)
    return ours, base


def head(database: Path) -> int:
    with sqlite3.connect(database) as raw:
        seq = int(raw.execute("SELECT seq FROM chain_head WHERE id = 1").fetchone()[0])
    raw.close()
    return seq


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--outcomes", type=int, default=100_000)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--cprofile", action="store_true", help="profile catch_up() (cProfile)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="earnest-bench-settle-"))
    try:
        database, _ = prepare(workdir)
        db = connect(str(database))
        filling = time.perf_counter()
        fill(db, args.outcomes)
        filled_s = time.perf_counter() - filling
        db.close()
        before = head(database)
        copy = workdir / "ceiling.db"
        snapshot(database, copy)
        db = connect(str(database))
        try:
            ours, base = settle(db, database, copy, args.cprofile)
        finally:
            db.close()
        settlements, entries = check(database, args.outcomes, before)
        if check(copy, args.outcomes, before)[0] != base.signals:
            raise RuntimeError(f"ceiling settled {base.signals}, Earnest {settlements}")
    finally:
        if args.keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    ratio = ours.rate / base.rate
    result = {
        "benchmark": "B3 settle",
        "what": (
            f"settlements/s when {args.outcomes:,} review windows end at the same instant:"
            f" catch_up() in {BATCH:,}-outcome transactions, landing-page contract,"
            " SQLite WAL synchronous=FULL"
        ),
        "figure": round(ours.rate),
        "unit": "settlements/s",
        "ceiling": round(base.rate),
        "ceiling_what": (
            "plain sqlite3 writes of the same rows (history entries, outcome updates, ledger"
            f" rows, chain head) into a copy of the store, {BATCH:,} outcomes per transaction,"
            " same PRAGMAs"
        ),
        "ratio": round(ratio, 3),
        "target": f"ratio >= {TARGET:.2f}",
        "met": ratio >= TARGET,
        "detail": (
            f"{settlements:,} settled in {ours.seconds:.1f} s, batch p50"
            f" {percentile(ours.latencies, 0.5) * 1e3:.0f} ms; ceiling {base.seconds:.2f} s,"
            f" batch p50 {percentile(base.latencies, 0.5) * 1e3:.0f} ms;"
            f" {entries / settlements:.1f} history entries per settlement"
        ),
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"fill: {args.outcomes:,} outcomes in review in {filled_s:.1f} s (not timed)")
    print(f"catch_up: {ours.rate:,.0f} settlements/s ({result['detail']})")
    print(f"ceiling (plain sqlite3): {base.rate:,.0f} settlements/s")
    print(f"ratio {ratio:.3f} (target >= {TARGET:.2f}): {'met' if result['met'] else 'NOT met'}")


if __name__ == "__main__":
    main()
