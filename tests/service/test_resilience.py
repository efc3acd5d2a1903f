"""What the writer and store threads must survive: a database server that drops their
connections, and a lane closed while work is still being handed to it."""

from __future__ import annotations

import asyncio
import functools
import threading
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest

from earnest.app import Earnest
from earnest.service.lanes import Readers
from earnest.service.writer import Writer
from earnest.store import Database, connect
from tests.service.test_scheduler import (
    REVIEWED,
    T0,
    FakeClock,
    outcome_row,
    put,
    send,
    wait_for,
)


def drop_connections(url: str) -> int:
    """Terminate every other session on the database, as a server restart would."""
    with psycopg.connect(url, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return len(rows)


def test_the_writer_and_the_scheduler_outlive_a_dropped_connection(pg_url: str) -> None:
    """A connection the server dropped is replaced on the thread's next transaction: the
    writer goes on writing and the scheduler goes on settling (it used to stay broken)."""
    db = connect(pg_url)
    db.migrate()
    clock = FakeClock(T0)
    app = Earnest(db, clock=clock)
    put(db, "reviewed", REVIEWED.format(review="1h"))
    send(db, "reviewed", "o1", T0)
    assert app.writer.run(lambda: app.keys.list(limit=1)).items == []  # the writer connects
    assert drop_connections(pg_url) >= 1
    db.close()  # this thread's own connection was dropped too (its reads are tested below)
    with pytest.raises(psycopg.OperationalError):
        app.writer.run(lambda: app.keys.list(limit=1))  # the one write that meets the break
    clock.now = T0 + timedelta(hours=2)
    scheduler = app.scheduler(poll_s=0.05)
    scheduler.start()
    try:
        wait_for(lambda: outcome_row(db, "o1")[0] == "confirmed")
    finally:
        scheduler.stop(5)
        app.close()
    assert scheduler.errors <= 1


def test_a_dropped_connection_on_a_read_is_replaced(pg_url: str) -> None:
    db = connect(pg_url)
    db.migrate()
    with db.read() as tx:
        assert tx.one("SELECT 1") == (1,)
    drop_connections(pg_url)
    with pytest.raises(psycopg.OperationalError), db.read() as tx:
        tx.one("SELECT 1")
    with db.read() as tx:
        assert tx.one("SELECT 1") == (1,)
    db.close()


@pytest.mark.parametrize("lane", ["writer", "readers"])
def test_work_handed_to_a_closing_lane_is_done_and_close_returns(tmp_path: Path, lane: str) -> None:
    """``close()`` while other threads keep handing work to the lane: every job runs exactly
    once, every caller gets its answer, and ``close()`` never waits forever."""
    db: Database = connect(str(tmp_path / "lanes.db"))
    db.migrate()
    target: Writer | Readers = Writer(db) if lane == "writer" else Readers(db, size=3)
    done: list[int] = []
    lock = threading.Lock()

    def job(n: int) -> int:
        with lock:
            done.append(n)
        return n

    def call(n: int) -> int:
        if isinstance(target, Writer):
            return target.run(functools.partial(job, n))
        return asyncio.run(target.run(functools.partial(job, n)))

    def hand(start: int) -> None:
        for n in range(start, start + 50):
            assert call(n) == n

    for round_ in range(20):
        callers = [threading.Thread(target=hand, args=(1000 * round_ + 100 * i,)) for i in (0, 1)]
        for caller in callers:
            caller.start()
        closer = threading.Thread(target=target.close)
        closer.start()
        closer.join(10)
        assert not closer.is_alive(), "close() waited forever"
        for caller in callers:
            caller.join(10)
            assert not caller.is_alive(), "a caller never got its answer"
    target.close()
    assert sorted(done) == sorted(set(done))  # each job once
    assert len(done) == 20 * 2 * 50
    db.close()


def test_opened_and_settled_by_hand_at_the_time_asked(tmp_path: Path) -> None:
    """``POST /v1/outcomes`` and a manual settle happen at the request's arrival, not at
    whatever time the writer thread gets to them."""
    from earnest.engine import Scheduled
    from earnest.signals import validate_signal

    db = connect(str(tmp_path / "times.db"))
    db.migrate()
    app = Earnest(db, clock=FakeClock(T0 + timedelta(hours=5)))  # the writer's "now"
    put(db, "reviewed", REVIEWED.format(review="1h"))
    asked = T0 + timedelta(minutes=1)
    body = {"contract": "reviewed", "outcome": "o1", "customer": "acme", "signal": "opened"}
    outcome, opened = app.outcomes.open(validate_signal(body, received_at=asked), asked)
    assert opened
    assert outcome.opened_at == asked
    settled = app.outcomes.settle(
        "reviewed", "o1", Scheduled.CONFIRM, "checked", actor="k1", at=asked + timedelta(minutes=5)
    )
    assert settled.outcome.settled_at == asked + timedelta(minutes=5)
    app.close()


def test_settling_after_the_deadlines_names_the_state_they_led_to(tmp_path: Path) -> None:
    from earnest.engine import Scheduled
    from earnest.rules import AlreadySettled
    from earnest.signals import validate_signal

    db = connect(str(tmp_path / "late.db"))
    db.migrate()
    app = Earnest(db, clock=FakeClock(T0))
    put(db, "reviewed", REVIEWED.format(review="1h"))
    body = {"contract": "reviewed", "outcome": "o1", "customer": "acme", "signal": "opened"}
    app.outcomes.open(validate_signal(body, received_at=T0), T0)
    # Stored as open; by T0 + 3h its activity window (1h) and review (1h) have both ended.
    with pytest.raises(AlreadySettled, match="is already confirmed"):
        app.outcomes.settle(
            "reviewed", "o1", Scheduled.CANCEL, "late", actor="k1", at=T0 + timedelta(hours=3)
        )
    app.close()
