"""The HTTP API as one Litestar application (SPEC section 8), over one
:class:`~earnest.app.Earnest`: handlers parse, call one use case, render."""

from __future__ import annotations

from collections.abc import Sequence

from litestar import Litestar, Router
from litestar.datastructures import State

from earnest.api import (
    activity,
    contracts,
    customers,
    disputes,
    invoices,
    keys,
    ledger,
    outcomes,
    settings,
    signals,
    webhooks,
)
from earnest.api.auth import authorize
from earnest.api.errors import MAX_BODY_BYTES, handle_exception
from earnest.api.health import healthz, openapi
from earnest.app import Earnest


def create_app(earnest: Earnest, *, mount: Sequence[Router] = ()) -> Litestar:
    """The API over ``earnest`` (its clock gives each request's engine time). ``mount``: more
    routers served beside it, with their own hooks and errors (``earnest serve`` mounts the
    dashboard at ``/``)."""
    return Litestar(
        route_handlers=[
            healthz,
            openapi,
            contracts.router,
            signals.router,
            outcomes.router,
            customers.router,
            keys.router,
            activity.router,
            ledger.router,
            invoices.router,
            disputes.router,
            settings.router,
            webhooks.router,
            *mount,
        ],
        before_request=authorize,
        exception_handlers={Exception: handle_exception},
        openapi_config=None,
        logging_config=None,  # the process's own logging (one format: cli/base.py)
        request_max_body_size=MAX_BODY_BYTES,
        state=State({"earnest": earnest}),
        # queued writes commit first; then the connections of the store threads and the loop
        on_shutdown=[earnest.close],
    )
