"""Deadlines: stored in ``outcomes.deadline``, fired by whichever process gets there first.

A due deadline is fired by ``decide(outcome, DeadlineReached(), now)``, which stamps every
transition with its own deadline, never with the time the scheduler ran. Each firing happens in
a write transaction that re-reads the outcome, so a deadline fires once even when several
processes (``earnest serve`` and ``earnest worker``) poll the same database.
"""

from __future__ import annotations

from datetime import datetime

from earnest.engine import DeadlineReached, decide
from earnest.service.recorder import Recorder
from earnest.store.codec import from_us, to_us
from earnest.store.db import Database
from earnest.store.outcomes import load_by_ids

BATCH = 1_000


def fire_due(db: Database, now: datetime, limit: int = BATCH) -> int:
    """Fire up to ``limit`` due deadlines (oldest first) in one transaction; how many fired."""
    with db.write() as tx:
        lock = " FOR UPDATE SKIP LOCKED" if tx.dialect == "postgresql" else ""
        ids = [
            int(row[0])
            for row in tx.query(
                "SELECT id FROM outcomes WHERE deadline IS NOT NULL AND deadline <= ?"
                f" ORDER BY deadline, id LIMIT ?{lock}",
                (to_us(now), limit),
            )
        ]
        if not ids:
            return 0
        stored = load_by_ids(tx, ids)
        recorder = Recorder()
        for ident in ids:
            outcome = stored[ident]
            recorder.record(outcome, decide(outcome.outcome, DeadlineReached(), now))
        recorder.flush(tx)
        return len(ids)


def next_deadline(db: Database) -> datetime | None:
    """The earliest pending deadline, to know how long the scheduler may sleep."""
    with db.read() as tx:
        row = tx.one("SELECT MIN(deadline) FROM outcomes WHERE deadline IS NOT NULL")
    return from_us(int(row[0])) if row is not None and row[0] is not None else None


def catch_up(db: Database, now: datetime) -> int:
    """Fire every deadline due at ``now``, in deadline order, batch after batch."""
    total = 0
    while fired := fire_due(db, now):
        total += fired
    return total
