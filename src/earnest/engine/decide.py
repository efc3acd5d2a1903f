"""``decide(outcome, input, now)``: the whole outcome lifecycle as one pure function.

No clock, no I/O. ``now`` is the engine time of the input (the time a signal was received, or
the time a timer is processed). Before any input is applied, every deadline of the outcome that
had passed at ``now`` fires first, stamped with its own deadline, so a decision never depends on
when a scheduler happened to run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from earnest.contract.condition import Verdict
from earnest.contract.model import AfterSettlement
from earnest.engine.lifecycle import (
    SETTLES_AS,
    Event,
    ReviewReason,
    Scheduled,
    State,
    schedule_on_check,
    schedule_on_timeout,
    transition,
)
from earnest.engine.model import (
    Charge,
    Credit,
    DeadlineReached,
    Decision,
    Effects,
    Entry,
    Input,
    Observed,
    Open,
    Outcome,
    Settle,
    Signal,
)
from earnest.timefmt import format_time


class _Step:
    """Accumulates the effects of one decision while the outcome moves."""

    __slots__ = ("charges", "credits", "entries")

    def __init__(self) -> None:
        self.entries: list[Entry] = []
        self.charges: list[Charge] = []
        self.credits: list[Credit] = []

    def effects(self, outcome: Outcome) -> Effects:
        return Effects(
            entries=tuple(self.entries),
            deadline=outcome.deadline,
            charges=tuple(self.charges),
            credits=tuple(self.credits),
        )


def decide(outcome: Outcome | None, event: Input, now: datetime) -> Decision:
    """Apply one input to an outcome at engine time ``now``.

    Raises :class:`IllegalTransition` for a manual settlement of a settled outcome, and
    ``ValueError`` for an input that needs an outcome when there is none.
    """
    if isinstance(event, Open):
        if outcome is not None:
            return Decision(outcome, Effects(deadline=outcome.deadline))
        return _open(event, now)
    if outcome is None:
        raise ValueError(f"{type(event).__name__} needs an open outcome")
    now = max(now, outcome.clock)
    step = _Step()
    outcome = _advance(outcome, now, step)
    if isinstance(event, Signal):
        outcome = _signal(outcome, event, now, step)
    elif isinstance(event, Settle):
        outcome = _settle_manually(outcome, event, now, step)
    else:
        assert isinstance(event, DeadlineReached)
    if outcome.clock < now:
        outcome = replace(outcome, clock=now)
    return Decision(outcome, step.effects(outcome))


def _advance(outcome: Outcome, now: datetime, step: _Step) -> Outcome:
    """Fire every deadline due at ``now``, in deadline order, each stamped with its own time."""
    deadline = outcome.deadline
    while deadline is not None and deadline <= now:
        if outcome.state is State.OPEN:
            outcome = _activity_timeout(outcome, deadline, step)
        else:
            outcome = _end_review(outcome, deadline, step)
        deadline = outcome.deadline
    return outcome


# Opening --------------------------------------------------------------------------------


def _open(event: Open, now: datetime) -> Decision:
    contract = event.contract
    active_until = now + timedelta(seconds=contract.active_for_s)
    outcome = Outcome(
        contract=contract,
        contract_version=event.contract_version,
        ref=event.ref,
        customer=event.customer,
        state=State.OPEN,
        opened_at=now,
        active_until=active_until,
        clock=now,
    )
    entry = Entry(
        "opened",
        now,
        {
            "contract": contract.key,
            "contract_version": event.contract_version,
            "customer": event.customer,
            "price": contract.price.to_json(),
            "active_until": format_time(active_until),
        },
    )
    return Decision(outcome, Effects(entries=(entry,), deadline=active_until))


# Signals and checks ---------------------------------------------------------------------


def _signal(outcome: Outcome, signal: Signal, now: datetime, step: _Step) -> Outcome:
    late = outcome.state.settled
    step.entries.append(
        Entry(
            "signal",
            now,
            {
                "id": signal.id,
                "signal": signal.signal,
                "value": signal.value,
                "at": format_time(signal.at),
                "data": dict(signal.data) if signal.data is not None else None,
                "received_at": format_time(now),
                "late": late,
            },
        )
    )
    observed = _observe(outcome.observed, signal)
    if observed is not outcome.observed:
        outcome = replace(outcome, observed=observed)
    verdict = _check(outcome, now, step)
    if late:
        return _after_settlement(outcome, verdict, signal, now, step)
    outcome = replace(outcome, last_verdict=verdict)
    if outcome.state is State.OPEN:
        if verdict is Verdict.MET:
            outcome = _begin_review(
                outcome, ReviewReason.CONDITIONS_MET, Scheduled.CONFIRM, now, step
            )
        return outcome
    assert outcome.state is State.IN_REVIEW
    assert outcome.review_reason is not None
    scheduled = schedule_on_check(outcome.review_reason, verdict, outcome.contract.on_timeout)
    if scheduled is not outcome.scheduled:
        flipped = replace(outcome, scheduled=scheduled)
        _record_transition(outcome, flipped, Event.CHECK, now, step)
        outcome = flipped
    return outcome


def _observe(observed: Mapping[str, Observed], signal: Signal) -> Mapping[str, Observed]:
    """The latest value per name: a signal replaces the current one unless its ``at`` is
    earlier (on a tie, the later arrival wins). A retraction is kept as a value of ``None``
    with its time, so an older value arriving later does not resurrect the name."""
    current = observed.get(signal.signal)
    if current is not None and signal.at < current.at:
        return observed
    updated = dict(observed)
    updated[signal.signal] = Observed(signal.value, signal.at)
    return updated


def _check(outcome: Outcome, now: datetime, step: _Step) -> Verdict:
    values = outcome.values
    explanation = outcome.contract.condition.explain(values)
    step.entries.append(
        Entry(
            "check",
            now,
            {
                "verdict": explanation.verdict.value,
                "explanation": explanation.text(),
                "values": values,
            },
        )
    )
    return explanation.verdict


def _after_settlement(
    outcome: Outcome, verdict: Verdict, signal: Signal, now: datetime, step: _Step
) -> Outcome:
    if outcome.state is not State.CONFIRMED or verdict is not Verdict.FAILED:
        return outcome
    policy = outcome.contract.after_settlement
    if policy is AfterSettlement.FLAG:
        if outcome.contested:
            return outcome
        step.entries.append(
            Entry(
                "flag", now, {"contested": True, "reason": "after_settlement", "signal": signal.id}
            )
        )
        return replace(outcome, contested=True)
    if policy is AfterSettlement.CREDIT:
        assert outcome.charged is not None
        remaining = outcome.charged - outcome.credited
        if remaining <= 0:
            return outcome
        credit = Credit(remaining, outcome.contract.price.currency, now, "after_settlement")
        step.credits.append(credit)
        step.entries.append(
            Entry(
                "credit",
                now,
                {
                    "amount": remaining,
                    "currency": credit.currency,
                    "reason": credit.reason,
                    "signal": signal.id,
                },
            )
        )
        return replace(outcome, credited=outcome.credited + remaining)
    assert policy is AfterSettlement.IGNORE
    return outcome


# Windows and settlement -----------------------------------------------------------------


def _begin_review(
    outcome: Outcome, reason: ReviewReason, scheduled: Scheduled, at: datetime, step: _Step
) -> Outcome:
    event = (
        Event.CONDITIONS_MET if reason is ReviewReason.CONDITIONS_MET else Event.ACTIVITY_TIMEOUT
    )
    review_ends_at = at + timedelta(seconds=outcome.contract.review_window_s)
    reviewing = replace(
        outcome,
        state=transition(outcome.state, event, State.IN_REVIEW),
        scheduled=scheduled,
        review_reason=reason,
        review_ends_at=review_ends_at,
        clock=max(outcome.clock, at),
    )
    _record_transition(outcome, reviewing, event, at, step)
    if review_ends_at <= at:  # a review window of 0 settles at once
        return _end_review(reviewing, review_ends_at, step)
    return reviewing


def _activity_timeout(outcome: Outcome, deadline: datetime, step: _Step) -> Outcome:
    scheduled = schedule_on_timeout(outcome.last_verdict, outcome.contract.on_timeout)
    return _begin_review(outcome, ReviewReason.ACTIVITY_TIMEOUT, scheduled, deadline, step)


def _end_review(outcome: Outcome, deadline: datetime, step: _Step) -> Outcome:
    assert outcome.scheduled is not None
    settled = _settle(outcome, SETTLES_AS[outcome.scheduled], Event.REVIEW_WINDOW_ENDED, deadline)
    _record_transition(outcome, settled, Event.REVIEW_WINDOW_ENDED, deadline, step)
    return _book(settled, deadline, step)


def _settle_manually(outcome: Outcome, settle: Settle, now: datetime, step: _Step) -> Outcome:
    event = Event.MANUAL_CONFIRM if settle.decision is Scheduled.CONFIRM else Event.MANUAL_CANCEL
    settled = _settle(outcome, SETTLES_AS[settle.decision], event, now)
    _record_transition(outcome, settled, event, now, step, note=settle.reason, by=settle.by)
    return _book(settled, now, step)


def _settle(outcome: Outcome, to: State, event: Event, at: datetime) -> Outcome:
    return replace(
        outcome,
        state=transition(outcome.state, event, to),
        settled_at=at,
        clock=max(outcome.clock, at),
    )


def _book(outcome: Outcome, at: datetime, step: _Step) -> Outcome:
    if outcome.state is not State.CONFIRMED:
        return outcome
    price = outcome.contract.price
    assert price.amount >= 0
    step.charges.append(Charge(price.amount, price.currency, at))
    step.entries.append(Entry("charge", at, {"amount": price.amount, "currency": price.currency}))
    return replace(outcome, charged=price.amount, credited=Decimal(0))


def _record_transition(
    before: Outcome,
    after: Outcome,
    event: Event,
    at: datetime,
    step: _Step,
    *,
    note: str | None = None,
    by: str | None = None,
) -> None:
    data: dict[str, Any] = {
        "from": before.state.value,
        "to": after.state.value,
        "scheduled": after.scheduled.value if after.scheduled is not None else None,
        "reason": event.value,
        "review_reason": after.review_reason.value if after.review_reason else None,
        "active_until": format_time(after.active_until),
        "review_ends_at": format_time(after.review_ends_at) if after.review_ends_at else None,
        "settled_at": format_time(after.settled_at) if after.settled_at else None,
    }
    if note is not None:
        data["note"] = note
    if by is not None:
        data["by"] = by
    step.entries.append(Entry("transition", at, data))
