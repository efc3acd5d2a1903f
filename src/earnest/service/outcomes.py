"""Outcomes as their users see them: open one by hand, settle one by hand, read one with its
ledger entries, list them, read their history (SPEC sections 4, 7 and 8)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from earnest.clock import Clock
from earnest.engine import IllegalTransition, Outcome, Scheduled, Settle, decide
from earnest.rules import AlreadySettled, UnknownOutcome, refuse_customer, refuse_opening
from earnest.service.history import HistoryEntry, explained, read_history
from earnest.service.ingest import open_new
from earnest.service.pages import Page, check_limit
from earnest.service.recorder import Recorder
from earnest.signals import SignalIn
from earnest.store import Database
from earnest.store.contracts import latest_contract
from earnest.store.disputes import Dispute, disputes_of
from earnest.store.ledger import LedgerItem, entries_of
from earnest.store.outcomes import history_rows_after, list_ids, load_by_ids, load_one

__all__ = ["LedgerItem", "OutcomeDetail", "OutcomeView", "Outcomes"]

TIMELINE_PAGE = 200  # history entries per page of an outcome's timeline
MAX_DISPUTES = 20  # an outcome's latest disputes shown beside it (one open at a time)


@dataclass(frozen=True, slots=True)
class OutcomeView:
    """An outcome with its ledger entries: its charge, if confirmed, and any credits."""

    outcome: Outcome
    ledger: tuple[LedgerItem, ...] = ()

    @property
    def charge(self) -> LedgerItem | None:
        return next((item for item in self.ledger if item.kind == "charge"), None)

    @property
    def credits(self) -> tuple[LedgerItem, ...]:
        return tuple(item for item in self.ledger if item.kind == "credit")

    @property
    def net(self) -> Decimal | None:
        """What stays billed: the charge less its credits (None when nothing was charged)."""
        charge = self.charge
        if charge is None:
            return None
        return charge.amount - sum((c.amount for c in self.credits), start=Decimal(0))


@dataclass(frozen=True, slots=True)
class OutcomeDetail:
    """One outcome as its page shows it, read in one transaction: the outcome and its ledger
    entries, a page of its history (each check explained) and its latest disputes.
    ``later`` is the ``seq`` to read on from when more history follows, else None."""

    view: OutcomeView
    entries: tuple[HistoryEntry, ...]
    later: int | None
    disputes: tuple[Dispute, ...]


class Outcomes:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def open(self, signal: SignalIn, received_at: datetime | None = None) -> tuple[Outcome, bool]:
        """Begin tracking ``(signal.contract, signal.outcome)`` for ``signal.customer``, at
        ``received_at`` (the request's arrival; default now): ``(outcome, opened)``,
        ``opened`` false when it was open already. The rules are ingest's own
        (:mod:`earnest.rules`); a refusal stores nothing."""
        now = received_at or self.clock()
        with self.db.write() as tx:
            found = load_one(tx, signal.contract, signal.outcome, lock=True)
            if found is not None:
                mismatch = refuse_customer(signal.outcome, found.outcome.customer, signal.customer)
                if mismatch is not None:
                    raise mismatch
                return found.outcome, False
            entry = latest_contract(tx, signal.contract)
            archived = None if entry is None else entry.archived
            refused = refuse_opening(signal.contract, signal.outcome, signal.customer, archived)
            if refused is not None:
                raise refused
            assert entry is not None
            recorder = Recorder()
            stored = open_new(entry, signal, now, recorder)
            recorder.flush(tx)
            return stored.outcome, True

    def settle(
        self,
        contract: str,
        ref: str,
        decision: Scheduled,
        reason: str,
        *,
        actor: str,
        at: datetime | None = None,
    ) -> OutcomeView:
        """Settle ``(contract, ref)`` by hand at ``at`` (the request's arrival; default now);
        the actor is recorded in its history. The engine never runs an outcome's time
        backwards, so a request queued behind later work settles at that work's time."""
        now = at or self.clock()
        with self.db.write() as tx:
            found = load_one(tx, contract, ref, lock=True)
            if found is None:
                raise UnknownOutcome(contract, ref)
            try:
                decided = decide(found.outcome, Settle(decision, reason, by=actor), now)
            except IllegalTransition as refused:  # settled, perhaps by deadlines due by now
                raise AlreadySettled(ref, refused.state.value) from None
            recorder = Recorder()
            recorder.record(found, decided)
            recorder.flush(tx)
            ledger = entries_of(tx, [found.id]).get(found.id, [])
        return OutcomeView(decided.outcome, tuple(ledger))

    def get(self, contract: str, ref: str) -> OutcomeView:
        with self.db.read() as tx:
            found = load_one(tx, contract, ref)
            if found is None:
                raise UnknownOutcome(contract, ref)
            ledger = entries_of(tx, [found.id]).get(found.id, [])
        return OutcomeView(found.outcome, tuple(ledger))

    def history(self, contract: str, ref: str) -> list[HistoryEntry]:
        """The outcome's history in ``seq`` order, each check with its explanation."""
        return read_history(self.db, contract, ref)

    def detail(
        self, contract: str, ref: str, *, after_seq: int = 0, limit: int = TIMELINE_PAGE
    ) -> OutcomeDetail:
        """``(contract, ref)`` with the ``limit`` history entries after ``after_seq``."""
        check_limit(limit)
        with self.db.read() as tx:
            found = load_one(tx, contract, ref)
            if found is None:
                raise UnknownOutcome(contract, ref)
            ledger = entries_of(tx, [found.id]).get(found.id, [])
            rows = history_rows_after(tx, found.id, after_seq, limit + 1)
            disputes = disputes_of(tx, found.id, limit=MAX_DISPUTES)
        entries = explained(rows[:limit], found.outcome.contract.condition)
        later = entries[-1].seq if len(rows) > limit else None
        view = OutcomeView(found.outcome, tuple(ledger))
        return OutcomeDetail(view, tuple(entries), later, tuple(disputes))

    def list(
        self, filters: Mapping[str, Any], *, limit: int, after: tuple[int] | None = None
    ) -> Page[OutcomeView]:
        """Newest first, filtered by contract, customer, state and contested; ``after`` is a
        previous page's ``after`` (the last outcome's id)."""
        check_limit(limit)
        with self.db.read() as tx:
            before_id = None if after is None else after[0]
            ids = list_ids(tx, filters, limit=limit + 1, before_id=before_id)
            loaded = load_by_ids(tx, ids[:limit])
            ledger = entries_of(
                tx, [i for i in ids[:limit] if loaded[i].outcome.charged is not None]
            )
        views = [OutcomeView(loaded[i].outcome, tuple(ledger.get(i, ()))) for i in ids[:limit]]
        return Page(views, (ids[limit - 1],) if len(ids) > limit else None)
