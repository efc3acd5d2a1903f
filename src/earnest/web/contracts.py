"""The contracts pages (SPEC 11): the list, each contract's versions and a diff between
any two, the YAML editor that validates as you type and shows the backtest of the edit, save
as a new version, archive."""

from __future__ import annotations

from litestar.handlers import HTTPRouteHandler

#: This module's route handlers, mounted by :func:`earnest.web.dashboard`.
ROUTES: list[HTTPRouteHandler] = []
