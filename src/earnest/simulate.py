"""``earnest simulate``: run signals through one contract in virtual time.

Signals are taken in file order and each is received at its ``at``, except that the virtual
clock never runs backwards (an earlier ``at`` is received at the clock's time and keeps its
``at`` for ordering values). Every deadline fires at its own time, including after the last
signal, until every outcome has settled. Pure: no clock, no files; the CLI does the I/O.

A signal is admitted by the rules ingest applies (:mod:`earnest.rules`): the same refusals,
with the same codes and fields (decision 0013).
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from earnest.contract.model import Contract
from earnest.contract.money import format_amount
from earnest.engine import Credit, DeadlineReached, Decision, Open, Outcome, Signal, State, decide
from earnest.rules import UnknownContract, refuse_customer, refuse_opening, reused_id
from earnest.signals import SignalIn
from earnest.timefmt import format_time


class Simulation:
    """One contract, many outcomes, one virtual clock."""

    def __init__(self, contract: Contract, contract_version: int = 1) -> None:
        self.contract = contract
        self.contract_version = contract_version
        self.clock: datetime | None = None
        self.outcomes: dict[str, Outcome] = {}
        self._seen_ids: dict[str, str] = {}
        self.credits: dict[str, list[Credit]] = {}
        self._timers: list[tuple[datetime, int, str]] = []
        self._order = 0

    def feed(self, signal: SignalIn) -> None:
        """Receive one signal at max(clock, at). Raises the rules' refusal (an
        :class:`~earnest.errors.EarnestError`) for a refused signal."""
        assert signal.at is not None, "simulated signals carry their own time"
        if signal.contract != self.contract.key:
            raise UnknownContract(signal.contract)  # the only contract here is the one run
        if signal.id is not None:
            previous = self._seen_ids.get(signal.id)
            if previous is not None:
                reuse = reused_id(signal.id, signal.fingerprint(), previous)
                if reuse != "duplicate":
                    raise reuse
                return
        now = signal.at if self.clock is None else max(self.clock, signal.at)
        self.run_until(now)  # the virtual clock moves on whether the signal is refused or not
        outcome = self.outcomes.get(signal.outcome)
        if outcome is None:
            refused = refuse_opening(signal.contract, signal.outcome, signal.customer, False)
            if refused is not None:
                raise refused
            assert signal.customer is not None
            opened = decide(
                None,
                Open(self.contract, self.contract_version, signal.outcome, signal.customer),
                now,
            )
            outcome = self._apply(opened)
        else:
            mismatch = refuse_customer(signal.outcome, outcome.customer, signal.customer)
            if mismatch is not None:
                raise mismatch
        if signal.id is not None:
            self._seen_ids[signal.id] = signal.fingerprint()
        event = Signal(signal.signal, signal.value, signal.at, signal.id, signal.data)
        self._apply(decide(outcome, event, now))

    def run_until(self, now: datetime) -> None:
        """Fire, in deadline order, every timer due at or before ``now``; then set the clock."""
        while self._timers and self._timers[0][0] <= now:
            deadline, _, ref = heapq.heappop(self._timers)
            outcome = self.outcomes[ref]
            if outcome.deadline != deadline:
                continue  # stale: the outcome moved on since this timer was set
            self._apply(decide(outcome, DeadlineReached(), deadline))
        self.clock = now if self.clock is None else max(self.clock, now)

    def finish(self) -> None:
        """Run the clock forward until every outcome has settled."""
        while self._timers:
            self.run_until(self._timers[0][0])
        assert all(o.state.settled for o in self.outcomes.values())

    def _apply(self, decision: Decision) -> Outcome:
        """Keep the decided outcome (it carries its charge and credits) and set its timer."""
        outcome = decision.outcome
        self.outcomes[outcome.ref] = outcome
        if decision.effects.credits:
            self.credits.setdefault(outcome.ref, []).extend(decision.effects.credits)
        deadline = decision.effects.deadline
        if deadline is not None:
            self._order += 1
            heapq.heappush(self._timers, (deadline, self._order, outcome.ref))
        return outcome

    def revenue(self) -> dict[str, Decimal]:
        currency = self.contract.price.currency
        total = sum(
            (o.charged - o.credited for o in self.outcomes.values() if o.charged is not None),
            start=Decimal(0),
        )
        return {currency: total} if self.outcomes else {}

    def report(self) -> dict[str, Any]:
        """The ``--json`` document."""
        return {
            "outcomes": [
                _outcome_json(o, self.credits.get(o.ref, ())) for o in self.outcomes.values()
            ],
            "revenue": {
                code: format_amount(amount, code) for code, amount in self.revenue().items()
            },
        }


def _outcome_json(o: Outcome, credits: Sequence[Credit]) -> dict[str, Any]:
    """An outcome as the report lists it: with its charge, every credit against it and what
    stays billed (``net``), so the outcomes add up to the revenue."""
    currency = o.contract.price.currency
    charged = o.charged if o.state is State.CONFIRMED else None
    charge = None if charged is None else {"amount": format_amount(charged, currency),
                                           "currency": currency}  # fmt: skip
    return {
        "outcome": o.ref,
        "customer": o.customer,
        "state": o.state.value,
        "review_reason": o.review_reason.value if o.review_reason else None,
        "opened_at": format_time(o.opened_at),
        "settled_at": format_time(o.settled_at) if o.settled_at else None,
        "charge": charge,
        "credits": [
            {
                "amount": format_amount(c.amount, c.currency),
                "currency": c.currency,
                "at": format_time(c.at),
                "reason": c.reason,
            }
            for c in credits
        ],
        "net": None if charged is None else format_amount(charged - o.credited, currency),
        "contested": o.contested,
    }


def how_decided(outcome: Outcome) -> str:
    """A few words on how the decision was reached, for the human table."""
    verdict = outcome.last_verdict.value if outcome.last_verdict else None
    if outcome.review_reason is None:
        text = "settled by hand"
    elif outcome.review_reason.value == "conditions_met":
        if outcome.state is State.CONFIRMED:
            text = "conditions met; held through review"
        else:
            text = f"conditions met; check {verdict} in review"
    elif verdict in (None, "undecided"):
        text = f"activity window ended undecided; on_timeout {outcome.contract.on_timeout}"
    else:
        text = f"activity window ended; check {verdict} in review"
    return text + ("; contested" if outcome.contested else "")
