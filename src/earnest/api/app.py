"""The HTTP API as one Litestar application (SPEC section 8), over one
:class:`~earnest.app.Earnest`: handlers parse, call one use case, render."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from litestar import Litestar, Request, Response, Router
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

API_PATHS = ("/v1/", "/healthz", "/openapi.json")


def create_app(earnest: Earnest, *, mount: Sequence[Router] = ()) -> Litestar:
    """The API over ``earnest`` (its clock gives each request's engine time). ``mount``: more
    routers served beside it, with their own hooks and errors (``earnest serve`` mounts the
    dashboard at ``/``). A mounted router's ``opt["unmatched"]`` answers the errors of
    requests no route matched outside the API's paths (a browser's 404 as a page, not JSON)."""
    elsewhere = next((r.opt["unmatched"] for r in mount if "unmatched" in r.opt), None)

    def handle(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
        if elsewhere is not None and not request.url.path.startswith(API_PATHS):
            answer: Response[Any] = elsewhere(request, exc)
            return answer
        return handle_exception(request, exc)

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
        exception_handlers={Exception: handle},
        openapi_config=None,
        logging_config=None,  # the process's own logging (one format: cli/base.py)
        request_max_body_size=MAX_BODY_BYTES,
        state=State({"earnest": earnest}),
        # queued writes commit first; then the connections of the store threads and the loop
        on_shutdown=[earnest.close],
    )
