"""``earnest audit verify``: prove the history and the activity log intact, and the ledger in
agreement with the history, or name the first bad entry.

Two hash chains, judged by the same rules. Each history row's hash covers the previous row's
hash (by global ``seq``) and the row's own canonical form (``seq | outcome_id | recorded_at |
kind | data``), and ``chain_head`` holds the tail; each activity entry's hash covers the
previous entry's and its columns (:func:`earnest.store.activity.activity_hash`), and
``activity_head`` holds that tail. The walk recomputes every row's hash from its stored columns
against the *stored* hash of the row before it, so an edit is pinned to the row that was edited:

- a hash that does not match its row: the row was edited (or rows were reordered: ``seq`` is
  part of what is hashed, so swapping two rows' content breaks the first of them);
- a gap in ``seq``: a row was removed;
- the head ahead of the last row, or naming another hash: rows were removed at the end.

Rows are read in ``seq`` order, a chunk per read transaction, so memory stays constant. The
head is read first: rows committed after it belong to later writes and are not judged.

The chain covers a charge or credit only through its history entry, so :func:`verify_ledger`
checks every ``ledger`` row against the entry that booked it (outcome, kind, amount, currency,
period, ledger id, and the customer the outcome was opened for), and every charge and credit
entry for its ledger row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from earnest.service.invoice_checks import FrozenReport, verify_frozen
from earnest.store import chains
from earnest.store.activity import activity_hash
from earnest.store.base import Database, Tx
from earnest.store.codec import entry_hash, loads, money_value

CHUNK = 5_000
Problem = Literal["edited", "removed", "truncated", "unrecorded"]
Scope = Literal["history", "activity", "ledger"]
_WHERE: dict[Scope, str] = {
    "history": "entry",
    "activity": "activity entry",
    "ledger": "ledger row",
}
_BOOKINGS = ("charge", "credit")
_LOWEST_ID = -(2**63)  # below every BIGINT ledger id


@dataclass(frozen=True, slots=True)
class BadEntry:
    seq: int  # the history or activity entry's seq; for the ledger, the ledger row's id
    problem: Problem
    detail: str
    outcome_id: int | None = None
    contract: str | None = None
    ref: str | None = None
    scope: Scope = "history"
    label: str | None = None  # an activity entry's action and subject

    def describe(self) -> str:
        where = f"{_WHERE[self.scope]} {self.seq}"
        if self.contract is not None and self.ref is not None:
            where += f" (outcome {self.contract}/{self.ref})"
        elif self.label is not None:
            where += f" ({self.label})"
        return f"{where} {self.problem}: {self.detail}"


@dataclass(frozen=True, slots=True)
class AuditReport:
    ok: bool
    checked: int  # entries whose hash was recomputed and matched; ledger rows that agreed
    first_bad: BadEntry | None = None
    scope: Scope = "history"

    def describe(self) -> str:
        unit = "ledger rows" if self.scope == "ledger" else "entries"
        if self.first_bad is None:
            if self.scope == "ledger":
                return f"ok: {self.checked} ledger rows, all agree with the history"
            return f"ok: {self.checked} entries, chain intact"
        return f"broken: {self.first_bad.describe()} ({self.checked} {unit} verified before it)"


@dataclass(frozen=True, slots=True)
class AuditSummary:
    """What ``earnest audit verify`` prints: one line per chain, ok only if both are."""

    history: AuditReport  # the history chain; when it is intact, the ledger checked against it
    activity: AuditReport
    invoices: FrozenReport  # every finalized invoice as it was frozen

    @property
    def ok(self) -> bool:
        return self.history.ok and self.activity.ok and self.invoices.ok

    def lines(self) -> list[str]:
        return [
            f"history: {self.history.describe()}",
            f"activity: {self.activity.describe()}",
            f"invoices: {self.invoices.describe()}",
        ]


def verify_all(db: Database, chunk: int = CHUNK) -> AuditSummary:
    """The history chain, then (when intact: the ledger is judged against trusted entries) the
    ledger; and the activity chain."""
    history = verify_chain(db, chunk)
    if history.ok:
        ledger = verify_ledger(db, chunk)
        if not ledger.ok:
            history = ledger
    return AuditSummary(history, verify_activity(db, chunk), verify_frozen(db))


# The two hash chains -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Chain:
    scope: Scope
    head_name: str
    head: Callable[[Tx], tuple[int, str]]  # the tail's seq and hash
    rows: Callable[[Tx, int, int, int], list[tuple[Any, ...]]]  # after < seq <= upto, LIMIT
    digest: Callable[[str, tuple[Any, ...]], str]  # a row's hash after the previous hash
    located: Callable[[Tx, tuple[Any, ...], BadEntry], BadEntry]  # name what an edit touched


def _history_digest(previous: str, row: tuple[Any, ...]) -> str:
    seq, outcome_id, recorded_at, kind, data, _ = row
    return entry_hash(previous, int(seq), int(outcome_id), int(recorded_at), kind=kind, data=data)


def _history_located(tx: Tx, row: tuple[Any, ...], bad: BadEntry) -> BadEntry:
    return _named(tx, BadEntry(bad.seq, bad.problem, bad.detail, int(row[1])))


def _activity_digest(previous: str, row: tuple[Any, ...]) -> str:
    seq, at, actor, action, subject, before, after, _ = row
    return activity_hash(
        previous,
        int(seq),
        int(at),
        actor=actor,
        action=action,
        subject=subject,
        before_text=before,
        after_text=after,
    )


def _activity_located(tx: Tx, row: tuple[Any, ...], bad: BadEntry) -> BadEntry:
    label = f"{row[3]} {row[4]}"
    return BadEntry(bad.seq, bad.problem, bad.detail, scope="activity", label=label)


_HISTORY = _Chain(
    "history",
    "chain head",
    chains.history_head,
    chains.history_between,
    _history_digest,
    _history_located,
)
_ACTIVITY = _Chain(
    "activity",
    "activity head",
    chains.activity_head,
    chains.activity_between,
    _activity_digest,
    _activity_located,
)


def verify_chain(db: Database, chunk: int = CHUNK) -> AuditReport:
    """Walk the whole history chain in ``seq`` order; stop at the first bad entry."""
    return _walk(db, _HISTORY, chunk)


def verify_activity(db: Database, chunk: int = CHUNK) -> AuditReport:
    """Walk the whole activity chain in ``seq`` order; stop at the first bad entry."""
    return _walk(db, _ACTIVITY, chunk)


def _walk(db: Database, chain: _Chain, chunk: int) -> AuditReport:
    assert chunk > 0
    with db.read() as tx:
        head_seq, head_hash = chain.head(tx)
    previous, last_seq, checked = "", 0, 0
    while last_seq < head_seq:
        with db.read() as tx:
            rows = chain.rows(tx, last_seq, head_seq, chunk)
            if not rows:
                break
            for row in rows:
                bad = _judge(chain, row, last_seq, previous)
                if bad is not None:
                    if bad.problem == "edited":
                        bad = chain.located(tx, row, bad)
                    return _broken(checked, bad)
                previous, last_seq = str(row[-1]), int(row[0])
                checked += 1
    if last_seq < head_seq:
        detail = f"the {chain.head_name} is at {head_seq} but the last entry is {last_seq}"
        return _broken(checked, BadEntry(last_seq + 1, "truncated", detail, scope=chain.scope))
    if previous != head_hash:
        detail = f"the {chain.head_name}'s hash does not match entry {last_seq}'s"
        return _broken(checked, BadEntry(last_seq, "truncated", detail, scope=chain.scope))
    return AuditReport(ok=True, checked=checked, scope=chain.scope)


def _judge(chain: _Chain, row: tuple[Any, ...], last_seq: int, previous: str) -> BadEntry | None:
    """What is wrong with ``row``, given the seq and stored hash of the row before it."""
    seq, stored = int(row[0]), row[-1]
    if seq != last_seq + 1:
        missing = last_seq + 1
        detail = f"entries {missing}..{seq - 1} are missing"
        if seq - 1 == missing:
            detail = f"entry {missing} is missing (entry {seq} follows {last_seq})"
        return BadEntry(missing, "removed", detail, scope=chain.scope)
    expected = chain.digest(previous, row)
    if expected == stored:
        return None
    detail = (
        f"stored hash {stored[:12]}… but its content hashes to {expected[:12]}… (edited,"
        " reordered, or the entry before it was rewritten)"
    )
    return BadEntry(seq, "edited", detail, scope=chain.scope)


def _broken(checked: int, bad: BadEntry) -> AuditReport:
    return AuditReport(ok=False, checked=checked, first_bad=bad, scope=bad.scope)


def _named(tx: Tx, bad: BadEntry) -> BadEntry:
    """Name the outcome, when its row still exists."""
    if bad.outcome_id is None:
        return bad
    found = chains.outcome_named(tx, bad.outcome_id)
    if found is None:
        return bad
    contract, ref = found
    return BadEntry(bad.seq, bad.problem, bad.detail, bad.outcome_id, contract, ref, bad.scope)


# The ledger against the history ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Booked:
    """A charge or credit history entry, as the ledger row it booked should read."""

    seq: int
    outcome_id: int
    kind: str
    data: Mapping[str, Any]


def verify_ledger(db: Database, chunk: int = CHUNK) -> AuditReport:
    """Every ledger row against the history entry that booked it (``history_seq``), then every
    charge and credit entry for its ledger row; stop at the first disagreement.

    Meaningful once :func:`verify_chain` has passed: the entries are then the trusted record.
    Each chunk's rows and entries are read in one snapshot, as they were committed together."""
    assert chunk > 0
    after, checked = _LOWEST_ID, 0
    while True:
        with db.read() as tx:
            rows = chains.ledger_after(tx, after, chunk)
            if not rows:
                break
            for index, bad in enumerate(_judge_ledger_rows(tx, rows)):
                if bad is not None:
                    return _broken(checked + index, _named(tx, bad))
        checked += len(rows)
        after = int(rows[-1][0])
    bad = _unbooked(db, chunk)
    if bad is not None:
        return _broken(checked, bad)
    return AuditReport(ok=True, checked=checked, scope="ledger")


def _judge_ledger_rows(tx: Tx, rows: list[tuple[Any, ...]]) -> list[BadEntry | None]:
    booked = {
        e.seq: e
        for e in (
            _Booked(int(seq), int(outcome_id), kind, loads(data))
            for seq, outcome_id, kind, data in chains.entries_at(tx, [int(row[7]) for row in rows])
        )
    }
    outcome_ids = {e.outcome_id for e in booked.values()} | {int(row[2]) for row in rows}
    customers = _opened_for(tx, outcome_ids)
    return [_judge_ledger_row(row, booked.get(int(row[7])), customers) for row in rows]


def _opened_for(tx: Tx, outcome_ids: set[int]) -> dict[int, Any]:
    """The customer each outcome was opened for, from its ``opened`` history entry."""
    customers: dict[int, Any] = {}
    for outcome_id, data in chains.opened_entries(tx, outcome_ids):
        customers.setdefault(int(outcome_id), loads(data).get("customer"))
    return customers


def _judge_ledger_row(
    row: tuple[Any, ...], entry: _Booked | None, customers: Mapping[int, Any]
) -> BadEntry | None:
    ident, outcome_id, history_seq = int(row[0]), int(row[2]), int(row[7])
    if entry is None or entry.kind not in _BOOKINGS:
        what = "does not exist" if entry is None else f"is a {entry.kind}, not a charge or credit"
        detail = f"its history entry {history_seq} {what}: no history records this row"
        return BadEntry(ident, "unrecorded", detail, outcome_id, scope="ledger")
    difference = _disagreement(row, entry, customers.get(entry.outcome_id))
    if difference is None:
        return None
    return BadEntry(ident, "edited", difference, entry.outcome_id, scope="ledger")


def _disagreement(row: tuple[Any, ...], entry: _Booked, opened_for: Any) -> str | None:
    """How a ledger row differs from the charge or credit entry that booked it, if it does."""
    ident, kind, outcome_id, customer, amount, currency, period_start, _, period_end, invoice = row
    ident, outcome_id = int(ident), int(outcome_id)
    data, said = entry.data, f"its {entry.kind} entry {entry.seq}"
    if data.get("ledger_id", ident) != ident:
        return f"{said} books ledger row {data['ledger_id']}"
    if outcome_id != entry.outcome_id:
        return f"it names outcome id {outcome_id}, {said} outcome id {entry.outcome_id}"
    if kind != entry.kind:
        return f"it is a {kind}, {said} is a {entry.kind}"
    if money_value(amount) != Decimal(data["amount"]):
        return f"its amount is {amount}, {said} says {data['amount']}"
    if currency != data["currency"]:
        return f"its currency is {currency}, {said} says {data['currency']}"
    # Entries written before they named their row's id and period (older stores) leave those
    # two unjudged; the chain proves such an entry was written so, not stripped later.
    period = data.get("period_start", data.get("period", period_start))
    if period_start != period:
        return f"it is in the period from {period_start}, {said} says from {period}"
    if period_end != data.get("period_end", period_end):
        return f"its period ends {period_end}, {said} says {data['period_end']}"
    if invoice != data.get("invoice", invoice):
        return f"it is on invoice {invoice}, {said} says {data['invoice']}"
    if customer != opened_for:
        return (
            f"it is booked to customer {customer!r}, but the outcome was opened for {opened_for!r}"
        )
    return None


def _unbooked(db: Database, chunk: int) -> BadEntry | None:
    """The first charge or credit entry whose ledger row is missing. (A row that exists is
    already known to agree with the entry: the walk over the rows checked it against the entry
    at its ``history_seq``, which names the row's id.) Entries written before they named their
    ledger row (no ``ledger_id``) are not judged."""
    last = 0
    while True:
        with db.read() as tx:
            entries = [
                _Booked(int(seq), int(outcome_id), kind, loads(data))
                for seq, outcome_id, kind, data in chains.bookings_after(tx, last, chunk)
            ]
            if not entries:
                return None
            named = [e for e in entries if "ledger_id" in e.data]
            found = chains.ledger_ids_present(tx, [int(e.data["ledger_id"]) for e in named])
            for e in named:
                ident = int(e.data["ledger_id"])
                if ident not in found:
                    detail = f"{e.kind} entry {e.seq} books it, but there is no such row"
                    return _named(
                        tx, BadEntry(ident, "removed", detail, e.outcome_id, scope="ledger")
                    )
        last = entries[-1].seq
