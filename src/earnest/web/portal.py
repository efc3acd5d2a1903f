"""The customers' evidence pages at ``/portal/<token>`` (SPEC 11): a portal link's customer's
invoices and, per charge, why it was billed; a form to dispute a charge. Nothing of another
customer, ever."""

from __future__ import annotations

from litestar.handlers import HTTPRouteHandler

#: This module's route handlers, mounted by :func:`earnest.web.dashboard`.
ROUTES: list[HTTPRouteHandler] = []
