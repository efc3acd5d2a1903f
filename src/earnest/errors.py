"""Every error Earnest raises on purpose, as one tree. Each carries a stable ``code`` (the
API's ``error.code``), the ``field`` it is about (or ``None``) and a plain ``message``.

The service layer knows nothing of HTTP: the API maps ``code`` to a status in one table
(``earnest.api.errors.STATUS``); the CLI prints one ``error: ...`` line naming the problem and
exits 1 (``simulate`` reports each refused line as ``FILE:LINE: field: message``). ::

    EarnestError
     ├── Invalid                input that can never be accepted as sent (422)
     │    ├── MalformedJson     not JSON at all (400)                    earnest.jsonio
     │    ├── InvalidSignal     a signal's field                          earnest.signals
     │    ├── ContractError     a contract's fields, line and column      earnest.contract
     │    ├── ConditionError    one condition, line and column            earnest.contract
     │    ├── CustomerRequired  an opening signal without a customer      earnest.rules
     │    └── BatchTooLarge     over 10,000 signals                       earnest.service
     ├── NotFound               (404)
     │    ├── UnknownContract, UnknownOutcome                             earnest.rules
     │    ├── UnknownCustomer, UnknownKey                                 earnest.service
     │    └── MissingDatabase   a read-only command's database is absent  earnest.bootstrap
     ├── Conflict               valid, but not in the present state (409)
     │    ├── ContractArchived, CustomerMismatch, IdempotencyConflict,
     │    │   AlreadySettled                                              earnest.rules
     │    └── IllegalTransition the engine's refusal of an input          earnest.engine
     ├── Unauthorized           no valid credentials (401)
     ├── Forbidden              credentials that do not allow this (403)
     └── Unavailable            try again later (503)
          └── PortInUse         ``serve``/``demo`` cannot listen          earnest.api.server

Catch :class:`EarnestError` for all of them. Anything else escaping a use case is a bug.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class EarnestError(Exception):
    """The root: ``code`` is stable and machine-readable, ``field`` names the input."""

    code: str = "error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        field: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        self.message = message
        if code is not None:
            self.code = code
        self.field = field
        self.extra: dict[str, Any] = dict(extra or {})  # more detail for the API's body
        super().__init__(message)


class Invalid(EarnestError, ValueError):
    """Also a ``ValueError``: what callers of a parser already catch."""

    code = "invalid_field"


class NotFound(EarnestError):
    code = "not_found"


class Conflict(EarnestError):
    code = "conflict"


class Unauthorized(EarnestError):
    code = "unauthorized"


class Forbidden(EarnestError):
    code = "forbidden"


class Unavailable(EarnestError):
    code = "unavailable"
