"""The errors the SDK raises: one small tree, so callers catch exactly what they mean.

::

    EarnestError
    ├── TransportError            no answer: connection refused or dropped, timeout (after retries)
    └── APIError                  the server answered with an error; .status .code .message .field
        ├── AuthenticationError   401: no key, an unknown key, a revoked key
        ├── PermissionDeniedError 403: the key's scope does not allow the request
        ├── NotFoundError         404: unknown_contract, unknown_outcome, no such route
        ├── ConflictError         409: idempotency_conflict, customer_mismatch,
        │                              contract_archived, already_settled
        ├── ValidationError       400, 413, 422: malformed JSON, a bad field, a body too large
        ├── RateLimitError        429 (after retries)
        └── ServerError           5xx (after retries)

An :class:`APIError` with none of these statuses (another 4xx) is raised as itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class EarnestError(Exception):
    """The root: every error this SDK raises."""


class TransportError(EarnestError):
    """No answer from the server after every retry; the cause is the last httpx error."""


class APIError(EarnestError):
    """The server answered ``{"error": {"code", "message", "field", ...}}`` with ``status``.

    ``details`` is the whole error object, e.g. ``details["errors"]`` for an invalid contract.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.details: dict[str, Any] = dict(details or {})
        super().__init__(f"{status} {code}: {message}")


class AuthenticationError(APIError):
    """401: the API key is missing, unknown or revoked."""


class PermissionDeniedError(APIError):
    """403: the API key's scope does not allow this request."""


class NotFoundError(APIError):
    """404: no such contract, outcome or route."""


class ConflictError(APIError):
    """409: the request contradicts what is stored (an ``id`` reused with another payload...)."""


class ValidationError(APIError):
    """400, 413 or 422: the request itself is wrong; resending it cannot help."""


class RateLimitError(APIError):
    """429: too many requests, still refused after every retry."""


class ServerError(APIError):
    """5xx: the server failed, still failing after every retry."""


_BY_STATUS: dict[int, type[APIError]] = {
    400: ValidationError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: ValidationError,
    422: ValidationError,
    429: RateLimitError,
}


def error_class(status: int) -> type[APIError]:
    """The class of the error for an HTTP ``status`` of 400 or above."""
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, APIError)
