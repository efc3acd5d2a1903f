"""What every handler needs: the store and clock, JSON bodies and answers, list paging."""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import quote, unquote_to_bytes

from litestar import Request, Response
from litestar.connection import ASGIConnection

from earnest.api.errors import JSON, no_route
from earnest.app import Earnest
from earnest.errors import Invalid, NotFound
from earnest.jsonio import dump_json, parse_json
from earnest.service.pages import DEFAULT_LIMIT, Page, bad_limit, check_limit
from earnest.signals import NUL, nul_field

T = TypeVar("T")
AnyRequest = Request[Any, Any, Any]
Connection = ASGIConnection[Any, Any, Any, Any]


def earnest(request: Connection) -> Earnest:
    """The application this API serves."""
    app: Earnest = request.app.state.earnest
    return app


def now(request: Connection) -> datetime:
    return earnest(request).clock()


def actor(request: Connection) -> str:
    """Who acts: the request's API key (authorization has checked it)."""
    return str(request.state.key.id)


def path_param(request: AnyRequest, name: str) -> str:
    """A path segment as the router matched it (handlers read them here, untyped)."""
    value = str(request.path_params[name])
    if NUL in value:
        raise NotFound("no resource has U+0000 in its name")
    return value


def refuse_nul(body: Mapping[str, Any], code: str = "invalid_field") -> None:
    """Identifiers and names are stored in text columns: refuse U+0000 in top-level strings
    (``data`` and values nested deeper are stored as escaped JSON and may hold it)."""
    field = nul_field(body)
    if field is not None:
        raise Invalid(f"{field} must not contain the character U+0000", code=code, field=field)


def raw_segments(request: AnyRequest, prefix: str) -> list[str]:
    """The path after ``prefix`` split on ``/`` *before* percent-decoding, each segment then
    decoded on its own: ASGI servers decode ``%2F`` in ``scope["path"]``, so identifiers that
    may hold ``/`` are read from ``scope["raw_path"]``. 404 when a segment is not UTF-8."""
    raw: bytes = request.scope.get("raw_path") or quote(request.scope["path"]).encode()
    raw = raw.partition(b"?")[0]  # httpx's ASGI transport (tests) leaves the query in it
    if not raw.startswith(prefix.encode()):
        raise no_route(request)
    try:
        segments = [unquote_to_bytes(part).decode() for part in raw[len(prefix) :].split(b"/")]
    except UnicodeDecodeError:
        raise NotFound("the path is not percent-encoded UTF-8") from None
    if any(NUL in segment for segment in segments):
        raise NotFound("no resource has U+0000 in its name")
    return segments


def answer(body: Any, status: int = 200) -> Response[bytes]:
    return Response(dump_json(body), status_code=status, media_type=JSON)


async def json_body(request: AnyRequest) -> Any:
    """The body as JSON (numbers as Decimal); 400 ``malformed_json`` when it is not."""
    raw = await request.body()
    if not raw.strip():
        raise Invalid("the request body is empty; expected JSON", code="malformed_json")
    return parse_json(raw)  # MalformedJson names the line and column


async def json_object(request: AnyRequest, fields: frozenset[str]) -> Mapping[str, Any]:
    """A JSON object body holding only ``fields``."""
    body = await json_body(request)
    if not isinstance(body, dict):
        raise Invalid("the request body must be a JSON object", code="invalid_body")
    for name in body:
        if name not in fields:
            raise Invalid(f"unknown field {name!r}", code="unknown_field", field=name)
    refuse_nul(body)
    return body


def text_field(
    body: Mapping[str, Any], name: str, limit: int, *, required: bool = False
) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise Invalid(f"{name} is required", field=name)
        return None
    if not isinstance(value, str):
        raise Invalid(f"{name} must be a string", field=name)
    if not value.strip():
        raise Invalid(f"{name} must not be empty", field=name)
    if len(value) > limit:
        raise Invalid(f"{name} is {len(value)} characters; at most {limit}", field=name)
    return value


# Lists ------------------------------------------------------------------------------------


def limit_param(request: AnyRequest) -> int:
    raw = request.query_params.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    if not raw.isascii() or not raw.isdigit() or len(raw) > 6:
        raise bad_limit()
    return check_limit(int(raw))


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


def cursor_param(request: AnyRequest, kind: str, *types: type) -> tuple[Any, ...] | None:
    """The ``cursor`` of list ``kind``: the position (one value of each of ``types``) that a
    list use case takes as ``after``."""
    after = decode_cursor(request, kind)
    if after is None:
        return None
    if len(after) != len(types) or not all(
        isinstance(v, t) for v, t in zip(after, types, strict=True)
    ):
        raise bad_cursor()
    return tuple(after)


def bad_cursor() -> Invalid:
    return Invalid("cursor is not one this list handed out", code="invalid_cursor", field="cursor")


def _position(value: object) -> int | str:
    if isinstance(value, Decimal) and value == value.to_integral_value() and abs(value) < 2**62:
        return int(value)
    if isinstance(value, str) and len(value) <= 1024 and NUL not in value:
        return value
    raise ValueError("position")


def page(kind: str, found: Page[T], render: Callable[[T], Any]) -> dict[str, Any]:
    """A list's answer: the items rendered, and the cursor of the next page (or null)."""
    cursor = None if found.after is None else encode_cursor(kind, list(found.after))
    return {"items": [render(item) for item in found.items], "next_cursor": cursor}
