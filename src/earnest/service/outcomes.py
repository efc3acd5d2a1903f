"""Outcomes opened and settled by hand, outside the signal stream (SPEC sections 4 and 8).

Opening refuses what ingest refuses when a signal would open an outcome (unknown contract,
archived contract, an outcome of another customer), with the same problems: the checks are
ingest's own. Each call is one write transaction; a refusal stores nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from earnest.engine import IllegalTransition, Outcome, Settle, decide
from earnest.service.ingest import Problem, customer_mismatch, open_new, refuse_opening
from earnest.service.recorder import Recorder
from earnest.signals import SignalIn
from earnest.store.codec import money_value
from earnest.store.contracts import UnknownContract, latest_contract
from earnest.store.db import Database, Tx
from earnest.store.outcomes import load_one


class Refused(Exception):
    """Nothing was stored; ``problem`` says why, as the API reports it."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        super().__init__(problem.message)


@dataclass(frozen=True, slots=True)
class ChargeRow:
    amount: Decimal
    currency: str
    period: str


def charges(tx: Tx, outcome_ids: Iterable[int]) -> dict[int, ChargeRow]:
    """The one charge each confirmed outcome booked, by outcome id."""
    found: dict[int, ChargeRow] = {}
    for outcome_id, amount, currency, period in tx.query_in(
        "SELECT outcome_id, amount, currency, period_start FROM ledger"
        " WHERE kind = 'charge' AND outcome_id IN {values}",
        outcome_ids,
    ):
        value = money_value(amount)
        assert value is not None
        found[int(outcome_id)] = ChargeRow(value, str(currency), str(period))
    return found


def unknown_outcome(contract: str, ref: str) -> Problem:
    return Problem(
        404, "unknown_outcome", f"no outcome {ref!r} for contract {contract!r}", "outcome"
    )


def open_outcome(db: Database, signal: SignalIn, now: datetime) -> tuple[Outcome, bool]:
    """Begin tracking ``(signal.contract, signal.outcome)`` for ``signal.customer``:
    ``(outcome, opened)``, ``opened`` false when it was open already. Raises :class:`Refused`.
    """
    with db.write() as tx:
        found = load_one(tx, signal.contract, signal.outcome, lock=True)
        if found is not None:
            if signal.customer is not None and signal.customer != found.outcome.customer:
                raise Refused(customer_mismatch(signal, found.outcome))
            return found.outcome, False
        try:
            entry = latest_contract(tx, signal.contract)
        except UnknownContract:
            entry = None
        problem = refuse_opening(signal, entry)
        if problem is not None:
            raise Refused(problem)
        assert entry is not None
        recorder = Recorder()
        stored = open_new(entry, signal, now, recorder)
        recorder.flush(tx)
        return stored.outcome, True


def settle_outcome(
    db: Database, contract: str, ref: str, manual: Settle, now: datetime
) -> tuple[Outcome, ChargeRow | None]:
    """Settle ``(contract, ref)`` by hand: the outcome and the charge a confirm booked.
    Raises :class:`Refused` when there is no such outcome or it is settled already."""
    with db.write() as tx:
        found = load_one(tx, contract, ref, lock=True)
        if found is None:
            raise Refused(unknown_outcome(contract, ref))
        try:
            decided = decide(found.outcome, manual, now)
        except IllegalTransition:
            raise Refused(
                Problem(
                    409,
                    "already_settled",
                    f"outcome {ref!r} is already {found.outcome.state.value}",
                    "outcome",
                )
            ) from None
        recorder = Recorder()
        recorder.record(found, decided)
        recorder.flush(tx)
        charge = charges(tx, [found.id]).get(found.id)
    return decided.outcome, charge
