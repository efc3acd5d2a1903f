"""``earnest replay --verify``: rebuild every outcome from its history and compare.

The engine is pure and time is an input, so an outcome's recorded history is enough to rebuild
it: ``Open`` at the ``opened`` entry's time (version and customer from that entry), each
``signal`` entry as a :class:`Signal` at its ``received_at``, each manual settlement as a
:class:`Settle` at its time, and a final :class:`DeadlineReached` at the last entry's time.
Checks, transitions, charges, credits and flags are the engine's own output and must come out
again exactly: the same kinds at the same times with the same canonical JSON. The rebuilt
outcome row and its ledger rows must match the stored ones.

The outcome's ``clock`` is not compared: after a deadline it holds the time the scheduler ran,
which is deliberately recorded nowhere (decisions never depend on scheduler lag).

Outcomes are read a chunk per read transaction (each outcome's row, history and ledger in the
same snapshot), so memory stays bounded whatever the size of the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import msgspec

from earnest.engine import (
    DeadlineReached,
    Entry,
    IllegalTransition,
    Open,
    Outcome,
    decide,
)
from earnest.service.invoice_checks import InvoiceDifference, rebuild_differences
from earnest.service.recorded import SYSTEM, recorded_inputs
from earnest.store import Database, Tx
from earnest.store.codec import dumps, from_us, loads, money_value, to_us
from earnest.store.contracts import contract_version
from earnest.store.ledger import (
    DAY_US,
    LedgerItem,
    day_counts,
    day_counts_of_ledger,
    entries_of,
)
from earnest.store.outcomes import COLUMNS, MONEY, TIMES, columns_of, history_of, rows_after
from earnest.timefmt import format_time

CHUNK = 200
MAX_DIFFERENCES = 1_000  # reported in full; beyond that only counted


@dataclass(frozen=True, slots=True)
class Difference:
    contract: str
    ref: str
    what: str
    stored: str
    rebuilt: str

    def describe(self) -> str:
        return (
            f"{self.contract}/{self.ref}: {self.what}: stored {self.stored}, rebuilt {self.rebuilt}"
        )


@dataclass(slots=True)
class ReplayReport:
    outcomes: int = 0
    entries: int = 0
    differing_outcomes: int = 0
    total_differences: int = 0
    differences: list[Difference] = field(default_factory=list)
    invoices: int = 0  # finalized invoices rebuilt from the ledger
    invoice_differences: list[InvoiceDifference] = field(default_factory=list)
    day_differences: list[str] = field(default_factory=list)  # the overview's daily counts

    @property
    def ok(self) -> bool:
        return (
            self.total_differences == 0
            and not self.invoice_differences
            and not self.day_differences
        )

    def describe(self) -> str:
        differing = len({d.invoice for d in self.invoice_differences})
        return (
            f"{self.outcomes} outcomes rebuilt from {self.entries} history entries:"
            f" {self.total_differences} differences in {self.differing_outcomes} outcomes;"
            f" {self.invoices} finalized invoices rebuilt from the ledger:"
            f" {len(self.invoice_differences)} differences in {differing} invoices;"
            f" daily booking counts: {len(self.day_differences)} differences"
        )


@dataclass(frozen=True, slots=True)
class _Stored:
    """One outcome as stored: its row (as columns), its history and its ledger rows."""

    id: int
    contract: str
    ref: str
    columns: dict[str, Any]
    history: list[tuple[int, int, str, str]]  # seq, recorded_at_us, kind, data
    ledger: list[LedgerItem]


# Every column of the outcome row but its identity, and ``clock``: after a deadline it holds
# the time the scheduler ran, which is deliberately recorded nowhere.
_COMPARED = tuple(c for c in COLUMNS if c not in ("id", "contract", "ref", "clock"))
_ROW = ("id", "contract", "ref", *_COMPARED)


def replay_verify(db: Database, chunk: int = CHUNK) -> ReplayReport:
    """Rebuild every outcome through the engine and report how it differs from the store."""
    assert chunk > 0
    report = ReplayReport()
    after = 0
    while True:
        with db.read() as tx:
            batch = _read_chunk(tx, after, chunk)
            for stored in batch:
                differences = _verify(tx, stored)
                report.outcomes += 1
                report.entries += len(stored.history)
                if differences:
                    report.differing_outcomes += 1
                    report.total_differences += len(differences)
                    room = MAX_DIFFERENCES - len(report.differences)
                    report.differences.extend(differences[: max(room, 0)])
        if not batch:
            break
        after = batch[-1].id
    for _, found in rebuild_differences(db):
        report.invoices += 1
        room = MAX_DIFFERENCES - len(report.invoice_differences)
        report.invoice_differences.extend(found[: max(room, 0)])
    report.day_differences = day_differences(db)[:MAX_DIFFERENCES]
    return report


def day_differences(db: Database) -> list[str]:
    """Where the daily booking counts the overview reads (``ledger_days``) disagree with the
    ledger they count."""
    with db.read() as tx:
        kept, counted = day_counts(tx), day_counts_of_ledger(tx)
    found = []
    for key in sorted({*kept, *counted}):
        if kept.get(key, 0) != counted.get(key, 0):
            day, currency, kind, amount = key
            moment = format_time(from_us(day * DAY_US))[:10]
            found.append(
                f"daily counts {moment} {currency} {kind} {amount}: stored"
                f" {kept.get(key, 0)}, the ledger holds {counted.get(key, 0)}"
            )
    return found


def _read_chunk(tx: Tx, after: int, chunk: int) -> list[_Stored]:
    rows = rows_after(tx, _ROW, after, chunk)
    if not rows:
        return []
    ids = [int(row[0]) for row in rows]
    history = history_of(tx, ids)
    ledger = entries_of(tx, ids)
    found = []
    for row in rows:
        ident = int(row[0])
        columns = dict(zip(_COMPARED, row[3:], strict=True))
        found.append(
            _Stored(ident, row[1], row[2], columns, history.get(ident, []), ledger.get(ident, []))
        )
    return found


# Rebuilding -----------------------------------------------------------------------------


@dataclass(slots=True)
class _Rebuilt:
    outcome: Outcome
    entries: list[Entry]


def _verify(tx: Tx, stored: _Stored) -> list[Difference]:
    def differ(what: str, was: object, now: object) -> Difference:
        return Difference(stored.contract, stored.ref, what, _shown(was), _shown(now))

    try:
        rebuilt = _rebuild(tx, stored)
    except (_Unreplayable, IllegalTransition, ValueError) as error:
        return [differ("replay failed", "a history", f"nothing ({error})")]
    differences = [
        differ(name, was, now)
        for name, was, now in _compare_columns(stored.columns, columns_of(rebuilt.outcome))
    ]
    entries = _booked(rebuilt.entries, stored)
    differences.extend(differ(*found) for found in _compare_history(stored, entries))
    # The ledger rows as the rebuilt history books them: each for the outcome's customer,
    # in the period its (hash-chained) history entry names. Decimals compare by value.
    customer = rebuilt.outcome.customer
    rebuilt_ledger = [
        (e.kind, Decimal(e.data["amount"]), str(e.data["currency"]), to_us(e.at), customer,
         e.data.get("period_start", e.data.get("period")), e.data.get("ledger_id"),
         e.data.get("invoice"))
        for e in entries
        if e.kind in ("charge", "credit")
    ]  # fmt: skip
    # Entries written before invoices (migration 0004) name no invoice: the migration put
    # their rows on one, which the entry cannot judge (``audit verify`` does the same).
    named = [entry[7] is not None for entry in rebuilt_ledger]
    stored_ledger = [
        (i.kind, i.amount, i.currency, to_us(i.booked_at), i.customer, i.period, i.id,
         i.invoice if index >= len(named) or named[index] else None)
        for index, i in enumerate(stored.ledger)
    ]  # fmt: skip
    if stored_ledger != rebuilt_ledger:
        differences.append(differ("ledger", stored_ledger, rebuilt_ledger))
    return differences


def _booked(entries: list[Entry], stored: _Stored) -> list[Entry]:
    """The rebuilt entries with what the store adds to each charge and credit when it books
    it (its ledger id and period), taken from the stored history entry at the same place:
    the engine cannot know them, and the comparison of entries checks the rest."""
    out = list(entries)
    for index, entry in enumerate(out):
        if entry.kind not in ("charge", "credit") or index >= len(stored.history):
            continue
        _, _, kind, text = stored.history[index]
        if kind != entry.kind:
            continue
        recorded = loads(text)
        added = {k: recorded[k] for k in _PLACED if k in recorded}
        out[index] = msgspec.structs.replace(entry, data={**entry.data, **added})
    return out


# What the store adds to a charge or credit entry when it books it (decision 0014, SPEC 6):
# the engine cannot know them.
_PLACED = ("ledger_id", "period", "period_start", "period_end", "invoice", "moved_from")


class _Unreplayable(ValueError):
    """The recorded history cannot be fed to the engine at all."""


def _rebuild(tx: Tx, stored: _Stored) -> _Rebuilt:
    if not stored.history or stored.history[0][2] != "opened":
        raise _Unreplayable("the history does not begin with an opened entry")
    _, opened_us, _, opened_text = stored.history[0]
    opened = loads(opened_text)
    version = int(opened["contract_version"])
    found = contract_version(tx, stored.contract, version)
    if found is None:
        raise _Unreplayable(f"contract {stored.contract!r} has no version {version}")
    start = Open(found.contract, version, stored.ref, str(opened["customer"]))
    decision = decide(None, start, from_us(opened_us))
    entries = list(decision.effects.entries)
    outcome = decision.outcome
    for event, at in recorded_inputs(stored.history[1:]):
        decision = decide(outcome, event, at)
        outcome = decision.outcome
        entries.extend(decision.effects.entries)
    final = decide(outcome, DeadlineReached(), from_us(stored.history[-1][1]))
    entries.extend(final.effects.entries)
    return _Rebuilt(final.outcome, entries)


# Comparing ------------------------------------------------------------------------------


def _compare_columns(
    stored: dict[str, Any], rebuilt: dict[str, Any]
) -> list[tuple[str, object, object]]:
    found: list[tuple[str, object, object]] = []
    for name in _COMPARED:
        was, now = stored[name], rebuilt[name]
        if name in TIMES:
            was, now = _time(None if was is None else int(was)), _time(now)
        elif name in MONEY:
            was = money_value(was)  # Decimals compare by value: 0.99 == 0.990000
        elif name == "contested":
            was = bool(was)
        elif name == "contract_version":
            was = int(was)
        if was != now:
            found.append((name, was, now))
    return found


def _compare_history(stored: _Stored, rebuilt: list[Entry]) -> list[tuple[str, object, object]]:
    """The first entry where stored and rebuilt history part ways (later ones follow from it)."""
    for index, (seq, recorded_at, kind, text) in enumerate(stored.history):
        if index >= len(rebuilt):
            return [(f"history entry {seq}", f"{kind} {text}", "no such entry")]
        entry = rebuilt[index]
        if kind == "flag" and _flag_became_dispute(loads(text), entry):
            continue
        was = (_time(recorded_at), kind, text)
        now = (_time(to_us(entry.at)), entry.kind, dumps(entry.data))
        if was != now:
            return [(f"history entry {seq}", " ".join(map(str, was)), " ".join(map(str, now)))]
    if len(rebuilt) > len(stored.history):
        extra = rebuilt[len(stored.history)]
        return [("history", "no further entry", f"{extra.kind} {dumps(extra.data)}")]
    return []


def _flag_became_dispute(flag: dict[str, Any], entry: Entry) -> bool:
    """A ``flag`` entry, written before disputes existed, stands for the ``dispute`` the
    engine now opens by ``system`` for the same late signal (SPEC 6: the dispute entry
    replaces the flag entry; histories are append-only, so old ones keep theirs)."""
    return (
        entry.kind == "dispute"
        and entry.data.get("action") == "opened"
        and entry.data.get("by") == SYSTEM
        and entry.data.get("signal") == flag.get("signal")
    )


def _time(micros: int | None) -> str | None:
    return None if micros is None else format_time(from_us(micros))


def _shown(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, str):
        return value
    return repr(value)
