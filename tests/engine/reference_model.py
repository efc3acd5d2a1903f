"""A reference model of the outcome lifecycle (SPEC section 4), written without the engine.

It is deliberately plain: mutable objects, one method per input, no tables. The state machine
test drives it and the real engine with the same inputs and compares them after every step.
Only the contract (its condition, price, windows and policies) comes from the product code;
the condition's verdict is used as an oracle, since the condition language is tested elsewhere.

Times are aware datetimes. Every method takes the engine time ``now`` the input arrives at.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from earnest.contract.model import Contract

OPEN = "open"
IN_REVIEW = "in_review"
CONFIRMED = "confirmed"
CANCELLED = "cancelled"
SETTLED = (CONFIRMED, CANCELLED)


class RefIllegal(Exception):
    """The input is not allowed in the outcome's state (settling a settled outcome)."""


@dataclass
class RefEntry:
    """One history entry: its kind, its time and the data that matters for comparison.

    Money (a charge's or credit's ``amount``) is its exact decimal text, as in SPEC section 7.
    """

    kind: str
    at: datetime
    data: dict[str, Any]


@dataclass
class RefLatest:
    """The latest value of one name. ``value`` None: retracted (unseen), ``at`` still counts."""

    value: Any
    at: datetime


@dataclass
class RefOutcome:
    contract: Contract
    ref: str
    customer: str
    opened_at: datetime
    active_until: datetime
    clock: datetime
    state: str = OPEN
    scheduled: str | None = None
    review_reason: str | None = None
    review_ends_at: datetime | None = None
    settled_at: datetime | None = None
    latest: dict[str, RefLatest] = field(default_factory=dict)
    last_verdict: str | None = None
    contested: bool = False
    charges: list[tuple[Decimal, str, datetime]] = field(default_factory=list)
    credits: list[tuple[Decimal, str, datetime]] = field(default_factory=list)
    entries: list[RefEntry] = field(default_factory=list)

    # Reading ---------------------------------------------------------------------------

    @property
    def values(self) -> dict[str, Any]:
        return {name: v.value for name, v in self.latest.items() if v.value is not None}

    @property
    def charged(self) -> Decimal:
        return sum((amount for amount, _, _ in self.charges), start=Decimal(0))

    @property
    def credited(self) -> Decimal:
        return sum((amount for amount, _, _ in self.credits), start=Decimal(0))

    # Inputs ----------------------------------------------------------------------------

    @classmethod
    def open(cls, contract: Contract, ref: str, customer: str, now: datetime) -> RefOutcome:
        active_until = now + timedelta(seconds=contract.active_for_s)
        outcome = cls(contract, ref, customer, now, active_until, now)
        outcome.record("opened", now, active_until=active_until)
        return outcome

    def signal(self, name: str, value: Any, at: datetime, now: datetime) -> list[RefEntry]:
        start = len(self.entries)
        now = self.advance(now)
        late = self.state in SETTLED
        self.record("signal", now, signal=name, value=value, at=at, late=late)
        current = self.latest.get(name)
        # Latest by ``at``; on a tie the later arrival wins, so only a strictly older one loses.
        if current is None or at >= current.at:
            self.latest[name] = RefLatest(value, at)
        verdict = self.check(now)
        if self.state == OPEN:
            if verdict == "met":
                self.begin_review("conditions_met", "confirm", now)
        elif self.state == IN_REVIEW:
            self.reschedule(verdict, now)
        elif self.state == CONFIRMED and verdict == "failed":
            self.after_settlement(now)
        return self.entries[start:]

    def deadline_reached(self, now: datetime) -> list[RefEntry]:
        start = len(self.entries)
        self.advance(now)
        return self.entries[start:]

    def settle(self, decision: str, now: datetime) -> list[RefEntry]:
        """An admin's decision. Raises RefIllegal, changing nothing, if already settled."""
        trial = copy.deepcopy(self)
        start = len(trial.entries)
        now = trial.advance(now)
        if trial.state in SETTLED:
            raise RefIllegal(trial.state)
        reason = "manual_confirm" if decision == "confirm" else "manual_cancel"
        trial.finish(decision, reason, now)
        self.__dict__.update(trial.__dict__)
        return self.entries[start:]

    # Steps -----------------------------------------------------------------------------

    def advance(self, now: datetime) -> datetime:
        """Clamp ``now`` to the clock, fire every deadline due by then, and return it."""
        now = max(now, self.clock)
        while True:
            if self.state == OPEN and self.active_until <= now:
                self.time_out()
            elif self.state == IN_REVIEW and self.review_ends_at is not None:
                if self.review_ends_at > now:
                    break
                assert self.scheduled is not None
                self.finish(self.scheduled, "review_window_ended", self.review_ends_at)
            else:
                break
        self.clock = now
        return now

    def time_out(self) -> None:
        """The activity window ended with the conditions never met."""
        failed = self.last_verdict == "failed"
        scheduled = "cancel" if failed else self.contract.on_timeout.value
        self.begin_review("activity_timeout", scheduled, self.active_until)

    def begin_review(self, reason: str, scheduled: str, at: datetime) -> None:
        self.state = IN_REVIEW
        self.review_reason = reason
        self.scheduled = scheduled
        self.review_ends_at = at + timedelta(seconds=self.contract.review_window_s)
        self.record(
            "transition",
            at,
            **{"from": OPEN, "to": IN_REVIEW},
            scheduled=scheduled,
            reason=reason,
            review_reason=reason,
            review_ends_at=self.review_ends_at,
        )
        if self.review_ends_at <= at:  # a zero review window settles at once
            self.finish(scheduled, "review_window_ended", at)

    def reschedule(self, verdict: str, now: datetime) -> None:
        if verdict == "met":
            scheduled = "confirm"
        elif verdict == "failed":
            scheduled = "cancel"
        elif self.review_reason == "activity_timeout":
            scheduled = self.contract.on_timeout.value
        else:
            scheduled = "cancel"
        if scheduled != self.scheduled:
            self.scheduled = scheduled
            self.record(
                "transition",
                now,
                **{"from": IN_REVIEW, "to": IN_REVIEW},
                scheduled=scheduled,
                reason="check",
            )

    def finish(self, decision: str, reason: str, at: datetime) -> None:
        # ``scheduled`` becomes the decision taken: the review's own at a window's end, the
        # admin's on a manual settlement.
        before = self.state
        self.scheduled = decision
        self.state = CONFIRMED if decision == "confirm" else CANCELLED
        self.settled_at = at
        self.record(
            "transition",
            at,
            **{"from": before, "to": self.state},
            scheduled=self.scheduled,
            reason=reason,
            settled_at=at,
        )
        if self.state == CONFIRMED:
            price = self.contract.price
            self.charges.append((price.amount, price.currency, at))
            self.record("charge", at, amount=str(price.amount), currency=price.currency)

    def check(self, now: datetime) -> str:
        verdict = str(self.contract.condition.verdict(self.values))
        if self.state not in SETTLED:  # the verdict the decision was made on; late ones don't
            self.last_verdict = verdict
        self.record("check", now, verdict=verdict, values=self.values)
        return verdict

    def after_settlement(self, now: datetime) -> None:
        policy = self.contract.after_settlement.value
        if policy == "flag" and not self.contested:
            self.contested = True
            self.record("dispute", now, action="opened", by="system")
        elif policy == "credit":
            remaining = self.charged - self.credited
            if remaining > 0:
                currency = self.contract.price.currency
                self.credits.append((remaining, currency, now))
                self.record("credit", now, amount=str(remaining), currency=currency)

    def record(self, kind: str, when: datetime, /, **data: Any) -> None:
        self.entries.append(RefEntry(kind, when, dict(data)))
