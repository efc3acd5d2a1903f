"""Contracts and times shared by the service, store and API tests."""

from __future__ import annotations

from datetime import UTC, datetime

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)

# The landing page's short form (SPEC section 2), exactly as written there.
LANDING = """
active_for: 48h
review_window: 24h
price: $0.99
conditions: completed AND score > 3 AND NOT disputed
on_timeout: confirm
"""
