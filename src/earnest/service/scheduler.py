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
        """Fire everything missed while down, each source oldest first, all at one ``now``."""
        now = self.clock()
        for source in self.sources:
            caught_up = drain(
                source, now, fire=self.writes, should_stop=self._stopping.is_set,
                fired=self._count,
            )  # fmt: skip
            if caught_up:
                log.info("scheduler: caught up %d missed %s", caught_up, source.name)
        return 0.0

    def _step(self) -> float:
        """Fire what is due now; how long to sleep before the next step. An idle step only
        reads when work is next due: the one writer lock is taken when something is."""
        sleep_s = self.poll_s
        for source in self.sources:
            now = self.clock()
            upcoming = source.next_due()
            if upcoming is not None and upcoming <= now:
                if self._fire(source, now) >= source.batch:
                    sleep_s = 0.0  # a full batch: more may be due already
                    continue
                upcoming = source.next_due()
            if upcoming is not None:
                until_s = (upcoming - self.clock()).total_seconds()
                sleep_s = min(sleep_s, max(0.0, until_s))
        return sleep_s

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
