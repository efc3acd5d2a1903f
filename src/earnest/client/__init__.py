"""Earnest's Python SDK: send signals, open and read outcomes, manage contracts, read the
ledger and invoices (JSON, CSV, PDF, audit), open and resolve disputes, change settings,
manage webhook endpoints and their deliveries, and customers' portal links.

::

    from earnest.client import Client

    with Client("https://earnest.example.com", api_key) as earnest:
        earnest.signal("code_shipped", "acme/api#1234", "merged", customer="acme")
        for outcome in earnest.outcomes(state="in_review"):
            ...

``AsyncClient`` has the same methods, awaited. Errors form the tree drawn in
:mod:`earnest.client._errors`; results are the server's JSON as typed dictionaries
(:mod:`earnest.client._types`), numbers as ``int`` or ``Decimal``, never float.
"""

from earnest.client._async import AsyncClient
from earnest.client._errors import (
    APIError,
    AuthenticationError,
    ConflictError,
    EarnestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    TransportError,
    ValidationError,
)
from earnest.client._ids import uuid7
from earnest.client._sync import Client
from earnest.client._types import (
    ActivityEntry,
    AuditItem,
    BacktestDifference,
    BacktestReport,
    BacktestSide,
    BatchItem,
    BatchResult,
    BillingPeriod,
    ChargeLine,
    Contract,
    ContractCheck,
    CreditLine,
    Delivery,
    DeliveryTry,
    Dispute,
    EventType,
    HistoryEntry,
    Invoice,
    InvoiceSummary,
    LedgerEntry,
    LedgerRecord,
    NewPortalLink,
    NewWebhook,
    OpenResult,
    Outcome,
    Period,
    PortalLink,
    Settings,
    Signal,
    SignalResult,
    Value,
    Webhook,
    WebhookChanges,
)

__all__ = [
    "APIError",
    "ActivityEntry",
    "AsyncClient",
    "AuditItem",
    "AuthenticationError",
    "BacktestDifference",
    "BacktestReport",
    "BacktestSide",
    "BatchItem",
    "BatchResult",
    "BillingPeriod",
    "ChargeLine",
    "Client",
    "ConflictError",
    "Contract",
    "ContractCheck",
    "CreditLine",
    "Delivery",
    "DeliveryTry",
    "Dispute",
    "EarnestError",
    "EventType",
    "HistoryEntry",
    "Invoice",
    "InvoiceSummary",
    "LedgerEntry",
    "LedgerRecord",
    "NewPortalLink",
    "NewWebhook",
    "NotFoundError",
    "OpenResult",
    "Outcome",
    "Period",
    "PermissionDeniedError",
    "PortalLink",
    "RateLimitError",
    "ServerError",
    "Settings",
    "Signal",
    "SignalResult",
    "TransportError",
    "ValidationError",
    "Value",
    "Webhook",
    "WebhookChanges",
    "uuid7",
]
