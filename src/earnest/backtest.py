"""The backtest (SPEC section 2): a proposed contract version replayed over recorded outcomes.

Each outcome is opened when it was opened, for its customer, and given its recorded signals,
each received at its recorded ``received_at`` with its own ``at``, through the proposed
version, on the virtual clock of :class:`~earnest.simulate.Simulation`: every deadline fires at
its own time, up to ``now``; an outcome whose window has not ended by then is still open, and
is reported so. What happened is the stored outcome, with the deadlines that had passed by
``now`` applied as the scheduler will apply them (stamped with their own times), so that a
scheduler that has not run yet makes no difference.

People's decisions are reported, not re-decided: an outcome settled by hand keeps its
decision and is listed apart; disputes and their credits are counted, never replayed (they
touch neither the state nor the charge). With the version an outcome was opened under, the
replay is that outcome's own history again, so it differs in nothing.

Pure: no clock, no I/O. Outcomes come in chunks from any iterable (the service reads them
from one snapshot of the store, a chunk at a time), so memory stays flat: a chunk runs on a
simulation of its own, and the report keeps counts, sums and at most :data:`MAX_LISTED`
outcomes of each list.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from earnest.contract.model import Contract
from earnest.contract.money import format_amount
from earnest.engine import DeadlineReached, Outcome, Scheduled, Signal, State, decide
from earnest.simulate import Simulation, how_decided
from earnest.timefmt import format_time

MAX_LISTED = 1_000  # outcomes listed in full in each list of the report; beyond, counted
STILL_OPEN = "still open"


@dataclass(frozen=True, slots=True)
class ByHand:
    """A manual settlement as recorded."""

    decision: Scheduled
    at: datetime
    by: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class Recorded:
    """One outcome as the record has it: how it opened, the signals it was given (each with
    the engine time it was received at, in recorded order), and what happened to it (the
    stored outcome, pinned to the version it opened under)."""

    ref: str
    customer: str
    opened_at: datetime
    signals: Sequence[tuple[Signal, datetime]]
    happened: Outcome
    by_hand: ByHand | None = None
    disputes: int = 0  # opened by people (a late signal's system dispute is the engine's)


@dataclass(frozen=True, slots=True)
class Side:
    """One side of a comparison: what happened, or what would have."""

    state: State
    scheduled: Scheduled | None
    review_reason: str | None
    settled_at: datetime | None
    charge: tuple[Decimal, str] | None  # amount, currency
    how: str
    explanation: str | None = None  # the check its decision rests on

    def json(self) -> dict[str, Any]:
        charge = None
        if self.charge is not None:
            amount, currency = self.charge
            charge = {"amount": format_amount(amount, currency), "currency": currency}
        return {
            "state": self.state.value,
            "scheduled": None if self.scheduled is None else self.scheduled.value,
            "review_reason": self.review_reason,
            "settled_at": None if self.settled_at is None else format_time(self.settled_at),
            "charge": charge,
            "how": self.how,
            "explanation": self.explanation,
        }


@dataclass(frozen=True, slots=True)
class Difference:
    """An outcome whose decision or charge would differ under the proposed version."""

    ref: str
    customer: str
    opened_at: datetime
    contract_version: int  # the version it opened under
    change: str
    before: Side
    after: Side
    disputes: int
    credited: Decimal

    def json(self) -> dict[str, Any]:
        currency = self.before.charge[1] if self.before.charge else None
        return {
            "outcome": self.ref,
            "customer": self.customer,
            "opened_at": format_time(self.opened_at),
            "contract_version": self.contract_version,
            "change": self.change,
            "before": self.before.json(),
            "after": self.after.json(),
            "disputes": self.disputes,
            "credited": None if not self.credited or currency is None
            else format_amount(self.credited, currency),
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class Manual:
    """An outcome settled by hand: its decision stands, whatever the proposed version."""

    ref: str
    customer: str
    opened_at: datetime
    side: Side
    by: str | None
    reason: str

    def json(self) -> dict[str, Any]:
        return {
            "outcome": self.ref,
            "customer": self.customer,
            "opened_at": format_time(self.opened_at),
            **self.side.json(),
            "by": self.by,
            "reason": self.reason,
        }


@dataclass(slots=True)
class BacktestReport:
    """What the proposed version would have changed, over every outcome given."""

    contract: str
    version: int  # the proposed version's number: its own if stored, else the next
    now: datetime
    since: datetime | None = None
    until: datetime | None = None
    outcomes: int = 0
    signals: int = 0  # replayed
    replayed: int = 0
    changed: int = 0
    still_open: int = 0  # replayed outcomes not settled by ``now`` under the proposed version
    changes: dict[str, int] = field(default_factory=dict)
    before: dict[str, Decimal] = field(default_factory=dict)  # charged, per currency
    after: dict[str, Decimal] = field(default_factory=dict)
    credits: dict[str, Decimal] = field(default_factory=dict)  # as recorded, not re-run
    credited: int = 0  # outcomes with a credit
    disputed: int = 0  # outcomes disputed by people
    manual: int = 0
    differences: list[Difference] = field(default_factory=list)
    settled_by_hand: list[Manual] = field(default_factory=list)

    @property
    def unchanged(self) -> int:
        return self.replayed - self.changed

    def revenue(self) -> dict[str, tuple[Decimal, Decimal, Decimal]]:
        """Charged revenue per currency: ``(before, after, after - before)``."""
        zero = Decimal(0)
        return {
            currency: (
                self.before.get(currency, zero),
                self.after.get(currency, zero),
                self.after.get(currency, zero) - self.before.get(currency, zero),
            )
            for currency in sorted({*self.before, *self.after})
        }

    def json(self) -> dict[str, Any]:
        """The report as ``--json`` and the API give it."""
        return {
            "contract": self.contract,
            "version": self.version,
            "since": None if self.since is None else format_time(self.since),
            "until": None if self.until is None else format_time(self.until),
            "as_of": format_time(self.now),
            "outcomes": self.outcomes,
            "signals": self.signals,
            "replayed": self.replayed,
            "unchanged": self.unchanged,
            "changed": self.changed,
            "still_open": self.still_open,
            "manual": self.manual,
            "changes": dict(sorted(self.changes.items(), key=lambda item: (-item[1], item[0]))),
            "revenue": {
                currency: {
                    "before": _money(before, currency),
                    "after": _money(after, currency),
                    "difference": _money(difference, currency),
                }
                for currency, (before, after, difference) in self.revenue().items()
            },
            "credits": {
                currency: _money(amount, currency) for currency, amount in self.credits.items()
            },
            "credited": self.credited,
            "disputed": self.disputed,
            "differences": [difference.json() for difference in self.differences],
            "differences_truncated": self.changed > len(self.differences),
            "settled_by_hand": [manual.json() for manual in self.settled_by_hand],
            "settled_by_hand_truncated": self.manual > len(self.settled_by_hand),
        }


def _money(amount: Decimal, currency: str) -> str:
    return format_amount(abs(amount) if amount == 0 else amount, currency)


# The run --------------------------------------------------------------------------------


def backtest(
    contract: Contract,
    chunks: Iterable[Sequence[Recorded]],
    now: datetime,
    *,
    version: int,
) -> BacktestReport:
    """Replay every recorded outcome through ``contract`` (as version ``version``) up to
    ``now`` and compare with what happened. ``chunks`` is consumed one chunk at a time."""
    report = BacktestReport(contract.key, version, now)
    for chunk in chunks:
        _add(report, contract, chunk)
    return report


def replay(
    contract: Contract, version: int, outcomes: Sequence[Recorded], now: datetime, *,
    trace: bool = False,
) -> Simulation:  # fmt: skip
    """``outcomes`` (none settled by hand) opened and given their signals through
    ``contract`` on one virtual clock, in the order they were received, up to ``now``."""
    simulation = Simulation(contract, version, trace=trace)
    events: list[tuple[datetime, int, int, Signal | None]] = []
    for index, recorded in enumerate(outcomes):
        events.append((recorded.opened_at, index, -1, None))
        events += [(at, index, n, signal) for n, (signal, at) in enumerate(recorded.signals)]
    # An outcome's own inputs stay in recorded order: its received_at never decreases (it is
    # the engine's clock, which never runs backwards), and ties keep their index. (Index and
    # number are unique, so the sort never compares signals.)
    events.sort()
    for at, index, _, signal in events:
        recorded = outcomes[index]
        if signal is None:
            simulation.open(recorded.ref, recorded.customer, at)
        else:
            simulation.apply(recorded.ref, signal, at)
    simulation.run_until(now)
    return simulation


def _add(report: BacktestReport, contract: Contract, chunk: Sequence[Recorded]) -> None:
    replayed = [recorded for recorded in chunk if recorded.by_hand is None]
    simulation = replay(contract, report.version, replayed, report.now)
    for recorded in chunk:
        assert recorded.happened.contract.key == contract.key, "one contract's outcomes"
        happened = advanced(recorded.happened, report.now)
        report.outcomes += 1
        _count_people(report, recorded)
        _book(report.before, happened)
        if recorded.by_hand is not None:
            _book(report.after, happened)
            report.manual += 1
            if len(report.settled_by_hand) < MAX_LISTED:
                report.settled_by_hand.append(_manual(recorded, happened))
            continue
        after = simulation.outcomes[recorded.ref]
        _book(report.after, after)
        report.replayed += 1
        report.signals += len(recorded.signals)
        if not after.state.settled:
            report.still_open += 1
        change = change_of(happened, after)
        if change is None:
            continue
        report.changed += 1
        report.changes[change] = report.changes.get(change, 0) + 1
        if len(report.differences) < MAX_LISTED:
            report.differences.append(
                _difference(recorded, happened, after, change, contract=contract, report=report)
            )


def advanced(outcome: Outcome, now: datetime) -> Outcome:
    """``outcome`` with every deadline that had passed by ``now`` applied, each stamped with
    its own time, as the scheduler applies them."""
    deadline = outcome.deadline
    if deadline is None or deadline > now:
        return outcome
    return decide(outcome, DeadlineReached(), now).outcome


def change_of(before: Outcome, after: Outcome) -> str | None:
    """The kind of change from ``before`` to ``after``, or None when they agree on state,
    scheduled decision, review reason, and charge amount and currency."""
    was, now = _label(before.state), _label(after.state)
    if was != now:
        return f"{was} → {now}"
    if _charge(before) != _charge(after):
        return "price changed"
    if before.state is not after.state:
        return f"{STILL_OPEN}: {before.state.value} → {after.state.value}"
    if before.review_reason is not after.review_reason:
        return "review reason changed"
    if before.scheduled is not after.scheduled:
        return f"{STILL_OPEN}: scheduled decision changed"
    return None


def _label(state: State) -> str:
    return state.value if state.settled else STILL_OPEN


def _charge(outcome: Outcome) -> tuple[Decimal, str] | None:
    if outcome.state is not State.CONFIRMED or outcome.charged is None:
        return None
    return outcome.charged, outcome.contract.price.currency


def _book(revenue: dict[str, Decimal], outcome: Outcome) -> None:
    charge = _charge(outcome)
    if charge is not None:
        amount, currency = charge
        revenue[currency] = revenue.get(currency, Decimal(0)) + amount


def _count_people(report: BacktestReport, recorded: Recorded) -> None:
    happened = recorded.happened
    if recorded.disputes:
        report.disputed += 1
    if happened.credited:
        currency = happened.contract.price.currency
        report.credits[currency] = report.credits.get(currency, Decimal(0)) + happened.credited
        report.credited += 1


def _difference(
    recorded: Recorded,
    happened: Outcome,
    after: Outcome,
    change: str,
    *,
    contract: Contract,
    report: BacktestReport,
) -> Difference:
    """The difference with the explanation of the check each side's decision rests on,
    from a traced replay of this outcome alone under each version."""
    before_side = side(happened, _decisive(happened.contract, happened.contract_version,
                                           recorded, report.now))  # fmt: skip
    after_side = side(after, _decisive(contract, report.version, recorded, report.now))
    return Difference(
        recorded.ref, recorded.customer, recorded.opened_at, happened.contract_version,
        change, before_side, after_side, recorded.disputes, happened.credited,
    )  # fmt: skip


def _decisive(contract: Contract, version: int, recorded: Recorded, now: datetime) -> str | None:
    traced = replay(contract, version, [recorded], now, trace=True)
    assert traced.decisive is not None
    values: Mapping[str, Any] | None = traced.decisive.get(recorded.ref)
    return None if values is None else contract.condition.explanation_text(values)


def _manual(recorded: Recorded, happened: Outcome) -> Manual:
    assert recorded.by_hand is not None
    settled = replace(side(happened, None), how=f"settled by hand ({recorded.by_hand.decision})")
    return Manual(
        recorded.ref, recorded.customer, recorded.opened_at, settled, recorded.by_hand.by,
        recorded.by_hand.reason,
    )  # fmt: skip


def side(outcome: Outcome, explanation: str | None) -> Side:
    return Side(
        outcome.state,
        outcome.scheduled,
        None if outcome.review_reason is None else outcome.review_reason.value,
        outcome.settled_at,
        _charge(outcome),
        how(outcome),
        explanation,
    )


def how(outcome: Outcome) -> str:
    """A few words on how the outcome stands."""
    if outcome.state is State.OPEN:
        return f"{STILL_OPEN}: activity window ends {format_time(outcome.active_until)}"
    if outcome.state is State.IN_REVIEW:
        assert outcome.scheduled is not None
        assert outcome.review_ends_at is not None
        reason = outcome.review_reason.value if outcome.review_reason else "review"
        return (
            f"{STILL_OPEN}: in review ({reason}), {outcome.scheduled.value} scheduled"
            f" at {format_time(outcome.review_ends_at)}"
        )
    return how_decided(outcome)
