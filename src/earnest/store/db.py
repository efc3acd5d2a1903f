"""One database, two backends: embedded SQLite (the default) and PostgreSQL.

Hot paths use the DB-API drivers directly (``sqlite3``, ``psycopg``); SQLAlchemy and Alembic
are used only to create and upgrade the schema. SQL in Earnest is written once, with ``?``
placeholders, and adapted to psycopg's ``%s`` here.

Every write happens inside :meth:`Database.write`, which makes it the only writer until it
commits: ``BEGIN IMMEDIATE`` on SQLite; on PostgreSQL a row lock on ``chain_head``, the tail of
the history hash chain. History sequence numbers therefore follow commit order on both, and
several processes on one PostgreSQL database never interleave a decision.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import psycopg
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text

Dialect = Literal["sqlite", "postgresql"]
DEFAULT_URL = "sqlite:///earnest.db"
_MIGRATION_LOCK = 727_073  # pg_advisory_lock key for schema upgrades


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


class Tx:
    """A transaction in progress: ``execute``/``executemany``/``query`` with ``?`` params."""

    def __init__(self, raw: Any, dialect: Dialect, cache: dict[Any, Any]) -> None:
        self.raw = raw
        self.dialect = dialect
        self.cache = cache  # per-database memo of immutable rows (contract versions)
        self._cursor = raw.cursor()

    def sql(self, text: str) -> str:
        return text if self.dialect == "sqlite" else text.replace("?", "%s")

    def execute(self, text: str, params: Sequence[Any] = ()) -> Any:
        return self._cursor.execute(self.sql(text), params)

    def executemany(self, text: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self._cursor.executemany(self.sql(text), rows)

    def query(self, text: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cursor = self._cursor.execute(self.sql(text), params)
        return list(cursor.fetchall())

    def one(self, text: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        cursor = self._cursor.execute(self.sql(text), params)
        row = cursor.fetchone()
        return tuple(row) if row is not None else None

    def in_list(self, count: int) -> str:
        """``(?, ?, …)`` for an IN clause of ``count`` items."""
        return "(" + ",".join("?" * count) + ")"


class Database:
    """A connection factory plus the write/read transaction discipline for one URL."""

    def __init__(self, url: str = DEFAULT_URL) -> None:
        self.url = url
        self.dialect, self.target = normalise_url(url)
        self._local = threading.local()
        self.cache: dict[Any, Any] = {}
        # Writers of this process queue here rather than in SQLite's busy handler, which
        # sleeps and retries (up to tens of milliseconds a time) instead of waking on release.
        self._writer = threading.RLock()  # re-entered, BEGIN fails loudly as before

    # Connections ----------------------------------------------------------------------

    def connect(self) -> Any:
        if self.dialect == "sqlite":
            raw = sqlite3.connect(self.target, isolation_level=None, check_same_thread=False)
            raw.execute("PRAGMA journal_mode=WAL")
            raw.execute("PRAGMA synchronous=FULL")  # a 2xx means committed to disk
            raw.execute("PRAGMA foreign_keys=ON")
            raw.execute("PRAGMA busy_timeout=30000")
            return raw
        return psycopg.connect(self.target, autocommit=True)

    def _connection(self) -> Any:
        raw = getattr(self._local, "raw", None)
        if raw is None:
            raw = self.connect()
            self._local.raw = raw
        return raw

    def close(self) -> None:
        raw = getattr(self._local, "raw", None)
        if raw is not None:
            raw.close()
            self._local.raw = None

    # Transactions ---------------------------------------------------------------------

    @contextmanager
    def write(self) -> Iterator[Tx]:
        """The one writer: commit on success, roll back on any exception."""
        raw = self._connection()
        tx = Tx(raw, self.dialect, self.cache)
        with self._writer:
            if self.dialect == "sqlite":
                raw.execute("BEGIN IMMEDIATE")
            else:
                raw.execute("BEGIN")
                raw.execute("SELECT seq FROM chain_head WHERE id = 1 FOR UPDATE")
            try:
                yield tx
            except BaseException:
                raw.execute("ROLLBACK")
                raise
            raw.execute("COMMIT")

    @contextmanager
    def read(self) -> Iterator[Tx]:
        """A consistent snapshot for reads (no lock on the writer)."""
        raw = self._connection()
        tx = Tx(raw, self.dialect, self.cache)
        if self.dialect == "sqlite":
            raw.execute("BEGIN")
        else:
            raw.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        try:
            yield tx
        finally:
            raw.execute("ROLLBACK")

    # Schema ---------------------------------------------------------------------------

    def migrate(self) -> None:
        """Create or upgrade the schema to the latest Alembic revision (safe to repeat)."""
        if self.dialect == "sqlite":
            engine_url = f"sqlite:///{Path(self.target).resolve()}"
        else:
            engine_url = "postgresql+psycopg://" + self.target.split("://", 1)[1]
        engine = create_engine(engine_url)
        config = Config()
        config.set_main_option("script_location", "earnest.store:migrations")
        try:
            with engine.begin() as connection:
                if self.dialect == "postgresql":
                    connection.execute(text(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})"))
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        finally:
            engine.dispose()


def redact(url: str) -> str:
    """The URL without its password, for logs and errors."""
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)
