"""Ingest: signals in, decisions durably recorded (SPEC section 5).

A batch is validated item by item without touching the database; then one write transaction
reads everything the valid items need in bulk (idempotency keys, contracts, outcomes), runs
each through the admission rules (:mod:`earnest.rules`) and ``decide()`` in order, writes all
effects in bulk, and commits once. An item that is refused stores nothing and does not block
the others. A 2xx means that commit happened.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import Literal

from earnest.engine import Open, Outcome, Signal, decide
from earnest.errors import EarnestError, Invalid
from earnest.rules import refuse_customer, refuse_opening, reused_id
from earnest.service.recorder import Recorder
from earnest.signals import InvalidSignal, SignalIn, validate_signal
from earnest.store import Database, Tx
from earnest.store.contracts import StoredContract, latest_contracts
from earnest.store.outcomes import StoredOutcome, load_by_keys, load_one
from earnest.store.signals import known_ids

MAX_BATCH = 10_000


class BatchTooLarge(Invalid):
    code = "batch_too_large"

    def __init__(self, count: int) -> None:
        super().__init__(
            f"a batch holds at most {MAX_BATCH} signals; this one has {count}", field="signals"
        )


Status = Literal["accepted", "duplicate", "rejected"]
Warnings = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Result:
    index: int
    status: Status
    signal: SignalIn | None = None
    outcome: Outcome | None = None
    error: EarnestError | None = None
    warnings: tuple[str, ...] = ()
    outcome_id: int | None = None  # the stored outcome's row id


def ingest(
    db: Database, items: Sequence[object], now: datetime | Sequence[datetime]
) -> list[Result]:
    """Apply signals in order; one commit for the whole batch.

    ``now`` is the engine time, the time the signals were received: one for a batch, which
    arrives whole, or one per item, never decreasing (single signals committed together, each
    received at its own time: decision 0010)."""
    if len(items) > MAX_BATCH:
        raise BatchTooLarge(len(items))
    times = [now] * len(items) if isinstance(now, datetime) else list(now)
    if len(times) != len(items) or any(a > b for a, b in pairwise(times)):
        raise ValueError("give one engine time per item, never decreasing")
    results: list[Result | None] = [None] * len(items)
    valid: list[tuple[int, SignalIn, datetime]] = []
    for index, raw in enumerate(items):
        try:
            valid.append((index, validate_signal(raw, received_at=times[index]), times[index]))
        except InvalidSignal as error:
            results[index] = Result(index, "rejected", error=error)
    if valid:
        with db.write() as tx:
            for result in _apply(tx, valid):
                results[result.index] = result
    assert all(r is not None for r in results)
    return [r for r in results if r is not None]


def _apply(tx: Tx, valid: list[tuple[int, SignalIn, datetime]]) -> list[Result]:
    known = known_ids(tx, [s.id for _, s, _ in valid if s.id is not None])
    contracts = latest_contracts(tx, {s.contract for _, s, _ in valid})
    outcomes = load_by_keys(tx, [(s.contract, s.outcome) for _, s, _ in valid], lock=True)
    recorder = Recorder()
    results: list[Result] = []
    # Accepted and duplicate results wait for the flush, which gives new outcomes their ids.
    found: list[tuple[int, Status, SignalIn, Outcome | None, StoredOutcome | None, Warnings]]
    found = []
    for index, signal, now in valid:
        fingerprint = signal.fingerprint()
        key = (signal.contract, signal.outcome)
        if signal.id is not None and signal.id in known:
            seen_fingerprint, seen_key = known[signal.id]
            reuse = reused_id(signal.id, fingerprint, seen_fingerprint)
            if reuse != "duplicate":
                results.append(Result(index, "rejected", error=reuse))
                continue
            seen = outcomes.get(seen_key) or _load(tx, seen_key, outcomes)
            found.append((index, "duplicate", signal, seen.outcome if seen else None, seen, ()))
            continue
        stored = outcomes.get(key)
        if stored is None:
            entry = contracts.get(signal.contract)
            archived = None if entry is None else entry.archived
            refused = refuse_opening(signal.contract, signal.outcome, signal.customer, archived)
            if refused is not None:
                results.append(Result(index, "rejected", error=refused))
                continue
            assert entry is not None
            stored = open_new(entry, signal, now, recorder)
            outcomes[key] = stored
        else:
            mismatch = refuse_customer(signal.outcome, stored.outcome.customer, signal.customer)
            if mismatch is not None:
                results.append(Result(index, "rejected", error=mismatch))
                continue
        event = Signal(signal.signal, signal.value, signal.occurred_at(now), signal.id, signal.data)
        decision = decide(stored.outcome, event, now)
        recorder.record_signal(stored, decision, signal.id, fingerprint, now)
        if signal.id is not None:
            known[signal.id] = (fingerprint, key)
        warnings = unused_name(signal.signal, decision.outcome)
        found.append((index, "accepted", signal, decision.outcome, stored, warnings))
    recorder.flush(tx)
    results += [
        Result(index, status, signal, outcome, None, warnings, None if at is None else at.id)
        for index, status, signal, outcome, at, warnings in found
    ]
    return results


def unused_name(name: str, outcome: Outcome) -> tuple[str, ...]:
    """A signal no condition of the contract reads is kept (a fact for the audit trail), but
    is likely a typo (``mergd`` for ``merged``): say so."""
    condition = outcome.contract.condition
    if name in condition.names:
        return ()
    known = ", ".join(sorted(condition.names)) or "none"
    return (
        f"signal {name!r} appears in no condition of contract {outcome.contract.key!r}"
        f" (its names: {known}); it is recorded but cannot change the decision",
    )


def open_new(
    entry: StoredContract, signal: SignalIn, now: datetime, recorder: Recorder
) -> StoredOutcome:
    """Open ``(signal.contract, signal.outcome)`` for ``signal.customer`` at ``now``, pinned to
    ``entry``'s version: its ``opened`` decision goes to ``recorder``, which stores the outcome
    (and the customer, on first mention) when it flushes. The caller has asked
    :func:`earnest.rules.refuse_opening` first."""
    customer = signal.customer
    assert customer is not None
    opening = decide(None, Open(entry.contract, entry.version, signal.outcome, customer), now)
    return recorder.open(opening)


def _load(
    tx: Tx, key: tuple[str, str], outcomes: dict[tuple[str, str], StoredOutcome]
) -> StoredOutcome | None:
    found = load_one(tx, *key)
    if found is not None:
        outcomes[key] = found
    return found
