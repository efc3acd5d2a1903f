"""The contract: one billable outcome's definition (SPEC section 2)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from earnest.contract.condition import Condition
    from earnest.contract.money import Money


class OnTimeout(StrEnum):
    CONFIRM = "confirm"
    CANCEL = "cancel"


class AfterSettlement(StrEnum):
    FLAG = "flag"
    CREDIT = "credit"
    IGNORE = "ignore"


@dataclass(frozen=True, slots=True)
class Contract:
    """A validated contract's content. Versions are assigned by the store, not here.

    ``conditions`` keeps the source as written (one expression, or a list whose items must all
    hold); ``condition`` is that source compiled once.
    """

    key: str
    name: str | None
    description: str | None
    conditions: str | tuple[str, ...]
    condition: Condition
    price: Money
    active_for_s: int
    review_window_s: int
    on_timeout: OnTimeout = OnTimeout.CANCEL
    after_settlement: AfterSettlement = AfterSettlement.FLAG
