"""The outcome lifecycle as data: states, events, and the one table of legal transitions.

Read this module first. ``decide()`` in :mod:`earnest.engine.decide` only ever moves an outcome
along an edge of :data:`TRANSITIONS`, and picks scheduled decisions from :data:`SCHEDULE_ON_CHECK`
and :func:`schedule_on_timeout`. ::

    open ──check met────────────▶ in_review (scheduled confirm, reason conditions_met)
    open ──active_for ends──────▶ in_review (reason activity_timeout)
    in_review ──check───────────▶ in_review (scheduled flips both ways)
    in_review ──review ends─────▶ confirmed | cancelled (as scheduled)
    open | in_review ──settle───▶ confirmed | cancelled (an admin's decision)
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from earnest.contract.condition import Verdict
from earnest.contract.model import OnTimeout
from earnest.errors import Conflict, Invalid


class State(StrEnum):
    OPEN = "open"
    IN_REVIEW = "in_review"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"

    @property
    def settled(self) -> bool:
        return self in SETTLED


SETTLED = frozenset({State.CONFIRMED, State.CANCELLED})


class Scheduled(StrEnum):
    """The decision an outcome in review will take when its window ends."""

    CONFIRM = "confirm"
    CANCEL = "cancel"


class ReviewReason(StrEnum):
    CONDITIONS_MET = "conditions_met"
    ACTIVITY_TIMEOUT = "activity_timeout"


class Event(StrEnum):
    """What moves an outcome. Also the ``reason`` recorded on each transition entry."""

    CONDITIONS_MET = "conditions_met"  # a check was met while open
    ACTIVITY_TIMEOUT = "activity_timeout"  # active_until passed while open
    CHECK = "check"  # a check in review changed the scheduled decision
    REVIEW_WINDOW_ENDED = "review_window_ended"
    MANUAL_CONFIRM = "manual_confirm"
    MANUAL_CANCEL = "manual_cancel"


# (state, event) -> the states it may lead to. Anything absent is illegal.
TRANSITIONS: dict[tuple[State, Event], frozenset[State]] = {
    (State.OPEN, Event.CONDITIONS_MET): frozenset({State.IN_REVIEW}),
    (State.OPEN, Event.ACTIVITY_TIMEOUT): frozenset({State.IN_REVIEW}),
    (State.OPEN, Event.MANUAL_CONFIRM): frozenset({State.CONFIRMED}),
    (State.OPEN, Event.MANUAL_CANCEL): frozenset({State.CANCELLED}),
    (State.IN_REVIEW, Event.CHECK): frozenset({State.IN_REVIEW}),
    (State.IN_REVIEW, Event.REVIEW_WINDOW_ENDED): frozenset({State.CONFIRMED, State.CANCELLED}),
    (State.IN_REVIEW, Event.MANUAL_CONFIRM): frozenset({State.CONFIRMED}),
    (State.IN_REVIEW, Event.MANUAL_CANCEL): frozenset({State.CANCELLED}),
}

# While in review, each check sets the scheduled decision. ``None`` means "the contract's
# on_timeout": an undecided check in an activity-timeout review keeps the no-news default.
SCHEDULE_ON_CHECK: dict[tuple[ReviewReason, Verdict], Scheduled | None] = {
    (ReviewReason.CONDITIONS_MET, Verdict.MET): Scheduled.CONFIRM,
    (ReviewReason.CONDITIONS_MET, Verdict.FAILED): Scheduled.CANCEL,
    (ReviewReason.CONDITIONS_MET, Verdict.UNDECIDED): Scheduled.CANCEL,
    (ReviewReason.ACTIVITY_TIMEOUT, Verdict.MET): Scheduled.CONFIRM,
    (ReviewReason.ACTIVITY_TIMEOUT, Verdict.FAILED): Scheduled.CANCEL,
    (ReviewReason.ACTIVITY_TIMEOUT, Verdict.UNDECIDED): None,
}

SETTLES_AS: dict[Scheduled, State] = {
    Scheduled.CONFIRM: State.CONFIRMED,
    Scheduled.CANCEL: State.CANCELLED,
}


def on_timeout(policy: OnTimeout) -> Scheduled:
    return Scheduled.CONFIRM if policy is OnTimeout.CONFIRM else Scheduled.CANCEL


def schedule_on_check(reason: ReviewReason, verdict: Verdict, policy: OnTimeout) -> Scheduled:
    scheduled = SCHEDULE_ON_CHECK[(reason, verdict)]
    return on_timeout(policy) if scheduled is None else scheduled


def schedule_on_timeout(last_verdict: Verdict | None, policy: OnTimeout) -> Scheduled:
    """The activity window ended with the conditions never met."""
    if last_verdict is Verdict.FAILED:
        return Scheduled.CANCEL
    return on_timeout(policy)


def timer(state: State, active_until: datetime, review_ends_at: datetime | None) -> datetime | None:
    """An outcome's one timer: the activity window's end while open, the review window's end
    while in review, none once settled."""
    if state is State.OPEN:
        return active_until
    if state is State.IN_REVIEW:
        return review_ends_at
    return None


class IllegalTransition(Conflict):
    """An input that the outcome's state does not allow, such as settling a settled outcome."""

    code = "illegal_transition"

    def __init__(self, state: State, event: Event) -> None:
        self.state = state
        self.event = event
        super().__init__(f"an outcome that is {state} cannot take {event}")


class NotConfirmed(Conflict):
    """A dispute for an outcome that is not confirmed: there is no charge to dispute."""

    code = "not_confirmed"

    def __init__(self, state: State) -> None:
        self.state = state
        super().__init__(f"only a confirmed outcome can be disputed; this one is {state}")


class DisputeOpen(Conflict):
    code = "dispute_open"

    def __init__(self) -> None:
        super().__init__("the outcome already has an open dispute; resolve it first")


class NoOpenDispute(Conflict):
    code = "no_open_dispute"

    def __init__(self) -> None:
        super().__init__("the outcome has no open dispute to resolve")


class CreditExceedsCharge(Invalid):
    code = "credit_exceeds_charge"

    def __init__(self, amount: Decimal | None, creditable: Decimal, currency: str) -> None:
        self.creditable = creditable
        if creditable <= 0:
            message = "nothing is left to credit: earlier credits took the whole charge"
        else:
            message = (
                f"a credit of {amount} {currency} is more than the {creditable} {currency}"
                " still creditable (the charge less earlier credits)"
            )
        super().__init__(message, field="amount")


def transition(state: State, event: Event, to: State) -> State:
    if to not in TRANSITIONS.get((state, event), ()):
        raise IllegalTransition(state, event)
    return to
