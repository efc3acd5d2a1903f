"""The engine's data: an outcome's state, the inputs that move it, and the effects it yields.

Everything here is an immutable value: frozen ``msgspec.Struct`` records, which are built
about six times faster than frozen dataclasses (an outcome is built for every decision; see
docs/benchmarks.md). Times are aware UTC datetimes supplied by the caller; the engine never
reads a clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Literal

import msgspec

from earnest.contract.condition import Value, Verdict
from earnest.contract.model import Contract
from earnest.engine.lifecycle import ReviewReason, Scheduled, State, timer

EMPTY: Mapping[str, Any] = MappingProxyType({})


class Observed(msgspec.Struct, frozen=True):
    """The latest value of one signal name: latest by ``at``, ties broken by arrival order.

    ``value`` is ``None`` when the latest signal retracted the name (sent with value null).
    """

    value: Value | None
    at: datetime


class Outcome(msgspec.Struct, frozen=True):
    """One potential charge: a contract instance for one unit of work, for one customer.

    ``ref`` is the vendor's outcome reference (the API's ``outcome`` field). ``clock`` is the
    last engine time applied to it; the engine never lets an outcome's time run backwards.
    """

    contract: Contract
    contract_version: int
    ref: str
    customer: str
    state: State
    opened_at: datetime
    active_until: datetime
    clock: datetime
    scheduled: Scheduled | None = None
    review_reason: ReviewReason | None = None
    review_ends_at: datetime | None = None
    settled_at: datetime | None = None
    observed: Mapping[str, Observed] = EMPTY
    last_verdict: Verdict | None = None
    contested: bool = False
    charged: Decimal | None = None  # the amount booked at settlement, when confirmed
    credited: Decimal = Decimal(0)  # the sum of credits booked against that charge

    @property
    def values(self) -> dict[str, Value]:
        """The current value of every seen name (retracted names are unseen)."""
        return {name: o.value for name, o in self.observed.items() if o.value is not None}

    @property
    def deadline(self) -> datetime | None:
        """The next time something happens to this outcome with no input: its one timer."""
        return timer(self.state, self.active_until, self.review_ends_at)


# Inputs ---------------------------------------------------------------------------------


class Open(msgspec.Struct, frozen=True):
    """Begin tracking an outcome. ``decide(None, Open(...), now)`` creates it."""

    contract: Contract
    contract_version: int
    ref: str
    customer: str


class Signal(msgspec.Struct, frozen=True):
    """One fact about an outcome. ``value`` None retracts the name; ``at`` orders values."""

    signal: str
    value: Value | None
    at: datetime
    id: str | None = None
    data: Mapping[str, Any] | None = None


class DeadlineReached(msgspec.Struct, frozen=True):
    """Fire every deadline of the outcome that is due at ``now``, each stamped with its time."""


class Settle(msgspec.Struct, frozen=True):
    """An admin's manual decision."""

    decision: Scheduled
    reason: str
    by: str | None = None


class OpenDispute(msgspec.Struct, frozen=True):
    """Dispute a confirmed outcome (an admin, or ``system`` for ``after_settlement: flag``)."""

    reason: str
    by: str


class ResolveDispute(msgspec.Struct, frozen=True):
    """Resolve the open dispute: ``reject`` (the charge stands) or ``credit`` ``amount``
    (default: all that is still creditable)."""

    resolution: Literal["reject", "credit"]
    note: str
    by: str
    amount: Decimal | None = None


Input = Open | Signal | DeadlineReached | Settle | OpenDispute | ResolveDispute


# Effects --------------------------------------------------------------------------------


class Entry(msgspec.Struct, frozen=True):
    """One history entry, before the store gives it a ``seq`` and a hash.

    ``at`` is the engine time it happened (``recorded_at``); ``data`` holds only JSON values,
    Decimals for numbers, and RFC 3339 strings for times.
    """

    kind: str
    at: datetime
    data: Mapping[str, Any]


class Charge(msgspec.Struct, frozen=True):
    """A confirmed outcome's one ledger entry, booked at settlement for the pinned price."""

    amount: Decimal
    currency: str
    at: datetime


class Credit(msgspec.Struct, frozen=True):
    """A ledger entry reversing all or part of a charge."""

    amount: Decimal
    currency: str
    at: datetime
    reason: str


class Effects(msgspec.Struct, frozen=True):
    """What the caller must make durable, in one transaction, for one decision.

    ``deadline`` is the outcome's timer after the decision (``None``: no timer).
    """

    entries: tuple[Entry, ...] = ()
    deadline: datetime | None = None
    charges: tuple[Charge, ...] = ()
    credits: tuple[Credit, ...] = ()


class Decision(msgspec.Struct, frozen=True):
    outcome: Outcome
    effects: Effects
