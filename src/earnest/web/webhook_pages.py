"""The webhooks pages (SPEC 11): endpoints, deliveries, failures, retry."""

from __future__ import annotations

from litestar.handlers import HTTPRouteHandler

#: This module's route handlers, mounted by :func:`earnest.web.dashboard`.
ROUTES: list[HTTPRouteHandler] = []
