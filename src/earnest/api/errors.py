"""Every error the API answers, in one shape: ``{"error": {"code", "message", "field"}}``.

Handlers raise :class:`ApiError`; Litestar's own HTTP exceptions (no route, wrong method,
body too large) are translated here; anything else is a bug, logged and answered as a 500 in
the same shape, never with a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException

from earnest.jsonio import dump_json

log = logging.getLogger("earnest.api")

JSON = "application/json"
MAX_BODY_BYTES = 16 * 1024 * 1024


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.extra = dict(extra or {})
        super().__init__(message)


def error_body(
    code: str, message: str, field: str | None = None, extra: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "field": field, **(extra or {})}}


def error_response(error: ApiError) -> Response[bytes]:
    body = error_body(error.code, error.message, error.field, error.extra)
    headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
    return Response(dump_json(body), status_code=error.status, media_type=JSON, headers=headers)


_HTTP_CODES = {
    400: ("bad_request", "the request is malformed"),
    401: ("unauthorized", "a valid API key is required"),
    403: ("forbidden", "this API key's scope does not allow this request"),
    404: ("not_found", "no such resource"),
    405: ("method_not_allowed", "this method is not allowed on this path"),
    413: ("body_too_large", "the request body is over the limit"),
    415: ("unsupported_media_type", "unsupported Content-Type"),
}


def handle_exception(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    if isinstance(exc, ApiError):
        return error_response(exc)
    if isinstance(exc, HTTPException) and 400 <= exc.status_code < 500:
        return error_response(_translate(request, exc))
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(ApiError(500, "internal_error", "an unexpected error happened"))


def _translate(request: Request[Any, Any, Any], exc: HTTPException) -> ApiError:
    status = exc.status_code
    code, message = _HTTP_CODES.get(status, ("bad_request", exc.detail or "bad request"))
    if status == 404:
        message = f"no route {request.url.path!r}"
    elif status == 405:
        message = f"{request.method} is not allowed on {request.url.path!r}"
    elif status == 413:
        message = f"the request body is over the limit of {MAX_BODY_BYTES} bytes (16 MiB)"
    return ApiError(status, code, message)
