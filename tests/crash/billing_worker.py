"""A billing crash-test worker: ``python tests/crash/billing_worker.py URL LOGFILE SEED [ROUNDS]``,
or ``... --zygote URL LOGFILE`` to fork workers on request (:func:`zygote`), or
``... --close URL NOW SEED`` to only fire deadlines and close periods due at ``NOW``
(:func:`close`).

Loops (forever, or ``ROUNDS`` times) on a virtual clock that crosses a billing period end every
few rounds, for customers with billing days 1, 5, 10, 15, 20 and 28 (set through
``Customers.put``; some customers are created on first mention, with day 1; now and then one
changes its billing day). Each round, at its virtual ``now``:

- ingests 5-30 signals (unique ids ``f"{seed}-{n}"``) for a rolling pool of outcomes of three
  contracts in USD, EUR and JPY (late signals credit, flag, or are ignored);
- now and then settles an unsettled outcome by hand, stamped at a random time between the
  outcome's own clock and ``now``, or before its customer's latest closed period end: a
  request that raced a period's finalization, booked into the customer's first open period
  with ``moved_from``; and sends a few signals received before the latest closed period end
  (they waited behind the finalization), whose charges may land in a closed period;
- opens disputes on confirmed outcomes and resolves open ones (reject; credit in full; credit
  part, sometimes more than is left, which must be refused); now and then changes the
  invoice prefix;
- fires due deadlines and closes due periods (``InvoiceClosing.fire_due`` with a random batch
  size, looped until nothing is due; or :func:`earnest.service.due.drain` per source, as the
  scheduler's catch-up does), in a random order.

Logs (one line per acknowledgement, ``"<count> <token> ..."``, the format of
:func:`tests.crash.checks.read_lines`; acknowledgements fsynced, intents not):

- ``LOGFILE``/``LOGFILE.intent``: signal ids acknowledged by ``ingest`` / about to be sent;
- ``LOGFILE.disputes``: ``<dispute id>:<resolution>`` of each resolution that returned;
- ``LOGFILE.invoices``: ``<invoice id>=<number>`` of each invoice seen finalized after a
  closing transaction returned;
- ``LOGFILE.closing``: ``start`` and ``end`` around each closing transaction (not fsynced): a
  ``start`` with no ``end`` after it is a kill during a period's finalization.

Virtual clock: it resumes after a restart at the latest time stored (outcome clocks, history,
activity) plus a random step, so it is monotonic across kills; with ``ROUNDS`` (the concurrency
test) every process follows the same fixed schedule ``schedule(ROUNDS)``.

The schema must exist (the parent migrates it once). Once set up it prints ``READY``.
"""

from __future__ import annotations

import os
import random
import signal
import sys
import threading
import traceback
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from earnest.contract import load_contract
from earnest.engine import Scheduled
from earnest.errors import EarnestError
from earnest.service import invoices
from earnest.service.customers import Customers, UnknownCustomer
from earnest.service.deadlines import OutcomeDeadlines, catch_up
from earnest.service.disputes import Disputes
from earnest.service.due import DueWork, drain
from earnest.service.ingest import ingest
from earnest.service.invoices import InvoiceClosing
from earnest.service.outcomes import Outcomes
from earnest.service.scheduler import Scheduler
from earnest.service.settings import Settings
from earnest.service.webhooks import PendingEvent
from earnest.store import Database, connect
from earnest.store.codec import from_us, money_value
from earnest.store.contracts import save_contract

T0 = datetime(2026, 10, 20, 6, 0, tzinfo=UTC)
GRACE = "6h"
STEP_HOURS = (4.0, 60.0)  # a round advances the clock by a random step in this range
POOL = 40  # outcome references in play at a time
CONTRACTS = {
    "ship": """
price: 4.99 USD
conditions: merged AND NOT reverted
active_for: 3d
review_window: 1d
on_timeout: cancel
after_settlement: flag
""",
    "fix": """
price: 12.50 EUR
conditions: resolved
active_for: 2d
review_window: 12h
on_timeout: confirm
after_settlement: credit
""",
    "yen": """
price: 1500 JPY
conditions: done
active_for: 1d
review_window: 2h
on_timeout: confirm
""",
}
# Customers put with a billing day at set-up, and customers created on first mention (day 1).
# Ids compare differently as UTF-8 bytes, as text in a language's collation, and by case.
BILLING_DAYS = {"acme": 1, "bolt": 15, "Zeta": 28, "zeta": 5, "é-corp": 20, "日本": 10}
WALK_INS = ("walk-in", "Walk-in", "ß")
CUSTOMERS = (*BILLING_DAYS, *WALK_INS)


def setup(db: Database, now: datetime) -> None:
    """Contracts, the grace, the customers with billing days: all idempotent."""
    with db.write() as tx:
        for key, text in CONTRACTS.items():
            save_contract(tx, load_contract(text, key=key), T0)
    Settings(db, lambda: now).put({"invoice_grace": GRACE}, actor="cli")
    customers = Customers(db, lambda: now)
    for ident, day in BILLING_DAYS.items():
        try:
            customers.get(ident)
        except UnknownCustomer:
            customers.put(ident, {"billing_day": day}, actor="cli")


def latest_time(db: Database) -> datetime:
    """The latest time anything stored was stamped with (T0 for an empty store)."""
    latest = T0
    with db.read() as tx:
        for sql in (
            "SELECT MAX(clock) FROM outcomes",
            "SELECT MAX(recorded_at) FROM history",
            "SELECT MAX(at) FROM activity",
        ):
            row = tx.one(sql)
            if row is not None and row[0] is not None:
                latest = max(latest, from_us(int(row[0])))
    return latest


def step(rng: random.Random) -> timedelta:
    return timedelta(hours=rng.uniform(*STEP_HOURS), microseconds=rng.randrange(1_000_000))


def schedule(rounds: int, seed: str = "schedule") -> list[datetime]:
    """The fixed clock of ``rounds`` rounds, the same in every process that asks: steps
    three times the usual, so that a few rounds cross several period ends."""
    rng = random.Random(seed)
    times = [T0 + step(rng) * 3]
    while len(times) < rounds:
        times.append(times[-1] + step(rng) * 3)
    return times


def append_line(path: str, tokens: list[str], *, sync: bool) -> None:
    line = (f"{len(tokens)} " + " ".join(tokens) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        assert os.write(fd, line) == len(line)
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)


def make_batch(rng: random.Random, seed: str, start: int, now: datetime) -> list[dict[str, Any]]:
    """5-30 signals over a pool of references that rolls by one every 6 virtual hours."""
    base = int((now - T0).total_seconds()) // (6 * 3600)
    batch: list[dict[str, Any]] = []
    for n in range(start, start + rng.randint(5, 30)):
        index = base + rng.randrange(POOL)
        contract = ("ship", "fix", "yen")[index % 3]
        if contract == "ship":
            name, value = rng.choice((("merged", True), ("merged", True), ("reverted", True)))
        elif contract == "fix":
            name, value = "resolved", rng.random() < 0.8
        else:
            name, value = "done", True
        batch.append(
            {
                "id": f"{seed}-{n}",
                "contract": contract,
                "outcome": f"{contract}-{index}",
                "customer": CUSTOMERS[index % len(CUSTOMERS)],
                "signal": name,
                "value": value,
            }
        )
    return batch


def refused(error: EarnestError, *codes: str) -> None:
    """An expected refusal passes; anything else is re-raised."""
    if error.code not in codes:
        raise error


class Marked:
    """A due-work source that marks each ``fire_due`` in a log, ``1 start`` before and ``1 end``
    after (not fsynced): a ``start`` without its ``end`` is a kill inside it."""

    def __init__(self, source: DueWork, log: str) -> None:
        self.source = source
        self.name = source.name
        self.batch = source.batch
        self.log = log

    def next_due(self) -> datetime | None:
        return self.source.next_due()

    def fire_due(self, now: datetime) -> int:
        append_line(self.log, ["start"], sync=False)
        fired = self.source.fire_due(now)
        append_line(self.log, ["end"], sync=False)
        return fired


class Worker:
    def __init__(self, db: Database, logfile: str, seed: str, *, day_changes: bool) -> None:
        self.db = db
        self.day_changes = day_changes
        self.logfile = logfile
        self.seed = seed
        self.rng = random.Random(seed)
        self.now = T0
        clock: Callable[[], datetime] = lambda: self.now  # noqa: E731
        self.customers = Customers(db, clock)
        self.outcomes = Outcomes(db, clock)
        self.disputes = Disputes(db, clock)
        self.sent = 0
        with db.read() as tx:
            row = tx.one("SELECT MAX(sequence) FROM invoices")
        self.numbered = 0 if row is None or row[0] is None else int(row[0])

    def round(self, now: datetime) -> None:
        self.now = now
        rng = self.rng
        batch = make_batch(rng, self.seed, self.sent, now)
        self.sent += len(batch)
        append_line(self.logfile + ".intent", [s["id"] for s in batch], sync=False)
        results = ingest(self.db, batch, now)
        accepted = [r.signal.id for r in results if r.status == "accepted" and r.signal]
        assert len(accepted) == len(batch), [r for r in results if r.status != "accepted"]
        append_line(self.logfile, [ident for ident in accepted if ident is not None], sync=True)
        work = [self.settle_by_hand, self.settle_late, self.straggle]
        work += [self.dispute, self.resolve, self.change_billing_day, self.change_prefix]
        work += [self.fire_deadlines, self.close_periods]
        rng.shuffle(work)
        for job in work:
            job()

    def settle_by_hand(self) -> None:
        if self.rng.random() < 0.5:
            return
        with self.db.read() as tx:
            rows = tx.query(
                "SELECT contract, ref, clock FROM outcomes WHERE state IN ('open', 'in_review')"
                " ORDER BY id LIMIT 50"
            )
        for contract, ref, clock in self.rng.sample(rows, min(len(rows), 2)):
            since = from_us(int(clock))
            at = since + (self.now - since) * self.rng.random()
            decision = self.rng.choice((Scheduled.CONFIRM, Scheduled.CONFIRM, Scheduled.CANCEL))
            try:
                self.outcomes.settle(contract, ref, decision, "by hand", actor="ops", at=at)
            except EarnestError as error:  # its deadlines settled it by ``at``
                refused(error, "already_settled")

    def settle_late(self) -> None:
        """A settle received before its customer's period end, committed after the period
        was finalized: booked into the open period, ``moved_from`` the closed one."""
        with self.db.read() as tx:
            rows = tx.query(
                "SELECT o.contract, o.ref, o.clock, c.open_start FROM outcomes o"
                " JOIN customers c ON c.id = o.customer"
                " WHERE o.state IN ('open', 'in_review') AND o.clock < c.open_start"
                " ORDER BY o.id LIMIT 20"
            )
        for contract, ref, clock, start in self.rng.sample(rows, min(len(rows), 1)):
            since, end = from_us(int(clock)), from_us(int(start))
            at = since + (end - since) * self.rng.random()
            try:
                self.outcomes.settle(contract, ref, Scheduled.CONFIRM, "late", actor="ops", at=at)
            except EarnestError as error:  # a straggler's window ended before ``at``
                refused(error, "already_settled")

    def straggle(self) -> None:
        """A few signals for one customer, received in the hours before its latest closed
        period's end and committed only now (they waited behind the finalization): their
        windows end in the closed period, so their charges are booked into the open one."""
        with self.db.read() as tx:
            rows = tx.query("SELECT id, open_start, created_at FROM customers ORDER BY id")
        if not rows:
            return
        customer, start, created = self.rng.choice(rows)
        end, created_at = from_us(int(start)), from_us(int(created))
        received = max(end - timedelta(hours=self.rng.uniform(0, 6)), created_at)
        if received >= self.now:
            return
        batch = []
        for n in range(self.sent, self.sent + self.rng.randint(1, 4)):
            contract, name = self.rng.choice(
                (("yen", "done"), ("yen", "done"), ("fix", "resolved"))
            )
            batch.append(
                {
                    "id": f"{self.seed}-{n}", "contract": contract, "signal": name,
                    "outcome": f"late-{self.seed}-{n}", "customer": customer, "value": True,
                }
            )  # fmt: skip
        self.sent += len(batch)
        append_line(self.logfile + ".intent", [s["id"] for s in batch], sync=False)
        results = ingest(self.db, batch, received)
        accepted = [r.signal.id for r in results if r.status == "accepted" and r.signal]
        assert len(accepted) == len(batch), [r for r in results if r.status != "accepted"]
        append_line(self.logfile, [ident for ident in accepted if ident is not None], sync=True)

    def dispute(self) -> None:
        with self.db.read() as tx:
            rows = tx.query(
                "SELECT contract, ref FROM outcomes WHERE state = 'confirmed' AND NOT contested"
                " ORDER BY id DESC LIMIT 30"
            )
        for contract, ref in self.rng.sample(rows, min(len(rows), self.rng.randint(0, 2))):
            try:
                self.disputes.open(contract, ref, "the customer says it did not ship", actor="ops")
            except EarnestError as error:  # another process opened one (the concurrency test)
                refused(error, "dispute_open")

    def resolve(self) -> None:
        with self.db.read() as tx:
            rows = tx.query(
                "SELECT o.contract, o.ref, o.charged, o.credited FROM disputes d"
                " JOIN outcomes o ON o.id = d.outcome_id WHERE d.state = 'open' ORDER BY d.id"
            )
        for contract, ref, charged, credited in self.rng.sample(rows, min(len(rows), 3)):
            resolution = self.rng.choice(("reject", "credit", "credit"))
            amount = None
            if resolution == "credit" and self.rng.random() < 0.6:
                left = (money_value(charged) or Decimal(0)) - (money_value(credited) or Decimal(0))
                # a part of what is left, or now and then more than that (refused)
                amount = (left * Decimal(self.rng.uniform(0.05, 1.2))).quantize(Decimal("0.01"))
                amount = max(amount, Decimal("0.01"))
            try:
                answer = self.disputes.resolve(
                    contract, ref, resolution, "looked into it", amount=amount, actor="ops"
                )
            except EarnestError as error:
                refused(error, "credit_exceeds_charge", "no_open_dispute")
                continue
            token = f"{answer.dispute.id}:{resolution}"
            append_line(self.logfile + ".disputes", [token], sync=True)

    def change_billing_day(self) -> None:
        if not self.day_changes or self.rng.random() < 0.9:
            return
        with self.db.read() as tx:
            rows = tx.query("SELECT id FROM customers ORDER BY id")
        if rows:
            [ident] = self.rng.choice(rows)
            self.customers.put(ident, {"billing_day": self.rng.randint(1, 28)}, actor="cli")

    def change_prefix(self) -> None:
        """Now and then another invoice prefix: the numbers go on (SPEC 6)."""
        if self.rng.random() < 0.95:
            return
        prefix = self.rng.choice(("EARN", "INV", "acme-2026"))
        Settings(self.db, lambda: self.now).put({"invoice_prefix": prefix}, actor="cli")

    def fire_deadlines(self) -> None:
        catch_up(self.db, self.now, limit=self.rng.choice((2, 1000)))

    def close_periods(self) -> None:
        batch = self.rng.choice((1, 2, 3, 1000))
        closing = Marked(InvoiceClosing(self.db, batch), self.logfile + ".closing")
        if self.rng.random() < 0.3:  # the scheduler's catch-up, source by source
            for source in (OutcomeDeadlines(self.db, batch), closing):
                drain(source, self.now, fired=lambda _: self.log_finalized())
            return
        while (due := closing.next_due()) is not None and due <= self.now:
            closing.fire_due(self.now)
            self.log_finalized()

    def log_finalized(self) -> None:
        """Invoices whose finalization has committed: acknowledged numbers."""
        with self.db.read() as tx:
            rows = tx.query(
                "SELECT id, number, sequence FROM invoices WHERE sequence > ? ORDER BY sequence",
                (self.numbered,),
            )
        if rows:
            append_line(self.logfile + ".invoices", [f"{i}={n}" for i, n, _ in rows], sync=True)
            self.numbered = int(rows[-1][2])


def run(url: str, logfile: str, seed: str, rounds: int | None) -> None:
    db = connect(url)
    times = schedule(rounds) if rounds is not None else None
    now = times[0] if times is not None else latest_time(db) + step(random.Random(seed))
    setup(db, now)
    # Several processes at different rounds would stamp a change earlier than another's
    # bookings: the concurrency test keeps billing days fixed.
    worker = Worker(db, logfile, seed, day_changes=rounds is None)
    print("READY", flush=True)
    done = 0
    while rounds is None or done < rounds:
        worker.round(now)
        done += 1
        if times is not None:
            now = times[min(done, len(times) - 1)]
        else:
            now += step(worker.rng)
    db.close()


def kill_inside_finalization(nth: int) -> None:
    """SIGKILL this process inside the ``nth`` invoice finalization from now, once it is
    numbered, hashed and in the activity log, before its transaction commits."""
    finalize = invoices._finalize
    done = 0

    def finalize_then_die(*args: Any, **kwargs: Any) -> PendingEvent:
        nonlocal done
        event = finalize(*args, **kwargs)
        done += 1
        if done == nth:
            os.kill(os.getpid(), signal.SIGKILL)
        return event

    invoices._finalize = finalize_then_die


def zygote(url: str, logfile: str) -> None:
    """Fork a worker per request, so that a kill test pays Python's start-up once.

    On stdin, per worker: a seed line; the worker is forked and ``PID <pid>`` printed; it then
    prints ``READY`` when set up (the two lines in that order). The next stdin line (any)
    reaps it and prints ``EXIT <wait status>``: a worker killed before that stays a zombie,
    so its pid cannot have been reused by another process when the test sends its SIGKILL.
    End of stdin ends the zygote.

    A seed line ``SEED N`` makes the worker SIGKILL itself inside the closing transaction
    that finalizes its ``N``-th invoice, right after numbering, hashing and logging it, before
    the commit (:func:`kill_inside_finalization`)."""
    if not url.startswith(("postgresql:", "postgres:")):
        import sqlite3  # noqa: F401  # the driver loaded before forking
    else:
        import psycopg  # noqa: F401
    while request := sys.stdin.readline().split():
        seed, *nth = request
        go_read, go_write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(go_write)
            os.read(go_read, 1)  # until the zygote has printed the pid
            if nth:
                kill_inside_finalization(int(nth[0]))
            try:
                run(url, logfile, seed, None)
            except BaseException:
                traceback.print_exc()
                sys.stderr.flush()
                os._exit(1)
            os._exit(0)
        os.close(go_read)
        print(f"PID {pid}", flush=True)
        os.write(go_write, b"x")
        os.close(go_write)
        sys.stdin.readline()
        _, status = os.waitpid(pid, 0)
        print(f"EXIT {status}", flush=True)


def close(url: str, now: datetime, seed: str) -> None:
    """Fire deadlines and close periods due at ``now`` until nothing is, in small random
    batches (or, for a seed ending in ``s``, with the real scheduler on a clock stopped at
    ``now``); prints ``READY``, waits for a line on stdin, and at the end ``DID <count>``."""
    db = connect(url)
    rng = random.Random(seed)
    sources: list[DueWork] = [OutcomeDeadlines(db, 3), InvoiceClosing(db, 2)]
    print("READY", flush=True)
    sys.stdin.readline()  # go: every closer starts at once
    did = 0
    if seed.endswith("s"):
        scheduler = Scheduler(db, sources, clock=lambda: now, poll_s=0.01)
        scheduler.start()
        while any((due := s.next_due()) is not None and due <= now for s in sources):
            assert scheduler.running
            threading.Event().wait(0.01)
        assert scheduler.stop()
        assert scheduler.errors == 0, scheduler.errors
        did = scheduler.fired
    else:
        while True:
            if rng.random() < 0.2:
                did += OutcomeDeadlines(db, rng.choice((1, 5))).fire_due(now)
            closing = InvoiceClosing(db, rng.choice((1, 2, 3)))
            due = closing.next_due()
            if due is not None and due <= now:
                did += closing.fire_due(now)
            elif (due := sources[0].next_due()) is None or due > now:
                break
    db.close()
    print(f"DID {did}", flush=True)


def main(argv: list[str]) -> int:
    if len(argv) == 4 and argv[0] == "--close":
        close(argv[1], datetime.fromisoformat(argv[2]), argv[3])
        return 0
    if len(argv) == 3 and argv[0] == "--zygote":
        zygote(argv[1], argv[2])
        return 0
    if len(argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        return 2
    url, logfile, seed = argv[:3]
    run(url, logfile, seed, int(argv[3]) if len(argv) == 4 else None)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
