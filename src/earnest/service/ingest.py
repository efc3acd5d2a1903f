"""Ingest: signals in, decisions durably recorded (SPEC section 5).

A batch is validated item by item without touching the database; then one write transaction
reads everything the valid items need in bulk (idempotency keys, contracts, outcomes), runs
each through ``decide()`` in order, writes all effects in bulk, and commits once. An item that
is refused stores nothing and does not block the others. A 2xx means that commit happened.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import Literal

from earnest.engine import Open, Outcome, Signal, decide
from earnest.service.recorder import Recorder
from earnest.signals import InvalidSignal, SignalIn, validate_signal
from earnest.store.contracts import StoredContract, UnknownContract, latest_contract
from earnest.store.db import Database, Tx
from earnest.store.outcomes import StoredOutcome, load_by_keys, load_one

MAX_BATCH = 10_000


@dataclass(frozen=True, slots=True)
class Problem:
    """A refusal, as the API reports it: HTTP status, stable code, message and field."""

    status: int
    code: str
    message: str
    field: str | None = None


@dataclass(frozen=True, slots=True)
class Result:
    index: int
    status: Literal["accepted", "duplicate", "rejected"]
    signal: SignalIn | None = None
    outcome: Outcome | None = None
    error: Problem | None = None


def ingest(
    db: Database, items: Sequence[object], now: datetime | Sequence[datetime]
) -> list[Result]:
    """Apply signals in order; one commit for the whole batch.

    ``now`` is the engine time, the time the signals were received: one for a batch, which
    arrives whole, or one per item, never decreasing (single signals committed together, each
    received at its own time: decision 0010)."""
    if len(items) > MAX_BATCH:
        raise ValueError(f"a batch holds at most {MAX_BATCH} signals, got {len(items)}")
    times = [now] * len(items) if isinstance(now, datetime) else list(now)
    if len(times) != len(items) or any(a > b for a, b in pairwise(times)):
        raise ValueError("give one engine time per item, never decreasing")
    results: list[Result | None] = [None] * len(items)
    valid: list[tuple[int, SignalIn, datetime]] = []
    for index, raw in enumerate(items):
        try:
            valid.append((index, validate_signal(raw, received_at=times[index]), times[index]))
        except InvalidSignal as error:
            results[index] = Result(index, "rejected", error=invalid_signal(error))
    if valid:
        with db.write() as tx:
            for result in _apply(tx, valid):
                results[result.index] = result
    assert all(r is not None for r in results)
    return [r for r in results if r is not None]


def invalid_signal(error: InvalidSignal) -> Problem:
    return Problem(422, error.code, error.message, error.field or None)


def _apply(tx: Tx, valid: list[tuple[int, SignalIn, datetime]]) -> list[Result]:
    known_ids = _known_ids(tx, [s.id for _, s, _ in valid if s.id is not None])
    contracts: dict[str, StoredContract | None] = {}
    for contract_key in {s.contract for _, s, _ in valid}:
        try:
            contracts[contract_key] = latest_contract(tx, contract_key)
        except UnknownContract:
            contracts[contract_key] = None
    outcomes = load_by_keys(tx, [(s.contract, s.outcome) for _, s, _ in valid], lock=True)
    recorder = Recorder()
    results: list[Result] = []
    for index, signal, now in valid:
        fingerprint = signal.fingerprint()
        key = (signal.contract, signal.outcome)
        if signal.id is not None and signal.id in known_ids:
            seen_fingerprint, seen_key = known_ids[signal.id]
            if seen_fingerprint != fingerprint:
                results.append(Result(index, "rejected", error=_conflict(signal.id)))
                continue
            seen = outcomes.get(seen_key) or _load(tx, seen_key, outcomes)
            results.append(Result(index, "duplicate", signal, seen.outcome if seen else None))
            continue
        stored = outcomes.get(key)
        if stored is None:
            problem = refuse_opening(signal, contracts.get(signal.contract))
            if problem is not None:
                results.append(Result(index, "rejected", error=problem))
                continue
            entry = contracts[signal.contract]
            assert entry is not None
            stored = open_new(entry, signal, now, recorder)
            outcomes[key] = stored
        elif signal.customer is not None and signal.customer != stored.outcome.customer:
            results.append(
                Result(index, "rejected", error=customer_mismatch(signal, stored.outcome))
            )
            continue
        event = Signal(signal.signal, signal.value, signal.occurred_at(now), signal.id, signal.data)
        decision = decide(stored.outcome, event, now)
        recorder.record_signal(stored, decision, signal.id, fingerprint, now)
        if signal.id is not None:
            known_ids[signal.id] = (fingerprint, key)
        results.append(Result(index, "accepted", signal, decision.outcome))
    recorder.flush(tx)
    return results


def open_new(
    entry: StoredContract, signal: SignalIn, now: datetime, recorder: Recorder
) -> StoredOutcome:
    """Open ``(signal.contract, signal.outcome)`` for ``signal.customer`` at ``now``, pinned to
    ``entry``'s version: its ``opened`` decision goes to ``recorder``, which stores the outcome
    (and the customer, on first mention) when it flushes. The caller has checked
    :func:`refuse_opening` first."""
    customer = signal.customer
    assert customer is not None
    opening = decide(None, Open(entry.contract, entry.version, signal.outcome, customer), now)
    return recorder.open(opening)


def _known_ids(tx: Tx, ids: list[str]) -> dict[str, tuple[str, tuple[str, str]]]:
    rows = tx.query_in(
        "SELECT s.id, s.fingerprint, o.contract, o.ref FROM signals s"
        " JOIN outcomes o ON o.id = s.outcome_id WHERE s.id IN {values}",
        ids,
    )
    return {ident: (fingerprint, (contract, ref)) for ident, fingerprint, contract, ref in rows}


def _load(
    tx: Tx, key: tuple[str, str], outcomes: dict[tuple[str, str], StoredOutcome]
) -> StoredOutcome | None:
    found = load_one(tx, *key)
    if found is not None:
        outcomes[key] = found
    return found


def refuse_opening(signal: SignalIn, contract: StoredContract | None) -> Problem | None:
    if contract is None:
        return Problem(
            404, "unknown_contract", f"no contract with key {signal.contract!r}", "contract"
        )
    if contract.archived:
        return Problem(
            409,
            "contract_archived",
            f"contract {signal.contract!r} is archived: it opens no new outcomes",
            "contract",
        )
    if signal.customer is None:
        return Problem(
            422,
            "customer_required",
            f"outcome {signal.outcome!r} is not open yet: the signal that opens it needs a"
            " customer",
            "customer",
        )
    return None


def _conflict(ident: str) -> Problem:
    return Problem(
        409,
        "idempotency_conflict",
        f"signal id {ident!r} was already used for a different signal",
        "id",
    )


def customer_mismatch(signal: SignalIn, outcome: Outcome) -> Problem:
    return Problem(
        409,
        "customer_mismatch",
        f"outcome {signal.outcome!r} belongs to customer {outcome.customer!r},"
        f" not {signal.customer!r}",
        "customer",
    )
