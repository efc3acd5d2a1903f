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
    billing_day: Annotated[int, Meta(ge=1, le=28)]
    created_at: datetime


class CustomerList(Struct):
    items: list[Customer]
    next_cursor: str | None


class CustomerUpdate(Struct, omit_defaults=True, forbid_unknown_fields=True):
    name: Annotated[str, Meta(max_length=255)] | UnsetType | None = UNSET
    email: Annotated[str, Meta(max_length=255)] | UnsetType | None = UNSET
    billing_day: Annotated[int, Meta(ge=1, le=28)] | UnsetType = UNSET


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
            " customer.updated, key.created or key.revoked"
        ),
    ]
    subject: Annotated[str, Meta(description="the contract key, customer id or key id")]
    before: Annotated[dict[str, Any] | None, Meta(description="null when created")]
    after: dict[str, Any] | None
    hash: Annotated[str, Meta(description="SHA-256 over the previous entry's hash and this")]


class ActivityList(Struct):
    items: list[ActivityEntry]
    next_cursor: str | None


class Health(Struct):
    status: Literal["ok"]


ALL: tuple[type[Struct], ...] = (
    Error, ContractError, ContractIn, Contract, ContractList, Validated, SignalIn, SignalAnswer,
    Batch, BatchAnswer, OpenOutcome, Outcome, OutcomeList, History, SettleIn, Customer,
    CustomerList, CustomerUpdate, KeyIn, ApiKey, NewApiKey, KeyList, ActivityList, Health,
)  # fmt: skip


def components() -> dict[str, Any]:
    _, schemas = msgspec.json.schema_components(ALL, ref_template="#/components/schemas/{name}")
    return schemas
