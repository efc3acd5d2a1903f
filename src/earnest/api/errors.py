"""Every error the API answers, in one shape: ``{"error": {"code", "message", "field"}}``.

Use cases and handlers raise :class:`~earnest.errors.EarnestError`; :data:`STATUS` maps its
``code`` to the HTTP status, in this one table (a code not listed takes its class's status).
Litestar's own HTTP exceptions (no route, wrong method, body too large) are translated here;
anything else is a bug, logged and answered as a 500 in the same shape, never a traceback.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException

from earnest.errors import (
    Conflict,
    EarnestError,
    Forbidden,
    Invalid,
    NotFound,
    Unauthorized,
    Unavailable,
)
from earnest.jsonio import dump_json

log = logging.getLogger("earnest.api")

JSON = "application/json"
MAX_BODY_BYTES = 16 * 1024 * 1024

STATUS: dict[str, int] = {
    "malformed_json": 400,
    "bad_request": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "unknown_contract": 404,
    "unknown_outcome": 404,
    "unknown_customer": 404,
    "unknown_key": 404,
    "unknown_invoice": 404,
    "unknown_webhook": 404,
    "unknown_delivery": 404,
    "method_not_allowed": 405,
    "contract_archived": 409,
    "customer_mismatch": 409,
    "idempotency_conflict": 409,
    "already_settled": 409,
    "not_confirmed": 409,
    "dispute_open": 409,
    "no_open_dispute": 409,
    "not_retryable": 409,
    "body_too_large": 413,
    "unsupported_media_type": 415,
    "invalid_signal": 422,
    "invalid_contract": 422,
    "invalid_field": 422,
    "invalid_body": 422,
    "unknown_field": 422,
    "customer_required": 422,
    "batch_too_large": 422,
    "invalid_limit": 422,
    "invalid_cursor": 422,
    "invalid_filter": 422,
    "invalid_version": 422,
    "invalid_setting": 422,
    "credit_exceeds_charge": 422,
    "shutting_down": 503,
    "internal_error": 500,
}
_BY_CLASS: tuple[tuple[type[EarnestError], int], ...] = (
    (Invalid, 422),
    (NotFound, 404),
    (Conflict, 409),
    (Unauthorized, 401),
    (Forbidden, 403),
    (Unavailable, 503),
)


def status_of(error: EarnestError) -> int:
    status = STATUS.get(error.code)
    if status is not None:
        return status
    return next((s for kind, s in _BY_CLASS if isinstance(error, kind)), 500)


def error_json(error: EarnestError) -> dict[str, Any]:
    return {"code": error.code, "message": error.message, "field": error.field, **error.extra}


def error_response(error: EarnestError) -> Response[bytes]:
    status = status_of(error)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    body = dump_json({"error": error_json(error)})
    return Response(body, status_code=status, media_type=JSON, headers=headers)


_HTTP_CODES: dict[int, tuple[type[EarnestError], str, str]] = {
    400: (Invalid, "bad_request", "the request is malformed"),
    401: (Unauthorized, "unauthorized", "a valid API key is required"),
    403: (Forbidden, "forbidden", "this API key's scope does not allow this request"),
    404: (NotFound, "not_found", "no such resource"),
    405: (Invalid, "method_not_allowed", "this method is not allowed on this path"),
    413: (Invalid, "body_too_large", "the request body is over the limit"),
    415: (Invalid, "unsupported_media_type", "unsupported Content-Type"),
}


def handle_exception(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    if isinstance(exc, EarnestError):
        return error_response(exc)
    if isinstance(exc, HTTPException) and 400 <= exc.status_code < 500:
        return error_response(_translate(request, exc))
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(EarnestError("an unexpected error happened", code="internal_error"))


def no_route(request: Request[Any, Any, Any]) -> NotFound:
    return NotFound(f"no route {request.url.path!r}")


def _translate(request: Request[Any, Any, Any], exc: HTTPException) -> EarnestError:
    status = exc.status_code
    kind, code, message = _HTTP_CODES.get(status, (Invalid, "bad_request", exc.detail or ""))
    if status == 404:
        message = f"no route {request.url.path!r}"
    elif status == 405:
        message = f"{request.method} is not allowed on {request.url.path!r}"
    elif status == 413:
        message = f"the request body is over the limit of {MAX_BODY_BYTES} bytes (16 MiB)"
    return kind(message or "bad request", code=code)
