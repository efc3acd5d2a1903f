"""One database, two backends: embedded SQLite (the default) and PostgreSQL.

Hot paths use the DB-API drivers directly (``sqlite3``, ``psycopg``); SQLAlchemy and Alembic
are used only to create and upgrade the schema. SQL in Earnest is written once, with ``?``
placeholders, and numbered as PostgreSQL's ``$1, $2, …`` here.

Every write happens inside :meth:`Database.write`, which makes it the only writer until it
commits: ``BEGIN IMMEDIATE`` on SQLite; on PostgreSQL a row lock on ``chain_head``, the tail of
the history hash chain. History sequence numbers therefore follow commit order on both, and
several processes on one PostgreSQL database never interleave a decision.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import psycopg
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text

Dialect = Literal["sqlite", "postgresql"]
DEFAULT_URL = "sqlite:///earnest.db"
_MIGRATION_LOCK = 727_073  # pg_advisory_lock key for schema upgrades


_COPY_FROM = 8  # rows from which PostgreSQL takes inserts and updates through COPY
IN_CHUNK = 400  # values per IN list


@lru_cache(maxsize=1024)
def numbered(text: str) -> str:
    """``text`` with its ``?`` placeholders numbered as PostgreSQL's ``$1, $2, …``."""
    parts = text.split("?")
    out = [parts[0]]
    for number, part in enumerate(parts[1:], 1):
        out += (f"${number}", part)
    return "".join(out)


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
        # PostgreSQL gets its own ``$n`` placeholders through a raw cursor: psycopg's ``%s``
        # parsing of a long statement (an IN list, a multi-row VALUES) cost more than its run.
        self._cursor = raw.cursor() if dialect == "sqlite" else psycopg.RawCursor(raw)

    def sql(self, text: str) -> str:
        return text if self.dialect == "sqlite" else numbered(text)

    def execute(self, text: str, params: Sequence[Any] = ()) -> Any:
        return self._cursor.execute(self.sql(text), params)

    def executemany(self, text: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self._cursor.executemany(self.sql(text), rows)

    def insert_rows(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """``INSERT INTO table (columns)`` each row. On PostgreSQL many rows go as one ``COPY``:
        a statement per row costs the server an executor start-up each, and psycopg a round of
        Python per row; a violated constraint fails the COPY as it would the statements."""
        if self.dialect == "postgresql" and len(rows) >= _COPY_FROM:
            with self._cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as sink:
                for row in rows:
                    sink.write_row(row)
            return
        marks = ", ".join("?" * len(columns))
        self.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)

    def update_rows(
        self, table: str, columns: Sequence[str], key: str, rows: Sequence[Sequence[Any]]
    ) -> None:
        """``UPDATE table SET columns WHERE key`` for each row: the values of ``columns``, then
        the key. On PostgreSQL many rows are copied into a temporary table and applied by one
        ``UPDATE … FROM``, unless a key repeats (one statement per row: the last row wins)."""
        if (
            self.dialect == "postgresql"
            and len(rows) >= _COPY_FROM
            and len({row[-1] for row in rows}) == len(rows)
        ):
            self._update_by_copy(table, columns, key, rows)
            return
        assignments = ", ".join(f"{column} = ?" for column in columns)
        self.executemany(f"UPDATE {table} SET {assignments} WHERE {key} = ?", rows)

    def _update_by_copy(
        self, table: str, columns: Sequence[str], key: str, rows: Sequence[Sequence[Any]]
    ) -> None:
        names = ", ".join([*columns, key])
        staged = f"earnest_staged_{table}_{zlib.crc32(names.encode()):08x}"
        # Emptied at every commit; IF NOT EXISTS, as a rollback takes a new one away.
        self._cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {staged} ON COMMIT DELETE ROWS AS"
            f" SELECT {names} FROM {table} WITH NO DATA"
        )
        with self._cursor.copy(f"COPY {staged} ({names}) FROM STDIN") as sink:
            for row in rows:
                sink.write_row(row)
        # The DELETE empties the staging table for its next use in this transaction.
        self._cursor.execute(
            f"WITH staged AS (DELETE FROM {staged} RETURNING *) UPDATE {table} SET "
            + ", ".join(f"{column} = staged.{column}" for column in columns)
            + f" FROM staged WHERE {table}.{key} = staged.{key}"
        )

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

    def query_in(
        self, text: str, values: Iterable[Any], *, before: Sequence[Any] = ()
    ) -> list[tuple[Any, ...]]:
        """``text``, whose ``{values}`` becomes ``(?, ?, …)``, for the distinct ``values``
        a chunk at a time (both drivers cap a statement's parameters); ``before`` are the
        parameters ahead of the list, repeated for every chunk."""
        unique = list(dict.fromkeys(values))
        rows: list[tuple[Any, ...]] = []
        for start in range(0, len(unique), IN_CHUNK):
            chunk = unique[start : start + IN_CHUNK]
            rows += self.query(text.format(values=self.in_list(len(chunk))), [*before, *chunk])
        return rows


class Database:
    """A connection factory plus the write/read transaction discipline for one URL."""

    def __init__(self, url: str = DEFAULT_URL) -> None:
        self.url = url
        self.dialect, self.target = normalise_url(url)
        self._local = threading.local()
        self.cache: dict[Any, Any] = {}
        # Writers of this process queue here rather than in SQLite's busy handler, which
        # sleeps and retries (up to tens of milliseconds a time) instead of waking on release.
        self._writer = threading.Lock()

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
        if getattr(self._local, "writing", False):
            # Refused, not nested: PostgreSQL would take the inner BEGIN as a no-op and the
            # inner COMMIT would commit the outer transaction's work, whatever came after.
            raise RuntimeError("a write transaction is already open in this thread")
        raw = self._connection()
        tx = Tx(raw, self.dialect, self.cache)
        with self._writer:
            self._local.writing = True
            try:
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
            finally:
                self._local.writing = False

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

    @contextmanager
    def autocommit(self) -> Iterator[Tx]:
        """No transaction around the statements: each is atomic on its own. For a read of one
        statement, which needs no snapshot, this saves the ``BEGIN`` and ``ROLLBACK``."""
        yield Tx(self._connection(), self.dialect, self.cache)

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
