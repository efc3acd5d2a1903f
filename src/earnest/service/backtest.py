"""The backtest of a proposed contract against the store's recorded history (SPEC section 2).

Everything is read in one read transaction, so the whole report describes one consistent
snapshot (a WAL reader on SQLite, ``REPEATABLE READ READ ONLY`` on PostgreSQL) and nothing
committed meanwhile half-appears in it; ingest goes on, since neither database makes a writer
wait for a reader. Outcomes are read a chunk at a time (the outcome rows, then their signal,
dispute and transition entries) and handed to the pure :func:`earnest.backtest.backtest`, so
memory stays flat whatever the size of the history. ``should_stop`` is asked before each
chunk: a cancelled backtest raises :class:`BacktestCancelled`. Nothing is written.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from earnest.backtest import BacktestReport, ByHand, Recorded, backtest
from earnest.contract import Contract, contract_fingerprint
from earnest.engine import OpenDispute, Settle, Signal
from earnest.errors import Invalid, Unavailable
from earnest.rules import UnknownContract
from earnest.service.recorded import recorded_inputs
from earnest.store import Tx
from earnest.store.contracts import latest_contract, version_with
from earnest.store.outcomes import StoredOutcome, input_entries_of, opened_between
from earnest.timefmt import format_time, parse_time

CHUNK = 500  # outcomes per chunk
DEFAULT_RANGE = timedelta(days=30)
NICE_ENV = "EARNEST_BACKTEST_NICE"
NICE = 10  # the niceness a backtest's process runs at (benchmark B9i: ingest keeps its pace)


class BacktestCancelled(Unavailable):
    code = "backtest_cancelled"

    def __init__(self) -> None:
        super().__init__("the backtest was cancelled before it finished")


def lower_priority() -> int:
    """Run this process (a backtest's own) at niceness ``EARNEST_BACKTEST_NICE`` (default
    10; 0 leaves it as it is), so that on a busy machine ingest and the scheduler get the CPU
    first and the backtest takes what is left (docs/decisions/0019). The niceness now."""
    wanted = os.environ.get(NICE_ENV, str(NICE))
    target = int(wanted) if wanted.strip().isdigit() else NICE
    current = os.nice(0)
    if target > current:
        with contextlib.suppress(OSError):
            current = os.nice(target - current)
    return current


def parse_bound(text: str | None, field: str) -> datetime | None:
    """``since`` or ``until`` as given (RFC 3339), or None; 422 ``invalid_time`` naming it."""
    if text is None:
        return None
    try:
        return parse_time(text)
    except ValueError as error:
        raise Invalid(str(error), code="invalid_time", field=field) from None


def time_range(
    since: datetime | None, until: datetime | None, now: datetime
) -> tuple[datetime, datetime]:
    """``[since, until)`` with the defaults filled in: until now, since 30 days before
    ``until``. ``since`` after ``until`` is refused, naming ``since``."""
    end = now if until is None else until
    start = end - DEFAULT_RANGE if since is None else since
    if start > end:
        raise Invalid(
            f"since ({format_time(start)}) is after until ({format_time(end)})",
            code="invalid_range",
            field="since",
        )
    return start, end


def run_backtest(
    tx: Tx,
    contract: Contract,
    since: datetime | None,
    until: datetime | None,
    clock: Callable[[], datetime],
    *,
    should_stop: Callable[[], bool] = lambda: False,
    chunk: int = CHUNK,
) -> BacktestReport:
    """The backtest of ``contract`` in the read transaction ``tx``; raises
    :class:`~earnest.rules.UnknownContract` when no contract has its key."""
    assert chunk > 0
    latest = latest_contract(tx, contract.key)
    if latest is None:
        raise UnknownContract(contract.key, field="key")
    # The clock is read once the snapshot is taken (SQLite's begins at the first read), so
    # every signal in it was received by ``now``.
    now = clock()
    start, end = time_range(since, until, now)
    version = _version_of(tx, contract, latest.version)
    chunks = _chunks(tx, contract.key, start, end, size=chunk, should_stop=should_stop)
    report = backtest(contract, chunks, now, version=version)
    report.since, report.until = start, end
    return report


def _version_of(tx: Tx, contract: Contract, latest: int) -> int:
    """The number of the stored version with the proposal's content, or the number saving
    it would give."""
    found = version_with(tx, contract.key, contract_fingerprint(contract))
    return latest + 1 if found is None else found


def _chunks(
    tx: Tx,
    key: str,
    since: datetime,
    until: datetime,
    *,
    size: int,
    should_stop: Callable[[], bool],
) -> Iterator[list[Recorded]]:
    after = ""
    while True:
        if should_stop():
            raise BacktestCancelled()
        found = opened_between(tx, key, since, until, after_ref=after, limit=size)
        if not found:
            return
        history = input_entries_of(tx, [stored.id for stored in found])
        yield [_recorded(stored, history.get(stored.id, [])) for stored in found]
        after = found[-1].outcome.ref


def _recorded(stored: StoredOutcome, history: list[tuple[int, int, str, str]]) -> Recorded:
    signals: list[tuple[Signal, datetime]] = []
    by_hand = None
    disputes = 0
    for event, at in recorded_inputs(history):
        if isinstance(event, Signal):
            signals.append((event, at))
        elif isinstance(event, Settle):
            by_hand = ByHand(event.decision, at, event.by, event.reason)
        elif isinstance(event, OpenDispute):
            disputes += 1
    outcome = stored.outcome
    return Recorded(
        outcome.ref, outcome.customer, outcome.opened_at, signals, outcome, by_hand, disputes
    )
