"""The outcomes pages (SPEC 11): filtered by contract, customer, state and contested; each
outcome's explained timeline; manual settle; open and resolve disputes."""

from __future__ import annotations

from litestar.handlers import HTTPRouteHandler

#: This module's route handlers, mounted by :func:`earnest.web.dashboard`.
ROUTES: list[HTTPRouteHandler] = []
