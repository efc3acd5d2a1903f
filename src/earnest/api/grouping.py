"""Group commit for single signals: requests that arrive while a commit is in flight are
ingested together, in one transaction, by the next one (decision 0010).

Every write is serialized behind the one writer and ends with an fsync, so one transaction
per ``POST /v1/signals`` caps the endpoint at one signal per fsync. Here a request queues
its body and the time it was received, and waits. One committer thread takes everything
queued (up to :data:`MAX_GROUP`) and hands it to ``ingest()`` as one batch, each signal at the
time its request arrived, so no decision depends on how long the commit before it took.
``ingest()`` gives each item its own result and applies them in order, so each answer is the
one the request would have had on its own, sent one after the other in queue order; each
request is answered only once the commit holding its signal is durable.

The committer is a thread of its own, not a task on the event loop: it starts the next group
the moment a commit ends, instead of waiting for a busy loop to hand it the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from earnest.engine import Outcome
from earnest.service.ingest import Result, ingest
from earnest.service.outcomes import ChargeRow, charges
from earnest.store.db import Database

MAX_GROUP = 1_000  # bounds one transaction's time, and so the wait of the group behind it


@dataclass(frozen=True, slots=True)
class Answer:
    """One request's share of its group: its result, the outcome's charge, the engine time."""

    result: Result
    charge: ChargeRow | None
    moment: datetime


_Waiting = tuple[object, datetime, asyncio.AbstractEventLoop, "asyncio.Future[Answer]"]


class GroupCommit:
    """Single signals in, one ``ingest()`` per group out, on one committer thread."""

    def __init__(
        self, db: Database, clock: Callable[[], datetime], max_group: int = MAX_GROUP
    ) -> None:
        assert max_group >= 1
        self.db = db
        self.clock = clock
        self.max_group = max_group
        self._queue: queue.SimpleQueue[_Waiting | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._last = datetime.min.replace(tzinfo=UTC)  # the latest engine time committed

    async def submit(self, body: object, received_at: datetime | None = None) -> Answer:
        """Ingest ``body``, received at ``received_at`` (default: the clock, now), with the
        signals queued beside it; raises what the group raised."""
        if received_at is None:
            received_at = self.clock()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Answer] = loop.create_future()
        self._start()
        self._queue.put((body, received_at, loop, future))
        # A request that goes away still has its signal committed (a write is never cut in
        # half); shielded, its future is not cancelled, so the committer needs no special case.
        return await asyncio.shield(future)

    def close(self) -> None:
        """Commit and answer what is queued, close the thread's connection, join it. A later
        submission starts a new thread, as the store threads do when an app is started again."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join()

    def _start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._work, name="earnest-api-group-commit", daemon=True
                )
                self._thread.start()

    def _work(self) -> None:
        try:
            while (first := self._queue.get()) is not None:
                group, more = self._take(first)
                self._commit(group)
                if not more:
                    break
        finally:
            self.db.close()

    def _take(self, first: _Waiting) -> tuple[list[_Waiting], bool]:
        """``first`` and what is queued behind it; False once the stop mark was taken."""
        group = [first]
        while len(group) < self.max_group:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                return group, False
            group.append(item)
        return group, True

    def _commit(self, group: list[_Waiting]) -> None:
        """Ingest the group, each signal at the time it was received; answer every request.
        Any failure is every request's answer, so no request is left waiting."""
        try:
            # A request may be queued a moment after one received later: engine times are
            # kept from running backwards, within the group and across groups.
            times = []
            for _, received_at, _, _ in group:
                self._last = max(self._last, received_at)
                times.append(self._last)
            answers = _ingest_group(self.db, [body for body, _, _, _ in group], times)
        except BaseException as error:  # the transaction rolled back, or never began
            _deliver([(loop, future, error) for _, _, loop, future in group])
        else:
            _deliver([(w[2], w[3], a) for w, a in zip(group, answers, strict=True)])


def _deliver(
    outcomes: list[
        tuple[asyncio.AbstractEventLoop, asyncio.Future[Answer], Answer | BaseException]
    ],
) -> None:
    """Settle every future on its own loop, with one wake-up per loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Answer], object]]]
    by_loop = defaultdict(list)
    for loop, future, outcome in outcomes:
        by_loop[loop].append((future, outcome))
    for loop, settled in by_loop.items():
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting any more
            loop.call_soon_threadsafe(_settle, settled)


def _settle(settled: list[tuple[asyncio.Future[Answer], object]]) -> None:
    for future, outcome in settled:
        if future.done():
            continue
        if isinstance(outcome, Answer):
            future.set_result(outcome)
        else:
            assert isinstance(outcome, BaseException)
            future.set_exception(outcome)


def _ingest_group(db: Database, bodies: list[object], times: list[datetime]) -> list[Answer]:
    results = ingest(db, bodies, times)
    outcomes = [r.outcome for r in results if r.outcome is not None]
    charged = [outcome for outcome in outcomes if outcome.charged is not None]
    found = _charges(db, charged) if charged else {}
    return [
        Answer(r, None if r.outcome is None else found.get(_key(r.outcome)), moment)
        for r, moment in zip(results, times, strict=True)
    ]


def _charges(db: Database, outcomes: list[Outcome]) -> dict[tuple[str, str], ChargeRow]:
    """The ledger's charge of each confirmed outcome, in one read after the commit."""
    refs: dict[str, list[str]] = defaultdict(list)
    for outcome in outcomes:
        refs[outcome.contract.key].append(outcome.ref)
    with db.read() as tx:
        ids: dict[int, tuple[str, str]] = {}
        for contract, chosen in refs.items():
            for ident, ref in tx.query_in(
                "SELECT id, ref FROM outcomes WHERE contract = ? AND ref IN {values}",
                chosen,
                before=[contract],
            ):
                ids[int(ident)] = (contract, ref)
        return {ids[ident]: charge for ident, charge in charges(tx, ids).items()}


def _key(outcome: Outcome) -> tuple[str, str]:
    return outcome.contract.key, outcome.ref
