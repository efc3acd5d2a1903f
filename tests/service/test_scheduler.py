"""The scheduler on SQLite and PostgreSQL: deadlines stamped with their own time, catch-up in
deadline order, settlement within a second on the real clock, prompt stop, retries after
database errors, and several concurrent firers settling each outcome once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import earnest.service.deadlines as deadlines_module
from earnest.contract import load_contract
from earnest.service.deadlines import catch_up, fire_due
from earnest.service.ingest import ingest
from earnest.service.scheduler import Scheduler
from earnest.store import Database, connect
from earnest.store.codec import from_us
from earnest.store.contracts import save_contract

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
REVIEWED = """
active_for: 1h
review_window: {review}
price: $2
conditions: done
on_timeout: confirm
"""
QUICK = """
active_for: 1s
review_window: 0s
price: $1
conditions: done
on_timeout: confirm
"""


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def put(db: Database, key: str, text: str, now: datetime = T0) -> None:
    with db.write() as tx:
        save_contract(tx, load_contract(text, key=key), now)


def send(db: Database, contract: str, ref: str, now: datetime, signal: str = "done") -> None:
    [result] = ingest(
        db, [{"contract": contract, "outcome": ref, "signal": signal, "customer": "acme"}], now
    )
    assert result.status == "accepted", result.error


def outcome_row(db: Database, ref: str) -> tuple[Any, ...]:
    with db.read() as tx:
        row = tx.one("SELECT state, settled_at, deadline FROM outcomes WHERE ref = ?", (ref,))
    assert row is not None
    return row


def settlements(db: Database) -> list[tuple[str, datetime]]:
    """Each settling transition in history order: (outcome ref, recorded_at)."""
    with db.read() as tx:
        rows = tx.query(
            "SELECT o.ref, h.recorded_at, h.data FROM history h JOIN outcomes o"
            " ON o.id = h.outcome_id WHERE h.kind = 'transition' ORDER BY h.seq"
        )
    return [(ref, from_us(int(at))) for ref, at, data in rows if '"to":"confirmed"' in data]


def wait_for(predicate: Callable[[], bool], timeout_s: float = 5.0) -> float:
    """Poll until ``predicate`` holds; the wall-clock time when it did."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return time.time()
        time.sleep(0.02)
    raise AssertionError("timed out waiting")


@pytest.fixture
def running() -> Iterator[list[Scheduler]]:
    """Schedulers a test started; each is stopped at the end even when the test fails."""
    started: list[Scheduler] = []
    yield started
    for scheduler in started:
        scheduler.stop(5)


def start(running: list[Scheduler], db: Database, **options: Any) -> Scheduler:
    scheduler = Scheduler(db, **options)
    running.append(scheduler)
    scheduler.start()
    return scheduler


def test_a_deadline_fires_stamped_with_its_own_time(db: Database, running: list[Scheduler]) -> None:
    put(db, "reviewed", REVIEWED.format(review="1h"))
    send(db, "reviewed", "o1", T0)  # met at T0: review ends T0 + 1h
    clock = FakeClock(T0 + timedelta(minutes=30))
    scheduler = start(running, db, clock=clock)
    time.sleep(0.3)
    assert outcome_row(db, "o1")[0] == "in_review"  # not due yet on the fake clock
    clock.now = T0 + timedelta(hours=5)  # the scheduler ran four hours late
    wait_for(lambda: outcome_row(db, "o1")[0] == "confirmed")
    assert from_us(int(outcome_row(db, "o1")[1])) == T0 + timedelta(hours=1)
    with db.read() as tx:
        booked = tx.one("SELECT booked_at FROM ledger")
    assert booked is not None
    assert from_us(int(booked[0])) == T0 + timedelta(hours=1)
    assert scheduler.fired == 1
    assert scheduler.stop(5)


def test_catch_up_after_downtime_fires_in_deadline_order(
    db: Database, running: list[Scheduler]
) -> None:
    put(db, "slow", REVIEWED.format(review="3h"))
    put(db, "fast", REVIEWED.format(review="1h"))
    # Opened first, due last: the order of deadlines is not the order of ids.
    send(db, "slow", "s1", T0)  # due T0 + 3h
    send(db, "fast", "f1", T0 + timedelta(minutes=1))  # due T0 + 1h01
    send(db, "fast", "f2", T0 + timedelta(minutes=90))  # due T0 + 2h30
    send(db, "slow", "s2", T0 + timedelta(minutes=2))  # due T0 + 3h02
    # Down for a day; on start, everything missed fires, oldest deadline first.
    deadlines = [deadlines_module.OutcomeDeadlines(db, 2)]
    scheduler = start(running, db, sources=deadlines, clock=FakeClock(T0 + timedelta(days=1)))
    wait_for(lambda: scheduler.fired == 4)
    assert settlements(db) == [
        ("f1", T0 + timedelta(hours=1, minutes=1)),
        ("f2", T0 + timedelta(hours=2, minutes=30)),
        ("s1", T0 + timedelta(hours=3)),
        ("s2", T0 + timedelta(hours=3, minutes=2)),
    ]


def test_a_deadline_settles_within_a_second_on_the_real_clock(
    db: Database, running: list[Scheduler]
) -> None:
    put(db, "quick", QUICK)
    start(running, db)
    opened = datetime.now(UTC)
    send(db, "quick", "q1", opened, signal="started")  # undecided: on_timeout confirm after 1s
    seen = wait_for(lambda: outcome_row(db, "q1")[0] == "confirmed", timeout_s=3.0)
    settled_at = from_us(int(outcome_row(db, "q1")[1]))
    assert settled_at == opened + timedelta(seconds=1)
    lag_s = seen - settled_at.timestamp()
    assert 0 <= lag_s < 1.0, f"settled {lag_s:.3f} s after its deadline"


def test_stop_returns_promptly_and_ends_the_thread(db: Database) -> None:
    scheduler = Scheduler(db, poll_s=1.0)
    scheduler.start()
    time.sleep(0.1)
    began = time.monotonic()
    assert scheduler.stop(5)
    assert time.monotonic() - began < 0.5
    assert not scheduler.running


def test_database_errors_are_logged_and_retried(
    db: Database,
    running: list[Scheduler],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    put(db, "reviewed", REVIEWED.format(review="1h"))
    send(db, "reviewed", "o1", T0)
    failures = iter([True, True, True])

    def flaky(database: Database, now: datetime, limit: int = 1000) -> int:
        if next(failures, False):
            raise ConnectionError("the database went away")
        return fire_due(database, now, limit)

    monkeypatch.setattr(deadlines_module, "fire_due", flaky)  # every firing of the deadlines source
    scheduler = start(running, db, clock=FakeClock(T0 + timedelta(hours=2)))
    wait_for(lambda: outcome_row(db, "o1")[0] == "confirmed")
    assert scheduler.errors == 3
    assert scheduler.running
    logged = [r for r in caplog.records if r.name == "earnest.scheduler" and r.exc_info]
    assert len(logged) == 3
    assert all("the database went away" in str(r.exc_info[1]) for r in logged if r.exc_info)


def test_concurrent_firers_on_postgresql_settle_and_charge_each_outcome_once(
    pg_url: str,
) -> None:
    setup = connect(pg_url)
    setup.migrate()
    put(setup, "reviewed", REVIEWED.format(review="1h"))
    count = 60
    items = [
        {"contract": "reviewed", "outcome": f"o{n}", "signal": "done", "customer": "acme"}
        for n in range(count)
    ]
    assert all(r.status == "accepted" for r in ingest(setup, items, T0))
    now = T0 + timedelta(hours=2)
    barrier = threading.Barrier(4)
    fired: list[int] = []
    errors: list[BaseException] = []

    def firer() -> None:
        own = connect(pg_url)
        try:
            barrier.wait()
            total = 0
            for _ in range(20):  # small batches interleave the firers
                total += fire_due(own, now, limit=5)
            total += catch_up(own, now)
            fired.append(total)
        except BaseException as error:
            errors.append(error)
        finally:
            own.close()

    threads = [threading.Thread(target=firer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    assert sum(fired) == count
    assert len([f for f in fired if f]) > 1, "the firers did not overlap"
    with setup.read() as tx:
        charges = tx.query("SELECT outcome_id, COUNT(*) FROM ledger GROUP BY outcome_id")
        states = tx.query("SELECT state, COUNT(*) FROM outcomes GROUP BY state")
    assert len(charges) == count
    assert all(int(n) == 1 for _, n in charges)
    assert states == [("confirmed", count)]
    assert len(settlements(setup)) == count
    setup.close()


def test_an_idle_scheduler_takes_no_write_lock(
    db: Database, running: list[Scheduler], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Polling with nothing due only reads the next deadline: the one writer lock stays free
    for ingest (on PostgreSQL it is shared by every process)."""
    put(db, "reviewed", REVIEWED.format(review="1h"))
    send(db, "reviewed", "o1", T0)  # in review until T0 + 1h
    clock = FakeClock(T0 + timedelta(minutes=30))
    writes = [0]
    real = db.write

    def counted() -> Any:
        writes[0] += 1
        return real()

    monkeypatch.setattr(db, "write", counted)
    scheduler = start(running, db, clock=clock, poll_s=0.01)
    time.sleep(0.3)  # about 30 polls
    assert writes[0] <= 1  # at most catch-up's one look at start
    clock.now = T0 + timedelta(hours=2)
    wait_for(lambda: outcome_row(db, "o1")[0] == "confirmed")
    assert scheduler.fired == 1


class Chores:
    """A due-work source of its own: pieces of work due at given times, done in batches,
    oldest first, each stamped with its due time (never with the time it ran)."""

    name = "chores"

    def __init__(self, due: list[datetime], batch: int) -> None:
        self.pending = sorted(due)
        self.batch = batch
        self.done: list[tuple[datetime, datetime]] = []  # (due, now when done)
        self.calls = 0

    def next_due(self) -> datetime | None:
        return self.pending[0] if self.pending else None

    def fire_due(self, now: datetime) -> int:
        self.calls += 1
        ready = [due for due in self.pending if due <= now][: self.batch]
        self.pending = self.pending[len(ready) :]
        self.done += [(due, now) for due in ready]
        return len(ready)


def test_any_due_work_source_plugs_in(db: Database, running: list[Scheduler]) -> None:
    """The scheduler knows no kind of work: a second source catches up in batches after
    downtime, oldest first, then fires each piece when it comes due, beside the deadlines."""
    put(db, "reviewed", REVIEWED.format(review="1h"))
    send(db, "reviewed", "o1", T0)
    missed = [T0 - timedelta(minutes=m) for m in (5, 1, 3, 2, 4)]
    later = T0 + timedelta(hours=3)
    chores = Chores([*missed, later], batch=2)
    clock = FakeClock(T0 + timedelta(hours=2))
    scheduler = Scheduler(db, [deadlines_module.OutcomeDeadlines(db), chores], clock=clock)
    running.append(scheduler)
    scheduler.start()
    wait_for(lambda: len(chores.done) == 5)
    assert [due for due, _ in chores.done] == sorted(missed)
    assert chores.calls >= 3  # five pieces in batches of two
    wait_for(lambda: outcome_row(db, "o1")[0] == "confirmed")  # the deadlines source too
    assert chores.pending == [later]
    clock.now = later
    wait_for(lambda: not chores.pending)
    assert chores.done[-1] == (later, later)
    assert scheduler.fired == 1 + 6  # o1's deadline (one review end) and six chores


class Broken:
    """A source whose every call fails, as one whose store rows cannot be read."""

    name = "broken"
    batch = 10

    def __init__(self) -> None:
        self.calls = 0

    def next_due(self) -> datetime | None:
        self.calls += 1
        raise RuntimeError("this source is broken")

    def fire_due(self, now: datetime) -> int:
        raise AssertionError("never due")


def test_a_failing_source_holds_up_no_other(db: Database, running: list[Scheduler]) -> None:
    """A source that fails (say, closing invoices) is retried with a backoff, while the
    sources after it (say, webhook deliveries) and before it go on firing on time."""
    put(db, "reviewed", REVIEWED.format(review="1h"))
    send(db, "reviewed", "o1", T0)
    broken = Broken()
    chores = Chores([T0 + timedelta(hours=2)], batch=2)
    clock = FakeClock(T0 + timedelta(hours=2))
    scheduler = Scheduler(
        db, [broken, deadlines_module.OutcomeDeadlines(db), chores], clock=clock, poll_s=0.05
    )
    running.append(scheduler)
    scheduler.start()
    wait_for(lambda: outcome_row(db, "o1")[0] == "confirmed")
    wait_for(lambda: chores.done != [])
    assert scheduler.errors >= 1
    calls = broken.calls
    time.sleep(0.3)
    assert broken.calls - calls <= 3  # backed off, not retried at every poll
    assert scheduler.running
