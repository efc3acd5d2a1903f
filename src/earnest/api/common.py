"""What every handler needs: the store and clock, JSON bodies and answers, list paging."""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Any, TypeVar
from urllib.parse import quote, unquote_to_bytes

from litestar import Request, Response
from litestar.connection import ASGIConnection

from earnest.api.errors import JSON, ApiError
from earnest.api.workers import Workers
from earnest.jsonio import MalformedJson, dump_json, parse_json
from earnest.service.ingest import Problem
from earnest.signals import NUL, nul_field
from earnest.store.db import Database

T = TypeVar("T")
AnyRequest = Request[Any, Any, Any]
DEFAULT_LIMIT = 50
MAX_LIMIT = 1000


Connection = ASGIConnection[Any, Any, Any, Any]


def database(request: Connection) -> Database:
    db: Database = request.app.state.db
    return db


def now(request: Connection) -> datetime:
    clock: Callable[[], datetime] = request.app.state.clock
    return clock()


async def in_thread(request: Connection, function: Callable[..., T], *args: Any) -> T:
    """Run a store call on one of the API's store threads: the drivers are synchronous."""
    workers: Workers = request.app.state.workers
    return await workers.run(partial(function, *args))


def path_param(request: AnyRequest, name: str) -> str:
    """A path segment as the router matched it (handlers read them here, untyped)."""
    value = str(request.path_params[name])
    if NUL in value:
        raise ApiError(404, "not_found", "no resource has U+0000 in its name")
    return value


def refuse_nul(body: Mapping[str, Any], code: str = "invalid_field") -> None:
    """Identifiers and names are stored in text columns: refuse U+0000 in top-level strings
    (``data`` and values nested deeper are stored as escaped JSON and may hold it)."""
    field = nul_field(body)
    if field is not None:
        raise ApiError(422, code, f"{field} must not contain the character U+0000", field)


def raw_segments(request: AnyRequest, prefix: str) -> list[str]:
    """The path after ``prefix`` split on ``/`` *before* percent-decoding, each segment then
    decoded on its own: ASGI servers decode ``%2F`` in ``scope["path"]``, so identifiers that
    may hold ``/`` are read from ``scope["raw_path"]``. 404 when a segment is not UTF-8."""
    raw: bytes = request.scope.get("raw_path") or quote(request.scope["path"]).encode()
    if not raw.startswith(prefix.encode()):
        raise ApiError(404, "not_found", f"no route {request.url.path!r}")
    try:
        segments = [unquote_to_bytes(part).decode() for part in raw[len(prefix) :].split(b"/")]
    except UnicodeDecodeError:
        raise ApiError(404, "not_found", "the path is not percent-encoded UTF-8") from None
    if any(NUL in segment for segment in segments):
        raise ApiError(404, "not_found", "no resource has U+0000 in its name")
    return segments


def refusal(problem: Problem) -> ApiError:
    """A service's refusal as the API reports it."""
    return ApiError(problem.status, problem.code, problem.message, problem.field)


def answer(body: Any, status: int = 200) -> Response[bytes]:
    return Response(dump_json(body), status_code=status, media_type=JSON)


async def json_body(request: AnyRequest) -> Any:
    """The body as JSON (numbers as Decimal); 400 ``malformed_json`` when it is not."""
    raw = await request.body()
    if not raw.strip():
        raise ApiError(400, "malformed_json", "the request body is empty; expected JSON")
    try:
        return parse_json(raw)
    except MalformedJson as error:
        raise ApiError(400, "malformed_json", error.message) from None


async def json_object(request: AnyRequest, fields: frozenset[str]) -> Mapping[str, Any]:
    """A JSON object body holding only ``fields``."""
    body = await json_body(request)
    if not isinstance(body, dict):
        raise ApiError(422, "invalid_body", "the request body must be a JSON object")
    for name in body:
        if name not in fields:
            raise ApiError(422, "unknown_field", f"unknown field {name!r}", name)
    refuse_nul(body)
    return body


def text_field(
    body: Mapping[str, Any], name: str, limit: int, *, required: bool = False
) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise ApiError(422, "invalid_field", f"{name} is required", name)
        return None
    if not isinstance(value, str):
        raise ApiError(422, "invalid_field", f"{name} must be a string", name)
    if not value.strip():
        raise ApiError(422, "invalid_field", f"{name} must not be empty", name)
    if len(value) > limit:
        raise ApiError(
            422, "invalid_field", f"{name} is {len(value)} characters; at most {limit}", name
        )
    return value


# Lists ------------------------------------------------------------------------------------


def limit_param(request: AnyRequest) -> int:
    raw = request.query_params.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    if not raw.isascii() or not raw.isdigit() or len(raw) > 6 or not 1 <= int(raw) <= MAX_LIMIT:
        raise ApiError(
            422, "invalid_limit", f"limit must be a whole number from 1 to {MAX_LIMIT}", "limit"
        )
    return int(raw)


def encode_cursor(kind: str, position: list[Any]) -> str:
    """Opaque to clients: the list's name and the last item's sort key, with a checksum.

    The checksum catches a mangled cursor; a forged one could only position a list the
    caller may read anyway, so it needs no secret.
    """
    payload = dump_json([kind, *position])
    digest = hashlib.sha256(payload).digest()[:6]
    return base64.urlsafe_b64encode(digest + payload).decode().rstrip("=")


def decode_cursor(request: AnyRequest, kind: str) -> list[Any] | None:
    raw = request.query_params.get("cursor")
    if raw is None:
        return None
    try:
        blob = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
        digest, payload = blob[:6], blob[6:]
        if len(raw) > 2048 or hashlib.sha256(payload).digest()[:6] != digest:
            raise ValueError("checksum")
        decoded = parse_json(payload)
        if not isinstance(decoded, list) or not decoded or decoded[0] != kind:
            raise ValueError("kind")
        position = [_position(v) for v in decoded[1:]]
    except (ValueError, binascii.Error):
        raise bad_cursor() from None
    return position


def cursor_param(request: AnyRequest, kind: str, *types: type) -> list[Any] | None:
    """The ``cursor`` of list ``kind``, its position one value of each of ``types``."""
    after = decode_cursor(request, kind)
    if after is not None and (
        len(after) != len(types)
        or not all(isinstance(v, t) for v, t in zip(after, types, strict=True))
    ):
        raise bad_cursor()
    return after


def bad_cursor() -> ApiError:
    return ApiError(422, "invalid_cursor", "cursor is not one this list handed out", "cursor")


def _position(value: object) -> int | str:
    if isinstance(value, Decimal) and value == value.to_integral_value() and abs(value) < 2**62:
        return int(value)
    if isinstance(value, str) and len(value) <= 1024 and NUL not in value:
        return value
    raise ValueError("position")


def page(items: list[Any], next_cursor: str | None) -> dict[str, Any]:
    return {"items": items, "next_cursor": next_cursor}
