"""One Earnest process (``earnest serve`` or ``earnest worker``): the scheduler in a thread,
an optional HTTP server in the main thread, both until SIGTERM or SIGINT. The caller builds
both from one application (``earnest.app.Earnest.scheduler``).

A signal only sets the stop event: the scheduler finishes the transaction in hand and exits,
then ``run_process`` returns, so the process exits with status 0 and nothing half-applied.
"""

from __future__ import annotations

import gc
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

from earnest.service.scheduler import Scheduler

HttpServer = Callable[[threading.Event], None]
"""Serves HTTP in the calling thread until the event is set, then returns."""

GC_THRESHOLD = 10_000  # allocations between young collections (CPython's default is 700)
_WAKE_S = 0.5  # the main thread wakes this often to notice a scheduler that died
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def tune_gc() -> None:
    """Collect garbage less often in a long-running process, and never scan what start-up
    left behind (modules, contracts, the app): a batch of 1,000 signals allocates far more
    than 700 objects, and each young collection re-scanned them for cycles they do not make
    (docs/benchmarks.md: about 10% of a settlement batch). Memory stays flat (benchmark B5)."""
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, 10, 10)


def run_process(
    scheduler: Scheduler,
    http: HttpServer | None = None,
    *,
    stop: threading.Event | None = None,
) -> None:
    """Run ``scheduler`` (and ``http``) until SIGTERM, SIGINT or ``stop`` is set."""
    stopping = stop if stop is not None else threading.Event()
    with _stop_on_signals(stopping):
        scheduler.start()
        try:
            if http is not None:
                http(stopping)
            else:
                while not stopping.wait(_WAKE_S):
                    if not scheduler.running:
                        raise RuntimeError("the scheduler thread ended unexpectedly")
        finally:
            stopping.set()
            scheduler.stop()


@contextmanager
def _stop_on_signals(stopping: threading.Event) -> Iterator[None]:
    """SIGTERM and SIGINT set ``stopping`` instead of interrupting whatever is running."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may install handlers; its owner handles signals
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    previous = {number: signal.signal(number, handler) for number in _STOP_SIGNALS}
    try:
        yield
    finally:
        for number, old in previous.items():
            signal.signal(number, old)
