"""``decide(outcome, input, now)``: the whole outcome lifecycle as one pure function.

No clock, no I/O. ``now`` is the engine time of the input (the time a signal was received, or
the time a timer is processed). Before any input is applied, every deadline of the outcome that
had passed at ``now`` fires first, stamped with its own deadline, so a decision never depends on
when a scheduler happened to run.

Inside one decision the outcome is a mutable :class:`_Draft`; it is frozen into a new
:class:`Outcome` once, at the end. Entry data holds Python values (``Decimal``, ``datetime``);
the store serialises them. Money is the exception: a ``charge`` or ``credit`` entry's ``amount``
is already its decimal text (SPEC sections 6 and 7), see :func:`money_text`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from earnest.billing.invoice import creditable
from earnest.contract.condition import Verdict
from earnest.contract.model import AfterSettlement, Contract
from earnest.engine.lifecycle import (
    SETTLES_AS,
    CreditExceedsCharge,
    DisputeOpen,
    Event,
    NoOpenDispute,
    NotConfirmed,
    ReviewReason,
    Scheduled,
    State,
    schedule_on_check,
    schedule_on_timeout,
    timer,
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
    OpenDispute,
    Outcome,
    ResolveDispute,
    Settle,
    Signal,
)

ZERO = Decimal(0)


def money_text(amount: Decimal) -> str:
    """The exact decimal text of an amount, as history records it: every digit kept, no
    rounding, ``Decimal("0.990000")`` -> ``"0.990000"``.

    For every amount a contract allows (at most 6 places, no exponent) this is ``str(amount)``;
    ``"f"`` is used because a charged sum read back from a store may carry an exponent
    (``Decimal("1E+1")``), and history must still say ``"10"``."""
    assert amount.is_finite(), "money is always finite"
    assert amount >= 0, "money in history is never negative"
    return format(amount, "f")


def decide(outcome: Outcome | None, event: Input, now: datetime) -> Decision:
    """Apply one input to an outcome at engine time ``now``.

    Raises :class:`~earnest.engine.IllegalTransition` for a manual settlement of a settled
    outcome, and ``ValueError`` for an input that needs an outcome when there is none.
    """
    if isinstance(event, Open):
        if outcome is not None:
            return Decision(outcome, Effects(deadline=outcome.deadline))
        return _open(event, now)
    if outcome is None:
        raise ValueError(f"{type(event).__name__} needs an open outcome")
    draft = _Draft(outcome, max(now, outcome.clock))
    now = draft.clock
    _advance(draft, now)
    if isinstance(event, Signal):
        _signal(draft, event, now)
    elif isinstance(event, Settle):
        _settle_manually(draft, event, now)
    elif isinstance(event, OpenDispute):
        _open_dispute(draft, event.reason, event.by, now)
    elif isinstance(event, ResolveDispute):
        _resolve_dispute(draft, event, now)
    else:
        assert isinstance(event, DeadlineReached)
    return draft.decision()


class _Draft:
    """An outcome being changed by one decision, and the effects it has produced so far."""

    __slots__ = (
        "active_until",
        "charged",
        "charges",
        "clock",
        "contested",
        "contract",
        "credited",
        "credits",
        "entries",
        "last_verdict",
        "observed",
        "original",
        "review_ends_at",
        "review_reason",
        "scheduled",
        "settled_at",
        "state",
    )

    def __init__(self, outcome: Outcome, clock: datetime) -> None:
        self.original = outcome
        self.contract: Contract = outcome.contract
        self.state = outcome.state
        self.active_until = outcome.active_until
        self.clock = clock
        self.scheduled = outcome.scheduled
        self.review_reason = outcome.review_reason
        self.review_ends_at = outcome.review_ends_at
        self.settled_at = outcome.settled_at
        self.observed = outcome.observed
        self.last_verdict = outcome.last_verdict
        self.contested = outcome.contested
        self.charged = outcome.charged
        self.credited = outcome.credited
        self.entries: list[Entry] = []
        self.charges: list[Charge] = []
        self.credits: list[Credit] = []

    @property
    def deadline(self) -> datetime | None:
        return timer(self.state, self.active_until, self.review_ends_at)

    def decision(self) -> Decision:
        o = self.original
        outcome = Outcome(
            self.contract,
            o.contract_version,
            o.ref,
            o.customer,
            self.state,
            o.opened_at,
            self.active_until,
            self.clock,
            self.scheduled,
            self.review_reason,
            self.review_ends_at,
            self.settled_at,
            self.observed,
            self.last_verdict,
            self.contested,
            self.charged,
            self.credited,
        )
        effects = Effects(
            tuple(self.entries), self.deadline, tuple(self.charges), tuple(self.credits)
        )
        return Decision(outcome, effects)


def _advance(draft: _Draft, now: datetime) -> None:
    """Fire every deadline due at ``now``, in deadline order, each stamped with its own time."""
    deadline = draft.deadline
    while deadline is not None and deadline <= now:
        if draft.state is State.OPEN:
            scheduled = schedule_on_timeout(draft.last_verdict, draft.contract.on_timeout)
            _begin_review(draft, ReviewReason.ACTIVITY_TIMEOUT, scheduled, deadline)
        else:
            _end_review(draft, deadline)
        deadline = draft.deadline


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
            "active_until": active_until,
        },
    )
    return Decision(outcome, Effects(entries=(entry,), deadline=active_until))


# Signals and checks ---------------------------------------------------------------------


def _signal(draft: _Draft, signal: Signal, now: datetime) -> None:
    late = draft.state is State.CONFIRMED or draft.state is State.CANCELLED
    draft.entries.append(
        Entry(
            "signal",
            now,
            {
                "id": signal.id,
                "signal": signal.signal,
                "value": signal.value,
                "at": signal.at,
                "data": signal.data,
                "received_at": now,
                "late": late,
            },
        )
    )
    draft.observed = _observe(draft.observed, signal)
    verdict = _check(draft, now)
    if late:
        _after_settlement(draft, verdict, signal, now)
        return
    draft.last_verdict = verdict
    if draft.state is State.OPEN:
        if verdict is Verdict.MET:
            _begin_review(draft, ReviewReason.CONDITIONS_MET, Scheduled.CONFIRM, now)
        return
    assert draft.state is State.IN_REVIEW
    assert draft.review_reason is not None
    scheduled = schedule_on_check(draft.review_reason, verdict, draft.contract.on_timeout)
    if scheduled is not draft.scheduled:
        before = draft.state
        draft.scheduled = scheduled
        _record_transition(draft, before, Event.CHECK, now)


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


def _check(draft: _Draft, now: datetime) -> Verdict:
    """One check. Its entry records the verdict and the values used; the plain-text
    explanation is derived from them when history is read (see ``explain_check``)."""
    values = {name: o.value for name, o in draft.observed.items() if o.value is not None}
    verdict = draft.contract.condition.verdict(values)
    draft.entries.append(Entry("check", now, {"verdict": verdict.value, "values": values}))
    return verdict


def _after_settlement(draft: _Draft, verdict: Verdict, signal: Signal, now: datetime) -> None:
    if draft.state is not State.CONFIRMED or verdict is not Verdict.FAILED:
        return
    policy = draft.contract.after_settlement
    if policy is AfterSettlement.FLAG:
        if not draft.contested:  # an open dispute: a second failing late signal opens none
            named = signal.signal if signal.id is None else f"{signal.signal} ({signal.id})"
            _open_dispute(draft, f"late signal {named} failed the check", SYSTEM, now, signal)
        return
    if policy is AfterSettlement.CREDIT:
        assert draft.charged is not None
        remaining = creditable(draft.charged, (draft.credited,))
        if remaining > 0:
            currency = draft.contract.price.currency
            draft.credits.append(Credit(remaining, currency, now, "after_settlement"))
            draft.credited += remaining
            data = {
                "amount": money_text(remaining),
                "currency": currency,
                "reason": "after_settlement",
                "signal": signal.id,
            }
            draft.entries.append(Entry("credit", now, data))
        return
    assert policy is AfterSettlement.IGNORE


# Disputes ---------------------------------------------------------------------------------

SYSTEM = "system"


def _open_dispute(
    draft: _Draft, reason: str, by: str, now: datetime, signal: Signal | None = None
) -> None:
    if draft.state is not State.CONFIRMED:
        raise NotConfirmed(draft.state)
    if draft.contested:
        raise DisputeOpen()
    draft.contested = True
    data: dict[str, Any] = {"action": "opened", "by": by, "reason": reason}
    if signal is not None:
        data["signal"] = signal.id
    draft.entries.append(Entry("dispute", now, data))


def _resolve_dispute(draft: _Draft, event: ResolveDispute, now: datetime) -> None:
    if not draft.contested:
        raise NoOpenDispute()
    assert draft.state is State.CONFIRMED
    assert draft.charged is not None
    data: dict[str, Any] = {
        "action": "resolved", "by": event.by, "resolution": event.resolution, "note": event.note,
    }  # fmt: skip
    if event.resolution == "reject":
        draft.contested = False
        draft.entries.append(Entry("dispute", now, data))
        return
    currency = draft.contract.price.currency
    remaining = creditable(draft.charged, (draft.credited,))
    amount = remaining if event.amount is None else event.amount
    if remaining <= 0 or amount > remaining:
        raise CreditExceedsCharge(amount, remaining, currency)
    assert amount > 0, "a credit is positive (checked where it is parsed)"
    draft.contested = False
    data["amount"] = money_text(amount)
    draft.entries.append(Entry("dispute", now, data))
    draft.credits.append(Credit(amount, currency, now, "dispute"))
    draft.credited += amount
    credit = {"amount": money_text(amount), "currency": currency, "reason": "dispute",
              "note": event.note}  # fmt: skip
    draft.entries.append(Entry("credit", now, credit))


# Windows and settlement -----------------------------------------------------------------


def _begin_review(draft: _Draft, reason: ReviewReason, scheduled: Scheduled, at: datetime) -> None:
    event = (
        Event.CONDITIONS_MET if reason is ReviewReason.CONDITIONS_MET else Event.ACTIVITY_TIMEOUT
    )
    before = draft.state
    draft.state = transition(before, event, State.IN_REVIEW)
    draft.scheduled = scheduled
    draft.review_reason = reason
    draft.review_ends_at = at + timedelta(seconds=draft.contract.review_window_s)
    _record_transition(draft, before, event, at)
    if draft.review_ends_at <= at:  # a review window of 0 settles at once
        _end_review(draft, draft.review_ends_at)


def _end_review(draft: _Draft, deadline: datetime) -> None:
    assert draft.scheduled is not None
    before = draft.state
    _settle(draft, SETTLES_AS[draft.scheduled], Event.REVIEW_WINDOW_ENDED, deadline)
    _record_transition(draft, before, Event.REVIEW_WINDOW_ENDED, deadline)
    _book(draft, deadline)


def _settle_manually(draft: _Draft, settle: Settle, now: datetime) -> None:
    event = Event.MANUAL_CONFIRM if settle.decision is Scheduled.CONFIRM else Event.MANUAL_CANCEL
    before = draft.state
    _settle(draft, SETTLES_AS[settle.decision], event, now)
    draft.scheduled = settle.decision
    _record_transition(draft, before, event, now, note=settle.reason, by=settle.by)
    _book(draft, now)


def _settle(draft: _Draft, to: State, event: Event, at: datetime) -> None:
    draft.state = transition(draft.state, event, to)
    draft.settled_at = at


def _book(draft: _Draft, at: datetime) -> None:
    if draft.state is not State.CONFIRMED:
        return
    price = draft.contract.price
    assert price.amount >= 0, "a charge is never negative"
    assert draft.charged is None, "a confirmed outcome books exactly one charge"
    draft.charges.append(Charge(price.amount, price.currency, at))
    data = {"amount": money_text(price.amount), "currency": price.currency}
    draft.entries.append(Entry("charge", at, data))
    draft.charged = price.amount
    draft.credited = ZERO


def _record_transition(
    draft: _Draft,
    before: State,
    event: Event,
    at: datetime,
    *,
    note: str | None = None,
    by: str | None = None,
) -> None:
    data: dict[str, Any] = {
        "from": before.value,
        "to": draft.state.value,
        "scheduled": draft.scheduled.value if draft.scheduled is not None else None,
        "reason": event.value,
        "review_reason": draft.review_reason.value if draft.review_reason else None,
        "active_until": draft.active_until,
        "review_ends_at": draft.review_ends_at,
        "settled_at": draft.settled_at,
    }
    if note is not None:
        data["note"] = note
    if by is not None:
        data["by"] = by
    draft.entries.append(Entry("transition", at, data))
