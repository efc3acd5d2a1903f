"""Bearer API keys and their scopes (SPEC section 8).

``ingest`` sends signals and opens outcomes; ``read`` makes every GET (API keys excepted) and
validates contracts; ``admin`` does everything. Every request looks its key up afresh, so a
revoked key stops working at once. ``last_used_at`` is written at most once a minute per key,
so reads do not take the write lock.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from earnest.api.common import NUL, database, in_thread, now
from earnest.api.errors import ApiError
from earnest.store.db import Database
from earnest.store.keys import ApiKey, Scope, authenticate, touch

TOUCH_EVERY = timedelta(minutes=1)
MAX_HEADER = 512


def require(scope: Scope) -> dict[str, Any]:
    """Route ``opt`` naming the least scope the route needs (admin always passes)."""
    return {"scope": scope}


async def guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    needed = handler.opt.get("scope")
    if needed is None:
        return
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(header) > MAX_HEADER or NUL in token:
        raise ApiError(401, "unauthorized", "send an API key as 'Authorization: Bearer <key>'")
    key = await in_thread(connection, _authenticate, database(connection), token, now(connection))
    if key is None:
        raise ApiError(401, "unauthorized", "unknown or revoked API key")
    if key.scope is not Scope.ADMIN and key.scope is not needed:
        raise ApiError(
            403,
            "forbidden",
            f"this key has scope {key.scope.value!r}; this request needs {needed.value!r}",
        )
    connection.state.key = key


def _authenticate(db: Database, token: str, moment: datetime) -> ApiKey | None:
    with db.read() as tx:
        key = authenticate(tx, token)
    if key is not None and (key.last_used_at is None or moment - key.last_used_at >= TOUCH_EVERY):
        with db.write() as tx:
            touch(tx, key.id, moment)
    return key
