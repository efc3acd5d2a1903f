"""The SQLite adapter: the embedded default, one file, WAL mode.

One writer at a time by ``BEGIN IMMEDIATE``; readers never wait on it. Money is decimal text
(SQLite has no exact decimal type), so ``12.50`` stays ``12.50``.
"""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

from earnest.store.base import Database, Tx


class SqliteTx(Tx):
    FOR_UPDATE = ""  # the whole database is locked by BEGIN IMMEDIATE
    SKIP_LOCKED = ""
    BYTES = ""  # SQLite's default collation, BINARY, compares UTF-8 bytes

    def _open_cursor(self, raw: Any) -> Any:
        return raw.cursor()

    def sql(self, text: str) -> str:
        return text

    def money(self, amount: Decimal | None) -> Any:
        return None if amount is None else str(amount)


class SqliteDatabase(Database):
    dialect = "sqlite"
    READS_NEVER_WAIT = True  # WAL: readers do not block on the writer

    def connect(self) -> Any:
        raw = sqlite3.connect(self.target, isolation_level=None, check_same_thread=False)
        raw.execute("PRAGMA journal_mode=WAL")
        raw.execute("PRAGMA synchronous=FULL")  # a 2xx means committed to disk
        raw.execute("PRAGMA foreign_keys=ON")
        raw.execute("PRAGMA busy_timeout=30000")
        return raw

    def _tx(self, raw: Any) -> Tx:
        return SqliteTx(raw, self.cache)

    @property
    def local_file(self) -> str:
        return self.target

    def _begin_write(self, raw: Any) -> None:
        raw.execute("BEGIN IMMEDIATE")

    def _begin_read(self, raw: Any) -> None:
        raw.execute("BEGIN")

    def exists(self) -> bool:
        return Path(self.target).is_file()

    def migrate(self) -> None:
        from earnest.store.migrate import upgrade  # Alembic is slow to import: only here  # noqa: PLC0415

        upgrade(f"sqlite:///{Path(self.target).resolve()}", lock=None)
