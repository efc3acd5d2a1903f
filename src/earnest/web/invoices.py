"""The invoices pages (SPEC 11): by period and status; each invoice with its lines, each
line opening the outcomes behind it; PDF and CSV."""

from __future__ import annotations

from litestar.handlers import HTTPRouteHandler

#: This module's route handlers, mounted by :func:`earnest.web.dashboard`.
ROUTES: list[HTTPRouteHandler] = []
