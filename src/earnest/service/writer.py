"""The writer: every write of a process goes through one thread, and single signals that
arrive while a commit is in flight are ingested together by the next one (group commit,
decision 0010).

Every write is serialized behind the one writer lock and ends with an fsync, so one
transaction per ``POST /v1/signals`` would cap ingest at one signal per fsync. Here a caller
queues its signal with the time it was received, and waits. The writer thread takes
everything queued (up to :data:`MAX_GROUP`) and hands the consecutive signals to ``ingest()``
as one batch, each at the time it was received, so no decision depends on how long the
commit before it took; other write jobs (a contract saved, deadlines fired) run in queue
order between groups. Each caller is answered only once the commit holding its write is
durable. A failed group fails every caller in it, and the writer goes on.

The API awaits (:meth:`Writer.submit_async`, :meth:`Writer.run_async`); the CLI and the
scheduler block (:meth:`Writer.submit`, :meth:`Writer.run`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from earnest.service.ingest import Result, ingest
from earnest.service.lanes import Job, Lane, Reply, deliver
from earnest.store import Database
from earnest.store.ledger import LedgerItem, entries_of

T = TypeVar("T")
MAX_GROUP = 1_000  # bounds one transaction's time, and so the wait of the group behind it


@dataclass(frozen=True, slots=True)
class Answer:
    """One signal's share of its group: its result, the outcome's ledger entries (when it
    has any) and the engine time it was decided at."""

    result: Result
    ledger: tuple[LedgerItem, ...]
    moment: datetime


@dataclass(frozen=True, slots=True)
class _Signal:
    body: object
    received_at: datetime
    reply: Reply


class Writer(Lane["_Signal | Job"]):
    """One thread; signals in groups, other write jobs one by one, all in queue order."""

    def __init__(self, db: Database, max_group: int = MAX_GROUP) -> None:
        super().__init__(db, "earnest-writer", size=1, take=max_group)
        self._last = datetime.min.replace(tzinfo=UTC)  # the latest engine time committed

    # Signals -----------------------------------------------------------------------------

    def submit(self, body: object, received_at: datetime) -> Answer:
        """Ingest ``body`` with the signals queued beside it; block until committed."""
        answer: Answer = self.call(functools.partial(_Signal, body, received_at))
        return answer

    async def submit_async(self, body: object, received_at: datetime) -> Answer:
        """As :meth:`submit`, awaited. A request that goes away still has its signal
        committed (a write is never cut in half)."""
        answer: Answer = await self.call_async(functools.partial(_Signal, body, received_at))
        return answer

    # Other writes ------------------------------------------------------------------------

    def run(self, call: Callable[[], T]) -> T:
        """Run ``call`` on the writer thread, in queue order; block until it is done."""
        result: T = self.call(functools.partial(Job, call))
        return result

    async def run_async(self, call: Callable[[], T]) -> T:
        result: T = await self.call_async(functools.partial(Job, call))
        return result

    # The thread --------------------------------------------------------------------------

    def handle(self, items: list[_Signal | Job]) -> None:
        group: list[_Signal] = []
        for item in items:
            if isinstance(item, _Signal):
                group.append(item)
                continue
            self._commit(group)
            group = []
            item.run()
        self._commit(group)

    def _commit(self, group: list[_Signal]) -> None:
        """Ingest the group, each signal at the time it was received; answer every caller.
        Any failure is every caller's answer, so nobody is left waiting."""
        if not group:
            return
        try:
            # A request may be queued a moment after one received later: engine times are
            # kept from running backwards, within the group and across groups.
            times = []
            for item in group:
                self._last = max(self._last, item.received_at)
                times.append(self._last)
            answers: list[Any] = _ingest_group(self.db, [item.body for item in group], times)
        except BaseException as error:
            answers = [error] * len(group)
        deliver([(item.reply, answer) for item, answer in zip(group, answers, strict=True)])


def _ingest_group(db: Database, bodies: list[object], times: list[datetime]) -> list[Answer]:
    results = ingest(db, bodies, times)
    charged = {
        r.outcome_id
        for r in results
        if r.outcome_id is not None and r.outcome is not None and r.outcome.charged is not None
    }
    ledger = _ledger(db, charged) if charged else {}
    return [
        Answer(r, tuple(ledger.get(r.outcome_id, ())) if r.outcome_id else (), moment)
        for r, moment in zip(results, times, strict=True)
    ]


def _ledger(db: Database, outcome_ids: set[int]) -> dict[int, list[LedgerItem]]:
    """The ledger entries of the outcomes that have any, in one read after the commit."""
    with db.read() as tx:
        return entries_of(tx, outcome_ids)
