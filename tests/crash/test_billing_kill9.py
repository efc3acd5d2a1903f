"""kill -9 while periods are being finalized and disputes resolved, on SQLite and PostgreSQL
(SPEC section 12: "no invoice number skipped or used twice").

A worker process (``billing_worker.py``) ingests signals over a virtual clock that crosses many
period ends (billing days 1, 5, 10, 15, 20, 28 and changes of them), settles outcomes by hand,
opens and resolves disputes, fires deadlines and closes periods with random batch sizes. The
test SIGKILLs it 16 times per backend and restarts it (forked from a zygote that has imported
everything, so a restart costs milliseconds, not Python's start-up): a quarter of the kills
inside a finalization (the worker kills itself once an invoice is numbered, hashed and in the
activity log, before the commit), the others at random instants, half of those just after a
closing transaction begins, a few during start-up. Then the real
:class:`~earnest.service.scheduler.Scheduler` catches up on a fake clock two months later and
the test checks the store (:func:`tests.crash.checks.check_store`) and its billing
(:func:`tests.crash.billing_checks.check_billing`): every acknowledged signal, dispute
resolution and invoice number still there, nothing half-applied, every ledger row on one
invoice of its period (or moved forward, saying so), running totals equal to the ledger, the
numbers 1..n in SPEC 6's order, each finalization in the activity log with the invoice's hash.

``EARNEST_CRASH_SEED`` replays one run's kill schedule.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path

from earnest.service.deadlines import OutcomeDeadlines
from earnest.service.due import DueWork
from earnest.service.invoices import InvoiceClosing
from earnest.service.scheduler import Scheduler
from earnest.store import Database, connect
from tests.crash.billing_checks import BillingReport, check_billing
from tests.crash.billing_worker import latest_time
from tests.crash.checks import check_store, read_lines

WORKER = Path(__file__).with_name("billing_worker.py")
KILLS = 16  # per backend: 32 in all
ALIVE_S = (0.05, 0.35)  # how long a worker runs after READY before its SIGKILL
EARLY_S = (0.0, 0.01)  # or, now and then, after its fork, during its set-up
AIMED_S = (0.0, 0.003)  # or this long after a closing transaction begins
INSIDE_S = 5.0  # the longest a worker may take to reach the finalization it dies in


def wait_dead(pid: int, until: float) -> None:
    """Until the (unreaped) process ``pid`` is a zombie: it killed itself."""
    while time.monotonic() < until:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        if state == "Z":
            return
        time.sleep(0.002)


def wait_for_closing(marks: Path, until: float) -> None:
    """Until a closing transaction starts (a ``start`` mark after the file's end now)."""
    seen = marks.stat().st_size if marks.exists() else 0
    while time.monotonic() < until:
        if marks.exists() and b"start" in marks.read_bytes()[seen:]:
            return
        time.sleep(0.0005)


def kill_repeatedly(url: str, log: Path, stderr: Path) -> tuple[int, int]:
    """Fork workers from a zygote (Python starts once) and SIGKILL each at a random instant;
    ``(kills, kills after READY)``."""
    seed = int(os.environ.get("EARNEST_CRASH_SEED", str(random.randrange(1 << 30))))
    print(f"EARNEST_CRASH_SEED={seed}")
    rng = random.Random(seed)
    ready_kills = 0
    marks = log.with_name(log.name + ".closing")
    with stderr.open("w") as err:
        zygote = subprocess.Popen(
            [sys.executable, str(WORKER), "--zygote", url, str(log)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True,
        )  # fmt: skip
    assert zygote.stdin is not None
    assert zygote.stdout is not None
    try:
        for kill in range(KILLS):
            # How: a quarter inside a finalization (by the worker itself, before the commit);
            # others at a random instant, half of those just after a closing transaction
            # begins; now and then during a worker's set-up.
            how = rng.choices(("inside", "aimed", "random", "early"), (4, 5, 5, 2))[0]
            nth = f" {rng.randint(1, 3)}" if how == "inside" else ""
            zygote.stdin.write(f"{seed}k{kill}{nth}\n")  # the signal ids: unique per kill
            zygote.stdin.flush()
            started = zygote.stdout.readline()
            assert started.startswith("PID "), f"zygote: {started!r} {stderr.read_text()}"
            pid = int(started.split()[1])
            if how != "early":
                line = zygote.stdout.readline()
                assert line == "READY\n", f"worker died on start: {stderr.read_text()}"
                ready_kills += 1
            if how == "inside":
                wait_dead(pid, time.monotonic() + INSIDE_S)
            elif how == "aimed":
                wait_for_closing(marks, time.monotonic() + ALIVE_S[1])
                time.sleep(rng.uniform(*AIMED_S))
            else:
                time.sleep(rng.uniform(*(ALIVE_S if how == "random" else EARLY_S)))
            os.kill(pid, signal.SIGKILL)  # not reaped yet: the pid is still this worker's
            zygote.stdin.write("reap\n")
            zygote.stdin.flush()
            while (line := zygote.stdout.readline()) == "READY\n":
                pass
            assert line.startswith("EXIT "), f"zygote: {line!r} {stderr.read_text()}"
            status = int(line.split()[1])
            killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
            assert killed, f"worker exited by itself ({status}): {stderr.read_text()[-3000:]}"
    finally:
        zygote.stdin.close()
        code = zygote.wait(timeout=30)
        zygote.stdout.close()
        assert code == 0, stderr.read_text()[-3000:]
    return KILLS, ready_kills


def catch_up_with_scheduler(db: Database, now: datetime, timeout_s: float = 60.0) -> int:
    """Run the real scheduler (both due-work sources) on a clock stopped at ``now`` until
    nothing is due; how much it fired."""
    sources: list[DueWork] = [OutcomeDeadlines(db), InvoiceClosing(db)]
    clock: Callable[[], datetime] = lambda: now  # noqa: E731
    scheduler = Scheduler(db, sources, clock=clock, poll_s=0.01)
    scheduler.start()
    try:
        deadline = time.monotonic() + timeout_s
        while any((due := s.next_due()) is not None and due <= now for s in sources):
            assert scheduler.running, "the scheduler stopped"
            assert time.monotonic() < deadline, "the scheduler did not catch up"
            time.sleep(0.02)
    finally:
        assert scheduler.stop()
    assert scheduler.errors == 0, f"{scheduler.errors} failed attempts"
    return scheduler.fired


def check_acknowledged(db: Database, log: Path) -> tuple[int, int]:
    """Every acknowledged dispute resolution and invoice number is stored as acknowledged."""
    resolutions, _ = read_lines(log.with_name(log.name + ".disputes"))
    numbers, _ = read_lines(log.with_name(log.name + ".invoices"))
    with db.read() as tx:
        disputes = {
            f"{ident}:{resolution}"
            for ident, resolution in tx.query(
                "SELECT id, resolution FROM disputes WHERE state = 'resolved'"
            )
        }
        invoices = {
            f"{ident}={number}"
            for ident, number in tx.query(
                "SELECT id, number FROM invoices WHERE number IS NOT NULL"
            )
        }
    acked = [token for line in resolutions for token in line]
    lost = [token for token in acked if token not in disputes]
    assert not lost, f"acknowledged dispute resolutions lost: {lost[:10]}"
    assert len(set(acked)) == len(acked), "a dispute resolved twice"
    finalized = [token for line in numbers for token in line]
    lost = [token for token in finalized if token not in invoices]
    assert not lost, f"acknowledged invoice numbers lost or changed: {lost[:10]}"
    return len(acked), len(finalized)


def crash_and_check(url: str, tmp_path: Path) -> BillingReport:
    db = connect(url)
    db.migrate()  # once: the workers only connect
    log = tmp_path / "acks.log"
    started = time.monotonic()
    kills, ready_kills = kill_repeatedly(url, log, tmp_path / "worker.err")
    killed = time.monotonic()
    acked, acked_torn = read_lines(log)
    intents, intent_torn = read_lines(log.with_name("acks.log.intent"))
    assert not intent_torn, "a single write() of an intent line was torn by SIGKILL"
    assert len(acked) >= KILLS // 2, "the worker made almost no progress between kills"
    final = latest_time(db) + timedelta(days=62)
    fired = catch_up_with_scheduler(db, final)
    caught_up = time.monotonic()
    report = check_store(db, acked=acked, intents=intents, final_time=final)
    checked = time.monotonic()
    billing = check_billing(db, final_time=final, verifiers=False)  # check_store ran them
    resolutions, numbers = check_acknowledged(db, log)
    marks, _ = read_lines(log.with_name("acks.log.closing"))
    flat = [mark for line in marks for mark in line]
    closing_kills = sum(1 for a, b in pairwise([*flat, "start"]) if a == b == "start")
    db.close()
    print(
        f"kills {killed - started:.1f} s, catch-up {caught_up - killed:.1f} s, check_store"
        f" {checked - caught_up:.1f} s, billing {time.monotonic() - checked:.1f} s"
    )
    print(
        f"{kills} kills ({ready_kills} after start-up), {len(acked)} acknowledged batches,"
        f" {len(intents) - len(acked)} in flight at a kill, torn ack line: {acked_torn};"
        f" {resolutions} acknowledged resolutions, {numbers} acknowledged invoice numbers;"
        f" {closing_kills} kills inside a closing transaction;"
        f" the scheduler's catch-up fired {fired}; {report}; {billing}"
    )
    assert billing.period_ends >= 4, "too few period ends crossed to prove anything"
    assert billing.credits > 0
    assert billing.moved > 0, "no booking raced a finalization"
    assert closing_kills >= 2, "too few kills inside a closing transaction"
    assert billing.disputes["reject"] > 0
    assert numbers > 0, "no finalization was acknowledged before a kill"
    return billing


def test_kill9_while_closing_periods_sqlite(tmp_path: Path) -> None:
    crash_and_check(str(tmp_path / "earnest.db"), tmp_path)


def test_kill9_while_closing_periods_postgresql(pg_icu_url: str, tmp_path: Path) -> None:
    """On a database whose default collation is not byte order (tests/crash/conftest.py)."""
    crash_and_check(pg_icu_url, tmp_path)
