"""Disputes (SPEC 6): open one on a confirmed outcome, resolve it by ``reject`` or ``credit``,
list them. The engine decides (``OpenDispute``, ``ResolveDispute``), so a dispute is history:
its ``dispute`` entries carry the actor, and ``replay`` rebuilds it; the recorder keeps the
``disputes`` rows and books the credit into the customer's current period.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from earnest.clock import Clock
from earnest.engine import OpenDispute, Outcome, ResolveDispute, decide
from earnest.errors import Invalid
from earnest.rules import UnknownOutcome
from earnest.service.pages import Page, check_limit, page_of
from earnest.service.recorder import Recorder
from earnest.store import Database, Tx
from earnest.store.disputes import Dispute, latest_dispute, list_disputes
from earnest.store.outcomes import StoredOutcome, load_one

__all__ = ["Dispute", "DisputeAnswer", "Disputes", "parse_amount"]

MAX_REASON = 1_000  # characters of a reason or a note
MAX_PLACES = 6
_AMOUNT = re.compile(r"[0-9]{1,15}(\.[0-9]{1,6})?")
STATES = ("open", "resolved")


def parse_amount(value: Any, *, field: str = "amount") -> Decimal:
    """A credit amount: a positive decimal of at most 6 places, as a string or a number."""
    text = value if isinstance(value, str) else None
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        text = format(Decimal(value), "f")
    if text is None:
        raise Invalid(f'{field} is a decimal string such as "12.50", got {value!r}', field=field)
    if not _AMOUNT.fullmatch(text):
        try:
            parsed = Decimal(text)
        except InvalidOperation:
            parsed = None
        if parsed is not None and parsed.is_finite() and parsed <= 0:
            raise Invalid(f"{field} must be positive, got {text}", field=field)
        if parsed is not None and parsed.is_finite() and -parsed.as_tuple().exponent > MAX_PLACES:  # type: ignore[operator]
            raise Invalid(
                f"{field} has at most {MAX_PLACES} decimal places, got {text}", field=field
            )
        raise Invalid(f'{field} is a positive decimal such as "12.50", got {text!r}', field=field)
    amount = Decimal(text)
    if amount <= 0:
        raise Invalid(f"{field} must be positive, got {text}", field=field)
    return amount


def dispute_text(value: Any, field: str, *, required: bool) -> str:
    """A dispute's reason or note as given, checked (shared by every way to open one)."""
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise Invalid(f"{field} is required: a non-empty text", field=field)
    if len(value) > MAX_REASON:
        raise Invalid(f"{field} is at most {MAX_REASON} characters", field=field)
    if "\x00" in value:
        raise Invalid(f"{field} must not contain U+0000", field=field)
    return value.strip()


@dataclass(frozen=True, slots=True)
class DisputeAnswer:
    dispute: Dispute
    outcome: Outcome


class Disputes:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def open(
        self, contract: str, ref: str, reason: Any, *, actor: str, at: datetime | None = None
    ) -> DisputeAnswer:
        """Dispute the confirmed outcome ``(contract, ref)``: 409 ``not_confirmed`` or
        ``dispute_open`` otherwise."""
        why = dispute_text(reason, "reason", required=True)
        return self._decide(contract, ref, OpenDispute(why, actor), at or self.clock())

    def resolve(
        self,
        contract: str,
        ref: str,
        resolution: Any,
        note: Any,
        *,
        amount: Any = None,
        actor: str,
        at: datetime | None = None,
    ) -> DisputeAnswer:
        """Resolve the open dispute: ``reject``, or ``credit`` ``amount`` (default: all that
        is creditable) into the customer's current period."""
        if resolution not in ("reject", "credit"):
            raise Invalid(f"resolution is reject or credit, got {resolution!r}", field="resolution")
        kind: Literal["reject", "credit"] = resolution
        text = dispute_text(note, "note", required=False)
        credit = None
        if amount is not None:
            if kind == "reject":
                raise Invalid("amount is only for a credit resolution", field="amount")
            credit = parse_amount(amount)
        event = ResolveDispute(kind, text, actor, credit)
        return self._decide(contract, ref, event, at or self.clock())

    def _decide(
        self, contract: str, ref: str, event: OpenDispute | ResolveDispute, now: datetime
    ) -> DisputeAnswer:
        """Apply ``event`` to the outcome at ``now`` (the engine refuses what SPEC 6 refuses)
        and record the decision; the dispute as it stands after it."""
        with self.db.write() as tx:
            found = load_one(tx, contract, ref, lock=True)
            if found is None:
                raise UnknownOutcome(contract, ref)
            return record_dispute(tx, found, event, now)

    def list(
        self,
        *,
        state: str | None = None,
        customer: str | None = None,
        limit: int,
        after: tuple[int] | None = None,
    ) -> Page[Dispute]:
        """Newest first; ``after`` is a previous page's ``after`` (the last dispute's id)."""
        check_limit(limit)
        if state is not None and state not in STATES:
            raise Invalid(f"state is open or resolved, got {state!r}", field="state")
        with self.db.read() as tx:
            found = list_disputes(
                tx, state=state, customer=customer, limit=limit + 1,
                before_id=None if after is None else after[0],
            )  # fmt: skip
        return page_of(found, limit, lambda last: (last.id,))


def record_dispute(
    tx: Tx, found: StoredOutcome, event: OpenDispute | ResolveDispute, now: datetime
) -> DisputeAnswer:
    """Apply ``event`` to ``found`` (loaded locked in ``tx``) at ``now``, the engine refusing
    what SPEC 6 refuses, and record the decision in ``tx``; the dispute as it stands after."""
    decided = decide(found.outcome, event, now)
    recorder = Recorder()
    recorder.record(found, decided)
    recorder.flush(tx)
    dispute = latest_dispute(tx, found.id)
    assert dispute is not None
    return DisputeAnswer(dispute, decided.outcome)
