"""The one place that reads the wall clock. Everything else takes time as an argument (the
engine) or asks a :data:`Clock` handed to it (the services; tests hand them a fake one)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)
