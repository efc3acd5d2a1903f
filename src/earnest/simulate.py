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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from earnest.billing import (
    BillingDays,
    Booking,
    ChargeLine,
    CreditLine,
    Period,
    credit_reason,
    invoice_lines,
    lines_json,
    money_text,
)
from earnest.billing import totals as invoice_totals
from earnest.contract.model import Contract
from earnest.contract.money import format_amount
from earnest.engine import (
    Charge,
    Credit,
    DeadlineReached,
    Decision,
    Entry,
    Input,
    Open,
    Outcome,
    Signal,
    State,
    decide,
)
from earnest.rules import UnknownContract, refuse_customer, refuse_opening, reused_id
from earnest.signals import SignalIn
from earnest.timefmt import format_time

GRACE = timedelta(minutes=5)  # SPEC 6's default invoice_grace
PREFIX = "EARN"  # SPEC 6's default invoice prefix


@dataclass(frozen=True, slots=True)
class SimulatedInvoice:
    """An invoice a simulation made: no id (nothing is stored), a number once finalized."""

    customer: str
    currency: str
    period: Period
    number: str | None
    finalized_at: datetime | None
    charges: list[ChargeLine]
    credits: list[CreditLine]

    @property
    def status(self) -> str:
        return "draft" if self.number is None else "finalized"

    def document(self) -> dict[str, Any]:
        """SPEC 8's invoice object, without an ``id``."""
        result = invoice_totals(self.charges, self.credits, self.currency)
        return {
            "number": self.number,
            "status": self.status,
            "customer": self.customer,
            "currency": self.currency,
            "period": {
                "start": format_time(self.period.start),
                "end": format_time(self.period.end),
            },
            "lines": lines_json(self.charges, self.credits, self.currency),
            "subtotal": money_text(result.subtotal, self.currency),
            "credits": money_text(result.credits, self.currency),
            "total": format(result.total, "f"),  # rounded to ISO 4217's minor unit
            "finalized_at": None if self.finalized_at is None else format_time(self.finalized_at),
        }


class Simulation:
    """One contract, many outcomes, one virtual clock."""

    def __init__(
        self, contract: Contract, contract_version: int = 1, *, trace: bool = False
    ) -> None:
        self.contract = contract
        self.contract_version = contract_version
        # With ``trace``: the values of each outcome's last check made before it settled, the
        # check its decision rests on (a late signal's check changes no decision).
        self.decisive: dict[str, Mapping[str, Any]] | None = {} if trace else None
        self.clock: datetime | None = None
        self.outcomes: dict[str, Outcome] = {}
        self._seen_ids: dict[str, str] = {}
        self.credits: dict[str, list[Credit]] = {}
        self.customers: dict[str, datetime] = {}  # created on first mention, as by ingest
        self.ledger: list[tuple[str, Booking]] = []  # (customer, entry), in booking order
        self.ended: datetime | None = None  # the last signal's or settlement's time
        self._timers: list[tuple[datetime, int, str]] = []
        self._timer_of: dict[str, datetime] = {}  # the last timer set for each outcome
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
        self.ended = now
        outcome = self.outcomes.get(signal.outcome)
        if outcome is None:
            refused = refuse_opening(signal.contract, signal.outcome, signal.customer, False)
            if refused is not None:
                raise refused
            assert signal.customer is not None
            self.open(signal.outcome, signal.customer, now)
        else:
            mismatch = refuse_customer(signal.outcome, outcome.customer, signal.customer)
            if mismatch is not None:
                raise mismatch
        if signal.id is not None:
            self._seen_ids[signal.id] = signal.fingerprint()
        event = Signal(signal.signal, signal.value, signal.at, signal.id, signal.data)
        self.apply(signal.outcome, event, now)

    def open(self, ref: str, customer: str, now: datetime) -> Outcome:
        """Open outcome ``ref`` for ``customer`` at virtual time max(clock, ``now``), once
        every timer due by then has fired; an outcome already open stays as it is. No
        admission rules: :meth:`feed` applies them, a backtest's outcomes were admitted."""
        self.run_until(now)
        assert self.clock is not None
        self.ended = self.clock if self.ended is None else max(self.ended, self.clock)
        outcome = self.outcomes.get(ref)
        if outcome is not None:
            return outcome
        self.customers.setdefault(customer, self.clock)
        start = Open(self.contract, self.contract_version, ref, customer)
        return self._apply(decide(None, start, self.clock))

    def apply(self, ref: str, event: Input, now: datetime) -> Outcome:
        """Apply ``event`` to the opened outcome ``ref`` at virtual time max(clock, ``now``),
        once every timer due by then has fired."""
        self.run_until(now)
        clock = self.clock
        assert clock is not None
        if self.ended is None or clock > self.ended:
            self.ended = clock
        return self._apply(decide(self.outcomes[ref], event, clock))

    def run_until(self, now: datetime) -> None:
        """Fire, in deadline order, every timer due at or before ``now``; then set the clock."""
        while self._timers and self._timers[0][0] <= now:
            deadline, _, ref = heapq.heappop(self._timers)
            outcome = self.outcomes[ref]
            if outcome.deadline != deadline:
                continue  # stale: the outcome moved on since this timer was set
            self._apply(decide(outcome, DeadlineReached(), deadline))
            self.ended = deadline if self.ended is None else max(self.ended, deadline)
        if self.clock is None or now > self.clock:
            self.clock = now

    def finish(self) -> None:
        """Run the clock forward until every outcome has settled."""
        while self._timers:
            self.run_until(self._timers[0][0])
        assert all(o.state.settled for o in self.outcomes.values())

    def _apply(self, decision: Decision) -> Outcome:
        """Keep the decided outcome (it carries its charge and credits) and set its timer."""
        outcome = decision.outcome
        self.outcomes[outcome.ref] = outcome
        if self.decisive is not None:
            late = False
            for entry in decision.effects.entries:
                if entry.kind == "signal":
                    late = bool(entry.data["late"])
                elif entry.kind == "check" and not late:
                    self.decisive[outcome.ref] = entry.data["values"]
        if decision.effects.credits:
            self.credits.setdefault(outcome.ref, []).extend(decision.effects.credits)
        self._book(outcome, decision)
        deadline = decision.effects.deadline
        # A timer already set for this deadline still stands: a decision that keeps the
        # outcome's deadline (most signals) sets none.
        if deadline is not None and self._timer_of.get(outcome.ref) != deadline:
            self._timer_of[outcome.ref] = deadline
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

    def report(self, *, invoices: bool = False) -> dict[str, Any]:
        """The ``--json`` document; with ``invoices``, also the invoices the run made and the
        virtual time they are as of."""
        report: dict[str, Any] = {
            "outcomes": [
                _outcome_json(o, self.credits.get(o.ref, ())) for o in self.outcomes.values()
            ],
            "revenue": {
                code: format_amount(amount, code) for code, amount in self.revenue().items()
            },
        }
        if invoices:
            report["as_of"] = None if self.ended is None else format_time(self.ended)
            report["invoices"] = [invoice.document() for invoice in self.invoices()]
        return report

    def _book(self, outcome: Outcome, decision: Decision) -> None:
        """Keep the decision's ledger entries as the invoices need them."""
        effects = decision.effects
        if not effects.charges and not effects.credits:
            return
        contract = self.contract
        description = f"{contract.name or contract.key} (v{self.contract_version})"
        credit_entries: list[tuple[Entry, str | None]] = []
        late: str | None = None
        for entry in effects.entries:  # each credit with the late signal before it
            if entry.kind == "signal":
                late = str(entry.data["signal"])
            elif entry.kind == "credit":
                credit_entries.append((entry, late))
        booked: list[tuple[Literal["charge", "credit"], Charge | Credit, str | None]] = [
            ("charge", charge, None) for charge in effects.charges
        ]
        booked += [
            ("credit", credit, credit_reason(entry.data, signal))
            for credit, (entry, signal) in zip(effects.credits, credit_entries, strict=True)
        ]
        for kind, money, reason in booked:
            booking = Booking(
                len(self.ledger) + 1, kind, outcome.ref, contract.key, self.contract_version,
                description, money.amount, money.currency, money.at, reason,
            )  # fmt: skip
            self.ledger.append((outcome.customer, booking))

    def invoices(self, *, grace: timedelta = GRACE, prefix: str = PREFIX) -> list[SimulatedInvoice]:
        """The invoices the run made (SPEC section 6), as of the end of the simulation (its
        last event: the last signal, or the last settlement after it): one per customer,
        period and currency with a ledger entry; every customer has billing day 1 from its
        first mention. An invoice whose period ended, plus ``grace``, by then is finalized and
        numbered from 1 in SPEC's order (period end, customer id as UTF-8 bytes, currency);
        the others are drafts. In virtual time no entry races a finalization, so each falls
        in the period that holds it."""
        grouped: dict[tuple[str, Period, str], list[Booking]] = {}
        for customer, booking in self.ledger:
            days = BillingDays.of(self.customers[customer], 1)
            period = days.containing(booking.at)
            grouped.setdefault((customer, period, booking.currency), []).append(booking)
        order = sorted(grouped, key=lambda k: (k[1].end, k[0].encode(), k[2]))
        made: list[SimulatedInvoice] = []
        sequence = 0
        for customer, period, currency in order:
            charges, credits = invoice_lines(grouped[customer, period, currency])
            due = period.end + grace
            number = None
            if self.ended is not None and due <= self.ended:
                sequence += 1
                number = f"{prefix}-{sequence:06d}"
            made.append(
                SimulatedInvoice(
                    customer, currency, period, number, due if number else None, charges, credits
                )
            )
        return made


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
