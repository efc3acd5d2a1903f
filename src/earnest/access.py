"""Who may do what: the scopes of API keys (SPEC section 8)."""

from __future__ import annotations

from enum import StrEnum


class Scope(StrEnum):
    """``ingest`` sends signals and opens outcomes; ``read`` makes every GET (API keys
    excepted) and validates contracts; ``admin`` does everything."""

    INGEST = "ingest"
    READ = "read"
    ADMIN = "admin"
