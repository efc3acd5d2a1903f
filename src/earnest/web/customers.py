"""The customers pages (SPEC 11): the list, edit (name, email, billing day), their periods
and invoices, and their portal links."""

from __future__ import annotations

from litestar.handlers import HTTPRouteHandler

#: This module's route handlers, mounted by :func:`earnest.web.dashboard`.
ROUTES: list[HTTPRouteHandler] = []
