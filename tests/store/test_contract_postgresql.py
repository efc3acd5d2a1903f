"""The store contract on PostgreSQL (a throwaway cluster; see tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from earnest.store import Database, connect
from tests.store.contract_suite import StoreContract


class TestPostgresqlStore(StoreContract):
    def make_database(self, request: pytest.FixtureRequest, tmp_path: Path) -> Database:
        url: str = request.getfixturevalue("pg_url")
        return connect(url)

    def test_the_adapter_is_postgresql(self, fresh: Database) -> None:
        assert fresh.dialect == "postgresql"
        assert fresh.exists() is False
