"""Bearer API keys and their scopes (SPEC section 8).

``ingest`` sends signals and opens outcomes; ``read`` makes every GET (API keys excepted) and
validates contracts; ``admin`` does everything. Every request looks its key up afresh, so a
revoked key stops working at once. ``last_used_at`` is written at most once a minute per key,
so reads do not take the write lock.
"""

from __future__ import annotations

from typing import Any

from earnest.api.common import AnyRequest, earnest, now
from earnest.errors import Forbidden, Unauthorized
from earnest.service.keys import Scope
from earnest.signals import NUL

MAX_HEADER = 512


def require(scope: Scope) -> dict[str, Any]:
    """Route ``opt`` naming the least scope the route needs (admin always passes)."""
    return {"scope": scope}


async def authorize(connection: AnyRequest) -> None:
    """The app's ``before_request`` hook: the request's key must be live and allow the route.

    A hook, not a Litestar guard: guards are handed a copy of the route handler on every
    request, which cost about 6% of a single-signal request's CPU."""
    needed = connection.route_handler.opt.get("scope")
    if needed is None:
        return
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(header) > MAX_HEADER or NUL in token:
        raise Unauthorized("send an API key as 'Authorization: Bearer <key>'")
    app = earnest(connection)
    if app.reads_never_wait:
        # A one-row read by primary key never waits in WAL mode: done here, it costs less
        # than the hop to a store thread and back.
        key = app.keys.authenticate(token)
    else:
        key = await app.read(lambda: app.keys.authenticate(token))
    if key is None:
        raise Unauthorized("unknown or revoked API key")
    moment = now(connection)
    if app.keys.needs_touch(key, moment):
        await app.write(lambda: app.keys.touch(key.id, moment))  # used, even if refused below
    if key.scope is not Scope.ADMIN and key.scope is not needed:
        raise Forbidden(
            f"this key has scope {key.scope.value!r}; this request needs {needed.value!r}"
        )
    connection.state.key = key
