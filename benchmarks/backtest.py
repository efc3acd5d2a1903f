"""Backtest throughput over 1,000,000 recorded signals (benchmark B9), and ingest's throughput
while backtests run (B9i, ``--during-ingest``).

**B9.** A fresh SQLite store (Earnest's migrations, the landing-page contract) is filled
directly, untimed, with what ingest and the scheduler would have written for 100,000 outcomes
of 10 signals on average (``completed`` 40%, a ``score`` 1-5 50%, ``disputed`` 10%, as B1):
outcome k opens every 17 s or so over 20 days with its first signal, the rest of its signals
come within the next 30 hours. The fill runs them through ``decide()`` in received order, as
ingest does, with the deadlines due before each signal, then fires every deadline due 3 days
after the last signal, as the scheduler does; it writes each outcome's row and every history
entry (opened, signal, check, transition, charge) in that order, with plain ``sqlite3``. It
writes no hash chain, ``signals`` rows, ledger or invoices: a backtest reads none of them.

Timed, in a child process (``Contracts.backtest``, what ``earnest backtest`` runs): the
landing-page contract with a stricter score (``score > 4``) over every outcome, 3 days after
the last signal: recorded signals replayed per second. The **ceiling**, in the same run and
also in a child process: the same signal rows read with plain ``sqlite3`` (the history's
signal entries joined to their outcomes, in outcome order) and run through ``decide()`` under
the same contract: each outcome opened at its time, each signal at its received time, then
its deadlines up to the same now. Each is run twice, alternately; the best of each counts.
**Memory**: the peak RSS (``VmHWM``) of the child that backtests every outcome (1,000,000
signals) against one that backtests those opened in the first tenth of the time (100,000):
flat means within max(20 MB, 10%).

**B9i** (``--during-ingest``): ``earnest serve`` on a store filled as above (200,000 signals)
takes batches of 1,000 new signals over one connection, as in B1, for a few seconds alone,
then as long again while ``earnest backtest`` runs in its own process against the same file,
over and over, then alone again: ingest's rate during the backtests against its mean rate
alone.

    .venv/bin/python benchmarks/backtest.py [--signals N] [--json]
    .venv/bin/python benchmarks/backtest.py --during-ingest [--signals N] [--seconds S]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec

from common import LANDING_PAGE, stop
from earnest.contract import Contract, load_contract
from earnest.engine import DeadlineReached, Open, Outcome, Signal, decide
from earnest.service.contracts import Contracts
from earnest.store import connect
from earnest.store.codec import dumps, to_us
from earnest.store.outcomes import IDENTITY, MUTABLE, columns_of

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
SPAN = timedelta(days=20)  # outcomes open over this span
ACTIVE = timedelta(hours=30)  # an outcome's signals come within this long of its first
AFTER = timedelta(days=3)  # the backtest runs this long after the last signal
PER_OUTCOME = 10
TARGET = 0.5
FLAT_MB, FLAT_SHARE = 20.0, 0.10
INGEST_SHARE = 0.8
ROUNDS = 2  # B9i: phases with backtests, each between two without
PROPOSED = LANDING_PAGE.replace("score > 3", "score > 4")


def landing(text: str = LANDING_PAGE) -> Contract:
    return load_contract(f"key: landing_page{text}")


# The store ---------------------------------------------------------------------------------


def stream(signals: int, seed: int = 7) -> list[tuple[datetime, int, str, Decimal | bool]]:
    """``(received_at, outcome, name, value)`` in received order: ``signals`` of them, 5 to 15
    per outcome."""
    rng = random.Random(seed)
    gap = SPAN / max(1, signals // PER_OUTCOME)
    found: list[tuple[datetime, int, str, Decimal | bool]] = []
    ref = 0
    while len(found) < signals:
        opened = T0 + gap * ref
        count = min(rng.randint(PER_OUTCOME // 2, PER_OUTCOME * 3 // 2), signals - len(found))
        times = [opened, *sorted(opened + ACTIVE * rng.random() for _ in range(count - 1))]
        for at in times:
            pick = rng.random()
            if pick < 0.4:
                found.append((at, ref, "completed", True))
            elif pick < 0.9:
                found.append((at, ref, "score", Decimal(rng.randint(1, 5))))
            else:
                found.append((at, ref, "disputed", True))
        ref += 1
    found.sort(key=lambda item: (item[0], item[1]))
    return found


def fill(database: Path, signals: int) -> tuple[int, datetime]:
    """The store as ingest and the scheduler would have left it: ``(outcomes, now)``, now
    being when the backtest runs."""
    db = connect(str(database))
    db.migrate()
    contract = landing()
    Contracts(db, lambda: T0).save(contract, actor="bench")
    db.close()
    items = stream(signals)
    now = items[-1][0] + AFTER
    customers = max(1, len({ref for _, ref, _, _ in items}) // 20)
    outcomes: dict[int, Outcome] = {}
    history: list[tuple[int, int, int, str, str, str]] = []
    seq = 0

    def record(ref: int, entries: Any) -> None:
        nonlocal seq
        for entry in entries:
            seq += 1
            history.append((seq, ref + 1, to_us(entry.at), entry.kind, dumps(entry.data), ""))

    for number, (at, ref, name, value) in enumerate(items):
        outcome = outcomes.get(ref)
        if outcome is None:
            customer = f"cust-{ref % customers:05d}"
            opened = decide(None, Open(contract, 1, f"lp-{ref:06d}", customer), at)
            record(ref, opened.effects.entries)
            outcome = opened.outcome
        decision = decide(outcome, Signal(name, value, at, f"sig-{number:08d}"), at)
        record(ref, decision.effects.entries)
        outcomes[ref] = decision.outcome
    for ref in sorted(outcomes, key=lambda r: outcomes[r].deadline or now):
        decision = decide(outcomes[ref], DeadlineReached(), now)  # the scheduler catches up
        record(ref, decision.effects.entries)
        outcomes[ref] = decision.outcome
    raw = sqlite3.connect(database, isolation_level=None)
    try:
        raw.execute("PRAGMA journal_mode=WAL")
        raw.execute("BEGIN")
        raw.executemany(
            "INSERT INTO customers (id, billing_day, created_at, open_start, open_end)"
            " VALUES (?, 1, ?, ?, ?)",
            [(f"cust-{c:05d}", to_us(T0), to_us(T0), to_us(T0 + timedelta(days=30)))
             for c in range(customers)],
        )  # fmt: skip
        columns = (*IDENTITY, *MUTABLE)
        raw.executemany(
            f"INSERT INTO outcomes (id, {', '.join(columns)})"
            f" VALUES (?, {', '.join('?' * len(columns))})",
            [(ref + 1, *_row(columns_of(outcome), columns)) for ref, outcome in outcomes.items()],
        )
        raw.executemany(
            "INSERT INTO history (seq, outcome_id, recorded_at, kind, data, hash)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            history,
        )
        raw.execute("UPDATE chain_head SET seq = ? WHERE id = 1", (seq,))
        raw.execute("COMMIT")
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        raw.close()
    return len(outcomes), now


def _row(columns: dict[str, Any], names: tuple[str, ...]) -> list[Any]:
    """An outcome row as SQLite stores it: money as decimal text."""
    row = []
    for name in names:
        value = columns[name]
        row.append(str(value) if isinstance(value, Decimal) else value)
    return row


# What the children time --------------------------------------------------------------------


class _SignalEntry(msgspec.Struct):
    signal: str
    at: datetime
    value: Any = None
    id: str | None = None


_DECODE = msgspec.json.Decoder(_SignalEntry, float_hook=Decimal)


def ceiling(database: str, now: datetime) -> tuple[int, float]:
    """The same signal rows, plain ``sqlite3``, through ``decide()``: ``(signals, seconds)``."""
    contract = landing(PROPOSED)
    started = time.perf_counter()
    raw = sqlite3.connect(database)
    rows = raw.execute(
        "SELECT o.id, o.ref, o.customer, o.opened_at, h.recorded_at, h.data FROM history h"
        " JOIN outcomes o ON o.id = h.outcome_id WHERE h.kind = 'signal'"
        " ORDER BY h.outcome_id, h.seq"
    )
    current, outcome, count = None, None, 0
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    for ident, ref, customer, opened_us, received_us, data in rows:
        if ident != current:
            if outcome is not None:
                decide(outcome, DeadlineReached(), now)
            current = ident
            opened = epoch + timedelta(microseconds=opened_us)
            outcome = decide(None, Open(contract, 2, ref, customer), opened).outcome
        entry = _DECODE.decode(data)
        value = Decimal(entry.value) if type(entry.value) is int else entry.value
        signal = Signal(entry.signal, value, entry.at, entry.id)
        assert outcome is not None
        received = epoch + timedelta(microseconds=received_us)
        outcome = decide(outcome, signal, received).outcome
        count += 1
    if outcome is not None:
        decide(outcome, DeadlineReached(), now)
    raw.close()
    return count, time.perf_counter() - started


def ours(database: str, now: datetime, until: datetime) -> tuple[int, float, int]:
    """``Contracts.backtest`` of the proposed contract: ``(signals, seconds, changed)``."""
    db = connect(database)
    started = time.perf_counter()
    report = Contracts(db, lambda: now).backtest(landing(PROPOSED), since=T0, until=until)
    seconds = time.perf_counter() - started
    db.close()
    return report.signals, seconds, report.changed


def hwm_kb() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


def child(args: argparse.Namespace) -> None:
    """``--child ours|ceiling``: one timed run, its figures as one JSON line."""
    now = datetime.fromisoformat(args.now)
    if args.child == "ceiling":
        signals, seconds = ceiling(args.database, now)
        changed = None
    else:
        until = datetime.fromisoformat(args.until) if args.until else now
        signals, seconds, changed = ours(args.database, now, until)
    print(json.dumps({"signals": signals, "seconds": seconds, "hwm_kb": hwm_kb(),
                      "changed": changed}))  # fmt: skip


def spawn(
    kind: str, database: Path, now: datetime, until: datetime | None = None
) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", kind, "--database", str(database)]
    command += ["--now", now.isoformat()]
    if until is not None:
        command += ["--until", until.isoformat()]
    out = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True).stdout
    found: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return found


def b9(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    database = workdir / "backtest.db"
    started = time.perf_counter()
    outcomes, now = fill(database, args.signals)
    filled = time.perf_counter() - started
    tenth = T0 + SPAN / 10
    runs = [spawn(kind, database, now) for _ in range(2) for kind in ("ours", "ceiling")]
    small = spawn("ours", database, now, until=tenth)
    best = min((r for r in runs if r["changed"] is not None), key=lambda r: r["seconds"])
    base = min((r for r in runs if r["changed"] is None), key=lambda r: r["seconds"])
    if best["signals"] != base["signals"]:
        raise RuntimeError(f"backtest replayed {best['signals']}, the ceiling {base['signals']}")
    rate, ceiling_rate = best["signals"] / best["seconds"], base["signals"] / base["seconds"]
    big_mb = max(r["hwm_kb"] for r in runs if r["changed"] is not None) / 1024
    small_mb = small["hwm_kb"] / 1024
    allowed = max(FLAT_MB, FLAT_SHARE * small_mb)
    flat = big_mb - small_mb <= allowed
    ratio = rate / ceiling_rate
    detail = (
        f"{outcomes:,} outcomes, {best['changed']:,} would change; peak RSS {small_mb:.0f} MB"
        f" over {small['signals']:,} signals, {big_mb:.0f} MB over {best['signals']:,}"
        f" (growth {big_mb - small_mb:+.0f} MB, allowed {allowed:.0f} MB); fill {filled:.0f} s"
    )
    return {
        "benchmark": "B9 backtest",
        "what": (
            f"recorded signals/s replayed by a backtest (Contracts.backtest, as earnest backtest"
            f" runs it) of the landing-page contract with a stricter score, over"
            f" {best['signals']:,} signals of {outcomes:,} outcomes, SQLite, its own process"
        ),
        "figure": round(rate),
        "unit": "signals/s",
        "ceiling": round(ceiling_rate),
        "ceiling_what": (
            "the same signal rows read with plain sqlite3 (history joined to outcomes, in"
            " outcome order) and run through decide() with the same contract and deadlines"
        ),
        "ratio": round(ratio, 3),
        "target": (
            f"ratio >= {TARGET}; peak RSS flat from a tenth of the signals to all (within"
            f" max({FLAT_MB:.0f} MB, {FLAT_SHARE:.0%}))"
        ),
        "met": bool(ratio >= TARGET and flat),
        "detail": detail,
    }


# B9i: ingest while backtests run ------------------------------------------------------------


def new_signals(start: int, count: int) -> Iterator[bytes]:
    """Batch bodies of 1,000 signals for outcomes no backtest replays (a new contract run
    would change nothing: these open and score fresh outcomes of the same contract)."""
    for first in range(start, start + count, 1000):
        items = []
        for i in range(first, first + 1000):
            ref = 1_000_000 + i // 2
            item: dict[str, Any] = {
                "id": f"new-{i:08d}", "contract": "landing_page", "outcome": f"new-{ref:07d}",
                "customer": "cust-new",
            }  # fmt: skip
            item.update({"signal": "completed"} if i % 2 == 0 else {"signal": "score", "value": 5})
            items.append(item)
        yield json.dumps({"signals": items}, separators=(",", ":")).encode()


@dataclass(slots=True)
class Phases:
    """B9i's measurements: ingest's rate alone and during backtests, phase by phase."""

    alone: list[float] = field(default_factory=list)
    during: list[float] = field(default_factory=list)
    backtests: int = 0  # finished
    backtest_cpu_s: float = 0.0  # what they got of the CPU (they run at a lower priority)


class Sender:
    """New signals to ``earnest serve``, 5,000 at a time."""

    def __init__(self, port: int, key: str) -> None:
        self.port, self.key, self.sent = port, key, 0

    def load(self, seconds: float) -> float:
        """Send batches for ``seconds``; signals per second."""
        from ingest import send  # noqa: PLC0415

        done, elapsed = 0, 0.0
        while elapsed < seconds:
            bodies = list(new_signals(self.sent, 5000))
            measured = send(self.port, self.key, bodies, [1000] * len(bodies))
            self.sent += 5000
            done += measured.signals
            elapsed += measured.seconds
        return done / elapsed


def take_turns(sender: Sender, command: list[str], seconds: float) -> Phases:
    """Alone, during backtests, alone, ..., alone: ``seconds`` each."""
    phases = Phases()
    sender.load(1.0)  # warm up
    for phase in range(2 * ROUNDS + 1):
        if phase % 2 == 0:
            phases.alone.append(sender.load(seconds))
            continue
        reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
        running = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        started = time.perf_counter()
        rates: list[float] = []
        while time.perf_counter() - started < seconds or not rates:
            rates.append(sender.load(1.0))
            if running.poll() is not None:  # over and over, the whole phase
                if running.returncode != 0:
                    raise RuntimeError(f"earnest backtest exited {running.returncode}")
                phases.backtests += 1
                running = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        stop(running)
        phases.during.append(sum(rates) / len(rates))
        used = resource.getrusage(resource.RUSAGE_CHILDREN)
        phases.backtest_cpu_s += used.ru_utime + used.ru_stime - reaped.ru_utime - reaped.ru_stime
    return phases


def b9i(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    from ingest import cli, free_port, start_server  # noqa: PLC0415

    database = workdir / "backtest.db"
    fill(database, args.signals)
    key = cli("keys", "create", "--scope", "ingest", "--database", str(database))
    proposal = workdir / "landing_page.yaml"
    proposal.write_text(f"key: landing_page{PROPOSED}", encoding="utf-8")
    command = [
        sys.executable, "-m", "earnest.cli", "backtest", "--database", str(database),
        str(proposal), "--since", T0.isoformat(), "--json",
    ]  # fmt: skip
    port = free_port()
    with (workdir / "server.log").open("wb") as log:
        server = start_server(database, port, log)
        try:
            phases = take_turns(Sender(port, key.strip().splitlines()[-1]), command, args.seconds)
        finally:
            stop(server)
    alone = sum(phases.alone) / len(phases.alone)
    during = sum(phases.during) / len(phases.during)
    ratio = during / alone
    return {
        "benchmark": "B9i ingest during backtests",
        "what": (
            "signals/s through POST /v1/signals/batch (1,000 per batch, one connection) while"
            f" earnest backtest runs over and over in its own process on a store of"
            f" {args.signals:,} recorded signals, SQLite"
        ),
        "figure": round(during),
        "unit": "signals/s",
        "ceiling": round(alone),
        "ceiling_what": "the same ingest with no backtest running, in the phases between",
        "ratio": round(ratio, 3),
        "target": f"ratio >= {INGEST_SHARE}",
        "met": bool(ratio >= INGEST_SHARE),
        "detail": (
            f"alone {', '.join(f'{r:,.0f}' for r in phases.alone)}; during"
            f" {', '.join(f'{r:,.0f}' for r in phases.during)} ({args.seconds:.0f} s phases,"
            f" taking turns); the backtests used {phases.backtest_cpu_s:.1f} s of CPU in"
            f" {ROUNDS * args.seconds:.0f} s and {phases.backtests} finished"
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--signals", type=int)
    parser.add_argument("--during-ingest", action="store_true", help="benchmark B9i")
    parser.add_argument("--seconds", type=float, default=10.0, help="B9i: each measurement")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--child", choices=("ours", "ceiling"), help=argparse.SUPPRESS)
    parser.add_argument("--database", help=argparse.SUPPRESS)
    parser.add_argument("--now", help=argparse.SUPPRESS)
    parser.add_argument("--until", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    if args.signals is None:
        args.signals = 200_000 if args.during_ingest else 1_000_000
    workdir = Path(tempfile.mkdtemp(prefix="earnest-bench-backtest-"))
    try:
        result = b9i(args, workdir) if args.during_ingest else b9(args, workdir)
    finally:
        if args.keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        print(json.dumps(result))
        return
    print(f"{result['what']}: {result['figure']:,} {result['unit']}")
    print(f"ceiling: {result['ceiling']:,} ({result['ceiling_what']}); ratio {result['ratio']}")
    print(result["detail"])
    print(f"target {result['target']}: met {result['met']}")


if __name__ == "__main__":
    main()
