"""Outcome rows, the hash-chained history, signals and the ledger.

Callers hold a write transaction (:meth:`Database.write`) for every function that changes
anything; the chain head row is the serialisation point that orders ``seq``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from earnest.contract.condition import Verdict
from earnest.engine import Entry, Outcome, ReviewReason, Scheduled, State
from earnest.store.base import Tx
from earnest.store.codec import (
    dump_observed,
    dumps,
    entry_hash,
    from_us,
    load_observed,
    money_value,
    opt_time,
    opt_us,
    to_us,
)
from earnest.store.contracts import pinned

# The outcome row, declared once. Everything that maps an outcome to its row and back (the
# loads, inserts, updates below, and ``replay --verify``) derives from these names.
IDENTITY = ("contract", "ref", "contract_version", "customer", "opened_at")  # set at opening
MUTABLE = (
    "state", "scheduled", "review_reason", "active_until", "review_ends_at", "settled_at",
    "clock", "deadline", "observed", "last_verdict", "contested", "charged", "credited",
)  # fmt: skip
COLUMNS = ("id", *IDENTITY, *MUTABLE)
MONEY = frozenset({"charged", "credited"})
TIMES = frozenset(
    {"opened_at", "active_until", "review_ends_at", "settled_at", "clock", "deadline"}
)
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM outcomes"
# Outcome rows per INSERT: a few fixed sizes, so only a few statement texts exist (each
# connection keeps 128 prepared; one of 256 rows is 4,608 parameters, about 0.4 MB prepared).
_INSERT_SIZES = (256, 32, 4, 1)
_INSERT_ROW = "(" + ", ".join("?" * (len(IDENTITY) + len(MUTABLE))) + ")"


# Column text -> enum member, by dictionary (calling an Enum class is several times slower).
_STATES = {member.value: member for member in State}
_SCHEDULED: dict[str | None, Scheduled | None] = {None: None, **{m.value: m for m in Scheduled}}
_REASONS: dict[str | None, ReviewReason | None] = {None: None, **{m.value: m for m in ReviewReason}}
_VERDICTS: dict[str | None, Verdict | None] = {None: None, **{m.value: m for m in Verdict}}


@dataclass(slots=True)
class StoredOutcome:
    id: int
    outcome: Outcome


def _from_row(tx: Tx, row: Sequence[Any]) -> StoredOutcome:
    (
        ident,
        contract,
        ref,
        version,
        customer,
        opened_at,
        state,
        scheduled,
        review_reason,
        active_until,
        review_ends_at,
        settled_at,
        clock,
        _deadline,
        observed,
        last_verdict,
        contested,
        charged,
        credited,
    ) = row  # fmt: skip  (the order of COLUMNS)
    outcome = Outcome(
        contract=pinned(tx, contract, int(version)),
        contract_version=int(version),
        ref=ref,
        customer=customer,
        state=_STATES[state],
        opened_at=from_us(opened_at),
        active_until=from_us(active_until),
        clock=from_us(clock),
        scheduled=_SCHEDULED[scheduled],
        review_reason=_REASONS[review_reason],
        review_ends_at=opt_time(review_ends_at),
        settled_at=opt_time(settled_at),
        observed=load_observed(observed),
        last_verdict=_VERDICTS[last_verdict],
        contested=bool(contested),
        charged=money_value(charged),
        credited=money_value(credited) or Decimal(0),
    )
    return StoredOutcome(int(ident), outcome)


def load_by_keys(
    tx: Tx, keys: Iterable[tuple[str, str]], *, lock: bool = False
) -> dict[tuple[str, str], StoredOutcome]:
    """The stored outcomes for ``(contract, ref)`` keys; missing ones are left out.

    One ``contract = ? AND ref IN (…)`` query per contract and chunk, so each key is a lookup
    in the ``outcomes_identity`` index (a row-value ``IN (VALUES …)`` scans the whole index on
    SQLite)."""
    by_contract: dict[str, list[str]] = {}
    for contract, ref in dict.fromkeys(keys):
        by_contract.setdefault(contract, []).append(ref)
    suffix = tx.FOR_UPDATE if lock else ""
    found: dict[tuple[str, str], StoredOutcome] = {}
    for contract, refs in by_contract.items():
        rows = tx.query_in(
            _SELECT + " WHERE contract = ? AND ref IN {values}" + suffix, refs, before=[contract]
        )
        found.update(((contract, s.outcome.ref), s) for s in (_from_row(tx, r) for r in rows))
    return found


def load_by_ids(tx: Tx, ids: Sequence[int]) -> dict[int, StoredOutcome]:
    rows = tx.query_in(_SELECT + " WHERE id IN {values}", ids)
    return {stored.id: stored for stored in (_from_row(tx, row) for row in rows)}


def load_due(tx: Tx, now: datetime, limit: int) -> list[StoredOutcome]:
    """Up to ``limit`` outcomes whose deadline is due at ``now``, oldest deadline first.

    On PostgreSQL the rows are locked and rows another firer holds are skipped, so concurrent
    firers share the work and each deadline fires once."""
    return _load_where(
        tx,
        f"deadline IS NOT NULL AND deadline <= ? ORDER BY deadline, id LIMIT ?{tx.SKIP_LOCKED}",
        (to_us(now), limit),
    )


def _load_where(tx: Tx, condition: str, params: Sequence[Any]) -> list[StoredOutcome]:
    """The outcomes matching ``condition`` (SQL after ``WHERE``), in the order it gives."""
    rows = tx.query(f"{_SELECT} WHERE {condition}", params)
    return [_from_row(tx, row) for row in rows]


def load_one(tx: Tx, contract: str, ref: str, *, lock: bool = False) -> StoredOutcome | None:
    return load_by_keys(tx, [(contract, ref)], lock=lock).get((contract, ref))


def columns_of(outcome: Outcome) -> dict[str, Any]:
    """The outcome as its row's columns (times in µs, money as Decimal), except ``id``."""
    return {
        "contract": outcome.contract.key,
        "ref": outcome.ref,
        "contract_version": outcome.contract_version,
        "customer": outcome.customer,
        "opened_at": to_us(outcome.opened_at),
        "state": outcome.state.value,
        "scheduled": outcome.scheduled.value if outcome.scheduled else None,
        "review_reason": outcome.review_reason.value if outcome.review_reason else None,
        "active_until": to_us(outcome.active_until),
        "review_ends_at": opt_us(outcome.review_ends_at),
        "settled_at": opt_us(outcome.settled_at),
        "clock": to_us(outcome.clock),
        "deadline": opt_us(outcome.deadline),
        "observed": dump_observed(outcome.observed),
        "last_verdict": outcome.last_verdict.value if outcome.last_verdict else None,
        "contested": outcome.contested,
        "charged": outcome.charged,
        "credited": outcome.credited,
    }


def _columns(tx: Tx, outcome: Outcome) -> tuple[Any, ...]:
    """The values of :data:`MUTABLE`, as the database stores them. Written out rather than
    taken from :func:`columns_of`: this runs for every outcome a signal touches."""
    return (
        outcome.state.value,
        outcome.scheduled.value if outcome.scheduled else None,
        outcome.review_reason.value if outcome.review_reason else None,
        to_us(outcome.active_until),
        opt_us(outcome.review_ends_at),
        opt_us(outcome.settled_at),
        to_us(outcome.clock),
        opt_us(outcome.deadline),
        dump_observed(outcome.observed),
        outcome.last_verdict.value if outcome.last_verdict else None,
        outcome.contested,
        tx.money(outcome.charged),
        tx.money(outcome.credited),
    )


def insert_outcomes(tx: Tx, outcomes: Sequence[Outcome]) -> list[int]:
    """Insert new outcome rows, up to 256 per statement; their ids, in the given order.

    A multi-row ``INSERT … RETURNING`` is one statement for both databases; neither promises
    the order of the returned rows, so ids are matched back by ``(contract, ref)``."""
    ids: dict[tuple[str, str], int] = {}
    start = 0
    while start < len(outcomes):
        size = next(size for size in _INSERT_SIZES if size <= len(outcomes) - start)
        chunk = outcomes[start : start + size]
        start += size
        values = ", ".join([_INSERT_ROW] * size)
        params: list[Any] = []
        for outcome in chunk:
            params += (
                outcome.contract.key,
                outcome.ref,
                outcome.contract_version,
                outcome.customer,
                to_us(outcome.opened_at),
                *_columns(tx, outcome),
            )
        rows = tx.query(
            f"INSERT INTO outcomes ({', '.join((*IDENTITY, *MUTABLE))})"
            f" VALUES {values} RETURNING id, contract, ref",
            params,
        )
        ids.update(((contract, ref), int(ident)) for ident, contract, ref in rows)
    return [ids[(outcome.contract.key, outcome.ref)] for outcome in outcomes]


def update_outcomes(tx: Tx, outcomes: Sequence[StoredOutcome]) -> None:
    tx.update_rows("outcomes", MUTABLE, "id", [(*_columns(tx, s.outcome), s.id) for s in outcomes])


def append_history(tx: Tx, entries: Sequence[tuple[int, Entry]]) -> list[int]:
    """Append entries in order, extending the hash chain; returns their ``seq`` numbers."""
    if not entries:
        return []
    head = tx.one("SELECT seq, hash FROM chain_head WHERE id = 1")
    assert head is not None, "the chain head row is created by the first migration"
    seq, previous = int(head[0]), str(head[1])
    rows = []
    seqs = []
    for outcome_id, entry in entries:
        seq += 1
        recorded_at = to_us(entry.at)
        data = dumps(entry.data)
        previous = entry_hash(previous, seq, outcome_id, recorded_at, kind=entry.kind, data=data)
        rows.append((seq, outcome_id, recorded_at, entry.kind, data, previous))
        seqs.append(seq)
    tx.insert_rows("history", ("seq", "outcome_id", "recorded_at", "kind", "data", "hash"), rows)
    tx.execute("UPDATE chain_head SET seq = ?, hash = ? WHERE id = 1", (seq, previous))
    return seqs


#: Which filter's index a list walks, the first that applies: an open dispute and the states
#: an outcome soon leaves are rare values; a customer has fewer outcomes than a contract.
_RARE_STATES = frozenset({"open", "in_review"})


def _driver(filters: Mapping[str, Any]) -> str | None:
    if filters.get("contested") is True:
        return "contested"
    if filters.get("state") in _RARE_STATES:
        return "state"
    return next((name for name in ("customer", "contract", "state") if name in filters), None)


def list_ids(tx: Tx, filters: Mapping[str, Any], *, limit: int, before_id: int | None) -> list[int]:
    """Ids of outcomes matching ``filters`` (column = value, for contract, customer, state,
    contested), newest first, below ``before_id``.

    One filter's index is walked newest first (``outcomes_contested``, ``outcomes_state``,
    ``outcomes_customer``, ``outcomes_contract``, migration 0008) and the others are tested
    on its rows; they are written as ``column || ''`` so that SQLite, which keeps no
    statistics here, cannot pick an index of a common value instead (a contract holding
    most outcomes sorted whole to find a few in review)."""
    assert set(filters) <= {"contract", "customer", "state", "contested"}, filters
    driver = _driver(filters)
    clauses: list[str] = []
    params: list[Any] = []
    for name, value in filters.items():
        if name == "contested":  # the partial index's own predicate, as its WHERE says it
            clauses.append("contested" if value else "NOT contested")
            continue
        clauses.append(f"{name} = ?" if name == driver else f"{name} || '' = ?")
        params.append(value)
    if before_id is not None:
        clauses.append("id < ?")
        params.append(before_id)
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = tx.query(f"SELECT id FROM outcomes{where} ORDER BY id DESC LIMIT ?", [*params, limit])
    return [int(row[0]) for row in rows]


def history_rows(tx: Tx, outcome_id: int) -> list[tuple[int, int, str, str, str]]:
    """``(seq, recorded_at µs, kind, data, hash)`` of one outcome's history, in order."""
    rows = tx.query(
        "SELECT seq, recorded_at, kind, data, hash FROM history WHERE outcome_id = ? ORDER BY seq",
        (outcome_id,),
    )
    return [(int(s), int(r), str(k), str(d), str(h)) for s, r, k, d, h in rows]


def history_rows_after(
    tx: Tx, outcome_id: int, after_seq: int, limit: int
) -> list[tuple[int, int, str, str, str]]:
    """Up to ``limit`` rows of :func:`history_rows` with ``seq`` above ``after_seq``: one
    page of a long history, through the ``(outcome_id, seq)`` index."""
    rows = tx.query(
        "SELECT seq, recorded_at, kind, data, hash FROM history"
        " WHERE outcome_id = ? AND seq > ? ORDER BY seq LIMIT ?",
        (outcome_id, after_seq, limit),
    )
    return [(int(s), int(r), str(k), str(d), str(h)) for s, r, k, d, h in rows]


def identity(tx: Tx, contract: str, ref: str) -> tuple[int, int] | None:
    """``(id, contract_version)`` of outcome ``(contract, ref)``."""
    row = tx.one(
        "SELECT id, contract_version FROM outcomes WHERE contract = ? AND ref = ?",
        (contract, ref),
    )
    return None if row is None else (int(row[0]), int(row[1]))


def earliest_deadline(tx: Tx) -> datetime | None:
    """The earliest pending deadline of any outcome."""
    row = tx.one("SELECT MIN(deadline) FROM outcomes WHERE deadline IS NOT NULL")
    return from_us(int(row[0])) if row is not None and row[0] is not None else None


def rows_after(tx: Tx, columns: Sequence[str], after_id: int, limit: int) -> list[tuple[Any, ...]]:
    """The given columns of up to ``limit`` outcomes with id above ``after_id``, by id (the
    first column should be ``id``): a walk over every outcome, a chunk at a time."""
    assert set(columns) <= set(COLUMNS), columns
    return tx.query(
        f"SELECT {', '.join(columns)} FROM outcomes WHERE id > ? ORDER BY id LIMIT ?",
        (after_id, limit),
    )


def opened_between(
    tx: Tx, contract: str, since: datetime, until: datetime, *, after_ref: str, limit: int
) -> list[StoredOutcome]:
    """Up to ``limit`` outcomes of ``contract`` opened in ``[since, until)`` whose reference
    sorts after ``after_ref``, by reference: a walk over the contract's outcomes along the
    ``(contract, ref)`` index, a chunk at a time (each row is read once in all)."""
    return _load_where(
        tx,
        "contract = ? AND ref > ? AND opened_at >= ? AND opened_at < ? ORDER BY ref LIMIT ?",
        (contract, after_ref, to_us(since), to_us(until), limit),
    )


def history_of(tx: Tx, outcome_ids: Sequence[int]) -> dict[int, list[tuple[int, int, str, str]]]:
    """``(seq, recorded_at µs, kind, data)`` of each outcome's history, in order."""
    return _entries_of(tx, outcome_ids, "")


# The entries that can hold an outcome's input (earnest.service.recorded): signals, disputes,
# and transitions for a manual reason (found in the canonical JSON of ``codec.dumps``).
_INPUTS = (
    " AND (kind IN ('signal', 'dispute')"
    """ OR (kind = 'transition' AND data LIKE '%"reason":"manual_%'))"""
)


def input_entries_of(
    tx: Tx, outcome_ids: Sequence[int]
) -> dict[int, list[tuple[int, int, str, str]]]:
    """:func:`history_of`, only the entries that can hold an input: each signal, each
    dispute, and each manual settlement (not checks, charges, credits nor the engine's
    transitions, which a replay makes again)."""
    return _entries_of(tx, outcome_ids, _INPUTS)


def _entries_of(
    tx: Tx, outcome_ids: Sequence[int], only: str
) -> dict[int, list[tuple[int, int, str, str]]]:
    found: dict[int, list[tuple[int, int, str, str]]] = {}
    for outcome_id, seq, recorded_at, kind, data in tx.query_in(
        "SELECT outcome_id, seq, recorded_at, kind, data FROM history"
        f" WHERE outcome_id IN {{values}}{only} ORDER BY outcome_id, seq",
        outcome_ids,
    ):
        found.setdefault(int(outcome_id), []).append((int(seq), int(recorded_at), kind, data))
    return found
