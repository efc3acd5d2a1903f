"""Earnest's Python SDK: send signals, open and read outcomes, manage contracts.

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
    BatchItem,
    BatchResult,
    Contract,
    ContractCheck,
    HistoryEntry,
    LedgerEntry,
    OpenResult,
    Outcome,
    Signal,
    SignalResult,
    Value,
)

__all__ = [
    "APIError",
    "ActivityEntry",
    "AsyncClient",
    "AuthenticationError",
    "BatchItem",
    "BatchResult",
    "Client",
    "ConflictError",
    "Contract",
    "ContractCheck",
    "EarnestError",
    "HistoryEntry",
    "LedgerEntry",
    "NotFoundError",
    "OpenResult",
    "Outcome",
    "PermissionDeniedError",
    "RateLimitError",
    "ServerError",
    "Signal",
    "SignalResult",
    "TransportError",
    "ValidationError",
    "Value",
    "uuid7",
]
