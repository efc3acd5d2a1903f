"""The dashboard as one Litestar router, mounted at ``/`` beside the API's ``/v1`` by
``earnest serve`` (``create_app(earnest, mount=[dashboard()])``). It shares the API's
application object and event loop; its own hook (:func:`~earnest.web.guard.guard`) and error
pages replace the API's bearer keys and JSON errors on its routes."""

from __future__ import annotations

from litestar import Router
from litestar.response import Response

from earnest.web import (
    contracts,
    customers,
    invoices,
    outcomes,
    pages,
    portal,
    signin,
    webhook_pages,
)
from earnest.web.common import AnyRequest, WebConfig
from earnest.web.errors import handle_exception
from earnest.web.guard import guard
from earnest.web.static import serve_static

MAX_FORM_BYTES = 256 * 1024  # a form's body: the settings are at most a few KiB


def unmatched(request: AnyRequest, exc: Exception) -> Response[str]:
    """The errors of a path outside the API that no route answered (the API's handler hands
    them here): a ``/portal/…`` path gets the portal's answer, any other the dashboard's."""
    if portal.on_portal_path(request.url.path):
        return portal.portal_unmatched(request, exc)
    return handle_exception(request, exc)


def dashboard(config: WebConfig | None = None) -> Router:
    return Router(
        "/",
        route_handlers=[
            signin.sign_in_page,
            signin.sign_in,
            signin.sign_out,
            pages.overview,
            pages.activity,
            pages.settings_page,
            pages.save_settings,
            *contracts.ROUTES,
            *outcomes.ROUTES,
            *customers.ROUTES,
            *invoices.ROUTES,
            *webhook_pages.ROUTES,
            *portal.ROUTES,
            serve_static,
        ],
        before_request=guard,
        exception_handlers={Exception: handle_exception},
        opt={"web": config or WebConfig(), "unmatched": unmatched},
        request_max_body_size=MAX_FORM_BYTES,
        include_in_schema=False,
    )
