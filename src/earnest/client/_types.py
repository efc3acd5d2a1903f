"""The server's JSON as typed dictionaries (SPEC section 8): what you get is what it sent.

Every JSON number arrives as ``int`` (whole) or ``Decimal`` (anything else), never a float.
Times are RFC 3339 strings.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal, TypedDict

#: A signal's value: exact numbers only (``Decimal`` or ``int``), never a float.
Value = bool | int | Decimal | str | None

#: A contract as the server returns it: its fields (SPEC section 2) plus ``key``,
#: ``version``, ``fingerprint``, ``archived`` and ``created_at``.
Contract = dict[str, Any]


class Price(TypedDict):
    amount: str
    currency: str


class Check(TypedDict):
    verdict: str
    explanation: str


class LedgerEntry(TypedDict):
    """A charge or a credit booked for an outcome; ``amount`` is exact decimal text."""

    id: int
    amount: str
    currency: str
    period: str  # the billing period's first day, YYYY-MM-DD
    period_end: str  # the day after its last, YYYY-MM-DD
    invoice: str  # the invoice it is on
    booked_at: str


class Outcome(TypedDict):
    contract: str
    contract_version: int
    outcome: str
    customer: str
    state: str
    scheduled: str | None
    review_reason: str | None
    opened_at: str
    active_until: str | None
    review_ends_at: str | None
    settled_at: str | None
    price: Price
    values: dict[str, Value]
    last_check: Check | None
    charge: LedgerEntry | None
    credits: list[LedgerEntry]
    net: str | None  # the charge less its credits, exact decimal text; None if no charge
    contested: bool


class Signal(TypedDict):
    id: str | None
    contract: str
    outcome: str
    customer: str | None
    signal: str
    value: Value
    at: str
    data: dict[str, Any] | None


class SignalResult(TypedDict):
    """``POST /v1/signals``: ``duplicate`` is true when the ``id`` was already applied;
    ``warnings`` is not empty when the signal was accepted but is likely a mistake (its name
    appears in no condition of its contract)."""

    duplicate: bool
    signal: Signal
    outcome: Outcome
    warnings: list[str]


class ItemError(TypedDict):
    status: int
    code: str
    message: str
    field: str | None


class _BatchItemBase(TypedDict):
    index: int
    status: Literal["accepted", "duplicate", "rejected"]


class BatchItem(_BatchItemBase, total=False):
    error: ItemError  # only when rejected
    warnings: list[str]  # only when accepted with warnings


class BatchResult(TypedDict):
    accepted: int
    duplicates: int
    rejected: int
    results: list[BatchItem]


class OpenResult(TypedDict):
    """``POST /v1/outcomes``: ``opened`` is true on 201, false when it was already open."""

    opened: bool
    outcome: Outcome


class HistoryEntry(TypedDict):
    seq: int
    recorded_at: str
    kind: str
    data: dict[str, Any]
    hash: str


class ContractCheck(TypedDict):
    """``POST /v1/contracts/validate`` on a valid contract (an invalid one raises)."""

    valid: bool
    contract: Contract


class BacktestSide(TypedDict):
    """One side of a backtest's comparison: what happened, or what would have."""

    state: str
    scheduled: str | None
    review_reason: str | None
    settled_at: str | None
    charge: Price | None
    how: str
    explanation: str | None  # the check its decision rests on


class BacktestDifference(TypedDict):
    """An outcome whose decision or charge would differ under the proposed version."""

    outcome: str
    customer: str
    opened_at: str
    contract_version: int  # the version it opened under
    change: str  # "confirmed → cancelled", "price changed", ...
    before: BacktestSide
    after: BacktestSide
    disputes: int
    credited: str | None


class BacktestManual(TypedDict):
    """An outcome settled by hand: its decision stands whatever the proposed version."""

    outcome: str
    customer: str
    opened_at: str
    state: str
    scheduled: str | None
    review_reason: str | None
    settled_at: str | None
    charge: Price | None
    how: str
    explanation: None
    by: str | None
    reason: str


class RevenueChange(TypedDict):
    before: str
    after: str
    difference: str


class BacktestReport(TypedDict):
    """``POST /v1/contracts/{key}/backtest``: what a proposed contract would have changed."""

    contract: str
    version: int
    since: str
    until: str
    as_of: str
    outcomes: int
    signals: int
    replayed: int
    unchanged: int
    changed: int
    still_open: int
    manual: int
    changes: dict[str, int]
    revenue: dict[str, RevenueChange]  # per currency
    credits: dict[str, str]  # as recorded, not re-run
    credited: int
    disputed: int
    differences: list[BacktestDifference]
    differences_truncated: bool
    settled_by_hand: list[BacktestManual]
    settled_by_hand_truncated: bool


class ActivityEntry(TypedDict):
    """One change that is not an outcome's own history (a contract saved, a key revoked, ...),
    with who made it (an API key's id, ``cli`` or ``system``) and the values before and
    after, on the activity log's hash chain."""

    seq: int
    at: str
    actor: str
    action: str
    subject: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    hash: str


# Billing ----------------------------------------------------------------------------------


class Period(TypedDict):
    """A billing period, ``[start, end)``: from 00:00 UTC on a billing day to the next."""

    start: str
    end: str


class BillingPeriod(TypedDict):
    """One of a customer's periods: ``closed`` (its invoices finalized), ``open`` or
    ``upcoming`` (the next one)."""

    start: str
    end: str
    state: Literal["closed", "open", "upcoming"]


class LedgerRecord(TypedDict):
    """A charge or a credit as the ledger lists it; ``amount`` is exact decimal text (a
    credit's positive), ``reason`` a credit's (the dispute's note, or the late signal)."""

    id: int
    kind: Literal["charge", "credit"]
    contract: str
    outcome: str
    customer: str
    amount: str
    currency: str
    period: Period
    invoice: str
    booked_at: str
    reason: str | None


class ChargeLine(TypedDict):
    """Charges grouped by contract, contract version and unit price."""

    kind: Literal["charge"]
    description: str
    contract: str
    contract_version: int
    quantity: int
    unit_price: str
    amount: str


class CreditLine(TypedDict):
    """One credit; ``amount`` negative."""

    kind: Literal["credit"]
    outcome: str
    contract: str
    amount: str
    reason: str | None


class InvoiceSummary(TypedDict):
    """An invoice as lists show it (without its lines). Money is exact decimal text;
    ``total`` = ``subtotal`` − ``credits`` rounded to the currency's minor unit."""

    id: str
    number: str | None  # assigned at finalization
    status: Literal["draft", "finalized"]
    customer: str
    currency: str
    period: Period
    subtotal: str
    credits: str
    total: str
    finalized_at: str | None


class Invoice(InvoiceSummary):
    """The invoice object (SPEC section 8): its charge lines, then its credit lines."""

    lines: list[ChargeLine | CreditLine]


class AuditItem(TypedDict):
    """One outcome behind an invoice: its entries on that invoice and its full history."""

    contract: str
    outcome: str
    customer: str
    ledger: list[LedgerRecord]
    history: list[HistoryEntry]


class Dispute(TypedDict):
    """A challenge to a confirmed outcome's charge; ``credit`` is set when it was resolved
    by a credit. ``opened_by``/``resolved_by``: an API key's id, ``cli``, ``system``..."""

    id: int
    contract: str
    outcome: str
    customer: str
    state: Literal["open", "resolved"]
    reason: str
    opened_by: str
    opened_at: str
    resolution: Literal["reject", "credit"] | None
    note: str | None
    resolved_by: str | None
    resolved_at: str | None
    credit: Price | None


class Settings(TypedDict):
    """The seller's details, the invoice number prefix, the grace before a period's invoices
    are finalized (a duration such as ``5m``) and the public base URL."""

    seller_name: str | None
    seller_address: str | None
    seller_tax_id: str | None
    invoice_prefix: str
    invoice_grace: str
    public_base_url: str | None


class PortalLink(TypedDict):
    """A link to a customer's evidence pages, never with its token; ``created_by`` an API
    key's id, a dashboard user's email or ``cli``."""

    id: str
    customer: str
    created_at: str
    expires_at: str
    revoked_at: str | None
    created_by: str
    state: Literal["live", "expired", "revoked"]


class NewPortalLink(PortalLink):
    """A link just created: ``url`` (``.../portal/<token>``) is shown this once, never again."""

    url: str


# Webhooks ---------------------------------------------------------------------------------

#: The event types an endpoint may want (SPEC section 10).
EventType = Literal[
    "outcome.in_review",
    "outcome.confirmed",
    "outcome.cancelled",
    "outcome.contested",
    "charge.booked",
    "credit.booked",
    "dispute.opened",
    "dispute.resolved",
    "invoice.finalized",
]


class Webhook(TypedDict):
    """A webhook endpoint, never with its secret. ``events`` None: every type;
    ``disabled_reason``: why Earnest disabled it (a 410 answer); ``previous_secret_until``:
    after a rotation, the previous secret signs too until then."""

    id: str
    url: str
    events: list[EventType] | None
    description: str | None
    enabled: bool
    disabled_reason: str | None
    previous_secret_until: str | None
    created_at: str


class NewWebhook(Webhook):
    """An endpoint just added, or its secret just rotated: ``secret`` (``whsec_...``) is
    shown this once, never again."""

    secret: str


class WebhookChanges(TypedDict, total=False):
    """What :meth:`Client.update_webhook` may change; a field left out stays as it is,
    ``events=None`` sends every type, ``description=None`` clears it, ``enabled=True``
    resumes an endpoint a 410 disabled."""

    url: str
    events: list[EventType] | None
    description: str | None
    enabled: bool


class DeliveryTry(TypedDict):
    """One attempt: ``status`` None when no answer came (``error`` says why); ``response``
    the answer's first 500 characters."""

    at: str
    status: int | None
    duration_ms: int
    error: str | None
    response: str | None


class Delivery(TypedDict):
    """One event for one endpoint; ``event_id`` is the ``webhook-id`` header, ``next_at``
    the next try while ``pending``; ``failed`` once every scheduled try failed."""

    id: int
    event_id: str
    event_type: EventType
    state: Literal["pending", "delivered", "failed"]
    attempts: int
    next_at: str | None
    created_at: str
    finished_at: str | None
    tries: list[DeliveryTry]
