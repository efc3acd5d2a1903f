"""The PostgreSQL adapter: the production store, for several processes on one database.

The one writer lock is a row lock on ``chain_head`` (the tail of the history hash chain),
taken first in every write transaction, so writers of all processes are serialized. Rows
claimed by concurrent schedulers use ``FOR UPDATE SKIP LOCKED``. Many rows go in and are
updated through ``COPY``; statements use ``$n`` placeholders through a raw cursor.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from decimal import Decimal
from functools import lru_cache
from typing import Any

import psycopg

from earnest.store.base import Database, Tx

_COPY_FROM = 8  # rows from which inserts and updates go through COPY
_MIGRATION_LOCK = 727_073  # pg_advisory_lock key for schema upgrades


@lru_cache(maxsize=1024)
def numbered(text: str) -> str:
    """``text`` with its ``?`` placeholders numbered as PostgreSQL's ``$1, $2, …``."""
    parts = text.split("?")
    out = [parts[0]]
    for number, part in enumerate(parts[1:], 1):
        out += (f"${number}", part)
    return "".join(out)


class PostgresTx(Tx):
    FOR_UPDATE = " FOR UPDATE"
    SKIP_LOCKED = " FOR UPDATE SKIP LOCKED"
    BYTES = ' COLLATE "C"'  # the database's collation may be a language's

    def _open_cursor(self, raw: Any) -> Any:
        # Our own ``$n`` placeholders through a raw cursor: psycopg's ``%s`` parsing of a
        # long statement (an IN list, a multi-row VALUES) cost more than its run.
        return psycopg.RawCursor(raw)

    def sql(self, text: str) -> str:
        return numbered(text)

    def money(self, amount: Decimal | None) -> Any:
        return amount  # NUMERIC keeps the scale given: 12.50 stays 12.50

    def insert_rows(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Many rows go as one ``COPY``: a statement per row costs the server an executor
        start-up each, and psycopg a round of Python per row; a violated constraint fails
        the COPY as it would the statements."""
        if len(rows) < _COPY_FROM:
            super().insert_rows(table, columns, rows)
            return
        with self._cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as sink:
            for row in rows:
                sink.write_row(row)

    def update_rows(
        self, table: str, columns: Sequence[str], key: str, rows: Sequence[Sequence[Any]]
    ) -> None:
        """Many rows are copied into a temporary table and applied by one ``UPDATE … FROM``,
        unless a key repeats (then one statement per row, so the last row wins)."""
        if len(rows) < _COPY_FROM or len({row[-1] for row in rows}) != len(rows):
            super().update_rows(table, columns, key, rows)
            return
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


class PostgresDatabase(Database):
    dialect = "postgresql"

    def connect(self) -> Any:
        # No server-side prepared statements: after five runs PostgreSQL may switch a prepared
        # statement to a generic plan, and the generic plan of the batch's outcome load
        # (``contract = $1 AND ref IN ($2, …)``) took 0.14 s per 1,000 signals against 0.015 s
        # planned for its values (``benchmarks/ingest_pg.py --cprofile 30``; docs/benchmarks.md).
        # The writer's one connection runs it every batch, so it met the generic plan every time.
        return psycopg.connect(self.target, autocommit=True, prepare_threshold=None)

    def _tx(self, raw: Any) -> Tx:
        return PostgresTx(raw, self.cache)

    def _broken(self, raw: Any) -> bool:
        return bool(raw.closed or raw.broken)

    def _begin_write(self, raw: Any) -> None:
        raw.execute("BEGIN")
        raw.execute("SELECT seq FROM chain_head WHERE id = 1 FOR UPDATE")

    def _begin_read(self, raw: Any) -> None:
        raw.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")

    def exists(self) -> bool:
        """Whether Earnest's schema is there. A server that cannot be reached raises the
        driver's error, which says why."""
        with psycopg.connect(self.target) as raw:
            row = raw.execute("SELECT to_regclass('chain_head') IS NOT NULL").fetchone()
        return bool(row and row[0])

    def migrate(self) -> None:
        from earnest.store.migrate import upgrade  # Alembic is slow to import: only here  # noqa: PLC0415

        upgrade(
            "postgresql+psycopg://" + self.target.split("://", 1)[1],
            lock=f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})",
        )
