"""Work that comes due at known times (outcome deadlines today; period closing and webhook
retries next), as the scheduler sees it, and how a backlog of it is worked off."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol


class DueWork(Protocol):
    """One kind of work that comes due at known times."""

    name: str
    batch: int  # the most :meth:`fire_due` does in one call (one transaction)

    def next_due(self) -> datetime | None:
        """When the earliest pending work is due (None: nothing pending). A read only."""

    def fire_due(self, now: datetime) -> int:
        """Do up to ``batch`` pieces of work due at ``now``, oldest first, in one write
        transaction; how many were done."""


def drain(
    source: DueWork,
    now: datetime,
    *,
    fire: Callable[[Callable[[], int]], int] = lambda job: job(),
    should_stop: Callable[[], bool] = lambda: False,
    fired: Callable[[int], None] = lambda count: None,
) -> int:
    """Do everything of ``source`` due at ``now``, oldest first, batch after batch; how much.

    ``fire`` runs each batch's write job (directly, or on the process's writer thread);
    ``should_stop`` is asked before each batch; ``fired`` hears each committed batch's count,
    so a counter stays exact even if a later batch fails."""
    total = 0
    while not should_stop():
        count = fire(lambda: source.fire_due(now))
        fired(count)
        total += count
        if count < source.batch:
            break  # a short batch: nothing more was due (each batch takes all due at ``now``)
    return total
