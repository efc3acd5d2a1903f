"""The API's request and response bodies as msgspec Structs, for the OpenAPI document.

Handlers parse bodies themselves (numbers as exact decimals, precise errors naming the field),
so these types describe the wire format; ``openapi.py`` turns them into JSON Schema.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

# A JSON number. Earnest reads and keeps it as an exact decimal; ``float`` here only makes
# msgspec write ``{"type": "number"}`` (these types describe the wire, they never decode it).
Number = Annotated[float, Meta(description="a JSON number, kept as an exact decimal")]
Value = bool | Number | str | None
Key = Annotated[str, Meta(pattern="^[a-z][a-z0-9_]{0,63}$")]
Ref = Annotated[str, Meta(min_length=1, max_length=255)]


class ErrorDetail(Struct):
    code: str
    message: str
    field: str | None


class Error(Struct):
    error: ErrorDetail


class FieldError(Struct, omit_defaults=True):
    field: str
    message: str
    line: int | None = None
    column: int | None = None
    snippet: str | None = None


class ContractErrorDetail(Struct):
    code: Literal["invalid_contract"]
    message: str
    field: str | None
    errors: list[FieldError]


class ContractError(Struct):
    error: ContractErrorDetail


class Price(Struct):
    amount: Annotated[str, Meta(description="exact decimal text, e.g. '0.99'")]
    currency: Annotated[str, Meta(pattern="^[A-Z]{3}$")]


class ContractIn(Struct, omit_defaults=True, forbid_unknown_fields=True):
    """JSON; the same document as YAML with ``Content-Type: application/yaml``."""

    conditions: str | list[str]
    price: str | Price
    active_for: str | int
    review_window: str | int
    key: Key | UnsetType = UNSET
    name: str | UnsetType | None = UNSET
    description: str | UnsetType | None = UNSET
    on_timeout: Literal["confirm", "cancel"] = "cancel"
    after_settlement: Literal["flag", "credit", "ignore"] = "flag"


class ContractFields(Struct):
    key: Key
    name: str | None
    description: str | None
    conditions: str | list[str]
    price: Price
    active_for: str
    review_window: str
    on_timeout: Literal["confirm", "cancel"]
    after_settlement: Literal["flag", "credit", "ignore"]
    fingerprint: str


class Contract(ContractFields):
    version: int
    archived: bool
    created_at: datetime


class ContractList(Struct):
    items: list[Contract]
    next_cursor: str | None


class Validated(Struct):
    valid: Literal[True]
    contract: ContractFields


State = Literal["open", "in_review", "confirmed", "cancelled"]
Decision = Literal["confirm", "cancel"]
ReviewReason = Literal["conditions_met", "activity_timeout"]


class BacktestSide(Struct):
    """One side of a backtest's comparison: what happened, or what would have."""

    state: State
    scheduled: Decision | None
    review_reason: ReviewReason | None
    settled_at: datetime | None
    charge: Price | None
    how: Annotated[str, Meta(description="how the decision was reached, in a few words")]
    explanation: Annotated[
        str | None, Meta(description="the check its decision rests on, explained")
    ]


class BacktestDifference(Struct):
    """An outcome whose decision or charge would differ under the proposed version."""

    outcome: str
    customer: str
    opened_at: datetime
    contract_version: Annotated[int, Meta(description="the version it opened under")]
    change: Annotated[
        str, Meta(description="e.g. 'confirmed → cancelled', 'price changed', 'still open → …'")
    ]
    before: BacktestSide
    after: BacktestSide
    disputes: Annotated[int, Meta(description="disputes people opened (reported, not re-run)")]
    credited: Annotated[str | None, Meta(description="credits booked, as recorded")]


class BacktestManual(Struct):
    """An outcome settled by hand: its decision stands whatever the proposed version."""

    outcome: str
    customer: str
    opened_at: datetime
    state: State
    scheduled: Decision | None
    review_reason: ReviewReason | None
    settled_at: datetime | None
    charge: Price | None
    how: str
    explanation: None
    by: str | None
    reason: str


class RevenueChange(Struct):
    """Charged revenue in one currency, exact decimal text."""

    before: str
    after: str
    difference: str


class BacktestReport(Struct):
    """What a proposed contract would have changed over the outcomes opened in
    ``[since, until)``, replayed up to ``as_of``."""

    contract: Key
    version: Annotated[int, Meta(description="the proposal's version: its own, or the next")]
    since: datetime
    until: datetime
    as_of: datetime
    outcomes: int
    signals: Annotated[int, Meta(description="recorded signals replayed")]
    replayed: int
    unchanged: int
    changed: int
    still_open: Annotated[int, Meta(description="not settled by as_of under the proposal")]
    manual: Annotated[int, Meta(description="settled by hand: kept, not re-decided")]
    changes: Annotated[dict[str, int], Meta(description="outcomes per kind of change")]
    revenue: dict[str, RevenueChange]
    credits: Annotated[dict[str, str], Meta(description="credits as recorded, per currency")]
    credited: int
    disputed: int
    differences: Annotated[list[BacktestDifference], Meta(description="at most 1,000")]
    differences_truncated: bool
    settled_by_hand: Annotated[list[BacktestManual], Meta(description="at most 1,000")]
    settled_by_hand_truncated: bool


class SignalIn(Struct, omit_defaults=True, forbid_unknown_fields=True):
    contract: Key
    outcome: Ref
    signal: Annotated[str, Meta(pattern="^[A-Za-z_][A-Za-z0-9_]*$", max_length=64)]
    id: Annotated[str, Meta(min_length=1, max_length=255)] | UnsetType = UNSET
    customer: Ref | UnsetType = UNSET
    value: Value = True
    at: datetime | UnsetType = UNSET
    data: dict[str, Any] | UnsetType | None = UNSET


class SignalOut(Struct):
    id: str | None
    contract: str
    outcome: str
    customer: str | None
    signal: str
    value: Value
    at: datetime
    data: dict[str, Any] | None


class Check(Struct):
    verdict: Literal["met", "failed", "undecided"]
    explanation: str


class LedgerEntry(Struct):
    """A charge or a credit booked for an outcome."""

    id: int
    amount: Annotated[str, Meta(description="exact decimal text")]
    currency: str
    period: Annotated[str, Meta(description="the billing period's first day, YYYY-MM-DD")]
    period_end: Annotated[
        str, Meta(description="the day after the billing period's last, YYYY-MM-DD")
    ]
    invoice: Annotated[
        str,
        Meta(
            description="the invoice it is on: its period's, or the customer's first open"
            " one when that period was already finalized"
        ),
    ]
    booked_at: datetime


class Outcome(Struct):
    """The outcome object (SPEC section 8): its state, the values its signals set, the last
    check, and the ledger entries booked for it."""

    contract: str
    contract_version: int
    outcome: str
    customer: str
    state: Literal["open", "in_review", "confirmed", "cancelled"]
    scheduled: Literal["confirm", "cancel"] | None
    review_reason: Literal["conditions_met", "activity_timeout"] | None
    opened_at: datetime
    active_until: datetime
    review_ends_at: datetime | None
    settled_at: datetime | None
    price: Price
    values: dict[str, bool | Number | str]
    last_check: Check | None
    charge: Annotated[
        LedgerEntry | None, Meta(description="booked when confirmed; null until then")
    ]
    credits: Annotated[
        list[LedgerEntry],
        Meta(description="credits booked against the charge (disputes, failed late signals)"),
    ]
    net: Annotated[
        str | None,
        Meta(description="exact decimal text: the charge less its credits (null if no charge)"),
    ]
    contested: bool


Warnings = Annotated[
    list[str],
    Meta(description="accepted, but likely a mistake: a signal no condition of its contract reads"),
]


class SignalAnswer(Struct):
    """`POST /v1/signals`: the signal as recorded and its outcome after it."""

    duplicate: bool
    signal: SignalOut
    outcome: Outcome
    warnings: Warnings


class Batch(Struct, forbid_unknown_fields=True):
    signals: Annotated[list[SignalIn], Meta(max_length=10_000)]


class BatchError(Struct):
    status: int
    code: str
    message: str
    field: str | None


class BatchItem(Struct, omit_defaults=True):
    """One signal of a batch: `error` when rejected, `warnings` when accepted with any."""

    index: int
    status: Literal["accepted", "duplicate", "rejected"]
    error: BatchError | UnsetType = UNSET
    warnings: Warnings | UnsetType = UNSET


class BatchAnswer(Struct):
    accepted: int
    duplicates: int
    rejected: int
    results: list[BatchItem]


class OpenOutcome(Struct, omit_defaults=True, forbid_unknown_fields=True):
    contract: Key
    outcome: Ref
    customer: Ref
    at: datetime | UnsetType = UNSET


class OutcomeList(Struct):
    items: list[Outcome]
    next_cursor: str | None


class HistoryEntry(Struct):
    seq: int
    recorded_at: datetime
    kind: str
    data: dict[str, Any]
    hash: str


class History(Struct):
    entries: list[HistoryEntry]


class SettleIn(Struct, forbid_unknown_fields=True):
    decision: Literal["confirm", "cancel"]
    reason: Annotated[str, Meta(min_length=1, max_length=1024)]


class Customer(Struct):
    id: str
    name: str | None
    email: str | None
    address: str | None
    tax_id: str | None
    billing_day: Annotated[int, Meta(ge=1, le=28)]
    created_at: datetime


class CustomerList(Struct):
    items: list[Customer]
    next_cursor: str | None


class CustomerUpdate(Struct, omit_defaults=True, forbid_unknown_fields=True):
    """Only the fields sent change; null clears a text field."""

    name: Annotated[str, Meta(max_length=255)] | UnsetType | None = UNSET
    email: Annotated[str, Meta(max_length=255)] | UnsetType | None = UNSET
    address: Annotated[str, Meta(max_length=1000)] | UnsetType | None = UNSET
    tax_id: Annotated[str, Meta(max_length=255)] | UnsetType | None = UNSET
    billing_day: Annotated[int, Meta(ge=1, le=28)] | UnsetType = UNSET


class Period(Struct):
    """A billing period, `[start, end)`: from 00:00 UTC on a billing day to the next."""

    start: datetime
    end: datetime


class BillingPeriod(Period):
    state: Annotated[
        Literal["closed", "open", "upcoming"],
        Meta(
            description="closed: its invoices are finalized; open: not yet (the current"
            " period, or one that ended within the grace); upcoming: the next period"
        ),
    ]


class PeriodList(Struct):
    """A customer's periods from its first to the next one, oldest first (not paginated)."""

    items: list[BillingPeriod]


class KeyIn(Struct, omit_defaults=True, forbid_unknown_fields=True):
    scope: Literal["ingest", "read", "admin"]
    name: Annotated[str, Meta(max_length=255)] | UnsetType | None = UNSET


class ApiKey(Struct):
    id: str
    scope: Literal["ingest", "read", "admin"]
    name: str | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class NewApiKey(ApiKey):
    key: Annotated[str, Meta(description="the key itself: shown this once, never again")]


class KeyList(Struct):
    items: list[ApiKey]
    next_cursor: str | None


class PortalLinkIn(Struct, omit_defaults=True, forbid_unknown_fields=True):
    """A new link to the customer's evidence pages."""

    expires_in: (
        Annotated[
            str,
            Meta(
                max_length=64,
                description="how long it opens the pages: a duration such as"
                " 30d or 12h, 1m to 366d (default 30d)",
            ),
        ]
        | Annotated[int, Meta(ge=60, le=31_622_400, description="the same in whole seconds")]
        | UnsetType
        | None
    ) = UNSET


class PortalLink(Struct):
    """A link to a customer's evidence pages (``/portal/<token>``), never with its token."""

    id: str
    customer: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    created_by: Annotated[str, Meta(description="who created it: an API key's id, a user, cli")]
    state: Literal["live", "expired", "revoked"]


class NewPortalLink(PortalLink):
    url: Annotated[
        str,
        Meta(
            description="the link, holding its token: shown this once, never again; on the"
            " public base URL setting, else the address the request came to"
        ),
    ]


class PortalLinkList(Struct):
    items: list[PortalLink]
    next_cursor: str | None


class ActivityEntry(Struct):
    """One change that is not an outcome's own history: who made it, when, and the values
    before and after it, on a hash chain of its own."""

    seq: int
    at: datetime
    actor: Annotated[str, Meta(description="the API key's id, or 'cli' or 'system'")]
    action: Annotated[
        str,
        Meta(
            description="contract.saved, contract.archived, customer.created,"
            " customer.updated, key.created, key.revoked, settings.updated,"
            " invoice.finalized, webhook.created, webhook.updated, webhook.deleted,"
            " webhook.secret_rotated (never a secret), webhook.delivery_retried,"
            " webhook.disabled (by a 410, actor system), ..."
        ),
    ]
    subject: Annotated[
        str,
        Meta(description="the contract key, customer id, key id, invoice id or webhook id"),
    ]
    before: Annotated[dict[str, Any] | None, Meta(description="null when created")]
    after: dict[str, Any] | None
    hash: Annotated[str, Meta(description="SHA-256 over the previous entry's hash and this")]


class ActivityList(Struct):
    items: list[ActivityEntry]
    next_cursor: str | None


class Health(Struct):
    status: Literal["ok"]


# Billing ----------------------------------------------------------------------------------

Money = Annotated[str, Meta(description="exact decimal text, e.g. '118.80'")]


class LedgerRecord(Struct):
    """A charge or a credit as the ledger lists it: immutable once booked."""

    id: int
    kind: Literal["charge", "credit"]
    contract: str
    outcome: str
    customer: str
    amount: Annotated[str, Meta(description="exact decimal text; a credit's is positive")]
    currency: str
    period: Annotated[Period, Meta(description="the billing period it is booked into")]
    invoice: Annotated[str, Meta(description="the id of the invoice it is on")]
    booked_at: datetime
    reason: Annotated[
        str | None,
        Meta(description="a credit's: the dispute's note, or the late signal; null for a charge"),
    ]


class LedgerList(Struct):
    items: list[LedgerRecord]
    next_cursor: str | None


class ChargeLine(Struct, tag_field="kind", tag="charge"):
    """Charges grouped by contract, contract version and unit price."""

    description: str
    contract: str
    contract_version: int
    quantity: int
    unit_price: Money
    amount: Annotated[str, Meta(description="quantity × unit price, exact")]


class CreditLine(Struct, tag_field="kind", tag="credit"):
    """One credit: negative."""

    outcome: str
    contract: str
    amount: Annotated[str, Meta(description="exact decimal text, negative")]
    reason: str | None


class InvoiceSummary(Struct):
    """An invoice as lists show it: the invoice object without its lines."""

    id: Annotated[str, Meta(description="opaque, stable from the invoice's first ledger entry")]
    number: Annotated[str | None, Meta(description="assigned at finalization; null for a draft")]
    status: Literal["draft", "finalized"]
    customer: str
    currency: str
    period: Period
    subtotal: Annotated[str, Meta(description="the charges, exact")]
    credits: Annotated[str, Meta(description="the credits, exact (positive)")]
    total: Annotated[
        str,
        Meta(description="subtotal − credits, rounded half-even to the currency's minor unit"),
    ]
    finalized_at: datetime | None


class Invoice(InvoiceSummary):
    """The invoice object (SPEC section 8): its lines, charges first, then credits."""

    lines: list[ChargeLine | CreditLine]


class InvoiceList(Struct):
    """Newest first; each invoice without its lines (`GET /v1/invoices/{id}` has them)."""

    items: list[InvoiceSummary]
    next_cursor: str | None


class AuditItem(Struct):
    """One outcome behind an invoice: its entries on that invoice and its full history."""

    contract: str
    outcome: str
    customer: str
    ledger: Annotated[list[LedgerRecord], Meta(description="its entries on this invoice")]
    history: list[HistoryEntry]


class InvoiceAudit(Struct):
    """The outcomes in the order of their first entry on the invoice (oldest first)."""

    items: list[AuditItem]
    next_cursor: str | None


class DisputeIn(Struct, forbid_unknown_fields=True):
    reason: Annotated[str, Meta(min_length=1, max_length=1000)]


Amount = Annotated[
    str,
    Meta(
        pattern="^[0-9]{1,15}(\\.[0-9]{1,6})?$",
        description="a positive decimal string of at most 6 places, in the charge's currency",
    ),
]


class DisputeResolution(Struct, omit_defaults=True, forbid_unknown_fields=True):
    """`reject`: the charge stands. `credit`: `amount` (default: all that is still
    creditable, the charge less earlier credits) is credited into the customer's current
    period."""

    resolution: Literal["reject", "credit"]
    note: Annotated[str, Meta(min_length=1, max_length=1000)]
    amount: Amount | UnsetType | None = UNSET


class Dispute(Struct):
    """A challenge to a confirmed outcome's charge; while open, the outcome is contested."""

    id: int
    contract: str
    outcome: str
    customer: str
    state: Literal["open", "resolved"]
    reason: str
    opened_by: Annotated[
        str, Meta(description="the API key's id, 'cli', 'system' (a failing late signal), ...")
    ]
    opened_at: datetime
    resolution: Literal["reject", "credit"] | None
    note: str | None
    resolved_by: str | None
    resolved_at: datetime | None
    credit: Annotated[Price | None, Meta(description="the credit booked; null unless credit")]


class DisputeList(Struct):
    items: list[Dispute]
    next_cursor: str | None


class Settings(Struct):
    """The seller's details (on PDFs), the invoice number prefix, the grace before a period's
    invoices are finalized, and the public base URL (null: the address the server is reached
    at)."""

    seller_name: str | None
    seller_address: str | None
    seller_tax_id: str | None
    invoice_prefix: str
    invoice_grace: Annotated[str, Meta(description="a duration such as 5m, 1h30m")]
    public_base_url: str | None


Text = Annotated[str, Meta(max_length=1000)]


class SettingsUpdate(Struct, omit_defaults=True, forbid_unknown_fields=True):
    """Any subset of the settings; null restores an optional one's default (none)."""

    seller_name: Text | UnsetType | None = UNSET
    seller_address: Text | UnsetType | None = UNSET
    seller_tax_id: Text | UnsetType | None = UNSET
    invoice_prefix: (
        Annotated[
            str,
            Meta(
                pattern="^[A-Za-z0-9][A-Za-z0-9_-]{0,19}$",
                description="numbers read {prefix}-{n}; changing it does not restart n",
            ),
        ]
        | UnsetType
    ) = UNSET
    invoice_grace: (
        Annotated[
            str,
            Meta(max_length=64, description="a duration such as 5m or 1h30m; at most 7d"),
        ]
        | UnsetType
    ) = UNSET
    public_base_url: (
        Annotated[
            str, Meta(description="an http or https address, such as https://billing.example.com")
        ]
        | UnsetType
        | None
    ) = UNSET


# Webhooks ---------------------------------------------------------------------------------

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
WebhookUrl = Annotated[
    str,
    Meta(
        max_length=2048,
        pattern="^https?://",
        description="an http or https address with a host, without credentials",
    ),
]
EventTypes = Annotated[
    list[EventType],
    Meta(min_length=1, description="the event types it wants; null: every type"),
]
WebhookText = Annotated[str, Meta(max_length=1000)]


class WebhookIn(Struct, omit_defaults=True, forbid_unknown_fields=True):
    """A new endpoint: by default it wants every event type and is enabled."""

    url: WebhookUrl
    events: EventTypes | UnsetType | None = UNSET
    description: WebhookText | UnsetType | None = UNSET
    enabled: bool = True


class WebhookUpdate(Struct, omit_defaults=True, forbid_unknown_fields=True):
    """Only the fields sent change; `"events": null` sends every type, `"description":
    null` clears it, `"enabled": true` resumes an endpoint a 410 disabled (and its pending
    deliveries)."""

    url: WebhookUrl | UnsetType = UNSET
    events: EventTypes | UnsetType | None = UNSET
    description: WebhookText | UnsetType | None = UNSET
    enabled: bool | UnsetType = UNSET


class Webhook(Struct):
    """A webhook endpoint (SPEC section 10), never with its secret."""

    id: str
    url: str
    events: Annotated[list[EventType] | None, Meta(description="null: every event type")]
    description: str | None
    enabled: bool
    disabled_reason: Annotated[
        str | None, Meta(description="why Earnest disabled it (a 410 answer); null otherwise")
    ]
    previous_secret_until: Annotated[
        datetime | None,
        Meta(description="after a rotation, the previous secret signs too until then"),
    ]
    created_at: datetime


class NewWebhook(Webhook):
    secret: Annotated[
        str,
        Meta(
            pattern="^whsec_",
            description="the signing secret: whsec_ and the base64 of 32 bytes; shown this"
            " once, never again",
        ),
    ]


class WebhookList(Struct):
    """Every endpoint, oldest first, in one answer (not paginated)."""

    items: list[Webhook]
    next_cursor: Annotated[None, Meta(description="always null: there is no next page")]


class DeliveryTry(Struct):
    """One attempt: its time, the answer's status (null: none came), how long it took, the
    error (a timeout, a refused connection, a non-2xx status) and the answer's first 500
    characters."""

    at: datetime
    status: int | None
    duration_ms: int
    error: str | None
    response: str | None


class Delivery(Struct):
    """One event for one endpoint, with its attempts."""

    id: int
    event_id: Annotated[str, Meta(description="the event's id: the webhook-id header")]
    event_type: EventType
    state: Annotated[
        Literal["pending", "delivered", "failed"],
        Meta(description="failed: every scheduled try failed; it can be retried by hand"),
    ]
    attempts: int
    next_at: Annotated[datetime | None, Meta(description="the next try, while pending")]
    created_at: datetime
    finished_at: datetime | None
    tries: Annotated[list[DeliveryTry], Meta(description="every attempt, oldest first")]


class DeliveryList(Struct):
    """Newest first."""

    items: list[Delivery]
    next_cursor: str | None


ALL: tuple[type[Struct], ...] = (
    Error, ContractError, ContractIn, Contract, ContractList, Validated, SignalIn, SignalAnswer,
    Batch, BatchAnswer, OpenOutcome, Outcome, OutcomeList, History, SettleIn, Customer,
    CustomerList, CustomerUpdate, KeyIn, ApiKey, NewApiKey, KeyList, ActivityList, Health,
    PeriodList, LedgerList, Invoice, InvoiceList, InvoiceAudit, DisputeIn, DisputeResolution,
    Dispute, DisputeList, Settings, SettingsUpdate, WebhookIn, WebhookUpdate, Webhook,
    NewWebhook, WebhookList, Delivery, DeliveryList, BacktestReport, PortalLinkIn, PortalLink,
    NewPortalLink, PortalLinkList,
)  # fmt: skip


def components() -> dict[str, Any]:
    _, schemas = msgspec.json.schema_components(ALL, ref_template="#/components/schemas/{name}")
    return schemas
