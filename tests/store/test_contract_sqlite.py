"""The store contract on SQLite (one file, WAL)."""

from __future__ import annotations

from pathlib import Path

import pytest

from earnest.store import Database, connect
from tests.store.contract_suite import StoreContract


class TestSqliteStore(StoreContract):
    def make_database(self, request: pytest.FixtureRequest, tmp_path: Path) -> Database:
        return connect(f"sqlite:///{tmp_path / 'earnest.db'}")

    def test_exists_creates_no_file(self, fresh: Database, tmp_path: Path) -> None:
        path = tmp_path / "earnest.db"
        assert fresh.dialect == "sqlite"
        assert fresh.exists() is False
        assert not path.exists()
        fresh.migrate()
        assert path.is_file()
        assert fresh.exists() is True
