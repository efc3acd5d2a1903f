"""One store, two databases: embedded SQLite (the default) and PostgreSQL.

:func:`connect` picks the adapter for a URL. Repositories (``contracts``, ``outcomes``,
``keys``, ``customers``, ``ledger``, ``history``, ``activity``) are written once against the
:class:`~earnest.store.base.Tx` interface; the adapters hold only what differs.
"""

from __future__ import annotations

from earnest.store.base import Database, Dialect, Tx, redact

DEFAULT_URL = "sqlite:///earnest.db"

__all__ = ["DEFAULT_URL", "Database", "Dialect", "Tx", "connect", "normalise_url", "redact"]


def normalise_url(url: str) -> tuple[Dialect, str]:
    """Accept ``postgresql://…``, ``postgres://…``, ``sqlite:///path`` or a plain file path."""
    if url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        return "postgresql", "postgresql://" + url.split("://", 1)[1]
    if url.startswith("sqlite:///"):
        return "sqlite", url.removeprefix("sqlite:///") or "earnest.db"
    if url.startswith("sqlite://"):
        raise ValueError("an in-memory SQLite database cannot be shared; give a file path")
    if "://" in url:
        raise ValueError(f"unsupported database URL {url!r}: use postgresql://… or a file path")
    return "sqlite", url


def connect(url: str = DEFAULT_URL) -> Database:
    """The store at ``url`` (no connection is made until first use; nothing is created)."""
    dialect, target = normalise_url(url)
    if dialect == "sqlite":
        from earnest.store.sqlite import SqliteDatabase  # noqa: PLC0415

        return SqliteDatabase(url, target)
    from earnest.store.postgresql import PostgresDatabase  # psycopg only when needed  # noqa: PLC0415

    return PostgresDatabase(url, target)
