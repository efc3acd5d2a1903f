"""The HTTP API as one Litestar application (SPEC section 8)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from litestar import Litestar
from litestar.datastructures import State

from earnest.api import contracts, customers, keys, outcomes, signals
from earnest.api.auth import authorize
from earnest.api.errors import MAX_BODY_BYTES, handle_exception
from earnest.api.grouping import GroupCommit
from earnest.api.health import healthz, openapi
from earnest.api.workers import Workers
from earnest.service.scheduler import utc_now
from earnest.store.db import Database


def create_app(db: Database, *, clock: Callable[[], datetime] | None = None) -> Litestar:
    """The API over ``db``; ``clock`` gives the engine time of each request (tests fake it)."""
    workers = Workers(db)
    clock = clock or utc_now
    grouping = GroupCommit(db, clock)
    return Litestar(
        route_handlers=[
            healthz,
            openapi,
            contracts.router,
            signals.router,
            outcomes.router,
            customers.router,
            keys.router,
        ],
        before_request=authorize,
        exception_handlers={Exception: handle_exception},
        openapi_config=None,
        request_max_body_size=MAX_BODY_BYTES,
        state=State({"db": db, "clock": clock, "workers": workers, "grouping": grouping}),
        # queued signals commit first; then the connections of the store threads and the loop
        on_shutdown=[grouping.close, workers.close, db.close],
    )
