"""The scheduler: fires due deadlines, so that under normal load each settles within a second.

On start it catches up: every deadline that passed while no scheduler ran fires in deadline
order, batch after batch. The engine stamps each transition with its own deadline, never with
the time the scheduler ran, so downtime and lag never change a decision (SPEC section 4).
Then it loops: fire what is due, sleep until the next deadline but at most ``poll_s``.

Several schedulers may poll one PostgreSQL database: :func:`fire_due` re-reads each outcome in
its own write transaction, so every deadline fires once. A failing database is logged and
retried with a growing backoff; the loop never ends except through :meth:`Scheduler.stop`.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from earnest.service.deadlines import BATCH, catch_up, fire_due, next_deadline
from earnest.store.db import Database, redact

Clock = Callable[[], datetime]

POLL_S = 0.2  # the longest sleep between polls: a deadline settles well within 1 s
BACKOFF_MIN_S = 0.1
BACKOFF_MAX_S = 5.0
STOP_TIMEOUT_S = 30.0  # a transaction in hand longer than this is a stuck database

log = logging.getLogger("earnest.scheduler")


def utc_now() -> datetime:
    return datetime.now(UTC)


class Scheduler:
    """Fires due deadlines until :meth:`stop`; :meth:`start` runs it in its own thread.

    ``clock`` is the engine's time source (a fake one in tests); ``fired`` counts the deadlines
    this scheduler fired and ``errors`` the failed attempts it retried.
    """

    def __init__(
        self,
        db: Database,
        *,
        clock: Clock = utc_now,
        poll_s: float = POLL_S,
        batch: int = BATCH,
    ) -> None:
        assert 0 < poll_s <= 1, "a deadline must settle within 1 s, so poll at least each second"
        assert batch > 0
        self.db = db
        self.clock = clock
        self.poll_s = poll_s
        self.batch = batch
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
        """Catch up, then fire due deadlines until :meth:`stop` (blocking: a thread's body)."""
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
        log.info("scheduler: stopped after firing %d deadlines", self.fired)

    def _catch_up(self) -> float:
        """Fire every deadline missed while down, oldest first, all at one ``now``."""
        caught_up = catch_up(
            self.db,
            self.clock(),
            limit=self.batch,
            should_stop=self._stopping.is_set,
            fired=self._count,
        )
        if caught_up:
            log.info("scheduler: caught up %d missed deadlines", caught_up)
        return 0.0

    def _step(self) -> float:
        """Fire what is due now; how long to sleep before the next step. An idle step only
        reads the next deadline: the one writer lock is taken when something is due."""
        now = self.clock()
        upcoming = next_deadline(self.db)
        if upcoming is not None and upcoming <= now:
            fired = fire_due(self.db, now, self.batch)
            self.fired += fired
            if fired >= self.batch:
                return 0.0  # a full batch: more may be due already
            upcoming = next_deadline(self.db)
        if upcoming is None:
            return self.poll_s
        until_s = (upcoming - self.clock()).total_seconds()
        return min(self.poll_s, max(0.0, until_s))

    def _count(self, fired: int) -> None:
        self.fired += fired

    def _retrying(self, attempt: Callable[[], float]) -> float:
        """Run ``attempt`` until it succeeds or the scheduler stops; backoff between failures."""
        backoff_s = BACKOFF_MIN_S
        while not self._stopping.is_set():
            try:
                return attempt()
            except Exception:
                self.errors += 1
                log.exception("scheduler: firing deadlines failed; retrying in %.1f s", backoff_s)
                with contextlib.suppress(Exception):
                    self.db.close()  # a broken connection is replaced on the next attempt
                self._stopping.wait(backoff_s)
                backoff_s = min(backoff_s * 2, BACKOFF_MAX_S)
        return 0.0
