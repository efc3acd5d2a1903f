"""The scheduler: fires whatever work has come due, so that under normal load each outcome
deadline settles within a second.

It knows nothing of outcomes: it polls a registry of :class:`DueWork` sources (outcome
deadlines today; period closing and webhook retries plug in the same way), each saying when
its next work is due and firing what is due at a given time, in batches, oldest first. On
start it catches up: every source fires everything that came due while no scheduler ran,
batch after batch. Sources stamp what they do with its own due time, never with the time the
scheduler ran, so downtime and lag never change a decision (SPEC section 4).

Several schedulers may poll one PostgreSQL database: each source claims its work in its own
write transaction, so each piece fires once. A failing database is logged and retried with a
growing backoff; the loop never ends except through :meth:`Scheduler.stop`.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime

from earnest.clock import Clock, utc_now
from earnest.service.deadlines import OutcomeDeadlines
from earnest.service.due import DueWork, drain
from earnest.store import Database, redact

POLL_S = 0.2  # the longest sleep between polls: a deadline settles well within 1 s
BACKOFF_MIN_S = 0.1
BACKOFF_MAX_S = 5.0
STOP_TIMEOUT_S = 30.0  # a transaction in hand longer than this is a stuck database

log = logging.getLogger("earnest.scheduler")

__all__ = ["POLL_S", "Clock", "DueWork", "Scheduler", "utc_now"]  # DueWork: service.due


Writes = Callable[[Callable[[], int]], int]
"""Runs a write job and returns its result: directly, or on the process's writer thread."""


def _direct(job: Callable[[], int]) -> int:
    return job()


class Scheduler:
    """Fires due work until :meth:`stop`; :meth:`start` runs it in its own thread.

    ``clock`` is the time source (a fake one in tests); ``fired`` counts the pieces of work
    this scheduler did and ``errors`` the failed attempts it retried.
    """

    def __init__(
        self,
        db: Database,
        sources: Sequence[DueWork] | None = None,
        *,
        clock: Clock = utc_now,
        poll_s: float = POLL_S,
        writes: Writes = _direct,
    ) -> None:
        """``sources`` default to the outcome deadlines alone."""
        assert 0 < poll_s <= 1, "a deadline must settle within 1 s, so poll at least each second"
        if sources is None:
            sources = [OutcomeDeadlines(db)]
        assert sources
        assert all(source.batch > 0 for source in sources)
        self.db = db
        self.sources = list(sources)
        self.clock = clock
        self.poll_s = poll_s
        self.writes = writes
        self.fired = 0
        self.errors = 0
        self._stopping = threading.Event()
        self._backoff: dict[str, tuple[float, float]] = {}  # source: (retry at, backoff s)
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        assert self._thread is None, "a scheduler starts once"
        self._thread = threading.Thread(target=self.run, name="earnest-scheduler", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float | None = STOP_TIMEOUT_S) -> bool:
        """Ask the loop to end after the transaction in hand; wait for it. True once ended."""
        self._stopping.set()
        thread = self._thread
        if thread is None or thread is threading.current_thread():
            return True
        thread.join(timeout_s)
        if thread.is_alive():
            log.warning("scheduler: still inside a transaction after %.0f s", timeout_s or 0)
        return not thread.is_alive()

    def run(self) -> None:
        """Catch up, then fire due work until :meth:`stop` (blocking: a thread's body)."""
        log.info("scheduler: started on %s", redact(self.db.url))
        try:
            self._retrying(self._catch_up)
            while not self._stopping.is_set():
                self._stopping.wait(self._retrying(self._step))
        except BaseException:
            log.critical("scheduler: stopped by an unexpected error", exc_info=True)
            raise
        finally:
            with contextlib.suppress(Exception):
                self.db.close()  # this thread's connection
        log.info("scheduler: stopped after firing %d pieces of due work", self.fired)

    def _fire(self, source: DueWork, now: datetime) -> int:
        fired = self.writes(lambda: source.fire_due(now))
        self.fired += fired
        return fired

    def _count(self, fired: int) -> None:
        self.fired += fired

    def _catch_up(self) -> float:
        """Fire everything missed while down, each source oldest first, all at one ``now``.
        A failing source is retried with a backoff; it holds up none of the others."""
        now = self.clock()
        for source in self.sources:
            if not self._may_try(source):
                continue
            try:
                caught_up = drain(
                    source, now, fire=self.writes, should_stop=self._stopping.is_set,
                    fired=self._count,
                )  # fmt: skip
            except Exception:
                self._failed(source)
                continue
            self._backoff.pop(source.name, None)
            if caught_up:
                log.info("scheduler: caught up %d missed %s", caught_up, source.name)
        return 0.0

    def _may_try(self, source: DueWork) -> bool:
        retry = self._backoff.get(source.name)
        return retry is None or time.monotonic() >= retry[0]

    def _failed(self, source: DueWork) -> None:
        """Count and log a source's failure; try it again after a growing backoff. (A
        connection the server dropped is replaced by the store itself.)"""
        self.errors += 1
        _, backoff_s = self._backoff.get(source.name, (0.0, BACKOFF_MIN_S / 2))
        backoff_s = min(backoff_s * 2, BACKOFF_MAX_S)
        self._backoff[source.name] = (time.monotonic() + backoff_s, backoff_s)
        log.exception(
            "scheduler: %s failed; retrying it in %.1f s (the other sources go on)",
            source.name, backoff_s,
        )  # fmt: skip

    def _step(self) -> float:
        """Fire what is due now; how long to sleep before the next step. An idle step only
        reads when work is next due: the one writer lock is taken when something is."""
        sleep_s = self.poll_s
        for source in self.sources:
            if not self._may_try(source):
                continue
            try:
                sleep_s = min(sleep_s, self._step_one(source))
            except Exception:
                self._failed(source)
                continue
            self._backoff.pop(source.name, None)
        return sleep_s

    def _step_one(self, source: DueWork) -> float:
        now = self.clock()
        upcoming = source.next_due()
        if upcoming is not None and upcoming <= now:
            if self._fire(source, now) >= source.batch:
                return 0.0  # a full batch: more may be due already
            upcoming = source.next_due()
        if upcoming is None:
            return self.poll_s
        return max(0.0, (upcoming - self.clock()).total_seconds())

    def _retrying(self, attempt: Callable[[], float]) -> float:
        """Run ``attempt`` until it succeeds or the scheduler stops; backoff between failures."""
        backoff_s = BACKOFF_MIN_S
        while not self._stopping.is_set():
            try:
                return attempt()
            except Exception:
                self.errors += 1
                # A connection the server dropped is replaced by the store itself.
                log.exception("scheduler: firing due work failed; retrying in %.1f s", backoff_s)
                self._stopping.wait(backoff_s)
                backoff_s = min(backoff_s * 2, BACKOFF_MAX_S)
        return 0.0
