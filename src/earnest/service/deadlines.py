"""Deadlines: stored in ``outcomes.deadline``, fired by whichever process gets there first.

A due deadline is fired by ``decide(outcome, DeadlineReached(), now)``, which stamps every
transition with its own deadline, never with the time the scheduler ran. Each firing happens in
a write transaction that re-reads the outcome, so a deadline fires once even when several
processes (``earnest serve`` and ``earnest worker``) poll the same database.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from earnest.engine import DeadlineReached, decide
from earnest.service.due import drain
from earnest.service.recorder import Recorder
from earnest.store import Database
from earnest.store.outcomes import earliest_deadline, load_due

BATCH = 1_000


def fire_due(db: Database, now: datetime, limit: int = BATCH) -> int:
    """Fire up to ``limit`` due deadlines (oldest first) in one transaction; how many fired."""
    with db.write() as tx:
        due = load_due(tx, now, limit)
        recorder = Recorder()
        for stored in due:
            recorder.record(stored, decide(stored.outcome, DeadlineReached(), now))
        recorder.flush(tx)
        return len(due)


def next_deadline(db: Database) -> datetime | None:
    """The earliest pending deadline, to know how long the scheduler may sleep."""
    with db.read() as tx:
        return earliest_deadline(tx)


def catch_up(
    db: Database,
    now: datetime,
    *,
    limit: int = BATCH,
    should_stop: Callable[[], bool] = lambda: False,
    fired: Callable[[int], None] = lambda count: None,
) -> int:
    """Fire every deadline due at ``now``, in deadline order, batch after batch; how many
    fired (:func:`earnest.service.due.drain` over the deadlines)."""
    return drain(OutcomeDeadlines(db, limit), now, should_stop=should_stop, fired=fired)


class OutcomeDeadlines:
    """The scheduler's source of outcome deadlines (activity and review windows)."""

    name = "deadlines"

    def __init__(self, db: Database, batch: int = BATCH) -> None:
        self.db = db
        self.batch = batch

    def next_due(self) -> datetime | None:
        return next_deadline(self.db)

    def fire_due(self, now: datetime) -> int:
        return fire_due(self.db, now, self.batch)
