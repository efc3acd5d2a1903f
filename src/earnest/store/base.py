"""The store's one interface: a :class:`Database` hands out transactions, a :class:`Tx` runs
SQL in one. The SQL of every repository (``contracts``, ``outcomes``, ``keys``, ...) is written
once against :class:`Tx`, with ``?`` placeholders; the two adapters, :mod:`earnest.store.sqlite`
and :mod:`earnest.store.postgresql`, hold only what differs between the databases: how a
connection is made, how a write transaction takes the one writer lock, row-lock clauses, money
columns, bulk inserts and updates, and the migration lock (docs/decisions/0012).

Every write happens inside :meth:`Database.write`, which makes it the only writer until it
commits. History sequence numbers therefore follow commit order on both databases, and several
processes on one PostgreSQL database never interleave a decision.
"""

from __future__ import annotations

import contextlib
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any, ClassVar, Literal

Dialect = Literal["sqlite", "postgresql"]
IN_CHUNK = 400  # values per IN list


class Tx(ABC):
    """A transaction in progress: ``execute``/``executemany``/``query`` with ``?`` params.

    Subclasses (one per database) set the row-lock clauses and implement the few operations
    whose SQL or driver calls differ."""

    #: appended to a SELECT that must lock the rows it reads until commit
    FOR_UPDATE: ClassVar[str]
    #: appended to a SELECT whose rows are claimed by one of several concurrent writers
    SKIP_LOCKED: ClassVar[str]
    #: appended to a text column in ORDER BY to compare it as UTF-8 bytes (code points)
    BYTES: ClassVar[str]

    def __init__(self, raw: Any, cache: dict[Any, Any]) -> None:
        self.raw = raw
        self.cache = cache  # per-database memo of immutable rows (contract versions)
        self._cursor = self._open_cursor(raw)

    # What differs ------------------------------------------------------------------------

    @abstractmethod
    def _open_cursor(self, raw: Any) -> Any: ...

    @abstractmethod
    def sql(self, text: str) -> str:
        """``text`` (``?`` placeholders) as this driver takes it."""

    @abstractmethod
    def money(self, amount: Decimal | None) -> Any:
        """An amount as its column stores it, exactly."""

    def insert_rows(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """``INSERT INTO table (columns)`` each row."""
        marks = ", ".join("?" * len(columns))
        self.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)

    def update_rows(
        self, table: str, columns: Sequence[str], key: str, rows: Sequence[Sequence[Any]]
    ) -> None:
        """``UPDATE table SET columns WHERE key`` for each row: the values of ``columns``, then
        the key (when a key repeats, the last row wins)."""
        assignments = ", ".join(f"{column} = ?" for column in columns)
        self.executemany(f"UPDATE {table} SET {assignments} WHERE {key} = ?", rows)

    # Shared ------------------------------------------------------------------------------

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

    def newest_first(
        self, select: str, after: tuple[int, str] | None, limit: int, *, id_column: str = "id"
    ) -> list[tuple[Any, ...]]:
        """``select`` (no WHERE) newest first by ``created_at``, then ``id_column``: the page
        after ``after``, the (created_at µs, id) of the previous page's last row."""
        params: list[Any] = []
        if after is not None:
            select += f" WHERE created_at < ? OR (created_at = ? AND {id_column} > ?)"
            params = [after[0], after[0], after[1]]
        order = f" ORDER BY created_at DESC, {id_column} LIMIT ?"
        return self.query(select + order, [*params, limit])

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


class Database(ABC):
    """A connection per thread plus the write/read transaction discipline for one URL."""

    dialect: ClassVar[Dialect]
    #: True when a one-row read never waits on a writer (the API may then run it on its
    #: event loop instead of hopping to a store thread)
    READS_NEVER_WAIT: ClassVar[bool] = False

    def __init__(self, url: str, target: str) -> None:
        self.url = url
        self.target = target
        self._local = threading.local()
        self.cache: dict[Any, Any] = {}
        # Writers of this process queue here rather than in the database's own lock wait
        # (SQLite's busy handler sleeps and retries instead of waking on release).
        self._writer = threading.Lock()

    # What differs ------------------------------------------------------------------------

    @abstractmethod
    def connect(self) -> Any:
        """A new driver connection in autocommit mode."""

    @abstractmethod
    def _tx(self, raw: Any) -> Tx: ...

    @abstractmethod
    def _begin_write(self, raw: Any) -> None:
        """Begin a transaction holding the one writer lock."""

    @abstractmethod
    def _begin_read(self, raw: Any) -> None:
        """Begin a read-only transaction on one consistent snapshot."""

    @property
    def local_file(self) -> str | None:
        """The file the database lives in, when it is an embedded one (None on a server)."""
        return None

    def _broken(self, raw: Any) -> bool:
        """Whether ``raw`` can no longer be used (the server went away): it is then replaced
        on the thread's next transaction instead of failing every one after it."""
        return False

    @abstractmethod
    def exists(self) -> bool:
        """Whether the database is there to be read (read-only commands must not create it)."""

    @abstractmethod
    def migrate(self) -> None:
        """Create or upgrade the schema to the latest Alembic revision (safe to repeat)."""

    # Connections -------------------------------------------------------------------------

    def _connection(self) -> Any:
        raw = getattr(self._local, "raw", None)
        if raw is None:
            raw = self.connect()
            self._local.raw = raw
        return raw

    def close(self) -> None:
        """Close this thread's connection (each thread that used the database has one)."""
        raw = getattr(self._local, "raw", None)
        if raw is not None:
            self._local.raw = None
            with contextlib.suppress(Exception):  # a broken connection may fail to close
                raw.close()

    @contextmanager
    def _replacing_broken(self, raw: Any) -> Iterator[None]:
        """On any failure, drop this thread's connection if it is broken."""
        try:
            yield
        except BaseException:
            if self._broken(raw):
                self.close()
            raise

    # Transactions ------------------------------------------------------------------------

    @contextmanager
    def write(self) -> Iterator[Tx]:
        """The one writer: commit on success, roll back on any exception."""
        if getattr(self._local, "writing", False):
            # Refused, not nested: PostgreSQL would take the inner BEGIN as a no-op and the
            # inner COMMIT would commit the outer transaction's work, whatever came after.
            raise RuntimeError("a write transaction is already open in this thread")
        raw = self._connection()
        tx = self._tx(raw)
        with self._writer, self._replacing_broken(raw):
            self._local.writing = True
            try:
                self._begin_write(raw)
                try:
                    yield tx
                except BaseException:
                    if not self._broken(raw):
                        raw.execute("ROLLBACK")
                    raise
                raw.execute("COMMIT")
            finally:
                self._local.writing = False

    @contextmanager
    def read(self) -> Iterator[Tx]:
        """A consistent snapshot for reads (no lock on the writer)."""
        raw = self._connection()
        tx = self._tx(raw)
        with self._replacing_broken(raw):
            self._begin_read(raw)
            try:
                yield tx
            finally:
                if not self._broken(raw):
                    raw.execute("ROLLBACK")

    @contextmanager
    def autocommit(self) -> Iterator[Tx]:
        """No transaction around the statements: each is atomic on its own. For a read of one
        statement, which needs no snapshot, this saves the ``BEGIN`` and ``ROLLBACK``."""
        raw = self._connection()
        with self._replacing_broken(raw):
            yield self._tx(raw)


def redact(url: str) -> str:
    """The URL without its password, for logs and errors."""
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)
